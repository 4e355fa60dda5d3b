#pragma once
// The calibration pipeline behind `supersam calibrate` and the studio's Calibrate dialog (one implementation for
// both): load the checkpoint, read the calibration images (a folder, or a labelled dataset whose box-prompt mIoU
// then measures the sensitivity), reorder the MLP neurons, measure block sensitivity, make the search space
// (supernet::calibrateSupernet), and write the supernet checkpoint atomically. Cancelled: util::Cancelled is thrown
// and nothing is written (calibration is minutes at most; it restarts from the start).
// Thread-safety: runs on the calling thread; JobControl's cancel token may be set from any thread.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/model/arch.h"
#include "core/supernet/calibrate.h"
#include "core/util/progress.h"

namespace supersam::pipeline {

struct CalibrateJob {
  std::string checkpoint;
  std::optional<std::string> arch;  // override (infer::archOverrideFor's rule)
  std::string imagesDir;            // exactly one of imagesDir and dataset
  std::string dataset;              // dataset spec (core/data/dataset_spec.h): mIoU sensitivity
  int64_t maxImages = 16;
  int64_t maxObjects = 8;           // per image, for the mIoU sensitivity
  supernet::ReorderMethod method = supernet::ReorderMethod::Wanda;
  int64_t prunable = -1;            // -1 = supernet::defaultPrunableCount(depth)
  double pMax = 0.5;
  std::vector<double> ratios = supernet::SearchSpace::defaultRatios();
  uint64_t seed = 0;
  std::string out;                  // the supernet checkpoint (.safetensors)
};

struct CalibrateOutcome {
  supernet::SupernetInfo info;
  model::SamArch arch;
  std::string modelPath;     // the checkpoint read
  int64_t images = 0;        // calibration images used
  double loadSeconds = 0, reorderSeconds = 0, sensitivitySeconds = 0, writeSeconds = 0;
};

using NoteFn = std::function<void(const std::string&)>;

// Progress: images read (phase "reading"), then calibrateSupernet's reorder and sensitivity reports.
// util::Error naming the file/value on bad input; util::Cancelled when cancelled (nothing written).
CalibrateOutcome calibrateCheckpoint(const CalibrateJob& job, const util::JobControl& control, const NoteFn& note = {});

// The images of a folder for any job (calibration, embedding): its jpg/jpeg/png/bmp/tif/tiff files (extension in
// any case), sorted by name, sub-folders not entered; possibly none. util::Error when `dir` is not a folder.
std::vector<std::string> listFolderImages(const std::string& dir);

// The calibration images of a folder (listFolderImages, the first maxImages). util::Error when there are none.
std::vector<std::string> listCalibrationImages(const std::string& dir, int64_t maxImages);

}  // namespace supersam::pipeline
