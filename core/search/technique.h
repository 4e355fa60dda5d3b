#pragma once
// Search techniques in OpenTuner's shape: the driver asks a technique for a configuration (propose) and later
// tells it the outcome of every configuration it proposed (onResult), duplicates included.
// Thread-safety: techniques are used from the driver's thread only.

#include <cstdint>
#include <memory>
#include <string>

#include "core/search/objective.h"
#include "core/search/rng.h"
#include "core/search/space.h"

namespace supersam::search {

// The driver as techniques see it (OpenTuner's SearchDriver).
class SearchContext {
 public:
  virtual ~SearchContext() = default;
  virtual const Space& space() const = 0;
  virtual Rng& rng() = 0;
  // The best configuration of this run so far, nullptr before the first result.
  virtual const Config* bestConfig() const = 0;
  // True once a result for `c` is known to this run (pending evaluations are not results yet).
  virtual bool hasResult(const Config& c) const = 0;
  // OpenTuner's objective.compare on configurations: < 0 when a is better. A configuration without a result
  // compares worse than any with one.
  virtual int compare(const Config& a, const Config& b) const = 0;
  // Whether the problem's budgets can be checked without an evaluation (analytical costs), and whether `c` meets
  // them (true when they cannot be checked).
  virtual bool hasAnalyticBudget() const { return false; }
  virtual bool fitsBudget(const Config& c) const {
    (void)c;
    return true;
  }
  bool lt(const Config& a, const Config& b) const { return compare(a, b) < 0; }
  bool lte(const Config& a, const Config& b) const { return compare(a, b) <= 0; }
};

struct Proposal {
  enum class Kind { Config, Nothing, Wait };  // Nothing = OpenTuner's None, Wait = its False
  Kind kind = Kind::Nothing;
  Config config;
  std::string source;  // name of the technique that proposed it

  static Proposal nothing() { return {}; }
  static Proposal wait() { return {Kind::Wait, {}, {}}; }
  static Proposal of(Config c, std::string source) { return {Kind::Config, std::move(c), std::move(source)}; }
};

// The outcome of one request, given back to the technique that made it.
struct Outcome {
  const Config& config;
  const Metrics& metrics;
  const Score& score;
  bool wasNewBest;  // strictly better than every earlier result of the run; always false for a duplicate
  bool duplicate;   // the configuration already had (or was awaiting) a result in this run
};

class Technique {
 public:
  virtual ~Technique() = default;
  virtual std::string name() const = 0;
  // `requestId` is unique per call that returns a configuration; onResult receives the same id.
  virtual Proposal propose(SearchContext& ctx, int64_t requestId) = 0;
  virtual void onResult(SearchContext& ctx, int64_t requestId, const Outcome& outcome) {
    (void)ctx;
    (void)requestId;
    (void)outcome;
  }
};

// OpenTuner's PureRandom: a uniformly random configuration every time (the baseline).
class PureRandom : public Technique {
 public:
  std::string name() const override { return "PureRandom"; }
  Proposal propose(SearchContext& ctx, int64_t) override {
    return Proposal::of(ctx.space().random(ctx.rng()), name());
  }
};

// "native": the built-in tuner, AUCBanditMetaTechniqueA's members plus BudgetExchange (technique_exchange.h);
// "native-port": AUCBanditMetaTechniqueA exactly as OpenTuner composes it; "random": PureRandom. util::Error
// otherwise.
std::unique_ptr<Technique> makeTechnique(const std::string& name);

}  // namespace supersam::search
