#pragma once
// Annotations of one image: a list of objects (label, colour, mask, the prompts that made it), saved as COCO JSON
// with compressed RLE (pycocotools' format, readable by COCO tools) and as an instance-id PNG, and read back.
// No Qt, no torch. Thread-safety: plain values and free functions.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "ui/engine/types.h"

namespace supersam::ui {

struct AnnotationObject {
  std::string label = "object";  // the COCO category
  std::string name;              // optional instance name ("Bob", "cell 12"); kept under "supersam"
  std::array<uint8_t, 3> color = {255, 128, 0};
  MaskU8 mask;         // image size
  PromptSet prompts;   // kept so that an object can be refined later (stored under "supersam" in the JSON)
  double score = 0;    // predicted IoU when accepted
  std::string subnet;  // subnet that produced it
};

struct AnnotationDoc {
  std::string imageFile;  // file name of the image (as COCO's file_name)
  int width = 0;
  int height = 0;
  std::vector<AnnotationObject> objects;
};

// One image, categories from the distinct labels (ids from 1 in order of first use). Atomic write.
// Throws util::Error naming the path when it cannot be written or a mask does not match the image size.
void saveCocoJson(const AnnotationDoc& doc, const std::string& path);
// Reads the first image of a COCO file (or the one whose file_name equals `imageFile` when given); RLE (compressed
// or not) and polygon segmentations are accepted. Throws util::Error naming the file and the problem.
AnnotationDoc loadCocoJson(const std::string& path, const std::string& imageFile = {});

// Instance-id PNG (uint8: 0 background, object i -> i + 1; later objects on top). Atomic write. At most 255
// objects; throws util::Error otherwise.
void saveInstancePng(const AnnotationDoc& doc, const std::string& path);
// Masks of an instance-id PNG, one object per id present (labels "object <id>").
AnnotationDoc loadInstancePng(const std::string& path);

// A distinct colour for the n-th object.
std::array<uint8_t, 3> objectColor(int n);

}  // namespace supersam::ui
