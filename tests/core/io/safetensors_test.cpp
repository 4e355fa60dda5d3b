#include "core/io/safetensors.h"

#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "tests/common/test_paths.h"

using namespace supersam;

TEST(Safetensors, RoundTripKeepsValuesDtypesAndMetadata) {
  std::string dir = test::tempDir("safetensors_roundtrip");
  std::vector<std::pair<std::string, at::Tensor>> tensors = {
      {"b.weight", at::randn({3, 4})},
      {"a.half", at::randn({5}).to(at::kHalf)},
      {"c.ids", at::arange(7, at::kLong)},
      {"d.mask", at::rand({2, 2}) > 0.5},
      {"e.empty", at::empty({0, 3})},
  };
  std::string path = dir + "/x.safetensors";
  io::saveSafetensors(path, tensors, {{"arch", "{\"k\":1}"}});
  auto f = io::loadSafetensors(path);
  ASSERT_EQ(f.tensors.size(), tensors.size());
  EXPECT_EQ(f.metadata.at("arch"), "{\"k\":1}");
  for (const auto& [name, t] : tensors) {
    const at::Tensor& r = f.at(name);
    EXPECT_EQ(r.scalar_type(), t.scalar_type()) << name;
    EXPECT_TRUE(r.equal(t)) << name;
  }
  EXPECT_EQ(f.tensors.front().first, "a.half");  // written sorted by name
}

TEST(Safetensors, ReadsReferenceFixture) {
  auto f = io::loadSafetensors(test::fixturesDir() + "/tiny/inputs.safetensors");
  const at::Tensor& img = f.at("image_hwc_u8");
  EXPECT_EQ(img.scalar_type(), at::kByte);
  EXPECT_EQ(img.sizes(), (at::IntArrayRef{100, 150, 3}));
}

TEST(Safetensors, TruncatedFileIsRejectedWithItsName) {
  std::string dir = test::tempDir("safetensors_truncated");
  std::string bytes = io::serializeSafetensors({{"w", at::randn({64})}});
  std::string path = dir + "/cut.safetensors";
  util::writeFileAtomic(path, bytes.substr(0, bytes.size() - 10));
  try {
    io::loadSafetensors(path);
    FAIL() << "expected an error";
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cut.safetensors"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'w'"), std::string::npos) << e.what();
  }
  util::writeFileAtomic(path, bytes.substr(0, 4));
  EXPECT_THROW(io::loadSafetensors(path), util::Error);
}

TEST(Safetensors, MissingTensorNamesFileAndTensor) {
  std::string dir = test::tempDir("safetensors_missing");
  io::saveSafetensors(dir + "/m.safetensors", {{"x", at::ones({1})}});
  auto f = io::loadSafetensors(dir + "/m.safetensors");
  try {
    f.at("y");
    FAIL();
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'y'"), std::string::npos);
  }
}

// A header value nested 100,000 deep once overflowed the parser's stack (issue 14): refused by name instead.
TEST(Safetensors, DeeplyNestedHeaderIsRefusedWithoutRecursing) {
  const std::string header = "{\"__metadata__\": {\"x\": \"y\"}, \"deep\": " + std::string(100000, '[') +
                             std::string(100000, ']') + "}";
  std::string bytes(8, '\0');
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) bytes[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  bytes += header;
  try {
    io::parseSafetensors(bytes, "deep.safetensors");
    FAIL() << "accepted";
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find("deep.safetensors"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("nested deeper"), std::string::npos) << e.what();
  }
}

// Issue 14: 2,000 entries aliasing the same bytes became 2.5 GB; overlapping, misaligned and float offsets loaded.
TEST(Safetensors, OffsetsMustTileTheDataExactlyWithIntegers) {
  const auto file = [](const std::string& entries, size_t dataBytes) {
    const std::string header = "{" + entries + "}";
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[static_cast<size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
    return bytes + header + std::string(dataBytes, '\x01');
  };
  const auto error = [&](const std::string& entries, size_t dataBytes) -> std::string {
    try {
      io::parseSafetensors(file(entries, dataBytes), "crafted.safetensors");
    } catch (const util::Error& e) {
      return e.what();
    }
    return "";
  };
  const std::string a = R"("a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]})";
  EXPECT_EQ(error(a, 8), "");
  EXPECT_NE(error(a + R"(, "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]})", 8).find("overlaps"),
            std::string::npos);
  EXPECT_NE(error(R"("a": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]})", 12).find("a hole"),
            std::string::npos);
  EXPECT_NE(error(a, 12).find("cover 8 of the 12"), std::string::npos);
  EXPECT_NE(error(R"("a": {"dtype": "F32", "shape": [2], "data_offsets": [0.0, 8.5]})", 8).find("not a non-negative integer"),
            std::string::npos);
  EXPECT_NE(error(R"("a": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]})", 8).find("not a non-negative integer"),
            std::string::npos);
  // A shape whose size overflows 64 bits is not taken for a small one.
  EXPECT_NE(error(R"("a": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 8]})", 8).find("need"),
            std::string::npos);
  std::string bigHeader(8, '\0');
  bigHeader[5] = 0x10;  // 2^44 bytes of header
  EXPECT_NE([&] {
    try {
      io::parseSafetensors(bigHeader + "{}", "huge.safetensors");
    } catch (const util::Error& e) {
      return std::string(e.what());
    }
    return std::string();
  }().find("100 MB"), std::string::npos);
}
