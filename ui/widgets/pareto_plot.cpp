#include "ui/widgets/pareto_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QMouseEvent>
#include <QToolButton>
#include <QToolTip>
#include <QVBoxLayout>
#include <qcustomplot.h>

namespace supersam::ui {

namespace {
constexpr int kReplotIntervalMs = 50;
constexpr double kClickRadius = 10.0;  // pixels
}  // namespace

ParetoPlot::ParetoPlot(QWidget* parent) : QWidget(parent), m_plot(new QCustomPlot(this)) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(2, 2, 2, 2);
  m_caption = new QLabel(tr("No results database loaded (File > Open results database, or Jobs > Search)."), this);
  m_caption->setObjectName("paretoCaption");
  m_xChoice = new QComboBox(this);
  m_xChoice->addItems({tr("parameters (M)"), tr("encoder GMACs"), tr("latency (ms)"),
                       tr("predicted latency (ms, this machine)")});
  auto* top = new QHBoxLayout;
  top->addWidget(m_caption, 1);
  top->addWidget(new QLabel(tr("x axis:"), this));
  top->addWidget(m_xChoice);
  auto* fit = new QToolButton(this);
  fit->setObjectName("paretoFit");
  fit->setText(tr("Fit"));
  fit->setToolTip(tr("Show every point again after zooming or panning (or double-click the plot)"));
  connect(fit, &QToolButton::clicked, this, &ParetoPlot::resetView);
  top->addWidget(fit);
  layout->addLayout(top);
  connect(m_xChoice, qOverload<int>(&QComboBox::currentIndexChanged), this, &ParetoPlot::setXAxis);
  layout->addWidget(m_plot, 1);
  m_plot->setObjectName("paretoPlot");
  m_plot->setMinimumHeight(180);
  m_plot->xAxis->setLabel(tr("parameters (M)"));
  m_plot->yAxis->setLabel(tr("mIoU"));
  m_plot->yAxis->setRange(0, 1);
  // Wheel zooms, drag pans (a click on a point still loads it); double click or "Fit" shows every point again.
  m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  connect(m_plot, &QCustomPlot::mouseWheel, this, [this] { m_autoFit = false; });
  connect(m_plot, &QCustomPlot::mouseRelease, this, [this](QMouseEvent* e) {
    if ((e->position() - m_pressAt).manhattanLength() > 3) m_autoFit = false;
  });
  connect(m_plot, &QCustomPlot::mouseDoubleClick, this, [this] { resetView(); });

  m_all = m_plot->addGraph();
  m_all->setName(tr("evaluated"));
  m_all->setLineStyle(QCPGraph::lsNone);
  m_all->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, QColor(70, 110, 200, 150), 6));
  m_front = m_plot->addGraph();
  m_front->setName(tr("Pareto front"));
  m_front->setLineStyle(QCPGraph::lsStepLeft);
  m_front->setPen(QPen(QColor(220, 90, 30), 2));
  m_front->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QColor(220, 90, 30), 8));
  m_current = m_plot->addGraph();
  m_current->setName(tr("current"));
  m_current->setLineStyle(QCPGraph::lsNone);
  m_current->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssStar, QPen(QColor(20, 160, 60), 2), QBrush(QColor(20, 160, 60)), 16));
  // The obvious baseline of the same objects: every mask the object's whole box.
  m_baseline = new QCPItemStraightLine(m_plot);
  m_baseline->setPen(QPen(QColor(120, 120, 120), 1.5, Qt::DashLine));
  m_baseline->setVisible(false);
  m_baselineLabel = new QCPItemText(m_plot);
  m_baselineLabel->position->setTypeX(QCPItemPosition::ptAxisRectRatio);
  m_baselineLabel->position->setTypeY(QCPItemPosition::ptPlotCoords);
  m_baselineLabel->setPositionAlignment(Qt::AlignRight | Qt::AlignBottom);
  m_baselineLabel->setColor(QColor(90, 90, 90));
  m_baselineLabel->setVisible(false);
  connect(m_plot->yAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, [this] { placeBaseline(); });
  // The legend sits in its own column right of the axes, so it never covers a point.
  m_plot->legend->setVisible(true);
  m_plot->axisRect()->insetLayout()->take(m_plot->legend);
  m_plot->plotLayout()->addElement(0, 1, m_plot->legend);
  m_plot->plotLayout()->setColumnStretchFactor(1, 0.001);
  m_plot->legend->setMargins(QMargins(4, 4, 4, 4));

  m_replotTimer.setSingleShot(true);
  m_replotTimer.setInterval(kReplotIntervalMs);
  connect(&m_replotTimer, &QTimer::timeout, this, &ParetoPlot::replot);

  m_plot->setMouseTracking(true);
  connect(m_plot, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) {
    const int i = nearestPoint(e->position(), kClickRadius);
    if (i < 0) {
      QToolTip::hideText();
      return;
    }
    const auto& p = m_points[i];
    QString tip = tr("mIoU %1\nparams %2 M, %3 GMACs").arg(p.miou, 0, 'f', 4).arg(p.paramsM, 0, 'f', 3)
                      .arg(p.gmacs, 0, 'f', 3);
    if (p.latencyMs >= 0) tip += tr(", %1 ms").arg(p.latencyMs, 0, 'f', 1);
    tip += "\n" + QString::fromStdString(p.subnet) + tr("\n(click to load)");
    QToolTip::showText(m_plot->mapToGlobal(e->position().toPoint()), tip, m_plot);
  });
  connect(m_plot, &QCustomPlot::mousePress, this, [this](QMouseEvent* e) {
    m_pressAt = e->position();
    if (e->button() != Qt::LeftButton) return;
    const int i = nearestPoint(e->position(), kClickRadius);
    if (i >= 0) emit subnetClicked(QString::fromStdString(m_points[i].subnet));
  });
}

void ParetoPlot::setTitle(const QString& title) { m_caption->setText(title); }

void ParetoPlot::setXAxis(int which) {
  m_x = std::clamp(which, 0, 3);
  if (m_xChoice->currentIndex() != m_x) m_xChoice->setCurrentIndex(m_x);
  m_plot->xAxis->setLabel(m_xChoice->itemText(m_x));
  m_autoFit = true;
  replot();  // the marker's x is the size; on other axes it is shown only where an evaluated point matches
}

double ParetoPlot::xOf(const EvaluatedSubnet& p) const {
  switch (m_x) {
    case 1:
      return p.gmacs;
    case 2:
      return p.latencyMs;
    case 3:
      return p.predictedMs;
    default:
      return p.paramsM;
  }
}

void ParetoPlot::setPoints(const std::vector<EvaluatedSubnet>& points) {
  m_points = points;
  m_autoFit = true;
  replot();
}

void ParetoPlot::addPoint(const EvaluatedSubnet& p) {
  m_points.push_back(p);
  if (!m_replotTimer.isActive()) m_replotTimer.start();
}

void ParetoPlot::clear() {
  m_points.clear();
  m_autoFit = true;
  replot();
}

void ParetoPlot::setCurrent(double paramsM, double miou, const QString& subnet, double predictedMs) {
  m_currentParams = paramsM;
  m_currentPredicted = predictedMs;
  m_currentMiou = miou;
  m_currentSubnet = subnet;
  if (m_autoFit) fitView();
  placeCurrent();
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

double ParetoPlot::currentX() const {
  if (m_x == 0) return m_currentParams;
  if (m_x == 3 && m_currentPredicted >= 0) return m_currentPredicted;
  for (const auto& p : m_points) {
    if (QString::fromStdString(p.subnet) == m_currentSubnet && xOf(p) >= 0) return xOf(p);
  }
  return std::nan("");
}

void ParetoPlot::placeBaseline() {
  const double base = baseline();
  m_baseline->setVisible(base >= 0);
  m_baselineLabel->setVisible(base >= 0);
  if (base < 0) return;
  m_baseline->point1->setCoords(0, base);
  m_baseline->point2->setCoords(1, base);
  // The view fits the points; a baseline outside it keeps its label on the edge it lies beyond.
  const auto yr = m_plot->yAxis->range();
  QString text = tr("box-fill baseline %1").arg(base, 0, 'f', 3);
  double y = base;
  Qt::Alignment vertical = Qt::AlignBottom;
  if (base > yr.upper) {
    text = tr("box-fill baseline %1 (above)").arg(base, 0, 'f', 3);
    y = yr.upper;
    vertical = Qt::AlignTop;
  } else if (base < yr.lower) {
    text = tr("box-fill baseline %1 (below)").arg(base, 0, 'f', 3);
    y = yr.lower;
  }
  m_baselineLabel->position->setCoords(0.99, y);
  m_baselineLabel->setPositionAlignment(Qt::AlignRight | vertical);
  m_baselineLabel->setText(text);
}

void ParetoPlot::placeCurrent() {
  placeBaseline();
  m_current->data()->clear();
  const double x = currentX();
  // Not evaluated: the marker sits just above the bottom edge, at its size.
  const auto yr = m_plot->yAxis->range();
  const double y = std::isnan(m_currentMiou) ? yr.lower + 0.04 * yr.size() : m_currentMiou;
  if (!std::isnan(x) && !m_currentSubnet.isEmpty()) m_current->addData(x, y);
  m_current->setName(std::isnan(m_currentMiou) ? tr("current (not evaluated)") : tr("current"));
  m_current->setProperty("subnet", m_currentSubnet);
}

void ParetoPlot::fitView() {
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  const auto take = [&](double x, double y) {
    if (!std::isnan(x)) x0 = std::min(x0, x), x1 = std::max(x1, x);
    if (!std::isnan(y)) y0 = std::min(y0, y), y1 = std::max(y1, y);
  };
  for (const auto& p : m_points) {
    if (xOf(p) >= 0 && std::isfinite(p.miou)) take(xOf(p), p.miou);
  }
  if (!m_currentSubnet.isEmpty()) take(currentX(), m_currentMiou);
  if (!std::isfinite(x0)) x0 = 0, x1 = 1;
  if (!std::isfinite(y0)) y0 = 0, y1 = 1;
  const auto pad = [](double& lo, double& hi, double share) {
    const double size = hi - lo;
    const double d = size > 0 ? size * share : std::max(0.05 * std::fabs(hi), 1e-3);
    lo -= d;
    hi += d;
  };
  pad(x0, x1, 0.08);
  pad(y0, y1, 0.12);
  m_plot->xAxis->setRange(x0, x1);
  m_plot->yAxis->setRange(y0, y1);
}

void ParetoPlot::resetView() {
  m_autoFit = true;
  fitView();
  placeCurrent();
  m_plot->replot();
}

double ParetoPlot::baseline() const {
  double sum = 0;
  int n = 0;
  for (const auto& p : m_points) {
    if (p.boxFill >= 0) sum += p.boxFill, ++n;
  }
  return n > 0 ? sum / n : -1;
}

bool ParetoPlot::allPointsInView() const {
  for (const auto& p : m_points) {
    if (xOf(p) < 0 || !std::isfinite(p.miou)) continue;
    if (!m_plot->xAxis->range().contains(xOf(p)) || !m_plot->yAxis->range().contains(p.miou)) return false;
  }
  return true;
}

void ParetoPlot::replot() {
  QVector<double> x, y, fx, fy;
  // The front over the chosen axis (core's rule): smallest cost for its quality; points without that figure are
  // left out and the caption says how many.
  std::vector<std::pair<double, double>> shown;
  for (const auto& p : m_points) {
    shown.emplace_back(xOf(p), p.miou);
    if (xOf(p) < 0 || !std::isfinite(p.miou)) continue;
    x.push_back(xOf(p));
    y.push_back(p.miou);
  }
  for (size_t i : paretoFront(shown)) {
    fx.push_back(shown[i].first);
    fy.push_back(shown[i].second);
  }
  m_all->setData(x, y);  // unsorted: QCustomPlot sorts by key
  const double base = baseline();
  m_front->setData(fx, fy, true);
  if (m_autoFit) fitView();
  placeCurrent();
  if (!m_points.empty()) {
    const int best = bestPoint(m_points);
    QString caption = tr("%1 evaluated subnets, %2 on the front; best mIoU %3 at %4 M parameters")
                          .arg(m_points.size())
                          .arg(fx.size())
                          .arg(m_points[best].miou, 0, 'f', 4)
                          .arg(m_points[best].paramsM, 0, 'f', 3);
    if (base >= 0) caption += tr("; box-fill baseline %1").arg(base, 0, 'f', 4);
    const int missing = static_cast<int>(m_points.size()) - x.size();
    if (x.isEmpty()) {
      caption = m_x == 2 ? tr("None of the %1 evaluated subnets has a measured latency: a search measures it only "
                              "under a latency budget (Max encoder latency). Choose another x axis.")
                               .arg(m_points.size())
                 : m_x == 3 ? tr("No latency table for this model on this machine yet: Jobs > Measure latency "
                                 "table predicts every subnet's milliseconds. Choose another x axis meanwhile.")
                         : tr("None of the %1 evaluated subnets has this figure. Choose another x axis.")
                               .arg(m_points.size());
    } else if (missing > 0) {
      caption += tr(" (%1 without this figure not shown)").arg(missing);
    }
    m_caption->setText(caption);
  }
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

QPoint ParetoPlot::pointPosition(size_t i) const {
  const auto& p = m_points.at(i);
  const QPointF px(m_plot->xAxis->coordToPixel(xOf(p)), m_plot->yAxis->coordToPixel(p.miou));
  return px.toPoint();
}

int ParetoPlot::nearestPoint(const QPointF& pixel, double maxDistance) const {
  int best = -1;
  double bestD = maxDistance;
  for (size_t i = 0; i < m_points.size(); ++i) {
    if (xOf(m_points[i]) < 0) continue;
    const double px = m_plot->xAxis->coordToPixel(xOf(m_points[i]));
    const double py = m_plot->yAxis->coordToPixel(m_points[i].miou);
    const double d = std::hypot(px - pixel.x(), py - pixel.y());
    if (d <= bestD) {
      bestD = d;
      best = static_cast<int>(i);
    }
  }
  return best;
}

}  // namespace supersam::ui
