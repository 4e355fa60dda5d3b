// MainWindow: the object list, annotation files, results databases and subnet export.
#include <QCryptographicHash>
#include <QFile>
#include <QFileDialog>
#include <QMessageBox>
#include <QFileInfo>
#include <QListWidget>
#include <QComboBox>
#include <QPainter>
#include <QSettings>
#include <QStatusBar>

#include "core/util/error.h"
#include "ui/app_paths.h"
#include "ui/main_window.h"
#include "ui/widgets/elastic_panel.h"
#include "ui/widgets/image_canvas.h"
#include "ui/widgets/pareto_plot.h"

namespace supersam::ui {

namespace {
QIcon colorIcon(const std::array<uint8_t, 3>& c) {
  QPixmap pm(14, 14);
  pm.fill(QColor(c[0], c[1], c[2]));
  return QIcon(pm);
}
}  // namespace

void MainWindow::acceptObject() {
  if (!m_result || m_result->masks.empty()) {
    statusBar()->showMessage(tr("Nothing to accept: click on the image to make a mask first"), 4000);
    return;
  }
  AnnotationObject o;
  o.label = m_label->currentText().trimmed().toStdString();
  if (o.label.empty()) o.label = "object";
  rememberLabel(QString::fromStdString(o.label), true);
  o.color = objectColor(static_cast<int>(m_annotation.objects.size()));
  const int i = std::clamp(m_candidate, 0, static_cast<int>(m_result->masks.size()) - 1);
  o.mask = m_result->masks[i];
  o.score = m_result->iou[i];
  o.prompts = m_prompts;
  o.subnet = m_result->subnet;
  // Accepted from a preview: the chosen subnet's mask replaces it when it arrives (onResult), unless edited.
  if (m_result->preview) m_upgrades[m_shownRequest] = {o.prompts, o.subnet, i};
  m_annotation.objects.push_back(std::move(o));
  objectsChanged();
  // The label stays selected for the next object; the prompts start afresh.
  m_prompts = {};
  m_undo.clear();
  m_canvas->setPrompts(m_prompts);
  m_result.reset();
  clearEscalationOffer();
  m_canvas->clearCurrentMask();
  updateCandidates();
}

void MainWindow::refreshObjectsView() {
  QSignalBlocker block(m_objects);
  m_objects->clear();
  QVector<QImage> overlays;
  for (const auto& o : m_annotation.objects) {
    const QString label = QString::fromStdString(o.label);
    const QString text = o.name.empty() ? label : QString::fromStdString(o.name) + "  (" + label + ")";
    auto* item = new QListWidgetItem(colorIcon(o.color), text, m_objects);
    item->setToolTip(tr("%1: %2 pixels, predicted IoU %3\nDouble-click to name it; \"Set label\" changes its "
                        "category")
                         .arg(label)
                         .arg(o.mask.area())
                         .arg(o.score, 0, 'f', 3));
    overlays.push_back(maskOverlay(o.mask, QColor(o.color[0], o.color[1], o.color[2]), 90));
  }
  m_canvas->setObjectOverlays(overlays);
}

void MainWindow::objectsChanged() {
  m_dirty = true;
  refreshObjectsView();
  const QString autosave = autosavePath();
  if (autosave.isEmpty()) return;
  try {
    saveCocoJson(m_annotation, autosave.toStdString());
  } catch (const std::exception& e) {
    statusBar()->showMessage(tr("Autosave failed: %1").arg(e.what()), 8000);
  }
}

void MainWindow::renameObject(int i, const QString& name) {
  if (i < 0 || i >= static_cast<int>(m_annotation.objects.size())) return;
  const std::string n = name.trimmed().toStdString();
  if (n == m_annotation.objects[i].name) return;
  m_annotation.objects[i].name = n;
  objectsChanged();
}

void MainWindow::relabelObject(int i, const QString& label) {
  if (i < 0 || i >= static_cast<int>(m_annotation.objects.size())) return;
  const std::string l = label.trimmed().toStdString();
  if (l.empty() || l == m_annotation.objects[i].label) return;
  m_annotation.objects[i].label = l;
  rememberLabel(QString::fromStdString(l), false);
  objectsChanged();
}

void MainWindow::rememberLabel(const QString& label, bool current) {
  const QString l = label.trimmed();
  if (l.isEmpty()) return;
  if (m_label->findText(l) < 0) m_label->addItem(l);
  if (current) m_label->setCurrentText(l);
  // The labels of every session stay offered, and the one in use is selected at the next launch.
  QStringList all;
  for (int k = 0; k < m_label->count(); ++k) all << m_label->itemText(k);
  QSettings s;
  s.setValue("labels/list", all);
  if (current) s.setValue("labels/current", l);
}

void MainWindow::deleteObject(int i) {
  if (i < 0 || i >= static_cast<int>(m_annotation.objects.size())) return;
  m_annotation.objects.erase(m_annotation.objects.begin() + i);
  objectsChanged();
}

QString MainWindow::autosavePath() const {
  if (m_imagePath.isEmpty()) return {};
  const QByteArray key = QCryptographicHash::hash(m_imagePath.toUtf8(), QCryptographicHash::Sha1).toHex().left(16);
  return userDataDir("autosave") + "/" + QFileInfo(m_imagePath).completeBaseName() + "-" + key + ".coco.json";
}

QString MainWindow::defaultAnnotationPath() const { return annotationFileFor(m_imagePath); }

void MainWindow::restoreAutosave() {
  const QString autosave = autosavePath();
  const QFileInfo a(autosave);
  if (autosave.isEmpty() || !a.isFile()) return;
  // The autosave is newer than the saved file: it holds work the user never saved.
  const QFileInfo saved(defaultAnnotationPath());
  if (saved.isFile() && saved.lastModified() >= a.lastModified()) {
    QFile::remove(autosave);
    return;
  }
  try {
    AnnotationDoc doc = loadCocoJson(autosave.toStdString());
    if (doc.width != m_annotation.width || doc.height != m_annotation.height) return;
    m_annotation.objects = std::move(doc.objects);
    for (const auto& o : m_annotation.objects) {
      if (m_label->findText(QString::fromStdString(o.label)) < 0) m_label->addItem(QString::fromStdString(o.label));
    }
    m_dirty = true;
    refreshObjectsView();
    statusBar()->showMessage(tr("Restored %1 unsaved objects of this image (autosave); Ctrl+S saves them")
                                 .arg(m_annotation.objects.size()),
                             10000);
  } catch (const std::exception& e) {
    statusBar()->showMessage(tr("Autosave of this image unreadable: %1").arg(e.what()), 8000);
  }
}

bool MainWindow::confirmDiscardObjects(const QString& action) {
  if (!m_dirty) return true;
  ++m_unsavedAsked;
  const QString target = defaultAnnotationPath();
  int answer = m_unsavedAnswer;
  if (answer == 0 && !m_errorDialogs) answer = QMessageBox::Save;  // batch modes never drop work
  if (answer == 0) {
    QMessageBox box(QMessageBox::Question, tr("Unsaved objects"),
                    m_annotation.objects.size() == 1
                        ? tr("1 object of %1 is not saved.").arg(QFileInfo(m_imagePath).fileName())
                        : tr("%1 objects of %2 are not saved.")
                              .arg(m_annotation.objects.size())
                              .arg(QFileInfo(m_imagePath).fileName()),
                    QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, this);
    box.setInformativeText(tr("Save them to %1 before you %2?").arg(target, action));
    box.setDefaultButton(QMessageBox::Save);
    answer = box.exec();
  }
  if (answer == QMessageBox::Save) return saveAnnotations(target);
  if (answer == QMessageBox::Discard) {
    QFile::remove(autosavePath());
    m_dirty = false;
    return true;
  }
  return false;
}

bool MainWindow::saveAnnotations(const QString& jsonPath) {
  try {
    if (m_annotation.width <= 0) throw util::Error("no image open: nothing to save");
    saveCocoJson(m_annotation, jsonPath.toStdString());
    const QFileInfo fi(jsonPath);
    QString stem = fi.completeBaseName();
    if (stem.endsWith(".coco")) stem.chop(5);
    const QString png = fi.absolutePath() + "/" + stem + "_instances.png";
    saveInstancePng(m_annotation, png.toStdString());
    m_dirty = false;
    QFile::remove(autosavePath());
    statusBar()->showMessage(tr("Saved %1 objects to %2 and %3")
                                 .arg(m_annotation.objects.size())
                                 .arg(fi.fileName(), QFileInfo(png).fileName()),
                             5000);
    return true;
  } catch (const std::exception& e) {
    showError(tr("Could not save annotations: %1").arg(e.what()));
    return false;
  }
}

bool MainWindow::loadAnnotations(const QString& jsonPath) {
  if (!confirmDiscardObjects(tr("open %1").arg(QFileInfo(jsonPath).fileName()))) return false;
  try {
    AnnotationDoc doc = loadCocoJson(jsonPath.toStdString(), m_annotation.imageFile);
    if (m_annotation.width > 0 && (doc.width != m_annotation.width || doc.height != m_annotation.height)) {
      throw util::Error(jsonPath.toStdString() + " is for a " + std::to_string(doc.width) + "x" +
                        std::to_string(doc.height) + " image, the open image is " +
                        std::to_string(m_annotation.width) + "x" + std::to_string(m_annotation.height));
    }
    if (m_annotation.width <= 0) m_annotation.imageFile = doc.imageFile;
    m_annotation.width = doc.width;
    m_annotation.height = doc.height;
    m_annotation.objects = std::move(doc.objects);
    for (const auto& o : m_annotation.objects) {
      if (m_label->findText(QString::fromStdString(o.label)) < 0) m_label->addItem(QString::fromStdString(o.label));
    }
    m_dirty = false;
    refreshObjectsView();
    statusBar()->showMessage(tr("Loaded %1 objects from %2").arg(m_annotation.objects.size()).arg(jsonPath), 5000);
    return true;
  } catch (const std::exception& e) {
    showError(tr("Could not open annotations: %1").arg(e.what()));
    return false;
  }
}

void MainWindow::saveAnnotationsDialog() {
  const QString suggestion = defaultAnnotationPath();
  const QString path =
      QFileDialog::getSaveFileName(this, tr("Save annotations (COCO JSON + instance PNG)"), suggestion,
                                   tr("COCO JSON (*.json)"));
  if (!path.isEmpty()) saveAnnotations(path);
}

void MainWindow::loadAnnotationsDialog() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Open annotations"), QFileInfo(m_imagePath).absolutePath(),
                                                    tr("COCO JSON (*.json)"));
  if (!path.isEmpty()) loadAnnotations(path);
}

bool MainWindow::openResults(const QString& dbPath) {
  try {
    m_results = readResults(dbPath.toStdString());
    m_resultsPath = dbPath;
    for (auto& p : m_results) p.predictedMs = m_latency ? m_latency->predictMs(p.subnet) : -1;
    m_pareto->setPoints(m_results);
    pushPreviewSettings();
    const int best = bestPoint(m_results);
    if (best >= 0 && m_space.valid()) {
      try {
        m_elastic->setBestFound(m_space.parse(m_results[best].subnet));
      } catch (const std::exception&) {
        // the database belongs to another model: no preset
      }
    }
    updateParetoMarker();
    addRecent("recent/results", dbPath);
    QSettings().setValue("results/last", QFileInfo(dbPath).absoluteFilePath());
    return true;
  } catch (const std::exception& e) {
    showError(tr("Could not open results: %1").arg(e.what()));
    return false;
  }
}

bool MainWindow::restoreResults(bool demoModel) {
  const QString last = QSettings().value("results/last").toString();
  if (!last.isEmpty() && QFileInfo(last).isFile()) return openResults(last);
  const QString demo = demoModel ? findAsset({"models/demo_results.csv"}) : QString();
  if (demo.isEmpty()) return false;
  if (!openResults(demo)) return false;
  QSettings().remove("results/last");  // the shipped results are the fallback, not a choice to remember
  return true;
}

void MainWindow::openResultsDialog() {
  QSettings s;
  const QString path = QFileDialog::getOpenFileName(this, tr("Open results database"), s.value("dirs/results").toString(),
                                                    tr("Results (*.sqlite *.db *.sqlite3 *.csv);;All files (*)"));
  if (path.isEmpty()) return;
  s.setValue("dirs/results", QFileInfo(path).absolutePath());
  openResults(path);
}

void MainWindow::exportSubnet() {
  if (!m_space.valid()) {
    showError(tr("Open a checkpoint before exporting a subnet"));
    return;
  }
  const QString path = QFileDialog::getSaveFileName(
      this, tr("Export subnet as a standalone model"),
      QString("subnet-%1.safetensors").arg(QString::fromStdString(m_space.hash(m_subnet))),
      tr("safetensors (*.safetensors)"));
  if (path.isEmpty()) return;
  m_inference->worker()->postExport(m_subnet, path);
}

void MainWindow::exportSubnetOnnx() {
  if (!m_space.valid()) {
    showError(tr("Open a checkpoint before exporting a subnet"));
    return;
  }
  const QString dir = QFileDialog::getExistingDirectory(
      this, tr("Export subnet %1 as ONNX into (encoder.onnx, decoder.onnx, X-AnyLabeling config)")
                .arg(QString::fromStdString(m_space.hash(m_subnet))));
  if (dir.isEmpty()) return;
  m_inference->worker()->postExport(m_subnet, dir, /*onnx=*/true);
}

}  // namespace supersam::ui
