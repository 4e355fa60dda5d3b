#pragma once
// Training-time augmentation of one image and its instance masks, composed in the input frame the model sees:
//   1. copy-paste: with probability `copyPaste`, up to `maxPasted` objects of another training image (scaled to fit,
//      placed at random) are pasted on top; they occlude the objects under them and become objects themselves;
//   2. horizontal flip with probability `flip`;
//   3. colour: brightness, contrast and saturation each scaled by a factor in [1 - colour, 1 + colour];
//   4. scale and crop: the image is resized so that its longest side is image_size x a factor in
//      [scaleMin, scaleMax]; a side longer than image_size is cropped to a window placed so that a randomly chosen
//      object's centre stays inside it; the result sits at the top left of the S x S frame like the predictor's.
// Objects left with fewer than `minArea` pixels in the frame are dropped. Everything random derives from `seed`,
// so an augmented sample is a pure function of (samples, options, seed): exact resume and data-parallel ranks
// need no RNG hand-over.
// Thread-safety: pure functions (they read image files).

#include <cstdint>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "core/data/dataset.h"

namespace supersam::train {

struct AugmentOptions {
  bool enabled = false;
  double scaleMin = 0.6;   // longest side relative to image_size
  double scaleMax = 1.4;
  double flip = 0.5;       // probability of a horizontal flip
  double colour = 0.25;    // amplitude of the brightness / contrast / saturation factors; 0 = off
  double copyPaste = 0.3;  // probability of pasting objects of another image
  int64_t maxPasted = 3;
  int64_t minArea = 16;    // pixels in the input frame
};

struct AugmentedImage {
  cv::Mat rgb;                 // CV_8UC3 [h, w], h, w <= image_size (the part of the frame the image covers)
  std::vector<cv::Mat> masks;  // CV_8U [h, w] 0/1 per kept object
};

// `maxObjects`: objects of `sample` considered (a random subset of that many, before pasting); pasted objects come
// on top of those. `pasteSource` may be null (no copy-paste). Throws util::Error naming a file that can't be read.
AugmentedImage augmentSample(const data::Sample& sample, const data::Sample* pasteSource, int64_t imageSize,
                             int64_t maxObjects, const AugmentOptions& opt, uint64_t seed);

// A 0/1 CV_8U mask resized as its image is (bilinear on 0/1, threshold 0.5): the one rule for masks in the input
// frame, augmented or not.
cv::Mat resizeMask(const cv::Mat& mask, cv::Size size);

// Parses "scale=0.6:1.4,flip=0.5,colour=0.25,paste=0.3" (any subset; "on" = the defaults, "off" = disabled).
// util::Error naming the bad item and what was expected.
AugmentOptions parseAugmentOptions(const std::string& text);

}  // namespace supersam::train
