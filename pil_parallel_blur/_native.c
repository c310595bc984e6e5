/* pil_parallel_blur._native: the compiled tile kernel.
 *
 * One function does the arithmetic: correlate(...) computes output rows
 * [start, stop) of Σ_t outer(gy_t, gx_t) correlated with an image whose
 * borders are edge-replicated, reading the unpadded image rows it is given
 * and writing straight into the output buffer.  Each input row is converted
 * to the compute type once and filtered horizontally once (per term, symmetric
 * taps folded) into a ring of rows; the vertical pass then reads the ring in
 * column blocks that stay in cache, four output rows at a time.  The loops are in _native_loops.h, compiled once per SIMD
 * level; the level is chosen once, when the module is imported, and kept in
 * the module's state.  The GIL is released around the loops.
 *
 * Two more functions are the spectral passes of large kernels
 * (engine/spectral.py): spectral_columns and spectral_rows, a transform of
 * many lines at once (_native_fft.h, once per SIMD level like the loops) and
 * the copies and finish around it (_native_lines.h).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { PPB_U8, PPB_I8, PPB_U16, PPB_I16, PPB_U32, PPB_I32, PPB_U64, PPB_I64, PPB_F32, PPB_F64 };
static const int ppb_itemsize[] = {1, 1, 2, 2, 4, 4, 8, 8, 4, 8};
enum { PPB_RINT = 0, PPB_HALF_UP = 1 };

#define PPB_MAX_TERMS 64

/* The direct loops' ring of horizontally filtered rows (_native_loops.h):
 * output rows per chunk 2·r_y (RING_MIN_ROWS while r_y is under that, at most
 * RING_MAX_ROWS); column
 * blocks of the ring ~RING_BLOCK_BYTES (its rows stay in the second-level
 * cache), a multiple of RING_BLOCK_STEP_BYTES, at least RING_MIN_BLOCK samples. */
#define RING_MIN_ROWS 16
#define RING_MAX_ROWS 256
#define RING_BLOCK_BYTES (256 * 1024)
#define RING_BLOCK_STEP_BYTES 256
#define RING_MIN_BLOCK 64

struct ppb_finish {
    double offset, grid, lo, hi; /* grid: results are multiples of 1/grid (0: no grid) */
    int rounding;
};

struct ppb_job {
    const void *src;       /* image rows [src_row0, src_row0 + n) */
    void *out;             /* output rows [out_row0, out_row0 + m) */
    Py_ssize_t src_row0, out_row0, start, stop, height, width, channels, itemsize;
    /* samples a pixel of src and of out takes (at least `channels`): the
     * first `channels` are filtered, the rest of out's are left alone */
    Py_ssize_t src_pixel, out_pixel;
    Py_ssize_t col0, col1;       /* output pixel columns [col0, col1) of those rows */
    int type, ry, rx, n_terms;
    const double *gy[PPB_MAX_TERMS], *gx[PPB_MAX_TERMS];
    int sym_x[PPB_MAX_TERMS]; /* horizontal taps symmetric: fold them */
    struct ppb_finish finish;
};

typedef int (*ppb_tile_fn)(const struct ppb_job *);

/* Three channels of 8-bit samples in Pillow's 4-byte pixels: narrow_three and
 * fill_three, for images read and written where Pillow keeps them. */
#include "_native_pixel_words.h"

/* Copy n samples of `size` bytes from contiguous `packed` into a row of
 * pixels `pixel` samples apart, `channels` of them each (`first`: the sample
 * of the first one, counting `channels` a pixel). A copy, so every SIMD level
 * writes the same bytes. */
static void ppb_spread_samples(const void *packed, void *row, Py_ssize_t first, Py_ssize_t n,
                               Py_ssize_t channels, Py_ssize_t pixel, Py_ssize_t size)
{
    Py_ssize_t p = first / channels, c = first % channels;
#define PPB_SPREAD(ctype)                                      \
    {                                                          \
        const ctype *from = (const ctype *)packed;             \
        ctype *to = (ctype *)row;                              \
        for (Py_ssize_t i = 0; i < n; i++) {                   \
            to[p * pixel + c] = from[i];                       \
            if (++c == channels) {                             \
                c = 0;                                         \
                p++;                                           \
            }                                                  \
        }                                                      \
    }                                                          \
    break;
    switch (size) {
    case 1: PPB_SPREAD(uint8_t)
    case 2: PPB_SPREAD(uint16_t)
    case 4: PPB_SPREAD(uint32_t)
    default: PPB_SPREAD(uint64_t)
    }
#undef PPB_SPREAD
}

/* The spectral passes (_native_fft.h): a group of lines is PPB_FFT_BYTES of
 * real parts and as many imaginary parts per position. */
#define PPB_FFT_BYTES 64
#define PPB_FFT_MAX_STAGES 64
#define PPB_FFT_MAX_RADIX 5
/* Line pairs in a group of compute type T. */
#define PPB_GROUP_LANES(T) ((Py_ssize_t)(PPB_FFT_BYTES / sizeof(T)))

struct ppb_fft_axis {
    Py_ssize_t length;               /* transform length: the product of the radices */
    int stages;
    int radix[PPB_FFT_MAX_STAGES];   /* 2, 3, 4 or 5 */
    const void *table;               /* compute type: response[length] (digit-reversed,
                                        ÷ length), then each stage's twiddles: re, im */
};

typedef void (*ppb_fft_fn)(void *, const struct ppb_fft_axis *);

#if defined(__GNUC__) || defined(__clang__)
#define PPB_INLINE inline __attribute__((always_inline))
#else
#define PPB_INLINE inline
#endif

/* ---- the loops, once per SIMD level and compute type ---- */
#define LEVEL baseline
#define VB 16
#include "_native_level.h"

/* The higher levels: GCC's target pragmas, or clang's equivalent (clang
 * ignores GCC's); another compiler builds the baseline level alone. */
#if defined(__x86_64__) && defined(__clang__)
#define PPB_X86 1
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#define LEVEL avx2
#define VB 32
#include "_native_level.h"
#pragma clang attribute pop

#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2"))), \
                             apply_to = function)
#define LEVEL avx512
#define VB 64
#include "_native_level.h"
#pragma clang attribute pop
#elif defined(__x86_64__) && defined(__GNUC__)
#define PPB_X86 1
#pragma GCC push_options
#pragma GCC target("avx2")
#define LEVEL avx2
#define VB 32
#include "_native_level.h"
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2")
#define LEVEL avx512
#define VB 64
#include "_native_level.h"
#pragma GCC pop_options
#endif

/* ---- the spectral passes' copies and finish (plain loops, no SIMD levels) ---- */
#include "_native_lines.h"

/* The levels, in the order of native_level_names (_native_cpu.h). */
struct ppb_level {
    ppb_tile_fn tile_f, tile_d;
    ppb_fft_fn convolve_f, convolve_d;
};

static const struct ppb_level ppb_levels[] = {
    {tile_f_baseline, tile_d_baseline, convolve_f_baseline, convolve_d_baseline},
#ifdef PPB_X86
    {tile_f_avx2, tile_d_avx2, convolve_f_avx2, convolve_d_avx2},
    {tile_f_avx512, tile_d_avx512, convolve_f_avx512, convolve_d_avx512},
#endif
};
#define PPB_N_LEVELS ((int)(sizeof(ppb_levels) / sizeof(ppb_levels[0])))

#include "_native_buffers.h"
#include "_native_cpu.h"

typedef struct {
    int level; /* index into ppb_levels, chosen at import */
} ppb_state;

/* ---- Python binding ---- */

/* The loops of the SIMD level the module chose at import. */
static const struct ppb_level *module_level(PyObject *module)
{
    const ppb_state *state = PyModule_GetState(module);
    return &ppb_levels[state->level];
}

static int get_taps(PyObject *obj, Py_buffer *view, Py_ssize_t *len, const char *what)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
    const char *f = view->format;
    if (f != NULL && (*f == '@' || *f == '=' || (*f == '<' && PY_LITTLE_ENDIAN) ||
                      (*f == '>' && PY_BIG_ENDIAN)))
        f++; /* native byte order, however it is spelt (an unpickled array says '<d') */
    if (view->itemsize != 8 || f == NULL || strcmp(f, "d") != 0) {
        PyErr_Format(PyExc_TypeError, "%s taps must be a contiguous float64 array", what);
        PyBuffer_Release(view);
        return -1;
    }
    *len = (Py_ssize_t)(view->len / 8);
    if (*len % 2 == 0) {
        PyErr_Format(PyExc_ValueError, "%s taps must have an odd length, got %zd", what, *len);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static int symmetric(const double *g, Py_ssize_t n)
{
    for (Py_ssize_t k = 0; k < n / 2; k++)
        if (g[k] != g[n - 1 - k]) return 0;
    return 1;
}

PyDoc_STRVAR(correlate_doc,
"correlate(*, src, src_row0, out, out_row0, start, stop, col0, col1, height, width,\n"
"          channels, type, terms, double, offset, rounding, lo, hi, grid, src_pixel,\n"
"          out_pixel)\n"
"--\n\n"
"Write output rows [start, stop), pixel columns [col0, col1), of the\n"
"edge-replicated correlation of an image\n"
"of `height` rows with sum(outer(gy, gx) for gy, gx in terms).\n\n"
"src holds image rows from src_row0 on (C order, `width` pixels of `src_pixel`\n"
"samples of `type` each, the first `channels` of which are filtered); it must\n"
"hold every row the tile reads. out holds output rows from out_row0 on, pixels\n"
"of `out_pixel` samples of that type (the samples past `channels` are not\n"
"written). Integer results get `offset`, are\n"
"snapped to the nearest multiple of 1/grid when grid > 0 (their exact values lie\n"
"on that grid), rounded (0: half to even, 1: half up) and clipped to [lo, hi].");

static PyObject *ppb_correlate(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"src", "src_row0", "out", "out_row0", "start", "stop", "col0",
                            "col1", "height", "width", "channels", "type", "terms", "double",
                            "offset", "rounding", "lo", "hi", "grid", "src_pixel",
                            "out_pixel", NULL};
    Py_buffer src = {0}, out = {0};
    Py_ssize_t src_row0, out_row0, start, stop, col0, col1, height, width, channels;
    Py_ssize_t src_pixel, out_pixel;
    int type, use_double, rounding;
    PyObject *terms;
    double offset, lo, hi, grid;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "$y*nw*nnnnnnnniOpdidddnn", names, &src,
                                     &src_row0, &out, &out_row0, &start, &stop, &col0, &col1,
                                     &height, &width, &channels, &type, &terms, &use_double,
                                     &offset, &rounding, &lo, &hi, &grid, &src_pixel,
                                     &out_pixel))
        return NULL;
    PyObject *result = NULL;
    Py_buffer taps[2 * PPB_MAX_TERMS];
    int n_views = 0;
    struct ppb_job job;
    memset(&job, 0, sizeof(job));

    if (type < PPB_U8 || type > PPB_F64) {
        PyErr_Format(PyExc_ValueError, "unknown sample type %d", type);
        goto done;
    }
    if (height < 1 || width < 1 || channels < 1 || start < 0 || stop > height || start > stop ||
        col0 < 0 || col1 > width || col0 > col1 || src_pixel < channels ||
        out_pixel < channels) {
        PyErr_Format(PyExc_ValueError,
                     "bad geometry: rows [%zd, %zd), columns [%zd, %zd) of a %zd x %zd x %zd "
                     "image", start, stop, col0, col1, height, width, channels);
        goto done;
    }
    if (!PyTuple_Check(terms) || PyTuple_GET_SIZE(terms) < 1 ||
        PyTuple_GET_SIZE(terms) > PPB_MAX_TERMS) {
        PyErr_Format(PyExc_ValueError, "terms must be a tuple of 1 to %d (gy, gx) pairs",
                     PPB_MAX_TERMS);
        goto done;
    }
    job.n_terms = (int)PyTuple_GET_SIZE(terms);
    Py_ssize_t ny = -1, nx = -1;
    for (int t = 0; t < job.n_terms; t++) {
        PyObject *pair = PyTuple_GET_ITEM(terms, t);
        Py_ssize_t ly, lx;
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            PyErr_SetString(PyExc_TypeError, "each term must be a (gy, gx) tuple");
            goto done;
        }
        if (get_taps(PyTuple_GET_ITEM(pair, 0), &taps[n_views], &ly, "gy") < 0) goto done;
        job.gy[t] = taps[n_views++].buf;
        if (get_taps(PyTuple_GET_ITEM(pair, 1), &taps[n_views], &lx, "gx") < 0) goto done;
        job.gx[t] = taps[n_views++].buf;
        if ((ny >= 0 && ly != ny) || (nx >= 0 && lx != nx)) {
            PyErr_SetString(PyExc_ValueError, "all terms must have the same lengths");
            goto done;
        }
        ny = ly;
        nx = lx;
        job.sym_x[t] = symmetric(job.gx[t], lx);
    }
    job.ry = (int)(ny / 2);
    job.rx = (int)(nx / 2);
    job.type = type;
    job.itemsize = ppb_itemsize[type];
    job.height = height;
    job.width = width;
    job.channels = channels;
    job.src_pixel = src_pixel;
    job.out_pixel = out_pixel;
    job.start = start;
    job.stop = stop;
    job.col0 = col0;
    job.col1 = col1;
    job.src_row0 = src_row0;
    job.out_row0 = out_row0;
    job.finish = (struct ppb_finish){offset, grid, lo, hi, rounding};

    const Py_ssize_t src_row_bytes = width * src_pixel * job.itemsize;
    const Py_ssize_t out_row_bytes = width * out_pixel * job.itemsize;
    if (start < stop) {
        /* every source row the tile reads, and every output row it writes, must be there */
        Py_ssize_t need_lo = start - job.ry < 0 ? 0 : start - job.ry;
        Py_ssize_t need_hi = stop - 1 + job.ry > height - 1 ? height - 1 : stop - 1 + job.ry;
        if (src_row0 > need_lo || (need_hi - src_row0 + 1) * src_row_bytes > src.len) {
            PyErr_Format(PyExc_ValueError,
                         "src must hold image rows %zd to %zd (it starts at row %zd and holds "
                         "%zd bytes)", need_lo, need_hi, src_row0, src.len);
            goto done;
        }
        if (out_row0 > start || (stop - out_row0) * out_row_bytes > out.len) {
            PyErr_Format(PyExc_ValueError, "out must hold output rows %zd to %zd", start,
                         stop - 1);
            goto done;
        }
    }
    job.src = src.buf;
    job.out = out.buf;

    const struct ppb_level *level = module_level(module);
    ppb_tile_fn tile_fn = use_double ? level->tile_d : level->tile_f;
    int status = 0;
    if (start < stop && col0 < col1) {
        Py_BEGIN_ALLOW_THREADS
        status = tile_fn(&job);
        Py_END_ALLOW_THREADS
    }
    if (status < 0) {
        PyErr_NoMemory();
        goto done;
    }
    result = Py_NewRef(Py_None);
done:
    for (int i = 0; i < n_views; i++) PyBuffer_Release(&taps[i]);
    PyBuffer_Release(&src);
    PyBuffer_Release(&out);
    return result;
}


/* ---- bindings of the spectral passes ---- */

static int line_type(int type, const char *what)
{
    if (type < PPB_U8 || type > PPB_F64 || type == PPB_U64 || type == PPB_I64) {
        PyErr_Format(PyExc_ValueError, "%s: unsupported sample type %d", what, type);
        return -1;
    }
    return 0;
}

static int fits(const Py_buffer *view, Py_ssize_t count, Py_ssize_t itemsize, const char *what)
{
    if (count < 0 || (double)count * (double)itemsize > (double)view->len) {
        PyErr_Format(PyExc_ValueError, "%s holds %zd bytes, %zd needed", what, view->len,
                     count * itemsize);
        return -1;
    }
    return 0;
}

/* The transform of one axis: `radices` (one byte each, 2 to 5) whose product
 * is `length`, and its table (checked to hold what the stages read). */
static int get_axis(const Py_buffer *radices, const Py_buffer *table, Py_ssize_t length,
                    Py_ssize_t itemsize, struct ppb_fft_axis *axis)
{
    const unsigned char *p = radices->buf;
    if (length < 1 || radices->len > PPB_FFT_MAX_STAGES) goto bad;
    Py_ssize_t product = 1, need = length, span = length;
    for (Py_ssize_t s = 0; s < radices->len; s++) {
        if (p[s] < 2 || p[s] > PPB_FFT_MAX_RADIX || product > length / p[s]) goto bad;
        product *= p[s];
        axis->radix[s] = p[s];
    }
    if (product != length) goto bad;
    for (Py_ssize_t s = 0; s < radices->len; s++) {
        span /= p[s];
        need += 2 * (p[s] - 1) * span;
    }
    axis->length = length;
    axis->stages = (int)radices->len;
    axis->table = table->buf;
    return fits(table, need, itemsize, "table");
bad:
    PyErr_Format(PyExc_ValueError, "radices must be 2 to 5 with a product of %zd", length);
    return -1;
}

/* A group's buffer: `length` positions of PPB_FFT_BYTES real and imaginary
 * parts each, aligned for the vectors (NULL with MemoryError set). */
static void *group_alloc(Py_ssize_t length, void **block)
{
    *block = malloc((size_t)length * 2 * PPB_FFT_BYTES + PPB_FFT_BYTES);
    if (*block == NULL) return PyErr_NoMemory();
    uintptr_t at = ((uintptr_t)*block + PPB_FFT_BYTES - 1) & ~(uintptr_t)(PPB_FFT_BYTES - 1);
    return (void *)at;
}

PyDoc_STRVAR(spectral_columns_doc,
"spectral_columns(*, src, src_type, row_samples, height, first, step, count, mid,\n"
"                 mid_width, mid_x0, radius, length, radices, table, double, centre)\n"
"--\n\n"
"The columns pass of a spectral plan, one channel: the `count` lines that are\n"
"samples first, first + step, ... of each of the `height` rows of src\n"
"(`row_samples` samples of `src_type` a row), less `centre`, edge-replicated\n"
"by `radius`, correlated through the transform of `length` (radices, table)\n"
"in float64 if `double` else float32, into columns from mid_x0 on of a\n"
"(height, mid_width) intermediate of that type. Line i pairs with line i ^ 1.");

static PyObject *ppb_spectral_columns(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"src", "src_type", "row_samples", "height", "first", "step",
                            "count", "mid", "mid_width", "mid_x0", "radius", "length",
                            "radices", "table", "double", "centre", NULL};
    Py_buffer src = {0}, mid = {0}, radices = {0}, table = {0};
    int type, use_double;
    Py_ssize_t row_samples, height, first, step, count, mid_w, mid_x0, r, length;
    double centre;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "$y*innnnnw*nnnny*y*pd", names, &src, &type,
                                     &row_samples, &height, &first, &step, &count, &mid,
                                     &mid_w, &mid_x0, &r, &length, &radices, &table,
                                     &use_double, &centre))
        return NULL;
    PyObject *result = NULL;
    void *block = NULL;
    const Py_ssize_t tsize = use_double ? 8 : 4, lanes = PPB_FFT_BYTES / tsize;
    struct ppb_fft_axis axis;
    if (line_type(type, "spectral_columns") < 0) goto done;
    if (height < 1 || step < 1 || count < 0 || first < 0 ||
        (count && first + (count - 1) * step >= row_samples) || r < 0 ||
        r + height > length || mid_x0 < 0 || mid_x0 + count > mid_w) {
        PyErr_SetString(PyExc_ValueError, "spectral_columns: bad geometry");
        goto done;
    }
    if (get_axis(&radices, &table, length, tsize, &axis) < 0 ||
        fits(&src, height * row_samples, ppb_itemsize[type], "src") < 0 ||
        fits(&mid, height * mid_w, tsize, "mid") < 0)
        goto done;
    void *group = group_alloc(length, &block);
    if (group == NULL) goto done;
    const struct ppb_level *level = module_level(module);
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < count; i += 2 * lanes) {
        const Py_ssize_t k = count - i < 2 * lanes ? count - i : 2 * lanes;
        if (use_double) {
            switch (type) {
#define PPB_CALL(code, S, T, TS)                                                           \
    case code:                                                                             \
        gather_columns_##code##_##TS((const S *)src.buf, row_samples, height,               \
                                     first + i * step, step, k, group, length, r,          \
                                     (T)centre);                                           \
        break;
                PPB_LINE_TYPES(PPB_CALL, double, d)
            }
            level->convolve_d(group, &axis);
            scatter_columns_d(group, height, r, k, mid.buf, mid_w, mid_x0 + i);
        } else {
            switch (type) { PPB_LINE_TYPES(PPB_CALL, float, f) }
#undef PPB_CALL
            level->convolve_f(group, &axis);
            scatter_columns_f(group, height, r, k, mid.buf, mid_w, mid_x0 + i);
        }
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    free(block);
    PyBuffer_Release(&src);
    PyBuffer_Release(&mid);
    PyBuffer_Release(&radices);
    PyBuffer_Release(&table);
    return result;
}

PyDoc_STRVAR(spectral_rows_doc,
"spectral_rows(*, mid, width, count, radius, length, radices, table, double, out,\n"
"              out_type, step, offset, rounding, clip, lo, hi)\n"
"--\n\n"
"The rows pass of a spectral plan, one channel: the first `count` rows of mid\n"
"(`width` samples each) edge-replicated by `radius`, correlated through the\n"
"transform of `length` (radices, table), then + offset when non-zero,\n"
"rounded (0: half to even, 1: half up, -1: not), clipped to [lo, hi] when\n"
"`clip`, into samples `step` apart of `count` rows of `out_type` (one channel\n"
"of interleaved pixels, from the start of out). Line i pairs with line i ^ 1.");

static PyObject *ppb_spectral_rows(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"mid", "width", "count", "radius", "length", "radices", "table",
                            "double", "out", "out_type", "step", "offset", "rounding",
                            "clip", "lo", "hi", NULL};
    Py_buffer mid = {0}, radices = {0}, table = {0}, out = {0};
    int use_double, type, rounding, clip;
    Py_ssize_t width, count, r, length, step;
    double offset, lo, hi;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "$y*nnnny*y*pw*indipdd", names, &mid,
                                     &width, &count, &r, &length, &radices, &table,
                                     &use_double, &out, &type, &step, &offset, &rounding,
                                     &clip, &lo, &hi))
        return NULL;
    PyObject *result = NULL;
    void *block = NULL;
    const Py_ssize_t tsize = use_double ? 8 : 4, lanes = PPB_FFT_BYTES / tsize;
    struct ppb_fft_axis axis;
    if (line_type(type, "spectral_rows") < 0) goto done;
    if (width < 1 || step < 1 || count < 0 || r < 0 ||
        r + width > length || rounding < -1 || rounding > PPB_HALF_UP) {
        PyErr_SetString(PyExc_ValueError, "spectral_rows: bad geometry or rounding");
        goto done;
    }
    if (get_axis(&radices, &table, length, tsize, &axis) < 0 ||
        fits(&mid, count * width, tsize, "mid") < 0 ||
        (count && fits(&out, ((count - 1) * width + width - 1) * step + 1, ppb_itemsize[type],
                       "out") < 0))
        goto done;
    void *group = group_alloc(length, &block);
    if (group == NULL) goto done;
    const struct ppb_level *level = module_level(module);
    const struct ppb_line_finish f = {offset, lo, hi, rounding, clip};
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < count; i += 2 * lanes) {
        const Py_ssize_t k = count - i < 2 * lanes ? count - i : 2 * lanes;
        if (use_double) {
            gather_rows_d((const double *)mid.buf + i * width, width, k, group, length, r);
            level->convolve_d(group, &axis);
            switch (type) {
#define PPB_CALL(code, S, T, TS)                                                          \
    case code:                                                                            \
        finish_rows_##code##_##TS(group, r, width, k, step,                                \
                                  (S *)out.buf + i * width * step, &f);                    \
        break;
                PPB_LINE_TYPES(PPB_CALL, double, d)
            }
        } else {
            gather_rows_f((const float *)mid.buf + i * width, width, k, group, length, r);
            level->convolve_f(group, &axis);
            switch (type) { PPB_LINE_TYPES(PPB_CALL, float, f) }
#undef PPB_CALL
        }
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    free(block);
    PyBuffer_Release(&mid);
    PyBuffer_Release(&radices);
    PyBuffer_Release(&table);
    PyBuffer_Release(&out);
    return result;
}

static PyObject *ppb_simd_level(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    const ppb_state *state = PyModule_GetState(module);
    return PyUnicode_FromString(native_level_names[state->level]);
}

static PyObject *ppb_simd_levels(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    PyObject *list = PyList_New(0);
    if (list == NULL) return NULL;
    for (int i = 0; i < PPB_N_LEVELS; i++) {
        if (!native_level_supported(i)) continue;
        PyObject *name = PyUnicode_FromString(native_level_names[i]);
        if (name == NULL || PyList_Append(list, name) < 0) {
            Py_XDECREF(name);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(name);
    }
    return list;
}

/* ---- unsharp masking's combination (engine/unsharp.py), 8- and 16-bit ---- */

/* Where |in - blurred| > threshold: in + (in - blurred)·percent/100 rounded half
 * to even, as integers (q = floor(num / 100), r = num - 100·q, num = 100·in +
 * diff·percent; |percent| < 2^40 keeps num within 64 bits), clipped to
 * [0, top]; elsewhere in. Each sample depends on the same sample of in and
 * blurred alone. The same integers as the NumPy rule. */
#define PPB_UNSHARP(name, S, I)                                                           \
    static void name(const S *in, const S *blurred, S *out, Py_ssize_t n, I percent,       \
                     I threshold, I top)                                                   \
    {                                                                                      \
        for (Py_ssize_t i = 0; i < n; i++) {                                               \
            const I a = (I)in[i], diff = a - (I)blurred[i];                                \
            const I num = 100 * a + diff * percent;                                        \
            I q = num / 100, r = num % 100;                                                \
            const I below = r < 0; /* floor, not C's truncation */                        \
            r += 100 * below;                                                              \
            q -= below;                                                                    \
            q += (I)(2 * r > 100) | ((I)(2 * r == 100) & (q & 1));                         \
            q = q < 0 ? 0 : (q > top ? top : q);                                           \
            out[i] = (diff < 0 ? -diff : diff) > threshold ? (S)q : in[i];                 \
        }                                                                                  \
    }
/* 32-bit integers where 100·in + diff·percent fits them (|percent| below
 * 2^22 for 8-bit samples, 2^14 for 16-bit: 24 MP RGB in 0.26 s against
 * 0.34 s in 64 bits, one core; gcc vectorises neither), 64-bit ones otherwise. |diff| > threshold compares integers: the threshold
 * is passed as floor(threshold), the largest integer |diff| may equal and
 * stay unsharpened. */
PPB_UNSHARP(unsharp_u8_32, uint8_t, int32_t)
PPB_UNSHARP(unsharp_u16_32, uint16_t, int32_t)
PPB_UNSHARP(unsharp_u8_64, uint8_t, int64_t)
PPB_UNSHARP(unsharp_u16_64, uint16_t, int64_t)

static PyObject *ppb_unsharp_lines(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"image", "blurred", "out", "percent", "threshold", NULL};
    Py_buffer views[3];
    PyObject *objs[3];
    long long percent;
    double threshold;
    (void)module;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOLd:unsharp_lines", names, &objs[0],
                                     &objs[1], &objs[2], &percent, &threshold))
        return NULL;
    if (native_get_buffers(objs, views, 3) < 0) return NULL;
    PyObject *result = NULL;
    const Py_ssize_t size = views[0].itemsize;
    if ((size != 1 && size != 2) || views[1].itemsize != size || views[2].itemsize != size ||
        views[0].len != views[1].len || views[0].len != views[2].len ||
        (percent >= (1LL << 40) || percent <= -(1LL << 40))) {
        PyErr_SetString(PyExc_ValueError,
                        "unsharp_lines: 8- or 16-bit buffers of one size, |percent| < 2**40");
        goto done;
    }
    const Py_ssize_t n = views[0].len / size;
    /* |diff| ≤ 65535: an integer |diff| exceeds the threshold iff it exceeds
     * floor(threshold) (below 0: always; from 65535 on, or NaN: never) */
    const int64_t whole = threshold < 0                               ? -1
                          : (threshold >= 65535 || threshold != threshold) ? 65535
                                                                        : (int64_t)floor(threshold);
    const long long narrow_below = size == 1 ? (1LL << 22) : (1LL << 14);
    const int narrow = percent < narrow_below && percent > -narrow_below;
    void *in = views[0].buf, *blurred = views[1].buf, *out = views[2].buf;
    Py_BEGIN_ALLOW_THREADS
    if (size == 1 && narrow)
        unsharp_u8_32(in, blurred, out, n, (int32_t)percent, (int32_t)whole, 255);
    else if (size == 1)
        unsharp_u8_64(in, blurred, out, n, percent, whole, 255);
    else if (narrow)
        unsharp_u16_32(in, blurred, out, n, (int32_t)percent, (int32_t)whole, 65535);
    else
        unsharp_u16_64(in, blurred, out, n, percent, whole, 65535);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    native_release_buffers(views, 3);
    return result;
}

static PyMethodDef ppb_methods[] = {
    {"correlate", (PyCFunction)(void (*)(void))ppb_correlate, METH_VARARGS | METH_KEYWORDS,
     correlate_doc},
    {"spectral_columns", (PyCFunction)(void (*)(void))ppb_spectral_columns,
     METH_VARARGS | METH_KEYWORDS, spectral_columns_doc},
    {"spectral_rows", (PyCFunction)(void (*)(void))ppb_spectral_rows,
     METH_VARARGS | METH_KEYWORDS, spectral_rows_doc},
    {"unsharp_lines", (PyCFunction)(void (*)(void))ppb_unsharp_lines, METH_VARARGS | METH_KEYWORDS,
     "unsharp_lines(image, blurred, out, percent, threshold)\n--\n\nUnsharp masking's exact "
     "combination over C-contiguous unsigned 8- or 16-bit buffers of one size (out may be "
     "blurred)."},
    {"simd_level", ppb_simd_level, METH_NOARGS,
     "The SIMD level chosen at import: 'baseline', 'avx2' or 'avx512'."},
    {"simd_levels", ppb_simd_levels, METH_NOARGS, "The SIMD levels this CPU can run."},
    {NULL, NULL, 0, NULL},
};

/* Pick the best level the CPU runs; PIL_PARALLEL_BLUR_SIMD=<name> asks for a lower one. */
static int ppb_exec(PyObject *module)
{
    ppb_state *state = PyModule_GetState(module);
    state->level = native_choose_level(PPB_N_LEVELS);
    return state->level < 0 ? -1 : 0;
}

static PyModuleDef_Slot ppb_slots[] = {
    {Py_mod_exec, ppb_exec},
    {0, NULL},
};

static struct PyModuleDef ppb_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "pil_parallel_blur._native",
    .m_doc = "Compiled kernel of pil-parallel-blur's engine (see engine/compute.py).",
    .m_size = sizeof(ppb_state),
    .m_methods = ppb_methods,
    .m_slots = ppb_slots,
};

PyMODINIT_FUNC PyInit__native(void) { return PyModuleDef_Init(&ppb_module); }
