#pragma once
// Helpers shared by the UI tests: the tiny reference checkpoint, a synthetic image, waiting on signals.

#include <string>

#include <QElapsedTimer>
#include <QImage>
#include <QSignalSpy>
#include <QTest>

#include "tests/common/test_paths.h"
#include "ui/engine/types.h"

namespace supersam::test {

inline std::string tinyCheckpoint() { return fixturesDir() + "/tiny/checkpoint.pth"; }
inline std::string tinyArch() { return fixturesDir() + "/tiny/arch.json"; }

// 150 x 100 RGB: a bright disc on a dark gradient, so that prompts have something to find.
inline QImage syntheticImage(int w = 150, int h = 100) {
  QImage img(w, h, QImage::Format_RGB888);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const bool disc = (x - w / 2) * (x - w / 2) + (y - h / 2) * (y - h / 2) < (h / 4) * (h / 4);
      img.setPixelColor(x, y, disc ? QColor(230, 200, 40) : QColor(20 + x / 3, 30, 60 + y / 2));
    }
  }
  return img;
}

inline ui::ImageRgb toRgb(const QImage& in) {
  const QImage img = in.convertToFormat(QImage::Format_RGB888);
  ui::ImageRgb out;
  out.width = img.width();
  out.height = img.height();
  for (int y = 0; y < img.height(); ++y) {
    const uchar* line = img.constScanLine(y);
    out.data.insert(out.data.end(), line, line + img.width() * 3);
  }
  return out;
}

// One foreground point at (x, y), image pixels.
inline ui::PromptSet onePoint(float x, float y) {
  ui::PromptSet p;
  p.points.push_back({x, y});
  p.labels.push_back(1);
  return p;
}

// Processes events until pred() holds or ms pass.
template <typename Pred>
bool waitUntil(Pred pred, int ms = 20000) {
  QElapsedTimer t;
  t.start();
  while (!pred()) {
    if (t.elapsed() > ms) return false;
    QTest::qWait(10);
  }
  return true;
}

}  // namespace supersam::test
