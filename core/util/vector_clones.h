#pragma once
// SUPERSAM_VECTOR_CLONES before a hot loop function: GCC builds it for AVX-512, AVX2+FMA and the baseline x86-64
// and picks one when the library loads (target_clones), so vectorised loops use the CPU's widest vectors while the
// binary still runs on any x86-64. Elsewhere (other compilers or CPUs) it is empty.

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define SUPERSAM_VECTOR_CLONES __attribute__((target_clones("avx512f", "arch=haswell", "default")))
#else
#define SUPERSAM_VECTOR_CLONES
#endif
