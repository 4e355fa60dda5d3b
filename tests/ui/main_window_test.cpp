// The main window end to end on the offscreen platform: load the tiny model and an image, click, see a mask; move
// the sliders, see the subnet, figures and mask change; click a Pareto point; undo/redo; accept objects and save
// and reopen annotations.
#include <QApplication>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMessageBox>
#include <QStatusBar>
#include <QLineEdit>
#include <QListWidget>
#include <QSlider>
#include <gtest/gtest.h>
#include <qcustomplot.h>

#include "core/search/pareto.h"
#include "tests/ui/ui_test_support.h"
#include "ui/app_paths.h"
#include "ui/main_window.h"
#include "ui/widgets/elastic_panel.h"
#include "ui/widgets/image_canvas.h"
#include "ui/widgets/pareto_plot.h"

namespace supersam::ui {
namespace {

class MainWindowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = QString::fromStdString(test::tempDir("ui-main-window"));
    imagePath = dir + "/disc.png";
    ASSERT_TRUE(test::syntheticImage().save(imagePath));
    QDir(userDataDir("autosave")).removeRecursively();  // no unsaved objects of an earlier test come back
    w = std::make_unique<MainWindow>();
    w->setErrorDialogsEnabled(false);
    w->resize(1200, 800);
    w->show();
    QSignalSpy ready(w.get(), &MainWindow::modelReady);
    w->loadCheckpoint(QString::fromStdString(test::tinyCheckpoint()));
    ASSERT_TRUE(ready.wait(30000)) << w->lastError().toStdString();
    ASSERT_TRUE(w->modelLoaded());
    ASSERT_TRUE(w->openImage(imagePath));
    // The first request encodes the image without prompts.
    ASSERT_TRUE(test::waitUntil([&] { return !w->busy(); }));
  }

  // Clicks at image pixel (x, y) on the canvas and waits for a mask.
  bool clickAndWait(double x, double y, Qt::MouseButton button = Qt::LeftButton) {
    const size_t before = w->prompts().points.size();
    const QPoint at = w->canvas()->imageToWidget(QPointF(x, y)).toPoint();
    QTest::mouseClick(w->canvas(), button, Qt::NoModifier, at);
    if (w->prompts().points.size() != before + 1) return false;
    return test::waitUntil([&] { return w->lastResult() && !w->busy() && !w->lastResult()->masks.empty(); });
  }

  QString dir, imagePath;
  std::unique_ptr<MainWindow> w;
};

TEST_F(MainWindowTest, ClickMakesAMaskWithThreeCandidates) {
  ASSERT_TRUE(clickAndWait(75, 50));
  EXPECT_EQ(w->prompts().labels.back(), 1);
  ASSERT_TRUE(w->lastResult().has_value());
  EXPECT_EQ(w->lastResult()->masks.size(), 3u);
  EXPECT_EQ(w->lastResult()->masks[0].width, 150);
  EXPECT_TRUE(w->canvas()->hasCurrentMask());
  // Right click = background point.
  ASSERT_TRUE(clickAndWait(10, 10, Qt::RightButton));
  EXPECT_EQ(w->prompts().labels.back(), 0);
  EXPECT_EQ(w->prompts().points.size(), 2u);
}

TEST_F(MainWindowTest, DragDrawsABox) {
  QSignalSpy shown(w.get(), &MainWindow::resultShown);
  const QPoint a = w->canvas()->imageToWidget(QPointF(40, 20)).toPoint();
  const QPoint b = w->canvas()->imageToWidget(QPointF(110, 80)).toPoint();
  QTest::mousePress(w->canvas(), Qt::LeftButton, Qt::NoModifier, a);
  QTest::mouseMove(w->canvas(), (a + b) / 2);
  QTest::mouseMove(w->canvas(), b);
  QTest::mouseRelease(w->canvas(), Qt::LeftButton, Qt::NoModifier, b);
  ASSERT_TRUE(w->prompts().box.has_value());
  EXPECT_TRUE(w->prompts().points.empty());
  EXPECT_NEAR((*w->prompts().box)[0], 40, 2);
  EXPECT_NEAR((*w->prompts().box)[3], 80, 2);
  ASSERT_TRUE(test::waitUntil([&] { return w->lastResult() && !w->busy(); }));
}

TEST_F(MainWindowTest, SlidersChangeSubnetFiguresAndRecomputeTheMask) {
  ASSERT_TRUE(clickAndWait(75, 50));
  auto* panel = w->elasticPanel();
  const QString before = panel->subnetEdit()->text();
  const QString figuresBefore = panel->figuresText();
  EXPECT_EQ(before, "256,256,256,256");
  panel->widthSlider()->setValue(25);
  const QString narrow = panel->subnetEdit()->text();
  EXPECT_NE(narrow, before);
  EXPECT_NE(panel->figuresText(), figuresBefore);
  ASSERT_TRUE(test::waitUntil([&] { return w->lastResult() && w->lastResult()->subnet == narrow.toStdString(); }))
      << "the mask was not recomputed for " << narrow.toStdString();
  EXPECT_EQ(w->lastResult()->masks.size(), 3u);
  EXPECT_GE(w->lastResult()->agreementIoU, 0.0);
  EXPECT_LE(w->lastResult()->agreementIoU, 1.0);

  const int depth = panel->depthSlider()->value();
  ASSERT_GT(depth, panel->depthSlider()->minimum());
  panel->depthSlider()->setValue(depth - 1);
  const QString shallower = panel->subnetEdit()->text();
  EXPECT_TRUE(shallower.contains('x')) << shallower.toStdString();
  ASSERT_TRUE(test::waitUntil([&] { return w->lastResult() && w->lastResult()->subnet == shallower.toStdString(); }));
}

TEST_F(MainWindowTest, PastedSubnetStringLoadsAndABadOneIsReported) {
  auto* edit = w->elasticPanel()->subnetEdit();
  edit->setText("64,x,256,128");
  emit edit->editingFinished();
  EXPECT_EQ(w->elasticPanel()->subnetEdit()->text(), "64,x,256,128");
  ASSERT_TRUE(test::waitUntil([&] { return !w->busy(); }));
  edit->setText("1,2,3");
  emit edit->editingFinished();
  EXPECT_FALSE(w->lastError().isEmpty());
  EXPECT_EQ(w->space().toString(w->elasticPanel()->subnet()), "64,x,256,128");
}

TEST_F(MainWindowTest, ClickingAParetoPointLoadsThatSubnet) {
  const auto& s = w->space();
  std::vector<EvaluatedSubnet> pts;
  for (const auto& cfg : {s.largest(), s.smallest(), s.fromSliders(s.depth(), 0.5)}) {
    EvaluatedSubnet p;
    p.subnet = s.toString(cfg);
    p.paramsM = s.figures(cfg).params / 1e6;
    p.gmacs = s.figures(cfg).gmacs;
    p.miou = 0.3 + p.paramsM;
    pts.push_back(p);
  }
  w->paretoPlot()->setPoints(pts);
  w->paretoPlot()->plot()->replot();
  QTest::qWait(20);
  const QPoint at = w->paretoPlot()->pointPosition(1);
  QTest::mouseClick(w->paretoPlot()->plot(), Qt::LeftButton, Qt::NoModifier, at);
  EXPECT_EQ(w->elasticPanel()->subnetEdit()->text().toStdString(), pts[1].subnet);
  // Same on the GMACs axis.
  w->paretoPlot()->setXAxis(1);
  w->paretoPlot()->plot()->replot();
  QTest::mouseClick(w->paretoPlot()->plot(), Qt::LeftButton, Qt::NoModifier, w->paretoPlot()->pointPosition(2));
  EXPECT_EQ(w->elasticPanel()->subnetEdit()->text().toStdString(), pts[2].subnet);
  ASSERT_TRUE(test::waitUntil([&] { return !w->busy(); }));
}

TEST_F(MainWindowTest, UndoRedoAndClear) {
  ASSERT_TRUE(clickAndWait(75, 50));
  ASSERT_TRUE(clickAndWait(30, 30));
  EXPECT_EQ(w->prompts().points.size(), 2u);
  w->undoStack()->undo();
  EXPECT_EQ(w->prompts().points.size(), 1u);
  w->undoStack()->redo();
  EXPECT_EQ(w->prompts().points.size(), 2u);
  w->clearPrompts();
  EXPECT_TRUE(w->prompts().empty());
  EXPECT_FALSE(w->canvas()->hasCurrentMask());
  w->undoStack()->undo();
  EXPECT_EQ(w->prompts().points.size(), 2u);
  ASSERT_TRUE(test::waitUntil([&] { return !w->busy(); }));
}

TEST_F(MainWindowTest, AnnotationsSaveAndReopen) {
  ASSERT_TRUE(clickAndWait(75, 50));
  w->acceptObject();
  ASSERT_TRUE(clickAndWait(20, 80));
  w->acceptObject();
  ASSERT_EQ(w->objects().size(), 2u);
  EXPECT_TRUE(w->prompts().empty());
  // Naming the second object keeps its label (the COCO category): one category in the file.
  const std::string label = w->objects()[1].label;
  w->renameObject(1, "renamed");
  EXPECT_EQ(w->objects()[1].label, label);
  EXPECT_EQ(w->objects()[1].name, "renamed");
  EXPECT_TRUE(w->objectList()->item(1)->text().contains("renamed"));
  const auto saved = w->objects();
  const QString json = dir + "/disc.coco.json";
  ASSERT_TRUE(w->saveAnnotations(json)) << w->lastError().toStdString();
  EXPECT_TRUE(QFileInfo::exists(dir + "/disc_instances.png"));
  EXPECT_FALSE(w->hasUnsavedObjects());
  {
    QFile f(json);
    ASSERT_TRUE(f.open(QIODevice::ReadOnly));
    const QJsonObject coco = QJsonDocument::fromJson(f.readAll()).object();
    EXPECT_EQ(coco["categories"].toArray().size(), 1) << "naming an object made a new category";
  }

  // Reopening the image brings its annotations back (they lie beside it).
  ASSERT_TRUE(w->openImage(imagePath));
  ASSERT_EQ(w->objects().size(), 2u);
  for (size_t i = 0; i < saved.size(); ++i) {
    EXPECT_EQ(w->objects()[i].label, saved[i].label);
    EXPECT_EQ(w->objects()[i].name, saved[i].name);
    EXPECT_EQ(w->objects()[i].mask.data, saved[i].mask.data);
    EXPECT_EQ(w->objects()[i].prompts, saved[i].prompts);
  }
  EXPECT_EQ(w->objectList()->count(), 2);
  ASSERT_TRUE(test::waitUntil([&] { return !w->busy(); }));
}

TEST_F(MainWindowTest, FolderIsSteppedWithTheKeyboard) {
  const QString folder = dir + "/folder";
  ASSERT_TRUE(QDir().mkpath(folder));
  ASSERT_TRUE(test::syntheticImage(150, 100).save(folder + "/a.png"));
  ASSERT_TRUE(test::syntheticImage(90, 120).save(folder + "/b.png"));
  ASSERT_TRUE(w->openFolder(folder));
  EXPECT_EQ(w->canvas()->image().width(), 150);
  w->activateWindow();
  QTest::keyClick(w.get(), Qt::Key_D);  // next image
  EXPECT_EQ(w->canvas()->image().width(), 90);
  QTest::keyClick(w.get(), Qt::Key_A);  // previous image
  EXPECT_EQ(w->canvas()->image().width(), 150);
  ASSERT_TRUE(clickAndWait(75, 50));
  EXPECT_EQ(w->lastResult()->masks[0].width, 150);
}

TEST_F(MainWindowTest, BadFilesAreReportedAndTheWindowKeepsWorking) {
  EXPECT_FALSE(w->openImage(dir + "/missing.png"));
  EXPECT_TRUE(w->lastError().contains("missing.png"));
  QSignalSpy ready(w.get(), &MainWindow::modelReady);
  w->loadCheckpoint(dir + "/missing.pth");
  ASSERT_TRUE(ready.wait(10000));
  EXPECT_FALSE(ready.takeFirst().at(0).toBool());
  EXPECT_TRUE(w->lastError().contains("missing.pth"));
  EXPECT_TRUE(w->modelLoaded());
  EXPECT_FALSE(w->modelStatusText().contains("Loading")) << w->modelStatusText().toStdString();
  EXPECT_TRUE(clickAndWait(75, 50));
}

TEST_F(MainWindowTest, UnsavedObjectsAreNeverDroppedSilently) {
  const QString folder = dir + "/work";
  ASSERT_TRUE(QDir().mkpath(folder));
  ASSERT_TRUE(test::syntheticImage(150, 100).save(folder + "/a.png"));
  ASSERT_TRUE(test::syntheticImage(90, 120).save(folder + "/b.png"));
  ASSERT_TRUE(w->openFolder(folder));
  ASSERT_TRUE(clickAndWait(75, 50));
  w->acceptObject();
  ASSERT_TRUE(w->hasUnsavedObjects());
  const QString autosave = w->autosavePath();
  EXPECT_TRUE(QFileInfo::exists(autosave)) << autosave.toStdString();

  // Cancel: D keeps the image and its object; Quit is refused.
  w->setUnsavedObjectsAnswer(QMessageBox::Cancel);
  w->activateWindow();
  QTest::keyClick(w.get(), Qt::Key_D);
  EXPECT_EQ(w->unsavedObjectsAsked(), 1);
  EXPECT_EQ(w->canvas()->image().width(), 150);
  EXPECT_EQ(w->objects().size(), 1u);
  EXPECT_FALSE(w->close());
  EXPECT_EQ(w->unsavedObjectsAsked(), 2);
  EXPECT_FALSE(w->openFolder(folder));
  EXPECT_EQ(w->objects().size(), 1u);

  // Save: D writes them beside the image and moves on; A brings them back, saved.
  w->setUnsavedObjectsAnswer(QMessageBox::Save);
  QTest::keyClick(w.get(), Qt::Key_D);
  EXPECT_EQ(w->canvas()->image().width(), 90);
  EXPECT_TRUE(QFileInfo::exists(folder + "/a.coco.json"));
  EXPECT_FALSE(QFileInfo::exists(autosave));
  EXPECT_TRUE(w->objects().empty());
  QTest::keyClick(w.get(), Qt::Key_A);
  EXPECT_EQ(w->objects().size(), 1u);
  EXPECT_FALSE(w->hasUnsavedObjects());

  // A crash after one more object: a new window restores it from the autosave copy.
  ASSERT_TRUE(clickAndWait(20, 80));
  w->acceptObject();
  ASSERT_EQ(w->objects().size(), 2u);
  {
    MainWindow w2;
    w2.setErrorDialogsEnabled(false);
    ASSERT_TRUE(w2.openImage(folder + "/a.png"));
    EXPECT_EQ(w2.objects().size(), 2u);
    EXPECT_TRUE(w2.hasUnsavedObjects());
    // Discard: the copy goes, nothing is written.
    w2.setUnsavedObjectsAnswer(QMessageBox::Discard);
    ASSERT_TRUE(w2.openImage(folder + "/b.png"));
    EXPECT_FALSE(QFileInfo::exists(autosave));
  }
  w->setUnsavedObjectsAnswer(QMessageBox::Discard);
}

TEST_F(MainWindowTest, ReturnInTheSubnetFieldAppliesItAndDoesNotAcceptTheMask) {
  ASSERT_TRUE(clickAndWait(75, 50));  // a mask waiting to be accepted
  w->activateWindow();
  QLineEdit* edit = w->elasticPanel()->subnetEdit();
  edit->setFocus();
  ASSERT_TRUE(test::waitUntil([&] { return QApplication::focusWidget() == edit; }, 2000));
  const std::string smallest = w->space().toString(w->space().smallest());
  edit->setText(QString::fromStdString(smallest));
  QTest::keyClick(edit, Qt::Key_Return);
  EXPECT_TRUE(w->objects().empty()) << "Return in the subnet field accepted the mask";
  EXPECT_EQ(w->space().toString(w->elasticPanel()->subnet()), smallest);
  ASSERT_TRUE(test::waitUntil([&] { return !w->busy() && w->lastResult() && !w->lastResult()->masks.empty(); }));
  // Outside a text field Return still accepts.
  w->canvas()->setFocus();
  QTest::keyClick(w->canvas(), Qt::Key_Return);
  EXPECT_EQ(w->objects().size(), 1u);
}

TEST_F(MainWindowTest, NarrowerAndWiderMlpsByKeyAndByTheSliderArrows) {
  const auto params = [&] { return w->space().figures(w->elasticPanel()->subnet()).params; };
  const double full = params();
  w->activateWindow();
  QTest::keyClick(w.get(), Qt::Key_Minus);  // Subnet > Narrower MLPs
  const double narrower = params();
  EXPECT_LT(narrower, full);
  QSlider* slider = w->elasticPanel()->widthSlider();
  slider->setFocus();
  QTest::keyClick(slider, Qt::Key_Left);
  EXPECT_LT(params(), narrower);
  QTest::keyClick(slider, Qt::Key_Right);
  EXPECT_DOUBLE_EQ(params(), narrower);
  QTest::keyClick(w.get(), Qt::Key_Equal);  // Wider MLPs
  EXPECT_DOUBLE_EQ(params(), full);
  ASSERT_TRUE(test::waitUntil([&] { return !w->busy(); }));
}

TEST_F(MainWindowTest, NextImageWithoutAFolderSaysWhy) {
  w->activateWindow();
  QTest::keyClick(w.get(), Qt::Key_D);
  EXPECT_TRUE(w->statusBar()->currentMessage().contains("folder")) << w->statusBar()->currentMessage().toStdString();
}

TEST_F(MainWindowTest, UndoBackToAStateGivesThatStatesMask) {
  // Waits for the answer to this very click (lastResult may still hold the previous one for a moment).
  const auto clickShown = [&](double x, double y) {
    QSignalSpy shown(w.get(), &MainWindow::resultShown);
    QTest::mouseClick(w->canvas(), Qt::LeftButton, Qt::NoModifier, w->canvas()->imageToWidget(QPointF(x, y)).toPoint());
    return test::waitUntil([&] { return !shown.isEmpty() && !w->busy() && w->lastResult(); });
  };
  ASSERT_TRUE(clickShown(75, 50));
  ASSERT_TRUE(clickShown(60, 45));
  const PredictionResult two = *w->lastResult();
  ASSERT_TRUE(clickShown(30, 30));
  QSignalSpy shown(w.get(), &MainWindow::resultShown);
  w->undoStack()->undo();
  ASSERT_TRUE(test::waitUntil([&] { return !shown.isEmpty() && !w->busy(); }));
  ASSERT_EQ(w->prompts().points.size(), 2u);
  ASSERT_EQ(w->lastResult()->masks.size(), two.masks.size());
  for (size_t i = 0; i < two.masks.size(); ++i) {
    EXPECT_EQ(w->lastResult()->masks[i].data, two.masks[i].data) << "candidate " << i;
  }
}

TEST_F(MainWindowTest, ParetoPlotShowsEveryPointAndSaysWhyAnAxisIsEmpty) {
  ParetoPlot* plot = w->paretoPlot();
  const auto& s = w->space();
  // Streamed in an order that is not sorted by size, mIoU far from 0.
  std::vector<model::ElasticConfig> cfgs = {s.fromSliders(s.depth(), 0.5), s.largest(), s.smallest(),
                                            s.fromSliders(s.depth(), 0.75)};
  for (size_t i = 0; i < cfgs.size(); ++i) {
    EvaluatedSubnet p;
    p.subnet = s.toString(cfgs[i]);
    p.paramsM = s.figures(cfgs[i]).params / 1e6;
    p.gmacs = s.figures(cfgs[i]).gmacs;
    p.miou = 0.55 + 0.01 * static_cast<double>(i);
    plot->addPoint(p);
  }
  ASSERT_TRUE(test::waitUntil([&] { return plot->plot()->graph(0)->dataCount() == 4; }, 3000));
  EXPECT_TRUE(plot->allPointsInView());
  EXPECT_GT(plot->plot()->yAxis->range().lower, 0.3) << "the y axis starts at 0 and flattens the points";
  // The same after opening them at once.
  plot->setPoints(plot->points());
  EXPECT_TRUE(plot->allPointsInView());
  EXPECT_GT(plot->plot()->yAxis->range().lower, 0.3);
  // Zoomed in, then Fit: all back in view.
  plot->plot()->xAxis->scaleRange(0.1);
  EXPECT_FALSE(plot->allPointsInView());
  plot->resetView();
  EXPECT_TRUE(plot->allPointsInView());
  // No latency measured: the latency axis says why instead of an empty plot.
  plot->setXAxis(2);
  QLabel* caption = plot->findChild<QLabel*>("paretoCaption");
  ASSERT_NE(caption, nullptr);
  EXPECT_TRUE(caption->text().contains("latency")) << caption->text().toStdString();
  plot->setXAxis(0);
  ASSERT_TRUE(test::waitUntil([&] { return !w->busy(); }));
}

TEST_F(MainWindowTest, ResultsReopenAtLaunchAndTheDemoResultsShipWithTheModel) {
  const auto& s = w->space();
  std::vector<search::StoredResult> rs;
  for (const auto& cfg : {s.largest(), s.smallest(), s.fromSliders(s.depth(), 0.5)}) {
    search::StoredResult r;
    r.subnet = s.toString(cfg);
    r.hash = s.hash(cfg);
    r.protocol = "test";
    r.metrics.params = s.figures(cfg).params;
    r.metrics.quality = 0.4 + 0.1 * static_cast<double>(rs.size());
    r.metrics.details = {{"miou_box_fill", 0.55}};
    rs.push_back(r);
  }
  const QString csv = dir + "/results.csv";
  search::exportCsv(csv.toStdString(), rs);
  ASSERT_TRUE(w->openResults(csv)) << w->lastError().toStdString();
  EXPECT_EQ(w->paretoPlot()->points().size(), 3u);
  EXPECT_NEAR(w->paretoPlot()->baseline(), 0.55, 1e-9);
  EXPECT_TRUE(w->paretoPlot()->allPointsInView());
  EXPECT_TRUE(w->paretoPlot()->plot()->yAxis->range().contains(0.55)) << "a baseline among the points is in view";
  {
    MainWindow again;  // the next launch
    again.setErrorDialogsEnabled(false);
    ASSERT_TRUE(again.restoreResults(false));
    EXPECT_EQ(again.paretoPlot()->points().size(), 3u);
  }
  // The database is gone: with the demo model, the shipped demo results fill the plot, with their baseline.
  ASSERT_TRUE(QFile::remove(csv));
  MainWindow fresh;
  fresh.setErrorDialogsEnabled(false);
  EXPECT_FALSE(fresh.restoreResults(false));
  ASSERT_TRUE(fresh.restoreResults(true)) << fresh.lastError().toStdString();
  EXPECT_GE(fresh.paretoPlot()->points().size(), 20u);
  EXPECT_GT(fresh.paretoPlot()->baseline(), 0.3);
}

}  // namespace
}  // namespace supersam::ui
