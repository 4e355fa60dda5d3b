#pragma once
// Engine values that travel inside queued signals. registerMetaTypes() runs once before any worker starts.

#include <QMetaType>

#include "ui/engine/subnet_space.h"
#include "ui/engine/types.h"

Q_DECLARE_METATYPE(supersam::ui::PredictionResult)
Q_DECLARE_METATYPE(supersam::ui::ModelInfo)
Q_DECLARE_METATYPE(supersam::ui::SubnetSpace)

namespace supersam::ui {
void registerMetaTypes();
}
