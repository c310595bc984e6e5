/* Three channels in Pillow's 4-byte pixels, moved two pixels at a time as 64-bit
 * words (little-endian targets; a byte at a time elsewhere). Shared by
 * _native_pixels.c (the adapter's copies) and _native.c (the engine reading
 * and writing those pixels where they are). Copies, no arithmetic. */

#ifndef PPB_NATIVE_PIXEL_WORDS_H
#define PPB_NATIVE_PIXEL_WORDS_H

#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define PIXELS_WORDS 1
#else
#define PIXELS_WORDS 0
#endif

/* n pixels (c0, c1, c2, pad) -> (c0, c1, c2). */
static inline void narrow_three(const uint8_t *restrict s, uint8_t *restrict d, Py_ssize_t n)
{
    Py_ssize_t i = 0;
#if PIXELS_WORDS
    /* two pixels a step, written as one 8-byte word whose last two bytes the
     * next step overwrites (so only while a third pixel follows on the row) */
    for (; i + 3 <= n; i += 2) {
        uint64_t v, o;
        memcpy(&v, s + 4 * i, sizeof v);
        o = (v & 0xFFFFFFu) | ((v >> 8) & ((uint64_t)0xFFFFFF << 24));
        memcpy(d + 3 * i, &o, sizeof o);
    }
#endif
    for (; i < n; i++) {
        d[3 * i] = s[4 * i];
        d[3 * i + 1] = s[4 * i + 1];
        d[3 * i + 2] = s[4 * i + 2];
    }
}

/* n pixels (c0, c1, c2) into the first three bytes of n 4-byte pixels: the
 * fourth bytes kept (`keep`), or set to 255. A constant `keep` folds away:
 * widening never reads its destination (fresh memory: reading it first
 * would fault its pages in for nothing). */
static inline void spread_three(const uint8_t *restrict s, uint8_t *restrict d, Py_ssize_t n,
                                int keep)
{
    Py_ssize_t i = 0;
#if PIXELS_WORDS
    /* two pixels a step, read as one 8-byte word (two bytes past the pair, so
     * only while a third pixel follows) */
    const uint64_t pads = ((uint64_t)0xFF << 24) | ((uint64_t)0xFF << 56);
    for (; i + 3 <= n; i += 2) {
        uint64_t v, old = pads, o;
        memcpy(&v, s + 3 * i, sizeof v);
        if (keep) memcpy(&old, d + 4 * i, sizeof old);
        o = (v & 0xFFFFFFu) | ((v << 8) & ((uint64_t)0xFFFFFF << 32)) | (old & pads);
        memcpy(d + 4 * i, &o, sizeof o);
    }
#endif
    for (; i < n; i++) {
        d[4 * i] = s[3 * i];
        d[4 * i + 1] = s[3 * i + 1];
        d[4 * i + 2] = s[3 * i + 2];
        if (!keep) d[4 * i + 3] = 0xFF;
    }
}

/* n pixels (c0, c1, c2) into the first three bytes of n 4-byte pixels, whose
 * fourth bytes are kept. */
static inline void fill_three(const uint8_t *restrict s, uint8_t *restrict d, Py_ssize_t n)
{
    spread_three(s, d, n, 1);
}

/* n pixels (c0, c1, c2) -> (c0, c1, c2, 255), into fresh memory. */
static inline void widen_three(const uint8_t *restrict s, uint8_t *restrict d, Py_ssize_t n)
{
    spread_three(s, d, n, 0);
}

#endif
