#include "ui/engine/annotations.h"

#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/data/rle.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "core/util/json_guard.h"
#include "ui/engine/coco_document.h"

namespace supersam::ui {

namespace {
nlohmann::json promptsToJson(const PromptSet& p) {
  nlohmann::json j;
  j["points"] = nlohmann::json::array();
  for (size_t i = 0; i < p.points.size(); ++i) {
    j["points"].push_back({p.points[i][0], p.points[i][1], i < p.labels.size() ? p.labels[i] : 1});
  }
  if (p.box) j["box"] = {(*p.box)[0], (*p.box)[1], (*p.box)[2], (*p.box)[3]};
  return j;
}

PromptSet promptsFromJson(const nlohmann::json& j) {
  PromptSet p;
  if (j.contains("points")) {
    for (const auto& q : j["points"]) {
      p.points.push_back({q.at(0).get<float>(), q.at(1).get<float>()});
      p.labels.push_back(q.at(2).get<int>());
    }
  }
  if (j.contains("box")) {
    const auto& b = j["box"];
    p.box = std::array<float, 4>{b.at(0).get<float>(), b.at(1).get<float>(), b.at(2).get<float>(),
                                 b.at(3).get<float>()};
  }
  return p;
}
}  // namespace

std::array<uint8_t, 3> objectColor(int n) {
  static const std::array<uint8_t, 3> kPalette[] = {
      {230, 25, 75},  {60, 180, 75},  {255, 225, 25}, {0, 130, 200},  {245, 130, 48}, {145, 30, 180},
      {70, 240, 240}, {240, 50, 230}, {210, 245, 60}, {250, 190, 212}, {0, 128, 128}, {170, 110, 40}};
  const size_t k = sizeof(kPalette) / sizeof(kPalette[0]);
  return kPalette[static_cast<size_t>(n < 0 ? 0 : n) % k];
}

namespace detail {

cv::Mat maskToMat(const MaskU8& m) {
  cv::Mat out(m.height, m.width, CV_8U);
  std::copy(m.data.begin(), m.data.end(), out.ptr<uint8_t>());
  return out;
}

MaskU8 maskFromMat(const cv::Mat& mat) {
  MaskU8 m;
  m.width = mat.cols;
  m.height = mat.rows;
  m.data.resize(static_cast<size_t>(mat.rows) * mat.cols);
  for (int y = 0; y < mat.rows; ++y) {
    const auto* row = mat.ptr<uint8_t>(y);
    for (int x = 0; x < mat.cols; ++x) m.data[static_cast<size_t>(y) * mat.cols + x] = row[x] ? 1 : 0;
  }
  return m;
}

nlohmann::json cocoDocument(const AnnotationDoc& doc, const std::string& path, const std::vector<std::string>& categories,
                            const std::function<nlohmann::json(const cv::Mat& mask)>& segmentation) {
  nlohmann::json j;
  j["info"] = {{"description", "SuperSAM Studio annotations"}, {"version", SUPERSAM_VERSION}};
  j["images"] = {{{"id", 1}, {"file_name", doc.imageFile}, {"width", doc.width}, {"height", doc.height}}};
  std::map<std::string, int> ids;
  nlohmann::json cats = nlohmann::json::array();
  for (size_t i = 0; i < categories.size(); ++i) {
    ids.emplace(categories[i], static_cast<int>(i) + 1);
    cats.push_back({{"id", static_cast<int>(i) + 1}, {"name", categories[i]}, {"supercategory", "object"}});
  }
  nlohmann::json anns = nlohmann::json::array();
  int id = 1;
  for (const auto& o : doc.objects) {
    if (o.mask.width != doc.width || o.mask.height != doc.height ||
        o.mask.data.size() != static_cast<size_t>(o.mask.width) * static_cast<size_t>(std::max(0, o.mask.height))) {
      throw util::Error("cannot save " + path + ": object '" + o.label + "' has a " + std::to_string(o.mask.width) +
                        "x" + std::to_string(o.mask.height) + " mask, the image is " + std::to_string(doc.width) +
                        "x" + std::to_string(doc.height));
    }
    const auto it = ids.find(o.label);
    if (it == ids.end()) throw util::Error("cannot save " + path + ": label '" + o.label + "' has no category");
    const cv::Mat mask = maskToMat(o.mask);
    const auto rle = data::rleFromMask(mask);
    const auto box = data::rleBbox(rle);
    anns.push_back({{"id", id++},
                    {"image_id", 1},
                    {"category_id", it->second},
                    {"segmentation", segmentation(mask)},
                    {"area", data::rleArea(rle)},
                    {"bbox", {box[0], box[1], box[2], box[3]}},
                    {"iscrowd", 0},
                    {"score", o.score},
                    {"supersam",
                     {{"color", {o.color[0], o.color[1], o.color[2]}},
                      {"prompts", promptsToJson(o.prompts)},
                      {"subnet", o.subnet},
                      {"name", o.name}}}});
  }
  j["categories"] = cats;
  j["annotations"] = anns;
  return j;
}

}  // namespace detail

void saveCocoJson(const AnnotationDoc& doc, const std::string& path) {
  // Categories: the distinct labels, ids from 1 in order of first use.
  std::vector<std::string> categories;
  for (const auto& o : doc.objects) {
    if (std::find(categories.begin(), categories.end(), o.label) == categories.end()) categories.push_back(o.label);
  }
  const auto j = detail::cocoDocument(doc, path, categories, [](const cv::Mat& mask) {
    const auto rle = data::rleFromMask(mask);
    return nlohmann::json{{"size", {rle.height, rle.width}}, {"counts", data::rleToString(rle)}};
  });
  util::writeFileAtomic(path, j.dump(1));
}

AnnotationDoc loadCocoJson(const std::string& path, const std::string& imageFile) {
  nlohmann::json j = util::parseJson(util::readFileBytes(path), path);
  if (!j.contains("images") || !j["images"].is_array() || j["images"].empty()) {
    throw util::Error(path + ": expected a COCO file with a non-empty \"images\" list");
  }
  try {
    const nlohmann::json* image = &j["images"][0];
    if (!imageFile.empty()) {
      for (const auto& im : j["images"]) {
        if (im.value("file_name", std::string{}) == imageFile) image = &im;
      }
    }
    AnnotationDoc doc;
    doc.imageFile = image->value("file_name", std::string{});
    doc.width = image->at("width").get<int>();
    doc.height = image->at("height").get<int>();
    const auto imageId = image->at("id");
    std::map<int64_t, std::string> names;
    if (j.contains("categories")) {
      for (const auto& c : j["categories"]) names[c.at("id").get<int64_t>()] = c.value("name", std::string("object"));
    }
    for (const auto& a : j.value("annotations", nlohmann::json::array())) {
      if (a.at("image_id") != imageId) continue;
      const auto& seg = a.at("segmentation");
      data::Rle rle;
      const std::string what = path + " annotation " + a.value("id", nlohmann::json(0)).dump();
      if (seg.is_object()) {
        const int64_t h = seg.at("size").at(0).get<int64_t>(), w = seg.at("size").at(1).get<int64_t>();
        if (seg.at("counts").is_string()) {
          rle = data::rleFromString(h, w, seg["counts"].get<std::string>(), what);
        } else {
          rle = data::rleFromCounts(h, w, seg["counts"].get<std::vector<int64_t>>(), what);
        }
      } else {
        rle = data::rleFromMask(
            data::rasterizePolygons(seg.get<std::vector<std::vector<double>>>(), doc.height, doc.width, what));
      }
      if (rle.height != doc.height || rle.width != doc.width) {
        throw util::Error(what + ": mask is " + std::to_string(rle.width) + "x" + std::to_string(rle.height) +
                          ", the image " + std::to_string(doc.width) + "x" + std::to_string(doc.height));
      }
      AnnotationObject o;
      const auto cat = a.value("category_id", int64_t{1});
      o.label = names.count(cat) ? names[cat] : "object";
      o.mask = detail::maskFromMat(data::rleToMask(rle));
      o.score = a.value("score", 0.0);
      o.color = objectColor(static_cast<int>(doc.objects.size()));
      if (a.contains("supersam")) {
        const auto& s = a["supersam"];
        if (s.contains("color")) {
          o.color = {s["color"].at(0).get<uint8_t>(), s["color"].at(1).get<uint8_t>(), s["color"].at(2).get<uint8_t>()};
        }
        if (s.contains("prompts")) o.prompts = promptsFromJson(s["prompts"]);
        o.subnet = s.value("subnet", std::string{});
        o.name = s.value("name", std::string{});
      }
      doc.objects.push_back(std::move(o));
    }
    return doc;
  } catch (const nlohmann::json::exception& e) {
    throw util::Error(path + ": not the COCO layout expected (" + e.what() + ")");
  }
}

void saveInstancePng(const AnnotationDoc& doc, const std::string& path) {
  if (doc.objects.size() > 255) {
    throw util::Error("cannot save " + path + " as an 8-bit instance PNG: " + std::to_string(doc.objects.size()) +
                      " objects, at most 255");
  }
  cv::Mat ids = cv::Mat::zeros(doc.height, doc.width, CV_8U);
  for (size_t i = 0; i < doc.objects.size(); ++i) {
    const auto& m = doc.objects[i].mask;
    if (m.width != doc.width || m.height != doc.height) {
      throw util::Error("cannot save " + path + ": object " + std::to_string(i) + " has a mask of another size");
    }
    for (int y = 0; y < m.height; ++y) {
      auto* row = ids.ptr<uint8_t>(y);
      for (int x = 0; x < m.width; ++x) {
        if (m.data[static_cast<size_t>(y) * m.width + x]) row[x] = static_cast<uint8_t>(i + 1);
      }
    }
  }
  std::vector<uint8_t> bytes;
  if (!cv::imencode(".png", ids, bytes)) throw util::Error("cannot encode the instance PNG for " + path);
  util::writeFileAtomic(path, std::string(bytes.begin(), bytes.end()));
}

AnnotationDoc loadInstancePng(const std::string& path) {
  cv::Mat ids = cv::imread(path, cv::IMREAD_GRAYSCALE);
  if (ids.empty()) throw util::Error("cannot read the instance PNG " + path);
  AnnotationDoc doc;
  doc.width = ids.cols;
  doc.height = ids.rows;
  for (int v = 1; v < 256; ++v) {
    cv::Mat m = ids == v;
    if (cv::countNonZero(m) == 0) continue;
    AnnotationObject o;
    o.label = "object " + std::to_string(v);
    o.mask = detail::maskFromMat(m);
    o.color = objectColor(static_cast<int>(doc.objects.size()));
    doc.objects.push_back(std::move(o));
  }
  return doc;
}

}  // namespace supersam::ui
