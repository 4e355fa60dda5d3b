// COCO instances JSON and SA-1B per-image JSON (they share the RLE segmentation format).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "core/data/reader_common.h"
#include "core/data/readers.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "core/util/json_guard.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace supersam::data {

namespace {

json parseJsonFile(const std::string& path) {
  return util::parseJson(util::readFileBytes(path), "annotation file " + path);
}

// An integer field; a float is accepted only when it is a whole number (480.0), never truncated (480.7).
int64_t intValue(const json& v, const std::string& key, const std::string& where) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) return static_cast<int64_t>(d);
    throw util::Error(where + ": \"" + key + "\" is " + v.dump() + ", expected a whole number");
  }
  throw util::Error(where + ": \"" + key + "\" is not a number");
}

int64_t intField(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end()) throw util::Error(where + ": missing \"" + key + "\"");
  return intValue(*it, key, where);
}

std::string idText(const json& ann) {
  auto it = ann.find("id");
  return it != ann.end() && it->is_number() ? std::to_string(it->get<int64_t>()) : std::string("?");
}

// Decodes one annotation's "segmentation" to an RLE of size h x w; throws util::Error naming `where`.
Rle decodeSegmentation(const json& seg, int64_t h, int64_t w, const std::string& where) {
  if (seg.is_object()) {
    auto size = seg.find("size");
    auto counts = seg.find("counts");
    if (size == seg.end() || !size->is_array() || size->size() != 2 || !(*size)[0].is_number() ||
        !(*size)[1].is_number() || counts == seg.end()) {
      throw util::Error(where + ": RLE segmentation needs \"size\": [h, w] and \"counts\"");
    }
    const int64_t rh = intValue((*size)[0], "size", where), rw = intValue((*size)[1], "size", where);
    if (rh != h || rw != w) {
      throw util::Error(where + ": mask size " + std::to_string(rh) + "x" + std::to_string(rw) +
                        " differs from the image size " + std::to_string(h) + "x" + std::to_string(w));
    }
    if (counts->is_string()) return rleFromString(rh, rw, counts->get<std::string>(), where);
    if (counts->is_array()) {
      std::vector<int64_t> c;
      c.reserve(counts->size());
      for (const auto& v : *counts) {
        if (!v.is_number_integer()) throw util::Error(where + ": uncompressed RLE counts must be integers");
        c.push_back(v.get<int64_t>());
      }
      return rleFromCounts(rh, rw, c, where);
    }
    throw util::Error(where + ": RLE \"counts\" must be a string or a list of integers");
  }
  if (seg.is_array()) {
    std::vector<std::vector<double>> polys;
    for (const auto& p : seg) {
      if (!p.is_array()) throw util::Error(where + ": polygon segmentation must be a list of coordinate lists");
      std::vector<double> poly;
      for (const auto& v : p) {
        if (!v.is_number()) throw util::Error(where + ": polygon coordinates must be numbers");
        poly.push_back(v.get<double>());
      }
      polys.push_back(std::move(poly));
    }
    if (polys.empty()) throw util::Error(where + ": empty polygon list");
    return rleFromMask(rasterizePolygons(polys, h, w, where));
  }
  throw util::Error(where + ": \"segmentation\" must be an RLE object or a list of polygons");
}

// Reads the annotations in `anns` into `sample`, following the problems policy.
void readAnnotations(const json& anns, Sample& sample, const std::string& file, Dataset& ds, const ReadOptions& opt,
                     detail::Problems& problems, bool checkImageId) {
  for (const auto& ann : anns) {
    const std::string where = file + ": annotation id " + idText(ann) + " (image " +
                              fs::path(sample.imagePath).filename().string() + ")";
    try {
      if (!ann.is_object()) throw util::Error(where + ": not a JSON object");
      if (checkImageId && intField(ann, "image_id", where) != sample.imageId) continue;
      auto crowd = ann.find("iscrowd");
      if (crowd != ann.end() && !crowd->is_null()) {
        // 0 / 1 (or false / true); anything else ("yes") is named rather than taken as "not crowd".
        const bool isCrowd = crowd->is_boolean() ? crowd->get<bool>() : intValue(*crowd, "iscrowd", where) != 0;
        if (isCrowd) {
          ++ds.skippedCrowd;
          continue;
        }
      }
      auto seg = ann.find("segmentation");
      if (seg == ann.end()) throw util::Error(where + ": no \"segmentation\"");
      Object obj;
      auto id = ann.find("id");
      obj.id = id != ann.end() && id->is_number() ? id->get<int64_t>() : static_cast<int64_t>(sample.objects.size());
      auto cat = ann.find("category_id");
      obj.category = cat != ann.end() && cat->is_number() ? cat->get<int64_t>() : 1;
      obj.rle = decodeSegmentation(*seg, sample.height, sample.width, where);
      if (detail::finishObject(obj, ds, opt)) sample.objects.push_back(std::move(obj));
    } catch (const util::Error& e) {
      problems.add(e.what());
    } catch (const json::exception& e) {
      problems.add(where + ": " + e.what());
    }
  }
}

}  // namespace

Dataset readCoco(const std::string& annotationFile, const std::string& imageDir, const ReadOptions& opt) {
  Dataset ds;
  detail::Problems problems(ds, opt.strict);
  const json root = parseJsonFile(annotationFile);
  if (!root.is_object() || !root.contains("images") || !root["images"].is_array()) {
    throw util::Error("annotation file " + annotationFile + " has no \"images\" list (expected COCO instances JSON)");
  }
  if (root.contains("categories") && root["categories"].is_array()) {
    for (const auto& c : root["categories"]) {
      if (c.is_object() && c.contains("id") && c["id"].is_number() && c.contains("name") && c["name"].is_string()) {
        ds.categories[c["id"].get<int64_t>()] = c["name"].get<std::string>();
      }
    }
  }
  std::unordered_map<int64_t, size_t> index;  // image id -> sample
  std::unordered_set<int64_t> allImageIds;     // every image of the file, read or not
  for (const auto& im : root["images"]) {
    if (im.is_object() && im.contains("id") && im["id"].is_number_integer()) {
      allImageIds.insert(im["id"].get<int64_t>());
    }
  }
  for (const auto& im : root["images"]) {
    if (opt.limit >= 0 && static_cast<int64_t>(ds.samples.size()) >= opt.limit) break;
    try {
      if (!im.is_object()) throw util::Error(annotationFile + ": an entry of \"images\" is not an object");
      Sample s;
      const std::string where = annotationFile + ": image id " + idText(im);
      s.imageId = intField(im, "id", where);
      s.height = intField(im, "height", where);
      s.width = intField(im, "width", where);
      if (!im.contains("file_name") || !im["file_name"].is_string()) throw util::Error(where + ": no \"file_name\"");
      const std::string fileName = im["file_name"].get<std::string>();
      if (fileName.empty() || fileName.find('\0') != std::string::npos) {
        throw util::Error(where + ": \"file_name\" is empty or holds a NUL character");
      }
      s.imagePath = detail::joinPath(imageDir, fileName);
      if (!detail::fileExists(s.imagePath)) {
        throw util::Error(where + ": image file not found: " + s.imagePath);
      }
      const auto hw = readImageSize(s.imagePath);
      if (hw[0] != s.height || hw[1] != s.width) {
        throw util::Error(where + ": image file " + s.imagePath + " is " + std::to_string(hw[0]) + "x" +
                          std::to_string(hw[1]) + " but the JSON says " + std::to_string(s.height) + "x" +
                          std::to_string(s.width));
      }
      if (index.count(s.imageId)) throw util::Error(where + ": duplicate image id");
      index[s.imageId] = ds.samples.size();
      ds.samples.push_back(std::move(s));
    } catch (const util::Error& e) {
      problems.add(e.what());
    } catch (const json::exception& e) {
      problems.add(annotationFile + ": image entry: " + e.what());
    }
  }
  if (root.contains("annotations") && root["annotations"].is_array()) {
    // Group annotations per image first, then decode them in the images' order.
    std::vector<json> perImage(ds.samples.size(), json::array());
    for (const auto& ann : root["annotations"]) {
      auto iid = ann.is_object() ? ann.find("image_id") : ann.end();
      if (!ann.is_object() || iid == ann.end() || !iid->is_number()) {
        problems.add(annotationFile + ": annotation id " + idText(ann) + ": missing or non-numeric \"image_id\"");
        continue;
      }
      auto it = index.find(iid->get<int64_t>());
      if (it == index.end()) {
        // An image skipped (limit, or a problem already reported) is fine; an id no image has is named.
        if (!allImageIds.count(iid->get<int64_t>())) {
          problems.add(annotationFile + ": annotation id " + idText(ann) + " refers to image_id " + iid->dump() +
                       ", which no image has");
        }
        continue;
      }
      perImage[it->second].push_back(ann);
    }
    for (size_t i = 0; i < ds.samples.size(); ++i) {
      readAnnotations(perImage[i], ds.samples[i], annotationFile, ds, opt, problems, false);
    }
  }
  return ds;
}

Dataset readSa1b(const std::string& dir, const ReadOptions& opt) {
  Dataset ds;
  detail::Problems problems(ds, opt.strict);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw util::Error("SA-1B folder not found: " + dir);
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    if (opt.limit >= 0 && static_cast<int64_t>(ds.samples.size()) >= opt.limit) break;
    try {
      const json root = parseJsonFile(file);
      if (!root.is_object() || !root.contains("image") || !root["image"].is_object()) {
        throw util::Error(file + ": no \"image\" object (expected SA-1B per-image JSON)");
      }
      const json& im = root["image"];
      Sample s;
      s.imageId = intField(im, "image_id", file);
      s.height = intField(im, "height", file);
      s.width = intField(im, "width", file);
      std::string name = im.contains("file_name") && im["file_name"].is_string()
                             ? im["file_name"].get<std::string>()
                             : fs::path(file).stem().string() + ".jpg";
      s.imagePath = detail::joinPath(dir, name);
      if (!detail::fileExists(s.imagePath)) throw util::Error(file + ": image file not found: " + s.imagePath);
      if (root.contains("annotations") && root["annotations"].is_array()) {
        readAnnotations(root["annotations"], s, file, ds, opt, problems, false);
      }
      ds.samples.push_back(std::move(s));
    } catch (const util::Error& e) {
      problems.add(e.what());
    } catch (const json::exception& e) {
      problems.add(file + ": " + e.what());
    }
  }
  return ds;
}

}  // namespace supersam::data
