#pragma once
// Brush and eraser touch-ups of a mask: a stroke is a polyline in image pixels (pixel centres at integer + 0.5,
// as the canvas maps them) drawn with round caps and joins at a radius; the brush sets the covered pixels, the
// eraser clears them. No Qt, no torch. Thread-safety: pure function.

#include <array>
#include <vector>

#include "ui/engine/types.h"

namespace supersam::ui {

// `mask` with the stroke painted (erase = false) or erased. A pixel is covered when its centre lies within
// `radius` of the polyline (a single point paints a disc). Points outside the image are fine (clipped). Throws
// util::Error for an empty stroke or a radius that is not positive and finite.
MaskU8 paintStroke(const MaskU8& mask, const std::vector<std::array<float, 2>>& stroke, float radius, bool erase);

}  // namespace supersam::ui
