#include "core/util/process_env.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>

#include <dlfcn.h>
#include <malloc.h>
#include <unistd.h>

namespace supersam::util {

CpuFeatures cpuFeatures() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  f.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vl");
  f.avx2Fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return f;
}

std::optional<std::string> openBlasCoreOverride(const std::string& detected, const CpuFeatures& cpu) {
  std::string name = detected;
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  // The x86-64 kernel families older than AVX2: what OpenBLAS falls back to for a CPU model it does not know.
  static const std::array<const char*, 8> kGeneric = {"prescott", "core2",   "penryn",  "dunnington",
                                                      "nehalem",  "atom",    "katmai",  "sandybridge"};
  if (std::find(kGeneric.begin(), kGeneric.end(), name) == kGeneric.end()) return std::nullopt;
  if (cpu.avx512) return std::string("SkylakeX");
  if (cpu.avx2Fma) return std::string("Haswell");
  return std::nullopt;
}

std::string openBlasCoreName() {
  using CoreNameFn = char* (*)();
  auto fn = reinterpret_cast<CoreNameFn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (!fn) return {};
  const char* name = fn();
  return name ? std::string(name) : std::string();
}

void keepFreedMemoryForReuse() {
  // glibc serves large blocks with mmap and unmaps them when freed (and trims the heap top), so every tensor the
  // decoder allocates per prompt comes back as fresh pages and is faulted in again: measured ~20 % of a prompt's
  // decoder time on one thread. Blocks below 256 MB come from the heap, and freed memory stays for reuse.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

void prepareProcess(char** argv, bool passiveOpenMp) {
  keepFreedMemoryForReuse();
  bool changed = false;
  if (std::getenv("OPENBLAS_CORETYPE") == nullptr) {
    if (auto core = openBlasCoreOverride(openBlasCoreName(), cpuFeatures())) {
      changed = setenv("OPENBLAS_CORETYPE", core->c_str(), 1) == 0 || changed;
    }
  }
  if (passiveOpenMp && std::getenv("OMP_WAIT_POLICY") == nullptr) {
    changed = setenv("OMP_WAIT_POLICY", "PASSIVE", 1) == 0 || changed;
  }
  if (!changed || argv == nullptr) return;
  execv("/proc/self/exe", argv);
  // execv failed (no /proc): carry on with what the libraries chose.
}

}  // namespace supersam::util
