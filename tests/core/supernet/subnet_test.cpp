#include "core/supernet/subnet.h"

#include <functional>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/supernet/search_space.h"
#include "core/util/error.h"

using namespace supersam;
using supernet::SearchSpace;
using supernet::Subnet;

namespace {

std::string errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const util::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Subnet, StringRoundTripOverManySamples) {
  auto arch = model::SamArch::preset("vit_b");
  SearchSpace space = SearchSpace::official(arch);
  std::mt19937_64 rng(7);
  for (int k = 0; k < 200; ++k) {
    Subnet s = space.sample(rng);
    std::string text = s.toString();
    EXPECT_EQ(Subnet::parse(text, &space), s) << text;
    EXPECT_EQ(Subnet::fromJson(s.toJson()), s);
    EXPECT_EQ(Subnet::fromJson(nlohmann::json::parse(s.toJson().dump())), s);
  }
  Subnet s = Subnet::parse("3072,x,1536,768,3072,x,3072,3072,3072,x,3072,1014", &space);
  EXPECT_EQ(s.toString(), "3072,x,1536,768,3072,x,3072,3072,3072,x,3072,1014");
  EXPECT_FALSE(s.kept(1));
  EXPECT_EQ(s.width(2), 1536);
  EXPECT_EQ(s.keptCount(), 9);
  // Whitespace and capital X are accepted, the printed form is canonical.
  EXPECT_EQ(Subnet::parse(" 3072, X ,1536,768,3072,x,3072,3072,3072,x,3072,1014 "), s);
}

TEST(Subnet, HashIsStableShortAndDistinguishes) {
  Subnet a = Subnet::parse("3072,x,1536");
  Subnet b = Subnet::parse("3072,x,1537");
  EXPECT_EQ(a.hash().size(), 12u);
  EXPECT_EQ(a.hash(), Subnet::parse("3072,x,1536").hash());
  EXPECT_NE(a.hash(), b.hash());
  // FNV-1a 64 reference values pin the algorithm (a cache written today must be found tomorrow).
  EXPECT_EQ(supernet::fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(supernet::fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
}

TEST(Subnet, ToElasticAndBack) {
  auto arch = model::SamArch::preset("vit_b");
  Subnet s = Subnet::parse("3072,x,1536,768,3072,x,3072,3072,3072,x,3072,1014", arch);
  auto cfg = s.toElastic();
  ASSERT_EQ(cfg.size(), 12u);
  EXPECT_FALSE(cfg[1].kept);
  EXPECT_TRUE(cfg[2].kept);
  EXPECT_EQ(cfg[2].mlpWidth, 1536);
  EXPECT_EQ(Subnet::fromElastic(cfg, arch), s);
  EXPECT_EQ(Subnet::fromElastic({}, arch), Subnet::full(arch));
}

TEST(Subnet, InvalidStringsNameTheBlockAndAllowedValues) {
  auto arch = model::SamArch::preset("vit_b");
  SearchSpace space = SearchSpace::official(arch);
  std::string m = errorOf([] { Subnet::parse("3072,abc,1536"); });
  EXPECT_NE(m.find("block 1"), std::string::npos) << m;
  EXPECT_NE(m.find("'abc'"), std::string::npos) << m;
  m = errorOf([] { Subnet::parse(""); });
  EXPECT_NE(m.find("empty"), std::string::npos) << m;
  m = errorOf([] { Subnet::parse("3072,,1536"); });
  EXPECT_NE(m.find("block 1"), std::string::npos) << m;
  m = errorOf([] { Subnet::parse("3072,0"); });
  EXPECT_NE(m.find("block 1"), std::string::npos) << m;
  // Width not in the space: names the block and lists the allowed widths.
  m = errorOf([&] { Subnet::parse("3072,3072,3072,1000,3072,3072,3072,3072,3072,3072,3072,3072", &space); });
  EXPECT_NE(m.find("block 3"), std::string::npos) << m;
  EXPECT_NE(m.find("768, 1014, 1536, 2304, 3072"), std::string::npos) << m;
  // Dropping a block that is not prunable.
  m = errorOf([&] { Subnet::parse("x,3072,3072,3072,3072,3072,3072,3072,3072,3072,3072,3072", &space); });
  EXPECT_NE(m.find("block 0"), std::string::npos) << m;
  EXPECT_NE(m.find("1, 2, 5, 6, 9"), std::string::npos) << m;
  // Wrong depth.
  m = errorOf([&] { Subnet::parse("3072,3072", &space); });
  EXPECT_NE(m.find("2 blocks"), std::string::npos) << m;
  // Width above the arch's MLP width.
  m = errorOf([&] { Subnet::parse("3072,3072,3072,4000,3072,3072,3072,3072,3072,3072,3072,3072", arch); });
  EXPECT_NE(m.find("block 3"), std::string::npos) << m;
  EXPECT_NE(m.find("3072"), std::string::npos) << m;
  // JSON disagreeing with itself.
  nlohmann::json j = Subnet::parse("3072,x").toJson();
  j["string"] = "3072,3072";
  EXPECT_THROW(Subnet::fromJson(j), util::Error);
}
