#pragma once
// One small form per long job (calibrate, train, evaluate, search) over the shared job interface: the fields it
// shows, the job it starts (ui/engine/jobs.h, which calls core's pipelines, as the CLI does), how its plot is set
// up and how its events (JobEvent kinds) become plot points and log lines. JobDialog owns the widgets, progress,
// cancel and settings; a form only knows its job. Field names are the constants below (tests and the main window
// set them by name). GUI thread only.

#include <memory>

#include <QString>
#include <QStringList>
#include <QVariant>
#include <QVariantMap>
#include <QVector>

#include "ui/workers/job_worker.h"

class QCustomPlot;

namespace supersam::ui {

enum class JobKind { Calibrate, Train, Evaluate, Search };

namespace field {
inline constexpr const char* kCheckpoint = "checkpoint";
inline constexpr const char* kArch = "arch";
inline constexpr const char* kDataset = "dataset";
inline constexpr const char* kImagesDir = "images_dir";
inline constexpr const char* kVal = "val";
inline constexpr const char* kOut = "out";
inline constexpr const char* kImages = "images";
inline constexpr const char* kObjects = "objects";
inline constexpr const char* kMethod = "method";
inline constexpr const char* kPrunable = "prunable";
inline constexpr const char* kPMax = "pmax";
inline constexpr const char* kSteps = "steps";
inline constexpr const char* kBatch = "batch";
inline constexpr const char* kLr = "lr";
inline constexpr const char* kRandom = "random";
inline constexpr const char* kValidate = "validate";
inline constexpr const char* kAugment = "augment";
inline constexpr const char* kDistill = "distill";
inline constexpr const char* kResume = "resume";
inline constexpr const char* kCheckpointEvery = "checkpoint_every";
inline constexpr const char* kSubnet = "subnet";
inline constexpr const char* kPrompt = "prompt";
inline constexpr const char* kDb = "db";
inline constexpr const char* kBackend = "backend";
inline constexpr const char* kWidths = "widths";
inline constexpr const char* kPython = "python";
inline constexpr const char* kBudget = "budget";
inline constexpr const char* kSeconds = "seconds";
inline constexpr const char* kMaxParams = "max_params";
inline constexpr const char* kMaxGmacs = "max_gmacs";
inline constexpr const char* kMaxLatency = "max_latency_ms";
inline constexpr const char* kLatencyKind = "latency";
inline constexpr const char* kMetric = "metric";
}  // namespace field

// What a form asks of its dialog: typed fields (each remembered between sessions) and their values.
class FieldHost {
 public:
  enum class Browse { None, OpenFile, SaveFile, Folder, Dataset };
  virtual ~FieldHost() = default;
  virtual void addText(const char* name, const QString& label, const QString& value, Browse browse = Browse::None,
                       const QString& tip = {}) = 0;
  virtual void addInt(const char* name, const QString& label, int lo, int hi, int value) = 0;
  virtual void addDouble(const char* name, const QString& label, double lo, double hi, double value,
                         int decimals) = 0;
  virtual void addChoice(const char* name, const QString& label, const QStringList& choices) = 0;
  virtual void addCheck(const char* name, const QString& label, bool value) = 0;
  virtual QVariant value(const char* name) const = 0;
  // `target` is enabled only while the choice field `choice` shows `when`.
  virtual void enableWhen(const char* target, const char* choice, const QString& when) = 0;
};

// A job's plot data: graph 0 and graph 1 points, or named bars (evaluate).
struct PlotData {
  QVector<double> x, y, x2, y2;
  QStringList barNames;  // non-empty: x are bar positions 1..n with these names
  void clear() { *this = {}; }
};

class JobForm {
 public:
  virtual ~JobForm() = default;
  virtual QString title() const = 0;
  virtual void addFields(FieldHost& host) = 0;
  virtual void setupPlot(QCustomPlot* plot) const = 0;
  virtual JobFn makeJob(const FieldHost& host) const = 0;
  // One event of the running job: new plot points and/or a log line (empty = none).
  virtual QString onEvent(const QString& kind, const QVariantMap& v, PlotData& plot) const = 0;
  // The file a successful run writes for the studio to open (calibrate, train), else empty.
  virtual QString resultFile(const FieldHost&) const { return {}; }
};

std::unique_ptr<JobForm> makeJobForm(JobKind kind);
QString jobKindName(JobKind kind);  // "calibrate", "train", "evaluate", "search" (settings keys)

}  // namespace supersam::ui
