// Images a user passes in (issue 14): a PNG header claiming 1e10 pixels is refused before decoding, a 20000 x 1
// strip is segmented instead of tripping OpenCV's resize, a folder given as an image is called a folder, and the
// CLI exits 1 with one line for each (never a backtrace).
#include <filesystem>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "core/data/dataset.h"
#include "core/infer/predictor.h"
#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/model/arch.h"
#include "core/supernet/subnet.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "tests/common/cli.h"
#include "tests/common/test_paths.h"

using namespace supersam;

namespace {

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

std::string errorOf(const std::string& path) {
  try {
    data::loadImageRgb(path);
  } catch (const util::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(HostileImages, HugeHeaderFolderAndStripAreHandled) {
  const std::string dir = test::tempDir("hostile-images");
  // PNG signature + an IHDR claiming 100000 x 100000, then nothing.
  const std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + be32(13) + "IHDR" + be32(100000) + be32(100000) +
                          std::string("\x08\x02\x00\x00\x00", 5) + be32(0);
  util::writeFileAtomic(dir + "/huge.png", png);
  std::string msg = errorOf(dir + "/huge.png");
  EXPECT_NE(msg.find("huge.png' says it is 100000x100000 pixels"), std::string::npos) << msg;
  msg = errorOf(dir);
  EXPECT_NE(msg.find("is a folder"), std::string::npos) << msg;
  util::writeFileAtomic(dir + "/text.png", "not an image at all");
  msg = errorOf(dir + "/text.png");
  EXPECT_NE(msg.find("text.png' cannot be decoded"), std::string::npos) << msg;

  // A 20000 x 1 strip: the resized short side is 1 pixel, not 0.
  ASSERT_TRUE(cv::imwrite(dir + "/strip.png", cv::Mat(1, 20000, CV_8UC3, cv::Scalar(10, 200, 30))));
  const at::Tensor strip = data::loadImageRgb(dir + "/strip.png");
  EXPECT_EQ(strip.size(1), 20000);
  std::array<int64_t, 2> hw{};
  const at::Tensor input = infer::preprocessImage(strip, model::SamArch::preset("vit_b"), &hw);
  EXPECT_EQ(hw[0], 1);
  EXPECT_EQ(hw[1], 1024);
  EXPECT_EQ(input.size(2), 1024);
}

TEST(HostileImages, TheCliExitsOneWithOneLine) {
  const std::string dir = test::tempDir("hostile-images-cli");
  const std::string tiny = test::fixturesDir() + "/tiny/checkpoint.pth";
  const test::CliResult folder =
      test::runSupersam("segment --checkpoint '" + tiny + "' --image '" + dir + "' --point 1,1 --out '" + dir + "/m.png'");
  EXPECT_EQ(folder.rc, 1) << folder.output;
  EXPECT_NE(folder.output.find("is a folder"), std::string::npos) << folder.output;
  const test::CliResult unknown = test::runSupersam("no-such-command");
  EXPECT_EQ(unknown.rc, 1) << unknown.output;
  const test::CliResult help = test::runSupersam("--help");
  EXPECT_EQ(help.rc, 0);
  EXPECT_NE(help.output.find("Exit status: 0 success; 1"), std::string::npos) << help.output;
}

// Text from files: `info` prints metadata with control characters escaped (an ANSI sequence could rewrite the
// terminal), and an error quoting a megabyte of a file's text is cut to its start and end.
TEST(HostileText, MetadataIsPrintedSafelyAndLongErrorsAreCut) {
  const std::string dir = test::tempDir("hostile-text");
  const std::string file = dir + "/ansi.safetensors";
  const io::Checkpoint tiny = io::readCheckpoint(test::fixturesDir() + "/tiny/checkpoint.pth");
  const std::string arch = model::SamArch::fromFile(test::fixturesDir() + "/tiny/arch.json").toJsonText();
  io::saveSafetensors(file, tiny.tensors, {{"arch", arch}, {"note", "\x1b[2J\x1b[31mred"}});
  const test::CliResult info = test::runSupersam("info '" + file + "'");
  EXPECT_EQ(info.output.find('\x1b'), std::string::npos) << "raw escape printed";
  EXPECT_NE(info.output.find("\\x1b[2J"), std::string::npos) << info.output;

  const std::string huge(1000000, '7');
  try {
    supernet::Subnet::parse(huge, model::SamArch::preset("vit_b"));
    FAIL() << "parsed";
  } catch (const util::Error& e) {
    EXPECT_LT(std::string(e.what()).size(), 1200u);
    EXPECT_NE(std::string(e.what()).find("characters cut"), std::string::npos);
  }
}
