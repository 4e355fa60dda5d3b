#include "ui/widgets/pareto_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QMouseEvent>
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
  m_xChoice = new QComboBox(this);
  m_xChoice->addItems({tr("parameters (M)"), tr("encoder GMACs"), tr("latency (ms)")});
  auto* top = new QHBoxLayout;
  top->addWidget(m_caption, 1);
  top->addWidget(new QLabel(tr("x axis:"), this));
  top->addWidget(m_xChoice);
  layout->addLayout(top);
  connect(m_xChoice, qOverload<int>(&QComboBox::currentIndexChanged), this, &ParetoPlot::setXAxis);
  layout->addWidget(m_plot, 1);
  m_plot->setObjectName("paretoPlot");
  m_plot->setMinimumHeight(180);
  m_plot->xAxis->setLabel(tr("parameters (M)"));
  m_plot->yAxis->setLabel(tr("mIoU"));
  m_plot->yAxis->setRange(0, 1);

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
  m_plot->legend->setVisible(true);
  m_plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);

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
    if (e->button() != Qt::LeftButton) return;
    const int i = nearestPoint(e->position(), kClickRadius);
    if (i >= 0) emit subnetClicked(QString::fromStdString(m_points[i].subnet));
  });
}

void ParetoPlot::setTitle(const QString& title) { m_caption->setText(title); }

void ParetoPlot::setXAxis(int which) {
  m_x = std::clamp(which, 0, 2);
  if (m_xChoice->currentIndex() != m_x) m_xChoice->setCurrentIndex(m_x);
  m_plot->xAxis->setLabel(m_xChoice->itemText(m_x));
  replot();
  // The marker's x is the size only; hide it on other axes unless a point matches.
  setCurrent(m_currentParams, m_currentMiou, m_currentSubnet);
}

double ParetoPlot::xOf(const EvaluatedSubnet& p) const {
  switch (m_x) {
    case 1:
      return p.gmacs;
    case 2:
      return p.latencyMs;
    default:
      return p.paramsM;
  }
}

void ParetoPlot::setPoints(const std::vector<EvaluatedSubnet>& points) {
  m_points = points;
  replot();
}

void ParetoPlot::addPoint(const EvaluatedSubnet& p) {
  m_points.push_back(p);
  if (!m_replotTimer.isActive()) m_replotTimer.start();
}

void ParetoPlot::clear() {
  m_points.clear();
  replot();
}

void ParetoPlot::setCurrent(double paramsM, double miou, const QString& subnet) {
  m_currentParams = paramsM;
  m_currentMiou = miou;
  m_currentSubnet = subnet;
  m_current->data()->clear();
  const double y = std::isnan(miou) ? m_plot->yAxis->range().lower : miou;
  double x = paramsM;
  if (m_x != 0) {
    x = std::nan("");
    for (const auto& p : m_points) {
      if (QString::fromStdString(p.subnet) == subnet) x = xOf(p);
    }
  }
  if (!std::isnan(x)) m_current->addData(x, y);
  m_current->setName(std::isnan(miou) ? tr("current (not evaluated)") : tr("current"));
  m_current->setProperty("subnet", subnet);
  if (m_points.empty()) {
    // Nothing evaluated yet: keep the marker in view.
    m_plot->xAxis->setRange(0, std::max(1e-3, paramsM * 1.25));
    m_plot->yAxis->setRange(0, 1);
  }
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void ParetoPlot::replot() {
  QVector<double> x, y, fx, fy;
  // The front over the chosen axis: smallest cost for its quality (points without that figure are left out).
  std::vector<EvaluatedSubnet> shown;
  for (const auto& p : m_points) {
    if (xOf(p) < 0) continue;
    auto q = p;
    q.paramsM = xOf(p);
    shown.push_back(q);
    x.push_back(q.paramsM);
    y.push_back(p.miou);
  }
  for (size_t i : paretoFront(shown)) {
    fx.push_back(shown[i].paramsM);
    fy.push_back(shown[i].miou);
  }
  m_all->setData(x, y, true);
  m_front->setData(fx, fy, true);
  if (!m_points.empty()) {
    m_plot->rescaleAxes();
    const auto xr = m_plot->xAxis->range(), yr = m_plot->yAxis->range();
    const double dx = std::max(xr.size() * 0.08, 1e-3), dy = std::max(yr.size() * 0.1, 1e-3);
    m_plot->xAxis->setRange(xr.lower - dx, xr.upper + dx);
    m_plot->yAxis->setRange(yr.lower - dy, yr.upper + dy);
    const int best = bestPoint(m_points);
    m_caption->setText(tr("%1 evaluated subnets, %2 on the front; best mIoU %3 at %4 M parameters")
                           .arg(m_points.size())
                           .arg(fx.size())
                           .arg(m_points[best].miou, 0, 'f', 4)
                           .arg(m_points[best].paramsM, 0, 'f', 3));
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
