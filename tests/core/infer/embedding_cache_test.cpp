// The embedding cache: SHA-256 against the FIPS 180-2 test vectors; a hit is exactly the embedding the predictor
// computed (and predicting from it gives the same masks as encoding); any change of image byte, model file, arch or
// subnet misses; corrupt, truncated, grown, garbage, hostile-header and collided entries miss and are removed;
// eviction keeps the total under the limit and drops the least recently used entry; a vanished entry is a miss.
#include <cstdlib>
#include <cstring>
#include <optional>
#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/data/dataset.h"
#include "core/infer/embedding_cache.h"
#include "core/infer/model_loader.h"
#include "core/infer/predictor.h"
#include "core/supernet/subnet.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "tests/common/test_paths.h"

using namespace supersam;
namespace fs = std::filesystem;

namespace {

std::string demoCheckpoint() { return std::string(SUPERSAM_SOURCE_DIR) + "/resources/models/demo_supernet.safetensors"; }

// A noise image (PNG, exact bytes) written into `dir`.
std::string writeImage(const std::string& dir, const std::string& name, int h, int w, int seed) {
  cv::Mat m(h, w, CV_8UC3);
  cv::RNG rng(seed);
  rng.fill(m, cv::RNG::UNIFORM, 0, 256);
  const std::string path = dir + "/" + name;
  EXPECT_TRUE(cv::imwrite(path, m));
  return path;
}

// The tiny fixture's shape of embedding (32 channels, 8 x 8 tokens) without needing its model.
model::SamArch smallArch() {
  model::SamArch a;
  a.imageSize = 128;
  a.promptEmbedDim = 32;
  return a;  // tokensPerSide = 128 / 16 = 8
}

infer::CachedEmbedding randomEntry(const model::SamArch& arch, int seed) {
  at::manual_seed(seed);
  infer::CachedEmbedding e;
  e.embedding = at::randn({1, arch.promptEmbedDim, arch.tokensPerSide(), arch.tokensPerSide()});
  e.originalHW = {300, 200};
  e.inputHW = infer::resizedSize(300, 200, arch.imageSize);
  return e;
}

infer::EmbeddingKey keyFor(const std::string& image, const model::SamArch& arch) {
  infer::EmbeddingKey k;
  k.imageHash = infer::sha256Hex(image);
  k.modelFingerprint = infer::sha256Hex("model");
  k.subnet = "512,512,x,512";
  k.imageSize = arch.imageSize;
  return k;
}

std::string readAll(const std::string& p) { return util::readFileBytes(p); }
void writeAll(const std::string& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

TEST(Sha256, StandardTestVectors) {
  EXPECT_EQ(infer::sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(infer::sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(infer::sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(infer::sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, StreamingInUnevenPiecesAndFilesGiveTheSameDigest) {
  std::string text;
  for (int i = 0; i < 5000; ++i) text += static_cast<char>((i * 131 + 7) & 0xff);
  const std::string whole = infer::sha256Hex(text);
  infer::Sha256 h;
  size_t at = 0;
  for (size_t piece : {1, 63, 64, 65, 0, 127, 3000}) {
    const size_t n = std::min(piece, text.size() - at);
    h.update(text.data() + at, n);
    at += n;
  }
  h.update(text.data() + at, text.size() - at);
  EXPECT_EQ(h.hexDigest(), whole);
  const std::string dir = test::tempDir("sha256-file");
  writeAll(dir + "/f.bin", text);
  EXPECT_EQ(infer::hashFile(dir + "/f.bin"), whole);
  EXPECT_THROW(infer::hashFile(dir + "/missing.bin"), util::Error);
  EXPECT_THROW(infer::hashFile(dir), util::Error);
}

TEST(EmbeddingCache, AHitIsExactlyThePredictorsEmbeddingAndGivesTheSameMasks) {
  const std::string dir = test::tempDir("embcache-hit");
  infer::LoadedModel loaded = infer::loadModel(demoCheckpoint());
  const std::string image = writeImage(dir, "a.png", 180, 240, 1);
  infer::Predictor encoder(loaded.sam);
  encoder.setImage(data::loadImageRgb(image));

  const infer::EmbeddingCache cache(dir + "/cache", 64 << 20);
  infer::EmbeddingKey key;
  key.imageHash = infer::hashFile(image);
  key.modelFingerprint = infer::modelFingerprint(demoCheckpoint(), loaded.arch);
  key.subnet = supernet::Subnet::full(loaded.arch).toString();
  key.imageSize = loaded.arch.imageSize;
  EXPECT_FALSE(cache.get(key, loaded.arch).has_value());
  const infer::PutResult put = cache.put(key, {encoder.embedding(), encoder.originalSize(), encoder.inputSize()});
  EXPECT_EQ(put.bytes, infer::EmbeddingCache::entryBytes(key, loaded.arch));
  EXPECT_EQ(cache.totalBytes(), put.bytes);

  const auto hit = cache.get(key, loaded.arch);
  ASSERT_TRUE(hit.has_value());
  EXPECT_TRUE(at::equal(hit->embedding, encoder.embedding()));
  EXPECT_EQ(hit->originalHW, encoder.originalSize());
  EXPECT_EQ(hit->inputHW, encoder.inputSize());

  infer::Predictor fromCache(loaded.sam);
  fromCache.setEmbedding(hit->embedding, hit->originalHW, hit->inputHW);
  infer::Prompt p;
  p.box = std::array<float, 4>{30, 20, 200, 150};
  p.points = {{100, 90}};
  p.labels = {1};
  p.multimask = true;
  const infer::Prediction a = encoder.predict(p), b = fromCache.predict(p);
  EXPECT_TRUE(at::equal(a.masks, b.masks));
  EXPECT_TRUE(at::equal(a.iou, b.iou));
  EXPECT_TRUE(at::equal(a.lowResLogits, b.lowResLogits));
}

TEST(EmbeddingCache, AChangedImageByteModelFileArchOrSubnetMisses) {
  const std::string dir = test::tempDir("embcache-keys");
  infer::LoadedModel loaded = infer::loadModel(demoCheckpoint());
  const model::SamArch& arch = loaded.arch;
  const std::string image = writeImage(dir, "a.png", 64, 64, 2);
  const infer::EmbeddingCache cache(dir + "/cache", 64 << 20);

  infer::EmbeddingKey key;
  key.imageHash = infer::hashFile(image);
  key.modelFingerprint = infer::modelFingerprint(demoCheckpoint(), arch);
  key.subnet = supernet::Subnet::full(arch).toString();
  key.imageSize = arch.imageSize;
  cache.put(key, randomEntry(arch, 3));
  ASSERT_TRUE(cache.get(key, arch).has_value());

  // One image byte (the last of the file) changed.
  std::string bytes = readAll(image);
  bytes.back() = static_cast<char>(bytes.back() ^ 1);
  writeAll(dir + "/b.png", bytes);
  infer::EmbeddingKey otherImage = key;
  otherImage.imageHash = infer::hashFile(dir + "/b.png");
  // Another model file: the same checkpoint with one byte changed.
  std::string model = readAll(demoCheckpoint());
  model.back() = static_cast<char>(model.back() ^ 1);
  writeAll(dir + "/other.safetensors", model);
  infer::EmbeddingKey otherModel = key;
  otherModel.modelFingerprint = infer::modelFingerprint(dir + "/other.safetensors", arch);
  // The same file under another arch.
  model::SamArch arch2 = arch;
  arch2.windowSize += 1;
  infer::EmbeddingKey otherArch = key;
  otherArch.modelFingerprint = infer::modelFingerprint(demoCheckpoint(), arch2);
  // Another subnet of the same length (the last block narrower).
  supernet::Subnet s = supernet::Subnet::full(arch);
  s.setBlock(arch.encoderDepth - 1, {true, s.width(arch.encoderDepth - 1) / 2});
  infer::EmbeddingKey otherSubnet = key;
  otherSubnet.subnet = s.toString();

  for (const infer::EmbeddingKey* k : {&otherImage, &otherModel, &otherArch, &otherSubnet}) {
    EXPECT_NE(k->hex(), key.hex());
    EXPECT_FALSE(cache.get(*k, arch).has_value()) << k->imageHash << " " << k->modelFingerprint << " " << k->subnet;
  }
  // The entry of the original key is untouched by those misses.
  EXPECT_TRUE(cache.get(key, arch).has_value());
  EXPECT_EQ(cache.entryCount(), 1);
}

TEST(EmbeddingCache, CorruptTruncatedGrownGarbageHostileAndCollidedEntriesMissAndAreRemoved) {
  const std::string dir = test::tempDir("embcache-corrupt");
  const model::SamArch arch = smallArch();
  const infer::EmbeddingCache cache(dir, 64 << 20);
  const infer::EmbeddingKey key = keyFor("img", arch);
  const std::string path = cache.pathFor(key);

  const auto store = [&]() {
    cache.put(key, randomEntry(arch, 4));
    return readAll(path);
  };
  const auto expectMissAndRemoved = [&](const std::string& what) {
    EXPECT_FALSE(cache.get(key, arch).has_value()) << what;
    EXPECT_FALSE(fs::exists(path)) << what;
  };

  std::string good = store();
  ASSERT_TRUE(cache.get(key, arch).has_value());
  std::string flipped = good;
  flipped[good.size() / 2] = static_cast<char>(flipped[good.size() / 2] ^ 0x40);  // a payload byte
  writeAll(path, flipped);
  expectMissAndRemoved("payload byte flipped");

  good = store();
  writeAll(path, good.substr(0, good.size() - 100));
  expectMissAndRemoved("truncated");

  good = store();
  writeAll(path, good + std::string(1 << 20, 'x'));
  expectMissAndRemoved("grown by 1 MiB");

  store();
  writeAll(path, std::string(good.size(), '\x7f'));
  expectMissAndRemoved("garbage of the right size");

  // A header claiming 2^30 channels with a checksum that matches: the shape comes from the arch, not the file.
  good = store();
  std::string hostile = good.substr(0, good.size() - 32);
  const size_t channelsAt = 8 + 3 * 4 + key.imageHash.size() + key.modelFingerprint.size() + key.subnet.size() + 5 * 8;
  const int64_t huge = int64_t{1} << 30;
  std::memcpy(hostile.data() + channelsAt, &huge, 8);
  infer::Sha256 h;
  h.update(hostile);
  const auto sum = h.digest();
  hostile.append(reinterpret_cast<const char*>(sum.data()), sum.size());
  writeAll(path, hostile);
  expectMissAndRemoved("hostile channel count");

  // Another key's valid entry under this key's name (what a hash collision would look like).
  infer::EmbeddingKey other = key;
  other.subnet = "384,512,x,512";  // same length: same file size
  cache.put(other, randomEntry(arch, 5));
  fs::copy_file(cache.pathFor(other), path, fs::copy_options::overwrite_existing);
  expectMissAndRemoved("another key's entry");
  EXPECT_TRUE(cache.get(other, arch).has_value());

  // An entry for another arch's shape is a miss too.
  store();
  model::SamArch wider = arch;
  wider.promptEmbedDim = 64;
  EXPECT_FALSE(cache.get(key, wider).has_value());
}

TEST(EmbeddingCache, EvictionKeepsTheTotalUnderTheLimitAndDropsTheLeastRecentlyUsed) {
  const std::string dir = test::tempDir("embcache-evict");
  const model::SamArch arch = smallArch();
  const int64_t entry = infer::EmbeddingCache::entryBytes(keyFor("a", arch), arch);
  const infer::EmbeddingCache cache(dir, 3 * entry + entry / 2);  // room for 3
  for (const char* name : {"a", "b", "c"}) EXPECT_EQ(cache.put(keyFor(name, arch), randomEntry(arch, 6)).evicted, 0);
  EXPECT_EQ(cache.entryCount(), 3);
  ASSERT_TRUE(cache.get(keyFor("a", arch), arch).has_value());  // a is now more recent than b

  const infer::PutResult put = cache.put(keyFor("d", arch), randomEntry(arch, 7));
  EXPECT_EQ(put.evicted, 1);
  EXPECT_EQ(put.evictedBytes, entry);
  EXPECT_LE(cache.totalBytes(), cache.maxBytes());
  EXPECT_FALSE(cache.get(keyFor("b", arch), arch).has_value());
  for (const char* name : {"a", "c", "d"}) EXPECT_TRUE(cache.get(keyFor(name, arch), arch).has_value()) << name;

  // A limit below one entry: the entry just written stays, every other goes.
  const infer::EmbeddingCache tiny(dir, entry / 2);
  const infer::PutResult one = tiny.put(keyFor("e", arch), randomEntry(arch, 8));
  EXPECT_EQ(one.evicted, 3);
  EXPECT_EQ(tiny.entryCount(), 1);
  EXPECT_TRUE(tiny.get(keyFor("e", arch), arch).has_value());
}

TEST(EmbeddingCache, AVanishedEntryIsAMissAndBadArgumentsAreErrors) {
  const std::string dir = test::tempDir("embcache-vanish");
  const model::SamArch arch = smallArch();
  const infer::EmbeddingCache a(dir, 1 << 20), b(dir, 1 << 20);  // two users of one folder
  const infer::EmbeddingKey key = keyFor("x", arch);
  a.put(key, randomEntry(arch, 9));
  EXPECT_TRUE(b.get(key, arch).has_value());
  EXPECT_TRUE(b.remove(key));
  EXPECT_FALSE(a.get(key, arch).has_value());
  EXPECT_FALSE(a.remove(key));

  EXPECT_THROW(infer::EmbeddingCache(dir, 0), util::Error);
  writeAll(dir + "/plain-file", "x");
  EXPECT_THROW(infer::EmbeddingCache(dir + "/plain-file", 1 << 20), util::Error);
  infer::CachedEmbedding flat = randomEntry(arch, 10);
  flat.embedding = flat.embedding.flatten();
  EXPECT_THROW(a.put(key, flat), util::Error);
  infer::EmbeddingKey wrongSize = key;
  wrongSize.imageSize = 1024;
  EXPECT_THROW(a.get(wrongSize, arch), util::Error);
}

TEST(EmbeddingCache, DefaultFolderFollowsXdgCacheHomeThenHome) {
  const auto saved = [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  const auto restore = [](const char* name, const std::optional<std::string>& v) {
    if (v) {
      setenv(name, v->c_str(), 1);
    } else {
      unsetenv(name);
    }
  };
  const auto oldXdg = saved("XDG_CACHE_HOME"), oldHome = saved("HOME");
  setenv("XDG_CACHE_HOME", "/tmp/xdg-test", 1);
  setenv("HOME", "/tmp/home-test", 1);
  EXPECT_EQ(infer::defaultEmbeddingCacheDir(), "/tmp/xdg-test/supersam/embeddings");
  setenv("XDG_CACHE_HOME", "relative/ignored", 1);
  EXPECT_EQ(infer::defaultEmbeddingCacheDir(), "/tmp/home-test/.cache/supersam/embeddings");
  unsetenv("XDG_CACHE_HOME");
  unsetenv("HOME");
  EXPECT_THROW(infer::defaultEmbeddingCacheDir(), util::Error);
  restore("XDG_CACHE_HOME", oldXdg);
  restore("HOME", oldHome);
}
