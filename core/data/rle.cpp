#include "core/data/rle.h"

#include "core/data/polygons.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "core/util/error.h"

namespace supersam::data {

void validateRle(const Rle& rle, const std::string& what) {
  if (rle.height < 0 || rle.width < 0) {
    throw util::Error(what + ": negative size " + std::to_string(rle.height) + "x" + std::to_string(rle.width));
  }
  uint64_t total = 0;
  for (uint32_t c : rle.counts) total += c;
  const uint64_t expected = static_cast<uint64_t>(rle.height) * static_cast<uint64_t>(rle.width);
  if (total != expected) {
    throw util::Error(what + ": runs sum to " + std::to_string(total) + " pixels, expected height*width = " +
                      std::to_string(rle.height) + "*" + std::to_string(rle.width) + " = " + std::to_string(expected));
  }
}

Rle rleFromString(int64_t height, int64_t width, const std::string& s, const std::string& what) {
  Rle rle{height, width, {}};
  size_t p = 0;
  std::vector<int64_t> cnts;
  while (p < s.size()) {
    int64_t x = 0;
    int k = 0;
    bool more = true;
    while (more) {
      if (p >= s.size()) throw util::Error(what + ": RLE string ends inside a count (at character " +
                                           std::to_string(p) + ")");
      const int c = static_cast<unsigned char>(s[p]) - 48;
      if (c < 0 || c > 63) {
        throw util::Error(what + ": invalid character '" + std::string(1, s[p]) + "' in RLE string at position " +
                          std::to_string(p));
      }
      if (k > 12) throw util::Error(what + ": RLE count too long at position " + std::to_string(p));
      x |= static_cast<int64_t>(c & 0x1f) << (5 * k);
      more = (c & 0x20) != 0;
      ++p;
      ++k;
      if (!more && (c & 0x10)) x |= static_cast<int64_t>(~uint64_t{0} << (5 * k));  // sign-extend
    }
    if (cnts.size() > 2) x += cnts[cnts.size() - 2];
    if (x < 0 || x > static_cast<int64_t>(UINT32_MAX)) {
      throw util::Error(what + ": RLE run " + std::to_string(cnts.size()) + " has invalid length " + std::to_string(x));
    }
    cnts.push_back(x);
  }
  rle.counts.reserve(cnts.size());
  for (int64_t c : cnts) rle.counts.push_back(static_cast<uint32_t>(c));
  validateRle(rle, what);
  return rle;
}

std::string rleToString(const Rle& rle) {
  std::string s;
  const auto& cnts = rle.counts;
  for (size_t i = 0; i < cnts.size(); ++i) {
    int64_t x = cnts[i];
    if (i > 2) x -= static_cast<int64_t>(cnts[i - 2]);
    bool more = true;
    while (more) {
      int64_t c = x & 0x1f;
      x >>= 5;  // arithmetic shift on the signed value, as pycocotools
      more = (c & 0x10) ? x != -1 : x != 0;
      if (more) c |= 0x20;
      s.push_back(static_cast<char>(c + 48));
    }
  }
  return s;
}

Rle rleFromCounts(int64_t height, int64_t width, const std::vector<int64_t>& counts, const std::string& what) {
  Rle rle{height, width, {}};
  rle.counts.reserve(counts.size());
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] < 0 || counts[i] > static_cast<int64_t>(UINT32_MAX)) {
      throw util::Error(what + ": run " + std::to_string(i) + " has invalid length " + std::to_string(counts[i]));
    }
    rle.counts.push_back(static_cast<uint32_t>(counts[i]));
  }
  validateRle(rle, what);
  return rle;
}

Rle rleFromMask(const cv::Mat& mask) {
  CV_Assert(mask.type() == CV_8UC1);
  Rle rle{mask.rows, mask.cols, {}};
  const cv::Mat t = mask.t();  // rows of t are columns of the mask: iterate column-major as row-major
  uint8_t prev = 0;
  uint32_t run = 0;
  for (int r = 0; r < t.rows; ++r) {
    const uint8_t* row = t.ptr<uint8_t>(r);
    for (int c = 0; c < t.cols; ++c) {
      const uint8_t v = row[c] != 0;
      if (v != prev) {
        rle.counts.push_back(run);
        run = 0;
        prev = v;
      }
      ++run;
    }
  }
  rle.counts.push_back(run);
  return rle;
}

cv::Mat rleToMask(const Rle& rle) {
  validateRle(rle, "RLE");
  cv::Mat t(static_cast<int>(rle.width), static_cast<int>(rle.height), CV_8UC1, cv::Scalar(0));
  uint8_t* data = t.ptr<uint8_t>(0);  // freshly allocated: continuous
  size_t pos = 0;
  uint8_t v = 0;
  for (uint32_t c : rle.counts) {
    if (v) std::fill(data + pos, data + pos + c, uint8_t{1});
    pos += c;
    v ^= 1;
  }
  return t.t();
}

int64_t rleArea(const Rle& rle) {
  int64_t a = 0;
  for (size_t i = 1; i < rle.counts.size(); i += 2) a += rle.counts[i];
  return a;
}

std::array<double, 4> rleBbox(const Rle& rle) {
  const int64_t h = rle.height;
  if (h == 0) return {0, 0, 0, 0};
  int64_t xs = rle.width, ys = h, xe = 0, ye = 0;
  bool any = false;
  int64_t cc = 0;
  for (size_t i = 0; i < rle.counts.size(); ++i) {
    const int64_t n = rle.counts[i];
    if (i % 2 == 1 && n > 0) {
      any = true;
      const int64_t first = cc, last = cc + n - 1;
      const int64_t x0 = first / h, y0 = first % h, x1 = last / h, y1 = last % h;
      xs = std::min(xs, x0);
      xe = std::max(xe, x1);
      if (x0 != x1) {  // the run wraps over a column: it covers every row
        ys = 0;
        ye = h - 1;
      } else {
        ys = std::min(ys, y0);
        ye = std::max(ye, y1);
      }
    }
    cc += n;
  }
  if (!any) return {0, 0, 0, 0};
  return {double(xs), double(ys), double(xe - xs + 1), double(ye - ys + 1)};
}

cv::Mat rasterizePolygons(const std::vector<std::vector<double>>& polygons, int64_t height, int64_t width,
                          const std::string& what) {
  cv::Mat mask(static_cast<int>(height), static_cast<int>(width), CV_8UC1, cv::Scalar(0));
  std::vector<double> xs;
  for (size_t pi = 0; pi < polygons.size(); ++pi) {
    const auto& poly = polygons[pi];
    if (poly.size() % 2 != 0) {
      throw util::Error(what + ": polygon " + std::to_string(pi) + " has an odd number of coordinates (" +
                        std::to_string(poly.size()) + ")");
    }
    const size_t n = poly.size() / 2;
    if (n < 3) {
      throw util::Error(what + ": polygon " + std::to_string(pi) + " has " + std::to_string(n) +
                        " points, at least 3 expected");
    }
    for (double v : poly) {
      if (!std::isfinite(v)) throw util::Error(what + ": polygon " + std::to_string(pi) + " has a non-finite coordinate");
    }
    // Scanline through each row of pixel centres; even-odd within a polygon, OR across polygons.
    cv::Mat one(mask.size(), CV_8UC1, cv::Scalar(0));
    double minY = poly[1], maxY = poly[1];
    for (size_t i = 0; i < n; ++i) {
      minY = std::min(minY, poly[2 * i + 1]);
      maxY = std::max(maxY, poly[2 * i + 1]);
    }
    const int r0 = std::max(0, static_cast<int>(std::floor(minY - 0.5)));
    const int r1 = std::min(static_cast<int>(height) - 1, static_cast<int>(std::ceil(maxY)));
    for (int r = r0; r <= r1; ++r) {
      const double y = r + 0.5;
      xs.clear();
      for (size_t i = 0; i < n; ++i) {
        const double xa = poly[2 * i], ya = poly[2 * i + 1];
        const double xb = poly[2 * ((i + 1) % n)], yb = poly[2 * ((i + 1) % n) + 1];
        if ((ya <= y && y < yb) || (yb <= y && y < ya)) xs.push_back(xa + (y - ya) * (xb - xa) / (yb - ya));
      }
      std::sort(xs.begin(), xs.end());
      uint8_t* row = one.ptr<uint8_t>(r);
      for (size_t k = 0; k + 1 < xs.size(); k += 2) {
        // pixel c is inside when xs[k] <= c + 0.5 < xs[k+1]
        const int64_t c0 = std::max<int64_t>(0, static_cast<int64_t>(std::ceil(xs[k] - 0.5)));
        const int64_t c1 = std::min<int64_t>(width, static_cast<int64_t>(std::ceil(xs[k + 1] - 0.5)));
        for (int64_t c = c0; c < c1; ++c) row[c] = 1;
      }
    }
    mask |= one;
  }
  return mask;
}

std::vector<std::vector<double>> maskToPolygons(const cv::Mat& mask, double tolerance) {
  CV_Assert(mask.type() == CV_8UC1);
  PolygonOptions options;
  options.tolerance = tolerance;
  options.minRingArea = 0;
  std::vector<std::vector<double>> out;
  for (const auto& c : maskToComponentPolygons(mask, options)) out.push_back(flatten(c.outer));
  return out;
}

}  // namespace supersam::data
