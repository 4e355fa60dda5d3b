// The pipelines the CLI and the studio share (core/pipeline): training reports typed per-step events; a cancelled
// training leaves a checkpoint and no output, and resuming it ends bitwise where an uncancelled run ends; a cancelled
// calibration writes nothing; a dataset folder is recognised by its layout (the five labelled sets of the data
// directory, a plain images/masks folder with .jpg masks).
#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/data/dataset_spec.h"
#include "core/io/safetensors.h"
#include "core/pipeline/calibrate_job.h"
#include "core/pipeline/train_job.h"
#include "core/util/error.h"
#include "core/util/runtime.h"
#include "tests/common/test_paths.h"

using namespace supersam;
namespace fs = std::filesystem;

namespace {

std::string tinyCheckpoint() { return test::fixturesDir() + "/tiny/checkpoint.pth"; }
std::string tinyArch() { return test::fixturesDir() + "/tiny/arch.json"; }
std::string pennfudan(int limit) {
  return "pennfudan:" + test::dataDir() + "/pennfudan:train,limit=" + std::to_string(limit);
}

pipeline::TrainJob tinyJob(const std::string& out, int64_t steps) {
  pipeline::TrainJob job;
  job.supernet = tinyCheckpoint();
  job.arch = tinyArch();
  job.dataset = pennfudan(2);
  job.out = out;
  job.config.steps = steps;
  job.config.batch = 1;
  job.config.lr = 1e-3;
  job.config.warmup = 1;
  job.config.randomSubnets = 1;
  job.config.prompts.maxObjects = 2;
  job.config.checkpointEvery = 0;
  job.config.seed = 5;
  return job;
}

std::map<std::string, at::Tensor> weights(const std::string& path) {
  std::map<std::string, at::Tensor> out;
  for (auto& [name, t] : io::loadSafetensors(path).tensors) out[name] = t;
  return out;
}

}  // namespace

TEST(TrainPipeline, EventsThenCancelLeavesACheckpointAndNoOutputAndResumeIsExact) {
  util::setThreads(1);
  const std::string dir = test::tempDir("pipeline-train");
  // Reference: 3 steps straight.
  const pipeline::TrainOutcome ref = pipeline::trainSupernet(tinyJob(dir + "/ref.safetensors", 3), {});
  ASSERT_TRUE(ref.finished);
  ASSERT_TRUE(fs::exists(dir + "/ref.safetensors"));

  // The same run, cancelled after its first step (the token is set from the step event).
  util::CancelToken token;
  util::JobControl control;
  control.cancel = &token;
  std::vector<int64_t> steps;
  std::vector<size_t> members;
  std::vector<int64_t> checkpoints;
  train::TrainEvents events;
  events.onStep = [&](const train::StepStats& s) {
    steps.push_back(s.step);
    members.push_back(s.members.size());
    EXPECT_TRUE(std::isfinite(s.loss));
    if (s.step == 0) token.cancel();  // StepStats::step is 0-based: the first step
  };
  events.onCheckpoint = [&](int64_t step, const std::string&) { checkpoints.push_back(step); };
  const std::string out = dir + "/run.safetensors";
  const std::string log = dir + "/run.jsonl";
  pipeline::TrainJob first = tinyJob(out, 3);
  first.config.logPath = log;
  const pipeline::TrainOutcome stopped = pipeline::trainSupernet(first, control, events);
  EXPECT_FALSE(stopped.finished);
  EXPECT_EQ(stopped.step, 1);
  EXPECT_EQ(steps, std::vector<int64_t>{0});
  ASSERT_EQ(members.size(), 1u);
  EXPECT_EQ(members[0], 3u) << "largest + smallest + one random subnet";
  EXPECT_EQ(checkpoints, std::vector<int64_t>{1});
  EXPECT_FALSE(fs::exists(out)) << "a cancelled run wrote its final output";
  EXPECT_EQ(stopped.checkpoint, out + ".ckpt");
  ASSERT_TRUE(fs::exists(stopped.checkpoint));

  // A killed process would have logged steps after the checkpoint, and maybe half a line.
  {
    std::ofstream f(log, std::ios::app);
    f << R"({"type": "step", "step": 1, "loss": 9})" << "\n" << R"({"type": "st)";
  }
  // Resume: continues at step 2 and ends where the straight run ended, bit for bit.
  pipeline::TrainJob resume = tinyJob(out, 3);
  resume.config.logPath = log;
  resume.resume = true;
  std::vector<std::string> notes;
  const pipeline::TrainOutcome done =
      pipeline::trainSupernet(resume, {}, {}, [&](const std::string& s) { notes.push_back(s); });
  ASSERT_TRUE(done.finished);
  EXPECT_EQ(done.step, 3);
  ASSERT_TRUE(fs::exists(out));
  bool saidResumed = false;
  for (const auto& n : notes) saidResumed |= n.find("resumed at step 1") != std::string::npos;
  EXPECT_TRUE(saidResumed);
  // The log lists each step once.
  std::ifstream logIn(log);
  std::vector<int64_t> logged;
  for (std::string line; std::getline(logIn, line);) {
    const nlohmann::json j = nlohmann::json::parse(line);
    if (j.at("type") == "step") logged.push_back(j.at("step").get<int64_t>());
  }
  EXPECT_EQ(logged, (std::vector<int64_t>{0, 1, 2}));
  const auto a = weights(dir + "/ref.safetensors"), b = weights(out);
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) {
    ASSERT_TRUE(b.count(name)) << name;
    EXPECT_TRUE(at::equal(t, b.at(name))) << name << " differs after cancel + resume";
  }
}

TEST(TrainPipeline, BadRequestsNameWhatIsWrongBeforeTraining) {
  const std::string dir = test::tempDir("pipeline-train-bad");
  pipeline::TrainJob job = tinyJob(dir + "/x.safetensors", 1);
  job.resume = true;
  try {
    pipeline::trainSupernet(job, {});
    FAIL() << "resumed without a checkpoint";
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find("x.safetensors.ckpt"), std::string::npos) << e.what();
  }
  job = tinyJob(dir, 1);  // a folder as the output
  EXPECT_THROW(pipeline::trainSupernet(job, {}), util::Error);
  EXPECT_TRUE(fs::is_directory(dir));
  // An empty folder given as the log was once deleted and replaced by the log file.
  const std::string logDir = dir + "/logs";
  fs::create_directories(logDir);
  job = tinyJob(dir + "/y.safetensors", 1);
  job.config.logPath = logDir;
  try {
    pipeline::trainSupernet(job, {});
    FAIL() << "trained with a folder as its log";
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find("is a folder"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::is_directory(logDir));
}

TEST(CalibratePipeline, CancelledWritesNothingAndProgressOnlyMovesForward) {
  util::setThreads(1);
  const std::string dir = test::tempDir("pipeline-calibrate");
  pipeline::CalibrateJob job;
  job.checkpoint = tinyCheckpoint();
  job.arch = tinyArch();
  job.dataset = pennfudan(2);
  job.maxImages = 2;
  job.maxObjects = 2;
  job.out = dir + "/cal.safetensors";
  util::CancelToken token;
  util::JobControl control;
  control.cancel = &token;
  long long last = -1;
  bool backwards = false;
  control.progress = [&](long long done, long long total, const std::string&) {
    EXPECT_EQ(total, util::kPhaseUnits);
    backwards |= done < last;
    last = done;
    if (done >= util::kPhaseUnits / 2) token.cancel();  // half-way: during the sensitivity
  };
  EXPECT_THROW(pipeline::calibrateCheckpoint(job, control), util::Cancelled);
  EXPECT_FALSE(backwards);
  EXPECT_FALSE(fs::exists(job.out));
  for (const auto& e : fs::directory_iterator(dir)) ADD_FAILURE() << "left behind: " << e.path();

  // Uncancelled: the file appears and the bar ends at 100 %.
  token.reset();
  last = -1;
  control.progress = [&](long long done, long long, const std::string&) {
    backwards |= done < last;
    last = done;
  };
  const pipeline::CalibrateOutcome o = pipeline::calibrateCheckpoint(job, control);
  EXPECT_FALSE(backwards);
  EXPECT_EQ(last, util::kPhaseUnits);
  EXPECT_TRUE(fs::exists(job.out));
  EXPECT_EQ(o.images, 2);
}

TEST(DatasetSpec, TheFiveLabelledSetsAreRecognisedByTheirLayout) {
  const std::string d = test::dataDir();
  const std::map<std::string, std::string> want = {
      {"dsb2018-nuclei", "dsb2018:"}, {"pennfudan", "pennfudan:"}, {"isbi2012-em", "isbi2012:"},
      {"ecssd", "masks:"}, {"coco-mval", "masks:"}};
  for (const auto& [folder, kind] : want) {
    ASSERT_TRUE(fs::exists(d + "/" + folder)) << "data set missing: " << d << "/" << folder;
    std::string spec;
    ASSERT_NO_THROW(spec = data::detectDatasetSpec(d + "/" + folder)) << folder;
    EXPECT_EQ(spec.rfind(kind, 0), 0u) << folder << " -> " << spec;
    // The spec loads, with objects.
    data::Dataset set = data::loadDataset(spec + ",limit=2");
    EXPECT_GT(set.samples.size(), 0u) << spec;
    EXPECT_GT(set.objectCount(), 0) << spec;
  }
  const std::string empty = test::tempDir("dataset-spec-empty");
  try {
    data::detectDatasetSpec(empty);
    FAIL() << "an empty folder was taken as a dataset";
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find(empty), std::string::npos) << e.what();
  }
}

TEST(DatasetSpec, ImagesWithJpegMasksNeedNoConversion) {
  const std::string root = test::tempDir("dataset-jpg-masks");
  fs::create_directories(root + "/images");
  fs::create_directories(root + "/masks");
  for (int i = 0; i < 2; ++i) {
    cv::Mat img(40, 60, CV_8UC3, cv::Scalar(30, 60, 90));
    cv::Mat mask = cv::Mat::zeros(40, 60, CV_8UC1);
    cv::rectangle(mask, cv::Rect(10 + i, 8, 20, 15), cv::Scalar(255), cv::FILLED);
    ASSERT_TRUE(cv::imwrite(root + "/images/h" + std::to_string(i) + ".jpg", img));
    ASSERT_TRUE(cv::imwrite(root + "/masks/h" + std::to_string(i) + ".jpg", mask));  // lossy, as the horses ship
  }
  const std::string spec = data::detectDatasetSpec(root);
  EXPECT_EQ(spec.rfind("masks:", 0), 0u) << spec;
  data::Dataset set = data::loadDataset(spec);
  ASSERT_EQ(set.samples.size(), 2u);
  EXPECT_EQ(set.objectCount(), 2);
}
