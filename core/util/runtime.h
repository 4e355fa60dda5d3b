#pragma once
// Process-wide LibTorch settings: thread count and device choice. LibTorch defaults to one thread on these
// machines, so every program calls setThreads once at start-up.

#include <string>

#include <c10/core/Device.h>

namespace supersam::util {

// n <= 0: use every hardware thread. Sets intra-op threads (and inter-op once, before any parallel work).
void setThreads(int n);
int threads();

// "cpu" (default), "cuda", "cuda:N". Throws util::Error when CUDA is asked for but this LibTorch has none or no
// GPU is visible, or the string is not a device name.
c10::Device parseDevice(const std::string& name);

}  // namespace supersam::util
