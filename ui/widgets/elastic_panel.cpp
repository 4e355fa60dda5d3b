#include "ui/widgets/elastic_panel.h"

#include <algorithm>
#include <cmath>
#include <exception>

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSlider>
#include <QTableWidget>
#include <QVBoxLayout>

namespace supersam::ui {

namespace {
enum Column { kColKept = 0, kColWidth, kColAttn, kColSensitivity, kColCount };

QString humanCount(int64_t n) {
  if (n >= 1000000) return QString::number(n / 1e6, 'f', 2) + " M";
  if (n >= 1000) return QString::number(n / 1e3, 'f', 1) + " k";
  return QString::number(n);
}
}  // namespace

ElasticPanel::ElasticPanel(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);

  auto* sliders = new QGroupBox(tr("Subnet"), this);
  auto* form = new QFormLayout(sliders);
  m_depth = new QSlider(Qt::Horizontal, sliders);
  m_depth->setObjectName("depthSlider");
  m_depth->setToolTip(tr("Number of kept encoder blocks; the least sensitive prunable blocks are dropped first"));
  m_depthValue = new QLabel(sliders);
  auto* depthRow = new QHBoxLayout;
  depthRow->addWidget(m_depth, 1);
  depthRow->addWidget(m_depthValue);
  form->addRow(tr("Depth"), depthRow);
  m_width = new QSlider(Qt::Horizontal, sliders);
  m_width->setObjectName("widthSlider");
  m_width->setRange(5, 100);
  m_width->setSingleStep(5);
  m_width->setPageStep(25);
  m_width->setValue(100);
  m_width->setToolTip(tr("MLP width of every kept block, as a share of its full width"));
  m_widthValue = new QLabel("100 %", sliders);
  auto* widthRow = new QHBoxLayout;
  widthRow->addWidget(m_width, 1);
  widthRow->addWidget(m_widthValue);
  form->addRow(tr("MLP width"), widthRow);

  auto* presets = new QHBoxLayout;
  m_largest = new QPushButton(tr("Largest"), sliders);
  m_smallest = new QPushButton(tr("Smallest"), sliders);
  m_bestButton = new QPushButton(tr("Best found"), sliders);
  m_bestButton->setEnabled(false);
  m_bestButton->setToolTip(tr("Highest-mIoU subnet of the results database"));
  presets->addWidget(m_largest);
  presets->addWidget(m_smallest);
  presets->addWidget(m_bestButton);
  form->addRow(tr("Presets"), presets);

  m_string = new QLineEdit(sliders);
  m_string->setObjectName("subnetString");
  m_string->setToolTip(tr("Canonical subnet string: one MLP width per block, x = dropped. Paste one to load it."));
  form->addRow(tr("String"), m_string);
  m_hash = new QLabel(sliders);
  m_hash->setTextInteractionFlags(Qt::TextSelectableByMouse);
  form->addRow(tr("Hash"), m_hash);
  layout->addWidget(sliders);

  auto* figures = new QGroupBox(tr("Figures"), this);
  auto* ff = new QFormLayout(figures);
  m_params = new QLabel("-", figures);
  m_mb = new QLabel("-", figures);
  m_gmacs = new QLabel("-", figures);
  m_latency = new QLabel("-", figures);
  m_agreement = new QLabel("-", figures);
  m_agreement->setToolTip(tr("IoU between this subnet's mask and the largest subnet's mask on the current prompts"));
  ff->addRow(tr("Parameters"), m_params);
  ff->addRow(tr("Weights"), m_mb);
  ff->addRow(tr("Encoder GMACs"), m_gmacs);
  ff->addRow(tr("Encoder latency"), m_latency);
  ff->addRow(tr("Agreement (IoU)"), m_agreement);
  m_difference = new QCheckBox(tr("Overlay difference to largest"), figures);
  m_difference->setObjectName("differenceToggle");
  ff->addRow(m_difference);
  layout->addWidget(figures);

  auto* advanced = new QGroupBox(tr("Blocks"), this);
  auto* al = new QVBoxLayout(advanced);
  m_table = new QTableWidget(0, kColCount, advanced);
  m_table->setObjectName("blockTable");
  m_table->setHorizontalHeaderLabels({tr("Kept"), tr("Width"), tr("Attention"), tr("Sensitivity")});
  m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  m_table->horizontalHeader()->setStretchLastSection(true);
  m_table->setSelectionMode(QAbstractItemView::NoSelection);
  m_table->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  al->addWidget(m_table);
  layout->addWidget(advanced, 1);

  connect(m_depth, &QSlider::valueChanged, this, &ElasticPanel::onSliders);
  connect(m_width, &QSlider::valueChanged, this, &ElasticPanel::onSliders);
  connect(m_string, &QLineEdit::editingFinished, this, &ElasticPanel::onStringEdited);
  connect(m_largest, &QPushButton::clicked, this, [this] { applyPreset(m_space.largest()); });
  connect(m_smallest, &QPushButton::clicked, this, [this] { applyPreset(m_space.smallest()); });
  connect(m_bestButton, &QPushButton::clicked, this, [this] { applyPreset(m_best); });
  connect(m_difference, &QCheckBox::toggled, this, &ElasticPanel::showDifferenceToggled);
  setEnabled(false);
}

void ElasticPanel::setSpace(const SubnetSpace& space) {
  m_space = space;
  setEnabled(space.valid());
  m_best.clear();
  m_bestButton->setEnabled(false);
  if (!space.valid()) return;
  {
    QSignalBlocker b(m_depth);
    m_depth->setRange(space.depth() - space.prunableCount(), space.depth());
  }
  m_cfg = space.largest();
  rebuildTable();
  refreshControls();
  setFigures(space.figures(m_cfg));
}

void ElasticPanel::setSubnet(const model::ElasticConfig& cfg) {
  if (!m_space.valid()) return;
  m_cfg = m_space.normalised(cfg);
  refreshControls();
  setFigures(m_space.figures(m_cfg));
}

void ElasticPanel::setBestFound(const model::ElasticConfig& cfg) {
  m_best = cfg;
  m_bestButton->setEnabled(!cfg.empty());
}

void ElasticPanel::applyPreset(const model::ElasticConfig& cfg) {
  if (cfg.empty()) return;
  setSubnet(cfg);
  emit subnetChanged(m_cfg);
}

void ElasticPanel::onSliders() {
  if (!m_space.valid()) return;
  // A move down narrows to the next allowed width below, a move up widens to the next one above: the slider's 5 %
  // steps are finer than the width choices, so rounding one way only would snap every small step back.
  const int shown = static_cast<int>(std::lround(m_space.meanWidthRatio(m_cfg) * 100));
  m_cfg = m_space.fromSliders(m_depth->value(), m_width->value() / 100.0, m_width->value() < shown);
  refreshControls();
  setFigures(m_space.figures(m_cfg));
  emit subnetChanged(m_cfg);
}

void ElasticPanel::onStringEdited() {
  if (!m_space.valid()) return;
  const std::string text = m_string->text().trimmed().toStdString();
  if (text == m_space.toString(m_cfg)) return;
  try {
    const auto cfg = m_space.parse(text);
    m_string->setStyleSheet({});
    applyPreset(cfg);
  } catch (const std::exception& e) {
    m_string->setStyleSheet("QLineEdit { background: #ffd6d6; }");
    emit parseError(QString::fromStdString(e.what()));
  }
}

void ElasticPanel::onTableEdited() {
  if (!m_space.valid()) return;
  model::ElasticConfig cfg = m_cfg;
  for (int i = 0; i < m_table->rowCount() && i < static_cast<int>(cfg.size()); ++i) {
    auto* kept = qobject_cast<QCheckBox*>(m_table->cellWidget(i, kColKept));
    auto* width = qobject_cast<QComboBox*>(m_table->cellWidget(i, kColWidth));
    if (kept) cfg[i].kept = kept->isChecked();
    if (width) cfg[i].mlpWidth = width->currentData().toLongLong();
  }
  applyPreset(cfg);
}

void ElasticPanel::rebuildTable() {
  const auto& info = m_space.info();
  const int depth = m_space.depth();
  m_table->setRowCount(depth);
  double maxSens = 0;
  for (const auto& b : info.blocks) maxSens = std::max(maxSens, b.sensitivity);
  for (int i = 0; i < depth; ++i) {
    const auto& b = info.blocks[i];
    m_table->setVerticalHeaderItem(i, new QTableWidgetItem(QString::number(i)));
    auto* kept = new QCheckBox(m_table);
    kept->setEnabled(b.prunable);
    kept->setToolTip(b.prunable ? tr("Keep or drop this block") : tr("Not prunable in this search space"));
    connect(kept, &QCheckBox::toggled, this, &ElasticPanel::onTableEdited);
    m_table->setCellWidget(i, kColKept, kept);
    auto* width = new QComboBox(m_table);
    for (int64_t w : b.widthChoices) {
      width->addItem(QString("%1 (%2 %)").arg(w).arg(std::lround(100.0 * w / std::max<int64_t>(1, b.fullWidth))),
                     QVariant::fromValue<qlonglong>(w));
    }
    connect(width, qOverload<int>(&QComboBox::currentIndexChanged), this, &ElasticPanel::onTableEdited);
    m_table->setCellWidget(i, kColWidth, width);
    m_table->setItem(i, kColAttn, new QTableWidgetItem(b.global ? tr("global") : tr("window")));
    auto* sens = new QTableWidgetItem(info.hasSupernetData ? QString::number(b.sensitivity, 'f', 4) : tr("n/a"));
    sens->setToolTip(tr("Quality lost when this block alone is dropped (measured by calibration)"));
    if (maxSens > 0) {
      const int shade = static_cast<int>(255 - 120 * b.sensitivity / maxSens);
      sens->setBackground(QColor(255, shade, shade));
    }
    m_table->setItem(i, kColSensitivity, sens);
  }
}

void ElasticPanel::refreshControls() {
  if (!m_space.valid()) return;
  {
    QSignalBlocker b1(m_depth), b2(m_width);
    m_depth->setValue(m_space.keptBlocks(m_cfg));
    m_width->setValue(std::clamp(static_cast<int>(std::lround(m_space.meanWidthRatio(m_cfg) * 100)), 5, 100));
  }
  m_depthValue->setText(QString("%1 / %2").arg(m_space.keptBlocks(m_cfg)).arg(m_space.depth()));
  m_widthValue->setText(QString("%1 %").arg(std::lround(m_space.meanWidthRatio(m_cfg) * 100)));
  m_string->setText(QString::fromStdString(m_space.toString(m_cfg)));
  m_string->setCursorPosition(0);
  m_string->setStyleSheet({});
  m_hash->setText(QString::fromStdString(m_space.hash(m_cfg)));
  for (int i = 0; i < m_table->rowCount() && i < static_cast<int>(m_cfg.size()); ++i) {
    if (auto* kept = qobject_cast<QCheckBox*>(m_table->cellWidget(i, kColKept))) {
      QSignalBlocker b(kept);
      kept->setChecked(m_cfg[i].kept);
    }
    if (auto* width = qobject_cast<QComboBox*>(m_table->cellWidget(i, kColWidth))) {
      QSignalBlocker b(width);
      const int idx = width->findData(QVariant::fromValue<qlonglong>(m_cfg[i].mlpWidth));
      if (idx >= 0) width->setCurrentIndex(idx);
      width->setEnabled(m_cfg[i].kept);
    }
  }
}

void ElasticPanel::setFigures(const SubnetFigures& f) {
  m_params->setText(humanCount(f.params) + tr(" (encoder %1)").arg(humanCount(f.encoderParams)));
  m_mb->setText(QString::number(f.weightMB, 'f', 2) + " MB");
  m_gmacs->setText(QString::number(f.gmacs, 'f', 3));
  setLatency(f.latencyMs);
}

void ElasticPanel::setLatency(double ms) {
  m_latency->setText(ms < 0 ? tr("measuring...") : QString::number(ms, 'f', 1) + " ms");
}

void ElasticPanel::setAgreement(double iou) {
  m_agreement->setText(iou < 0 ? QStringLiteral("-") : QString::number(iou, 'f', 3));
}

bool ElasticPanel::showDifference() const { return m_difference->isChecked(); }

QString ElasticPanel::figuresText() const {
  return QString("params %1, %2, GMACs %3, latency %4, agreement %5")
      .arg(m_params->text(), m_mb->text(), m_gmacs->text(), m_latency->text(), m_agreement->text());
}

}  // namespace supersam::ui
