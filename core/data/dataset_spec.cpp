#include "core/data/dataset_spec.h"

#include <filesystem>
#include <set>

#include "core/data/reader_common.h"
#include "core/data/readers.h"
#include "core/util/error.h"

namespace fs = std::filesystem;

namespace supersam::data {

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

int64_t intOption(const DatasetSpec& spec, const std::string& key, int64_t fallback) {
  auto it = spec.options.find(key);
  if (it == spec.options.end()) return fallback;
  try {
    size_t used = 0;
    const long long v = std::stoll(it->second, &used);
    if (used != it->second.size()) throw std::invalid_argument("trailing");
    return v;
  } catch (const std::exception&) {
    throw util::Error("dataset spec '" + spec.text + "': " + key + "=" + it->second + " is not an integer");
  }
}

std::string strOption(const DatasetSpec& spec, const std::string& key, const std::string& fallback) {
  auto it = spec.options.find(key);
  return it == spec.options.end() ? fallback : it->second;
}

std::string leafName(const std::string& path) {
  fs::path p(path);
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().string();
}

const std::set<std::string> kKinds = {"coco", "sa1b", "instances", "masks", "dsb", "dsb2018", "pennfudan", "isbi2012"};
const std::set<std::string> kCommonOptions = {"min-area", "limit", "strict", "name"};

}  // namespace

std::vector<std::string> splitSpecList(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (c == '+' || c == ';') {
      if (!trim(cur).empty()) out.push_back(trim(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!trim(cur).empty()) out.push_back(trim(cur));
  return out;
}

DatasetSpec parseDatasetSpec(const std::string& text) {
  DatasetSpec spec;
  spec.text = text;
  const auto colon = text.find(':');
  if (colon == std::string::npos) {
    throw util::Error("dataset spec '" + text + "': expected KIND:PATH[:SPLIT][,key=value...] (see --help)");
  }
  std::string kind = trim(text.substr(0, colon));
  if (!kKinds.count(kind)) {
    throw util::Error("dataset spec '" + text + "': unknown kind '" + kind +
                      "' (expected coco, sa1b, instances, masks, dsb, dsb2018, pennfudan or isbi2012)");
  }
  std::string rest = text.substr(colon + 1);
  std::string head = rest.substr(0, rest.find(','));
  if (rest.find(',') != std::string::npos) {
    std::string opts = rest.substr(rest.find(',') + 1);
    size_t start = 0;
    while (start <= opts.size()) {
      const size_t end = std::min(opts.find(',', start), opts.size());
      const std::string item = trim(opts.substr(start, end - start));
      start = end + 1;
      if (item.empty()) continue;
      const auto eq = item.find('=');
      if (eq == std::string::npos) {
        throw util::Error("dataset spec '" + text + "': option '" + item + "' is not key=value");
      }
      spec.options[trim(item.substr(0, eq))] = trim(item.substr(eq + 1));
    }
  }
  // PATH[:SPLIT]: the split is what follows the last ':' when it names no path (no '/' or '.').
  const bool takesSplit = kind != "coco" && kind != "sa1b";
  if (takesSplit) {
    const auto last = head.rfind(':');
    if (last != std::string::npos) {
      const std::string tail = head.substr(last + 1);
      if (tail.find('/') == std::string::npos && tail.find('\\') == std::string::npos) {
        spec.split = trim(tail);
        head = head.substr(0, last);
      }
    }
  }
  spec.path = trim(head);
  if (spec.path.empty()) throw util::Error("dataset spec '" + text + "': missing path after '" + kind + ":'");

  std::set<std::string> allowed = kCommonOptions;
  const std::string splitName = spec.split.empty() ? std::string() : ":" + spec.split;
  if (kind == "dsb2018") {
    if (spec.split.empty()) throw util::Error("dataset spec '" + text + "': dsb2018 needs a split (train or val)");
    spec.name = "dsb2018:" + spec.split;
    spec.kind = "coco";
    spec.options.emplace("images", (fs::path(spec.path) / "images").string());
    spec.path = (fs::path(spec.path) / "annotations" / ("instances_" + spec.split + ".json")).string();
    spec.split.clear();
  } else if (kind == "pennfudan") {
    spec.name = "pennfudan" + splitName;
    spec.kind = "instances";
    spec.options.emplace("images", "PNGImages");
    spec.options.emplace("masks", "PedMasks");
    spec.options.emplace("suffix", "_mask");
  } else if (kind == "isbi2012") {
    spec.name = "isbi2012" + splitName;
    spec.kind = "masks";
    spec.options.emplace("images", "image");
    spec.options.emplace("masks", "label");
    spec.options.emplace("components", "4");
    spec.options.emplace("threshold", "128");
  } else {
    spec.kind = kind;
    spec.name = kind == "coco" ? fs::path(spec.path).stem().string() : leafName(spec.path) + splitName;
  }
  if (spec.kind == "coco") allowed.insert("images");
  if (spec.kind == "instances" || spec.kind == "masks") allowed.insert({"images", "masks", "suffix"});
  if (spec.kind == "masks") allowed.insert({"components", "threshold"});
  for (const auto& [k, v] : spec.options) {
    if (!allowed.count(k)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      throw util::Error("dataset spec '" + text + "': unknown option '" + k + "' for " + kind + " (expected " + list +
                        ")");
    }
  }
  if (spec.options.count("name")) spec.name = spec.options["name"];
  return spec;
}

Dataset loadDataset(const DatasetSpec& spec, const ReadOptions& defaults) {
  ReadOptions opt = defaults;
  opt.minArea = intOption(spec, "min-area", opt.minArea);
  opt.limit = intOption(spec, "limit", opt.limit);
  opt.strict = intOption(spec, "strict", opt.strict ? 1 : 0) != 0;
  const std::string listFile = spec.split.empty() ? std::string() : detail::joinPath(spec.path, spec.split + ".txt");
  Dataset ds;
  if (spec.kind == "coco") {
    std::string images = strOption(spec, "images", "");
    if (images.empty()) {
      const fs::path dir = fs::path(spec.path).parent_path();
      images = dir.filename() == "annotations" ? (dir.parent_path() / "images").string() : dir.string();
    }
    if (!detail::fileExists(spec.path)) {
      throw util::Error("dataset spec '" + spec.text + "': annotation file not found: " + spec.path);
    }
    ds = readCoco(spec.path, images, opt);
  } else if (spec.kind == "sa1b") {
    ds = readSa1b(spec.path, opt);
  } else if (spec.kind == "instances" || spec.kind == "masks") {
    PngLayout layout;
    layout.root = spec.path;
    layout.imageSubdir = strOption(spec, "images", "images");
    layout.maskSubdir = strOption(spec, "masks", "masks");
    layout.maskSuffix = strOption(spec, "suffix", "");
    layout.listFile = listFile;
    if (spec.kind == "instances") {
      ds = readInstancePngs(layout, opt);
    } else {
      ds = readBinaryMasks(layout, static_cast<int>(intOption(spec, "components", 4)),
                           static_cast<int>(intOption(spec, "threshold", 128)), opt);
    }
  } else if (spec.kind == "dsb") {
    ds = readDsbFolders(spec.path, listFile, opt);
  } else {
    throw util::Error("dataset spec '" + spec.text + "': unknown kind '" + spec.kind + "'");
  }
  ds.name = spec.name;
  ds.spec = spec.text;
  return ds;
}

Dataset loadDataset(const std::string& spec, const ReadOptions& defaults) {
  return loadDataset(parseDatasetSpec(spec), defaults);
}

std::vector<Dataset> loadDatasets(const std::string& specs, const ReadOptions& defaults) {
  std::vector<Dataset> out;
  for (const auto& s : splitSpecList(specs)) out.push_back(loadDataset(s, defaults));
  if (out.empty()) throw util::Error("no dataset given (expected KIND:PATH[:SPLIT], see --help)");
  return out;
}

std::string datasetSpecHelp() {
  return "Dataset spec: KIND:PATH[:SPLIT][,key=value]...  (several joined with '+')\n"
         "  coco:FILE.json[,images=DIR]     COCO instances JSON (polygons, RLE; crowd skipped)\n"
         "  sa1b:DIR                        SA-1B per-image JSON + images\n"
         "  instances:ROOT[:SPLIT][,images=SUB,masks=SUB,suffix=S]   instance-id PNGs (0 = background)\n"
         "  masks:ROOT[:SPLIT][,images=SUB,masks=SUB,suffix=S,components=4|8|0,threshold=T]   binary masks\n"
         "  dsb:DIR[:SPLIT]                 DIR/<id>/images/<id>.png + DIR/<id>/masks/*.png\n"
         "  dsb2018:ROOT:SPLIT  pennfudan:ROOT:SPLIT  isbi2012:ROOT:SPLIT   shortcuts for those public sets\n"
         "  SPLIT reads ROOT/SPLIT.txt. Options for all: min-area=N (default 16), limit=N, strict=1, name=TEXT\n";
}

std::string detectDatasetSpec(const std::string& path, const std::string& split) {
  std::error_code ec;
  const fs::path p(path);
  const auto isDir = [&](const fs::path& d) { return fs::is_directory(d, ec); };
  const auto isFile = [&](const fs::path& f) { return fs::is_regular_file(f, ec); };
  if (isFile(p) && p.extension() == ".json") return "coco:" + p.string();
  if (!isDir(p)) throw util::Error("dataset '" + path + "': not a folder or a COCO .json file");
  // The split part: ":SPLIT" when the layout lists it, else every image.
  const auto withSplit = [&](const std::string& spec, bool hasSplit) {
    return hasSplit ? spec + ":" + split : spec;
  };
  const bool splitList = !split.empty() && isFile(p / (split + ".txt"));
  if (isDir(p / "annotations") && isDir(p / "images")) {
    if (!split.empty() && isFile(p / "annotations" / ("instances_" + split + ".json"))) {
      return "dsb2018:" + p.string() + ":" + split;
    }
    for (const auto& e : fs::directory_iterator(p / "annotations", ec)) {
      if (e.path().extension() == ".json") return "coco:" + e.path().string() + ",images=" + (p / "images").string();
    }
  }
  if (isDir(p / "PNGImages") && isDir(p / "PedMasks")) return withSplit("pennfudan:" + p.string(), splitList);
  if (isDir(p / "image") && isDir(p / "label")) return withSplit("isbi2012:" + p.string(), splitList);
  if (isDir(p / "images") && isDir(p / "masks")) {
    // One object per image (saliency-style): every foreground pixel is the object.
    return withSplit("masks:" + p.string(), splitList) + ",components=0";
  }
  int perImageFolders = 0, jsonFiles = 0;
  for (const auto& e : fs::directory_iterator(p, ec)) {
    if (e.is_directory() && isDir(e.path() / "images") && isDir(e.path() / "masks")) ++perImageFolders;
    if (e.is_regular_file() && e.path().extension() == ".json") ++jsonFiles;
    if (perImageFolders + jsonFiles > 64) break;
  }
  if (perImageFolders > 0) return "dsb:" + p.string();
  if (jsonFiles > 0) return "sa1b:" + p.string();
  throw util::Error("dataset folder '" + path +
                    "': layout not recognised; expected one of: annotations/*.json + images/ (COCO), PNGImages/ + "
                    "PedMasks/ (Penn-Fudan), image/ + label/ (ISBI 2012), images/ + masks/ (binary masks), "
                    "<id>/images + <id>/masks folders (DSB), or SA-1B .json files");
}

}  // namespace supersam::data
