#pragma once
// Internal to ui/engine: the one COCO document builder behind saveCocoJson (RLE) and saveCocoPolygonJson
// (polygons), so both write the same images / categories / annotations / "supersam" fields.
// Thread-safety: pure function.

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core/mat.hpp>

#include "ui/engine/annotations.h"

namespace supersam::ui::detail {

// `categories`: names in category-id order (id = index + 1); every object's label must be one of them, and all
// are listed. `segmentation` turns an object's mask (CV_8U 0/1, image size) into its "segmentation" value.
// Throws util::Error naming `path` when a mask does not match the image size.
nlohmann::json cocoDocument(const AnnotationDoc& doc, const std::string& path, const std::vector<std::string>& categories,
                            const std::function<nlohmann::json(const cv::Mat& mask)>& segmentation);

// MaskU8 <-> cv::Mat (CV_8U 0/1).
cv::Mat maskToMat(const MaskU8& m);
MaskU8 maskFromMat(const cv::Mat& mat);

}  // namespace supersam::ui::detail
