// Subnet search on a real supernet: evaluations each backend needs to reach the best feasible mIoU that any run
// found, over several seeds. All runs share one results database, so a subnet that an earlier run evaluated is
// reused (costs no time) but still counts as an evaluation of the run that asked for it.
//
// Usage: bench_search_supernet --supernet F --dataset SPEC --db FILE [--backends native,random[,opentuner]]
//          [--seeds 1,2,3] [--budget 150] [--max-params-fraction 0.6] [--images 6] [--objects 8] [--prompt box]
//          [--metric single] [--tolerance 0.005] [--threads 1] [--python /usr/bin/python3] [--space 2d|1d]
//          [--json FILE]  (every run's best-so-far trajectory, to combine invocations)
//          [--seed-subnets auto|on|off] [--label NAME]  (informed seed subnets as `supersam search --seeds`; the
//          name runs are reported under, default the backend: e.g. --backends random --seed-subnets on
//          --label random+seeds for an ablation)
// Prints, per run, the evaluation index at which it first reached (a) the overall best and (b) the overall best
// minus --tolerance, then medians per backend and the native/random ratio; a run that never reached it counts as
// budget + 1 (so medians are lower bounds for random search then).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include "core/infer/model_loader.h"
#include "core/io/checkpoint.h"
#include "core/search/subnet_search.h"
#include "core/supernet/cost_model.h"
#include "core/supernet/supernet_info.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "core/util/process_env.h"

using namespace supersam;

namespace {

std::string arg(int argc, char** argv, const std::string& name, const std::string& def) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (name == argv[i]) return argv[i + 1];
  }
  return def;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string part; std::getline(ss, part, ',');) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

struct Run {
  std::string backend;
  uint64_t seed = 0;
  std::vector<double> bestSoFar;  // feasible best after each evaluation (-1 when none yet)
  double seconds = 0.0;
  int64_t reused = 0;
};

int64_t firstReach(const Run& r, double target, int64_t budget) {
  for (size_t i = 0; i < r.bestSoFar.size(); ++i) {
    if (r.bestSoFar[i] >= target - 1e-12) return static_cast<int64_t>(i) + 1;
  }
  return budget + 1;
}

double median(std::vector<int64_t> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? static_cast<double>(v[n / 2]) : 0.5 * static_cast<double>(v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

int main(int argc, char** argv) {
  supersam::util::prepareProcess(argv);
  try {
    search::SubnetSearchSettings base;
    base.modelPath = arg(argc, argv, "--supernet", "");
    base.dataset = arg(argc, argv, "--dataset", "");
    base.dbPath = arg(argc, argv, "--db", "");
    if (base.modelPath.empty() || base.dataset.empty() || base.dbPath.empty()) {
      std::fprintf(stderr, "usage: bench_search_supernet --supernet F --dataset SPEC --db FILE [options] (see source)\n");
      return 2;
    }
    base.prompt = arg(argc, argv, "--prompt", "box");
    base.metric = arg(argc, argv, "--metric", "single");
    base.maxImages = std::stoll(arg(argc, argv, "--images", "6"));
    base.maxObjectsPerImage = std::stoll(arg(argc, argv, "--objects", "8"));
    base.maxEvaluations = std::stoll(arg(argc, argv, "--budget", "150"));
    base.python = arg(argc, argv, "--python", "/usr/bin/python3");
    const double tolerance = std::stod(arg(argc, argv, "--tolerance", "0.005"));
    const double fraction = std::stod(arg(argc, argv, "--max-params-fraction", "0.6"));
    base.widthsOnly = arg(argc, argv, "--space", "2d") == "1d";
    base.seeds = arg(argc, argv, "--seed-subnets", "auto");
    const std::string label = arg(argc, argv, "--label", "");
    at::set_num_threads(std::stoi(arg(argc, argv, "--threads", "1")));

    // The parameter budget as a fraction of the largest subnet's parameters (whole model).
    const io::Checkpoint ckpt = io::readCheckpoint(base.modelPath);
    const model::SamArch arch = infer::archForCheckpoint(ckpt, std::nullopt);
    const supernet::SupernetInfo info = supernet::readSupernetInfo(ckpt.metadata, arch);
    const double largest = static_cast<double>(supernet::computeCost(arch, info.space.largest()).params);
    base.constraints.maxParams = fraction * largest;
    std::printf("supernet %s: largest subnet %.3f M parameters; budget %.0f%% = %.3f M; %s prompts, %s mIoU, "
                "%lld images x %lld objects per dataset; %s space; budget %lld evaluations per run\n",
                base.modelPath.c_str(), largest / 1e6, fraction * 100, *base.constraints.maxParams / 1e6,
                base.prompt.c_str(), base.metric.c_str(), static_cast<long long>(base.maxImages),
                static_cast<long long>(base.maxObjectsPerImage), base.widthsOnly ? "1D (widths only)" : "2D (widths + depth)",
                static_cast<long long>(base.maxEvaluations));

    std::vector<Run> runs;
    std::string bestSubnet;
    double bestQuality = -1.0;
    for (const std::string& backend : split(arg(argc, argv, "--backends", "native,random"))) {
      for (const std::string& seed : split(arg(argc, argv, "--seeds", "1,2,3"))) {
        search::SubnetSearchSettings s = base;
        s.backend = backend;
        s.seed = std::stoull(seed);
        s.opentunerDb = base.dbPath + ".opentuner-" + seed + ".sqlite";
        Run r;
        r.backend = label.empty() ? backend : label;
        r.seed = s.seed;
        double best = -1.0;
        const search::SubnetSearchOutcome out =
            search::runSubnetSearch(s, {}, [&](const search::EvaluatedPoint& p, const search::SearchReport&) {
              if (p.score.feasible) best = std::max(best, p.metrics.quality);
              if (p.score.feasible && p.metrics.quality > bestQuality) {
                bestQuality = p.metrics.quality;
                bestSubnet = p.id.text;
              }
              r.bestSoFar.push_back(best);
              r.seconds += p.seconds;
              r.reused += p.reused ? 1 : 0;
            });
        std::printf("  %-9s seed %llu: %zu evaluations (%lld reused), %.0f s evaluating, best feasible %.4f\n",
                    r.backend.c_str(), static_cast<unsigned long long>(s.seed), r.bestSoFar.size(),
                    static_cast<long long>(r.reused), r.seconds, best);
        std::fflush(stdout);
        runs.push_back(std::move(r));
      }
    }

    // Trajectories for combining runs of several invocations: --json FILE.
    const std::string jsonPath = arg(argc, argv, "--json", "");
    if (!jsonPath.empty()) {
      nlohmann::json j = nlohmann::json::array();
      for (const Run& r : runs) {
        j.push_back({{"backend", r.backend}, {"seed", r.seed}, {"best_so_far", r.bestSoFar}, {"seconds", r.seconds},
                     {"reused", r.reused}});
      }
      util::writeFileAtomic(jsonPath, j.dump() + "\n");
    }

    double overall = -1.0;
    for (const Run& r : runs) {
      if (!r.bestSoFar.empty()) overall = std::max(overall, r.bestSoFar.back());
    }
    if (overall < 0) {
      std::printf("\nno run found a feasible subnet: raise --budget or --max-params-fraction\n");
      return 1;
    }
    std::printf("\nbest feasible mIoU over all runs: %.4f (tolerance target %.4f), subnet %s\n", overall,
                overall - tolerance, bestSubnet.c_str());
    std::map<std::string, std::vector<int64_t>> exact, near;
    for (const Run& r : runs) {
      const int64_t a = firstReach(r, overall, base.maxEvaluations);
      const int64_t b = firstReach(r, overall - tolerance, base.maxEvaluations);
      exact[r.backend].push_back(a);
      near[r.backend].push_back(b);
      std::printf("  %-9s seed %llu: reaches the best at evaluation %s, within %.3f at %s\n", r.backend.c_str(),
                  static_cast<unsigned long long>(r.seed),
                  a > base.maxEvaluations ? "never" : std::to_string(a).c_str(), tolerance,
                  b > base.maxEvaluations ? "never" : std::to_string(b).c_str());
    }
    for (const auto& [backend, v] : near) {
      std::printf("median evaluations (never = %lld): %-9s best %.1f, within %.3f %.1f\n",
                  static_cast<long long>(base.maxEvaluations + 1), backend.c_str(), median(exact[backend]), tolerance,
                  median(v));
    }
    if (near.count("native") && near.count("random")) {
      std::printf("ratio native / random (within %.3f): %.2f\n", tolerance,
                  median(near["native"]) / median(near["random"]));
    }
    if (near.count("native") && near.count("opentuner")) {
      std::printf("ratio native / opentuner (within %.3f): %.2f\n", tolerance,
                  median(near["native"]) / median(near["opentuner"]));
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_search_supernet: %s\n", e.what());
    return 1;
  }
}
