#include "core/train/trainer.h"

#include <chrono>
#include <fstream>
#include <sstream>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/optim/adamw.h>

#include "core/eval/evaluator.h"
#include "core/infer/predictor.h"
#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/train/distributed.h"
#include "core/train/train_checkpoint.h"
#include "core/util/error.h"

namespace supersam::train {

namespace {

using Clock = std::chrono::steady_clock;

std::string rngText(const std::mt19937_64& rng) {
  std::ostringstream s;
  s << rng;
  return s.str();
}

// One prompt kind of one image: indices into its objects and the decoder inputs.
struct PromptGroup {
  bool boxes = true;
  at::Tensor index;   // [k] int64 into TrainImage::targets
  at::Tensor coords;  // [k,1,2] points or [k,4] boxes
  at::Tensor labels;  // [k,1] for points
};

std::vector<PromptGroup> groupPrompts(const TrainImage& img, c10::Device device) {
  std::vector<int64_t> boxIdx, pointIdx;
  std::vector<float> boxes, points;
  for (size_t i = 0; i < img.prompts.size(); ++i) {
    const ObjectPrompt& p = img.prompts[i];
    if (p.isBox) {
      boxIdx.push_back(static_cast<int64_t>(i));
      boxes.insert(boxes.end(), p.box.begin(), p.box.end());
    } else {
      pointIdx.push_back(static_cast<int64_t>(i));
      points.insert(points.end(), p.point.begin(), p.point.end());
    }
  }
  std::vector<PromptGroup> out;
  if (!boxIdx.empty()) {
    PromptGroup g;
    g.boxes = true;
    g.index = at::tensor(boxIdx, at::kLong).to(device);
    g.coords = at::tensor(boxes, at::kFloat).view({-1, 4}).to(device);
    out.push_back(g);
  }
  if (!pointIdx.empty()) {
    PromptGroup g;
    g.boxes = false;
    g.index = at::tensor(pointIdx, at::kLong).to(device);
    g.coords = at::tensor(points, at::kFloat).view({-1, 1, 2}).to(device);
    g.labels = at::ones({static_cast<int64_t>(pointIdx.size()), 1}, at::kFloat).to(device);
    out.push_back(g);
  }
  return out;
}

model::DecoderOutput decodeGroup(model::Sam& sam, const at::Tensor& emb, const PromptGroup& g) {
  if (g.boxes) return sam->decode(emb, {}, {}, g.coords, {}, /*multimask=*/false);
  return sam->decode(emb, g.coords, g.labels, {}, {}, /*multimask=*/true);
}

// Parameters and buffers (the prompt encoder's random Gaussian matrix is a buffer).
std::vector<at::Tensor> stateTensors(const model::Sam& sam) {
  std::vector<at::Tensor> all;
  for (const auto& p : sam->parameters()) all.push_back(p);
  for (const auto& b : sam->buffers()) all.push_back(b);
  return all;
}

}  // namespace

Trainer::Trainer(model::Sam sam, supernet::SearchSpace space, std::map<std::string, std::string> metadata,
                 std::vector<data::Dataset> trainSets, std::vector<data::Dataset> valSets, TrainConfig cfg,
                 Distributed* dist)
    : m_sam(std::move(sam)),
      m_space(std::move(space)),
      m_metadata(std::move(metadata)),
      m_trainSets(std::move(trainSets)),
      m_valSets(std::move(valSets)),
      m_cfg(std::move(cfg)),
      m_dist(dist),
      m_rng(mixSeed(m_cfg.seed, 0x5ab5e7ULL)) {
  const int world = m_dist ? m_dist->worldSize() : 1;
  if (m_cfg.batch < 1 || m_cfg.batch % world != 0) {
    throw util::Error("train: --batch " + std::to_string(m_cfg.batch) + " must be a positive multiple of the " +
                      std::to_string(world) + " processes");
  }
  if (m_cfg.steps < 1) throw util::Error("train: --steps must be >= 1");
  if (m_cfg.randomSubnets < 0) throw util::Error("train: --random-subnets must be >= 0");
  m_space.validateFor(m_sam->arch());
  m_schedule = WarmupCosine{m_cfg.lr, m_cfg.warmup, m_cfg.steps, m_cfg.minLrFactor};
  std::vector<const data::Dataset*> sets;
  for (const auto& d : m_trainSets) sets.push_back(&d);
  m_order = std::make_unique<DataOrder>(sets, m_cfg.seed);

  m_sam->to(m_cfg.device);
  m_sam->train();
  for (auto& item : m_sam->named_parameters()) {
    const std::string& k = item.key();
    bool trainable = (k.rfind("image_encoder.", 0) == 0 && m_cfg.trainImageEncoder) ||
                     (k.rfind("mask_decoder.", 0) == 0 && m_cfg.trainMaskDecoder) ||
                     (k.rfind("prompt_encoder.", 0) == 0 && m_cfg.trainPromptEncoder);
    item.value().set_requires_grad(trainable);
    if (trainable) m_params.emplace_back(k, item.value());
  }
  if (m_params.empty()) throw util::Error("train: nothing to train (encoder, decoder and prompt encoder frozen)");
  std::vector<at::Tensor> ps;
  for (auto& [k, p] : m_params) ps.push_back(p);
  m_opt = std::make_unique<torch::optim::AdamW>(
      ps, torch::optim::AdamWOptions(m_cfg.lr).weight_decay(m_cfg.weightDecay).betas({0.9, 0.999}));
  if (m_dist) {
    // Every rank starts from rank 0's weights and buffers (they differ if the ranks initialised differently).
    m_dist->broadcastFromRoot(stateTensors(m_sam));
  }
}

Trainer::~Trainer() = default;

bool Trainer::isRoot() const { return !m_dist || m_dist->rank() == 0; }

std::vector<std::pair<std::string, supernet::Subnet>> Trainer::validationSubnets() const {
  std::vector<supernet::SubnetBlock> mid;
  for (const auto& b : m_space.blocks()) mid.push_back({true, b.widths[(b.widths.size() - 1) / 2]});
  return {{"largest", m_space.largest()}, {"middle", supernet::Subnet(mid)}, {"smallest", m_space.smallest()}};
}

StepStats Trainer::trainStep() {
  const auto t0 = Clock::now();
  const int world = m_dist ? m_dist->worldSize() : 1;
  const int rank = m_dist ? m_dist->rank() : 0;
  const int64_t localBatch = m_cfg.batch / world;
  const model::SamArch& arch = m_sam->arch();
  const c10::Device dev = m_cfg.device;

  // This rank's shard of the global batch: positions step*B + rank*b + i.
  std::vector<TrainImage> images;
  for (int64_t i = 0; i < localBatch; ++i) {
    const int64_t pos = m_step * m_cfg.batch + rank * localBatch + i;
    images.push_back(makeTrainImage(m_order->at(pos), arch, m_cfg.prompts, m_order->promptSeed(pos), m_cfg.augment,
                                    &m_order->pasteSource(pos)));
  }
  std::vector<at::Tensor> inputs;
  for (const auto& im : images) inputs.push_back(im.input);
  const at::Tensor batch = at::stack(inputs).to(dev);
  std::vector<std::vector<PromptGroup>> groups;
  std::vector<at::Tensor> targets;
  StepStats stats;
  stats.step = m_step;
  for (const auto& im : images) {
    groups.push_back(groupPrompts(im, dev));
    targets.push_back(im.targets.to(dev));
    stats.objects += static_cast<int64_t>(im.prompts.size());
  }

  // The sandwich: same draws on every rank (same seed, same sequence).
  std::vector<std::pair<std::string, supernet::Subnet>> members = {{"largest", m_space.largest()},
                                                                   {"smallest", m_space.smallest()}};
  for (int64_t r = 0; r < m_cfg.randomSubnets; ++r) {
    members.emplace_back("random" + std::to_string(r + 1), m_space.sample(m_rng));
  }

  m_opt->zero_grad();
  // teacher[b][g]: the largest member's up-sampled logits for image b, prompt group g.
  std::vector<std::vector<at::Tensor>> teacher(images.size());
  for (size_t m = 0; m < members.size(); ++m) {
    const model::ElasticConfig cfg = members[m].second.toElastic();
    const at::Tensor emb = m_sam->encodeImage(batch, &cfg);
    at::Tensor total = at::zeros({}, batch.options());
    MemberStats ms;
    ms.name = members[m].first;
    ms.subnet = members[m].second.toString();
    int64_t counted = 0;
    for (size_t b = 0; b < images.size(); ++b) {
      const int64_t k = static_cast<int64_t>(images[b].prompts.size());
      if (k == 0) continue;
      const at::Tensor e = emb.narrow(0, static_cast<int64_t>(b), 1);
      for (size_t g = 0; g < groups[b].size(); ++g) {
        const PromptGroup& pg = groups[b][g];
        model::DecoderOutput out = decodeGroup(m_sam, e, pg);
        const at::Tensor logits = upsampleLogits(out.lowResMasks, arch.imageSize);
        const at::Tensor tgt = targets[b].index_select(0, pg.index);
        at::Tensor teach;
        if (m_cfg.distill && m > 0) teach = teacher[b][g];
        MaskLoss l = maskLoss(logits, out.iou, tgt, m_cfg.loss, teach);
        if (m_cfg.distill && m == 0) teacher[b].push_back(logits.detach());
        const double share = static_cast<double>(pg.index.size(0)) / static_cast<double>(k);
        total = total + l.total * share;  // the image's loss is the mean over its objects
        const double n = static_cast<double>(pg.index.size(0));
        ms.focal += l.focal * n, ms.dice += l.dice * n, ms.iou += l.iou * n, ms.distill += l.distill * n;
        ms.realIoU += l.realIoU * n;
        counted += pg.index.size(0);
      }
    }
    // Mean over the local images (images without objects count as zero), so that averaging over equal shards
    // equals the mean over the global batch.
    total = total / static_cast<double>(localBatch);
    if (total.requires_grad()) total.backward();
    ms.loss = total.item<double>();
    if (counted > 0) {
      const double c = static_cast<double>(counted);
      ms.focal /= c, ms.dice /= c, ms.iou /= c, ms.distill /= c, ms.realIoU /= c;
    }
    stats.loss += ms.loss;
    stats.members.push_back(ms);
  }

  // Parameters no member touched this step (e.g. the multimask tokens in a box-only batch) get a zero gradient,
  // so that every rank and every run applies the same AdamW update.
  std::vector<at::Tensor> grads;
  for (auto& [k, p] : m_params) {
    if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
    grads.push_back(p.grad());
  }
  if (m_dist && world > 1) m_dist->allReduceMean(grads);

  stats.lr = m_schedule.lr(m_step);
  for (auto& group : m_opt->param_groups()) group.options().set_lr(stats.lr);
  m_opt->step();
  ++m_step;
  m_lastLoss = stats.loss;
  stats.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return stats;
}

std::vector<ValScore> Trainer::validate() {
  std::vector<ValScore> out;
  if (m_valSets.empty()) return out;
  const model::SamArch& arch = m_sam->arch();
  if (!m_valBox) {
    eval::EvalProtocol p;
    p.maxImages = m_cfg.valImages;
    p.maxObjectsPerImage = m_cfg.prompts.maxObjects;
    p.promptKind = data::PromptKind::Box;
    m_valBox = std::make_unique<eval::PreparedEvalSet>(m_valSets, p, &arch);
    p.promptKind = data::PromptKind::Point;
    m_valPoint = std::make_unique<eval::PreparedEvalSet>(m_valSets, p, &arch);
  }
  m_sam->eval();
  infer::Predictor predictor(m_sam, m_cfg.device);
  for (const auto& [name, subnet] : validationSubnets()) {
    const model::ElasticConfig cfg = subnet.toElastic();
    eval::EvalResult box = eval::evaluate(predictor, cfg, *m_valBox);
    eval::EvalResult point = eval::evaluate(predictor, cfg, *m_valPoint);
    for (size_t d = 0; d < box.datasets.size(); ++d) {
      ValScore v;
      v.subnetName = name;
      v.subnet = subnet.toString();
      v.dataset = box.datasets[d].name;
      v.boxMIoU = box.datasets[d].miou.single;
      v.pointMIoU = point.datasets[d].miou.ranked;
      v.pointOracleMIoU = point.datasets[d].miou.oracle;
      v.objects = box.datasets[d].objects;
      out.push_back(v);
    }
  }
  m_sam->train();
  return out;
}

void Trainer::logJson(const nlohmann::json& j) const {
  if (m_cfg.logPath.empty() || !isRoot()) return;
  std::ofstream f(m_cfg.logPath, std::ios::app);
  if (!f) throw util::Error("train log " + m_cfg.logPath + ": cannot open for appending");
  f << j.dump() << "\n";
  f.flush();
  if (!f) throw util::Error("train log " + m_cfg.logPath + ": a line could not be written (disk full?)");
}

bool Trainer::run(const util::JobControl& job, const TrainEvents& events) {
  const auto start = Clock::now();
  const int64_t firstStep = m_step;
  auto doValidate = [&]() {
    if (!isRoot() || m_valSets.empty()) return;
    nlohmann::json j = {{"type", "val"}, {"step", m_step}};
    const std::vector<ValScore> scores = validate();
    if (events.onValidation) events.onValidation(m_step, scores);
    for (const ValScore& v : scores) {
      j["scores"].push_back({{"subnet", v.subnetName},
                             {"config", v.subnet},
                             {"dataset", v.dataset},
                             {"box_miou", v.boxMIoU},
                             {"point_miou", v.pointMIoU},
                             {"point_oracle_miou", v.pointOracleMIoU},
                             {"objects", v.objects}});
    }
    logJson(j);
  };
  auto doCheckpoint = [&]() {
    if (!m_cfg.checkpointPath.empty() && isRoot()) {
      saveCheckpoint(m_cfg.checkpointPath);
      if (events.onCheckpoint) events.onCheckpoint(m_step, m_cfg.checkpointPath);
    }
    if (m_dist) m_dist->barrier();
  };

  while (m_step < m_cfg.steps) {
    // Cancellation is agreed on by every rank so that all stop at the same step.
    bool cancel = job.cancelled();
    if (m_dist && m_dist->worldSize() > 1) {
      at::Tensor flag = at::full({1}, cancel ? 1.0f : 0.0f);
      m_dist->allReduceSum(flag);
      cancel = flag.item<float>() > 0;
    }
    if (cancel) {
      doCheckpoint();
      logJson({{"type", "cancelled"}, {"step", m_step}});
      return false;
    }
    StepStats s = trainStep();
    nlohmann::json j = {{"type", "step"}, {"step", s.step}, {"lr", s.lr}, {"loss", s.loss},
                        {"objects", s.objects}, {"seconds", s.seconds}};
    for (const MemberStats& m : s.members) {
      j["members"].push_back({{"name", m.name}, {"subnet", m.subnet}, {"loss", m.loss}, {"focal", m.focal},
                              {"dice", m.dice}, {"iou_mse", m.iou}, {"distill", m.distill},
                              {"train_iou", m.realIoU}});
    }
    logJson(j);
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const double rate = static_cast<double>(m_step - firstStep) / std::max(1e-9, elapsed);
    std::ostringstream status;
    status.precision(4);
    status << "loss " << s.loss << "  lr " << s.lr << "  " << rate << " steps/s";
    if (events.onStep && isRoot()) events.onStep(s);
    job.report(m_step, m_cfg.steps, status.str());
    if (m_cfg.checkpointEvery > 0 && m_step % m_cfg.checkpointEvery == 0 && m_step < m_cfg.steps) doCheckpoint();
    if (m_cfg.validateEvery > 0 && m_step % m_cfg.validateEvery == 0 && m_step < m_cfg.steps) doValidate();
  }
  doCheckpoint();
  doValidate();
  return true;
}

void Trainer::saveCheckpoint(const std::string& path) const {
  nlohmann::json state = {{"step", m_step},
                          {"seed", m_cfg.seed},
                          {"rng", rngText(m_rng)},
                          {"batch", m_cfg.batch},
                          {"steps", m_cfg.steps},
                          {"world_size", m_dist ? m_dist->worldSize() : 1}};
  std::map<std::string, std::string> meta = m_metadata;
  saveTrainCheckpoint(path, m_sam, *m_opt, m_params, meta, state);
}

void Trainer::resume(const std::string& path) {
  LoadedTrainCheckpoint ck = readTrainCheckpoint(path, m_sam);
  const nlohmann::json& st = ck.trainState;
  try {
    m_step = st.at("step").get<int64_t>();
    if (st.at("seed").get<uint64_t>() != m_cfg.seed) {
      throw util::Error("training checkpoint " + path + ": written with --seed " +
                        std::to_string(st.at("seed").get<uint64_t>()) + ", resumed with --seed " +
                        std::to_string(m_cfg.seed) + " (the data order would differ)");
    }
    if (st.at("batch").get<int64_t>() != m_cfg.batch) {
      throw util::Error("training checkpoint " + path + ": written with --batch " +
                        std::to_string(st.at("batch").get<int64_t>()) + ", resumed with --batch " +
                        std::to_string(m_cfg.batch));
    }
    std::istringstream rs(st.at("rng").get<std::string>());
    rs >> m_rng;
    if (!rs) throw util::Error("training checkpoint " + path + ": bad RNG state text");
  } catch (const nlohmann::json::exception& e) {
    throw util::Error("training checkpoint " + path + ": bad train_state: " + e.what());
  }
  restoreOptimizer(*m_opt, m_params, ck, path);
  for (const auto& [k, t] : ck.optimizerTensors) {
    if (k == std::string(kTrainerPrefix) + "torch_generator") {
      at::Generator gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(t);
    }
  }
  if (m_dist) {
    m_dist->broadcastFromRoot(stateTensors(m_sam));
  }
}

void Trainer::saveSupernet(const std::string& path, bool fp16) const {
  io::StateDict sd = io::stateDictOf(*m_sam);
  for (auto& [k, t] : sd) {
    t = t.detach().to(at::kCPU);
    if (fp16 && t.is_floating_point()) t = t.to(at::kHalf);
  }
  std::map<std::string, std::string> meta = m_metadata;
  meta["format"] = "supersam";
  meta["arch"] = m_sam->arch().toJsonText();
  nlohmann::json summary = {{"steps", m_step},
                            {"batch", m_cfg.batch},
                            {"lr", m_cfg.lr},
                            {"random_subnets", m_cfg.randomSubnets},
                            {"distill", m_cfg.distill},
                            {"seed", m_cfg.seed},
                            {"final_loss", m_lastLoss}};
  for (const auto& d : m_trainSets) summary["datasets"].push_back(d.spec.empty() ? d.name : d.spec);
  meta["training"] = summary.dump();
  io::saveSafetensors(path, sd, meta);
}

}  // namespace supersam::train
