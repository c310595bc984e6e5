/* pil_parallel_blur._native: the compiled band kernel.
 *
 * One function does the arithmetic: correlate(...) computes output rows
 * [start, stop) of Σ_t outer(gy_t, gx_t) correlated with an image whose
 * borders are edge-replicated, reading the unpadded image rows it is given
 * and writing straight into the output buffer.  Each input row is converted
 * to the compute type once and filtered horizontally once (per term, symmetric
 * taps folded) into a ring of rows; the vertical pass then reads the ring in
 * column tiles that stay in cache, four output rows at a time.  The loops are in _native_loops.h, compiled once per SIMD
 * level; the level is chosen once, when the module is imported, and kept in
 * the module's state.  The GIL is released around the loops.
 *
 * Three more functions move samples for the spectral passes of large kernels
 * (engine/spectral.py): lines_from_columns, columns_from_lines and
 * rows_from_lines, in _native_lines.h.  They copy, convert and finish; the
 * transforms are NumPy's.
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

struct ppb_finish {
    double offset, grid, lo, hi; /* grid: results are multiples of 1/grid (0: no grid) */
    int rounding;
};

struct ppb_job {
    const void *src;       /* image rows [src_row0, src_row0 + n) */
    void *out;             /* output rows [out_row0, out_row0 + m) */
    long src_row0, out_row0, start, stop, height, width, channels, itemsize;
    long col0, col1;       /* output pixel columns [col0, col1) of those rows */
    int type, ry, rx, n_terms;
    const double *gy[PPB_MAX_TERMS], *gx[PPB_MAX_TERMS];
    int sym_x[PPB_MAX_TERMS]; /* horizontal taps symmetric: fold them */
    struct ppb_finish finish;
};

typedef int (*ppb_band_fn)(const struct ppb_job *);

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

/* ---- the spectral passes' copies (plain loops, no SIMD levels) ---- */
#include "_native_lines.h"

/* The levels, in the order of native_level_names (_native_cpu.h). */
struct ppb_level {
    ppb_band_fn band_f, band_d;
};

static const struct ppb_level ppb_levels[] = {
    {band_f_baseline, band_d_baseline},
#ifdef PPB_X86
    {band_f_avx2, band_d_avx2},
    {band_f_avx512, band_d_avx512},
#endif
};
#define PPB_N_LEVELS ((int)(sizeof(ppb_levels) / sizeof(ppb_levels[0])))

#include "_native_cpu.h"

typedef struct {
    int level; /* index into ppb_levels, chosen at import */
} ppb_state;

/* ---- Python binding ---- */

static int get_taps(PyObject *obj, Py_buffer *view, long *len, const char *what)
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
    *len = (long)(view->len / 8);
    if (*len % 2 == 0) {
        PyErr_Format(PyExc_ValueError, "%s taps must have an odd length, got %ld", what, *len);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static int symmetric(const double *g, long n)
{
    for (long k = 0; k < n / 2; k++)
        if (g[k] != g[n - 1 - k]) return 0;
    return 1;
}

PyDoc_STRVAR(correlate_doc,
"correlate(src, src_row0, out, out_row0, start, stop, col0, col1, height, width,\n"
"          channels, type, terms, double, offset, rounding, lo, hi, grid)\n"
"--\n\n"
"Write output rows [start, stop), pixel columns [col0, col1), of the\n"
"edge-replicated correlation of an image\n"
"of `height` rows with sum(outer(gy, gx) for gy, gx in terms).\n\n"
"src holds image rows from src_row0 on (C order, `width` x `channels` samples of\n"
"`type` each); it must hold every row the band reads. out holds output rows\n"
"from out_row0 on, same layout and type. Integer results get `offset`, are\n"
"snapped to the nearest multiple of 1/grid when grid > 0 (their exact values lie\n"
"on that grid), rounded (0: half to even, 1: half up) and clipped to [lo, hi].");

static PyObject *ppb_correlate(PyObject *module, PyObject *args)
{
    Py_buffer src = {0}, out = {0};
    long src_row0, out_row0, start, stop, col0, col1, height, width, channels;
    int type, use_double, rounding;
    PyObject *terms;
    double offset, lo, hi, grid;
    if (!PyArg_ParseTuple(args, "y*lw*lllllllliOpdiddd", &src, &src_row0, &out, &out_row0,
                          &start, &stop, &col0, &col1, &height, &width, &channels, &type, &terms,
                          &use_double, &offset, &rounding, &lo, &hi, &grid))
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
        col0 < 0 || col1 > width || col0 > col1) {
        PyErr_Format(PyExc_ValueError,
                     "bad geometry: rows [%ld, %ld), columns [%ld, %ld) of a %ld x %ld x %ld "
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
    long ny = -1, nx = -1;
    for (int t = 0; t < job.n_terms; t++) {
        PyObject *pair = PyTuple_GET_ITEM(terms, t);
        long ly, lx;
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
    job.start = start;
    job.stop = stop;
    job.col0 = col0;
    job.col1 = col1;
    job.src_row0 = src_row0;
    job.out_row0 = out_row0;
    job.finish = (struct ppb_finish){offset, grid, lo, hi, rounding};

    const long row_bytes = width * channels * job.itemsize;
    if (start < stop) {
        /* every source row the band reads, and every output row it writes, must be there */
        long need_lo = start - job.ry < 0 ? 0 : start - job.ry;
        long need_hi = stop - 1 + job.ry > height - 1 ? height - 1 : stop - 1 + job.ry;
        if (src_row0 > need_lo || (need_hi - src_row0 + 1) * row_bytes > (long)src.len) {
            PyErr_Format(PyExc_ValueError,
                         "src must hold image rows %ld to %ld (it starts at row %ld and holds "
                         "%ld bytes)", need_lo, need_hi, src_row0, (long)src.len);
            goto done;
        }
        if (out_row0 > start || (stop - out_row0) * row_bytes > (long)out.len) {
            PyErr_Format(PyExc_ValueError, "out must hold output rows %ld to %ld", start,
                         stop - 1);
            goto done;
        }
    }
    job.src = src.buf;
    job.out = out.buf;

    const ppb_state *state = PyModule_GetState(module);
    const struct ppb_level *level = &ppb_levels[state->level];
    ppb_band_fn band = use_double ? level->band_d : level->band_f;
    int status = 0;
    if (start < stop && col0 < col1) {
        Py_BEGIN_ALLOW_THREADS
        status = band(&job);
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


/* ---- bindings of the spectral passes' copies ---- */

static int line_type(int type, const char *what)
{
    if (type < PPB_U8 || type > PPB_F64 || type == PPB_U64 || type == PPB_I64) {
        PyErr_Format(PyExc_ValueError, "%s: unsupported sample type %d", what, type);
        return -1;
    }
    return 0;
}

static int fits(const Py_buffer *view, long count, long itemsize, const char *what)
{
    if (count < 0 || (double)count * (double)itemsize > (double)view->len) {
        PyErr_Format(PyExc_ValueError, "%s holds %ld bytes, %ld needed", what, (long)view->len,
                     count * itemsize);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(lines_from_columns_doc,
"lines_from_columns(src, type, height, row_samples, first, count, lines, stride, length, r)\n"
"--\n\n"
"Copy `count` interleaved samples from `first` on of each of the `height` rows of\n"
"src (`row_samples` samples of `type` a row) into float64 lines `stride` apart\n"
"(lines[j*stride + r + y] = row y's sample first + j), each line's first sample\n"
"repeated over [0, r) and its last over [r + height, length).");

static PyObject *ppb_lines_from_columns(PyObject *Py_UNUSED(module), PyObject *args)
{
    Py_buffer src = {0}, lines = {0};
    int type;
    long height, row_samples, first, count, stride, length, r;
    if (!PyArg_ParseTuple(args, "y*illllw*lll", &src, &type, &height, &row_samples, &first,
                          &count, &lines, &stride, &length, &r))
        return NULL;
    PyObject *result = NULL;
    if (line_type(type, "lines_from_columns") < 0) goto done;
    if (height < 1 || count < 0 || first < 0 || r < 0 || first + count > row_samples ||
        r + height > length || length > stride) {
        PyErr_SetString(PyExc_ValueError, "lines_from_columns: bad geometry");
        goto done;
    }
    if (fits(&src, height * row_samples, ppb_itemsize[type], "src") < 0 ||
        fits(&lines, count * stride, 8, "lines") < 0)
        goto done;
    Py_BEGIN_ALLOW_THREADS
    switch (type) {
#define PPB_CALL(code, T) \
    case code: gather_##code((const T *)src.buf, height, row_samples, first, count, lines.buf, stride, r); break;
        PPB_LINE_TYPES(PPB_CALL)
#undef PPB_CALL
    }
    pad_lines(lines.buf, count, stride, length, r, height);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&src);
    PyBuffer_Release(&lines);
    return result;
}

PyDoc_STRVAR(columns_from_lines_doc,
"columns_from_lines(lines, stride, r, height, channels, count, mid, double, mid_width, x0)\n"
"--\n\n"
"Store the results of `count` columns' lines (`channels` lines each, `stride`\n"
"apart, results at\n"
"[r, r + height)) into columns [x0, x0 + count) of a (height, channels, mid_width)\n"
"float32 (float64 if `double`) intermediate.");

static PyObject *ppb_columns_from_lines(PyObject *Py_UNUSED(module), PyObject *args)
{
    Py_buffer lines = {0}, mid = {0};
    long stride, r, height, channels, count, mid_w, x0;
    int use_double;
    if (!PyArg_ParseTuple(args, "y*lllllw*pll", &lines, &stride, &r, &height, &channels,
                          &count, &mid, &use_double, &mid_w, &x0))
        return NULL;
    PyObject *result = NULL;
    if (height < 1 || channels < 1 || count < 0 || r < 0 || r + height > stride || x0 < 0 ||
        x0 + count > mid_w) {
        PyErr_SetString(PyExc_ValueError, "columns_from_lines: bad geometry");
        goto done;
    }
    if (fits(&lines, count * channels * stride, 8, "lines") < 0 ||
        fits(&mid, height * channels * mid_w, use_double ? 8 : 4, "mid") < 0)
        goto done;
    Py_BEGIN_ALLOW_THREADS
    if (use_double)
        scatter_PPB_F64(lines.buf, stride, r, height, channels, count, mid.buf, mid_w, x0);
    else
        scatter_PPB_F32(lines.buf, stride, r, height, channels, count, mid.buf, mid_w, x0);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&lines);
    PyBuffer_Release(&mid);
    return result;
}

PyDoc_STRVAR(rows_from_lines_doc,
"rows_from_lines(lines, stride, r, rows, width, channels, out, type, offset, rounding,\n"
"                clip, lo, hi)\n"
"--\n\n"
"Finish `rows` rows' lines (`channels` lines each, `stride` apart, results at\n"
"[r, r + width)) into\n"
"interleaved output rows of `type`: + offset when non-zero, rounded (0: half to\n"
"even, 1: half up, -1: not), clipped to [lo, hi] when `clip`.");

static PyObject *ppb_rows_from_lines(PyObject *Py_UNUSED(module), PyObject *args)
{
    Py_buffer lines = {0}, out = {0};
    long stride, r, rows, width, channels;
    int type, rounding, clip;
    double offset, lo, hi;
    if (!PyArg_ParseTuple(args, "y*lllllw*idipdd", &lines, &stride, &r, &rows, &width,
                          &channels, &out, &type, &offset, &rounding, &clip, &lo, &hi))
        return NULL;
    PyObject *result = NULL;
    if (line_type(type, "rows_from_lines") < 0) goto done;
    if (rows < 0 || width < 1 || channels < 1 || r < 0 || r + width > stride ||
        rounding < -1 || rounding > PPB_HALF_UP) {
        PyErr_SetString(PyExc_ValueError, "rows_from_lines: bad geometry or rounding");
        goto done;
    }
    if (fits(&lines, rows * channels * stride, 8, "lines") < 0 ||
        fits(&out, rows * width * channels, ppb_itemsize[type], "out") < 0)
        goto done;
    const struct ppb_line_finish f = {offset, lo, hi, rounding, clip};
    Py_BEGIN_ALLOW_THREADS
    switch (type) {
#define PPB_CALL(code, T) \
    case code: finish_##code(lines.buf, stride, r, rows, width, channels, (T *)out.buf, &f); break;
        PPB_LINE_TYPES(PPB_CALL)
#undef PPB_CALL
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&lines);
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

static PyMethodDef ppb_methods[] = {
    {"correlate", ppb_correlate, METH_VARARGS, correlate_doc},
    {"lines_from_columns", ppb_lines_from_columns, METH_VARARGS, lines_from_columns_doc},
    {"columns_from_lines", ppb_columns_from_lines, METH_VARARGS, columns_from_lines_doc},
    {"rows_from_lines", ppb_rows_from_lines, METH_VARARGS, rows_from_lines_doc},
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
    .m_doc = "Compiled band kernel of pil-parallel-blur (see engine.py).",
    .m_size = sizeof(ppb_state),
    .m_methods = ppb_methods,
    .m_slots = ppb_slots,
};

PyMODINIT_FUNC PyInit__native(void) { return PyModuleDef_Init(&ppb_module); }
