/* Moving samples between images and the groups of lines the spectral passes
 * transform (_native_fft.h; engine/spectral.py).  Included once by _native.c.
 *
 * A group holds PPB_FFT_BYTES / sizeof(T) pairs of lines of one channel:
 * position k of the group is that many real parts (the even lines of the
 * pairs), then as many imaginary parts (the odd lines).  A line past the last
 * one reads as 0.
 * Only copies, conversions and the final offset / rounding / clipping; every
 * value is the one the NumPy twin computes (conversions exact or rounded to
 * nearest, the finish NumPy's operations in NumPy's order).
 */

/* The sample types the spectral passes read and write (no 64-bit integers). */
#define PPB_LINE_TYPES(X, T, TS) \
    X(PPB_U8, uint8_t, T, TS)    \
    X(PPB_I8, int8_t, T, TS)     \
    X(PPB_U16, uint16_t, T, TS)  \
    X(PPB_I16, int16_t, T, TS)   \
    X(PPB_U32, uint32_t, T, TS)  \
    X(PPB_I32, int32_t, T, TS)   \
    X(PPB_F32, float, T, TS)     \
    X(PPB_F64, double, T, TS)

/* The intermediate plane is read back only by the rows pass, long after the
 * columns pass wrote it: its rows are written around the caches where the
 * processor can (whole 16-byte pieces, then a fence so that the rows pass, on
 * whichever thread, sees them), saving the reads of lines about to be
 * overwritten (4-5 % of a 24 MP call at σ 25).  Elsewhere a plain copy. */
#if defined(__SSE2__)
#include <emmintrin.h>
static inline void ppb_store_around_cache(void *dst, const void *src, size_t bytes)
{
    if (((uintptr_t)dst & 15) != 0 || bytes % 16 != 0) {
        memcpy(dst, src, bytes);
        return;
    }
    for (size_t b = 0; b < bytes; b += 16) {
        const __m128i piece = _mm_loadu_si128((const __m128i *)((const char *)src + b));
        _mm_stream_si128((__m128i *)((char *)dst + b), piece);
    }
}
#define PPB_STORE_AROUND_CACHE(dst, src, bytes) ppb_store_around_cache(dst, src, bytes)
#define PPB_STORES_DONE() _mm_sfence()
#else
#define PPB_STORE_AROUND_CACHE(dst, src, bytes) memcpy(dst, src, bytes)
#define PPB_STORES_DONE() ((void)0)
#endif

#if defined(__GNUC__) || defined(__clang__)
#define PPB_PREFETCH(p) __builtin_prefetch(p)
#else
#define PPB_PREFETCH(p) ((void)0)
#endif

static inline Py_ssize_t clamp_position(Py_ssize_t i, Py_ssize_t size)
{
    return i < 0 ? 0 : (i >= size ? size - 1 : i);
}

/* Positions (or samples) moved per line at a time between a group and the
 * lines of an image: a line's block is read or written in one run while the
 * group's side (64 positions: 8 KiB) stays in the first-level cache. Rows
 * pass of one channel of 24 MP at σ 64, one core: blocks of 16 / 32 / 64 /
 * 128 / 256 took 0.091 / 0.092 / 0.068 / 0.069 / 0.107 s. */
#define PPB_LINE_BLOCK 64

/* The columns pass: the group's lines are `count` (≤ 2·lanes) image columns,
 * `step` samples apart in every row from sample `first` on (one channel of
 * interleaved pixels); its position k is image row clamp(k - r), less
 * `centre`. */
#define PPB_GATHER_COLUMNS(code, S, T, TS)                                                \
    static void gather_columns_##code##_##TS(const S *src, Py_ssize_t row_samples,        \
                                             Py_ssize_t h, Py_ssize_t first,              \
                                             Py_ssize_t step, Py_ssize_t count, T *group, \
                                             Py_ssize_t n, Py_ssize_t r, T centre)        \
    {                                                                                     \
        const Py_ssize_t lanes = PPB_GROUP_LANES(T);                                      \
        for (Py_ssize_t k = 0; k < n; k++) {                                              \
            const S *row = src + clamp_position(k - r, h) * row_samples + first;          \
            T *re = group + 2 * lanes * k, *im = re + lanes;                              \
            if (count == 2 * lanes) {                                                     \
                for (Py_ssize_t l = 0; l < PPB_GROUP_LANES(T); l++) {                     \
                    re[l] = (T)row[2 * l * step] - centre;                                \
                    im[l] = (T)row[(2 * l + 1) * step] - centre;                          \
                }                                                                         \
                continue;                                                                 \
            }                                                                             \
            for (Py_ssize_t l = 0; l < lanes; l++) {                                      \
                re[l] = 2 * l < count ? (T)row[2 * l * step] - centre : (T)0;             \
                im[l] = 2 * l + 1 < count ? (T)row[(2 * l + 1) * step] - centre : (T)0;   \
            }                                                                             \
        }                                                                                 \
    }
PPB_LINE_TYPES(PPB_GATHER_COLUMNS, float, f)
PPB_LINE_TYPES(PPB_GATHER_COLUMNS, double, d)

/* The columns pass's results into rows of an (H, W, C) intermediate, `row`
 * samples apart: line i of the group is sample `at + i` of each row. */
#define PPB_SCATTER_COLUMNS(T, TS)                                                        \
    static void scatter_columns_##TS(const T *group, Py_ssize_t h, Py_ssize_t r,          \
                                     Py_ssize_t count, T *mid, Py_ssize_t row,            \
                                     Py_ssize_t at)                                       \
    {                                                                                     \
        const Py_ssize_t lanes = PPB_GROUP_LANES(T);                                      \
        for (Py_ssize_t y = 0; y < h; y++) {                                              \
            const T *re = group + 2 * lanes * (r + y), *im = re + lanes;                  \
            T *dst = mid + y * row + at;                                                  \
            if (count == 2 * lanes) {                                                     \
                T tmp[2 * PPB_GROUP_LANES(T)] __attribute__((aligned(64)));               \
                for (Py_ssize_t l = 0; l < PPB_GROUP_LANES(T); l++) {                     \
                    tmp[2 * l] = re[l];                                                   \
                    tmp[2 * l + 1] = im[l];                                               \
                }                                                                         \
                PPB_STORE_AROUND_CACHE(dst, tmp, sizeof tmp);                             \
                continue;                                                                 \
            }                                                                             \
            for (Py_ssize_t i = 0; i < count; i++) dst[i] = re[(i & 1) * lanes + i / 2];  \
        }                                                                                 \
        PPB_STORES_DONE();                                                                \
    }
PPB_SCATTER_COLUMNS(float, f)
PPB_SCATTER_COLUMNS(double, d)

/* The rows pass: the group's lines are `count` rows of w samples of a
 * one-channel intermediate; position k is sample clamp(k - r). Lanes without
 * a line are 0. */
#define PPB_GATHER_ROWS(T, TS)                                                            \
    static void gather_rows_##TS(const T *mid, Py_ssize_t w, Py_ssize_t count, T *group,  \
                                 Py_ssize_t n, Py_ssize_t r)                              \
    {                                                                                     \
        const Py_ssize_t lanes = PPB_GROUP_LANES(T);                                      \
        for (Py_ssize_t i = count; i < 2 * lanes; i++)                                    \
            for (Py_ssize_t k = 0; k < n; k++)                                            \
                group[2 * lanes * k + (i & 1) * lanes + i / 2] = (T)0;                    \
        for (Py_ssize_t kb = 0; kb < n; kb += PPB_LINE_BLOCK) {                           \
            const Py_ssize_t ke = kb + PPB_LINE_BLOCK < n ? kb + PPB_LINE_BLOCK : n;      \
            /* positions [kb, a) read the first sample, [a, b) sample k - r, [b, ke) \
             * the last */                                                              \
            const Py_ssize_t a = r < kb ? kb : (r < ke ? r : ke);                        \
            const Py_ssize_t b = r + w < a ? a : (r + w < ke ? r + w : ke);              \
            for (Py_ssize_t i = 0; i < count; i++) {                                      \
                const T *line = mid + i * w;                                              \
                T *dst = group + (i & 1) * lanes + i / 2;                                 \
                for (Py_ssize_t k = kb; k < a; k++) dst[2 * lanes * k] = line[0];         \
                const T *from = line - r;                                                 \
                /* the next block of this line, on its way while this one is copied */   \
                for (Py_ssize_t c = 0; c < PPB_LINE_BLOCK; c += 64 / (Py_ssize_t)sizeof(T))    \
                    if (ke + c < r + w) PPB_PREFETCH(from + ke + c);                       \
                for (Py_ssize_t k = a; k < b; k++) dst[2 * lanes * k] = from[k];          \
                for (Py_ssize_t k = b; k < ke; k++) dst[2 * lanes * k] = line[w - 1];     \
            }                                                                             \
        }                                                                                 \
    }
PPB_GATHER_ROWS(float, f)
PPB_GATHER_ROWS(double, d)

/* Added to and taken off a double of magnitude up to 2^51, it leaves the
 * nearest integer, ties to even (rint's result in the default rounding mode). */
#define PPB_ROUNDER 6755399441055744.0

struct ppb_line_finish {
    double offset, lo, hi;
    int rounding; /* PPB_RINT, PPB_HALF_UP, or -1: none (float output) */
    int clip;
};

/* NumPy's finish (engine/finish.py): + offset if non-zero, round, clip. */
static inline double line_finish(double v, const struct ppb_line_finish *f)
{
    if (f->offset != 0.0) v = v + f->offset;
    if (f->rounding == PPB_RINT)
        v = rint(v);
    else if (f->rounding == PPB_HALF_UP)
        v = floor(v + 0.5);
    if (f->clip) {
        v = v == v ? v : 0.0; /* NaN (inf - inf) converts to 0 */
        v = v < f->lo ? f->lo : v;
        v = v > f->hi ? f->hi : v;
    }
    return v;
}

/* The rows pass's results, finished, into one channel of interleaved output
 * rows: line i is row i, its samples `step` apart from `out` on. */
#define PPB_FINISH_ROWS(code, S, T, TS)                                                   \
    static void finish_rows_##code##_##TS(const T *group, Py_ssize_t r, Py_ssize_t w,     \
                                          Py_ssize_t count, Py_ssize_t step, S *out,      \
                                          const struct ppb_line_finish *f)                \
    {                                                                                     \
        const Py_ssize_t lanes = PPB_GROUP_LANES(T);                                      \
        /* integers rounded half to even (the usual case): the same values as     \
         * line_finish, without its branches (clipping to integer bounds and     \
         * rounding commute; an offset of 0 changes no integer) */               \
        const int fast = f->clip && f->rounding == PPB_RINT;                             \
        const double offset = f->offset, lo = f->lo, hi = f->hi;                         \
        if (fast && count == 2 * lanes && sizeof(S) <= 2) {                               \
            /* position by position: the group's lines side by side in a plain   \
             * loop (rint as adding and taking off 1.5·2^52: the same integer for \
             * values this small), then one sample into each line's row */       \
            int32_t v[2 * PPB_GROUP_LANES(T)];                                            \
            for (Py_ssize_t x = 0; x < w; x++) {                                          \
                const T *src = group + 2 * lanes * (r + x);                               \
                for (Py_ssize_t l = 0; l < 2 * PPB_GROUP_LANES(T); l++) {                 \
                    double d = (double)src[l] + offset;                                   \
                    d = d == d ? d : 0.0;                                                 \
                    d = d < lo ? lo : d;                                                  \
                    d = d > hi ? hi : d;                                                  \
                    d = (d + PPB_ROUNDER) - PPB_ROUNDER;                                  \
                    v[l] = (int32_t)d;                                                    \
                }                                                                         \
                S *dst = out + x * step;                                                  \
                for (Py_ssize_t l = 0; l < PPB_GROUP_LANES(T); l++) {                     \
                    dst[2 * l * w * step] = (S)v[l];                                      \
                    dst[(2 * l + 1) * w * step] = (S)v[lanes + l];                        \
                }                                                                         \
            }                                                                             \
            return;                                                                       \
        }                                                                                 \
        for (Py_ssize_t xb = 0; xb < w; xb += PPB_LINE_BLOCK) {                           \
            const Py_ssize_t xe = xb + PPB_LINE_BLOCK < w ? xb + PPB_LINE_BLOCK : w;      \
            for (Py_ssize_t i = 0; i < count; i++) {                                      \
                const T *src = group + 2 * lanes * r + (i & 1) * lanes + i / 2;           \
                S *dst = out + i * w * step;                                              \
                if (!fast) {                                                              \
                    for (Py_ssize_t x = xb; x < xe; x++)                                  \
                        dst[x * step] = (S)line_finish((double)src[2 * lanes * x], f);    \
                    continue;                                                             \
                }                                                                         \
                for (Py_ssize_t x = xb; x < xe; x++) {                                    \
                    double v = (double)src[2 * lanes * x] + offset;                       \
                    v = v == v ? v : 0.0;                                                 \
                    v = v < lo ? lo : v;                                                  \
                    v = v > hi ? hi : v;                                                  \
                    dst[x * step] = (S)llrint(v);                                         \
                }                                                                         \
            }                                                                             \
        }                                                                                 \
    }
PPB_LINE_TYPES(PPB_FINISH_ROWS, float, f)
PPB_LINE_TYPES(PPB_FINISH_ROWS, double, d)
