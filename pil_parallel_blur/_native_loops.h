/* The loops of the native engine, instantiated by _native.c once per
 * (compute type T, SIMD level).  Included with these macros defined:
 *
 *   T      float or double          (the compute type)
 *   TS     f or d                   (its suffix in function names)
 *   RINT   rintf or rint            (round half to even, current mode)
 *   FLOOR  floorf or floor
 *   LEVEL  baseline, avx2, avx512   (suffix of the SIMD level)
 *   VB     vector bytes: 16, 32, 64
 *
 * Determinism: every output sample is computed by the same sequence of IEEE
 * operations in every lane of every vector width and in the scalar tails:
 *
 *   horizontal  h = g[r]·s[x];  h = h + g[r+k]·(s[x-kC] + s[x+kC])   k = 1..r
 *               (or h = g[0]·s[x-rC]; h = h + g[j]·s[x+(j-r)C] for asymmetric taps)
 *   vertical    v = g[0]·h[y-r]; v = v + g[j]·h[y-r+j]   j = 1..2r
 *   terms       total = V_0; total = total + V_t
 *
 * and the file is compiled with -ffp-contract=off, so no level fuses a
 * multiply and an add that another does not.
 */

#define CAT_(a, b, c) a##_##b##_##c
#define CAT(a, b, c) CAT_(a, b, c)
#define FN(name) CAT(name, TS, LEVEL)

typedef T FN(vec) __attribute__((vector_size(VB), aligned(sizeof(T)), may_alias));
#define VEC FN(vec)
#define VLEN ((Py_ssize_t)(VB / sizeof(T)))
#define VLOAD(p) (*(const VEC *)(p))
#define VSTORE(p, v) (*(VEC *)(p) = (v))

/* One row: dst[x] = Σ_j g[j]·src[x + (j - r)·C] for x in [0, n).
 * src must be readable from src[-r·C] to src[n - 1 + r·C]. */
static void FN(hpass)(const T *restrict src, T *restrict dst, Py_ssize_t n, Py_ssize_t C,
                      const T *restrict g, int r, int sym)
{
    Py_ssize_t x = 0;
    for (; x + 4 * VLEN <= n; x += 4 * VLEN) {
        const T *s = src + x;
        VEC a0, a1, a2, a3;
        if (sym) {
            const T g0 = g[r];
            a0 = g0 * VLOAD(s);
            a1 = g0 * VLOAD(s + VLEN);
            a2 = g0 * VLOAD(s + 2 * VLEN);
            a3 = g0 * VLOAD(s + 3 * VLEN);
            for (int k = 1; k <= r; k++) {
                const T gk = g[r + k];
                const T *lo = s - k * C, *hi = s + k * C;
                a0 = a0 + gk * (VLOAD(lo) + VLOAD(hi));
                a1 = a1 + gk * (VLOAD(lo + VLEN) + VLOAD(hi + VLEN));
                a2 = a2 + gk * (VLOAD(lo + 2 * VLEN) + VLOAD(hi + 2 * VLEN));
                a3 = a3 + gk * (VLOAD(lo + 3 * VLEN) + VLOAD(hi + 3 * VLEN));
            }
        } else {
            const T *p = s - (Py_ssize_t)r * C;
            a0 = g[0] * VLOAD(p);
            a1 = g[0] * VLOAD(p + VLEN);
            a2 = g[0] * VLOAD(p + 2 * VLEN);
            a3 = g[0] * VLOAD(p + 3 * VLEN);
            for (int j = 1; j <= 2 * r; j++) {
                const T gj = g[j];
                const T *q = p + j * C;
                a0 = a0 + gj * VLOAD(q);
                a1 = a1 + gj * VLOAD(q + VLEN);
                a2 = a2 + gj * VLOAD(q + 2 * VLEN);
                a3 = a3 + gj * VLOAD(q + 3 * VLEN);
            }
        }
        VSTORE(dst + x, a0);
        VSTORE(dst + x + VLEN, a1);
        VSTORE(dst + x + 2 * VLEN, a2);
        VSTORE(dst + x + 3 * VLEN, a3);
    }
    for (; x < n; x++) {
        const T *s = src + x;
        T a;
        if (sym) {
            a = g[r] * s[0];
            for (int k = 1; k <= r; k++)
                a = a + g[r + k] * (s[-k * C] + s[k * C]);
        } else {
            const T *p = s - (Py_ssize_t)r * C;
            a = g[0] * p[0];
            for (int j = 1; j <= 2 * r; j++)
                a = a + g[j] * p[j * C];
        }
        dst[x] = a;
    }
}

/* Vertical pass for output rows i .. i+M-1 of a chunk, M = 4 (or 1):
 * dst[m][x] (+)= Σ_j g[j]·src[i + m + j][x], j = 0..2r, in increasing j.
 * Each source row is loaded once for the M rows (the taps are not folded:
 * that costs no more additions, and it is loads that bound this pass). */
#define VACC(m, v, j, p) a##m##v = a##m##v + g[j] * VLOAD((p) + v * VLEN)
static void FN(vpass4)(const T *const *src, T *const *dst, Py_ssize_t n, const T *restrict g, int r,
                       int add)
{
    const int last = 2 * r;
    Py_ssize_t x = 0;
    for (; x + 2 * VLEN <= n; x += 2 * VLEN) {
        VEC a00 = g[0] * VLOAD(src[0] + x), a01 = g[0] * VLOAD(src[0] + x + VLEN);
        VEC a10 = g[0] * VLOAD(src[1] + x), a11 = g[0] * VLOAD(src[1] + x + VLEN);
        VEC a20 = g[0] * VLOAD(src[2] + x), a21 = g[0] * VLOAD(src[2] + x + VLEN);
        VEC a30 = g[0] * VLOAD(src[3] + x), a31 = g[0] * VLOAD(src[3] + x + VLEN);
        /* source row q feeds output m with tap j = q - m: a ramp where the
         * later outputs have not started, a steady part, a ramp where the
         * earlier ones are done */
        int q = 1;
        for (; q <= 3 && q <= last; q++) {
            const T *p = src[q] + x;
            VACC(0, 0, q, p); VACC(0, 1, q, p);
            if (q >= 2) { VACC(1, 0, q - 1, p); VACC(1, 1, q - 1, p); }
            if (q >= 3) { VACC(2, 0, q - 2, p); VACC(2, 1, q - 2, p); }
        }
        for (; q <= last; q++) {
            const T *p = src[q] + x;
            VACC(0, 0, q, p); VACC(0, 1, q, p);
            VACC(1, 0, q - 1, p); VACC(1, 1, q - 1, p);
            VACC(2, 0, q - 2, p); VACC(2, 1, q - 2, p);
            VACC(3, 0, q - 3, p); VACC(3, 1, q - 3, p);
        }
        for (; q <= last + 3; q++) {
            const T *p = src[q] + x;
            if (q - 1 >= 1 && q - 1 <= last) { VACC(1, 0, q - 1, p); VACC(1, 1, q - 1, p); }
            if (q - 2 >= 1 && q - 2 <= last) { VACC(2, 0, q - 2, p); VACC(2, 1, q - 2, p); }
            if (q - 3 >= 1 && q - 3 <= last) { VACC(3, 0, q - 3, p); VACC(3, 1, q - 3, p); }
        }
        if (add) {
            a00 = VLOAD(dst[0] + x) + a00; a01 = VLOAD(dst[0] + x + VLEN) + a01;
            a10 = VLOAD(dst[1] + x) + a10; a11 = VLOAD(dst[1] + x + VLEN) + a11;
            a20 = VLOAD(dst[2] + x) + a20; a21 = VLOAD(dst[2] + x + VLEN) + a21;
            a30 = VLOAD(dst[3] + x) + a30; a31 = VLOAD(dst[3] + x + VLEN) + a31;
        }
        VSTORE(dst[0] + x, a00); VSTORE(dst[0] + x + VLEN, a01);
        VSTORE(dst[1] + x, a10); VSTORE(dst[1] + x + VLEN, a11);
        VSTORE(dst[2] + x, a20); VSTORE(dst[2] + x + VLEN, a21);
        VSTORE(dst[3] + x, a30); VSTORE(dst[3] + x + VLEN, a31);
    }
    for (; x < n; x++)
        for (int m = 0; m < 4; m++) {
            T a = g[0] * src[m][x];
            for (int j = 1; j <= last; j++) a = a + g[j] * src[m + j][x];
            dst[m][x] = add ? dst[m][x] + a : a;
        }
}
#undef VACC

static void FN(vpass1)(const T *const *src, T *restrict dst, Py_ssize_t n, const T *restrict g, int r,
                       int add)
{
    const int last = 2 * r;
    Py_ssize_t x = 0;
    for (; x + 4 * VLEN <= n; x += 4 * VLEN) {
        VEC a0 = g[0] * VLOAD(src[0] + x), a1 = g[0] * VLOAD(src[0] + x + VLEN);
        VEC a2 = g[0] * VLOAD(src[0] + x + 2 * VLEN), a3 = g[0] * VLOAD(src[0] + x + 3 * VLEN);
        for (int j = 1; j <= last; j++) {
            const T *p = src[j] + x;
            a0 = a0 + g[j] * VLOAD(p);
            a1 = a1 + g[j] * VLOAD(p + VLEN);
            a2 = a2 + g[j] * VLOAD(p + 2 * VLEN);
            a3 = a3 + g[j] * VLOAD(p + 3 * VLEN);
        }
        if (add) {
            a0 = VLOAD(dst + x) + a0;
            a1 = VLOAD(dst + x + VLEN) + a1;
            a2 = VLOAD(dst + x + 2 * VLEN) + a2;
            a3 = VLOAD(dst + x + 3 * VLEN) + a3;
        }
        VSTORE(dst + x, a0);
        VSTORE(dst + x + VLEN, a1);
        VSTORE(dst + x + 2 * VLEN, a2);
        VSTORE(dst + x + 3 * VLEN, a3);
    }
    for (; x < n; x++) {
        T a = g[0] * src[0][x];
        for (int j = 1; j <= last; j++) a = a + g[j] * src[j][x];
        dst[x] = add ? dst[x] + a : a;
    }
}

/* Convert the first C samples of n pixels of the input type, P samples
 * apart, to T (n·C of them, side by side). */
static void FN(load_row)(int type, const void *restrict src, T *restrict dst, Py_ssize_t n,
                         Py_ssize_t C, Py_ssize_t P)
{
#define LOAD_AS(ctype)                                                 \
    {                                                                  \
        const ctype *s = (const ctype *)src;                           \
        if (P == C)                                                    \
            for (Py_ssize_t i = 0; i < n * C; i++) dst[i] = (T)s[i];   \
        else                                                           \
            for (Py_ssize_t i = 0; i < n; i++)                         \
                for (Py_ssize_t c = 0; c < C; c++)                     \
                    dst[i * C + c] = (T)s[i * P + c];                  \
    }                                                                  \
    break;
    switch (type) {
    case PPB_U8: LOAD_AS(uint8_t)
    case PPB_I8: LOAD_AS(int8_t)
    case PPB_U16: LOAD_AS(uint16_t)
    case PPB_I16: LOAD_AS(int16_t)
    case PPB_U32: LOAD_AS(uint32_t)
    case PPB_I32: LOAD_AS(int32_t)
    case PPB_U64: LOAD_AS(uint64_t)
    case PPB_I64: LOAD_AS(int64_t)
    case PPB_F32: LOAD_AS(float)
    case PPB_F64: LOAD_AS(double)
    }
#undef LOAD_AS
}

/* Offset, round, clip and store n results in the output type. */
static void FN(store_row)(int type, const T *restrict acc, void *restrict dst, Py_ssize_t n,
                          const struct ppb_finish *f)
{
    const T offset = (T)f->offset, grid = (T)f->grid, half = (T)0.5;
    const T lo = (T)f->lo, hi = (T)f->hi;
    const int has_offset = f->offset != 0, has_grid = f->grid != 0;
#define STORE_INT(ctype)                                                  \
    {                                                                     \
        ctype *d = (ctype *)dst;                                          \
        if (f->rounding == PPB_HALF_UP) {                                 \
            for (Py_ssize_t i = 0; i < n; i++) {                                \
                T v = has_offset ? acc[i] + offset : acc[i];              \
                if (has_grid) v = RINT(v * grid) / grid;                  \
                v = FLOOR(v + half);                                      \
                v = v == v ? v : (T)0; /* NaN (inf - inf): 0 */           \
                v = v < lo ? lo : v;                                      \
                v = v > hi ? hi : v;                                      \
                d[i] = (ctype)v;                                          \
            }                                                             \
        } else {                                                          \
            for (Py_ssize_t i = 0; i < n; i++) {                                \
                T v = has_offset ? acc[i] + offset : acc[i];              \
                if (has_grid) v = RINT(v * grid) / grid;                  \
                v = RINT(v);                                              \
                v = v == v ? v : (T)0; /* NaN (inf - inf): 0 */           \
                v = v < lo ? lo : v;                                      \
                v = v > hi ? hi : v;                                      \
                d[i] = (ctype)v;                                          \
            }                                                             \
        }                                                                 \
    }                                                                     \
    break;
/* 64-bit integers: float64 cannot hold their largest values, so results at or
 * beyond 2^63 (2^64) saturate to the type's maximum instead of clipping below it */
#define STORE_INT64(ctype, tmin, tmax, top)                              \
    {                                                                     \
        ctype *d = (ctype *)dst;                                          \
        for (Py_ssize_t i = 0; i < n; i++) {                                    \
            T v = has_offset ? acc[i] + offset : acc[i];                  \
            if (has_grid) v = RINT(v * grid) / grid;                      \
            v = f->rounding == PPB_HALF_UP ? FLOOR(v + half) : RINT(v);   \
            v = v == v ? v : (T)0; /* NaN (inf - inf): 0 */               \
            d[i] = v >= (T)(top) ? (tmax) : (v < lo ? (tmin) : (ctype)v); \
        }                                                                 \
    }                                                                     \
    break;
#define STORE_FLOAT(ctype)                                                \
    {                                                                     \
        ctype *d = (ctype *)dst;                                          \
        for (Py_ssize_t i = 0; i < n; i++)                                      \
            d[i] = (ctype)(has_offset ? acc[i] + offset : acc[i]);        \
    }                                                                     \
    break;
    switch (type) {
    case PPB_U8: STORE_INT(uint8_t)
    case PPB_I8: STORE_INT(int8_t)
    case PPB_U16: STORE_INT(uint16_t)
    case PPB_I16: STORE_INT(int16_t)
    case PPB_U32: STORE_INT(uint32_t)
    case PPB_I32: STORE_INT(int32_t)
    case PPB_U64: STORE_INT64(uint64_t, 0, UINT64_MAX, 0x1p64)
    case PPB_I64: STORE_INT64(int64_t, INT64_MIN, INT64_MAX, 0x1p63)
    case PPB_F32: STORE_FLOAT(float)
    case PPB_F64: STORE_FLOAT(double)
    }
#undef STORE_INT
#undef STORE_INT64
#undef STORE_FLOAT
}

static inline Py_ssize_t FN(clamp)(Py_ssize_t v, Py_ssize_t hi) { return v < 0 ? 0 : (v > hi ? hi : v); }

/* Correlate output rows [start, stop), columns [col0, col1) (see struct ppb_job).  Returns 0, or -1
 * when memory runs out.  Runs without the GIL: touches no Python object. */
static int FN(tile)(const struct ppb_job *job)
{
    const Py_ssize_t H = job->height, C = job->channels;
    /* samples a row of src and of out holds: pixels of P_in and P_out samples */
    const Py_ssize_t P_in = job->src_pixel, P_out = job->out_pixel;
    const Py_ssize_t src_stride = job->width * P_in, out_stride = job->width * P_out;
    /* the window of output columns [col0, col1): WC samples of each row */
    const Py_ssize_t col0 = job->col0, WC = (job->col1 - job->col0) * C;
    const int ry = job->ry, rx = job->rx, nt = job->n_terms;
    const Py_ssize_t isz = job->itemsize;
    /* output rows per chunk: each chunk reuses the horizontal rows it shares
     * with the previous one through a ring of NS rows */
    const Py_ssize_t R = ry < RING_MIN_ROWS       ? RING_MIN_ROWS
                         : ry < RING_MAX_ROWS / 2 ? 2 * (Py_ssize_t)ry
                                                  : RING_MAX_ROWS;
    Py_ssize_t NS = R + 2L * ry;
    if (NS > H) NS = H;
    /* columns per block: the block's NS ring rows stay in the L2 cache.  The ring
     * is stored block by block (ring[term][block][slot][TW]), so that the rows the
     * vertical pass walks through are contiguous. */
    Py_ssize_t TW = RING_BLOCK_BYTES / (NS * (Py_ssize_t)sizeof(T));
    /* a multiple of 256 bytes: blocks 128 bytes more than that (288 or 224
     * floats, at r 52-56 and 66-72) made the AVX-512 vertical pass 1.8-2.2x
     * slower on the Zen 4 EPYC, AVX2 not (docs/benchmarks.md) */
    const Py_ssize_t tw_step = RING_BLOCK_STEP_BYTES / (Py_ssize_t)sizeof(T);
    TW = TW < RING_MIN_BLOCK ? RING_MIN_BLOCK : TW - TW % tw_step;
    /* whole pixels a block where they are written into wider ones */
    if (P_out != C && TW > C * tw_step) TW -= TW % (C * tw_step);
    if (TW > WC) TW = WC;
    const Py_ssize_t n_blocks = (WC + TW - 1) / TW;
    const size_t block_size = (size_t)NS * (size_t)TW, term_size = (size_t)n_blocks * block_size;
    const Py_ssize_t margin = (Py_ssize_t)rx * C;

    T *taps = malloc(sizeof(T) * (size_t)nt * (2 * (size_t)ry + 1 + 2 * (size_t)rx + 1));
    T *ring = malloc(sizeof(T) * (size_t)nt * term_size);
    T *row = malloc(sizeof(T) * (size_t)(WC + 2 * margin));
    T *acc = malloc(sizeof(T) * 4 * (size_t)TW);
    T *accs[4] = {acc, acc + TW, acc + 2 * TW, acc + 3 * TW};
    const T **ptrs = malloc(sizeof(T *) * (2 * (size_t)ry + 4));
    size_t *slot = malloc(sizeof(size_t) * ((size_t)R + 2 * (size_t)ry));
    /* results of a block in the output type, before they are spread into
     * pixels of more than C samples; 8-bit rows of Pillow's 4-byte pixels of
     * 3 channels (three_in / three_out) narrowed before they are converted,
     * and filled back two pixels a word */
    char *packed = P_out != C ? malloc((size_t)(TW * isz)) : NULL;
    const int three_in = job->type == PPB_U8 && C == 3 && P_in == 4;
    const int three_out = job->type == PPB_U8 && C == 3 && P_out == 4;
    uint8_t *narrowed = three_in ? malloc((size_t)(WC + 2 * margin)) : NULL;
    int status = 0;
    if (!taps || !ring || !row || !acc || !ptrs || !slot || (P_out != C && !packed) ||
        (three_in && !narrowed)) {
        status = -1;
        goto done;
    }
    T *gy = taps, *gx = taps + (size_t)nt * (size_t)(2 * ry + 1);
    for (int t = 0; t < nt; t++) {
        for (int j = 0; j <= 2 * ry; j++) gy[t * (2 * ry + 1) + j] = (T)job->gy[t][j];
        for (int j = 0; j <= 2 * rx; j++) gx[t * (2 * rx + 1) + j] = (T)job->gx[t][j];
    }
    const char *src = (const char *)job->src;
    char *out = (char *)job->out;
    Py_ssize_t have = -1; /* source rows up to `have` (and from the chunk's first) are in the ring */
    for (Py_ssize_t y0 = job->start; y0 < job->stop; y0 += R) {
        const Py_ssize_t y1 = y0 + R < job->stop ? y0 + R : job->stop;
        const Py_ssize_t lo = FN(clamp)(y0 - ry, H - 1), hi = FN(clamp)(y1 - 1 + ry, H - 1);
        for (Py_ssize_t s = have >= lo ? have + 1 : lo; s <= hi; s++) {
            /* row[k] holds pixel column col0 - rx + k/C: load the columns inside
             * the image, then replicate the image's edge pixel where the window's
             * margin reaches past it */
            const Py_ssize_t a = col0 - rx > 0 ? col0 - rx : 0;
            const Py_ssize_t b = job->col1 + rx < job->width ? job->col1 + rx : job->width;
            T *first = row + (a - (col0 - rx)) * C, *end = first + (b - a) * C;
            const char *pixels = src + ((s - job->src_row0) * src_stride + a * P_in) * isz;
            if (three_in) {
                narrow_three((const uint8_t *)pixels, narrowed, b - a);
                FN(load_row)(PPB_U8, narrowed, first, b - a, C, C);
            } else {
                FN(load_row)(job->type, pixels, first, b - a, C, P_in);
            }
            for (T *p = row; p < first; p += C) memcpy(p, first, sizeof(T) * (size_t)C);
            for (T *p = end; p < row + WC + 2 * margin; p += C)
                memcpy(p, end - C, sizeof(T) * (size_t)C);
            for (int t = 0; t < nt; t++)
                for (Py_ssize_t i = 0; i < n_blocks; i++) {
                    const Py_ssize_t x0 = i * TW, n = x0 + TW <= WC ? TW : WC - x0;
                    T *dst = ring + (size_t)t * term_size + (size_t)i * block_size +
                             (size_t)(s % NS) * (size_t)TW;
                    FN(hpass)(row + margin + x0, dst, n, C, gx + t * (2 * rx + 1), rx,
                              job->sym_x[t]);
                }
        }
        have = hi;
        /* ring offset of the horizontal row that tap k of output row y reads */
        for (Py_ssize_t j = 0; j < y1 - y0 + 2L * ry; j++)
            slot[j] = (size_t)(FN(clamp)(y0 - ry + j, H - 1) % NS) * (size_t)TW;
        for (Py_ssize_t i = 0; i < n_blocks; i++) {
            const Py_ssize_t x0 = i * TW, n = x0 + TW <= WC ? TW : WC - x0;
            for (Py_ssize_t y = y0; y < y1;) {
                const int m = y + 4 <= y1 ? 4 : 1;
                for (int t = 0; t < nt; t++) {
                    const T *base = ring + (size_t)t * term_size + (size_t)i * block_size;
                    const size_t *at = slot + (y - y0);
                    for (int k = 0; k < 2 * ry + m; k++) ptrs[k] = base + at[k];
                    if (m == 4)
                        FN(vpass4)(ptrs, accs, n, gy + t * (2 * ry + 1), ry, t > 0);
                    else
                        FN(vpass1)(ptrs, acc, n, gy + t * (2 * ry + 1), ry, t > 0);
                }
                for (int k = 0; k < m; k++) {
                    char *line = out + (y + k - job->out_row0) * out_stride * isz;
                    if (P_out == C) {
                        FN(store_row)(job->type, accs[k], line + (col0 * C + x0) * isz, n,
                                      &job->finish);
                        continue;
                    }
                    FN(store_row)(job->type, accs[k], packed, n, &job->finish);
                    if (three_out && x0 % 3 == 0 && n % 3 == 0)
                        fill_three((const uint8_t *)packed,
                                   (uint8_t *)line + (col0 + x0 / 3) * 4, n / 3);
                    else
                        ppb_spread_samples(packed, line + col0 * P_out * isz, x0, n, C, P_out,
                                           isz);
                }
                y += m;
            }
        }
    }
done:
    free(taps);
    free(ring);
    free(row);
    free(acc);
    free(ptrs);
    free(slot);
    free(packed);
    free(narrowed);
    return status;
}

#undef CAT_
#undef CAT
#undef FN
#undef VEC
#undef VLEN
#undef VLOAD
#undef VSTORE
