// bench_sam: SAM latency on this machine (a benchmark, not a test).
//   bench_sam [--arch vit_b] [--threads 2] [--runs 3] [--prompts 20] [--orig HxW] [--profile]
//             [--write-checkpoint FILE.safetensors] [--decoder-only]
// Measures, with random weights: the image encoder at image_size (median of --runs), the decoder + post-processing
// per prompt (one point, single mask and multimask, median over --prompts), and the peak RSS of the process.
// --decoder-only skips the encoder (a random image embedding; the decoder's cost does not depend on its values).
// --profile adds a per-op breakdown (time of the top-level ATen ops our code calls, aggregated by name; ops run
// inside the encoder's parallel attention tasks are summed over threads) of one encoder run and of the decoder. --write-checkpoint saves the random model as our safetensors (to time `supersam segment`).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/record_function.h>
#include <c10/core/InferenceMode.h>

#include "core/infer/predictor.h"
#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/model/sam.h"
#include "core/util/runtime.h"
#include "core/util/process_env.h"

using namespace supersam;
using Clock = std::chrono::steady_clock;

namespace {

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

double cpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

double peakRssMb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

// ---- per-op profile: self time of top-level ATen ops (nested ops count towards their caller) ----
struct OpStat {
  double seconds = 0;
  long long calls = 0;
};
std::map<std::string, OpStat> g_ops;
std::mutex g_opsMutex;  // ops inside at::parallel_for report from worker threads
thread_local int t_depth = 0;
thread_local std::vector<Clock::time_point> t_starts;

struct TimerCtx : at::ObserverContext {};

std::unique_ptr<at::ObserverContext> onStart(const at::RecordFunction&) {
  ++t_depth;
  t_starts.push_back(Clock::now());
  return nullptr;
}

void onEnd(const at::RecordFunction& fn, at::ObserverContext*) {
  const auto t1 = Clock::now();
  const auto t0 = t_starts.back();
  t_starts.pop_back();
  if (--t_depth == 0) {
    std::lock_guard<std::mutex> lock(g_opsMutex);
    auto& s = g_ops[fn.name()];
    s.seconds += seconds(t0, t1);
    s.calls += 1;
  }
}

void printProfile(const char* title, double wall) {
  std::vector<std::pair<std::string, OpStat>> v(g_ops.begin(), g_ops.end());
  std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.second.seconds > b.second.seconds; });
  double sum = 0;
  for (auto& [n, s] : v) sum += s.seconds;
  std::printf("\n%s: %.3f s wall, %.3f s in top-level ATen ops\n", title, wall, sum);
  std::printf("  %-36s %10s %7s %8s\n", "op", "seconds", "share", "calls");
  for (size_t i = 0; i < v.size() && i < 18; ++i) {
    std::printf("  %-36s %10.4f %6.1f%% %8lld\n", v[i].first.c_str(), v[i].second.seconds,
                100.0 * v[i].second.seconds / wall, v[i].second.calls);
  }
}

template <typename F>
void profiled(const char* title, F&& f) {
  g_ops.clear();
  auto handle = at::addThreadLocalCallback(at::RecordFunctionCallback(onStart, onEnd).scopes({at::RecordScope::FUNCTION}));
  auto t0 = Clock::now();
  f();
  auto t1 = Clock::now();
  at::removeCallback(handle);
  printProfile(title, seconds(t0, t1));
}

std::string argValue(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return fallback;
}
bool argFlag(int argc, char** argv, const std::string& name) {
  for (int i = 1; i < argc; ++i) {
    if (argv[i] == name) return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  supersam::util::prepareProcess(argv);
  const std::string archName = argValue(argc, argv, "--arch", "vit_b");
  const int threads = std::stoi(argValue(argc, argv, "--threads", "2"));
  const int runs = std::stoi(argValue(argc, argv, "--runs", "3"));
  const int prompts = std::stoi(argValue(argc, argv, "--prompts", "20"));
  const std::string orig = argValue(argc, argv, "--orig", "1200x1800");
  const bool profile = argFlag(argc, argv, "--profile");
  const std::string writeCkpt = argValue(argc, argv, "--write-checkpoint", "");
  const int64_t origH = std::stoll(orig.substr(0, orig.find('x')));
  const int64_t origW = std::stoll(orig.substr(orig.find('x') + 1));

  util::setThreads(threads);
  at::manual_seed(0);
  model::SamArch arch = model::SamArch::fromPresetOrFile(archName);
  model::Sam sam(arch);
  sam->eval();
  std::printf("bench_sam: arch %s, image_size %lld, %d threads (at::get_num_threads = %d)\n", arch.name.c_str(),
              static_cast<long long>(arch.imageSize), threads, at::get_num_threads());
  std::printf("%s\n", at::show_config().find("BLAS_INFO=open") != std::string::npos ? "BLAS: OpenBLAS"
                                                                                     : "BLAS: (see at::show_config)");
  if (!writeCkpt.empty()) {
    io::StateDict sd = io::stateDictOf(*sam);
    io::saveSafetensors(writeCkpt, sd, {{"format", "supersam"}, {"arch", arch.toJsonText()}});
    std::printf("wrote random-weight checkpoint %s\n", writeCkpt.c_str());
  }

  c10::InferenceMode guard;
  at::Tensor x = at::randn({1, 3, arch.imageSize, arch.imageSize});
  // Encoder.
  std::vector<double> enc;
  at::Tensor emb;
  const bool decoderOnly = argFlag(argc, argv, "--decoder-only");
  if (decoderOnly) emb = at::randn({1, arch.promptEmbedDim, arch.tokensPerSide(), arch.tokensPerSide()});
  for (int r = 0; r < (decoderOnly ? 0 : runs + 1); ++r) {
    if (std::getenv("BENCH_SKIP_ENCODER") && r > 0) break;
    const double c0 = cpuSeconds();
    auto t0 = Clock::now();
    emb = sam->encodeImage(x);
    auto t1 = Clock::now();
    if (r > 0 || runs == 0) enc.push_back(seconds(t0, t1));  // the first run warms caches and allocators
    // CPU time next to wall time: on a busy machine wall time mostly measures the other processes.
    std::printf("  encoder run %d: %.3f s wall, %.3f s CPU%s\n", r, seconds(t0, t1), cpuSeconds() - c0,
                r == 0 ? " (warm-up)" : "");
  }
  std::printf("encoder (%lldx%lld): median %.3f s over %zu runs\n", static_cast<long long>(arch.imageSize),
              static_cast<long long>(arch.imageSize), median(enc), enc.size());

  // Decoder + post-processing per prompt, through the Predictor (as `segment` and the GUI use it).
  infer::Predictor pred(sam);
  const auto inputHW = infer::resizedSize(origH, origW, arch.imageSize);
  pred.setEmbedding(emb, {origH, origW}, inputHW);
  for (bool multimask : {false, true}) {
    std::vector<double> dec;
    double cpuMs = 0;
    for (int i = 0; i < prompts + 2; ++i) {
      infer::Prompt p;
      p.points = {{static_cast<float>(origW) * (0.2f + 0.03f * i), static_cast<float>(origH) * 0.5f}};
      p.labels = {1};
      p.multimask = multimask;
      const double c0 = cpuSeconds();
      auto t0 = Clock::now();
      infer::Prediction out = pred.predict(p);
      auto t1 = Clock::now();
      if (i >= 2) {
        dec.push_back(seconds(t0, t1) * 1000.0);
        cpuMs += (cpuSeconds() - c0) * 1000.0;
      }
    }
    std::printf("decoder + post-processing per prompt (%s, original %lldx%lld): median %.1f ms wall over %zu prompts, "
                "mean %.1f ms CPU\n",
                multimask ? "multimask, 3 masks" : "single mask", static_cast<long long>(origH),
                static_cast<long long>(origW), median(dec), dec.size(), cpuMs / static_cast<double>(dec.size()));
  }
  std::printf("peak RSS: %.0f MB\n", peakRssMb());

  if (profile) {
    if (!std::getenv("BENCH_SKIP_ENCODER") && !decoderOnly) profiled("encoder per-op profile", [&] { sam->encodeImage(x); });
    profiled("decoder per-op profile (10 prompts, multimask)", [&] {
      for (int i = 0; i < 10; ++i) {
        infer::Prompt p;
        p.points = {{static_cast<float>(origW) * 0.4f, static_cast<float>(origH) * 0.5f}};
        p.labels = {1};
        p.multimask = true;
        pred.predict(p);
      }
    });
  }
  return 0;
}
