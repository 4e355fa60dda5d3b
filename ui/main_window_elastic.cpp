// MainWindow: elastic annotation. A newly opened image is first encoded by a small preview subnet, whose masks show
// at once, while the chosen subnet's embedding is computed (the worker answers new prompts on the preview
// meanwhile and re-decodes the latest prompts when the chosen embedding is ready). Optionally, a mask whose predicted
// IoU is below a threshold is tried on the next larger subnet of the ladder (the Pareto front of the open results),
// and the better mask is offered.
#include <QAction>
#include <QActionGroup>
#include <QInputDialog>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QSettings>
#include <QStatusBar>
#include <QToolButton>

#include "ui/engine/elastic_annotation.h"
#include "ui/main_window.h"
#include "ui/widgets/image_canvas.h"

namespace supersam::ui {

void MainWindow::buildAnnotateMenu() {
  QSettings s;
  auto* menu = menuBar()->addMenu(tr("A&nnotate"));
  m_previewAction = menu->addAction(tr("Fast &preview of new images"));
  m_previewAction->setCheckable(true);
  m_previewAction->setChecked(s.value("annotate/preview", true).toBool());
  m_previewAction->setToolTip(tr("Show masks from a small subnet at once while the chosen subnet encodes the image"));
  connect(m_previewAction, &QAction::toggled, this, [this](bool on) {
    QSettings().setValue("annotate/preview", on);
    pushPreviewSettings();
  });
  auto* which = menu->addMenu(tr("Preview subnet"));
  auto* group = new QActionGroup(this);
  const QString mode = s.value("annotate/previewMode", "auto").toString();
  const auto addMode = [&](const QString& key, const QString& text) {
    QAction* a = which->addAction(text);
    a->setCheckable(true);
    a->setData(key);
    a->setChecked(mode == key);
    group->addAction(a);
    m_previewModes.push_back(a);
    connect(a, &QAction::triggered, this, [this, key] {
      QSettings s;
      s.setValue("annotate/previewMode", key);
      if (key == "fixed" && m_space.valid()) {
        s.setValue("annotate/previewSubnet", QString::fromStdString(m_space.toString(m_subnet)));
      }
      pushPreviewSettings();
    });
  };
  addMode("auto", tr("&Automatic: the best subnet of the front at half the chosen subnet's cost"));
  addMode("prefix", tr("Shared &prefix: the chosen subnet's first blocks, then the smallest choices"));
  addMode("smallest", tr("&Smallest subnet"));
  addMode("fixed", tr("The &current subnet (fixed from now on)"));
  menu->addSeparator();
  m_escalateAction = menu->addAction(tr("&Escalate low-scoring masks"));
  m_escalateAction->setCheckable(true);
  m_escalateAction->setChecked(s.value("annotate/escalate", false).toBool());
  m_escalateThreshold = s.value("annotate/threshold", 0.8).toDouble();
  connect(m_escalateAction, &QAction::toggled, this, [this](bool on) {
    QSettings().setValue("annotate/escalate", on);
    pushPreviewSettings();
  });
  menu->addAction(tr("Escalation &threshold..."), this, [this] {
    bool ok = false;
    const double t = QInputDialog::getDouble(
        this, tr("Escalation threshold"),
        tr("Try the next larger subnet of the Pareto front when the mask's predicted IoU is below:"),
        m_escalateThreshold, 0.0, 1.0, 2, &ok);
    if (ok) setEscalation(m_escalateAction->isChecked(), t);
  });
  menu->addAction(tr("&Use the better mask"), QKeySequence(Qt::Key_U), this, &MainWindow::useEscalatedMask);
  menu->addSeparator();
  buildCacheActions(menu);
  menu->addSeparator();
  buildToolActions(menu);
}

void MainWindow::setFastPreview(bool on) { m_previewAction->setChecked(on); }

void MainWindow::setPreviewMode(const QString& mode) {
  QSettings().setValue("annotate/previewMode", mode);
  for (QAction* a : m_previewModes) a->setChecked(a->data().toString() == mode);
  pushPreviewSettings();
}

void MainWindow::setEscalation(bool on, double threshold) {
  m_escalateThreshold = threshold;
  QSettings().setValue("annotate/threshold", threshold);
  if (m_escalateAction->isChecked() != on) {
    m_escalateAction->setChecked(on);  // pushes the settings
  } else {
    pushPreviewSettings();
  }
}

model::ElasticConfig MainWindow::previewSubnet() const {
  if (!m_space.valid() || !m_previewAction->isChecked()) return {};
  QSettings s;
  const QString mode = s.value("annotate/previewMode", "auto").toString();
  model::ElasticConfig cfg;
  if (mode == "smallest") {
    cfg = m_space.normalised(m_space.smallest());
  } else if (mode == "prefix") {
    cfg = prefixPreview(m_space, m_subnet, 0.5, previewCost());
  } else if (mode == "fixed") {
    try {
      cfg = m_space.normalised(m_space.parse(s.value("annotate/previewSubnet").toString().toStdString()));
    } catch (const std::exception&) {
      cfg = autoPreview(m_space, m_subnet, m_ladder, 0.5, previewCost());  // saved for another model
    }
  } else {
    cfg = autoPreview(m_space, m_subnet, m_ladder, 0.5, previewCost());
  }
  return cfg == m_space.normalised(m_subnet) ? model::ElasticConfig{} : cfg;
}

SubnetCostFn MainWindow::previewCost() const {
  if (!m_latency) return {};  // encoder GMACs
  const LatencyPredictor p = *m_latency;
  return [p](const model::ElasticConfig& c) { return p.predictMs(c); };
}

void MainWindow::pushPreviewSettings() {
  if (!m_space.valid()) return;
  m_ladder = ladderFromResults(m_space, m_results);
  PreviewSettings p;
  p.subnet = previewSubnet();
  p.enabled = !p.subnet.empty();
  p.escalate = m_escalateAction->isChecked();
  p.threshold = m_escalateThreshold;
  p.ladder = m_ladder;
  if (p.ladder.empty() || m_space.figures(p.ladder.back()).params < m_space.figures(m_space.largest()).params) {
    p.ladder.push_back(m_space.normalised(m_space.largest()));  // the top rung is always the whole supernet
  }
  m_inference->worker()->setPreview(std::move(p));
}

void MainWindow::onEscalation(const PredictionResult& r) {
  if (!m_result || r.requestId != m_shownRequest || m_result->masks.empty()) return;
  m_offer = r;
  const auto f = m_space.figures(m_space.parse(r.subnet));
  m_offerButton->setText(tr("Better mask: IoU %1 (was %2). Use it (U)")
                             .arg(r.iou[r.best], 0, 'f', 3)
                             .arg(m_result->iou[m_result->best], 0, 'f', 3));
  m_offerButton->setToolTip(tr("The larger subnet %1 (%2 M parameters) scores the same prompts higher")
                                .arg(QString::fromStdString(r.subnet))
                                .arg(f.params / 1e6, 0, 'f', 2));
  m_offerButton->setVisible(true);
}

void MainWindow::useEscalatedMask() {
  if (!m_offer) {
    statusBar()->showMessage(tr("No better mask on offer: turn on Annotate > Escalate low-scoring masks"), 4000);
    return;
  }
  m_result = *m_offer;
  m_candidate = m_result->best;
  clearEscalationOffer();
  updateCandidates();
  updateCurrentOverlay();
  statusBar()->showMessage(tr("Mask from subnet %1").arg(QString::fromStdString(m_result->subnet)), 5000);
}

void MainWindow::clearEscalationOffer() {
  m_offer.reset();
  if (m_offerButton) m_offerButton->setVisible(false);
}

}  // namespace supersam::ui
