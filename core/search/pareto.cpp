#include "core/search/pareto.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <numeric>
#include <sstream>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "core/util/json_guard.h"

namespace supersam::search {

namespace {

bool usable(const StoredResult& r) { return std::isfinite(r.metrics.quality) && std::isfinite(r.metrics.size()); }

std::string csvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string num(double v) {
  if (std::isnan(v)) return "";
  std::ostringstream s;
  s.precision(10);
  s << v;
  return s.str();
}

// 1, 2 or 5 times a power of ten, giving about `target` intervals over [lo, hi].
double niceStep(double lo, double hi, int target) {
  const double raw = (hi - lo) / target;
  if (raw <= 0) return 1.0;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= raw) return m * p;
  }
  return 10.0 * p;
}

std::string tickLabel(double v, double step) {
  char buf[32];
  const double a = std::fabs(v);
  if (a >= 1e9 || step >= 1e9) {
    std::snprintf(buf, sizeof buf, "%gG", v / 1e9);
  } else if (a >= 1e6 || step >= 1e6) {
    std::snprintf(buf, sizeof buf, "%gM", v / 1e6);
  } else if (a >= 1e4 || step >= 1e4) {
    std::snprintf(buf, sizeof buf, "%gk", v / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%g", std::round(v / step) * step);
  }
  return buf;
}

}  // namespace

std::vector<size_t> paretoFront(const std::vector<std::pair<double, double>>& sizeQuality) {
  std::vector<size_t> idx;
  for (size_t i = 0; i < sizeQuality.size(); ++i) {
    const auto [size, quality] = sizeQuality[i];
    if (std::isfinite(size) && std::isfinite(quality) && size >= 0) idx.push_back(i);
  }
  // By size ascending, then quality descending; a point joins the front when it beats every smaller one.
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    if (sizeQuality[a].first != sizeQuality[b].first) return sizeQuality[a].first < sizeQuality[b].first;
    return sizeQuality[a].second > sizeQuality[b].second;
  });
  std::vector<size_t> front;
  double bestQuality = -INFINITY;
  for (size_t i : idx) {
    if (sizeQuality[i].second > bestQuality) {
      front.push_back(i);
      bestQuality = sizeQuality[i].second;
    }
  }
  return front;
}

std::vector<size_t> paretoFront(const std::vector<StoredResult>& results) {
  std::vector<std::pair<double, double>> sq;
  sq.reserve(results.size());
  for (const StoredResult& r : results) sq.emplace_back(r.metrics.size(), r.metrics.quality);
  return paretoFront(sq);
}

namespace {

// One CSV record from `text` at `pos` (RFC 4180 quoting; a quoted field may hold commas, quotes and newlines).
bool nextRecord(const std::string& text, size_t& pos, std::vector<std::string>& fields) {
  fields.clear();
  if (pos >= text.size()) return false;
  std::string field;
  bool quoted = false;
  while (pos < text.size()) {
    const char c = text[pos++];
    if (quoted) {
      if (c == '"' && pos < text.size() && text[pos] == '"') {
        field += '"';
        ++pos;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
    } else if (c == '\n') {
      break;
    } else if (c != '\r') {
      field += c;
    }
  }
  if (quoted) throw util::Error("unterminated quoted field");
  fields.push_back(std::move(field));
  return true;
}

double csvNumber(const std::string& s, const char* column) {
  if (s.empty()) return NAN;
  size_t used = 0;
  double v = NAN;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != s.size()) throw util::Error(std::string("column ") + column + ": '" + s.substr(0, 40) + "' is not a number");
  return v;
}

}  // namespace

std::vector<StoredResult> importCsv(const std::string& path) {
  constexpr uintmax_t kMaxBytes = 64ull << 20;
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) throw util::Error("results CSV '" + path + "' cannot be read: " + ec.message());
  if (size > kMaxBytes) throw util::Error("results CSV '" + path + "' is larger than 64 MB");
  const std::string text = util::readFileBytes(path);
  size_t pos = 0;
  std::vector<std::string> f;
  std::map<std::string, size_t> col;
  try {
    if (!nextRecord(text, pos, f)) throw util::Error("empty file");
    for (size_t i = 0; i < f.size(); ++i) col[f[i]] = i;
  } catch (const util::Error& e) {
    throw util::Error("results CSV '" + path + "': " + e.what());
  }
  for (const char* needed : {"subnet", "quality"}) {
    if (!col.count(needed)) {
      throw util::Error("results CSV '" + path + "': no '" + needed +
                        "' column (expected the header of supersam search --csv)");
    }
  }
  const auto get = [&](const char* name) -> std::string {
    const auto it = col.find(name);
    return it == col.end() || it->second >= f.size() ? std::string() : f[it->second];
  };
  std::vector<StoredResult> out;
  for (size_t line = 2; nextRecord(text, pos, f); ++line) {
    if (f.size() == 1 && f[0].empty()) continue;  // blank line
    try {
      if (f.size() != col.size()) {
        throw util::Error(std::to_string(f.size()) + " fields, the header has " + std::to_string(col.size()));
      }
      StoredResult r;
      r.hash = get("hash");
      r.subnet = get("subnet");
      r.protocol = get("protocol");
      r.technique = get("technique");
      r.metrics.quality = csvNumber(get("quality"), "quality");
      r.metrics.params = csvNumber(get("params"), "params");
      r.metrics.macs = csvNumber(get("macs"), "macs");
      r.metrics.bytes = csvNumber(get("bytes"), "bytes");
      r.metrics.latencyMs = csvNumber(get("latency_ms"), "latency_ms");
      const double seconds = csvNumber(get("seconds"), "seconds");
      r.seconds = std::isnan(seconds) ? 0.0 : seconds;
      // details: a small JSON object (the per-metric mIoUs, the box-fill baseline); anything else is dropped.
      const std::string details = get("details");
      if (!details.empty() && details.size() <= (64u << 10)) {
        nlohmann::json d = util::parseJsonOrDiscarded(details);
        if (d.is_object()) r.metrics.details = std::move(d);
      }
      out.push_back(std::move(r));
    } catch (const util::Error& e) {
      throw util::Error("results CSV '" + path + "' line " + std::to_string(line) + ": " + e.what());
    }
  }
  return out;
}

void exportCsv(const std::string& path, const std::vector<StoredResult>& results) {
  const std::vector<size_t> front = paretoFront(results);
  std::vector<bool> onFront(results.size(), false);
  for (size_t i : front) onFront[i] = true;
  util::writeFileAtomic(path, [&](std::ostream& out) {
    out << "hash,subnet,protocol,quality,params,macs,bytes,latency_ms,seconds,run,technique,on_front,details\n";
    for (size_t i = 0; i < results.size(); ++i) {
      const StoredResult& r = results[i];
      out << csvField(r.hash) << ',' << csvField(r.subnet) << ',' << csvField(r.protocol) << ','
          << num(r.metrics.quality) << ',' << num(r.metrics.params) << ',' << num(r.metrics.macs) << ','
          << num(r.metrics.bytes) << ',' << num(r.metrics.latencyMs) << ',' << num(r.seconds) << ',' << r.runId
          << ',' << csvField(r.technique) << ',' << (onFront[i] ? 1 : 0) << ',' << csvField(r.metrics.details.dump())
          << '\n';
    }
  });
}

void plotPareto(const std::string& pngPath, const std::vector<StoredResult>& results, const PlotOptions& o) {
  std::vector<size_t> pts;
  for (size_t i = 0; i < results.size(); ++i) {
    if (usable(results[i])) pts.push_back(i);
  }
  std::string xLabel = o.xLabel;
  if (xLabel.empty()) {
    xLabel = "parameters";
    for (size_t i : pts) {
      if (std::isnan(results[i].metrics.params)) xLabel = std::isnan(results[i].metrics.bytes) ? "MACs" : "weight bytes";
    }
  }
  const cv::Scalar black(0, 0, 0), grid(225, 225, 225), grey(150, 150, 150), red(30, 30, 210), blue(200, 120, 40);
  cv::Mat img(o.height, o.width, CV_8UC3, cv::Scalar(255, 255, 255));
  const int left = 90, right = 30, top = 50, bottom = 70;
  const cv::Rect area(left, top, o.width - left - right, o.height - top - bottom);
  const int font = cv::FONT_HERSHEY_SIMPLEX;

  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (!pts.empty()) {
    x0 = x1 = results[pts[0]].metrics.size();
    y0 = y1 = results[pts[0]].metrics.quality;
    for (size_t i : pts) {
      x0 = std::min(x0, results[i].metrics.size());
      x1 = std::max(x1, results[i].metrics.size());
      y0 = std::min(y0, results[i].metrics.quality);
      y1 = std::max(y1, results[i].metrics.quality);
    }
  }
  if (o.budget > 0) {
    x0 = std::min(x0, o.budget);
    x1 = std::max(x1, o.budget);
  }
  auto pad = [](double& lo, double& hi) {
    const double span = hi - lo > 0 ? hi - lo : std::max(std::fabs(hi), 1.0) * 0.1;
    lo -= span * 0.05;
    hi += span * 0.05;
  };
  pad(x0, x1);
  pad(y0, y1);
  auto px = [&](double x) { return area.x + static_cast<int>(std::lround((x - x0) / (x1 - x0) * area.width)); };
  auto py = [&](double y) {
    return area.y + area.height - static_cast<int>(std::lround((y - y0) / (y1 - y0) * area.height));
  };

  // Grid, ticks and tick labels.
  const double xs = niceStep(x0, x1, 6), ys = niceStep(y0, y1, 6);
  for (double x = std::ceil(x0 / xs) * xs; x <= x1; x += xs) {
    cv::line(img, {px(x), area.y}, {px(x), area.y + area.height}, grid, 1);
    cv::line(img, {px(x), area.y + area.height}, {px(x), area.y + area.height + 6}, black, 1);
    const std::string t = tickLabel(x, xs);
    int base = 0;
    const cv::Size sz = cv::getTextSize(t, font, 0.45, 1, &base);
    cv::putText(img, t, {px(x) - sz.width / 2, area.y + area.height + 22}, font, 0.45, black, 1, cv::LINE_AA);
  }
  for (double y = std::ceil(y0 / ys) * ys; y <= y1; y += ys) {
    cv::line(img, {area.x, py(y)}, {area.x + area.width, py(y)}, grid, 1);
    cv::line(img, {area.x - 6, py(y)}, {area.x, py(y)}, black, 1);
    const std::string t = tickLabel(y, ys);
    int base = 0;
    const cv::Size sz = cv::getTextSize(t, font, 0.45, 1, &base);
    cv::putText(img, t, {area.x - 10 - sz.width, py(y) + sz.height / 2}, font, 0.45, black, 1, cv::LINE_AA);
  }
  cv::rectangle(img, area, black, 1);

  // Axis labels (the y label rotated) and title.
  {
    int base = 0;
    cv::Size sz = cv::getTextSize(xLabel, font, 0.55, 1, &base);
    cv::putText(img, xLabel, {area.x + (area.width - sz.width) / 2, o.height - 18}, font, 0.55, black, 1,
                cv::LINE_AA);
    sz = cv::getTextSize(o.yLabel, font, 0.55, 1, &base);
    cv::Mat label(sz.height + base + 4, sz.width + 4, CV_8UC3, cv::Scalar(255, 255, 255));
    cv::putText(label, o.yLabel, {2, sz.height + 1}, font, 0.55, black, 1, cv::LINE_AA);
    cv::Mat rotated;
    cv::rotate(label, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
    const int yPos = std::max(0, area.y + (area.height - rotated.rows) / 2);
    if (yPos + rotated.rows <= img.rows) rotated.copyTo(img(cv::Rect(8, yPos, rotated.cols, rotated.rows)));
    sz = cv::getTextSize(o.title, font, 0.65, 1, &base);
    cv::putText(img, o.title, {(o.width - sz.width) / 2, 30}, font, 0.65, black, 1, cv::LINE_AA);
  }

  if (o.budget > 0) {
    for (int y = area.y; y < area.y + area.height; y += 12) {
      cv::line(img, {px(o.budget), y}, {px(o.budget), std::min(y + 6, area.y + area.height)}, blue, 1);
    }
  }
  for (size_t i : pts) {
    cv::circle(img, {px(results[i].metrics.size()), py(results[i].metrics.quality)}, 3, grey, 1, cv::LINE_AA);
  }
  const std::vector<size_t> front = paretoFront(results);
  for (size_t k = 1; k < front.size(); ++k) {
    const auto& a = results[front[k - 1]].metrics;
    const auto& b = results[front[k]].metrics;
    // Staircase: the best quality reachable at each size.
    cv::line(img, {px(a.size()), py(a.quality)}, {px(b.size()), py(a.quality)}, red, 2, cv::LINE_AA);
    cv::line(img, {px(b.size()), py(a.quality)}, {px(b.size()), py(b.quality)}, red, 2, cv::LINE_AA);
  }
  for (size_t i : front) {
    cv::circle(img, {px(results[i].metrics.size()), py(results[i].metrics.quality)}, 4, red, cv::FILLED,
               cv::LINE_AA);
  }
  // Legend.
  const int lx = area.x + 12, ly = area.y + 16;
  cv::circle(img, {lx, ly}, 3, grey, 1, cv::LINE_AA);
  cv::putText(img, "evaluated (" + std::to_string(pts.size()) + ")", {lx + 10, ly + 5}, font, 0.45, black, 1,
              cv::LINE_AA);
  cv::circle(img, {lx, ly + 20}, 4, red, cv::FILLED, cv::LINE_AA);
  cv::putText(img, "Pareto front (" + std::to_string(front.size()) + ")", {lx + 10, ly + 25}, font, 0.45, black, 1,
              cv::LINE_AA);

  const std::string tmp = util::temporaryPathFor(pngPath);
  bool ok = false;
  try {
    ok = cv::imwrite(tmp, img);
  } catch (const cv::Exception& e) {
    std::remove(tmp.c_str());
    throw util::Error("cannot write plot '" + pngPath + "': " + e.what());
  }
  if (!ok) {
    std::remove(tmp.c_str());
    throw util::Error("cannot write plot '" + pngPath + "' (is the folder writable and the name a .png?)");
  }
  util::commitTemporary(tmp, pngPath);
}

}  // namespace supersam::search
