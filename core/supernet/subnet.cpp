#include "core/supernet/subnet.h"

#include <cctype>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "core/supernet/search_space.h"
#include "core/util/error.h"

namespace supersam::supernet {

namespace {

SubnetBlock normalised(SubnetBlock b, size_t index) {
  if (!b.kept) {
    b.mlpWidth = 0;
  } else if (b.mlpWidth <= 0) {
    throw util::Error("subnet block " + std::to_string(index) + ": a kept block needs an MLP width > 0, got " +
                      std::to_string(b.mlpWidth));
  }
  return b;
}

std::string trim(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

}  // namespace

uint64_t fnv1a64(const std::string& bytes) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

Subnet::Subnet(std::vector<SubnetBlock> blocks) {
  m_blocks.reserve(blocks.size());
  for (size_t i = 0; i < blocks.size(); ++i) m_blocks.push_back(normalised(blocks[i], i));
}

Subnet Subnet::full(const model::SamArch& arch) {
  std::vector<SubnetBlock> b;
  for (int64_t i = 0; i < arch.encoderDepth; ++i) b.push_back({true, arch.mlpDim(i)});
  return Subnet(std::move(b));
}

const SubnetBlock& Subnet::block(int64_t i) const {
  if (i < 0 || i >= depth()) {
    throw util::Error("subnet block " + std::to_string(i) + " out of range (the subnet has " +
                      std::to_string(depth()) + " blocks)");
  }
  return m_blocks[static_cast<size_t>(i)];
}

void Subnet::setBlock(int64_t i, SubnetBlock b) {
  block(i);  // range check
  m_blocks[static_cast<size_t>(i)] = normalised(b, static_cast<size_t>(i));
}

int64_t Subnet::keptCount() const {
  int64_t n = 0;
  for (const auto& b : m_blocks) n += b.kept ? 1 : 0;
  return n;
}

std::string Subnet::toString() const {
  std::string out;
  for (size_t i = 0; i < m_blocks.size(); ++i) {
    if (i) out += ',';
    out += m_blocks[i].kept ? std::to_string(m_blocks[i].mlpWidth) : std::string("x");
  }
  return out;
}

Subnet Subnet::parse(const std::string& text, const SearchSpace* space) {
  std::string t = trim(text);
  if (t.empty()) {
    throw util::Error("subnet string is empty: expected one token per encoder block separated by commas, each an "
                      "MLP width or 'x' for a dropped block (e.g. \"3072,x,1536\")");
  }
  std::vector<SubnetBlock> blocks;
  size_t start = 0;
  while (true) {
    size_t comma = t.find(',', start);
    std::string tok = trim(t.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    size_t index = blocks.size();
    if (tok == "x" || tok == "X") {
      blocks.push_back({false, 0});
    } else {
      bool digits = !tok.empty() && tok.size() <= 12;
      for (char c : tok) digits = digits && std::isdigit(static_cast<unsigned char>(c));
      if (!digits) {
        throw util::Error("subnet string \"" + text + "\": block " + std::to_string(index) + " is '" + tok +
                          "', expected an MLP width (a positive integer) or 'x' for a dropped block");
      }
      int64_t w = std::stoll(tok);
      if (w <= 0) {
        throw util::Error("subnet string \"" + text + "\": block " + std::to_string(index) +
                          " has width 0, expected a positive MLP width or 'x' for a dropped block");
      }
      blocks.push_back({true, w});
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  Subnet s(std::move(blocks));
  if (space) space->check(s);
  return s;
}

Subnet Subnet::parse(const std::string& text, const model::SamArch& arch) {
  Subnet s = parse(text, nullptr);
  s.checkAgainst(arch);
  return s;
}

void Subnet::checkAgainst(const model::SamArch& arch) const {
  if (depth() != arch.encoderDepth) {
    throw util::Error("subnet \"" + toString() + "\" has " + std::to_string(depth()) + " blocks, the architecture '" +
                      arch.name + "' has " + std::to_string(arch.encoderDepth));
  }
  for (int64_t i = 0; i < depth(); ++i) {
    const auto& b = m_blocks[static_cast<size_t>(i)];
    if (b.kept && b.mlpWidth > arch.mlpDim(i)) {
      throw util::Error("subnet block " + std::to_string(i) + ": width " + std::to_string(b.mlpWidth) +
                        " exceeds the block's MLP width " + std::to_string(arch.mlpDim(i)) +
                        " (allowed: 1.." + std::to_string(arch.mlpDim(i)) + " or x)");
    }
  }
}

nlohmann::json Subnet::toJson() const {
  nlohmann::json blocks = nlohmann::json::array();
  for (const auto& b : m_blocks) {
    nlohmann::json jb = {{"kept", b.kept}};
    if (b.kept) jb["mlp_width"] = b.mlpWidth;
    blocks.push_back(jb);
  }
  return {{"blocks", blocks}, {"string", toString()}};
}

Subnet Subnet::fromJson(const nlohmann::json& j) {
  if (j.is_string()) return parse(j.get<std::string>());
  if (!j.is_object() || !j.contains("blocks") || !j["blocks"].is_array()) {
    throw util::Error("subnet JSON: expected an object with a \"blocks\" array (or the subnet string), got " +
                      j.dump().substr(0, 200));
  }
  std::vector<SubnetBlock> blocks;
  for (size_t i = 0; i < j["blocks"].size(); ++i) {
    const auto& jb = j["blocks"][i];
    if (!jb.is_object() || !jb.contains("kept") || !jb["kept"].is_boolean()) {
      throw util::Error("subnet JSON: block " + std::to_string(i) + " needs a boolean \"kept\"");
    }
    SubnetBlock b;
    b.kept = jb["kept"].get<bool>();
    if (b.kept) {
      if (!jb.contains("mlp_width") || !jb["mlp_width"].is_number_integer()) {
        throw util::Error("subnet JSON: kept block " + std::to_string(i) + " needs an integer \"mlp_width\"");
      }
      b.mlpWidth = jb["mlp_width"].get<int64_t>();
    }
    blocks.push_back(normalised(b, i));
  }
  Subnet s(std::move(blocks));
  if (j.contains("string") && j["string"].is_string() && j["string"].get<std::string>() != s.toString()) {
    throw util::Error("subnet JSON: \"string\" " + j["string"].dump() + " disagrees with \"blocks\" (" +
                      s.toString() + ")");
  }
  return s;
}

std::string Subnet::hash() const {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a64(toString())));
  return std::string(buf, 12);
}

model::ElasticConfig Subnet::toElastic() const {
  model::ElasticConfig cfg;
  cfg.reserve(m_blocks.size());
  for (const auto& b : m_blocks) cfg.push_back({b.kept, b.kept ? b.mlpWidth : -1});
  return cfg;
}

Subnet Subnet::fromElastic(const model::ElasticConfig& cfg, const model::SamArch& arch) {
  if (cfg.empty()) return full(arch);
  if (static_cast<int64_t>(cfg.size()) != arch.encoderDepth) {
    throw util::Error("elastic config has " + std::to_string(cfg.size()) + " blocks, the architecture has " +
                      std::to_string(arch.encoderDepth));
  }
  std::vector<SubnetBlock> b;
  for (size_t i = 0; i < cfg.size(); ++i) {
    int64_t w = cfg[i].mlpWidth < 0 ? arch.mlpDim(static_cast<int64_t>(i)) : cfg[i].mlpWidth;
    b.push_back({cfg[i].kept, cfg[i].kept ? w : 0});
  }
  Subnet s(std::move(b));
  s.checkAgainst(arch);
  return s;
}

}  // namespace supersam::supernet
