#pragma once
// The elastic controls: depth slider (number of kept blocks; the least sensitive prunable blocks go first),
// MLP-width slider (ratio of the full width), presets, the canonical subnet string (editable, accepts pasting),
// an advanced per-block grid (kept, width, sensitivity) and the live figures of the current subnet.
// Emits subnetChanged whenever the user changes the subnet by any of these; setSubnet() (from the Pareto plot,
// a preset, a loaded file) updates every control without emitting. GUI thread only.

#include <QWidget>

#include "ui/engine/subnet_space.h"

class QCheckBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSlider;
class QTableWidget;

namespace supersam::ui {

class ElasticPanel : public QWidget {
  Q_OBJECT
 public:
  explicit ElasticPanel(QWidget* parent = nullptr);

  void setSpace(const SubnetSpace& space);  // resets to the largest subnet
  const SubnetSpace& space() const { return m_space; }
  void setSubnet(const model::ElasticConfig& cfg);
  const model::ElasticConfig& subnet() const { return m_cfg; }
  void setBestFound(const model::ElasticConfig& cfg);  // enables the "best found" preset

  // Figures shown for the current subnet. latency < 0 keeps "measuring...", agreement < 0 shows "-".
  void setFigures(const SubnetFigures& f);
  void setLatency(double ms);
  void setAgreement(double iou);
  bool showDifference() const;

  // For tests and shortcuts.
  QSlider* depthSlider() const { return m_depth; }
  QSlider* widthSlider() const { return m_width; }
  QLineEdit* subnetEdit() const { return m_string; }
  QTableWidget* blockTable() const { return m_table; }
  QString figuresText() const;

 signals:
  void subnetChanged(supersam::model::ElasticConfig cfg);
  void showDifferenceToggled(bool on);
  void parseError(QString message);

 private:
  void onSliders();
  void onStringEdited();
  void onTableEdited();
  void applyPreset(const model::ElasticConfig& cfg);
  void refreshControls();  // from m_cfg, signals blocked
  void rebuildTable();

  SubnetSpace m_space;
  model::ElasticConfig m_cfg;
  model::ElasticConfig m_best;
  QSlider* m_depth;
  QSlider* m_width;
  QLabel* m_depthValue;
  QLabel* m_widthValue;
  QLineEdit* m_string;
  QLabel* m_hash;
  QPushButton* m_largest;
  QPushButton* m_smallest;
  QPushButton* m_bestButton;
  QTableWidget* m_table;
  QLabel* m_params;
  QLabel* m_mb;
  QLabel* m_gmacs;
  QLabel* m_latency;
  QLabel* m_agreement;
  QCheckBox* m_difference;
};

}  // namespace supersam::ui
