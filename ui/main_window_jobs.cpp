// MainWindow: the job dialogs (calibrate, train, evaluate, search) and what their results do to the session.
#include <QDir>
#include <QStandardPaths>
#include <QFileInfo>
#include <QStatusBar>

#include "ui/app_paths.h"
#include "ui/dialogs/job_dialog.h"
#include "ui/main_window.h"
#include "ui/widgets/pareto_plot.h"
#include "ui/workers/job_worker.h"

namespace supersam::ui {

JobDialog* MainWindow::jobDialog(JobKind kind) {
  auto& d = m_jobDialogs[static_cast<int>(kind)];
  if (!d) {
    d = new JobDialog(kind, m_jobs, this);
    // Only when the user asks ("Open in studio"): a job never swaps the studio's model by itself.
    connect(d, &JobDialog::resultFileReady, this, [this](const QString& path) {
      statusBar()->showMessage(tr("Opening the new supernet %1").arg(path), 8000);
      loadCheckpoint(path);
    });
    if (kind == JobKind::Search) {
      connect(m_jobs, &JobRunner::event, this, [this, d](const QString& k, const QVariantMap& v) {
        if (k != "search" || !d->running()) return;
        EvaluatedSubnet p;
        p.subnet = v["text"].toString().toStdString();
        p.paramsM = v["params_m"].toDouble();
        p.gmacs = v["gmacs"].toDouble();
        p.latencyMs = v["latency_ms"].toDouble();
        p.miou = v["miou"].toDouble();
        p.boxFill = v.value("box_fill", -1.0).toDouble();
        p.feasible = v["feasible"].toDouble() > 0;
        m_pareto->addPoint(p);
      });
      connect(d, &JobDialog::jobFinished, this, [this, d](bool, bool, const QString&) {
        const QString db = d->value(field::kDb).toString();
        if (QFileInfo::exists(db)) openResults(db);
      });
    }
  }
  const QString model = QString::fromStdString(m_modelInfo.path);
  if (!d->running() && !model.isEmpty()) {
    d->setValue(field::kCheckpoint, model);
    // Outputs go to the user's data folder, never beside the model (the demo lives in the install folder).
    const QString stem = userDataDir("models") + "/" + QFileInfo(model).completeBaseName();
    switch (kind) {
      case JobKind::Calibrate:
        d->setValue(field::kOut, stem + "-calibrated.safetensors");
        break;
      case JobKind::Train:
        if (d->value(field::kOut).toString().isEmpty() || !d->running()) {
          d->setValue(field::kOut, stem + "-trained.safetensors");
        }
        break;
      case JobKind::Evaluate:
        d->setValue(field::kSubnet, QString::fromStdString(m_space.toString(m_subnet)));
        break;
      case JobKind::Search:
        if (d->value(field::kDb).toString().isEmpty()) {
          d->setValue(field::kDb, m_resultsPath.isEmpty() || isShippedFile(m_resultsPath)
                                      ? userDataDir("results") + "/" + QFileInfo(model).completeBaseName() +
                                            "-results.sqlite"
                                      : m_resultsPath);
        }
        break;
    }
  }
  return d;
}

void MainWindow::openCalibrateDialog() { jobDialog(JobKind::Calibrate)->show(); }
void MainWindow::openTrainDialog() { jobDialog(JobKind::Train)->show(); }
void MainWindow::openEvaluateDialog() { jobDialog(JobKind::Evaluate)->show(); }
void MainWindow::openSearchDialog() {
  auto* d = jobDialog(JobKind::Search);
  d->show();
  d->raise();
}

}  // namespace supersam::ui
