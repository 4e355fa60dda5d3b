// MainWindow: a Pareto plot in the user's own units. The latency table (per-block times measured once on this
// machine, kept in the user's cache folder) predicts every subnet's encoder milliseconds: the plot's "predicted
// latency" axis, the current subnet's marker there, and the cost the automatic preview is chosen by.
#include <QAction>
#include <QMenu>
#include <QStatusBar>

#include "ui/engine/latency_predictor.h"
#include "ui/main_window.h"
#include "ui/widgets/background_task.h"
#include "ui/widgets/pareto_plot.h"

namespace supersam::ui {

void MainWindow::buildLatencyActions(QMenu* jobs) {
  jobs->addAction(tr("Measure the &latency table (predicted ms for every subnet)"), this,
                  &MainWindow::measureLatencyTable);
  m_latencyTask = new BackgroundTask("latency-table", this);
  statusBar()->addPermanentWidget(m_latencyTask);
  connect(m_latencyTask, &BackgroundTask::finished, this, [this](bool ok, bool cancelled, const QString& msg) {
    if (ok) {
      reloadLatencyTable();
      m_pareto->setXAxis(3);
      statusBar()->showMessage(msg, 10000);
    } else if (cancelled) {
      statusBar()->showMessage(tr("Latency table cancelled: nothing was written"), 6000);
    } else {
      showError(tr("Latency table failed: %1").arg(msg));
    }
    emit latencyTableDone(ok);
  });
}

void MainWindow::measureLatencyTable() {
  if (!m_space.valid()) {
    showError(tr("Open a checkpoint first: the latency table is measured with its encoder"));
    return;
  }
  const std::string checkpoint = m_modelInfo.path, arch = m_archOverride.toStdString();
  const SubnetSpace space = m_space;
  const bool started = m_latencyTask->start(tr("Measuring block latencies"), [=](JobContext& ctx) -> QString {
    const LatencyPredictor p = LatencyPredictor::measure(checkpoint, arch, space, {}, ctx.control());
    return QObject::tr("Latency table ready (%1): the Pareto plot shows predicted milliseconds")
        .arg(QString::fromStdString(p.path()));
  });
  if (!started) showError(tr("The latency table is already being measured"));
}

void MainWindow::reloadLatencyTable() {
  m_latency = LatencyPredictor::loadCached(m_space);
  for (auto& p : m_results) p.predictedMs = m_latency ? m_latency->predictMs(p.subnet) : -1;
  m_pareto->setPoints(m_results);
  updateParetoMarker();
  pushPreviewSettings();
}

double MainWindow::predictedLatencyMs(const model::ElasticConfig& cfg) const {
  if (!m_latency) return -1;
  try {
    return m_latency->predictMs(cfg);
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace supersam::ui
