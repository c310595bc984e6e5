/* Instantiate the loops of _native_loops.h and the transform of _native_fft.h
 * for one SIMD level in both compute types: float (8-bit images) and double (everything wider).  Included by
 * _native.c with LEVEL (name suffix) and VB (vector bytes) defined. */
#define T float
#define TS f
#define RINT rintf
#define FLOOR floorf
#include "_native_loops.h"
#include "_native_fft.h"
#undef T
#undef TS
#undef RINT
#undef FLOOR

#define T double
#define TS d
#define RINT rint
#define FLOOR floor
#include "_native_loops.h"
#include "_native_fft.h"
#undef T
#undef TS
#undef RINT
#undef FLOOR

#undef LEVEL
#undef VB
