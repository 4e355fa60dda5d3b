#include "ui/engine/types.h"

namespace supersam::ui {

int64_t MaskU8::area() const {
  int64_t n = 0;
  for (uint8_t v : data) n += v != 0;
  return n;
}

double maskIoU(const MaskU8& a, const MaskU8& b) {
  if (a.width != b.width || a.height != b.height || a.data.size() != b.data.size()) return 0.0;
  int64_t inter = 0, uni = 0;
  for (size_t i = 0; i < a.data.size(); ++i) {
    const bool x = a.data[i] != 0, y = b.data[i] != 0;
    inter += x && y;
    uni += x || y;
  }
  return uni == 0 ? 1.0 : static_cast<double>(inter) / static_cast<double>(uni);
}

}  // namespace supersam::ui
