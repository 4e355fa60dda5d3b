// Training-step benchmark: the sandwich step time (largest + smallest + N random members, one AdamW step) for a
// given arch and batch, with a breakdown (image encoder forward+backward of one member, decoder + loss), and the
// full-width encoder's inference latency (batch 1).
//   bench_train [ARCH=resources/models/demo_arch.json] [BATCH=4] [STEPS=3] [THREADS=2] [OBJECTS=8] [quick]
// "quick" (for big archs such as vit_b): no inference timing, no breakdown, no warm-up step.
// Data: Penn-Fudan train (../shared/data) for the real step; random tensors for the breakdown.
#include <chrono>
#include <cstdio>
#include <string>

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include "core/data/dataset_spec.h"
#include "core/model/sam.h"
#include "core/supernet/search_space.h"
#include "core/train/losses.h"
#include "core/train/trainer.h"
#include "core/util/runtime.h"
#include "core/util/process_env.h"
#include "tests/common/test_paths.h"

using namespace supersam;
using Clock = std::chrono::steady_clock;

namespace {
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
}  // namespace

int main(int argc, char** argv) {
  supersam::util::prepareProcess(argv);
  const std::string archName = argc > 1 ? argv[1] : std::string(SUPERSAM_SOURCE_DIR) + "/resources/models/demo_arch.json";
  const int64_t batch = argc > 2 ? std::stoll(argv[2]) : 4;
  const int steps = argc > 3 ? std::stoi(argv[3]) : 3;
  util::setThreads(argc > 4 ? std::stoi(argv[4]) : 2);
  const int64_t objects = argc > 5 ? std::stoll(argv[5]) : 8;
  const bool quick = argc > 6 && std::string(argv[6]) == "quick";
  at::manual_seed(0);
  model::SamArch arch = model::SamArch::fromPresetOrFile(archName);
  model::Sam sam(arch);
  const int64_t s = arch.imageSize;
  std::printf("arch %s: image %lld, depth %lld, width %lld, threads %d\n", archName.c_str(), (long long)s,
              (long long)arch.encoderDepth, (long long)arch.encoderEmbedDim, util::threads());

  if (!quick) {  // inference latency of the full-width encoder, batch 1
    at::InferenceMode g;
    sam->eval();
    at::Tensor x = at::randn({1, 3, s, s});
    sam->encodeImage(x);
    auto t = Clock::now();
    const int n = 3;
    for (int i = 0; i < n; ++i) sam->encodeImage(x);
    std::printf("encoder inference (full width, batch 1): %.1f ms\n", 1000 * since(t) / n);
    sam->train();
  }
  if (!quick) {  // breakdown for one member
    at::Tensor x = at::randn({batch, 3, s, s});
    auto t = Clock::now();
    at::Tensor emb = sam->encodeImage(x);
    const double fwd = since(t);
    t = Clock::now();
    emb.sum().backward();
    const double bwd = since(t);
    std::printf("one member, encoder batch %lld: forward %.2f s, backward %.2f s\n", (long long)batch, fwd, bwd);
    at::Tensor e = sam->encodeImage(x.narrow(0, 0, 1)).detach().requires_grad_(true);
    at::Tensor boxes = at::tensor({10.f, 10.f, 100.f, 120.f}).repeat({objects, 1});
    t = Clock::now();
    model::DecoderOutput o = sam->decode(e, {}, {}, boxes, {}, false);
    const double dec = since(t);
    t = Clock::now();
    at::Tensor up = train::upsampleLogits(o.lowResMasks, s);
    train::MaskLoss l = train::maskLoss(up, o.iou, (at::rand({objects, s, s}) > 0.5).to(at::kFloat));
    const double loss = since(t);
    t = Clock::now();
    l.total.backward();
    std::printf("one image, %lld box prompts: decode %.3f s, loss %.3f s, backward %.3f s\n", (long long)objects, dec,
                loss, since(t));
  }
  {  // the real sandwich step
    auto sets = std::vector<data::Dataset>{
        data::loadDataset("pennfudan:" + test::dataDir() + "/pennfudan:train,limit=16")};
    train::TrainConfig c;
    c.steps = steps + 1;
    c.batch = batch;
    c.prompts.maxObjects = objects;
    c.randomSubnets = 2;
    c.warmup = 1;
    supernet::SearchSpace space = arch.encoderDepth == 12 ? supernet::SearchSpace::official(arch)
                                                          : supernet::SearchSpace::widthOnly(arch);
    train::Trainer t(sam, space, {}, sets, {}, c);
    if (!quick) t.trainStep();  // warm-up
    double total = 0;
    for (int i = 0; i < steps; ++i) {
      train::StepStats st = t.trainStep();
      total += st.seconds;
      std::printf("step %d: %.2f s, loss %.3f, %lld objects\n", i, st.seconds, st.loss, (long long)st.objects);
    }
    std::printf("sandwich step (4 members, batch %lld): %.2f s mean\n", (long long)batch, total / steps);
  }
  return 0;
}
