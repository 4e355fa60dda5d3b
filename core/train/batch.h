#pragma once
// Turning dataset samples into training inputs: the image resized (longest side to the arch's image_size) and
// padded exactly as the predictor does (infer::preprocessImage), up to K objects with one prompt each, and their
// ground-truth masks in the same padded input frame.
//
// Prompts (in input-frame pixels): a box = the tight box of the resized mask with each side moved uniformly by up
// to `boxJitter` of the box's width (x sides) / height (y sides), clamped to the image; or one point drawn
// uniformly among the mask's pixels (pixel centre). Everything random comes from the `seed` argument, so a sample
// is a pure function of (sample, options, seed): resuming and data-parallel ranks need no RNG hand-over.
// Thread-safety: pure functions (they read image files).

#include <array>
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/data/dataset.h"
#include "core/model/arch.h"
#include "core/train/augment.h"

namespace supersam::train {

struct PromptOptions {
  int64_t maxObjects = 8;      // K: objects per image (a random subset when the image has more)
  double pointFraction = 0.5;  // probability that an object gets one point instead of a box
  double boxJitter = 0.1;      // 0 = exact boxes (evaluation)
};

struct ObjectPrompt {
  bool isBox = true;
  std::array<float, 4> box{};    // x0, y0, x1, y1 (input frame) when isBox
  std::array<float, 2> point{};  // x, y (input frame) otherwise; label 1
};

struct TrainImage {
  at::Tensor input;    // [3, S, S] float, normalised and zero-padded
  at::Tensor targets;  // [K, S, S] float 0/1, ground truth in the padded input frame
  std::vector<ObjectPrompt> prompts;  // K entries, same order as targets
  std::array<int64_t, 2> inputHW{};   // the resized image's size inside the S x S frame
};

// Loads the image (util::Error naming the file when unreadable). Objects whose resized mask is empty are skipped,
// so K may be 0 for an image of tiny objects. With `augment` enabled the image and its masks go through
// augment.h first (scale/crop, flip, colour, copy-paste from `pasteSource`, which may be null); without it the
// input is exactly the predictor's.
TrainImage makeTrainImage(const data::Sample& sample, const model::SamArch& arch, const PromptOptions& opt,
                          uint64_t seed, const AugmentOptions& augment = {},
                          const data::Sample* pasteSource = nullptr);

// The deterministic order in which training samples are visited: the datasets concatenated, then one permutation
// per epoch derived from (seed, epoch). Position p (0, 1, 2, ... over all epochs) maps to a sample.
class DataOrder {
 public:
  DataOrder(std::vector<const data::Dataset*> datasets, uint64_t seed);
  int64_t size() const { return static_cast<int64_t>(m_items.size()); }
  const data::Sample& at(int64_t position) const;
  // Seed for the prompts of the sample at `position` (distinct per position and per run seed).
  uint64_t promptSeed(int64_t position) const;
  // The image whose objects are pasted onto the sample at `position` (copy-paste augmentation): drawn from
  // (seed, position), so it too needs no RNG state.
  const data::Sample& pasteSource(int64_t position) const;

 private:
  const std::vector<int64_t>& permutation(int64_t epoch) const;
  std::vector<const data::Sample*> m_items;
  uint64_t m_seed;
  mutable int64_t m_cachedEpoch = -1;
  mutable std::vector<int64_t> m_perm;
};

// SplitMix64: the mixing used to derive independent seeds from (seed, counters).
uint64_t mixSeed(uint64_t a, uint64_t b);

}  // namespace supersam::train
