// bench_sam: SAM latency on this machine (a benchmark, not a test).
//   bench_sam [--arch vit_b] [--threads 2] [--runs 3] [--prompts 20] [--orig HxW] [--profile | --profile-shapes]
//             [--write-checkpoint FILE.safetensors] [--decoder-only]
// Measures, with random weights: the image encoder at image_size (median of --runs), the decoder + post-processing
// per prompt (one point, single mask and multimask, median over --prompts), and the peak RSS of the process.
// --decoder-only skips the encoder (a random image embedding; the decoder's cost does not depend on its values).
// --profile adds a per-op breakdown (time of the top-level ATen ops our code calls, aggregated by name; ops run
// inside the encoder's parallel attention tasks are summed over threads) of one encoder run and of the decoder
// (10 prompts, single mask and multimask); --profile-shapes aggregates by op name and input shapes instead; the
// project's own kernels show as supersam::<name>. --write-checkpoint saves the random model as our safetensors (to
// time `supersam segment`).
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <sstream>
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
#include "tests/common/sam_literal.h"

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
bool g_shapes = false;  // --profile-shapes: aggregate by op name and input shapes
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
    std::string key = fn.name();
    if (g_shapes) {
      for (const c10::IValue& v : fn.inputs()) {
        if (!v.isTensor()) continue;
        std::ostringstream os;
        os << v.toTensor().sizes();
        key += " " + os.str();
      }
    }
    auto& s = g_ops[key];
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
  for (size_t i = 0; i < v.size() && i < (g_shapes ? 40u : 18u); ++i) {
    std::printf("  %-36s %10.4f %6.1f%% %8lld\n", v[i].first.c_str(), v[i].second.seconds,
                100.0 * v[i].second.seconds / wall, v[i].second.calls);
  }
}

template <typename F>
void profiled(const char* title, F&& f) {
  g_ops.clear();
  auto handle = at::addThreadLocalCallback(at::RecordFunctionCallback(onStart, onEnd).needsInputs(g_shapes).scopes({at::RecordScope::FUNCTION}));
  auto t0 = Clock::now();
  f();
  auto t1 = Clock::now();
  at::removeCallback(handle);
  printProfile(title, seconds(t0, t1));
}

// ---- SAM's decoder and post-processing in SAM's own order of operations (segment_anything's mask_decoder.py,
// transformer.py, Sam.postprocess_masks, predictor.predict), with this model's weights: the same-run reference for
// the decoder's speed (what the official implementation computes per prompt, without Python's interpreter). ----
// Returns the masks [1, M, H0, W0] (bool) like SamPredictor.predict (return_logits = false).
at::Tensor literalPredict(model::SamImpl& sam, const at::Tensor& emb, const at::Tensor& coords,
                          const at::Tensor& labels, bool multimask, std::array<int64_t, 2> inputHW,
                          std::array<int64_t, 2> originalHW) {
  auto [sparse, dense] = sam.prompt_encoder->forward(coords, labels, at::Tensor(), at::Tensor());
  model::MaskDecoderImpl& d = *sam.mask_decoder;
  at::Tensor tokens = at::cat({d.iou_token->weight, d.mask_tokens->weight}, 0).unsqueeze(0);
  tokens = at::cat({tokens.expand({sparse.size(0), -1, -1}), sparse}, 1);
  at::Tensor src = at::repeat_interleave(emb, tokens.size(0), 0) + dense;
  at::Tensor pos = at::repeat_interleave(sam.prompt_encoder->getDensePe(), tokens.size(0), 0);
  const int64_t b = src.size(0), c = src.size(1), h = src.size(2), w = src.size(3);
  // TwoWayTransformer.forward
  at::Tensor keys = src.flatten(2).permute({0, 2, 1});
  at::Tensor keyPe = pos.flatten(2).permute({0, 2, 1});
  at::Tensor queries = tokens;
  model::TwoWayTransformerImpl& t = *d.transformer;
  for (size_t i = 0; i < t.layers->size(); ++i) {
    auto& l = *t.layers[i]->as<model::TwoWayAttentionBlockImpl>();
    if (i == 0) {
      queries = test::samAttention(*l.self_attn, queries, queries, queries);
    } else {
      at::Tensor q = queries + tokens;
      queries = queries + test::samAttention(*l.self_attn, q, q, queries);
    }
    queries = l.norm1->forward(queries);
    at::Tensor q = queries + tokens, k = keys + keyPe;
    queries = l.norm2->forward(queries + test::samAttention(*l.cross_attn_token_to_image, q, k, keys));
    queries = l.norm3->forward(queries + l.mlp->forward(queries));
    q = queries + tokens;
    k = keys + keyPe;
    keys = l.norm4->forward(keys + test::samAttention(*l.cross_attn_image_to_token, k, q, queries));
  }
  at::Tensor q = queries + tokens, k = keys + keyPe;
  queries = t.norm_final_attn->forward(queries + test::samAttention(*t.final_attn_token_to_image, q, k, keys));
  // MaskDecoder.predict_masks
  src = keys.transpose(1, 2).reshape({b, c, h, w});
  at::Tensor up = d.output_upscaling->forward(src);
  std::vector<at::Tensor> hyper;
  for (int64_t i = 0; i < 4; ++i) {
    hyper.push_back(d.output_hypernetworks_mlps[i]->as<model::MLPImpl>()->forward(queries.select(1, 1 + i)));
  }
  at::Tensor hyperIn = at::stack(hyper, 1);
  at::Tensor masks = at::matmul(hyperIn, up.view({b, up.size(1), -1})).view({b, -1, up.size(2), up.size(3)});
  at::Tensor iou = d.iou_prediction_head->forward(queries.select(1, 0));
  masks = multimask ? masks.narrow(1, 1, 3) : masks.narrow(1, 0, 1);
  (void)iou;
  // Sam.postprocess_masks, then the threshold.
  const int64_t S = sam.arch().imageSize;
  at::Tensor m = at::upsample_bilinear2d(masks, {S, S}, false);
  m = m.narrow(2, 0, inputHW[0]).narrow(3, 0, inputHW[1]);
  m = at::upsample_bilinear2d(m, {originalHW[0], originalHW[1]}, false);
  return m > 0.0;
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
  g_shapes = argFlag(argc, argv, "--profile-shapes");
  const bool profile = g_shapes || argFlag(argc, argv, "--profile");
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
  // The same prompts through SAM's own order of operations, alternating with ours so that both see the same
  // machine state: the ratio is the figure to compare across machines.
  for (bool multimask : {false, true}) {
    std::vector<double> ours, literal;
    for (int i = 0; i < prompts + 2; ++i) {
      infer::Prompt p;
      p.points = {{static_cast<float>(origW) * (0.2f + 0.03f * i), static_cast<float>(origH) * 0.5f}};
      p.labels = {1};
      p.multimask = multimask;
      at::Tensor coords = at::tensor({p.points[0][0] * static_cast<float>(inputHW[1]) / static_cast<float>(origW),
                                      p.points[0][1] * static_cast<float>(inputHW[0]) / static_cast<float>(origH)})
                              .view({1, 1, 2});
      at::Tensor labels = at::ones({1, 1}, at::kLong);
      auto t0 = Clock::now();
      infer::Prediction out = pred.predict(p);
      auto t1 = Clock::now();
      at::Tensor ref = literalPredict(*sam, emb, coords, labels, multimask, inputHW, {origH, origW});
      auto t2 = Clock::now();
      if (i >= 2) {
        ours.push_back(seconds(t0, t1) * 1000.0);
        literal.push_back(seconds(t1, t2) * 1000.0);
      }
      if (i == 0) {
        const double differ = (out.masks.unsqueeze(0) != ref).sum().item<double>() / static_cast<double>(ref.numel());
        std::printf("  (%s: masks differ from SAM's order of operations at %.2g of the pixels)\n",
                    multimask ? "multimask" : "single", differ);
      }
    }
    std::printf("SAM's order of operations (%s), same run: median %.1f ms vs ours %.1f ms = %.2fx\n",
                multimask ? "multimask, 3 masks" : "single mask", median(literal), median(ours),
                median(ours) / median(literal));
  }
  std::printf("peak RSS: %.0f MB\n", peakRssMb());

  if (profile) {
    if (!std::getenv("BENCH_SKIP_ENCODER") && !decoderOnly) {
      profiled("encoder per-op profile", [&] { sam->encodeImage(x); });
    }
    for (const bool multimask : {false, true}) {
      profiled(multimask ? "decoder per-op profile (10 prompts, multimask)" : "decoder per-op profile (10 prompts, single)",
               [&] {
                 for (int i = 0; i < 10; ++i) {
                   infer::Prompt p;
                   p.points = {{static_cast<float>(origW) * 0.4f, static_cast<float>(origH) * 0.5f}};
                   p.labels = {1};
                   p.multimask = multimask;
                   pred.predict(p);
                 }
               });
    }
  }
  return 0;
}
