#pragma once
// The tiny reference SAM (random weights) loaded once per test binary, with its inputs and reference outputs.
// Header-only so both test_model and test_infer use it.
#include <string>

#include <torch/nn/module.h>

#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/model/sam.h"
#include "core/util/runtime.h"
#include "tests/common/test_paths.h"

namespace supersam::test {

struct TinyFixture {
  model::SamArch arch;
  model::Sam sam{nullptr};
  io::SafetensorsFile inputs, outputs;
};

// Loads ../shared/fixtures/sam-reference/tiny (checkpoint.pth through io::readCheckpoint + loadStateDictInto).
inline TinyFixture& tinyFixture() {
  static TinyFixture f = [] {
    util::setThreads(2);
    const std::string dir = fixturesDir() + "/tiny";
    TinyFixture t;
    t.arch = model::SamArch::fromFile(dir + "/arch.json");
    t.sam = model::Sam(t.arch);
    io::Checkpoint ck = io::readCheckpoint(dir + "/checkpoint.pth");
    io::loadStateDictInto(*t.sam, ck.tensors, ck.path);
    t.sam->eval();
    t.inputs = io::loadSafetensors(dir + "/inputs.safetensors");
    t.outputs = io::loadSafetensors(dir + "/outputs.safetensors");
    return t;
  }();
  return f;
}

}  // namespace supersam::test
