// Pre-encoding a folder (pipeline::embedFolder, `supersam embed`): a second pass reuses every entry and they are the
// embeddings the predictor computes for the subnet; another subnet or a changed image encodes again; an unreadable
// image is reported by name while the rest are stored; a cancelled job keeps what it stored and a re-run encodes only
// the rest; the command line end to end with its exit codes for bad inputs.
#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/data/dataset.h"
#include "core/infer/model_loader.h"
#include "core/infer/predictor.h"
#include "core/pipeline/embed_job.h"
#include "core/supernet/supernet_info.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "core/util/runtime.h"
#include "tests/common/cli.h"
#include "tests/common/test_paths.h"

using namespace supersam;
namespace fs = std::filesystem;

namespace {

std::string demoCheckpoint() { return std::string(SUPERSAM_SOURCE_DIR) + "/resources/models/demo_supernet.safetensors"; }

// `n` ECSSD photos copied into a fresh folder (real JPEGs of different sizes).
std::string photoFolder(const std::string& name, int n) {
  const std::string dir = test::tempDir(name) + "/images";
  fs::create_directories(dir);
  const std::string src = test::dataDir() + "/ecssd/images";
  for (int i = 1; i <= n; ++i) {
    char file[32];
    std::snprintf(file, sizeof file, "%04d.jpg", i);
    fs::copy_file(src + "/" + file, dir + "/" + file);
  }
  return dir;
}

pipeline::EmbedJob jobFor(const std::string& folder, const std::string& cache) {
  pipeline::EmbedJob job;
  job.checkpoint = demoCheckpoint();
  job.folder = folder;
  job.cacheDir = cache;
  job.maxCacheBytes = 64 << 20;
  return job;
}

}  // namespace

TEST(EmbedJob, SecondPassReusesEveryEntryAndTheyAreThePredictorsEmbeddings) {
  util::setThreads(2);
  const std::string folder = photoFolder("embed-reuse", 3);
  const std::string cache = fs::path(folder).parent_path().string() + "/cache";
  pipeline::EmbedJob job = jobFor(folder, cache);
  job.subnet = "smallest";
  std::vector<pipeline::EmbedOutcome> outcomes;
  const auto first = pipeline::embedFolder(job, {}, [&](const pipeline::EmbedImageEvent& e) {
    outcomes.push_back(e.outcome);
  });
  EXPECT_EQ(first.images, 3);
  EXPECT_EQ(first.encoded, 3);
  EXPECT_EQ(first.reused, 0);
  EXPECT_EQ(first.failed, 0);
  EXPECT_FALSE(first.cancelled);
  EXPECT_EQ(outcomes, std::vector<pipeline::EmbedOutcome>(3, pipeline::EmbedOutcome::Encoded));
  EXPECT_EQ(first.cacheBytes, first.bytesWritten);

  const auto second = pipeline::embedFolder(job, {});
  EXPECT_EQ(second.encoded, 0);
  EXPECT_EQ(second.reused, 3);
  EXPECT_EQ(second.bytesWritten, 0);
  EXPECT_TRUE(first.modelBuilt);
  EXPECT_FALSE(second.modelBuilt);  // everything cached: the model is never built

  // The stored entry of the first photo is what the predictor computes with the smallest subnet.
  infer::LoadedModel loaded = infer::loadModel(demoCheckpoint());
  const supernet::Subnet smallest =
      supernet::resolveSubnet("smallest", supernet::readSupernetInfo(loaded.metadata, loaded.arch).space, loaded.arch);
  EXPECT_EQ(second.subnet, smallest.toString());
  const std::string photo = folder + "/0001.jpg";
  infer::Predictor predictor(loaded.sam);
  predictor.setImage(data::loadImageRgb(photo), smallest.toElastic());
  const infer::EmbeddingCache store(cache, 64 << 20);
  const auto hit = store.get(
      pipeline::embeddingKeyFor(infer::hashFile(photo), second.modelFingerprint, smallest, loaded.arch), loaded.arch);
  ASSERT_TRUE(hit.has_value());
  EXPECT_TRUE(at::equal(hit->embedding, predictor.embedding()));
  EXPECT_EQ(hit->originalHW, predictor.originalSize());

  // Another subnet is another set of entries; one rewritten image is encoded again, the others reused.
  job.subnet = "";
  EXPECT_EQ(pipeline::embedFolder(job, {}).encoded, 3);
  cv::Mat m = cv::imread(photo);
  m.at<cv::Vec3b>(0, 0)[0] ^= 0x10;
  ASSERT_TRUE(cv::imwrite(folder + "/0002.jpg", m));
  const auto third = pipeline::embedFolder(job, {});
  EXPECT_EQ(third.encoded, 1);
  EXPECT_EQ(third.reused, 2);
}

TEST(EmbedJob, AnUnreadableImageIsReportedByNameAndTheRestAreStored) {
  const std::string folder = photoFolder("embed-bad", 2);
  std::ofstream(folder + "/0000-broken.png") << "not a png";
  const std::string cache = fs::path(folder).parent_path().string() + "/cache";
  const auto s = pipeline::embedFolder(jobFor(folder, cache), {});
  EXPECT_EQ(s.images, 3);
  EXPECT_EQ(s.encoded, 2);
  EXPECT_EQ(s.failed, 1);
  ASSERT_EQ(s.failures.size(), 1u);
  EXPECT_NE(s.failures[0].reason.find("0000-broken.png"), std::string::npos) << s.failures[0].reason;
}

TEST(EmbedJob, ACancelledJobKeepsItsEntriesAndAReRunEncodesOnlyTheRest) {
  const std::string folder = photoFolder("embed-cancel", 4);
  const std::string cache = fs::path(folder).parent_path().string() + "/cache";
  util::CancelToken token;
  util::JobControl control;
  control.cancel = &token;
  std::vector<long long> progress;
  control.progress = [&](long long done, long long, const std::string&) { progress.push_back(done); };
  const auto cancelled = pipeline::embedFolder(jobFor(folder, cache), control, [&](const pipeline::EmbedImageEvent& e) {
    if (e.index == 1) token.cancel();
  });
  EXPECT_TRUE(cancelled.cancelled);
  EXPECT_EQ(cancelled.encoded, 2);
  EXPECT_EQ(infer::EmbeddingCache(cache, 64 << 20).entryCount(), 2);
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back(), 2);

  std::vector<std::string> encodedNames;
  const auto resumed = pipeline::embedFolder(jobFor(folder, cache), {}, [&](const pipeline::EmbedImageEvent& e) {
    if (e.outcome == pipeline::EmbedOutcome::Encoded) encodedNames.push_back(fs::path(e.path).filename().string());
  });
  EXPECT_FALSE(resumed.cancelled);
  EXPECT_EQ(resumed.reused, 2);
  EXPECT_EQ(resumed.encoded, 2);
  EXPECT_EQ(encodedNames, (std::vector<std::string>{"0003.jpg", "0004.jpg"}));
}

TEST(EmbedJob, BadInputsAreErrorsNamingTheValue) {
  const std::string dir = test::tempDir("embed-errors");
  fs::create_directories(dir + "/empty");
  const auto message = [](const pipeline::EmbedJob& job) -> std::string {
    try {
      pipeline::embedFolder(job, {});
    } catch (const util::Error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(message(jobFor(dir + "/nope", dir + "/c")).find(dir + "/nope"), std::string::npos);
  EXPECT_NE(message(jobFor(dir + "/empty", dir + "/c")).find("no images"), std::string::npos);
  const std::string photos = photoFolder("embed-errors-photos", 1);
  pipeline::EmbedJob bad = jobFor(photos, dir + "/c");
  bad.subnet = "12,x";
  EXPECT_NE(message(bad).find("12,x"), std::string::npos) << message(bad);
  bad = jobFor(photos, dir + "/c");
  bad.checkpoint = dir + "/missing.safetensors";
  EXPECT_NE(message(bad).find("missing.safetensors"), std::string::npos);
  // A checkpoint that does not fit the arch it is told: an error of the job (at the first image to encode), not a
  // failure of that image.
  bad = jobFor(photos, dir + "/c");
  bad.arch = "vit_b";
  EXPECT_NE(message(bad).find("does not fit the architecture"), std::string::npos) << message(bad);
}

TEST(EmbedCli, EndToEndWithExitCodes) {
  const std::string folder = photoFolder("embed-cli", 2);
  const std::string root = fs::path(folder).parent_path().string();
  const std::string common = "embed --checkpoint '" + demoCheckpoint() + "' --cache '" + root + "/cache' --threads 2";

  const auto first = test::runSupersam(common + " --folder '" + folder + "'");
  EXPECT_EQ(first.rc, 0) << first.output;
  EXPECT_NE(first.output.find("encoded 2, reused 0, failed 0"), std::string::npos) << first.output;
  EXPECT_NE(first.output.find("[2/2] encoded 0002.jpg"), std::string::npos) << first.output;
  const auto second = test::runSupersam(common + " --folder '" + folder + "'");
  EXPECT_EQ(second.rc, 0) << second.output;
  EXPECT_NE(second.output.find("encoded 0, reused 2, failed 0"), std::string::npos) << second.output;
  EXPECT_NE(second.output.find("cache read"), std::string::npos) << second.output;

  const auto missing = test::runSupersam(common + " --folder '" + root + "/nope'");
  EXPECT_EQ(missing.rc, 1) << missing.output;
  EXPECT_NE(missing.output.find(root + "/nope"), std::string::npos) << missing.output;
  fs::create_directories(root + "/empty");
  const auto empty = test::runSupersam(common + " --folder '" + root + "/empty'");
  EXPECT_EQ(empty.rc, 1) << empty.output;
  EXPECT_NE(empty.output.find("no images"), std::string::npos) << empty.output;
  const auto badSubnet = test::runSupersam(common + " --folder '" + folder + "' --subnet 7,7,7");
  EXPECT_EQ(badSubnet.rc, 1) << badSubnet.output;
  EXPECT_NE(badSubnet.output.find("7,7,7"), std::string::npos) << badSubnet.output;
  const auto badLimit = test::runSupersam(common + " --folder '" + folder + "' --max-cache-mb 0");
  EXPECT_EQ(badLimit.rc, 1) << badLimit.output;
  EXPECT_NE(badLimit.output.find("--max-cache-mb"), std::string::npos) << badLimit.output;

  // One broken image: the other two are still done (reused), the broken one is named, exit 1.
  std::ofstream(folder + "/broken.jpg") << "not a jpeg";
  const auto broken = test::runSupersam(common + " --folder '" + folder + "'");
  EXPECT_EQ(broken.rc, 1) << broken.output;
  EXPECT_NE(broken.output.find("reused 2, failed 1"), std::string::npos) << broken.output;
  EXPECT_NE(broken.output.find("FAILED  broken.jpg"), std::string::npos) << broken.output;
}

TEST(EmbedCli, SigintStopsBetweenImagesKeepsTheEntriesAndAReRunEncodesTheRest) {
  const std::string folder = photoFolder("embed-sigint", 12);
  const std::string root = fs::path(folder).parent_path().string();
  const std::string cmd = "'" + test::supersamPath() + "' embed --checkpoint '" + demoCheckpoint() + "' --cache '" +
                          root + "/cache' --threads 1 --folder '" + folder + "'";
  // Started in the background; SIGINT as soon as the first image is reported.
  const std::string script = cmd + " > '" + root + "/log' 2>&1 & pid=$!; "
                             "while ! grep -q '^\\[1/12\\]' '" + root + "/log' 2>/dev/null; do "
                             "kill -0 $pid 2>/dev/null || break; sleep 0.01; done; "
                             "kill -INT $pid; wait $pid; echo rc=$?";
  {
    std::ofstream(root + "/run.sh") << script << "\n";
  }
  FILE* p = popen(("bash '" + root + "/run.sh'").c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[256];
  while (fgets(buf, sizeof buf, p)) out += buf;
  pclose(p);
  const std::string log = util::readFileBytes(root + "/log");
  EXPECT_NE(out.find("rc=130"), std::string::npos) << out << log;
  EXPECT_NE(log.find("cancelled"), std::string::npos) << log;
  const int64_t kept = infer::EmbeddingCache(root + "/cache", 64 << 20).entryCount();
  EXPECT_GE(kept, 1);
  EXPECT_LT(kept, 12);

  const auto rerun = test::runSupersam(cmd.substr(cmd.find(" embed ")));
  EXPECT_EQ(rerun.rc, 0) << rerun.output;
  EXPECT_NE(rerun.output.find("encoded " + std::to_string(12 - kept) + ", reused " + std::to_string(kept)),
            std::string::npos)
      << rerun.output;
}
