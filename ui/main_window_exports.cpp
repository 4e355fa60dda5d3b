// MainWindow: annotation exports for training tools (COCO polygons, YOLO segmentation, Pascal VOC PNGs) of the open
// image or of every annotated image of the open folder, in the background, with one class list per destination.
#include <QAction>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QMenu>
#include <QSettings>
#include <QStatusBar>

#include "core/util/error.h"
#include "ui/app_paths.h"
#include "ui/engine/annotation_exports.h"
#include "ui/main_window.h"
#include "ui/widgets/background_task.h"

namespace supersam::ui {

namespace {
const char* formatKey(ExportFormat f) {
  switch (f) {
    case ExportFormat::CocoPolygons: return "coco-polygons";
    case ExportFormat::Yolo: return "yolo";
    case ExportFormat::Voc: return "voc";
  }
  return "";
}

QString formatName(ExportFormat f) {
  switch (f) {
    case ExportFormat::CocoPolygons: return QObject::tr("COCO polygons");
    case ExportFormat::Yolo: return QObject::tr("YOLO segmentation");
    case ExportFormat::Voc: return QObject::tr("Pascal VOC PNGs");
  }
  return {};
}

// Copies the image beside the labels where the format expects it (YOLO images/, VOC JPEGImages/), once.
void copyImage(const QString& image, const QString& folder) {
  if (image.isEmpty() || !QFileInfo(image).isFile()) return;
  QDir().mkpath(folder);
  const QString target = folder + "/" + QFileInfo(image).fileName();
  if (QFileInfo(target).exists()) return;
  const QString tmp = target + ".part";
  QFile::remove(tmp);
  if (!QFile::copy(image, tmp) || !QFile::rename(tmp, target)) {
    QFile::remove(tmp);
    throw util::Error("cannot copy " + image.toStdString() + " to " + target.toStdString());
  }
}
}  // namespace

QString annotationFileFor(const QString& imagePath) {
  if (imagePath.isEmpty()) return {};
  const QFileInfo image(imagePath);
  const QString name = image.completeBaseName() + ".coco.json";
  const QFileInfo folder(image.absolutePath());
  const QFileInfo beside(image.absolutePath() + "/" + name);
  if (folder.isWritable() && (!beside.exists() || beside.isWritable())) return beside.absoluteFilePath();
  return userDataDir("annotations") + "/" + name;
}

void MainWindow::buildExportMenu(QMenu* file) {
  auto* menu = file->addMenu(tr("E&xport annotations"));
  for (const ExportFormat f : {ExportFormat::CocoPolygons, ExportFormat::Yolo, ExportFormat::Voc}) {
    menu->addAction(tr("This image as %1...").arg(formatName(f)), this, [this, f] { exportAnnotationsDialog(f, false); });
    menu->addAction(tr("The folder's annotated images as %1...").arg(formatName(f)), this,
                    [this, f] { exportAnnotationsDialog(f, true); });
    menu->addSeparator();
  }
  menu->addAction(tr("Polygon &density..."), this, [this] {
    bool ok = false;
    const double t = QInputDialog::getDouble(
        this, tr("Polygon density"),
        tr("Douglas-Peucker tolerance in pixels for COCO polygons and YOLO\n"
           "(0 = the exact pixel outline; larger = fewer vertices; holes are kept):"),
        QSettings().value("export/tolerance", 0.5).toDouble(), 0.0, 50.0, 2, &ok);
    if (ok) QSettings().setValue("export/tolerance", t);
  });
  m_exportTask = new BackgroundTask("export", this);
  statusBar()->addPermanentWidget(m_exportTask);
  connect(m_exportTask, &BackgroundTask::finished, this, [this](bool ok, bool cancelled, const QString& msg) {
    if (ok) {
      statusBar()->showMessage(msg, 10000);
    } else if (cancelled) {
      statusBar()->showMessage(tr("Export cancelled: the files written so far are complete ones"), 8000);
    } else {
      showError(tr("Export failed: %1").arg(msg));
    }
    emit exportDone(ok);
  });
}

void MainWindow::exportAnnotationsDialog(ExportFormat format, bool wholeFolder) {
  QSettings s;
  const QString key = QString("export/dir-") + formatKey(format);
  const QString start = s.value(key, QFileInfo(m_imagePath).absolutePath() + "/" + formatKey(format)).toString();
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Export %1 into").arg(formatName(format)), start);
  if (dir.isEmpty()) return;
  s.setValue(key, dir);
  exportAnnotations(format, dir, wholeFolder);
}

bool MainWindow::exportAnnotations(ExportFormat format, const QString& dir, bool wholeFolder) {
  if (m_annotation.width <= 0) {
    showError(tr("No image open: nothing to export"));
    return false;
  }
  if (wholeFolder && m_folder.isEmpty()) {
    showError(tr("No folder open (File > Open folder): \"the folder's annotated images\" exports a folder"));
    return false;
  }
  // The open image's objects as they are now (saved or not), the other images' from their saved files.
  struct Item {
    QString image;
    QString annotations;  // empty: `doc` is the open image's
  };
  std::vector<Item> items;
  if (wholeFolder) {
    for (const QString& img : m_folder) {
      if (img == m_imagePath) {
        items.push_back({img, {}});
      } else if (QFileInfo::exists(annotationFileFor(img))) {
        items.push_back({img, annotationFileFor(img)});
      }
    }
  } else {
    items.push_back({m_imagePath, {}});
  }
  const AnnotationDoc current = m_annotation;
  data::PolygonOptions options;
  options.tolerance = QSettings().value("export/tolerance", 0.5).toDouble();
  const std::string folder = dir.toStdString();
  const bool started = m_exportTask->start(
      tr("Exporting %1").arg(formatName(format)),
      [items, current, options, folder, format, dir](JobContext& ctx) -> QString {
        LabelSet labels = LabelSet::loadOrEmpty(folder + "/classes.txt");
        size_t objects = 0;
        for (size_t k = 0; k < items.size(); ++k) {
          ctx.control().check();
          ctx.control().report(static_cast<long long>(k), static_cast<long long>(items.size()),
                               QFileInfo(items[k].image).fileName().toStdString());
          const AnnotationDoc doc =
              items[k].annotations.isEmpty()
                  ? current
                  : loadCocoJson(items[k].annotations.toStdString(), QFileInfo(items[k].image).fileName().toStdString());
          objects += doc.objects.size();
          const std::string stem = QFileInfo(QString::fromStdString(doc.imageFile)).completeBaseName().toStdString();
          switch (format) {
            case ExportFormat::CocoPolygons:
              QDir().mkpath(dir);
              saveCocoPolygonJson(doc, folder + "/" + stem + ".json", labels, options);
              break;
            case ExportFormat::Yolo:
              exportYolo(doc, folder, labels, options);
              copyImage(items[k].image, dir + "/images");
              break;
            case ExportFormat::Voc:
              exportVoc(doc, folder, labels);
              copyImage(items[k].image, dir + "/JPEGImages");
              break;
          }
        }
        ctx.control().report(static_cast<long long>(items.size()), static_cast<long long>(items.size()));
        return QObject::tr("Exported %1 images (%2 objects, %3 classes) as %4 to %5")
            .arg(items.size())
            .arg(objects)
            .arg(labels.size())
            .arg(formatName(format), dir);
      });
  if (!started) {
    showError(tr("An export is already running: wait for it or cancel it in the status bar"));
    return false;
  }
  return true;
}

}  // namespace supersam::ui
