/* What bounds the direct passes' horizontal step, and what other layouts of
 * a row would cost: a stand-alone micro-benchmark (not part of the package).
 *
 * One row of 6000 RGB pixels (18000 float32 samples), radius 24 (σ 8),
 * symmetric taps folded as the engine folds them:
 *
 *   natural    the engine's loop: h = g0·s[x] + Σ gk·(s[x-3k] + s[x+3k]),
 *              4 vectors a step, unaligned loads (most split a cache line)
 *   loads      the same loads, combined by integer xor (the load ports alone)
 *   segments   the row cut into one segment per lane and stored lane by
 *              lane, so that a tap's shift is a whole number of vectors:
 *              the same arithmetic, aligned loads
 *   seg+fma    segments, four outputs of one channel sharing their loads,
 *              fused multiply-adds (the same bytes only if every product is
 *              exact, e.g. 8-bit pair sums and weights cut to 15 bits)
 *   transposes (AVX-512 only) turning a natural row into segments and back,
 *              16 x 16 blocks: what the segment layout would add
 *
 * Build and run at each level, -O3 as the package is built (docs/benchmarks.md
 * quotes the results):
 *
 *   gcc -O3 -std=c11 -ffp-contract=off -mavx512f -mavx512dq -mfma \
 *       benchmarks/hpass_layouts.c -o /tmp/hpass && /tmp/hpass
 *   gcc -O3 -std=c11 -ffp-contract=off -mavx2 -mfma -DVB=32 \
 *       benchmarks/hpass_layouts.c -o /tmp/hpass2 && /tmp/hpass2
 */
#define _POSIX_C_SOURCE 199309L
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifndef VB
#define VB 64
#endif
#define N 18000
#define R 24
#define CH 3
#define VL (VB / 4)
#define SEG ((N + VL - 1) / VL)      /* outputs a segment */
#define SEG_IN (SEG + 2 * R * CH)    /* inputs a segment */
#define REPS 2000

typedef float vec __attribute__((vector_size(VB), aligned(4), may_alias));
#define LD(p) (*(const vec *)(p))
#define ST(p, v) (*(vec *)(p) = (v))
typedef int ivec __attribute__((vector_size(VB), aligned(4), may_alias));
#define LDI(p) (*(const ivec *)(p))

#if VB == 64
#define FMADD(a, b, c) ((vec)_mm512_fmadd_ps((__m512)(a), (__m512)(b), (__m512)(c)))
#else
#define FMADD(a, b, c) ((vec)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(c)))
#endif

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

__attribute__((noinline)) static void natural(const float *src, float *dst, const float *g)
{
    for (int x = 0; x + 4 * VL <= N; x += 4 * VL) {
        const float *s = src + x;
        vec a0 = g[0] * LD(s), a1 = g[0] * LD(s + VL), a2 = g[0] * LD(s + 2 * VL),
            a3 = g[0] * LD(s + 3 * VL);
        for (int k = 1; k <= R; k++) {
            const float *lo = s - CH * k, *hi = s + CH * k;
            a0 = a0 + g[k] * (LD(lo) + LD(hi));
            a1 = a1 + g[k] * (LD(lo + VL) + LD(hi + VL));
            a2 = a2 + g[k] * (LD(lo + 2 * VL) + LD(hi + 2 * VL));
            a3 = a3 + g[k] * (LD(lo + 3 * VL) + LD(hi + 3 * VL));
        }
        ST(dst + x, a0), ST(dst + x + VL, a1), ST(dst + x + 2 * VL, a2), ST(dst + x + 3 * VL, a3);
    }
}

__attribute__((noinline)) static void loads(const float *src, float *dst, const float *g)
{
    (void)g;
    for (int x = 0; x + 4 * VL <= N; x += 4 * VL) {
        const float *s = src + x;
        ivec a0 = LDI(s), a1 = LDI(s + VL), a2 = LDI(s + 2 * VL), a3 = LDI(s + 3 * VL);
        for (int k = 1; k <= R; k++) {
            const float *lo = s - CH * k, *hi = s + CH * k;
            a0 = a0 ^ LDI(lo) ^ LDI(hi);
            a1 = a1 ^ LDI(lo + VL) ^ LDI(hi + VL);
            a2 = a2 ^ LDI(lo + 2 * VL) ^ LDI(hi + 2 * VL);
            a3 = a3 ^ LDI(lo + 3 * VL) ^ LDI(hi + 3 * VL);
        }
        *(ivec *)(dst + x) = a0, *(ivec *)(dst + x + VL) = a1;
        *(ivec *)(dst + x + 2 * VL) = a2, *(ivec *)(dst + x + 3 * VL) = a3;
    }
}

/* src: SEG_IN vectors, lane l holding segment l; a tap's shift is CH·k vectors */
__attribute__((noinline)) static void segments(const float *src, float *dst, const float *g)
{
    const vec *s0 = (const vec *)src + R * CH;
    for (int j = 0; j + 4 <= SEG; j += 4) {
        const vec *s = s0 + j;
        vec a0 = g[0] * s[0], a1 = g[0] * s[1], a2 = g[0] * s[2], a3 = g[0] * s[3];
        for (int k = 1; k <= R; k++) {
            const int d = CH * k;
            a0 = a0 + g[k] * (s[-d] + s[d]);
            a1 = a1 + g[k] * (s[1 - d] + s[1 + d]);
            a2 = a2 + g[k] * (s[2 - d] + s[2 + d]);
            a3 = a3 + g[k] * (s[3 - d] + s[3 + d]);
        }
        vec *o = (vec *)dst + j;
        o[0] = a0, o[1] = a1, o[2] = a2, o[3] = a3;
    }
}

/* segments, outputs j, j+3, j+6, j+9 (one channel) sharing loads, fused */
__attribute__((noinline)) static void segments_fma(const float *src, float *dst, const float *g)
{
    const vec *s0 = (const vec *)src + R * CH;
    for (int j0 = 0; j0 + 4 * CH <= SEG; j0 += 4 * CH)
        for (int c = 0; c < CH; c++) {
            const vec *s = s0 + j0 + c;
            vec a0 = g[0] * s[0], a1 = g[0] * s[CH], a2 = g[0] * s[2 * CH], a3 = g[0] * s[3 * CH];
            for (int k = 1; k <= R; k++) {
                const int d = CH * k;
                const vec gk = (vec){0} + g[k];
                a0 = FMADD(gk, s[-d] + s[d], a0);
                a1 = FMADD(gk, s[CH - d] + s[CH + d], a1);
                a2 = FMADD(gk, s[2 * CH - d] + s[2 * CH + d], a2);
                a3 = FMADD(gk, s[3 * CH - d] + s[3 * CH + d], a3);
            }
            vec *o = (vec *)dst + j0 + c;
            o[0] = a0, o[CH] = a1, o[2 * CH] = a2, o[3 * CH] = a3;
        }
}

#ifdef __AVX512F__
static inline void transpose16(__m512 r[16])
{
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 16; i += 8)
        for (int j = 0; j < 4; j++) {
            t[i + j] = _mm512_shuffle_f32x4(r[i + j], r[i + j + 4], 0x88);
            t[i + j + 4] = _mm512_shuffle_f32x4(r[i + j], r[i + j + 4], 0xDD);
        }
    for (int j = 0; j < 8; j++) {
        r[j] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0x88);
        r[j + 8] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0xDD);
    }
}

/* natural row -> segments -> natural row (the order within a block is
 * not the exact one; the work is) */
__attribute__((noinline)) static void transposes(const float *row, float *seg, float *out)
{
    __m512 r[16];
    for (int j = 0; j + 16 <= SEG_IN; j += 16) {
        for (int l = 0; l < 16; l++) r[l] = _mm512_loadu_ps(row + l * SEG + j);
        transpose16(r);
        for (int i = 0; i < 16; i++) _mm512_store_ps(seg + (j + i) * 16, r[i]);
    }
    for (int j = 0; j + 16 <= SEG; j += 16) {
        for (int i = 0; i < 16; i++) r[i] = _mm512_load_ps(seg + (j + i) * 16);
        transpose16(r);
        for (int l = 0; l < 16; l++) _mm512_storeu_ps(out + l * SEG + j, r[l]);
    }
}
#endif

int main(void)
{
    const size_t n_in = (size_t)VL * SEG_IN + 64, n_out = (size_t)VL * SEG + 64;
    float *in = aligned_alloc(64, 4 * n_in), *seg = aligned_alloc(64, 4 * n_in);
    float *out = aligned_alloc(64, 4 * n_out), g[R + 1];
    if (!in || !seg || !out) return 1;
    for (size_t i = 0; i < n_in; i++) in[i] = seg[i] = (float)(i % 251);
    for (int k = 0; k <= R; k++) g[k] = 1.0f / (float)(k + 1);
    const float *row = in + R * CH;
    printf("%d-byte vectors, radius %d, %d samples a row, ns a sample (3 runs)\n", VB, R, N);
    for (int rep = 0; rep < 3; rep++) {
        double t[5];
        t[0] = now();
        for (int i = 0; i < REPS; i++) natural(row, out, g);
        t[1] = now();
        for (int i = 0; i < REPS; i++) loads(row, out, g);
        t[2] = now();
        for (int i = 0; i < REPS; i++) segments(seg, out, g);
        t[3] = now();
        for (int i = 0; i < REPS; i++) segments_fma(seg, out, g);
        t[4] = now();
        printf("natural %.3f  loads %.3f  segments %.3f  seg+fma %.3f", (t[1] - t[0]) / REPS / N * 1e9,
               (t[2] - t[1]) / REPS / N * 1e9, (t[3] - t[2]) / REPS / N * 1e9,
               (t[4] - t[3]) / REPS / N * 1e9);
#ifdef __AVX512F__
        const double t0 = now();
        for (int i = 0; i < REPS; i++) transposes(in, seg, out);
        printf("  transposes %.3f", (now() - t0) / REPS / N * 1e9);
#endif
        printf("\n");
    }
    free(in), free(seg), free(out);
    return 0;
}
