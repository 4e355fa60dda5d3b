#pragma once
// The one place where LibTorch 1.13 (Debian 12's libtorch-dev, the default build) and LibTorch 2.x (the CUDA builds
// GPU users download) differ for this project. Every version test in the code base goes through the macros and
// helpers below, so the rest of the source reads the same against both.
// Thread-safety: everything here is a macro or a stateless inline function.

#include <torch/csrc/api/include/torch/version.h>

// True when the LibTorch being compiled against is at least major.minor.
#define SUPERSAM_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))
