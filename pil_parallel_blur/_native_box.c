/* Pillow's box passes, byte for byte (pil_parallel_blur.pillow; engine/boxes.py).
 *
 * One pass of float radius R over a line of uint8 samples, as Pillow's
 * src/libImaging/BoxBlur.c computes it: r = (int)R, ww and fw given (from R in
 * float32, see engine/boxes.py), and for every x, in unsigned 32-bit
 * arithmetic (wrapping as Pillow's does for radii near 2^31):
 *
 *   S(x)   = sum of in[clamp(x + k)] for k = -r .. r
 *   out[x] = (S(x)*ww + (in[clamp(x-r-1)] + in[clamp(x+r+1)])*fw + 2^23) >> 24
 *
 * S is kept as a running sum. Every pass runs down many columns at once (the
 * inner loop over a row of samples is plain uint32 arithmetic the compiler
 * vectorises); horizontal passes first turn blocks of rows into columns (a
 * transpose of bytes). Integer arithmetic only: every SIMD level, and the
 * NumPy twin, give the same bytes. The GIL is released around the loops. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "_native_buffers.h"
#include "_native_cpu.h"

#define BOX_ONE_HALF (1u << 23)
#define BOX_MAX_PASSES 8
#define BOX_SHIFT 24

static inline Py_ssize_t clamp_index(Py_ssize_t i, Py_ssize_t last)
{
    return i < 0 ? 0 : (i > last ? last : i);
}


/* One output row of a pass down many columns at once (below, once per SIMD
 * level): the running sums acc[j] of `count` columns move on by one row, from
 * the rows `sub` (leaving the window), `add` (entering it) and `far` (the
 * row past it). */
typedef void (*box_row_fn)(const uint8_t *restrict sub, const uint8_t *restrict add,
                           const uint8_t *restrict far, uint8_t *restrict out, Py_ssize_t count,
                           uint32_t ww, uint32_t fw, uint32_t *restrict acc);

/* Room for every pass down up to `count` columns of n rows at once. */
struct box_room {
    uint32_t *acc;  /* passes x count running sums */
    uint8_t *rings; /* (passes - 1) x ring x count: the rows of the passes before the last */
    Py_ssize_t ring;
};

static int room_take(struct box_room *room, Py_ssize_t n, Py_ssize_t count, Py_ssize_t r,
                     int passes);
static void room_free(struct box_room *room);
static void columns_passes(box_row_fn step, struct box_room *room, const uint8_t *src,
                           Py_ssize_t src_stride, uint8_t *dst, Py_ssize_t dst_stride,
                           Py_ssize_t n, Py_ssize_t count, Py_ssize_t r, uint32_t ww, uint32_t fw,
                           int passes, int in_place);

/* Rows blurred together: a block of them is turned into columns (each sample
 * of each row a lane), blurred by the vectorised column passes, turned back.
 * Up to BOX_ROW_BLOCK rows (24 MP RGB, one core: 16 / 32 / 64 rows took
 * 0.16 / 0.12 / 0.095 s for three passes), fewer when rows are so long that a
 * block would pass BOX_BLOCK_BYTES (never fewer than BOX_MIN_ROWS), a multiple
 * of BOX_TRANSPOSE rows. */
#define BOX_ROW_BLOCK 64
#define BOX_MIN_ROWS 8
#define BOX_BLOCK_BYTES (1 << 21)
#define BOX_TRANSPOSE 8

/* Eight bytes of eight rows turned into eight bytes of eight columns with
 * 64-bit words (three rounds of swapping halves), where a word's first byte is
 * its lowest: little-endian targets. */
#ifndef BOX_WORD_TRANSPOSE /* -DBOX_WORD_TRANSPOSE=0: the byte loop alone, as on big-endian targets */
#if (defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) || defined(_WIN32)
#define BOX_WORD_TRANSPOSE 1
#else
#define BOX_WORD_TRANSPOSE 0
#endif
#endif
#if BOX_WORD_TRANSPOSE
#define BOX_SWAP(x, y, shift, mask)                                   \
    do {                                                              \
        const uint64_t a_ = (x), b_ = (y);                            \
        (x) = (a_ & (mask)) | ((b_ & (mask)) << (shift));             \
        (y) = ((a_ >> (shift)) & (mask)) | (b_ & ~(uint64_t)(mask));  \
    } while (0)

static inline void transpose_8x8(const uint8_t *src, Py_ssize_t src_stride, uint8_t *dst,
                                 Py_ssize_t dst_stride)
{
    uint64_t r[BOX_TRANSPOSE];
    for (int i = 0; i < BOX_TRANSPOSE; i++)
        memcpy(&r[i], src + i * src_stride, sizeof r[i]);
    const uint64_t halves = 0x00000000FFFFFFFFull, quarters = 0x0000FFFF0000FFFFull,
                   eighths = 0x00FF00FF00FF00FFull;
    BOX_SWAP(r[0], r[4], 32, halves);
    BOX_SWAP(r[1], r[5], 32, halves);
    BOX_SWAP(r[2], r[6], 32, halves);
    BOX_SWAP(r[3], r[7], 32, halves);
    BOX_SWAP(r[0], r[2], 16, quarters);
    BOX_SWAP(r[1], r[3], 16, quarters);
    BOX_SWAP(r[4], r[6], 16, quarters);
    BOX_SWAP(r[5], r[7], 16, quarters);
    BOX_SWAP(r[0], r[1], 8, eighths);
    BOX_SWAP(r[2], r[3], 8, eighths);
    BOX_SWAP(r[4], r[5], 8, eighths);
    BOX_SWAP(r[6], r[7], 8, eighths);
    for (int i = 0; i < BOX_TRANSPOSE; i++)
        memcpy(dst + i * dst_stride, &r[i], sizeof r[i]);
}
#endif

/* dst[k * dst_stride + j] = src[j * src_stride + k] for j < rows, k < cols:
 * eight by eight where it can, the edges a byte at a time. A copy, so the
 * bytes are the same either way. */
static void transpose_bytes(const uint8_t *src, Py_ssize_t src_stride, uint8_t *dst,
                            Py_ssize_t dst_stride, Py_ssize_t rows, Py_ssize_t cols)
{
    Py_ssize_t rows8 = 0, cols8 = 0;
#if BOX_WORD_TRANSPOSE
    rows8 = rows - rows % BOX_TRANSPOSE;
    cols8 = cols - cols % BOX_TRANSPOSE;
    for (Py_ssize_t j = 0; j < rows8; j += BOX_TRANSPOSE)
        for (Py_ssize_t k = 0; k < cols8; k += BOX_TRANSPOSE)
            transpose_8x8(src + j * src_stride + k, src_stride, dst + k * dst_stride + j,
                          dst_stride);
#endif
    for (Py_ssize_t j = 0; j < rows; j++)
        for (Py_ssize_t k = j < rows8 ? cols8 : 0; k < cols; k++)
            dst[k * dst_stride + j] = src[j * src_stride + k];
}

/* Every pass along `rows` rows, a block at a time through columns: sample s of
 * row b of the block is lane b of column s (in[s * block + b]), so a column
 * holds one sample position of every row, and turning rows into columns is a
 * plain transpose of bytes. */
static int rows_passes(box_row_fn step, const uint8_t *src, uint8_t *dst, Py_ssize_t rows,
                       Py_ssize_t width, Py_ssize_t channels, Py_ssize_t r, uint32_t ww,
                       uint32_t fw, int passes)
{
    const Py_ssize_t row_bytes = width * channels;
    Py_ssize_t block_rows = BOX_BLOCK_BYTES / (row_bytes > 0 ? row_bytes : 1);
    block_rows = block_rows > BOX_ROW_BLOCK ? BOX_ROW_BLOCK : block_rows;
    block_rows -= block_rows % BOX_TRANSPOSE;
    block_rows = block_rows < BOX_MIN_ROWS ? BOX_MIN_ROWS : block_rows;
    const Py_ssize_t lanes_max = block_rows * channels;
    uint8_t *in = malloc((size_t)(width * lanes_max)), *out = malloc((size_t)(width * lanes_max));
    struct box_room room;
    if (room_take(&room, width, lanes_max, r, passes) < 0 || in == NULL || out == NULL) {
        free(in);
        free(out);
        room_free(&room);
        return -1;
    }
    for (Py_ssize_t y0 = 0; y0 < rows; y0 += block_rows) {
        const Py_ssize_t block = rows - y0 < block_rows ? rows - y0 : block_rows;
        const Py_ssize_t lanes = block * channels;
        transpose_bytes(src + y0 * row_bytes, row_bytes, in, block, block, row_bytes);
        columns_passes(step, &room, in, lanes, out, lanes, width, lanes, r, ww, fw, passes, 0);
        transpose_bytes(out, block, dst + y0 * row_bytes, row_bytes, row_bytes, block);
    }
    free(in);
    free(out);
    room_free(&room);
    return 0;
}

/* One output row of a pass (box_row_fn), compiled once per SIMD level: the
 * loop over the columns is what the compiler vectorises. */
#define BOX_ROW_STEP(level, attributes)                                                      \
    attributes static void row_step_##level(                                                 \
        const uint8_t *restrict sub, const uint8_t *restrict add, const uint8_t *restrict far, \
        uint8_t *restrict out, Py_ssize_t count, uint32_t ww, uint32_t fw,                    \
        uint32_t *restrict acc)                                                               \
    {                                                                                        \
        for (Py_ssize_t j = 0; j < count; j++) {                                             \
            const uint32_t s = acc[j] + (uint32_t)add[j] - (uint32_t)sub[j];                 \
            acc[j] = s;                                                                      \
            const uint32_t bulk = s * ww + ((uint32_t)sub[j] + (uint32_t)far[j]) * fw;       \
            out[j] = (uint8_t)((bulk + BOX_ONE_HALF) >> BOX_SHIFT);                          \
        }                                                                                    \
    }

BOX_ROW_STEP(baseline, )

/* GCC and clang both take the target attribute; other compilers build the
 * baseline level alone. */
#ifdef NATIVE_X86
#define BOX_X86 1
BOX_ROW_STEP(avx2, __attribute__((target("avx2"))))
BOX_ROW_STEP(avx512, __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2"))))
#endif

/* The SIMD levels, in the order of native_level_names (_native_cpu.h). */
static const box_row_fn box_levels[] = {
    row_step_baseline,
#ifdef BOX_X86
    row_step_avx2,
    row_step_avx512,
#endif
};
#define BOX_N_LEVELS ((int)(sizeof(box_levels) / sizeof(box_levels[0])))

typedef struct {
    int level; /* index into box_levels, chosen when the module loads */
} box_state;

/* The rows a pass keeps for the next one: those it reads around its row y
 * are y - r - 1 .. y + r + 1, so a ring of 2r + 3 (all n when fewer). */
static Py_ssize_t ring_rows(Py_ssize_t n, Py_ssize_t r) { return 2 * r + 3 < n ? 2 * r + 3 : n; }

/* Rows of up to `count` columns for every pass down n rows: each pass but the
 * last keeps its rows in a ring of ring_rows(n, r). On failure the room holds
 * nothing (room_free is still safe). */
static int room_take(struct box_room *room, Py_ssize_t n, Py_ssize_t count, Py_ssize_t r,
                     int passes)
{
    room->ring = ring_rows(n, r);
    room->acc = malloc((size_t)passes * (size_t)count * sizeof(uint32_t));
    room->rings = passes > 1 ? malloc((size_t)(passes - 1) * (size_t)(room->ring * count)) : NULL;
    if (room->acc == NULL || (passes > 1 && room->rings == NULL)) {
        room_free(room);
        return -1;
    }
    return 0;
}

static void room_free(struct box_room *room)
{
    free(room->acc);
    free(room->rings);
    room->acc = NULL;
    room->rings = NULL;
}

/* Where a pass reads its rows and writes its own. A copy pass only copies
 * its input's rows: it puts the source rows of a stage computed in place
 * into a ring, so that the first box pass reads them there after the last
 * one has written over them. */
struct box_pass_rows {
    const uint8_t *in;
    Py_ssize_t in_stride, in_ring; /* row i at in + (i mod in_ring) * in_stride; 0: no ring */
    uint8_t *out;
    Py_ssize_t out_stride, out_ring;
    uint32_t *acc;
    Py_ssize_t done; /* rows written */
    int copy;
};

static inline const uint8_t *ring_row(const uint8_t *base, Py_ssize_t stride, Py_ssize_t ring,
                                      Py_ssize_t i)
{
    return base + (ring ? i % ring : i) * stride;
}

/* S(-1) of every column: the clamped window around row -1, modulo 2^32 (row 0
 * counted r + 2 times, rows 1 .. r - 1, and the last row for the taps past
 * it when the column is shorter than the window). Summed row by row, all
 * columns at once: sums modulo 2^32 do not depend on their order, and the
 * rows are read along, not down (radius 500: 500 rows a column). */
static void window_before_first(uint32_t *restrict acc, const uint8_t *in, Py_ssize_t stride,
                                Py_ssize_t ring, Py_ssize_t last, Py_ssize_t r,
                                Py_ssize_t count)
{
    const uint8_t *first = ring_row(in, stride, ring, 0);
    const uint32_t low = (uint32_t)(uint64_t)(r >= 1 ? r + 2 : 1);
    for (Py_ssize_t j = 0; j < count; j++) acc[j] = (uint32_t)first[j] * low;
    const Py_ssize_t mid_end = last - 1 < r - 1 ? last - 1 : r - 1;
    for (Py_ssize_t k = 1; k <= mid_end; k++) {
        const uint8_t *row = ring_row(in, stride, ring, k);
        for (Py_ssize_t j = 0; j < count; j++) acc[j] += (uint32_t)row[j];
    }
    const Py_ssize_t high_start = last > 1 ? last : 1;
    if (r - 1 >= high_start) {
        const uint8_t *end = ring_row(in, stride, ring, last);
        const uint32_t high = (uint32_t)(uint64_t)(r - high_start);
        for (Py_ssize_t j = 0; j < count; j++) acc[j] += (uint32_t)end[j] * high;
    }
}

/* Run pass p (and, first, the passes before it as far as it needs) until it has
 * written row `upto` (or the last). Pass p's row y reads its input's rows
 * around y, up to y + r + 1, so pass p - 1 runs r + 1 rows ahead of it: every
 * pass is computed row by row as Pillow's loop does, and the rows between
 * passes stay in the rings, in cache. */
static void run_pass(box_row_fn step, struct box_pass_rows *passes, int p, Py_ssize_t upto,
                     Py_ssize_t n, Py_ssize_t count, Py_ssize_t r, uint32_t ww, uint32_t fw)
{
    struct box_pass_rows *me = &passes[p];
    const Py_ssize_t last = n - 1;
    upto = upto < last ? upto : last;
    for (; me->done <= upto; me->done++) {
        const Py_ssize_t y = me->done;
        if (me->copy) {
            memcpy((uint8_t *)ring_row(me->out, me->out_stride, me->out_ring, y),
                   ring_row(me->in, me->in_stride, me->in_ring, y), (size_t)count);
            continue;
        }
        if (p > 0) run_pass(step, passes, p - 1, y + r + 1, n, count, r, ww, fw);
        const uint8_t *in = me->in;
        const Py_ssize_t stride = me->in_stride, ring = me->in_ring;
        if (y == 0) window_before_first(me->acc, in, stride, ring, last, r, count);
        step(ring_row(in, stride, ring, clamp_index(y - r - 1, last)),
             ring_row(in, stride, ring, clamp_index(y + r, last)),
             ring_row(in, stride, ring, clamp_index(y + r + 1, last)),
             (uint8_t *)ring_row(me->out, me->out_stride, me->out_ring, y), count, ww, fw,
             me->acc);
    }
}

/* Every pass down `count` sample columns of n rows, src to dst, through the
 * rings of `room` (taken for at least n rows, count columns and the passes
 * plus in_place). `in_place`: dst may be src (the same rows, written over):
 * a copy pass first keeps the source rows the box passes still read. */
static void columns_passes(box_row_fn step, struct box_room *room, const uint8_t *src,
                           Py_ssize_t src_stride, uint8_t *dst, Py_ssize_t dst_stride,
                           Py_ssize_t n, Py_ssize_t count, Py_ssize_t r, uint32_t ww, uint32_t fw,
                           int passes, int in_place)
{
    struct box_pass_rows rows[BOX_MAX_PASSES + 1];
    passes += in_place;
    for (int p = 0; p < passes; p++) {
        const int first = p == 0, final = p == passes - 1;
        uint8_t *ring = final ? NULL : room->rings + (Py_ssize_t)p * room->ring * count;
        rows[p] = (struct box_pass_rows){
            .in = first ? src : rows[p - 1].out,
            .in_stride = first ? src_stride : count,
            .in_ring = first ? 0 : room->ring,
            .out = final ? dst : ring,
            .out_stride = final ? dst_stride : count,
            .out_ring = final ? 0 : room->ring,
            .acc = room->acc + (Py_ssize_t)p * count,
            .done = 0,
            .copy = first && in_place,
        };
    }
    run_pass(step, rows, passes - 1, n - 1, n, count, r, ww, fw);
}

/* Samples of a row, in columns of up to this many at a time: longer runs of
 * each row are read faster (24 MP RGB, one core, one pass down the columns:
 * 42 / 28 / 23 ms at 1024 / 2048 / 4096, noisy) ... */
#define BOX_COLUMN_BLOCK 4096
/* ... but fewer where the rings between passes would pass this many bytes,
 * so that they stay in the second-level cache (never fewer than 256). */
#define BOX_RING_BYTES (512 << 10)

static Py_ssize_t column_block(Py_ssize_t n, Py_ssize_t r, int passes)
{
    if (passes == 1) return BOX_COLUMN_BLOCK;
    Py_ssize_t block = BOX_RING_BYTES / ((passes - 1) * ring_rows(n, r));
    block -= block % 64;
    return block < 256 ? 256 : (block > BOX_COLUMN_BLOCK ? BOX_COLUMN_BLOCK : block);
}

static PyObject *box_lines(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"src",      "src0",  "dst", "dst0",   "top", "bottom",
                               "left",     "right", "vertical", "radius", "ww", "fw",
                               "passes",   "in_place", NULL};
    PyObject *src_obj, *dst_obj;
    Py_ssize_t src0, dst0, top, bottom, left, right, radius;
    int vertical, passes, in_place = 0;
    unsigned long ww, fw;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OnOnnnnnpnkki|p:box_lines", keywords,
                                     &src_obj, &src0, &dst_obj, &dst0, &top, &bottom, &left,
                                     &right, &vertical, &radius, &ww, &fw, &passes, &in_place))
        return NULL;
    Py_buffer src, dst;
    if (PyObject_GetBuffer(src_obj, &src, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return NULL;
    if (PyObject_GetBuffer(dst_obj, &dst, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) <
        0) {
        PyBuffer_Release(&src);
        return NULL;
    }
    int failed = 0;
    const char *problem = NULL;
    if (src.ndim != 3 || dst.ndim != 3 || src.itemsize != 1 || dst.itemsize != 1 ||
        src.shape[1] != dst.shape[1] || src.shape[2] != dst.shape[2])
        problem = "src and dst must be (rows, width, channels) uint8 arrays of one width";
    else if (radius < 0 || passes < 1 || passes > BOX_MAX_PASSES || ww > 0xFFFFFFFFul ||
             fw > 0xFFFFFFFFul)
        problem = "bad radius, weights or passes (1 to 8)";
    else if (top < 0 || bottom < top || left < 0 || right < left || right > src.shape[1] ||
             top - src0 < 0 || bottom - src0 > src.shape[0] || top - dst0 < 0 ||
             bottom - dst0 > dst.shape[0])
        problem = "the tile does not lie within src and dst";
    else if (!vertical && (left != 0 || right != src.shape[1]))
        problem = "a horizontal tile spans whole rows";
    if (problem != NULL) {
        PyBuffer_Release(&src);
        PyBuffer_Release(&dst);
        PyErr_SetString(PyExc_ValueError, problem);
        return NULL;
    }
    const Py_ssize_t width = src.shape[1], channels = src.shape[2];
    const Py_ssize_t row_bytes = width * channels;
    const uint8_t *in = (const uint8_t *)src.buf + (top - src0) * row_bytes;
    uint8_t *out = (uint8_t *)dst.buf + (top - dst0) * row_bytes;
    const Py_ssize_t rows = bottom - top;
    const box_state *state = PyModule_GetState(self);
    const box_row_fn step = box_levels[state->level];
    if (rows > 0 && right > left) {
        Py_BEGIN_ALLOW_THREADS;
        if (!vertical) {
            failed = rows_passes(step, in, out, rows, width, channels, radius, (uint32_t)ww,
                                 (uint32_t)fw, passes);
        } else {
            const Py_ssize_t first = left * channels, end = right * channels;
            const Py_ssize_t block = column_block(rows, radius, passes + in_place);
            struct box_room room;
            failed = room_take(&room, rows, block, radius, passes + in_place);
            for (Py_ssize_t j = first; j < end && !failed; j += block) {
                const Py_ssize_t count = end - j < block ? end - j : block;
                columns_passes(step, &room, in + j, row_bytes, out + j, row_bytes, rows, count,
                               radius, (uint32_t)ww, (uint32_t)fw, passes, in_place);
            }
            room_free(&room);
        }
        Py_END_ALLOW_THREADS;
    }
    PyBuffer_Release(&src);
    PyBuffer_Release(&dst);
    if (failed) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* Pillow's UnsharpMask.c combination over n samples: diff = in - blurred; where
 * |diff| > threshold, clip8(in + diff * percent / 100) with C's int product and
 * division (the product wraps as a 32-bit two's-complement int would: done in
 * unsigned arithmetic, which is defined); elsewhere in. */
static void unsharp_samples(const uint8_t *restrict in, const uint8_t *restrict blurred,
                            uint8_t *restrict out, Py_ssize_t n, int32_t percent,
                            int32_t threshold)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        const int32_t diff = (int32_t)in[i] - (int32_t)blurred[i];
        const int32_t size = diff < 0 ? -diff : diff;
        const int32_t product = (int32_t)((uint32_t)diff * (uint32_t)percent);
        const int32_t value = (int32_t)in[i] + product / 100;
        const uint8_t sharp = (uint8_t)(value >= 255 ? 255 : (value <= 0 ? 0 : value));
        out[i] = size > threshold ? sharp : in[i];
    }
}

static PyObject *unsharp_lines(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"image", "blurred", "out", "percent", "threshold", NULL};
    PyObject *objs[3];
    int percent, threshold;
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOii:unsharp_lines", keywords, &objs[0],
                                     &objs[1], &objs[2], &percent, &threshold))
        return NULL;
    Py_buffer views[3];
    if (native_get_buffers(objs, views, 3) < 0) return NULL;
    const int fits = views[0].len == views[1].len && views[0].len == views[2].len &&
                     views[0].itemsize == 1 && views[1].itemsize == 1 && views[2].itemsize == 1;
    if (!fits)
        PyErr_SetString(PyExc_ValueError, "image, blurred and out must be uint8 of one size");
    else {
        Py_BEGIN_ALLOW_THREADS;
        unsharp_samples(views[0].buf, views[1].buf, views[2].buf, views[0].len, percent,
                        threshold);
        Py_END_ALLOW_THREADS;
    }
    native_release_buffers(views, 3);
    if (!fits) return NULL;
    Py_RETURN_NONE;
}

static PyObject *simd_level(PyObject *self, PyObject *unused)
{
    (void)unused;
    const box_state *state = PyModule_GetState(self);
    return PyUnicode_FromString(native_level_names[state->level]);
}

/* The level to run, chosen once (see _native_cpu.h). */
static int box_exec(PyObject *module)
{
    box_state *state = PyModule_GetState(module);
    state->level = native_choose_level(BOX_N_LEVELS);
    return state->level < 0 ? -1 : 0;
}

static PyMethodDef box_methods[] = {
    {"simd_level", simd_level, METH_NOARGS, "The SIMD level the column passes run at."},
    {"unsharp_lines", (PyCFunction)(void (*)(void))unsharp_lines, METH_VARARGS | METH_KEYWORDS,
     "unsharp_lines(image, blurred, out, percent, threshold)\n--\n\nPillow's unsharp "
     "combination over C-contiguous uint8 buffers of one size."},
    {"box_lines", (PyCFunction)(void (*)(void))box_lines, METH_VARARGS | METH_KEYWORDS,
     "box_lines(src, src0, dst, dst0, top, bottom, left, right, vertical, radius, ww, fw, "
     "passes, in_place=False)\n--\n\nPillow's box passes over one tile: whole rows, or whole "
     "columns. in_place: dst may hold the same rows as src (written over them)."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot box_slots[] = {
    {Py_mod_exec, (void *)box_exec},
    {0, NULL},
};

static struct PyModuleDef box_module = {
    PyModuleDef_HEAD_INIT,
    "_native_box",
    "Pillow's fixed-point box passes, byte for byte (see engine/boxes.py).",
    sizeof(box_state),
    box_methods,
    box_slots,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__native_box(void) { return PyModuleDef_Init(&box_module); }
