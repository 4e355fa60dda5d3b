// libFuzzer target: COCO annotation JSON (core/data/readers.h readCoco). A 10 x 10 image "a.png" exists in a
// temporary folder, so that annotations naming it reach the segmentation decoders (RLE strings and counts,
// polygons).
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <opencv2/imgcodecs.hpp>

#include "core/data/readers.h"
#include "tests/fuzz/fuzz_common.h"

namespace {
const std::string& workDir() {
  static const std::string dir = [] {
    const std::string d = std::filesystem::temp_directory_path().string() + "/supersam-fuzz-coco-" +
                          std::to_string(::getpid());
    std::filesystem::create_directories(d);
    cv::imwrite(d + "/a.png", cv::Mat(10, 10, CV_8UC3, cv::Scalar(1, 2, 3)));
    return d;
  }();
  return dir;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace supersam;
  const std::string file = workDir() + "/ann.json";
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  return fuzz::guarded([&] {
    data::ReadOptions opt;
    opt.minArea = 1;
    data::readCoco(file, workDir(), opt);
  });
}
