// Labels persist: the label of the last accepted object stays selected for the next object, the next image and the
// next session, and every label used stays offered.
#include <QComboBox>
#include <QDir>
#include <gtest/gtest.h>

#include "tests/ui/ui_test_support.h"
#include "ui/app_paths.h"
#include "ui/main_window.h"
#include "ui/widgets/image_canvas.h"

namespace supersam::ui {
namespace {

QComboBox* labelBox(MainWindow& w) {
  for (auto* c : w.findChildren<QComboBox*>()) {
    if (c->isEditable() && c->findText("object") >= 0) return c;
  }
  return nullptr;
}

TEST(Labels, TheLastLabelStaysForTheNextObjectImageAndSession) {
  const QString dir = QString::fromStdString(test::tempDir("ui-labels"));
  ASSERT_TRUE(test::syntheticImage().save(dir + "/a.png"));
  ASSERT_TRUE(test::syntheticImage(120, 90).save(dir + "/b.png"));
  QDir(userDataDir("autosave")).removeRecursively();
  {
    MainWindow w;
    w.setErrorDialogsEnabled(false);
    w.setFastPreview(false);
    w.setUnsavedObjectsAnswer(QMessageBox::Discard);
    QSignalSpy ready(&w, &MainWindow::modelReady);
    w.loadCheckpoint(QString::fromStdString(test::tinyCheckpoint()));
    ASSERT_TRUE(ready.wait(30000));
    ASSERT_TRUE(w.openFolder(dir));
    QComboBox* box = labelBox(w);
    ASSERT_NE(box, nullptr);
    box->setCurrentText("zebra crossing");
    w.addPoint(QPointF(75, 50), 1);
    ASSERT_TRUE(test::waitUntil([&] { return w.lastResult() && !w.busy() && !w.lastResult()->masks.empty(); }));
    w.acceptObject();
    ASSERT_EQ(w.objects().size(), 1u);
    EXPECT_EQ(w.objects()[0].label, "zebra crossing");
    EXPECT_EQ(box->currentText(), "zebra crossing");  // the next object
    EXPECT_GE(box->findText("zebra crossing"), 0);
    ASSERT_TRUE(w.openImage(dir + "/b.png"));  // the next image (objects discarded by the test's answer)
    EXPECT_TRUE(w.currentImagePath().endsWith("b.png"));
    EXPECT_EQ(box->currentText(), "zebra crossing");
  }
  MainWindow again;  // the next session
  QComboBox* box = labelBox(again);
  ASSERT_NE(box, nullptr);
  EXPECT_EQ(box->currentText(), "zebra crossing");
  EXPECT_GE(box->findText("zebra crossing"), 0);
  EXPECT_GE(box->findText("object"), 0);
}

}  // namespace
}  // namespace supersam::ui
