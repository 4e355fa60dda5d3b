// A real kill: the `supersam train` program is started as a child process, SIGKILLed mid-run (checkpoint every
// step, so kills land during steps and during checkpoint writes), and the checkpoint must still load and resume.
// Also: SIGINT stops cleanly with exit status 130 and a checkpoint of the last completed step.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/io/safetensors.h"
#include "core/model/sam.h"
#include "core/train/train_checkpoint.h"
#include "tests/common/cli.h"
#include "tests/common/test_paths.h"

using namespace supersam;
namespace fs = std::filesystem;

namespace {

std::string cliPath() { return test::supersamPath(); }

pid_t spawn(const std::vector<std::string>& args, const std::string& logFile) {
  pid_t pid = ::fork();
  if (pid == 0) {
    FILE* f = std::freopen(logFile.c_str(), "w", stderr);
    (void)f;
    std::freopen("/dev/null", "w", stdout);
    std::vector<std::string> a = args;
    std::vector<char*> argv;
    for (auto& s : a) argv.push_back(s.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::_Exit(127);
  }
  return pid;
}

int waitExit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int64_t checkpointStep(const std::string& path) {
  io::SafetensorsFile f = io::loadSafetensors(path);
  return nlohmann::json::parse(f.metadata.at("train_state")).at("step").get<int64_t>();
}

// Waits until the checkpoint exists and has reached `step`; false after `seconds`.
bool waitForStep(const std::string& path, int64_t step, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    try {
      if (fs::exists(path) && checkpointStep(path) >= step) return true;
    } catch (const std::exception&) {
      // a reader may race the rename; try again
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::vector<std::string> trainArgs(const std::string& dir, int steps) {
  return {cliPath(), "train", "--supernet", dir + "/init.safetensors", "--dataset",
          "pennfudan:" + test::dataDir() + "/pennfudan:train,limit=2", "--out", dir + "/out.safetensors",
          "--steps", std::to_string(steps), "--batch", "1", "--objects", "2", "--random-subnets", "0",
          "--checkpoint-every", "1", "--threads", "1", "--quiet", "--log", dir + "/log.jsonl"};
}

std::string makeInit(const std::string& dir) {
  pid_t p = spawn({cliPath(), "train", "--arch", test::fixturesDir() + "/tiny/arch.json", "--steps", "0", "--out",
                   dir + "/init.safetensors"},
                  dir + "/init.log");
  EXPECT_EQ(waitExit(p), 0);
  return dir + "/init.safetensors";
}

}  // namespace

TEST(TrainKill, SigkillNeverCorruptsTheCheckpointAndResumeFinishes) {
  const std::string dir = test::tempDir("train_kill");
  makeInit(dir);
  const std::string ck = dir + "/out.safetensors.ckpt";
  for (int delayMs : {0, 37}) {  // two kills at different phases of a step / of a checkpoint write
    std::vector<std::string> args = trainArgs(dir, 200);
    if (fs::exists(ck)) args.push_back("--resume");
    const int64_t before = fs::exists(ck) ? checkpointStep(ck) : 0;
    pid_t pid = spawn(args, dir + "/run.log");
    ASSERT_TRUE(waitForStep(ck, before + 2, 60)) << "no checkpoint progress; see " << dir << "/run.log";
    std::this_thread::sleep_for(std::chrono::milliseconds(delayMs));
    ::kill(pid, SIGKILL);
    EXPECT_EQ(waitExit(pid), 128 + SIGKILL);
    // The checkpoint is whole: it parses, and its weights and optimizer state load into the model.
    const int64_t step = checkpointStep(ck);
    EXPECT_GE(step, before + 2);
    model::Sam sam(model::SamArch::fromFile(test::fixturesDir() + "/tiny/arch.json"));
    train::LoadedTrainCheckpoint loaded = train::readTrainCheckpoint(ck, sam);
    EXPECT_FALSE(loaded.optimizerTensors.empty());
  }
  // Resume to the end.
  const int64_t at = checkpointStep(ck);
  std::vector<std::string> args = trainArgs(dir, static_cast<int>(at + 2));
  args.push_back("--resume");
  pid_t pid = spawn(args, dir + "/resume.log");
  ASSERT_EQ(waitExit(pid), 0) << "see " << dir << "/resume.log";
  EXPECT_EQ(checkpointStep(ck), at + 2);
  EXPECT_TRUE(fs::exists(dir + "/out.safetensors"));
}

TEST(TrainKill, SigintStopsCleanlyWithACheckpoint) {
  const std::string dir = test::tempDir("train_sigint");
  makeInit(dir);
  const std::string ck = dir + "/out.safetensors.ckpt";
  pid_t pid = spawn(trainArgs(dir, 500), dir + "/run.log");
  ASSERT_TRUE(waitForStep(ck, 1, 60)) << "see " << dir << "/run.log";
  ::kill(pid, SIGINT);
  EXPECT_EQ(waitExit(pid), 130);
  const int64_t step = checkpointStep(ck);
  EXPECT_GE(step, 1);
  EXPECT_LT(step, 500);
  EXPECT_FALSE(fs::exists(dir + "/out.safetensors"));  // not finished: no output model
}
