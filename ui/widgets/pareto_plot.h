#pragma once
// Pareto plot (QCustomPlot): every evaluated subnet as a point (size vs mIoU), the front (smallest size for its
// quality, core's rule) as a step line, the current subnet as a moving marker, tooltips on hover; clicking a point
// emits its subnet string so the explorer loads it. Wheel zooms, drag pans, Fit / double click shows all again.
// Points can stream in while a search runs (addPoint + a coalesced replot).
// GUI thread only.

#include <vector>

#include <QString>
#include <QTimer>
#include <QWidget>

#include "ui/engine/results_store.h"

class QComboBox;
class QCustomPlot;
class QCPGraph;
class QCPItemStraightLine;
class QCPItemText;
class QLabel;

namespace supersam::ui {

class ParetoPlot : public QWidget {
  Q_OBJECT
 public:
  explicit ParetoPlot(QWidget* parent = nullptr);

  void setPoints(const std::vector<EvaluatedSubnet>& points);
  void addPoint(const EvaluatedSubnet& p);  // replot coalesced to ~20 per second
  void clear();
  const std::vector<EvaluatedSubnet>& points() const { return m_points; }
  // Current subnet: x = its size; y = its mIoU if evaluated, else NaN (marker drawn on the x axis).
  // predictedMs: its predicted latency (latency table), -1 when there is none.
  void setCurrent(double paramsM, double miou, const QString& subnet, double predictedMs = -1);
  void setTitle(const QString& title);
  // What the x axis shows: 0 = parameters (M), 1 = encoder GMACs, 2 = measured latency (ms), 3 = latency (ms)
  // predicted by this machine's latency table (EvaluatedSubnet::predictedMs).
  void setXAxis(int which);

  QCustomPlot* plot() const { return m_plot; }
  // Pixel position of point i inside plot() (tests click there).
  QPoint pointPosition(size_t i) const;
  // The box-fill baseline of the points' objects (mean of what they recorded), -1 when none did: drawn as a dashed
  // line so that no mIoU is shown without it.
  double baseline() const;
  // Every point with the shown figure lies inside the axes' ranges (false after the user zoomed in).
  bool allPointsInView() const;
  // Back to the automatic fit (every point and the current marker in view) after zooming or panning.
  void resetView();

 signals:
  void subnetClicked(QString subnet);

 private:
  void replot();
  int nearestPoint(const QPointF& pixel, double maxDistance) const;
  double xOf(const EvaluatedSubnet& p) const;
  double currentX() const;  // NaN when the current subnet has no figure on this axis
  void fitView();
  void placeCurrent();  // and the baseline's label, after the ranges changed
  void placeBaseline();

  QCustomPlot* m_plot;
  QLabel* m_caption;
  QComboBox* m_xChoice;
  int m_x = 0;
  double m_currentParams = 0, m_currentMiou = 0, m_currentPredicted = -1;
  QString m_currentSubnet;
  QCPGraph* m_all = nullptr;
  QCPGraph* m_front = nullptr;
  QCPGraph* m_current = nullptr;
  QCPItemStraightLine* m_baseline = nullptr;
  QCPItemText* m_baselineLabel = nullptr;
  std::vector<EvaluatedSubnet> m_points;
  QTimer m_replotTimer;
  bool m_autoFit = true;  // false once the user zoomed or panned, until Fit / double click / new data set
  QPointF m_pressAt;
};

}  // namespace supersam::ui
