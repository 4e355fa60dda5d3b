#include "ui/dialogs/job_dialog.h"

#include <cmath>

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QToolButton>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include "ui/engine/jobs.h"
#include "ui/workers/job_worker.h"

namespace supersam::ui {

namespace {
enum Browse { kNoBrowse = 0, kOpenFile = 1, kSaveFile = 2, kFolder = 3 };

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

const char* kDatasetHelp =
    "Dataset spec, e.g. dsb:/data/dsb2018-nuclei:val, coco:/data/instances.json, "
    "instances:/data/pennfudan:val (see supersam --help)";
}  // namespace

JobDialog::JobDialog(JobKind kind, JobRunner* runner, QWidget* parent)
    : QDialog(parent), m_kind(kind), m_runner(runner) {
  setAttribute(Qt::WA_DeleteOnClose, false);
  auto* layout = new QVBoxLayout(this);
  m_form = new QFormLayout;
  layout->addLayout(m_form);
  m_plot = new QCustomPlot(this);
  m_plot->setMinimumSize(420, 200);
  m_plot->addGraph();
  m_plot->addGraph();
  m_plot->graph(1)->setPen(QPen(QColor(220, 90, 30), 2));
  layout->addWidget(m_plot, 1);
  m_progress = new QProgressBar(this);
  m_status = new QLabel(tr("Not started"), this);
  m_status->setWordWrap(true);
  m_log = new QPlainTextEdit(this);
  m_log->setReadOnly(true);
  m_log->setMaximumBlockCount(2000);
  m_log->setMaximumHeight(110);
  layout->addWidget(m_progress);
  layout->addWidget(m_status);
  layout->addWidget(m_log);
  auto* buttons = new QDialogButtonBox(this);
  m_start = buttons->addButton(tr("Start"), QDialogButtonBox::AcceptRole);
  m_cancel = buttons->addButton(tr("Cancel job"), QDialogButtonBox::RejectRole);
  auto* close = buttons->addButton(QDialogButtonBox::Close);
  m_cancel->setEnabled(false);
  layout->addWidget(buttons);
  connect(m_start, &QPushButton::clicked, this, &JobDialog::start);
  connect(m_cancel, &QPushButton::clicked, this, &JobDialog::cancel);
  connect(close, &QPushButton::clicked, this, &QDialog::hide);

  m_replot.setSingleShot(true);
  m_replot.setInterval(50);
  connect(&m_replot, &QTimer::timeout, this, &JobDialog::replot);
  connect(m_runner, &JobRunner::progress, this, [this](qlonglong done, qlonglong total, const QString& status) {
    if (!m_owner) return;
    m_progress->setRange(0, total > 0 ? static_cast<int>(total) : 0);
    if (total > 0) m_progress->setValue(static_cast<int>(done));
    m_status->setText(status);
  });
  connect(m_runner, &JobRunner::event, this, [this](const QString& k, const QVariantMap& v) {
    if (m_owner) onEvent(k, v);
  });
  connect(m_runner, &JobRunner::finished, this, [this](bool ok, bool cancelled, const QString& msg) {
    if (m_owner) onFinished(ok, cancelled, msg);
  });

  addText("checkpoint", tr("Checkpoint"), {}, kOpenFile);
  addText("arch", tr("Architecture override"), {});
  qobject_cast<QLineEdit*>(m_fields["arch"])->setPlaceholderText(tr("from the file (or arch.json beside a .pth)"));
  switch (kind) {
    case JobKind::Calibrate:
      setWindowTitle(tr("Calibrate: reorder MLP neurons and measure block sensitivity"));
      addText("dataset", tr("Calibration images"), {}, kNoBrowse);
      addInt("images", tr("Images"), 1, 512, 16);
      addChoice("method", tr("Reordering"), {"wanda", "magnitude", "random", "none"});
      addInt("prunable", tr("Prunable blocks (-1 = auto)"), -1, 64, -1);
      addDouble("pmax", tr("Max drop probability"), 0.0, 1.0, 0.5, 2);
      addText("out", tr("Write supernet to"), {}, kSaveFile);
      m_plot->xAxis->setLabel(tr("block"));
      m_plot->yAxis->setLabel(tr("loss when dropped alone"));
      break;
    case JobKind::Train:
      setWindowTitle(tr("Train the supernet (sandwich rule)"));
      addText("dataset", tr("Training data"), {}, kNoBrowse);
      addText("val", tr("Validation data (optional)"), {}, kNoBrowse);
      addInt("steps", tr("Steps"), 1, 1000000, 100);
      addInt("batch", tr("Images per step"), 1, 256, 2);
      addDouble("lr", tr("Learning rate"), 1e-7, 1.0, 1e-4, 7);
      addInt("random", tr("Random subnets per step"), 0, 16, 1);
      addInt("validate", tr("Validate every (steps, 0 = end)"), 0, 1000000, 0);
      addText("out", tr("Write supernet to"), {}, kSaveFile);
      m_plot->xAxis->setLabel(tr("step"));
      m_plot->yAxis->setLabel(tr("sandwich loss"));
      m_plot->graph(1)->setName(tr("validation mIoU (largest)"));
      break;
    case JobKind::Evaluate:
      setWindowTitle(tr("Evaluate the current subnet"));
      addText("dataset", tr("Dataset"), {}, kNoBrowse);
      addText("subnet", tr("Subnet"), {});
      addChoice("prompt", tr("Prompts"), {"box", "point"});
      addInt("images", tr("Images per dataset"), 1, 100000, 8);
      addInt("objects", tr("Objects per image"), 1, 1000, 16);
      m_plot->xAxis->setLabel(tr("dataset"));
      m_plot->yAxis->setLabel(tr("mIoU (ranked)"));
      break;
    case JobKind::Search:
      setWindowTitle(tr("Search subnets"));
      addText("dataset", tr("Dataset"), {}, kNoBrowse);
      addText("db", tr("Results database"), {}, kSaveFile);
      addChoice("backend", tr("Backend"), {"native", "native-port", "random", "opentuner"});
      addChoice("widths", tr("Width parameters"), {"ordinal", "enum"});
      addText("python", tr("Python (OpenTuner)"), "/usr/bin/python3", kOpenFile);
      m_fields["python"]->setToolTip(tr("Python with OpenTuner installed (pip install opentuner); used only by the "
                                        "opentuner backend"));
      m_fields["python"]->setEnabled(false);
      connect(qobject_cast<QComboBox*>(m_fields["backend"]), &QComboBox::currentTextChanged, this,
              [this](const QString& b) { m_fields["python"]->setEnabled(b == "opentuner"); });
      addInt("budget", tr("Evaluations"), 1, 100000, 20);
      addDouble("seconds", tr("Time budget (s, 0 = none)"), 0, 1e7, 0, 0);
      addDouble("max_params", tr("Max parameters (M, 0 = none)"), 0, 1e5, 0, 3);
      addDouble("max_gmacs", tr("Max GMACs (0 = none)"), 0, 1e6, 0, 3);
      addChoice("prompt", tr("Prompts"), {"box", "point"});
      addChoice("metric", tr("mIoU"), {"oracle", "ranked", "single"});
      addInt("images", tr("Images per dataset"), 1, 100000, 4);
      addInt("objects", tr("Objects per image"), 1, 1000, 8);
      m_plot->xAxis->setLabel(tr("evaluation"));
      m_plot->yAxis->setLabel(tr("mIoU"));
      m_plot->graph(0)->setLineStyle(QCPGraph::lsNone);
      m_plot->graph(0)->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 5));
      m_plot->graph(0)->setName(tr("evaluated"));
      m_plot->graph(1)->setName(tr("best so far"));
      break;
  }
  if (m_fields.count("dataset")) m_fields["dataset"]->setToolTip(tr(kDatasetHelp));
}

void JobDialog::addText(const QString& name, const QString& label, const QString& value, int browse) {
  auto* edit = new QLineEdit(value, this);
  edit->setObjectName(name);
  if (browse == kNoBrowse) {
    m_form->addRow(label, edit);
  } else {
    auto* row = new QHBoxLayout;
    row->addWidget(edit, 1);
    auto* b = new QToolButton(this);
    b->setText("...");
    row->addWidget(b);
    connect(b, &QToolButton::clicked, this, [this, edit, browse] {
      QString p;
      if (browse == kOpenFile) p = QFileDialog::getOpenFileName(this, {}, edit->text());
      if (browse == kSaveFile) p = QFileDialog::getSaveFileName(this, {}, edit->text());
      if (browse == kFolder) p = QFileDialog::getExistingDirectory(this, {}, edit->text());
      if (!p.isEmpty()) edit->setText(p);
    });
    m_form->addRow(label, row);
  }
  m_fields[name] = edit;
}

void JobDialog::addInt(const QString& name, const QString& label, int lo, int hi, int value) {
  auto* s = new QSpinBox(this);
  s->setRange(lo, hi);
  s->setValue(value);
  m_form->addRow(label, s);
  m_fields[name] = s;
}

void JobDialog::addDouble(const QString& name, const QString& label, double lo, double hi, double value,
                          int decimals) {
  auto* s = new QDoubleSpinBox(this);
  s->setDecimals(decimals);
  s->setRange(lo, hi);
  s->setValue(value);
  m_form->addRow(label, s);
  m_fields[name] = s;
}

void JobDialog::addChoice(const QString& name, const QString& label, const QStringList& choices) {
  auto* c = new QComboBox(this);
  c->addItems(choices);
  m_form->addRow(label, c);
  m_fields[name] = c;
}

void JobDialog::setValue(const QString& name, const QVariant& v) {
  QWidget* w = m_fields.at(name);
  if (auto* e = qobject_cast<QLineEdit*>(w)) e->setText(v.toString());
  if (auto* s = qobject_cast<QSpinBox*>(w)) s->setValue(v.toInt());
  if (auto* s = qobject_cast<QDoubleSpinBox*>(w)) s->setValue(v.toDouble());
  if (auto* c = qobject_cast<QComboBox*>(w)) c->setCurrentText(v.toString());
}

QVariant JobDialog::value(const QString& name) const {
  QWidget* w = m_fields.at(name);
  if (auto* e = qobject_cast<QLineEdit*>(w)) return e->text().trimmed();
  if (auto* s = qobject_cast<QSpinBox*>(w)) return s->value();
  if (auto* s = qobject_cast<QDoubleSpinBox*>(w)) return s->value();
  if (auto* c = qobject_cast<QComboBox*>(w)) return c->currentText();
  return {};
}

void JobDialog::start() {
  if (m_runner->running()) {
    m_status->setText(tr("Another job is running; wait for it or cancel it first."));
    return;
  }
  const auto str = [this](const char* n) { return value(n).toString().toStdString(); };
  jobs::ModelSource model{str("checkpoint"), str("arch")};
  JobFn fn;
  switch (m_kind) {
    case JobKind::Calibrate: {
      jobs::CalibrateParams p;
      p.model = model;
      p.dataset = str("dataset");
      p.images = value("images").toInt();
      p.method = str("method");
      p.prunable = value("prunable").toInt();
      p.pMax = value("pmax").toDouble();
      p.out = str("out");
      fn = [p](JobContext& ctx) { return QString::fromStdString(jobs::calibrate(p, sinkFor(ctx))); };
      break;
    }
    case JobKind::Train: {
      jobs::TrainParams p;
      p.model = model;
      p.trainDataset = str("dataset");
      p.valDataset = str("val");
      p.steps = value("steps").toInt();
      p.batch = value("batch").toInt();
      p.lr = value("lr").toDouble();
      p.randomSubnets = value("random").toInt();
      p.validateEvery = value("validate").toInt();
      p.out = str("out");
      fn = [p](JobContext& ctx) { return QString::fromStdString(jobs::train(p, sinkFor(ctx))); };
      break;
    }
    case JobKind::Evaluate: {
      jobs::EvaluateParams p;
      p.model = model;
      p.dataset = str("dataset");
      p.subnet = str("subnet");
      p.prompt = str("prompt");
      p.maxImages = value("images").toInt();
      p.maxObjects = value("objects").toInt();
      fn = [p](JobContext& ctx) { return QString::fromStdString(jobs::evaluate(p, sinkFor(ctx))); };
      break;
    }
    case JobKind::Search: {
      jobs::SearchParams p;
      p.model = model;
      p.dataset = str("dataset");
      p.db = str("db");
      p.backend = str("backend");
      p.widths = str("widths");
      p.python = str("python");
      p.budget = value("budget").toInt();
      p.seconds = value("seconds").toDouble();
      p.maxParamsM = value("max_params").toDouble();
      p.maxGmacs = value("max_gmacs").toDouble();
      p.prompt = str("prompt");
      p.metric = str("metric");
      p.maxImages = value("images").toInt();
      p.maxObjects = value("objects").toInt();
      fn = [p](JobContext& ctx) { return QString::fromStdString(jobs::search(p, sinkFor(ctx))); };
      break;
    }
  }
  m_x.clear();
  m_y.clear();
  m_x2.clear();
  m_y2.clear();
  replot();
  m_log->clear();
  m_summary.clear();
  m_owner = true;
  m_running = true;
  m_start->setEnabled(false);
  m_cancel->setEnabled(true);
  m_progress->setRange(0, 0);
  m_status->setText(tr("Starting..."));
  m_runner->start(std::move(fn));
}

void JobDialog::cancel() {
  if (!m_running) return;
  m_status->setText(tr("Cancelling at the next safe point..."));
  m_runner->cancel();
}

void JobDialog::onEvent(const QString& kind, const QVariantMap& v) {
  if (kind == "train") {
    m_x.push_back(v["step"].toDouble());
    m_y.push_back(v["loss"].toDouble());
  } else if (kind == "validation") {
    m_log->appendPlainText(tr("step %1 validation %2: box mIoU %3, point mIoU %4")
                               .arg(v["step"].toInt())
                               .arg(v["text"].toString())
                               .arg(v["box_miou"].toDouble(), 0, 'f', 4)
                               .arg(v["point_miou"].toDouble(), 0, 'f', 4));
    if (v["text"].toString().startsWith("largest")) {
      m_x2.push_back(v["step"].toDouble());
      m_y2.push_back(v["box_miou"].toDouble());
    }
  } else if (kind == "search") {
    const double i = v["index"].toDouble() + 1;
    m_x.push_back(i);
    m_y.push_back(v["miou"].toDouble());
    const double best = v["best_miou"].toDouble();
    if (!std::isnan(best)) {
      m_x2.push_back(i);
      m_y2.push_back(best);
    }
    m_log->appendPlainText(QString("%1  mIoU %2  %3 M%4")
                               .arg(static_cast<int>(i))
                               .arg(v["miou"].toDouble(), 0, 'f', 4)
                               .arg(v["params_m"].toDouble(), 0, 'f', 3)
                               .arg(v["new_best"].toDouble() > 0 ? "  new best" : "") +
                           "  " + v["text"].toString());
  } else if (kind == "sensitivity") {
    m_x.push_back(v["block"].toDouble());
    m_y.push_back(v["loss"].toDouble());
  } else if (kind == "dataset") {
    m_x.push_back(m_x.size());
    m_y.push_back(v["ranked"].toDouble());
    m_log->appendPlainText(tr("%1: oracle %2, ranked %3, single %4 (%5 objects)")
                               .arg(v["text"].toString())
                               .arg(v["oracle"].toDouble(), 0, 'f', 4)
                               .arg(v["ranked"].toDouble(), 0, 'f', 4)
                               .arg(v["single"].toDouble(), 0, 'f', 4)
                               .arg(v["objects"].toInt()));
  }
  if (!m_replot.isActive()) m_replot.start();
}

void JobDialog::replot() {
  m_plot->graph(0)->setData(m_x, m_y);
  m_plot->graph(1)->setData(m_x2, m_y2);
  if (!m_x.isEmpty()) m_plot->rescaleAxes();
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void JobDialog::onFinished(bool ok, bool cancelled, const QString& message) {
  m_owner = false;
  m_running = false;
  m_start->setEnabled(true);
  m_cancel->setEnabled(false);
  m_progress->setRange(0, 1);
  m_progress->setValue(ok ? 1 : 0);
  m_summary = message;
  m_status->setText(ok ? message : cancelled ? tr("Cancelled: %1").arg(message) : tr("Failed: %1").arg(message));
  m_log->appendPlainText(m_status->text());
  replot();
  emit jobFinished(ok, cancelled, message);
  const bool wroteFile = m_kind == JobKind::Calibrate || m_kind == JobKind::Train;
  if (wroteFile && (ok || (cancelled && m_kind == JobKind::Train))) {
    const QString out = value("out").toString();
    if (QFileInfo::exists(out)) emit resultFileReady(out);
  }
}

}  // namespace supersam::ui
