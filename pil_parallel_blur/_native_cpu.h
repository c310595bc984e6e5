/* Which SIMD levels this CPU runs: 0 baseline, 1 AVX2, 2 AVX-512 (F, BW, VL,
 * DQ), and the one a module runs. Shared by the compiled modules, which each
 * pick their level once, when they load. NATIVE_X86 is defined where the
 * levels above 0 are built. Include after Python.h. */
#ifndef PPB_NATIVE_CPU_H
#define PPB_NATIVE_CPU_H

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NATIVE_X86 1
#endif

static int native_level_supported(int level)
{
#ifdef NATIVE_X86
    if (level == 1) return __builtin_cpu_supports("avx2");
    if (level == 2)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
#endif
    return level == 0;
}

/* The levels' names, as PIL_PARALLEL_BLUR_SIMD and simd_level() spell them. */
static const char *const native_level_names[] = {"baseline", "avx2", "avx512"};

/* The level a module built with the first `built` levels runs: the best this
 * CPU runs, or the one PIL_PARALLEL_BLUR_SIMD names. -1 with a ValueError set
 * when the variable names a level this CPU (or this build) does not run. */
static int native_choose_level(int built)
{
    int best = 0;
#ifdef NATIVE_X86
    __builtin_cpu_init();
#endif
    for (int i = 0; i < built; i++)
        if (native_level_supported(i)) best = i;
    const char *asked = getenv("PIL_PARALLEL_BLUR_SIMD");
    if (asked == NULL || *asked == '\0') return best;
    for (int i = 0; i < built; i++)
        if (strcmp(asked, native_level_names[i]) == 0 && native_level_supported(i)) return i;
    char names[64] = "";
    for (int i = 0; i < built; i++)
        if (native_level_supported(i)) {
            if (names[0]) strcat(names, ", ");
            strcat(names, native_level_names[i]);
        }
    PyErr_Format(PyExc_ValueError,
                 "PIL_PARALLEL_BLUR_SIMD must name a SIMD level this CPU runs (%s), got '%s'",
                 names, asked);
    return -1;
}

#endif
