/* Which SIMD levels this CPU runs: 0 baseline, 1 AVX2, 2 AVX-512 (F, BW, VL,
 * DQ). Shared by the compiled modules, which each pick the best level once,
 * when they load. NATIVE_X86 is defined where the levels above 0 are built. */
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

#endif
