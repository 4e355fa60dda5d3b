#include "ui/main_window.h"

#include <QAction>
#include <QApplication>
#include <QButtonGroup>
#include <QCloseEvent>
#include <QComboBox>
#include <QDockWidget>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QKeyEvent>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QSpinBox>
#include <QTextEdit>
#include <QKeySequence>
#include <QLabel>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QSettings>
#include <QStatusBar>
#include <QTextBrowser>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>

#include "ui/widgets/elastic_panel.h"
#include "ui/widgets/image_canvas.h"
#include "ui/widgets/pareto_plot.h"
#include "ui/workers/job_worker.h"

namespace supersam::ui {

namespace {
constexpr int kMaxRecent = 8;
}

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent),
      m_canvas(new ImageCanvas(this)),
      m_elastic(new ElasticPanel),
      m_pareto(new ParetoPlot),
      m_inference(std::make_unique<InferenceThread>()),
      m_jobs(new JobRunner("jobs", this)) {
  setWindowTitle(tr("SuperSAM Studio"));
  setWindowIcon(QIcon(":/supersam/icon.png"));
  setCentralWidget(m_canvas);
  m_requestClock.start();
  buildDocks();
  buildMenus();

  m_modelLabel = new QLabel(tr("No model: File > Open checkpoint (Ctrl+Shift+O)"), this);
  m_timing = new QLabel(this);
  statusBar()->addPermanentWidget(m_timing);
  statusBar()->addPermanentWidget(m_modelLabel);

  connect(m_canvas, &ImageCanvas::pointAdded, this, &MainWindow::addPoint);
  connect(m_canvas, &ImageCanvas::boxDrawn, this, &MainWindow::setBox);
  connect(m_elastic, &ElasticPanel::subnetChanged, this, &MainWindow::onSubnetChanged);
  connect(m_elastic, &ElasticPanel::parseError, this, &MainWindow::showError);
  connect(m_elastic, &ElasticPanel::showDifferenceToggled, this, [this](bool) {
    updateCurrentOverlay();
  });
  connect(m_pareto, &ParetoPlot::subnetClicked, this, &MainWindow::loadSubnetString);

  auto* w = m_inference->worker();
  connect(w, &InferenceWorker::modelLoaded, this, &MainWindow::onModelLoaded);
  connect(w, &InferenceWorker::modelFailed, this, [this](const QString& msg) {
    m_busy = false;
    m_loadingModel.clear();
    // The label goes back to the model still in use (the worker keeps it when a load fails).
    m_modelLabel->setText(m_space.valid() ? QString::fromStdString(m_modelInfo.summary)
                                          : tr("No model: File > Open checkpoint (Ctrl+Shift+O)"));
    showError(tr("Could not open the checkpoint: %1").arg(msg));
    emit modelReady(false);
  });
  connect(w, &InferenceWorker::resultReady, this, &MainWindow::onResult);
  connect(w, &InferenceWorker::escalationReady, this, &MainWindow::onEscalation);
  connect(w, &InferenceWorker::requestFailed, this, [this](quint64, const QString& msg) { showError(msg); });
  connect(w, &InferenceWorker::latencyMeasured, this, [this](const QString& subnet, double ms) {
    if (subnet.toStdString() != m_space.toString(m_subnet)) return;
    m_elastic->setLatency(ms);
    emit latencyShown(ms);
  });
  connect(w, &InferenceWorker::exportFinished, this, [this](bool ok, const QString& msg) {
    if (ok) {
      statusBar()->showMessage(tr("Subnet exported to %1").arg(msg), 8000);
    } else {
      showError(tr("Export failed: %1").arg(msg));
    }
  });
  connect(w, &InferenceWorker::busyChanged, this, [this](bool b) {
    m_busy = b;
    if (b) statusBar()->showMessage(tr("working..."));
  });
  restoreSettings();
  // Return, Enter and Escape belong to the text field, spin box or list editor that has the focus, not to the
  // window's shortcuts (Accept object, Clear prompts).
  qApp->installEventFilter(this);
}

bool MainWindow::eventFilter(QObject* watched, QEvent* event) {
  if (event->type() == QEvent::ShortcutOverride) {
    auto* key = static_cast<QKeyEvent*>(event);
    const int k = key->key();
    if ((k == Qt::Key_Return || k == Qt::Key_Enter || k == Qt::Key_Escape) && key->modifiers() == Qt::NoModifier) {
      QWidget* focus = QApplication::focusWidget();
      const bool editing = qobject_cast<QLineEdit*>(focus) || qobject_cast<QAbstractSpinBox*>(focus) ||
                           qobject_cast<QComboBox*>(focus) || qobject_cast<QPlainTextEdit*>(focus) ||
                           qobject_cast<QTextEdit*>(focus);
      if (editing && focus->window() == this) {
        event->accept();  // delivered to the widget as a key press instead of triggering the shortcut
        return false;
      }
    }
  }
  return QMainWindow::eventFilter(watched, event);
}

QString MainWindow::modelStatusText() const { return m_modelLabel->text(); }

MainWindow::~MainWindow() {
  m_jobs->cancel();
}

InferenceWorker* MainWindow::inferenceWorker() const { return m_inference->worker(); }

void MainWindow::buildDocks() {
  auto* left = new QDockWidget(tr("Elastic subnet"), this);
  left->setObjectName("elasticDock");
  left->setWidget(m_elastic);
  addDockWidget(Qt::LeftDockWidgetArea, left);

  auto* right = new QWidget;
  auto* rl = new QVBoxLayout(right);
  m_candidatesLabel = new QLabel(tr("Mask candidates (predicted IoU):"), right);
  rl->addWidget(m_candidatesLabel);
  auto* candRow = new QHBoxLayout;
  m_candidateGroup = new QButtonGroup(this);
  m_candidateGroup->setExclusive(true);
  for (int i = 0; i < 3; ++i) {
    m_candidateButtons[i] = new QToolButton(right);
    m_candidateButtons[i]->setCheckable(true);
    m_candidateButtons[i]->setEnabled(false);
    m_candidateButtons[i]->setText(QString("%1: -").arg(i + 1));
    m_candidateButtons[i]->setToolTip(tr("Show candidate %1 (key %1)").arg(i + 1));
    m_candidateButtons[i]->setToolButtonStyle(Qt::ToolButtonTextOnly);
    m_candidateGroup->addButton(m_candidateButtons[i], i);
    candRow->addWidget(m_candidateButtons[i]);
  }
  connect(m_candidateGroup, &QButtonGroup::idClicked, this, &MainWindow::selectCandidate);
  rl->addLayout(candRow);
  m_offerButton = new QToolButton(right);
  m_offerButton->setObjectName("escalationOffer");
  m_offerButton->setToolButtonStyle(Qt::ToolButtonTextOnly);
  m_offerButton->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);  // never widens the dock
  m_offerButton->setVisible(false);
  connect(m_offerButton, &QToolButton::clicked, this, &MainWindow::useEscalatedMask);
  rl->addWidget(m_offerButton);

  rl->addWidget(new QLabel(tr("Label for new objects:"), right));
  m_label = new QComboBox(right);
  m_label->setEditable(true);
  m_label->addItems({"object", "person", "animal", "vehicle", "cell", "background"});
  rl->addWidget(m_label);
  auto* accept = new QPushButton(tr("Accept object (Enter)"), right);
  connect(accept, &QPushButton::clicked, this, &MainWindow::acceptObject);
  rl->addWidget(accept);
  rl->addWidget(new QLabel(tr("Objects (double-click to rename):"), right));
  m_objects = new QListWidget(right);
  m_objects->setObjectName("objectList");
  m_objects->setEditTriggers(QAbstractItemView::NoEditTriggers);
  // Double-click names the object (an instance name; its label, the COCO category, stays).
  connect(m_objects, &QListWidget::itemDoubleClicked, this, [this](QListWidgetItem* item) {
    const int i = m_objects->row(item);
    if (i < 0 || i >= static_cast<int>(m_annotation.objects.size())) return;
    bool ok = false;
    const QString name = QInputDialog::getText(
        this, tr("Name object"),
        tr("Name of this %1 (its label stays; empty = no name):").arg(QString::fromStdString(m_annotation.objects[i].label)),
        QLineEdit::Normal, QString::fromStdString(m_annotation.objects[i].name), &ok);
    if (ok) renameObject(i, name);
  });
  rl->addWidget(m_objects, 1);
  auto* objectButtons = new QHBoxLayout;
  auto* relabel = new QPushButton(tr("Set label"), right);
  relabel->setToolTip(tr("Give the selected object the label chosen above"));
  connect(relabel, &QPushButton::clicked, this, [this] { relabelObject(m_objects->currentRow(), m_label->currentText()); });
  auto* del = new QPushButton(tr("Delete (Del)"), right);
  connect(del, &QPushButton::clicked, this, [this] { deleteObject(m_objects->currentRow()); });
  objectButtons->addWidget(relabel);
  objectButtons->addWidget(del);
  rl->addLayout(objectButtons);
  auto* rightDock = new QDockWidget(tr("Objects"), this);
  rightDock->setObjectName("objectsDock");
  rightDock->setWidget(right);
  addDockWidget(Qt::RightDockWidgetArea, rightDock);

  auto* bottom = new QDockWidget(tr("Pareto front"), this);
  bottom->setObjectName("paretoDock");
  bottom->setWidget(m_pareto);
  addDockWidget(Qt::BottomDockWidgetArea, bottom);
}

void MainWindow::buildMenus() {
  auto* file = menuBar()->addMenu(tr("&File"));
  file->addAction(tr("Open &image..."), QKeySequence::Open, this, &MainWindow::openImageDialog);
  file->addAction(tr("Open &folder..."), QKeySequence(Qt::CTRL | Qt::ALT | Qt::Key_O), this,
                  &MainWindow::openFolderDialog);
  m_recentImages = file->addMenu(tr("Recent images"));
  file->addAction(tr("&Next image"), QKeySequence(Qt::Key_D), this, [this] { stepImage(1); });
  file->addAction(tr("&Previous image"), QKeySequence(Qt::Key_A), this, [this] { stepImage(-1); });
  file->addSeparator();
  file->addAction(tr("Open &checkpoint..."), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O), this,
                  &MainWindow::openCheckpointDialog);
  m_recentModels = file->addMenu(tr("Recent checkpoints"));
  file->addAction(tr("Open &results database..."), this, &MainWindow::openResultsDialog);
  file->addSeparator();
  file->addAction(tr("&Save annotations..."), QKeySequence::Save, this, &MainWindow::saveAnnotationsDialog);
  file->addAction(tr("&Open annotations..."), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_L), this,
                  &MainWindow::loadAnnotationsDialog);
  buildExportMenu(file);
  file->addAction(tr("&Export subnet..."), QKeySequence(Qt::CTRL | Qt::Key_E), this, &MainWindow::exportSubnet);
  file->addAction(tr("Export subnet as O&NNX (X-AnyLabeling, ONNX Runtime)..."), this, &MainWindow::exportSubnetOnnx);
  file->addSeparator();
  file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

  auto* edit = menuBar()->addMenu(tr("&Edit"));
  auto* undo = m_undo.createUndoAction(this, tr("&Undo prompt"));
  undo->setShortcut(QKeySequence::Undo);
  auto* redo = m_undo.createRedoAction(this, tr("&Redo prompt"));
  redo->setShortcut(QKeySequence::Redo);
  edit->addAction(undo);
  edit->addAction(redo);
  edit->addAction(tr("&Clear prompts"), QKeySequence(Qt::Key_Escape), this, &MainWindow::clearPrompts);
  edit->addAction(tr("&Accept object"), QKeySequence(Qt::Key_Return), this, &MainWindow::acceptObject);
  edit->addAction(tr("&Delete selected object"), QKeySequence::Delete, this,
                  [this] { deleteObject(m_objects->currentRow()); });
  for (int i = 0; i < 3; ++i) {
    edit->addAction(tr("Mask candidate %1").arg(i + 1), QKeySequence(Qt::Key_1 + i), this,
                    [this, i] { selectCandidate(i); });
  }

  auto* view = menuBar()->addMenu(tr("&View"));
  m_showOverlay = view->addAction(tr("Show &masks"));
  m_showOverlay->setCheckable(true);
  m_showOverlay->setChecked(true);
  m_showOverlay->setShortcut(QKeySequence(Qt::Key_M));
  connect(m_showOverlay, &QAction::toggled, m_canvas, &ImageCanvas::setOverlayVisible);
  m_useReference = view->addAction(tr("Compare with the &largest subnet"));
  m_useReference->setCheckable(true);
  m_useReference->setChecked(true);
  m_useReference->setToolTip(tr("Also decode with the largest subnet to show the agreement IoU"));
  view->addAction(tr("&Fit to window"), QKeySequence(Qt::Key_F), m_canvas, &ImageCanvas::fitToWindow);
  view->addAction(tr("Zoom &in"), QKeySequence::ZoomIn, m_canvas, [this] { m_canvas->zoomBy(1.25); });
  view->addAction(tr("Zoom &out"), QKeySequence::ZoomOut, m_canvas, [this] { m_canvas->zoomBy(0.8); });
  view->addSeparator();
  for (auto* dock : findChildren<QDockWidget*>()) view->addAction(dock->toggleViewAction());

  auto* subnet = menuBar()->addMenu(tr("&Subnet"));
  subnet->addAction(tr("&Largest"), QKeySequence(Qt::Key_L), this,
                    [this] { m_elastic->setSubnet(m_space.largest()), onSubnetChanged(m_elastic->subnet()); });
  subnet->addAction(tr("&Smallest"), QKeySequence(Qt::Key_S), this,
                    [this] { m_elastic->setSubnet(m_space.smallest()), onSubnetChanged(m_elastic->subnet()); });
  subnet->addAction(tr("Fewer blocks"), QKeySequence(Qt::Key_BracketLeft), this,
                    [this] { m_elastic->depthSlider()->triggerAction(QAbstractSlider::SliderSingleStepSub); });
  subnet->addAction(tr("More blocks"), QKeySequence(Qt::Key_BracketRight), this,
                    [this] { m_elastic->depthSlider()->triggerAction(QAbstractSlider::SliderSingleStepAdd); });
  subnet->addAction(tr("Narrower MLPs"), QKeySequence(Qt::Key_Minus), this,
                    [this] { m_elastic->widthSlider()->triggerAction(QAbstractSlider::SliderSingleStepSub); });
  subnet->addAction(tr("Wider MLPs"), QKeySequence(Qt::Key_Equal), this,
                    [this] { m_elastic->widthSlider()->triggerAction(QAbstractSlider::SliderSingleStepAdd); });

  buildAnnotateMenu();

  auto* jobs = menuBar()->addMenu(tr("&Jobs"));
  jobs->addAction(tr("&Calibrate (reorder + sensitivity)..."), this, &MainWindow::openCalibrateDialog);
  jobs->addAction(tr("&Train supernet..."), this, &MainWindow::openTrainDialog);
  jobs->addAction(tr("&Evaluate current subnet..."), this, &MainWindow::openEvaluateDialog);
  jobs->addAction(tr("&Search subnets..."), this, &MainWindow::openSearchDialog);
  jobs->addSeparator();
  buildLatencyActions(jobs);

  auto* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&Keyboard shortcuts"), QKeySequence::HelpContents, this, &MainWindow::showShortcuts);
  help->addAction(tr("&About SuperSAM Studio"), this, &MainWindow::showAbout);
}

void MainWindow::showShortcuts() {
  QString html = "<h3>" + tr("Mouse") + "</h3><table>" +
                 tr("<tr><td>Left click</td><td>foreground point</td></tr>"
                    "<tr><td>Right click / Shift+click</td><td>background point</td></tr>"
                    "<tr><td>Left drag</td><td>box</td></tr>"
                    "<tr><td>Wheel</td><td>zoom around the cursor</td></tr>"
                    "<tr><td>Middle drag / Ctrl+drag</td><td>pan</td></tr>"
                    "<tr><td>Click a Pareto point</td><td>load that subnet</td></tr>"
                    "<tr><td>Brush / eraser: left drag</td><td>paint / erase the selected object's mask "
                    "(right drag erases with the brush)</td></tr>"
                    "<tr><td>Brush / eraser: wheel</td><td>brush size (Ctrl+wheel zooms)</td></tr>") +
                 "</table><h3>" + tr("Keys") + "</h3><table>";
  for (auto* menu : menuBar()->findChildren<QMenu*>()) {
    for (auto* a : menu->actions()) {
      if (a->shortcut().isEmpty() || a->text().isEmpty()) continue;
      html += QString("<tr><td><b>%1</b></td><td>%2</td></tr>")
                  .arg(a->shortcut().toString(QKeySequence::NativeText).toHtmlEscaped(),
                       a->text().remove('&').toHtmlEscaped());
    }
  }
  html += "</table>";
  auto* box = new QMessageBox(QMessageBox::Information, tr("Keyboard shortcuts"), html, QMessageBox::Close, this);
  box->setTextFormat(Qt::RichText);
  box->setAttribute(Qt::WA_DeleteOnClose);
  box->open();
}

void MainWindow::showAbout() {
  QMessageBox::about(this, tr("About SuperSAM Studio"),
                     tr("<b>SuperSAM Studio %1</b><p>Segment Anything as a weight-sharing supernet: pick a subnet "
                        "on the Pareto front and watch it segment live.</p>")
                         .arg(SUPERSAM_VERSION));
}

void MainWindow::showError(const QString& message) {
  m_lastError = message;
  statusBar()->showMessage(message, 15000);
  if (m_errorBox && m_errorBox->text() == message) return;  // the same error is already on screen
  if (m_errorDialogs) {
    auto* box = new QMessageBox(QMessageBox::Warning, tr("SuperSAM Studio"), message, QMessageBox::Ok, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    m_errorBox = box;
    box->open();  // window-modal, does not block the event loop
  }
}

void MainWindow::restoreSettings() {
  QSettings s;
  restoreGeometry(s.value("window/geometry").toByteArray());
  restoreState(s.value("window/state").toByteArray());
  if (s.contains("view/reference")) m_useReference->setChecked(s.value("view/reference").toBool());
  for (const QString& l : s.value("labels/list").toStringList()) {
    if (!l.trimmed().isEmpty() && m_label->findText(l) < 0) m_label->addItem(l);
  }
  if (s.contains("labels/current")) m_label->setCurrentText(s.value("labels/current").toString());
  rebuildRecentMenus();
}

void MainWindow::closeEvent(QCloseEvent* e) {
  if (!confirmDiscardObjects(tr("quit"))) {
    e->ignore();
    return;
  }
  if (m_jobs->running() && m_errorDialogs &&
      QMessageBox::question(this, tr("A job is running"),
                            tr("Quit and stop the running job? A stopped training keeps its checkpoint (resume it "
                               "later); other jobs start again from the beginning.")) != QMessageBox::Yes) {
    e->ignore();
    return;
  }
  QSettings s;
  s.setValue("window/geometry", saveGeometry());
  s.setValue("window/state", saveState());
  s.setValue("view/reference", m_useReference->isChecked());
  m_jobs->cancel();
  e->accept();
}

void MainWindow::addRecent(const QString& key, const QString& path) {
  QSettings s;
  QStringList list = s.value(key).toStringList();
  const QString abs = QFileInfo(path).absoluteFilePath();
  list.removeAll(abs);
  list.prepend(abs);
  while (list.size() > kMaxRecent) list.removeLast();
  s.setValue(key, list);
  rebuildRecentMenus();
}

void MainWindow::rebuildRecentMenus() {
  QSettings s;
  const auto fill = [this, &s](QMenu* menu, const QString& key, bool model) {
    if (!menu) return;
    menu->clear();
    for (const QString& p : s.value(key).toStringList()) {
      menu->addAction(QFileInfo(p).fileName(), this, [this, p, model] {
        if (model) {
          loadCheckpoint(p);
        } else if (QFileInfo(p).isDir()) {
          openFolder(p);
        } else {
          openImage(p);
        }
      })->setToolTip(p);
    }
    menu->setEnabled(!menu->isEmpty());
  };
  fill(m_recentImages, "recent/images", false);
  fill(m_recentModels, "recent/models", true);
}

}  // namespace supersam::ui
