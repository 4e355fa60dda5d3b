#include "core/io/pytorch_zip.h"

#include <cstring>
#include <filesystem>
#include <map>

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/io/checkpoint.h"
#include "core/io/zip_crc.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "tests/common/test_paths.h"
#include "tests/core/io/pickle_test_util.h"

using namespace supersam;
namespace pk = supersam::test::pickle;

namespace {

std::string fixturePth() { return test::fixturesDir() + "/tiny/checkpoint.pth"; }

// Every record of a torch.save archive except "version" (the writer adds its own), prefix stripped.
std::map<std::string, std::string> recordsOf(const std::string& path) {
  caffe2::serialize::PyTorchStreamReader reader(path);
  std::map<std::string, std::string> out;
  for (const auto& name : reader.getAllRecords()) {
    if (name == "version" || name == ".data/version") continue;
    auto [data, size] = reader.getRecord(name);
    out[name] = std::string(static_cast<const char*>(data.get()), size);
  }
  return out;
}

void writeArchive(const std::string& path, const std::map<std::string, std::string>& records) {
  caffe2::serialize::PyTorchStreamWriter writer(path);
  for (const auto& [name, bytes] : records) writer.writeRecord(name, bytes.data(), bytes.size());
  writer.writeEndOfFile();
}

std::string errorOf(const std::string& path) {
  try {
    io::readCheckpoint(path);
  } catch (const util::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(PytorchZip, ReadsTheTinyFixtureWithArchShapes) {
  auto ck = io::readCheckpoint(fixturePth());
  EXPECT_EQ(ck.format, io::CheckpointFormat::PytorchZip);
  ASSERT_EQ(ck.tensors.size(), 202u);
  std::map<std::string, at::Tensor> sd(ck.tensors.begin(), ck.tensors.end());
  auto arch = nlohmann::json::parse(util::readFileBytes(test::fixturesDir() + "/tiny/arch.json"));
  const int64_t c = arch["encoder_embed_dim"], tok = arch["image_size"].get<int64_t>() / 16;
  const int64_t headDim = c / arch["encoder_num_heads"].get<int64_t>();
  EXPECT_EQ(ck.tensors.front().first, "image_encoder.pos_embed");
  EXPECT_EQ(sd.at("image_encoder.pos_embed").sizes(), (at::IntArrayRef{1, tok, tok, c}));
  EXPECT_EQ(sd.at("image_encoder.blocks.0.attn.rel_pos_h").sizes(),
            (at::IntArrayRef{2 * arch["window_size"].get<int64_t>() - 1, headDim}));
  EXPECT_EQ(sd.at("image_encoder.blocks.1.attn.rel_pos_h").sizes(), (at::IntArrayRef{2 * tok - 1, headDim}));
  EXPECT_EQ(sd.at("image_encoder.blocks.3.mlp.lin1.weight").sizes(), (at::IntArrayRef{4 * c, c}));
  EXPECT_EQ(sd.at("prompt_encoder.pe_layer.positional_encoding_gaussian_matrix").sizes(),
            (at::IntArrayRef{2, arch["prompt_embed_dim"].get<int64_t>() / 2}));
  EXPECT_EQ(sd.at("mask_decoder.transformer.layers.1.mlp.lin1.weight").sizes(),
            (at::IntArrayRef{arch["decoder_mlp_dim"].get<int64_t>(), arch["prompt_embed_dim"].get<int64_t>()}));
  for (const auto& [k, t] : ck.tensors) {
    EXPECT_EQ(t.scalar_type(), at::kFloat) << k;
    EXPECT_TRUE(t.is_contiguous()) << k;
  }
  // Values: the first storage record holds pos_embed's bytes verbatim.
  auto records = recordsOf(fixturePth());
  const at::Tensor& pos = sd.at("image_encoder.pos_embed");
  ASSERT_EQ(records.at("data/0").size(), pos.nbytes());
  EXPECT_EQ(std::memcmp(records.at("data/0").data(), pos.data_ptr(), pos.nbytes()), 0);
}

TEST(PytorchZip, StridedAndSharedStoragesAreCopiedOut) {
  std::string dir = test::tempDir("pytorch_zip_strided");
  at::Tensor storage = at::arange(12, at::kFloat);
  std::string bytes(static_cast<const char*>(storage.data_ptr()), storage.nbytes());
  std::string pkl = pk::proto2() + pk::emptyOrderedDict() + "(" + pk::str("t") +
                    pk::tensor("0", 12, 1, {3, 2}, {1, 3}) + pk::str("all") + pk::tensor("0", 12, 0, {12}, {1}) +
                    "u.";
  writeArchive(dir + "/strided.pth", {{"data.pkl", pkl}, {"data/0", bytes}});
  auto ck = io::readCheckpoint(dir + "/strided.pth");
  ASSERT_EQ(ck.tensors.size(), 2u);
  EXPECT_TRUE(ck.tensors[0].second.equal(storage.as_strided({3, 2}, {1, 3}, 1)));
  EXPECT_TRUE(ck.tensors[0].second.is_contiguous());
  EXPECT_EQ(ck.tensors[0].second.storage().nbytes(), 6 * sizeof(float));  // owns only its own values
  EXPECT_TRUE(ck.tensors[1].second.equal(storage));
  EXPECT_NE(ck.tensors[0].second.data_ptr(), ck.tensors[1].second.data_ptr());
}

TEST(PytorchZip, ArchiveWithOsSystemIsRefusedNamingGlobalAndFile) {
  std::string dir = test::tempDir("pytorch_zip_evil");
  auto records = recordsOf(fixturePth());
  records["data.pkl"] = pk::proto2() + pk::global("os", "system") + "(" + pk::str("touch " + dir + "/pwned") + "tR.";
  writeArchive(dir + "/evil.pth", records);
  std::string msg = errorOf(dir + "/evil.pth");
  EXPECT_NE(msg.find("'os.system'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("evil.pth"), std::string::npos) << msg;
  EXPECT_FALSE(std::filesystem::exists(dir + "/pwned"));
}

TEST(PytorchZip, TruncatedArchiveNamesTheFile) {
  std::string dir = test::tempDir("pytorch_zip_truncated");
  std::string bytes = util::readFileBytes(fixturePth());
  for (size_t keep : {bytes.size() / 2, bytes.size() - 30, size_t{100}}) {
    util::writeFileAtomic(dir + "/cut.pth", bytes.substr(0, keep));
    std::string msg = errorOf(dir + "/cut.pth");
    EXPECT_NE(msg.find("cut.pth"), std::string::npos) << keep << ": " << msg;
    EXPECT_NE(msg.find("truncated"), std::string::npos) << keep << ": " << msg;
  }
}

TEST(PytorchZip, ShortStorageRecordNamesTheRecord) {
  std::string dir = test::tempDir("pytorch_zip_short_record");
  auto records = recordsOf(fixturePth());
  records["data/1"].resize(records["data/1"].size() / 2);
  writeArchive(dir + "/short.pth", records);
  std::string msg = errorOf(dir + "/short.pth");
  EXPECT_NE(msg.find("short.pth"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'data/1'"), std::string::npos) << msg;
}

TEST(PytorchZip, CorruptPickleNamesTheRecordAndOffset) {
  std::string dir = test::tempDir("pytorch_zip_corrupt");
  auto records = recordsOf(fixturePth());
  // A well-formed archive (valid CRCs) whose pickle has garbage opcodes from byte 100 on.
  for (size_t i = 100; i < 116; ++i) records["data.pkl"][i] = '\xfe';
  writeArchive(dir + "/badpickle.pth", records);
  std::string msg = errorOf(dir + "/badpickle.pth");
  EXPECT_NE(msg.find("badpickle.pth:data.pkl"), std::string::npos) << msg;
  EXPECT_NE(msg.find("at byte 100"), std::string::npos) << msg;

  // The same change made in place breaks the zip's checksum, which is reported first.
  std::string bytes = util::readFileBytes(fixturePth());
  size_t start = 0;
  {
    caffe2::serialize::PyTorchStreamReader reader(fixturePth());
    start = reader.getRecordOffset("data.pkl");
  }
  for (size_t i = start + 100; i < start + 116; ++i) bytes[i] = '\xfe';
  util::writeFileAtomic(dir + "/flipped.pth", bytes);
  msg = errorOf(dir + "/flipped.pth");
  EXPECT_NE(msg.find("record 'data.pkl' fails its CRC-32 check"), std::string::npos) << msg;
}

TEST(PytorchZip, FlippedBytesInAStorageFailTheCrcCheck) {
  std::string dir = test::tempDir("pytorch_zip_crc");
  std::string bytes = util::readFileBytes(fixturePth());
  size_t start = 0;
  {
    caffe2::serialize::PyTorchStreamReader reader(fixturePth());
    start = reader.getRecordOffset("data/1");
  }
  for (size_t i = start + 8; i < start + 16; ++i) bytes[i] = static_cast<char>(~bytes[i]);
  util::writeFileAtomic(dir + "/flipped.pth", bytes);
  std::string msg = errorOf(dir + "/flipped.pth");
  EXPECT_NE(msg.find("flipped.pth"), std::string::npos) << msg;
  EXPECT_NE(msg.find("record 'data/1' fails its CRC-32 check"), std::string::npos) << msg;
}

TEST(PytorchZip, Crc32MatchesTheStandardCheckValue) {
  const std::string s = "123456789";
  EXPECT_EQ(io::crc32(s.data(), s.size()), 0xCBF43926u);
  std::string longer(1000, 'x');
  for (size_t i = 0; i < longer.size(); ++i) longer[i] = static_cast<char>(i * 7);
  EXPECT_EQ(io::crc32(longer.data() + 3, 997), io::crc32(longer.data() + 503, 497, io::crc32(longer.data() + 3, 500)));
}

TEST(PytorchZip, MissingFileIsNamed) {
  std::string msg = errorOf("/nonexistent/model.pth");
  EXPECT_NE(msg.find("/nonexistent/model.pth"), std::string::npos) << msg;
}

// Issue 14: a small file whose record inflates far beyond what its storage needs (3.5 GiB from 4.9 MB) was read in
// full; a storage class swapped (Float -> Half) was converted silently; stride 0 and size x stride overflows passed.
TEST(PytorchZip, RecordsMustHoldExactlyWhatTheirStoragesNeed) {
  std::string dir = test::tempDir("pytorch_zip_record_size");
  const std::string four(16, '\0');  // 4 floats
  const std::string pkl = pk::proto2() + pk::emptyOrderedDict() + pk::str("w") + pk::tensor("0", 4, 0, {4}, {1}) + "s.";
  writeArchive(dir + "/ok.pth", {{"data.pkl", pkl}, {"data/0", four}});
  EXPECT_EQ(errorOf(dir + "/ok.pth"), "");
  // 64 MB of zeros (it compresses to almost nothing in a real attack) behind a 4-element storage.
  writeArchive(dir + "/big.pth", {{"data.pkl", pkl}, {"data/0", std::string(64u << 20, '\0')}});
  std::string msg = errorOf(dir + "/big.pth");
  EXPECT_NE(msg.find("'data/0' holds 67108864 bytes but its storage"), std::string::npos) << msg;
  // The storage class says Half: 4 elements need 8 bytes, the record holds 16.
  std::string half = pkl;
  half.replace(half.find("FloatStorage"), 12, "HalfStorage");
  writeArchive(dir + "/half.pth", {{"data.pkl", half}, {"data/0", four}});
  msg = errorOf(dir + "/half.pth");
  EXPECT_NE(msg.find("needs 8"), std::string::npos) << msg;
  // Stride 0 over 4 elements, and a stride whose reach overflows 64 bits.
  const std::string expanded =
      pk::proto2() + pk::emptyOrderedDict() + pk::str("w") + pk::tensor("0", 4, 0, {4, 4}, {1, 0}) + "s.";
  writeArchive(dir + "/expanded.pth", {{"data.pkl", expanded}, {"data/0", four}});
  msg = errorOf(dir + "/expanded.pth");
  EXPECT_NE(msg.find("stride 0"), std::string::npos) << msg;
  // A pickle edited to point its tensor at another storage leaves the original record unused.
  writeArchive(dir + "/repointed.pth", {{"data.pkl", pkl}, {"data/0", four}, {"data/1", four}});
  msg = errorOf(dir + "/repointed.pth");
  EXPECT_NE(msg.find("'data/1' is used by no tensor"), std::string::npos) << msg;
}
