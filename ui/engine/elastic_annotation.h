#pragma once
// Elastic annotation: which subnet previews a newly opened image, and which larger subnets a low-scoring mask
// escalates to. The preview must cost a fraction of the chosen subnet; the ladder is the Pareto front of the
// evaluated subnets (parameters against mIoU), the subnets worth stepping up to.
// No Qt, no torch. Thread-safety: pure functions.

#include <functional>
#include <vector>

#include "core/model/elastic.h"
#include "ui/engine/results_store.h"
#include "ui/engine/subnet_space.h"

namespace supersam::ui {

// The front of `results` (results_store.h's rule) as subnets of `space`, ascending in parameters; results whose
// subnet does not parse in this space (another model's database) are left out.
std::vector<model::ElasticConfig> ladderFromResults(const SubnetSpace& space,
                                                    const std::vector<EvaluatedSubnet>& results);

// A subnet's cost for choosing the preview, in any unit (predicted milliseconds when a latency table exists);
// empty = encoder GMACs from the cost model.
using SubnetCostFn = std::function<double(const model::ElasticConfig&)>;

// The automatic preview of `chosen`: the costliest subnet of `ladder` whose cost is at most `fraction` of the
// chosen subnet's, else the space's smallest subnet when that is under the fraction; empty when nothing is cheap
// enough (the chosen subnet is already small: no preview).
model::ElasticConfig autoPreview(const SubnetSpace& space, const model::ElasticConfig& chosen,
                                 const std::vector<model::ElasticConfig>& ladder, double fraction = 0.5,
                                 const SubnetCostFn& cost = {});

// The shared-prefix preview of `chosen`: the chosen subnet's first k blocks, then the space's smallest choices
// (narrowest MLPs, prunable blocks dropped), with the largest k whose cost is at most `fraction` of the chosen
// subnet's. Its first k blocks are the chosen subnet's, so the chosen encode after it runs only blocks k and on.
// Empty when even k = 0 costs more.
model::ElasticConfig prefixPreview(const SubnetSpace& space, const model::ElasticConfig& chosen, double fraction = 0.5,
                                   const SubnetCostFn& cost = {});

}  // namespace supersam::ui
