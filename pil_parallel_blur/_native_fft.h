/* The spectral passes of large kernels (engine/spectral.py): a transform of
 * many lines at once, instantiated by _native_level.h once per (compute type
 * T, SIMD level), like _native_loops.h, with T, TS and LEVEL defined.
 *
 * A group is FFT_LANES line pairs: two real lines travel as the real and the
 * imaginary part of one complex line (the kernel's response is real, so the
 * product keeps them apart), and each position k of the group is
 * PPB_FFT_BYTES of real parts, then as many of imaginary parts, one lane per
 * pair.  Every butterfly is then plain vector arithmetic on the level's
 * vectors (VB bytes, PPB_FFT_BYTES / VB of them side by side), the same
 * operations in every lane at every vector width.
 *
 * The transform of length n = p_0·p_1·…  (radices 2, 3, 4, 5) is done in
 * place:
 *
 *   forward  (decimation in frequency), for each stage s, span M, m = M/p:
 *            y_k = DFT_p(x_q = a[b + j + q·m]),  a[b + j + k·m] = y_k·w_M^{jk}
 *            leaving the spectrum in digit-reversed order;
 *   product  a[k] = a[k]·H[k], H the response stored in that order (÷ n);
 *   inverse  the stages undone in reverse order: x_k = a[b + j + k·m]·conj(w),
 *            a[b + j + q·m] = DFT_p(x)_{(p-q) mod p}.
 *
 * No bit reversal, no real-transform unpacking.  engine/spectral.py holds the
 * NumPy twin: the same operations, in the same order, vectorised over the
 * pairs instead of the lanes (the file is compiled with -ffp-contract=off, so
 * no level fuses what NumPy does not).  Twiddles and responses come from
 * Python in the compute type; nothing here computes a sine.
 */

#define FCAT_(a, b, c) a##_##b##_##c
#define FCAT(a, b, c) FCAT_(a, b, c)
#define FFN(name) FCAT(name, TS, LEVEL)

typedef T FFN(lanes) __attribute__((vector_size(VB), may_alias));
#define W FFN(lanes)
#define FFT_LANES PPB_GROUP_LANES(T)
#define FFT_STEP ((Py_ssize_t)(VB / sizeof(T)))     /* lanes in one vector */
#define FFT_POSITION (2 * FFT_LANES)                  /* T's in one position */
#define FFT_LD(p) (*(const W *)(p))
#define FFT_ST(p, v) (*(W *)(p) = (v))

/* One vector of lanes of one complex sample. */
typedef struct {
    W re, im;
} FFN(cplx);
#define Z FFN(cplx)

/* The butterflies' constants, as NumPy rounds them to T (engine/spectral.py). */
#define FFT_HALF ((T)0.5)
#define FFT_SIN60 ((T)0.8660254037844386)
#define FFT_COS72 ((T)0.30901699437494745)
#define FFT_COS144 ((T)-0.8090169943749475)
#define FFT_SIN72 ((T)0.9510565162951535)
#define FFT_SIN144 ((T)0.5877852522924731)

static PPB_INLINE void FFN(dft2)(const Z *x, Z *y)
{
    y[0].re = x[0].re + x[1].re;
    y[0].im = x[0].im + x[1].im;
    y[1].re = x[0].re - x[1].re;
    y[1].im = x[0].im - x[1].im;
}

static PPB_INLINE void FFN(dft3)(const Z *x, Z *y)
{
    const W t1r = x[1].re + x[2].re, t1i = x[1].im + x[2].im;
    const W t2r = x[0].re - FFT_HALF * t1r, t2i = x[0].im - FFT_HALF * t1i;
    const W t3r = FFT_SIN60 * (x[1].re - x[2].re), t3i = FFT_SIN60 * (x[1].im - x[2].im);
    y[0].re = x[0].re + t1r;
    y[0].im = x[0].im + t1i;
    y[1].re = t2r + t3i;
    y[1].im = t2i - t3r;
    y[2].re = t2r - t3i;
    y[2].im = t2i + t3r;
}

static PPB_INLINE void FFN(dft4)(const Z *x, Z *y)
{
    const W t0r = x[0].re + x[2].re, t0i = x[0].im + x[2].im;
    const W t1r = x[0].re - x[2].re, t1i = x[0].im - x[2].im;
    const W t2r = x[1].re + x[3].re, t2i = x[1].im + x[3].im;
    const W t3r = x[1].re - x[3].re, t3i = x[1].im - x[3].im;
    y[0].re = t0r + t2r;
    y[0].im = t0i + t2i;
    y[2].re = t0r - t2r;
    y[2].im = t0i - t2i;
    y[1].re = t1r + t3i;
    y[1].im = t1i - t3r;
    y[3].re = t1r - t3i;
    y[3].im = t1i + t3r;
}

static PPB_INLINE void FFN(dft5)(const Z *x, Z *y)
{
    const W t1r = x[1].re + x[4].re, t1i = x[1].im + x[4].im;
    const W t2r = x[2].re + x[3].re, t2i = x[2].im + x[3].im;
    const W t3r = x[1].re - x[4].re, t3i = x[1].im - x[4].im;
    const W t4r = x[2].re - x[3].re, t4i = x[2].im - x[3].im;
    const W a1r = (x[0].re + FFT_COS72 * t1r) + FFT_COS144 * t2r;
    const W a1i = (x[0].im + FFT_COS72 * t1i) + FFT_COS144 * t2i;
    const W a2r = (x[0].re + FFT_COS144 * t1r) + FFT_COS72 * t2r;
    const W a2i = (x[0].im + FFT_COS144 * t1i) + FFT_COS72 * t2i;
    const W b1r = FFT_SIN72 * t3r + FFT_SIN144 * t4r, b1i = FFT_SIN72 * t3i + FFT_SIN144 * t4i;
    const W b2r = FFT_SIN144 * t3r - FFT_SIN72 * t4r, b2i = FFT_SIN144 * t3i - FFT_SIN72 * t4i;
    y[0].re = (x[0].re + t1r) + t2r;
    y[0].im = (x[0].im + t1i) + t2i;
    y[1].re = a1r + b1i;
    y[1].im = a1i - b1r;
    y[4].re = a1r - b1i;
    y[4].im = a1i + b1r;
    y[2].re = a2r + b2i;
    y[2].im = a2i - b2r;
    y[3].re = a2r - b2i;
    y[3].im = a2i + b2r;
}

static PPB_INLINE void FFN(dft)(int p, const Z *x, Z *y)
{
    switch (p) {
    case 2: FFN(dft2)(x, y); break;
    case 3: FFN(dft3)(x, y); break;
    case 4: FFN(dft4)(x, y); break;
    default: FFN(dft5)(x, y); break;
    }
}

/* One stage over the n positions of a group: radix p, m = span / p, twiddles
 * wr/wi[(k-1)·m + j] (not applied when m is 1: they would all be 1). */
static PPB_INLINE void FFN(stage)(T *a, Py_ssize_t n, int p, Py_ssize_t m, const T *wr,
                                  const T *wi, int inverse)
{
    const Py_ssize_t apart = m * FFT_POSITION; /* T's between a butterfly's inputs */
    Z x[5], y[5];
    for (Py_ssize_t b = 0; b < n; b += p * m)
        for (Py_ssize_t j = 0; j < m; j++)
            for (Py_ssize_t v = 0; v < FFT_LANES; v += FFT_STEP) {
                T *base = a + (b + j) * FFT_POSITION + v;
                for (int q = 0; q < p; q++) {
                    x[q].re = FFT_LD(base + q * apart);
                    x[q].im = FFT_LD(base + q * apart + FFT_LANES);
                }
                if (inverse && m > 1)
                    for (int k = 1; k < p; k++) {
                        const T cr = wr[(k - 1) * m + j], ci = wi[(k - 1) * m + j];
                        const W xr = x[k].re, xi = x[k].im;
                        x[k].re = xr * cr + xi * ci;
                        x[k].im = xi * cr - xr * ci;
                    }
                FFN(dft)(p, x, y);
                for (int q = 0; q < p; q++) {
                    /* the inverse stores DFT output (p - q) mod p at q */
                    Z out = inverse ? y[q ? p - q : 0] : y[q];
                    if (!inverse && q && m > 1) {
                        const T cr = wr[(q - 1) * m + j], ci = wi[(q - 1) * m + j];
                        out.re = y[q].re * cr - y[q].im * ci;
                        out.im = y[q].re * ci + y[q].im * cr;
                    }
                    FFT_ST(base + q * apart, out.re);
                    FFT_ST(base + q * apart + FFT_LANES, out.im);
                }
            }
}

/* The stage with its radix known to the compiler (the loops over q unrolled). */
static void FFN(stage_any)(T *a, Py_ssize_t n, int p, Py_ssize_t m, const T *wr, const T *wi,
                           int inverse)
{
    switch (p) {
    case 2: FFN(stage)(a, n, 2, m, wr, wi, inverse); break;
    case 3: FFN(stage)(a, n, 3, m, wr, wi, inverse); break;
    case 4: FFN(stage)(a, n, 4, m, wr, wi, inverse); break;
    default: FFN(stage)(a, n, 5, m, wr, wi, inverse); break;
    }
}

/* Correlate the group's lines circularly with the kernel of `axis`, in place. */
static void FFN(convolve)(void *group, const struct ppb_fft_axis *axis)
{
    T *a = group;
    const Py_ssize_t n = axis->length;
    const T *table = axis->table;
    const T *response = table;
    Py_ssize_t span = n, at = n;
    for (int s = 0; s < axis->stages; s++) {
        const int p = axis->radix[s];
        const Py_ssize_t m = span / p;
        FFN(stage_any)(a, n, p, m, table + at, table + at + (p - 1) * m, 0);
        at += 2 * (p - 1) * m;
        span = m;
    }
    for (Py_ssize_t k = 0; k < n; k++)
        for (Py_ssize_t v = 0; v < FFT_LANES; v += FFT_STEP) {
            T *re = a + k * FFT_POSITION + v;
            FFT_ST(re, FFT_LD(re) * response[k]);
            FFT_ST(re + FFT_LANES, FFT_LD(re + FFT_LANES) * response[k]);
        }
    for (int s = axis->stages - 1; s >= 0; s--) {
        const int p = axis->radix[s];
        span *= p;
        const Py_ssize_t m = span / p;
        at -= 2 * (p - 1) * m;
        FFN(stage_any)(a, n, p, m, table + at, table + at + (p - 1) * m, 1);
    }
}

#undef FCAT_
#undef FCAT
#undef FFN
#undef W
#undef Z
#undef FFT_LANES
#undef FFT_STEP
#undef FFT_POSITION
#undef FFT_LD
#undef FFT_ST
#undef FFT_HALF
#undef FFT_SIN60
#undef FFT_COS72
#undef FFT_COS144
#undef FFT_SIN72
#undef FFT_SIN144
