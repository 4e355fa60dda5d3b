// Brush and eraser: the stroke rasterisation, and touch-ups of an accepted object's mask in the main window
// (keys B / E / P, drag, wheel for the size, each stroke one undo step).
#include <QDir>
#include <QListWidget>
#include <QWheelEvent>
#include <gtest/gtest.h>

#include "core/util/error.h"
#include "tests/ui/ui_test_support.h"
#include "ui/app_paths.h"
#include "ui/engine/mask_edit.h"
#include "ui/main_window.h"
#include "ui/widgets/image_canvas.h"

namespace supersam::ui {
namespace {

MaskU8 blank(int w, int h) {
  MaskU8 m;
  m.width = w;
  m.height = h;
  m.data.assign(static_cast<size_t>(w) * h, 0);
  return m;
}
bool at(const MaskU8& m, int x, int y) { return m.data[static_cast<size_t>(y) * m.width + x] != 0; }

TEST(MaskEdit, ADotIsADiscAndALineIsACapsule) {
  const MaskU8 dot = paintStroke(blank(40, 30), {{20.5f, 15.5f}}, 5, false);
  // Pixel centres within 5 of (20.5, 15.5): a digital disc of area close to pi r^2.
  EXPECT_NEAR(static_cast<double>(dot.area()), 3.14159 * 25, 8);
  EXPECT_TRUE(at(dot, 20, 15));
  EXPECT_TRUE(at(dot, 25, 15));
  EXPECT_FALSE(at(dot, 26, 15));
  EXPECT_FALSE(at(dot, 24, 19));
  const MaskU8 line = paintStroke(blank(40, 30), {{5.5f, 10.5f}, {30.5f, 10.5f}}, 2, false);
  for (int x = 5; x <= 30; ++x) EXPECT_TRUE(at(line, x, 10)) << x;
  EXPECT_TRUE(at(line, 3, 10));   // round cap
  EXPECT_FALSE(at(line, 2, 10));
  EXPECT_FALSE(at(line, 17, 13));
  EXPECT_EQ(line.area(), paintStroke(line, {{5.5f, 10.5f}, {30.5f, 10.5f}}, 2, false).area());  // idempotent
  // The eraser clears exactly what the brush covers; strokes off the image are clipped.
  const MaskU8 erased = paintStroke(line, {{5.5f, 10.5f}, {30.5f, 10.5f}}, 2, true);
  EXPECT_EQ(erased.area(), 0);
  const MaskU8 edge = paintStroke(blank(40, 30), {{-10, -10}, {2, 2}}, 3, false);
  EXPECT_TRUE(at(edge, 0, 0));
  EXPECT_GT(edge.area(), 0);
  EXPECT_THROW(paintStroke(blank(4, 4), {}, 2, false), util::Error);
  EXPECT_THROW(paintStroke(blank(4, 4), {{1, 1}}, 0, false), util::Error);
  EXPECT_THROW(paintStroke(blank(4, 4), {{1, 1}}, std::nanf(""), false), util::Error);
}

TEST(MaskEdit, BrushAndEraserTouchUpTheSelectedObjectAndUndo) {
  const QString dir = QString::fromStdString(test::tempDir("ui-brush"));
  const QString image = dir + "/disc.png";
  ASSERT_TRUE(test::syntheticImage().save(image));
  QDir(userDataDir("autosave")).removeRecursively();
  MainWindow w;
  w.setErrorDialogsEnabled(false);
  w.setFastPreview(false);
  w.resize(1200, 800);
  w.show();
  QSignalSpy ready(&w, &MainWindow::modelReady);
  w.loadCheckpoint(QString::fromStdString(test::tinyCheckpoint()));
  ASSERT_TRUE(ready.wait(30000));
  ASSERT_TRUE(w.openImage(image));
  ASSERT_TRUE(test::waitUntil([&] { return !w.busy(); }));
  ImageCanvas* c = w.canvas();
  QTest::mouseClick(c, Qt::LeftButton, Qt::NoModifier, c->imageToWidget(QPointF(75, 50)).toPoint());
  ASSERT_TRUE(test::waitUntil([&] { return w.lastResult() && !w.busy() && !w.lastResult()->masks.empty(); }));
  w.acceptObject();
  ASSERT_EQ(w.objects().size(), 1u);
  const MaskU8 original = w.objects()[0].mask;

  // Without a selected object there is nothing to paint on: E selects the newest object.
  w.objectList()->setCurrentRow(-1);
  QTest::keyClick(&w, Qt::Key_E);
  EXPECT_EQ(c->tool(), ImageCanvas::Tool::Eraser);
  EXPECT_EQ(w.objectList()->currentRow(), 0);
  // The wheel sets the brush size with a tool (and does not zoom).
  const double zoom = c->zoom(), r0 = c->brushRadius();
  const QPointF mid = c->imageToWidget(QPointF(10, 90));
  QWheelEvent up(mid, c->mapToGlobal(mid), QPoint(), QPoint(0, 120), Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase,
                 false);
  QApplication::sendEvent(c, &up);
  EXPECT_GT(c->brushRadius(), r0);
  EXPECT_EQ(c->zoom(), zoom);
  // The eraser drags a band through the object (the tiny random model's mask covers nearly the whole image).
  c->setBrushRadius(6);
  const QPoint a = c->imageToWidget(QPointF(20, 50)).toPoint(), b = c->imageToWidget(QPointF(120, 50)).toPoint();
  QTest::mousePress(c, Qt::LeftButton, Qt::NoModifier, a);
  QTest::mouseMove(c, (a + b) / 2);
  QTest::mouseMove(c, b);
  QTest::mouseRelease(c, Qt::LeftButton, Qt::NoModifier, b);
  const MaskU8 erased = w.objects()[0].mask;
  EXPECT_LT(erased.area(), original.area() - 100 * 10);
  EXPECT_FALSE(at(erased, 70, 50));
  EXPECT_TRUE(w.hasUnsavedObjects());
  // The brush (B) paints a dot back in the middle of the band.
  QTest::keyClick(&w, Qt::Key_B);
  EXPECT_EQ(c->tool(), ImageCanvas::Tool::Brush);
  c->setBrushRadius(3);
  const QPoint m = c->imageToWidget(QPointF(70.5, 50.5)).toPoint();
  QTest::mousePress(c, Qt::LeftButton, Qt::NoModifier, m);
  QTest::mouseRelease(c, Qt::LeftButton, Qt::NoModifier, m);
  const MaskU8 painted = w.objects()[0].mask;
  EXPECT_TRUE(at(painted, 70, 50));
  EXPECT_GT(painted.area(), erased.area());
  // Ctrl+Z undoes one stroke at a time.
  w.undoStack()->undo();
  EXPECT_EQ(w.objects()[0].mask.data, erased.data);
  w.undoStack()->undo();
  EXPECT_EQ(w.objects()[0].mask.data, original.data);
  w.undoStack()->redo();
  EXPECT_EQ(w.objects()[0].mask.data, erased.data);
  // P goes back to prompts: a click is a point again, not a stroke.
  QTest::keyClick(&w, Qt::Key_P);
  EXPECT_EQ(c->tool(), ImageCanvas::Tool::Prompt);
  QTest::mouseClick(c, Qt::LeftButton, Qt::NoModifier, c->imageToWidget(QPointF(20, 20)).toPoint());
  EXPECT_EQ(w.prompts().points.size(), 1u);
  EXPECT_EQ(w.objects()[0].mask.data, erased.data);
  w.setUnsavedObjectsAnswer(QMessageBox::Discard);
}

}  // namespace
}  // namespace supersam::ui
