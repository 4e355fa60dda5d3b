// MainWindow: the interactive session (image, model, prompts, inference requests and results).
#include <QCoreApplication>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QImageReader>
#include <QLabel>
#include <QSettings>
#include <QStandardPaths>
#include <QStatusBar>
#include <QToolButton>
#include <QUndoCommand>

#include "ui/app_paths.h"
#include "ui/main_window.h"
#include "ui/widgets/elastic_panel.h"
#include "ui/widgets/image_canvas.h"
#include "ui/widgets/pareto_plot.h"

namespace supersam::ui {

namespace {
const QStringList kImageFilters = {"*.png", "*.jpg", "*.jpeg", "*.bmp", "*.tif", "*.tiff", "*.webp"};

class PromptCommand : public QUndoCommand {
 public:
  PromptCommand(MainWindow* w, PromptSet before, PromptSet after, const QString& text)
      : QUndoCommand(text), m_window(w), m_before(std::move(before)), m_after(std::move(after)) {}
  void undo() override { m_window->applyPrompts(m_before); }
  void redo() override { m_window->applyPrompts(m_after); }

 private:
  MainWindow* m_window;
  PromptSet m_before, m_after;
};

ImageRgb toImageRgb(const QImage& in) {
  const QImage img = in.convertToFormat(QImage::Format_RGB888);
  ImageRgb out;
  out.width = img.width();
  out.height = img.height();
  out.data.resize(static_cast<size_t>(out.width) * out.height * 3);
  for (int y = 0; y < out.height; ++y) {
    std::memcpy(out.data.data() + static_cast<size_t>(y) * out.width * 3, img.constScanLine(y),
                static_cast<size_t>(out.width) * 3);
  }
  return out;
}

}  // namespace

void MainWindow::openDefaults(bool wantModel, bool wantImage) {
  const QString model = wantModel ? findAsset({"models/demo_supernet.safetensors"}) : QString();
  QString image = wantImage ? findAsset({"samples/astronaut.png"}) : QString();
  if (wantImage && image.isEmpty()) {
    const QFileInfo f(QStringLiteral(SUPERSAM_SKIMAGE_DATADIR) + "/astronaut.png");
    if (f.isFile()) image = f.absoluteFilePath();
  }
  if (!image.isEmpty()) openImage(image);
  if (!model.isEmpty()) {
    loadCheckpoint(model);
  } else if (wantModel) {
    statusBar()->showMessage(tr("No demo model installed: open a checkpoint with File > Open checkpoint"));
  }
}

bool MainWindow::openImage(const QString& path) {
  QImageReader reader(path);
  reader.setAutoTransform(true);
  const QImage img = reader.read();
  if (img.isNull()) {
    showError(tr("Cannot open image %1: %2").arg(path, reader.errorString()));
    return false;
  }
  if (!confirmDiscardObjects(tr("open %1").arg(QFileInfo(path).fileName()))) {
    m_openCancelled = true;
    return false;
  }
  m_imagePath = QFileInfo(path).absoluteFilePath();
  m_image = std::make_shared<const ImageRgb>(toImageRgb(img));
  ++m_imageSerial;
  m_canvas->setImage(img);
  m_prompts = {};
  m_undo.clear();
  m_result.reset();
  m_annotation = {};
  m_upgrades.clear();
  clearEscalationOffer();
  m_dirty = false;
  m_annotation.imageFile = QFileInfo(path).fileName().toStdString();
  m_annotation.width = img.width();
  m_annotation.height = img.height();
  refreshObjectsView();
  updateCandidates();
  setWindowTitle(tr("SuperSAM Studio - %1").arg(QFileInfo(path).fileName()));
  if (m_folder.isEmpty() || !m_folder.contains(m_imagePath)) {
    m_folder.clear();
    m_folderIndex = -1;
    addRecent("recent/images", path);
  }
  // Annotations saved earlier (beside the image, or in the user's folder when the image's is read-only) come back
  // with it, and objects never saved (the autosave copy) after them.
  const QString beside = QFileInfo(path).absolutePath() + "/" + QFileInfo(path).completeBaseName() + ".coco.json";
  const QString saved = QFileInfo::exists(beside) ? beside : defaultAnnotationPath();
  if (QFileInfo::exists(saved)) loadAnnotations(saved);
  restoreAutosave();
  requestInference();  // encode right away, so the first click only decodes
  return true;
}

bool MainWindow::openFolder(const QString& dir) {
  QDir d(dir);
  QStringList files = d.entryList(kImageFilters, QDir::Files, QDir::Name);
  if (files.isEmpty()) {
    showError(tr("No images (%1) in %2").arg(kImageFilters.join(' '), dir));
    return false;
  }
  if (!confirmDiscardObjects(tr("open the folder %1").arg(dir))) return false;
  QStringList list;
  for (const auto& f : files) list << d.absoluteFilePath(f);
  m_folder = list;
  m_folderIndex = 0;
  addRecent("recent/images", dir);
  if (openImage(m_folder.first())) {
    if (m_space.valid()) schedulePreEncode(0);
    return true;
  }
  // The first image is unreadable: the folder stays open, D moves on.
  return false;
}

void MainWindow::stepImage(int delta) {
  if (m_folder.isEmpty()) {
    statusBar()->showMessage(m_image ? tr("One image is open: D and A step through a folder (File > Open folder, "
                                          "Ctrl+Alt+O)")
                                     : tr("No folder open: File > Open folder (Ctrl+Alt+O), then D and A step "
                                          "through its images"),
                             6000);
    return;
  }
  if (m_folder.size() == 1) {
    statusBar()->showMessage(tr("This folder has one image"), 4000);
    return;
  }
  const int next = (m_folderIndex + delta + m_folder.size()) % m_folder.size();
  const int before = m_folderIndex;
  m_folderIndex = next;
  m_openCancelled = false;
  if (!openImage(m_folder[next])) {
    if (m_openCancelled) m_folderIndex = before;  // the user kept the unsaved objects: stay
    return;                                       // unreadable: said so; the next D goes past it
  }
  statusBar()->showMessage(tr("Image %1 of %2").arg(m_folderIndex + 1).arg(m_folder.size()), 3000);
}

void MainWindow::loadCheckpoint(const QString& path, const QString& archOverride) {
  m_busy = true;
  m_archOverride = archOverride;
  m_loadingModel = path;
  m_modelLabel->setText(tr("Loading %1...").arg(QFileInfo(path).fileName()));
  m_inference->worker()->postLoad(path, archOverride);
}

void MainWindow::onModelLoaded(const ModelInfo& info, const SubnetSpace& space) {
  m_modelInfo = info;
  m_space = space;
  m_elastic->setSpace(space);
  m_subnet = space.largest();
  m_loadingModel.clear();
  m_modelLabel->setText(QString::fromStdString(info.summary));
  m_modelLabel->setToolTip(QString::fromStdString(info.path));
  addRecent("recent/models", QString::fromStdString(info.path));
  m_result.reset();
  updateCandidates();
  updateParetoMarker();
  statusBar()->showMessage(tr("Model loaded: %1").arg(QString::fromStdString(info.summary)), 5000);
  for (const auto& w : info.warnings) showError(tr("Warning: %1").arg(QString::fromStdString(w)));
  reloadLatencyTable();  // also pushes the preview settings
  requestInference();
  if (!m_folder.isEmpty()) schedulePreEncode(0);
  emit modelReady(true);
}

bool MainWindow::loadSubnetString(const QString& text) {
  if (!m_space.valid()) {
    showError(tr("Open a checkpoint before loading a subnet"));
    return false;
  }
  try {
    const auto cfg = m_space.parse(text.trimmed().toStdString());
    m_elastic->setSubnet(cfg);
    onSubnetChanged(m_elastic->subnet());
    return true;
  } catch (const std::exception& e) {
    showError(QString::fromStdString(e.what()));
    return false;
  }
}

void MainWindow::onSubnetChanged(const model::ElasticConfig& cfg) {
  m_subnet = m_space.normalised(cfg);
  updateParetoMarker();
  pushPreviewSettings();
  if (!m_folder.isEmpty() && m_preEncodedFor != QString::fromStdString(m_space.toString(m_subnet))) {
    schedulePreEncode(3000);  // after the user settles on a subnet
  }
  requestInference();
}

void MainWindow::addPoint(QPointF imagePos, int label) {
  PromptSet next = m_prompts;
  next.points.push_back({static_cast<float>(imagePos.x()), static_cast<float>(imagePos.y())});
  next.labels.push_back(label);
  m_undo.push(new PromptCommand(this, m_prompts, next, label ? tr("foreground point") : tr("background point")));
}

void MainWindow::setBox(QRectF r) {
  PromptSet next = m_prompts;
  next.box = std::array<float, 4>{static_cast<float>(r.left()), static_cast<float>(r.top()),
                                  static_cast<float>(r.right()), static_cast<float>(r.bottom())};
  m_undo.push(new PromptCommand(this, m_prompts, next, tr("box")));
}

void MainWindow::clearPrompts() {
  if (m_prompts.empty()) return;
  m_undo.push(new PromptCommand(this, m_prompts, PromptSet{}, tr("clear")));
}

void MainWindow::applyPrompts(const PromptSet& prompts) {
  m_prompts = prompts;
  clearEscalationOffer();
  m_canvas->setPrompts(prompts);
  if (prompts.empty()) {
    m_result.reset();
    m_canvas->clearCurrentMask();
    updateCandidates();
  }
  requestInference();
}

void MainWindow::requestInference(bool measureLatency) {
  if (!m_space.valid() || !m_image) return;
  InferenceRequest req;
  req.id = m_nextRequest++;
  req.image = m_image;
  req.imageSerial = m_imageSerial;
  req.imagePath = m_imagePath.toStdString();
  req.subnet = m_subnet;
  req.prompts = m_prompts;
  req.withReference = m_useReference->isChecked();
  req.measureLatency = measureLatency && m_measureLatency;
  m_requestStart[req.id] = m_requestClock.elapsed();
  m_inference->worker()->post(std::move(req));
}

void MainWindow::onResult(const PredictionResult& r) {
  if (!r.preview) upgradePreviewObjects(r);
  if (r.requestId < m_shownRequest) return;  // an older answer arriving late
  // The answer to prompts that were accepted (or cleared) meanwhile: nothing pending to show.
  if (m_prompts.empty() && !r.masks.empty()) return;
  if (r.requestId != m_shownRequest || r.preview) clearEscalationOffer();
  m_shownRequest = r.requestId;
  const auto it = m_requestStart.find(r.requestId);
  const qint64 roundTrip = it == m_requestStart.end() ? -1 : m_requestClock.elapsed() - it->second;
  m_requestStart.erase(m_requestStart.begin(), m_requestStart.upper_bound(r.requestId));
  if (r.masks.empty()) {
    m_result.reset();
    m_canvas->clearCurrentMask();
  } else {
    m_result = r;
    m_candidate = r.best;
  }
  updateCandidates();
  updateCurrentOverlay();
  m_elastic->setAgreement(r.masks.empty() ? -1 : r.agreementIoU);
  QString timing;
  if (r.encodedFromBlock >= 0) {
    timing += r.encodedFromBlock == 0 ? tr("encode %1 ms").arg(r.encodeMs, 0, 'f', 1)
                                      : tr("re-encode from block %1: %2 ms")
                                            .arg(r.encodedFromBlock)
                                            .arg(r.encodeMs, 0, 'f', 1);
  }
  if (!r.masks.empty()) {
    if (!timing.isEmpty()) timing += ", ";
    timing += tr("decode %1 ms").arg(r.decodeMs, 0, 'f', 1);
  }
  if (r.preview) {
    const double previewM = m_space.figures(m_space.parse(r.subnet)).params / 1e6;
    timing = r.sinceImageMs >= 0
                 ? tr("PREVIEW (%1 M parameters): first mask after %2 ms; the chosen subnet is encoding...")
                       .arg(previewM, 0, 'f', 2)
                       .arg(r.sinceImageMs, 0, 'f', 0)
                 : tr("PREVIEW (%1 M parameters): decoded in %2 ms; the chosen subnet is encoding...")
                       .arg(previewM, 0, 'f', 2)
                       .arg(r.decodeMs, 0, 'f', 0);
  } else if (r.sinceImageMs >= 0) {
    if (r.fromCache) timing = tr("embedding from the cache (pre-encoded)") + (timing.isEmpty() ? "" : ", " + timing);
    timing += tr(" | image ready after %1 ms").arg(r.sinceImageMs, 0, 'f', 0);
  }
  if (roundTrip >= 0) timing += tr(" | shown after %1 ms").arg(roundTrip);
  m_timing->setText(timing);
  statusBar()->clearMessage();
  emit resultShown();
}

void MainWindow::upgradePreviewObjects(const PredictionResult& r) {
  const auto it = m_upgrades.find(r.requestId);
  if (it == m_upgrades.end()) return;
  const PreviewUpgrade u = it->second;
  m_upgrades.erase(m_upgrades.begin(), std::next(it));
  if (r.masks.empty()) return;
  for (auto& o : m_annotation.objects) {
    // Still the object accepted from the preview (not deleted, re-prompted or edited since).
    if (o.prompts == u.prompts && o.subnet == u.previewSubnet) {
      const int c = std::clamp(u.candidate, 0, static_cast<int>(r.masks.size()) - 1);
      o.mask = r.masks[c];
      o.score = r.iou[c];
      o.subnet = r.subnet;
      objectsChanged();
      statusBar()->showMessage(tr("The object's mask now comes from the chosen subnet"), 4000);
      return;
    }
  }
}

void MainWindow::selectCandidate(int i) {
  if (!m_result || i < 0 || i >= static_cast<int>(m_result->masks.size())) return;
  m_candidate = i;
  updateCandidates();
  updateCurrentOverlay();
}

void MainWindow::updateCandidates() {
  m_candidatesLabel->setText(m_result && m_result->preview
                                 ? tr("Mask candidates of the PREVIEW (predicted IoU; the chosen subnet follows):")
                                 : tr("Mask candidates (predicted IoU):"));
  for (int i = 0; i < 3; ++i) {
    auto* b = m_candidateButtons[i];
    const bool has = m_result && i < static_cast<int>(m_result->masks.size());
    b->setEnabled(has);
    b->setText(has ? QString("%1: %2").arg(i + 1).arg(m_result->iou[i], 0, 'f', 3) : QString("%1: -").arg(i + 1));
    QSignalBlocker block(b);
    b->setChecked(has && i == m_candidate);
  }
}

void MainWindow::updateCurrentOverlay() {
  if (!m_result || m_result->masks.empty()) {
    m_canvas->clearCurrentMask();
    return;
  }
  const int i = std::clamp(m_candidate, 0, static_cast<int>(m_result->masks.size()) - 1);
  const auto c = objectColor(static_cast<int>(m_annotation.objects.size()));
  m_canvas->setCurrentMask(m_result->masks[i], QColor(c[0], c[1], c[2]));
  if (m_elastic->showDifference() && !m_result->reference.empty()) {
    m_canvas->setDifference(differenceOverlay(m_result->masks[i], m_result->reference, QColor(255, 0, 255)));
  } else {
    m_canvas->setDifference({});
  }
}

void MainWindow::updateParetoMarker() {
  if (!m_space.valid()) return;
  const auto f = m_space.figures(m_subnet);
  const std::string s = m_space.toString(m_subnet);
  double miou = std::nan("");
  for (const auto& p : m_pareto->points()) {
    if (p.subnet == s) miou = p.miou;
  }
  m_pareto->setCurrent(f.params / 1e6, miou, QString::fromStdString(s), predictedLatencyMs(m_subnet));
}

void MainWindow::openImageDialog() {
  QSettings s;
  const QString path = QFileDialog::getOpenFileName(
      this, tr("Open image"), s.value("dirs/images").toString(),
      tr("Images (%1);;All files (*)").arg(kImageFilters.join(' ')));
  if (path.isEmpty()) return;
  s.setValue("dirs/images", QFileInfo(path).absolutePath());
  openImage(path);
}

void MainWindow::openFolderDialog() {
  QSettings s;
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Open folder"), s.value("dirs/images").toString());
  if (dir.isEmpty()) return;
  s.setValue("dirs/images", dir);
  openFolder(dir);
}

void MainWindow::openCheckpointDialog() {
  QSettings s;
  const QString path = QFileDialog::getOpenFileName(
      this, tr("Open checkpoint"), s.value("dirs/models").toString(),
      tr("Checkpoints (*.pth *.pt *.safetensors);;All files (*)"));
  if (path.isEmpty()) return;
  s.setValue("dirs/models", QFileInfo(path).absolutePath());
  loadCheckpoint(path);
}

}  // namespace supersam::ui
