#pragma once
// Process start-up settings that native libraries read once, when they are loaded, so they can only be changed by
// setting the environment and re-executing the program before any work is done.
//
// - OpenBLAS: Debian 12's OpenBLAS (0.3.21) picks its kernels from the CPU model and takes models it does not know
//   (e.g. 5th-generation Xeon, model 207) for a generic "Prescott" core: SSE3 kernels, measured 5.4x slower matrix
//   products on this 2-core machine (56 vs 303 GFLOP/s). When it reports such a generic core on a CPU with AVX-512
//   or AVX2 + FMA, OPENBLAS_CORETYPE is set to the matching kernel family (SkylakeX / Haswell).
// - OpenMP: interactive programs want idle worker threads to sleep rather than spin (see prepareProcess).
//
// Variables the user set are left alone. Thread-safety: call from main before any other thread exists.

#include <optional>
#include <string>

namespace supersam::util {

struct CpuFeatures {
  bool avx512 = false;  // AVX-512 F, CD, BW, DQ and VL (what OpenBLAS's SkylakeX kernels use)
  bool avx2Fma = false;
};
CpuFeatures cpuFeatures();

// The OpenBLAS core type to force, if any: only when the detected core is a generic fallback and the CPU can run a
// better kernel family. Pure; `detected` is openblas_get_corename()'s answer (case-insensitive).
std::optional<std::string> openBlasCoreOverride(const std::string& detected, const CpuFeatures& cpu);

// openblas_get_corename() of the BLAS this process loaded, or "" when it is not OpenBLAS.
std::string openBlasCoreName();

// glibc malloc settings so that freed tensor memory is reused instead of returned to the system and faulted in again
// (a process's resident size then stays near its peak). Called by prepareProcess.
void keepFreedMemoryForReuse();

// Call first thing in main. Sets what is needed (OPENBLAS_CORETYPE as above; OMP_WAIT_POLICY=PASSIVE when
// `passiveOpenMp`: in an interactive program spinning OpenMP threads steal the CPU from the GUI thread, measured
// ~1.2 s vs ~50 ms per prompt change on 2 busy cores) and re-executes /proc/self/exe with the same arguments; returns
// when nothing needed changing or re-executing failed (then the program carries on with the defaults).
void prepareProcess(char** argv, bool passiveOpenMp = false);

}  // namespace supersam::util
