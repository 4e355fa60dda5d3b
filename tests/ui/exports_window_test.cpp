// The studio's annotation exports: the open image's objects (unsaved ones included) and the saved annotations of
// the folder's other images, as YOLO, Pascal VOC and COCO polygons, one class list per destination; read back with
// the formats' readers and compared with the masks.
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSettings>
#include <gtest/gtest.h>

#include "tests/ui/ui_test_support.h"
#include "ui/app_paths.h"
#include "ui/engine/annotation_exports.h"
#include "ui/main_window.h"

namespace supersam::ui {
namespace {

class ExportsWindowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = QString::fromStdString(test::tempDir("ui-exports"));
    QDir(dir + "/imgs").removeRecursively();
    QDir().mkpath(dir + "/imgs");
    ASSERT_TRUE(test::syntheticImage().save(dir + "/imgs/a.png"));
    ASSERT_TRUE(test::syntheticImage(120, 90).save(dir + "/imgs/b.png"));
    QDir(userDataDir("autosave")).removeRecursively();
    w = std::make_unique<MainWindow>();
    w->setErrorDialogsEnabled(false);
    w->setFastPreview(false);
    QSignalSpy ready(w.get(), &MainWindow::modelReady);
    w->loadCheckpoint(QString::fromStdString(test::tinyCheckpoint()));
    ASSERT_TRUE(ready.wait(30000));
    ASSERT_TRUE(w->openFolder(dir + "/imgs"));
  }
  void annotate(const QString& label, QPointF at) {
    w->rememberLabel(label, true);
    w->addPoint(at, 1);
    ASSERT_TRUE(test::waitUntil([&] { return w->lastResult() && !w->busy() && !w->lastResult()->masks.empty(); }));
    w->acceptObject();
  }
  bool exportAndWait(ExportFormat f, const QString& out, bool folder) {
    QSignalSpy done(w.get(), &MainWindow::exportDone);
    if (!w->exportAnnotations(f, out, folder)) return false;
    return done.wait(30000) && done.first().at(0).toBool();
  }
  QString dir;
  std::unique_ptr<MainWindow> w;
};

TEST_F(ExportsWindowTest, TheFolderExportsAsYoloVocAndCocoPolygonsWithOneClassList) {
  annotate("disc", {75, 50});
  const MaskU8 aMask = w->objects()[0].mask;
  ASSERT_TRUE(w->saveAnnotations(annotationFileFor(dir + "/imgs/a.png")));
  ASSERT_TRUE(w->openImage(dir + "/imgs/b.png"));
  annotate("blob", {60, 45});
  const MaskU8 bMask = w->objects()[0].mask;  // not saved: exported as it is in the window

  const QString yolo = dir + "/out-yolo";
  QDir(yolo).removeRecursively();
  ASSERT_TRUE(exportAndWait(ExportFormat::Yolo, yolo, true)) << w->lastError().toStdString();
  const LabelSet labels = LabelSet::load((yolo + "/classes.txt").toStdString());
  ASSERT_EQ(labels.size(), 2u);
  EXPECT_EQ(labels.id("disc"), 0);
  EXPECT_EQ(labels.id("blob"), 1);
  EXPECT_TRUE(QFileInfo(yolo + "/images/a.png").isFile());
  EXPECT_TRUE(QFileInfo(yolo + "/images/b.png").isFile());
  const AnnotationDoc a = loadYoloTxt((yolo + "/labels/a.txt").toStdString(), 150, 100, labels);
  ASSERT_EQ(a.objects.size(), 1u);
  EXPECT_EQ(a.objects[0].label, "disc");
  EXPECT_GT(maskIoU(a.objects[0].mask, aMask), 0.95);
  const AnnotationDoc b = loadYoloTxt((yolo + "/labels/b.txt").toStdString(), 120, 90, labels);
  ASSERT_EQ(b.objects.size(), 1u);
  EXPECT_EQ(b.objects[0].label, "blob");
  EXPECT_GT(maskIoU(b.objects[0].mask, bMask), 0.95);

  // VOC: exact masks (no polygons), the same class ids.
  const QString voc = dir + "/out-voc";
  QDir(voc).removeRecursively();
  ASSERT_TRUE(exportAndWait(ExportFormat::Voc, voc, true));
  const AnnotationDoc va = loadVoc((voc + "/SegmentationClass/a.png").toStdString(),
                                   (voc + "/SegmentationObject/a.png").toStdString(), labels);
  ASSERT_EQ(va.objects.size(), 1u);
  EXPECT_EQ(va.objects[0].mask.data, aMask.data);
  EXPECT_EQ(va.objects[0].label, "disc");
  EXPECT_TRUE(QFileInfo(voc + "/JPEGImages/b.png").isFile());

  // COCO polygons of the open image only, at the exact-outline density: the masks come back exactly.
  QSettings().setValue("export/tolerance", 0.0);
  const QString coco = dir + "/out-coco";
  QDir(coco).removeRecursively();
  ASSERT_TRUE(exportAndWait(ExportFormat::CocoPolygons, coco, false));
  EXPECT_FALSE(QFileInfo(coco + "/a.json").exists());
  const AnnotationDoc cb = loadCocoJson((coco + "/b.json").toStdString());
  ASSERT_EQ(cb.objects.size(), 1u);
  // Exact but for rings under one pixel of area (lone pixels, pinholes), which the tracer drops by design.
  size_t differ = 0;
  for (size_t i = 0; i < bMask.data.size(); ++i) differ += cb.objects[0].mask.data[i] != bMask.data[i];
  EXPECT_LE(differ, 8u) << "pixels differ";
  EXPECT_GT(maskIoU(cb.objects[0].mask, bMask), 0.999);
  QSettings().remove("export/tolerance");
  w->setUnsavedObjectsAnswer(QMessageBox::Discard);
}

TEST_F(ExportsWindowTest, AFolderExportWithoutAFolderAndAnUnwritableDestinationAreReported) {
  annotate("disc", {75, 50});
  MainWindow lone;
  lone.setErrorDialogsEnabled(false);
  EXPECT_FALSE(lone.exportAnnotations(ExportFormat::Yolo, dir + "/x", false));
  EXPECT_TRUE(lone.lastError().contains("No image open"));
  // A destination below a file cannot be made: the error names it.
  QFile f(dir + "/a-file");
  ASSERT_TRUE(f.open(QIODevice::WriteOnly));
  f.close();
  QSignalSpy done(w.get(), &MainWindow::exportDone);
  ASSERT_TRUE(w->exportAnnotations(ExportFormat::Yolo, dir + "/a-file/sub", false));
  ASSERT_TRUE(done.wait(30000));
  EXPECT_FALSE(done.first().at(0).toBool());
  EXPECT_TRUE(w->lastError().contains("a-file")) << w->lastError().toStdString();
  w->setUnsavedObjectsAnswer(QMessageBox::Discard);
}

}  // namespace
}  // namespace supersam::ui
