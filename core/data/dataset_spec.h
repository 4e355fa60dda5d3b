#pragma once
// The dataset spec of the command line: one string that picks a reader, its root, a split and options.
//
//   KIND:PATH[:SPLIT][,key=value]...        several specs joined with '+' (or ';') are read as separate datasets
//
//   coco:FILE.json[,images=DIR]             COCO instances JSON; images default to <json dir>/../images when the
//                                           JSON is in an "annotations" folder, else the JSON's folder
//   sa1b:DIR                                SA-1B per-image JSON files and images in DIR
//   instances:ROOT[:SPLIT][,images=SUB,masks=SUB,suffix=S]   instance-id PNGs (0 = background); SPLIT reads
//                                           ROOT/SPLIT.txt (one stem per line), no SPLIT = every image
//   masks:ROOT[:SPLIT][,images=SUB,masks=SUB,suffix=S,components=4|8|0,threshold=T]   binary masks -> components
//   dsb:DIR[:SPLIT]                         DSB-style DIR/<id>/images/<id>.png + DIR/<id>/masks/*.png
// Shortcuts for the layouts of the public DSB2018 (COCO-converted), Penn-Fudan and ISBI 2012 sets:
//   dsb2018:ROOT:SPLIT   = coco:ROOT/annotations/instances_SPLIT.json,images=ROOT/images
//   pennfudan:ROOT:SPLIT = instances:ROOT:SPLIT,images=PNGImages,masks=PedMasks,suffix=_mask
//   isbi2012:ROOT:SPLIT  = masks:ROOT:SPLIT,images=image,masks=label,components=4,threshold=128
// Options for every kind: min-area=N (skip smaller objects; default 16), limit=N (first N images), strict=1
// (first problem throws instead of warning), name=TEXT (name in reports).
// Paths may not contain ',' or '+'. Thread-safety: pure functions.

#include <map>
#include <string>
#include <vector>

#include "core/data/dataset.h"

namespace supersam::data {

struct DatasetSpec {
  std::string text;   // as given
  std::string kind;   // after expanding shortcuts: coco, sa1b, instances, masks, dsb
  std::string path;   // root folder or annotation file
  std::string split;  // may be empty
  std::map<std::string, std::string> options;
  std::string name;   // for reports
};

// Throws util::Error naming the spec and what was expected (unknown kind or option, missing path or split).
DatasetSpec parseDatasetSpec(const std::string& text);
std::vector<std::string> splitSpecList(const std::string& text);

// `defaults` give min-area / limit / strict unless the spec overrides them.
Dataset loadDataset(const DatasetSpec& spec, const ReadOptions& defaults = {});
Dataset loadDataset(const std::string& spec, const ReadOptions& defaults = {});
std::vector<Dataset> loadDatasets(const std::string& specs, const ReadOptions& defaults = {});

std::string datasetSpecHelp();  // the grammar above, for --help texts

// The spec of a folder or file a user picked (the studio's folder picker), its kind recognised from the layout:
// a COCO JSON file; ROOT/annotations/instances_SPLIT.json + ROOT/images (dsb2018); PNGImages + PedMasks
// (pennfudan); image + label (isbi2012); images + masks (binary masks, the whole foreground of a mask one object,
// components=0; a .jpg mask is fine); per-image folders with images/ and masks/ (dsb); per-image SA-1B JSON files.
// `split` is used where the layout has SPLIT.txt or instances_SPLIT.json (else every image). Throws util::Error
// naming the path and the layouts recognised when none fits.
std::string detectDatasetSpec(const std::string& path, const std::string& split = "val");

}  // namespace supersam::data
