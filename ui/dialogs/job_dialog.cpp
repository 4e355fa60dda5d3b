#include "ui/dialogs/job_dialog.h"

#include <algorithm>
#include <cmath>

#include <QCheckBox>
#include <QComboBox>
#include <QCompleter>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSharedPointer>
#include <QSpinBox>
#include <QToolButton>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include "ui/engine/jobs.h"
#include "ui/workers/job_worker.h"

namespace supersam::ui {

namespace {
constexpr int kMaxRecentValues = 8;
constexpr int kProgressUnits = 1000;
}  // namespace

JobDialog::JobDialog(JobKind kind, JobRunner* runner, QWidget* parent)
    : QDialog(parent), m_kind(kind), m_form(makeJobForm(kind)), m_runner(runner) {
  setAttribute(Qt::WA_DeleteOnClose, false);
  setObjectName(jobKindName(kind) + "Dialog");
  auto* layout = new QVBoxLayout(this);
  m_layout = new QFormLayout;
  layout->addLayout(m_layout);
  m_plot = new QCustomPlot(this);
  m_plot->setMinimumSize(420, 200);
  m_plot->addGraph();
  m_plot->addGraph();
  m_plot->graph(1)->setPen(QPen(QColor(220, 90, 30), 2));
  layout->addWidget(m_plot, 1);
  m_progress = new QProgressBar(this);
  m_progress->setRange(0, kProgressUnits);
  m_progress->setValue(0);
  m_status = new QLabel(tr("Not started"), this);
  m_status->setWordWrap(true);
  m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
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
  // Only calibration and training write a model to open; the other dialogs keep the button out of sight.
  const bool writesModel = kind == JobKind::Calibrate || kind == JobKind::Train;
  m_openResult = writesModel ? buttons->addButton(tr("Open in studio"), QDialogButtonBox::ActionRole)
                             : new QPushButton(tr("Open in studio"), this);
  m_openResult->setVisible(writesModel);
  m_openResult->setToolTip(tr("Make the written supernet the studio's current model (after a finished run)"));
  m_openResult->setEnabled(false);
  auto* close = buttons->addButton(QDialogButtonBox::Close);
  m_cancel->setEnabled(false);
  m_start->setAutoDefault(false);
  layout->addWidget(buttons);
  connect(m_start, &QPushButton::clicked, this, &JobDialog::start);
  connect(m_cancel, &QPushButton::clicked, this, &JobDialog::cancel);
  connect(close, &QPushButton::clicked, this, &QDialog::hide);
  connect(m_openResult, &QPushButton::clicked, this, [this] {
    if (!m_resultPath.isEmpty()) emit resultFileReady(m_resultPath);
  });

  m_replot.setSingleShot(true);
  m_replot.setInterval(50);
  connect(&m_replot, &QTimer::timeout, this, &JobDialog::replot);
  connect(m_runner, &JobRunner::progress, this, [this](qlonglong done, qlonglong total, const QString& status) {
    if (!m_owner) return;
    if (total > 0) {
      // Forward only: a job's phases each count from zero; the bar never goes back during one run.
      const int v = static_cast<int>(std::clamp<qlonglong>(done * kProgressUnits / total, 0, kProgressUnits));
      if (m_progress->maximum() == 0) m_progress->setRange(0, kProgressUnits);
      m_progress->setValue(std::max(v, m_progress->value()));
    }
    m_status->setText(status);
  });
  connect(m_runner, &JobRunner::event, this, [this](const QString& k, const QVariantMap& v) {
    if (m_owner) onEvent(k, v);
  });
  connect(m_runner, &JobRunner::finished, this, [this](bool ok, bool cancelled, const QString& msg) {
    if (m_owner) onFinished(ok, cancelled, msg);
  });

  setWindowTitle(m_form->title());
  m_form->addFields(*this);
  m_form->setupPlot(m_plot);
  m_plot->legend->setVisible(!m_plot->graph(1)->name().isEmpty());
  restoreValues();
}

JobDialog::~JobDialog() = default;

void JobDialog::addField(const char* name, const QString& label, QWidget* w, QLayout* row) {
  w->setObjectName(name);
  if (row) {
    m_layout->addRow(label, row);
  } else {
    m_layout->addRow(label, w);
  }
  m_fields[name] = w;
}

void JobDialog::addText(const char* name, const QString& label, const QString& value, Browse browse,
                        const QString& tip) {
  auto* edit = new QLineEdit(value, this);
  edit->setToolTip(tip);
  if (browse == Browse::None) {
    addField(name, label, edit);
    return;
  }
  auto* row = new QHBoxLayout;
  row->addWidget(edit, 1);
  auto* b = new QToolButton(this);
  b->setText("...");
  b->setObjectName(QString(name) + "_browse");
  row->addWidget(b);
  connect(b, &QToolButton::clicked, this, [this, edit, browse] {
    QString p;
    if (browse == Browse::OpenFile) p = QFileDialog::getOpenFileName(this, {}, edit->text());
    if (browse == Browse::SaveFile) p = QFileDialog::getSaveFileName(this, {}, edit->text());
    if (browse == Browse::Folder) p = QFileDialog::getExistingDirectory(this, {}, edit->text());
    if (browse == Browse::Dataset) return pickDataset(edit);
    if (!p.isEmpty()) edit->setText(p);
  });
  if (browse == Browse::Dataset) {
    m_datasetFields << name;
    b->setToolTip(tr("Pick a dataset folder (or a COCO .json); its kind is recognised from the layout"));
  }
  addField(name, label, edit, row);
}

void JobDialog::pickDataset(QLineEdit* edit) {
  QSettings s;
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Dataset folder"), s.value("dirs/datasets").toString());
  if (dir.isEmpty()) return;
  s.setValue("dirs/datasets", QFileInfo(dir).absolutePath());
  try {
    edit->setText(QString::fromStdString(jobs::detectDatasetSpecFor(dir.toStdString())));
    m_status->setText(tr("Dataset recognised: %1").arg(edit->text()));
  } catch (const std::exception& e) {
    m_status->setText(QString::fromStdString(e.what()));
  }
}

void JobDialog::addInt(const char* name, const QString& label, int lo, int hi, int value) {
  auto* s = new QSpinBox(this);
  s->setRange(lo, hi);
  s->setValue(value);
  addField(name, label, s);
}

void JobDialog::addDouble(const char* name, const QString& label, double lo, double hi, double value, int decimals) {
  auto* s = new QDoubleSpinBox(this);
  s->setDecimals(decimals);
  s->setRange(lo, hi);
  s->setValue(value);
  addField(name, label, s);
}

void JobDialog::addChoice(const char* name, const QString& label, const QStringList& choices) {
  auto* c = new QComboBox(this);
  c->addItems(choices);
  addField(name, label, c);
}

void JobDialog::addCheck(const char* name, const QString& label, bool value) {
  auto* c = new QCheckBox(label, this);
  c->setChecked(value);
  addField(name, QString(), c);
}

void JobDialog::enableWhen(const char* target, const char* choice, const QString& when) {
  auto* c = qobject_cast<QComboBox*>(m_fields.at(choice));
  QWidget* t = m_fields.at(target);
  const auto update = [t, when](const QString& current) { t->setEnabled(current == when); };
  connect(c, &QComboBox::currentTextChanged, t, update);
  update(c->currentText());
}

void JobDialog::setValue(const QString& name, const QVariant& v) {
  QWidget* w = m_fields.at(name);
  if (auto* e = qobject_cast<QLineEdit*>(w)) e->setText(v.toString());
  if (auto* s = qobject_cast<QSpinBox*>(w)) s->setValue(v.toInt());
  if (auto* s = qobject_cast<QDoubleSpinBox*>(w)) s->setValue(v.toDouble());
  if (auto* c = qobject_cast<QComboBox*>(w)) c->setCurrentText(v.toString());
  if (auto* c = qobject_cast<QCheckBox*>(w)) c->setChecked(v.toBool());
}

QVariant JobDialog::value(const QString& name) const {
  QWidget* w = m_fields.at(name);
  if (auto* e = qobject_cast<QLineEdit*>(w)) return e->text().trimmed();
  if (auto* s = qobject_cast<QSpinBox*>(w)) return s->value();
  if (auto* s = qobject_cast<QDoubleSpinBox*>(w)) return s->value();
  if (auto* c = qobject_cast<QComboBox*>(w)) return c->currentText();
  if (auto* c = qobject_cast<QCheckBox*>(w)) return c->isChecked();
  return {};
}

QVariant JobDialog::value(const char* name) const { return value(QString(name)); }

QString JobDialog::statusText() const { return m_status->text(); }
int JobDialog::progressValue() const { return m_progress->value(); }

void JobDialog::restoreValues() {
  QSettings s;
  s.beginGroup("jobs/" + jobKindName(m_kind));
  for (const auto& [name, w] : m_fields) {
    if (name == field::kCheckpoint || name == field::kResume) continue;  // the current model; a resume is per run
    if (s.contains(name)) setValue(name, s.value(name));
    if (auto* e = qobject_cast<QLineEdit*>(w); e && m_datasetFields.contains(name)) {
      auto* c = new QCompleter(s.value("recent/" + name).toStringList(), e);
      c->setCaseSensitivity(Qt::CaseInsensitive);
      c->setFilterMode(Qt::MatchContains);
      e->setCompleter(c);
    }
  }
}

void JobDialog::saveValues() const {
  QSettings s;
  s.beginGroup("jobs/" + jobKindName(m_kind));
  for (const auto& [name, w] : m_fields) {
    if (name == field::kCheckpoint || name == field::kResume) continue;
    s.setValue(name, value(name));
    if (m_datasetFields.contains(name) && !value(name).toString().isEmpty()) {
      QStringList recent = s.value("recent/" + name).toStringList();
      recent.removeAll(value(name).toString());
      recent.prepend(value(name).toString());
      while (recent.size() > kMaxRecentValues) recent.removeLast();
      s.setValue("recent/" + name, recent);
    }
  }
}

void JobDialog::start() {
  if (m_runner->running()) {
    m_status->setText(tr("Another job is running; wait for it or cancel it first."));
    return;
  }
  JobFn fn = m_form->makeJob(*this);
  saveValues();
  m_data.clear();
  replot();
  m_log->clear();
  m_summary.clear();
  m_resultPath.clear();
  m_openResult->setEnabled(false);
  m_owner = true;
  m_running = true;
  m_start->setEnabled(false);
  m_cancel->setEnabled(true);
  m_progress->setRange(0, 0);  // busy until the first report
  m_progress->setValue(0);
  m_status->setText(tr("Starting..."));
  m_runner->start(std::move(fn));
}

void JobDialog::cancel() {
  if (!m_running) return;
  m_status->setText(tr("Cancelling at the next safe point..."));
  m_runner->cancel();
}

void JobDialog::onEvent(const QString& kind, const QVariantMap& v) {
  const QString line = m_form->onEvent(kind, v, m_data);
  if (!line.isEmpty()) m_log->appendPlainText(line);
  if (!m_replot.isActive()) m_replot.start();
}

void JobDialog::replot() {
  if (!m_data.barNames.isEmpty()) {
    // Named bars (evaluate): the model beside the box-fill baseline, per dataset.
    if (!m_bars) {
      m_bars = new QCPBars(m_plot->xAxis, m_plot->yAxis);
      m_bars->setName(m_plot->graph(0)->name());
      m_bars->setWidth(0.35);
      m_bars2 = new QCPBars(m_plot->xAxis, m_plot->yAxis);
      m_bars2->setName(m_plot->graph(1)->name());
      m_bars2->setWidth(0.35);
      m_bars2->setBrush(QColor(220, 90, 30, 120));
      m_plot->graph(0)->setVisible(false);
      m_plot->graph(1)->setVisible(false);
      m_plot->graph(0)->removeFromLegend();
      m_plot->graph(1)->removeFromLegend();
    }
    QVector<double> x1, x2;
    for (double x : m_data.x) x1 << x - 0.18;
    for (double x : m_data.x2) x2 << x + 0.18;
    m_bars->setData(x1, m_data.y);
    m_bars2->setData(x2, m_data.y2);
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    for (int i = 0; i < m_data.barNames.size(); ++i) ticker->addTick(i + 1, m_data.barNames[i]);
    m_plot->xAxis->setTicker(ticker);
    m_plot->xAxis->setRange(0.4, m_data.barNames.size() + 0.6);
    m_plot->yAxis->setRange(0, 1);
    m_plot->legend->setVisible(true);
  } else {
    m_plot->graph(0)->setData(m_data.x, m_data.y);
    m_plot->graph(1)->setData(m_data.x2, m_data.y2);
    if (!m_data.x.isEmpty()) m_plot->rescaleAxes();
  }
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void JobDialog::onFinished(bool ok, bool cancelled, const QString& message) {
  m_owner = false;
  m_running = false;
  m_start->setEnabled(true);
  m_cancel->setEnabled(false);
  m_progress->setRange(0, kProgressUnits);
  if (ok) m_progress->setValue(kProgressUnits);
  m_summary = message;
  if (ok) {
    m_status->setText(message);
  } else if (cancelled) {
    // The worker says "cancelled" when the job stopped without a summary of its own.
    m_status->setText(message == "cancelled" ? tr("Cancelled; nothing was written.") : tr("Cancelled: %1").arg(message));
  } else {
    m_status->setText(tr("Failed: %1").arg(message));
  }
  m_log->appendPlainText(m_status->text());
  replot();
  const QString out = ok ? m_form->resultFile(*this) : QString();
  if (!out.isEmpty() && QFileInfo::exists(out)) {
    m_resultPath = out;
    m_openResult->setEnabled(true);
  }
  emit jobFinished(ok, cancelled, message);
}

}  // namespace supersam::ui
