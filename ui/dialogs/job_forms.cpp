#include "ui/dialogs/job_forms.h"

#include <cmath>

#include <QObject>
#include <qcustomplot.h>

#include "ui/engine/jobs.h"

namespace supersam::ui {

namespace {

QString tr(const char* s) { return QObject::tr(s); }

QVariantMap toVariant(const jobs::JobEvent& e) {
  QVariantMap m;
  for (const auto& [k, v] : e.values) m.insert(QString::fromStdString(k), v);
  m.insert("text", QString::fromStdString(e.text));
  return m;
}

jobs::JobSink sinkFor(JobContext& ctx) {
  jobs::JobSink sink;
  sink.control = ctx.control();
  sink.event = [&ctx](const jobs::JobEvent& e) { ctx.emitEvent(QString::fromStdString(e.kind), toVariant(e)); };
  return sink;
}

std::string str(const FieldHost& h, const char* name) { return h.value(name).toString().toStdString(); }

jobs::ModelSource modelOf(const FieldHost& h) { return {str(h, field::kCheckpoint), str(h, field::kArch)}; }

const char* kDatasetTip =
    "A dataset: pick its folder with '...' (the kind is recognised from the layout), or type a spec such as "
    "dsb2018:/data/dsb2018-nuclei:val, coco:/data/instances.json, masks:/data/ecssd:val,components=0; several "
    "joined with '+' (see supersam eval --help)";

// Shared by every form: the model fields and a note line in the log.
class FormBase : public JobForm {
 protected:
  static void addModel(FieldHost& h) {
    h.addText(field::kCheckpoint, tr("Checkpoint"), {}, FieldHost::Browse::OpenFile);
    h.addText(field::kArch, tr("Architecture override"), {}, FieldHost::Browse::None,
              tr("Empty: from the file (or an arch.json beside a .pth). Else a preset (vit_b, vit_l, vit_h) or an "
                 "arch JSON file."));
  }
  static void addDataset(FieldHost& h, const char* name, const QString& label) {
    h.addText(name, label, {}, FieldHost::Browse::Dataset, tr(kDatasetTip));
  }
  static QString note(const QString& kind, const QVariantMap& v) {
    if (kind == "note") return v["text"].toString();
    if (kind == "checkpoint") return tr("step %1: checkpoint %2").arg(v["step"].toInt()).arg(v["text"].toString());
    return {};
  }
};

class CalibrateForm : public FormBase {
 public:
  QString title() const override { return tr("Calibrate: reorder MLP neurons and measure block sensitivity"); }
  void addFields(FieldHost& h) override {
    addModel(h);
    addDataset(h, field::kDataset, tr("Calibration dataset"));
    h.addText(field::kImagesDir, tr("or a folder of images"), {}, FieldHost::Browse::Folder,
              tr("Unlabelled images: the sensitivity is then the change of the image embedding"));
    h.addInt(field::kImages, tr("Images"), 1, 512, 16);
    h.addChoice(field::kMethod, tr("Reordering"), {"wanda", "magnitude", "random", "none"});
    h.addInt(field::kPrunable, tr("Prunable blocks (-1 = auto)"), -1, 64, -1);
    h.addDouble(field::kPMax, tr("Max drop probability"), 0.0, 1.0, 0.5, 2);
    h.addText(field::kOut, tr("Write supernet to"), {}, FieldHost::Browse::SaveFile);
  }
  void setupPlot(QCustomPlot* plot) const override {
    plot->xAxis->setLabel(tr("block"));
    plot->yAxis->setLabel(tr("loss when dropped alone"));
  }
  JobFn makeJob(const FieldHost& h) const override {
    jobs::CalibrateParams p;
    p.model = modelOf(h);
    p.dataset = str(h, field::kDataset);
    p.imagesDir = str(h, field::kImagesDir);
    p.images = h.value(field::kImages).toInt();
    p.method = str(h, field::kMethod);
    p.prunable = h.value(field::kPrunable).toInt();
    p.pMax = h.value(field::kPMax).toDouble();
    p.out = str(h, field::kOut);
    return [p](JobContext& ctx) { return QString::fromStdString(jobs::calibrate(p, sinkFor(ctx))); };
  }
  QString onEvent(const QString& kind, const QVariantMap& v, PlotData& d) const override {
    if (kind == "sensitivity") {
      d.x.push_back(v["block"].toDouble());
      d.y.push_back(v["loss"].toDouble());
    }
    return note(kind, v);
  }
  QString resultFile(const FieldHost& h) const override { return h.value(field::kOut).toString(); }
};

class TrainForm : public FormBase {
 public:
  QString title() const override { return tr("Train the supernet (sandwich rule)"); }
  void addFields(FieldHost& h) override {
    addModel(h);
    addDataset(h, field::kDataset, tr("Training data"));
    addDataset(h, field::kVal, tr("Validation data (optional)"));
    h.addInt(field::kSteps, tr("Steps"), 1, 1000000, 100);
    h.addInt(field::kBatch, tr("Images per step"), 1, 256, 2);
    h.addDouble(field::kLr, tr("Learning rate"), 1e-7, 1.0, 1e-4, 7);
    h.addInt(field::kRandom, tr("Random subnets per step"), 0, 16, 1);
    h.addInt(field::kValidate, tr("Validate every (steps, 0 = end)"), 0, 1000000, 0);
    h.addText(field::kAugment, tr("Augmentation"), "off", FieldHost::Browse::None,
              tr("off, on, or e.g. scale=0.5:1.5,flip=0.5,colour=0.2,paste=0.5 (see supersam train --help)"));
    h.addCheck(field::kDistill, tr("Distil smaller subnets from the largest"), false);
    h.addText(field::kOut, tr("Write supernet to"), {}, FieldHost::Browse::SaveFile);
    h.addInt(field::kCheckpointEvery, tr("Checkpoint every (steps)"), 1, 1000000, 25);
    h.addCheck(field::kResume, tr("Resume from the checkpoint (OUT.ckpt) of a stopped run"), false);
  }
  void setupPlot(QCustomPlot* plot) const override {
    plot->xAxis->setLabel(tr("step"));
    plot->yAxis->setLabel(tr("sandwich loss"));
    plot->graph(0)->setName(tr("training loss"));
    // mIoU has its own axis on the right (0..1), not the loss's scale.
    plot->yAxis2->setVisible(true);
    plot->yAxis2->setLabel(tr("box mIoU"));
    plot->yAxis2->setRange(0, 1);
    plot->graph(1)->setValueAxis(plot->yAxis2);
    plot->graph(1)->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 6));
    plot->graph(1)->setName(tr("validation box mIoU (largest)"));
  }
  JobFn makeJob(const FieldHost& h) const override {
    jobs::TrainParams p;
    p.model = modelOf(h);
    p.trainDataset = str(h, field::kDataset);
    p.valDataset = str(h, field::kVal);
    p.steps = h.value(field::kSteps).toInt();
    p.batch = h.value(field::kBatch).toInt();
    p.lr = h.value(field::kLr).toDouble();
    p.randomSubnets = h.value(field::kRandom).toInt();
    p.validateEvery = h.value(field::kValidate).toInt();
    p.augment = str(h, field::kAugment);
    p.distill = h.value(field::kDistill).toBool();
    p.resume = h.value(field::kResume).toBool();
    p.checkpointEvery = h.value(field::kCheckpointEvery).toInt();
    p.out = str(h, field::kOut);
    return [p](JobContext& ctx) { return QString::fromStdString(jobs::train(p, sinkFor(ctx))); };
  }
  QString onEvent(const QString& kind, const QVariantMap& v, PlotData& d) const override {
    if (kind == "train") {
      d.x.push_back(v["step"].toDouble());
      d.y.push_back(v["loss"].toDouble());
      return {};
    }
    if (kind == "validation") {
      if (v["text"].toString().startsWith("largest")) {
        d.x2.push_back(v["step"].toDouble());
        d.y2.push_back(v["box_miou"].toDouble());
      }
      return tr("step %1 validation %2: box mIoU %3, point mIoU %4")
          .arg(v["step"].toInt())
          .arg(v["text"].toString())
          .arg(v["box_miou"].toDouble(), 0, 'f', 4)
          .arg(v["point_miou"].toDouble(), 0, 'f', 4);
    }
    return note(kind, v);
  }
  QString resultFile(const FieldHost& h) const override { return h.value(field::kOut).toString(); }
};

class EvaluateForm : public FormBase {
 public:
  QString title() const override { return tr("Evaluate the current subnet"); }
  void addFields(FieldHost& h) override {
    addModel(h);
    addDataset(h, field::kDataset, tr("Dataset"));
    h.addText(field::kSubnet, tr("Subnet"), {}, FieldHost::Browse::None, tr("Empty: the largest subnet"));
    h.addChoice(field::kPrompt, tr("Prompts"), {"box", "point"});
    h.addInt(field::kImages, tr("Images per dataset"), 1, 100000, 8);
    h.addInt(field::kObjects, tr("Objects per image"), 1, 1000, 16);
  }
  void setupPlot(QCustomPlot* plot) const override {
    plot->xAxis->setLabel(tr("dataset"));
    plot->yAxis->setLabel(tr("mIoU"));
    plot->yAxis->setRange(0, 1);
    plot->graph(0)->setName(tr("model (box: single mask; point: ranked)"));
    plot->graph(1)->setName(tr("box-fill baseline"));
  }
  JobFn makeJob(const FieldHost& h) const override {
    jobs::EvaluateParams p;
    p.model = modelOf(h);
    p.dataset = str(h, field::kDataset);
    p.subnet = str(h, field::kSubnet);
    p.prompt = str(h, field::kPrompt);
    p.maxImages = h.value(field::kImages).toInt();
    p.maxObjects = h.value(field::kObjects).toInt();
    return [p](JobContext& ctx) { return QString::fromStdString(jobs::evaluate(p, sinkFor(ctx))); };
  }
  QString onEvent(const QString& kind, const QVariantMap& v, PlotData& d) const override {
    if (kind != "dataset") return note(kind, v);
    const double pos = d.barNames.size() + 1;
    d.barNames << v["text"].toString();
    d.x.push_back(pos);
    d.y.push_back(v["single"].toDouble());
    d.x2.push_back(pos);
    d.y2.push_back(v["box_fill"].toDouble());
    return tr("%1: oracle %2, ranked %3, single %4; box-fill baseline %5 (%6 objects)")
        .arg(v["text"].toString())
        .arg(v["oracle"].toDouble(), 0, 'f', 4)
        .arg(v["ranked"].toDouble(), 0, 'f', 4)
        .arg(v["single"].toDouble(), 0, 'f', 4)
        .arg(v["box_fill"].toDouble(), 0, 'f', 4)
        .arg(v["objects"].toInt());
  }
};

class SearchForm : public FormBase {
 public:
  QString title() const override { return tr("Search subnets"); }
  void addFields(FieldHost& h) override {
    addModel(h);
    addDataset(h, field::kDataset, tr("Dataset"));
    h.addText(field::kDb, tr("Results database"), {}, FieldHost::Browse::SaveFile);
    h.addChoice(field::kBackend, tr("Backend"), {"native", "native-port", "random", "opentuner"});
    h.addChoice(field::kWidths, tr("Width parameters"), {"ordinal", "enum"});
    h.addText(field::kPython, tr("Python (OpenTuner)"), "/usr/bin/python3", FieldHost::Browse::OpenFile,
              tr("Python with OpenTuner installed (pip install opentuner); used only by the opentuner backend"));
    h.enableWhen(field::kPython, field::kBackend, "opentuner");
    h.addInt(field::kBudget, tr("Evaluations"), 1, 100000, 20);
    h.addDouble(field::kSeconds, tr("Time budget (s, 0 = none)"), 0, 1e7, 0, 0);
    h.addDouble(field::kMaxParams, tr("Max parameters (M, 0 = none)"), 0, 1e5, 0, 3);
    h.addDouble(field::kMaxGmacs, tr("Max GMACs (0 = none)"), 0, 1e6, 0, 3);
    h.addDouble(field::kMaxLatency, tr("Max encoder latency (ms, 0 = none)"), 0, 1e7, 0, 1);
    // predicted: this machine's latency table (measured once, then cached) prunes subnets without running them;
    // measured: each evaluated subnet is run (the default, as the CLI's).
    h.addChoice(field::kLatencyKind, tr("Latency budget"), {"measured", "predicted"});
    h.addChoice(field::kPrompt, tr("Prompts"), {"box", "point"});
    h.addChoice(field::kMetric, tr("mIoU"), {"oracle", "ranked", "single"});
    h.addInt(field::kImages, tr("Images per dataset"), 1, 100000, 4);
    h.addInt(field::kObjects, tr("Objects per image"), 1, 1000, 8);
  }
  void setupPlot(QCustomPlot* plot) const override {
    plot->xAxis->setLabel(tr("evaluation"));
    plot->yAxis->setLabel(tr("mIoU"));
    plot->graph(0)->setLineStyle(QCPGraph::lsNone);
    plot->graph(0)->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 5));
    plot->graph(0)->setName(tr("evaluated"));
    plot->graph(1)->setName(tr("best so far"));
  }
  JobFn makeJob(const FieldHost& h) const override {
    jobs::SearchParams p;
    p.model = modelOf(h);
    p.dataset = str(h, field::kDataset);
    p.db = str(h, field::kDb);
    p.backend = str(h, field::kBackend);
    p.widths = str(h, field::kWidths);
    p.python = str(h, field::kPython);
    p.budget = h.value(field::kBudget).toInt();
    p.seconds = h.value(field::kSeconds).toDouble();
    p.maxParamsM = h.value(field::kMaxParams).toDouble();
    p.maxGmacs = h.value(field::kMaxGmacs).toDouble();
    p.maxLatencyMs = h.value(field::kMaxLatency).toDouble();
    p.latency = str(h, field::kLatencyKind);
    p.prompt = str(h, field::kPrompt);
    p.metric = str(h, field::kMetric);
    p.maxImages = h.value(field::kImages).toInt();
    p.maxObjects = h.value(field::kObjects).toInt();
    return [p](JobContext& ctx) { return QString::fromStdString(jobs::search(p, sinkFor(ctx))); };
  }
  QString onEvent(const QString& kind, const QVariantMap& v, PlotData& d) const override {
    if (kind != "search") return note(kind, v);
    const double i = v["index"].toDouble() + 1;
    d.x.push_back(i);
    d.y.push_back(v["miou"].toDouble());
    const double best = v["best_miou"].toDouble();
    if (!std::isnan(best)) {
      d.x2.push_back(i);
      d.y2.push_back(best);
    }
    return QString("%1  mIoU %2  %3 M%4")
               .arg(static_cast<int>(i))
               .arg(v["miou"].toDouble(), 0, 'f', 4)
               .arg(v["params_m"].toDouble(), 0, 'f', 3)
               .arg(v["new_best"].toDouble() > 0 ? tr("  new best") : QString()) +
           "  " + v["text"].toString();
  }
};

}  // namespace

std::unique_ptr<JobForm> makeJobForm(JobKind kind) {
  switch (kind) {
    case JobKind::Calibrate:
      return std::make_unique<CalibrateForm>();
    case JobKind::Train:
      return std::make_unique<TrainForm>();
    case JobKind::Evaluate:
      return std::make_unique<EvaluateForm>();
    case JobKind::Search:
      return std::make_unique<SearchForm>();
  }
  return nullptr;
}

QString jobKindName(JobKind kind) {
  switch (kind) {
    case JobKind::Calibrate:
      return "calibrate";
    case JobKind::Train:
      return "train";
    case JobKind::Evaluate:
      return "evaluate";
    case JobKind::Search:
      return "search";
  }
  return "job";
}

}  // namespace supersam::ui
