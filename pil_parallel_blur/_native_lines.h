/* Moving samples between images and the float64 lines the spectral passes
 * transform (engine/spectral.py).  Included once by _native.c.
 *
 * Only copies, conversions and the final offset / rounding / clipping: the
 * transforms themselves are NumPy's.  NumPy does these transposed copies
 * with a strided loop per element (3-4 ns a sample); here they go through
 * blocks of PPB_LINE_BLOCK rows that stay in cache (under 1 ns).  Every value
 * is the same as NumPy's: conversions are exact or rounded to nearest, and
 * the finish performs NumPy's operations in NumPy's order.
 */

#define PPB_LINE_BLOCK 64

/* The sample types the spectral passes read and write (no 64-bit integers). */
#define PPB_LINE_TYPES(X) \
    X(PPB_U8, uint8_t)    \
    X(PPB_I8, int8_t)     \
    X(PPB_U16, uint16_t)  \
    X(PPB_I16, int16_t)   \
    X(PPB_U32, uint32_t)  \
    X(PPB_I32, int32_t)   \
    X(PPB_F32, float)     \
    X(PPB_F64, double)

/* Lines are `stride` doubles apart (a transform length n ≤ stride, padded so
 * that lines do not all map to the same cache sets).
 *
 * lines[j·stride + r + y] = src[y][first + j] for y < h, j < count (line j is
 * the image's column x0 + j / C, channel j % C, where first = x0·C); then each
 * line's first sample is repeated over [0, r) and its last over [r + h, n). */
#define PPB_GATHER(code, T)                                                        \
    static void gather_##code(const T *src, long h, long src_row, long first,      \
                              long count, double *lines, long n, long r)           \
    {                                                                              \
        for (long yb = 0; yb < h; yb += PPB_LINE_BLOCK) {                          \
            long ye = yb + PPB_LINE_BLOCK < h ? yb + PPB_LINE_BLOCK : h;           \
            for (long y = yb; y < ye; y++) {                                       \
                const T *row = src + y * src_row + first;                          \
                double *col = lines + r + y;                                       \
                for (long j = 0; j < count; j++) col[j * n] = (double)row[j];      \
            }                                                                      \
        }                                                                          \
    }
PPB_LINE_TYPES(PPB_GATHER)

static void pad_lines(double *lines, long count, long stride, long n, long r, long h)
{
    for (long j = 0; j < count; j++) {
        double *line = lines + j * stride;
        const double head = line[r], tail = line[r + h - 1];
        for (long i = 0; i < r; i++) line[i] = head;
        for (long i = r + h; i < n; i++) line[i] = tail;
    }
}

/* mid[y][c][x0 + x] = lines[(x·C + c)·n + r + y], n the stride: the columns pass's results
 * into the (H, C, W) intermediate. */
#define PPB_SCATTER(code, T)                                                       \
    static void scatter_##code(const double *lines, long n, long r, long h,        \
                               long channels, long k, T *mid, long mid_w, long x0) \
    {                                                                              \
        for (long yb = 0; yb < h; yb += PPB_LINE_BLOCK) {                          \
            long ye = yb + PPB_LINE_BLOCK < h ? yb + PPB_LINE_BLOCK : h;           \
            for (long y = yb; y < ye; y++)                                         \
                for (long c = 0; c < channels; c++) {                              \
                    T *dst = mid + (y * channels + c) * mid_w + x0;                \
                    const double *s = lines + c * n + r + y;                       \
                    const long step = channels * n;                                \
                    for (long x = 0; x < k; x++) dst[x] = (T)s[x * step];          \
                }                                                                  \
        }                                                                          \
    }
PPB_SCATTER(PPB_F32, float)
PPB_SCATTER(PPB_F64, double)

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

/* out[y][x][c] = finish(lines[(y·C + c)·n + r + x]) for y < rows, x < w (n the stride). */
#define PPB_FINISH(code, T)                                                        \
    static void finish_##code(const double *lines, long n, long r, long rows,      \
                              long w, long channels, T *out,                       \
                              const struct ppb_line_finish *f)                     \
    {                                                                              \
        for (long y = 0; y < rows; y++)                                            \
            for (long c = 0; c < channels; c++) {                                  \
                const double *s = lines + (y * channels + c) * n + r;              \
                T *dst = out + y * w * channels + c;                               \
                for (long x = 0; x < w; x++)                                       \
                    dst[x * channels] = (T)line_finish(s[x], f);                   \
            }                                                                      \
    }
PPB_LINE_TYPES(PPB_FINISH)
