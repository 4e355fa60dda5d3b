#include "core/util/runtime.h"

#include <thread>

#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include "core/util/error.h"

namespace supersam::util {

void setThreads(int n) {
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(n);
  static bool interopSet = false;
  if (!interopSet) {
    try {
      at::set_num_interop_threads(std::max(1, n / 2));
    } catch (const std::exception&) {
      // Only possible before any inter-op work started; ignoring is harmless.
    }
    interopSet = true;
  }
}

int threads() { return at::get_num_threads(); }

c10::Device parseDevice(const std::string& name) {
  if (name.empty() || name == "cpu") return c10::Device(c10::kCPU);
  if (name.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available()) {
      throw Error("device '" + name +
                  "' asked for, but this LibTorch build has no CUDA or no GPU is visible (use --device cpu, or "
                  "build with a CUDA LibTorch: -DCMAKE_PREFIX_PATH=/path/to/libtorch)");
    }
    try {
      c10::Device d(name);
      if (d.has_index() && d.index() >= static_cast<int>(torch::cuda::device_count())) {
        throw Error("device '" + name + "': only " + std::to_string(torch::cuda::device_count()) + " GPU(s) visible");
      }
      return d;
    } catch (const c10::Error&) {
      throw Error("device '" + name + "' is not a device name (expected cpu, cuda or cuda:N)");
    }
  }
  throw Error("device '" + name + "' is not a device name (expected cpu, cuda or cuda:N)");
}

}  // namespace supersam::util
