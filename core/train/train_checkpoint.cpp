#include "core/train/train_checkpoint.h"

#include <mutex>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/optim/adamw.h>

#if __has_include("core/infer/model_loader.h")
#include "core/infer/model_loader.h"
#define SUPERSAM_HAVE_MODEL_LOADER 1
#endif
#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/util/error.h"
#include "core/util/json_guard.h"

namespace supersam::train {

namespace {

// The optimizer's per-parameter state is keyed by the parameter's TensorImpl: as its address printed to a string in
// LibTorch 1.13, as the pointer itself in 2.x. The key type is taken from the optimizer, not from a version number.
using StateKey = std::decay_t<decltype(std::declval<torch::optim::AdamW&>().state())>::key_type;

template <typename Key = StateKey>
Key stateKey(const at::Tensor& p) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream s;  // what c10::guts::to_string did in 1.13
    s << p.unsafeGetTensorImpl();
    return s.str();
  } else {
    return p.unsafeGetTensorImpl();
  }
}

bool isTrainerKey(const std::string& k) { return k.rfind(kTrainerPrefix, 0) == 0; }

}  // namespace

void saveTrainCheckpoint(const std::string& path, const model::Sam& sam, const torch::optim::AdamW& opt,
                         const NamedTensors& params, const std::map<std::string, std::string>& metadata,
                         const nlohmann::json& trainState) {
  NamedTensors tensors = io::stateDictOf(*sam);
  nlohmann::json state = trainState;
  nlohmann::json steps = nlohmann::json::object();
  for (const auto& [name, p] : params) {
    auto it = opt.state().find(stateKey(p));
    if (it == opt.state().end()) continue;  // never stepped
    const auto& s = static_cast<const torch::optim::AdamWParamState&>(*it->second);
    tensors.emplace_back(std::string(kTrainerPrefix) + "exp_avg." + name, s.exp_avg());
    tensors.emplace_back(std::string(kTrainerPrefix) + "exp_avg_sq." + name, s.exp_avg_sq());
    steps[name] = s.step();
  }
  state["adam_steps"] = steps;
  {
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    tensors.emplace_back(std::string(kTrainerPrefix) + "torch_generator", gen.get_state());
  }
  std::map<std::string, std::string> meta = metadata;
  meta["train_state"] = state.dump();
  io::saveSafetensors(path, tensors, meta);
}

LoadedTrainCheckpoint readTrainCheckpoint(const std::string& path, model::Sam& sam) {
  io::SafetensorsFile f = io::loadSafetensors(path);
  auto it = f.metadata.find("train_state");
  if (it == f.metadata.end()) {
    throw util::Error("training checkpoint " + path + ": no \"train_state\" metadata (not written by supersam train)");
  }
  LoadedTrainCheckpoint out;
  out.trainState = util::parseJson(it->second, "training checkpoint " + path + ": train_state");
  io::StateDict model;
  for (auto& [k, t] : f.tensors) {
    if (isTrainerKey(k)) {
      out.optimizerTensors.emplace_back(k, t);
    } else {
      model.emplace_back(k, t);
    }
  }
  io::loadStateDictInto(*sam, model, path);
  out.metadata = f.metadata;
  out.metadata.erase("train_state");
  return out;
}

void restoreOptimizer(torch::optim::AdamW& opt, const NamedTensors& params, const LoadedTrainCheckpoint& ck,
                      const std::string& path) {
  std::map<std::string, at::Tensor> byName(ck.optimizerTensors.begin(), ck.optimizerTensors.end());
  const nlohmann::json& steps = ck.trainState.at("adam_steps");
  opt.state().clear();
  for (const auto& [name, p] : params) {
    if (!steps.contains(name)) continue;
    auto a = byName.find(std::string(kTrainerPrefix) + "exp_avg." + name);
    auto b = byName.find(std::string(kTrainerPrefix) + "exp_avg_sq." + name);
    if (a == byName.end() || b == byName.end()) {
      throw util::Error("training checkpoint " + path + ": optimizer moments missing for parameter " + name);
    }
    if (a->second.sizes() != p.sizes() || b->second.sizes() != p.sizes()) {
      throw util::Error("training checkpoint " + path + ": optimizer moments of " + name + " have the wrong shape");
    }
    auto s = std::make_unique<torch::optim::AdamWParamState>();
    s->step(steps.at(name).get<int64_t>());
    s->exp_avg(a->second.to(p.device(), p.scalar_type()).clone());
    s->exp_avg_sq(b->second.to(p.device(), p.scalar_type()).clone());
    opt.state()[stateKey(p)] = std::move(s);
  }
}

TrainableModel loadTrainable(const std::string& path, const std::optional<std::string>& archOverride) {
  io::SafetensorsFile probe;
  bool isTrainCheckpoint = false;
  try {
    // Only our safetensors can be training checkpoints; anything else goes to the general loader.
    probe = io::loadSafetensors(path);
    isTrainCheckpoint = probe.metadata.count("train_state") > 0;
  } catch (const util::Error&) {
    isTrainCheckpoint = false;
  }
  TrainableModel out;
  if (isTrainCheckpoint) {
    auto archIt = probe.metadata.find("arch");
    if (archIt == probe.metadata.end()) {
      throw util::Error("training checkpoint " + path + ": no \"arch\" metadata");
    }
    out.sam = model::Sam(model::SamArch::fromJsonText(archIt->second, path));
    io::StateDict model;
    for (auto& [k, t] : probe.tensors) {
      if (!isTrainerKey(k)) model.emplace_back(k, t);
    }
    io::loadStateDictInto(*out.sam, model, path);
    out.metadata = probe.metadata;
    out.metadata.erase("train_state");
  } else {
#ifdef SUPERSAM_HAVE_MODEL_LOADER
    infer::LoadedModel m = infer::loadModel(path, archOverride);
    out.sam = m.sam;
    out.metadata = m.metadata;
    out.metadata["format"] = "supersam";
    out.metadata["arch"] = m.arch.toJsonText();
#else
    (void)archOverride;
    io::Checkpoint ck = io::readCheckpoint(path);
    auto archIt = ck.metadata.find("arch");
    if (archIt == ck.metadata.end()) throw util::Error(path + ": no \"arch\" metadata");
    out.sam = model::Sam(model::SamArch::fromJsonText(archIt->second, path));
    io::loadStateDictInto(*out.sam, ck.tensors, path);
    out.metadata = ck.metadata;
#endif
  }
  // fp16 files load into the fp32 model (loadStateDictInto converts); make sure everything trains in fp32.
  out.sam->to(at::kFloat);
  return out;
}

}  // namespace supersam::train
