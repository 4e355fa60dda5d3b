// A screenshot of the main window with a mask, taken under Xvfb with a real X11 window by tests/ui/screenshot.sh,
// saved under the build tree (screenshots/main_window.png) for people to look at; not compared pixel by pixel.
#include <QFileInfo>
#include <QImage>
#include <QProcess>
#include <QStandardPaths>
#include <gtest/gtest.h>

#include "tests/ui/ui_test_support.h"

namespace supersam::ui {
namespace {

TEST(Screenshot, MainWindowWithAMaskUnderXvfb) {
  ASSERT_FALSE(QStandardPaths::findExecutable("xvfb-run").isEmpty()) << "xvfb-run is needed (package xvfb)";
  const QString build = SUPERSAM_TEST_BINARY_DIR;
  const QString studio = build + "/app/supersam-studio";
  ASSERT_TRUE(QFileInfo::exists(studio)) << "build supersam-studio first: " << studio.toStdString();
  const QString out = build + "/screenshots/main_window.png";
  QFile::remove(out);
  QProcess p;
  p.setProcessChannelMode(QProcess::MergedChannels);
  auto env = QProcessEnvironment::systemEnvironment();
  env.insert("SUPERSAM_SHARED_DIR", QString::fromStdString(test::sharedDir()));
  env.remove("QT_QPA_PLATFORM");
  p.setProcessEnvironment(env);
  p.start("bash", {QString(SUPERSAM_SOURCE_DIR) + "/tests/ui/screenshot.sh", build, out, "--threads", "2"});
  ASSERT_TRUE(p.waitForFinished(120000)) << "timed out";
  const QString log = QString::fromUtf8(p.readAll());
  ASSERT_EQ(p.exitCode(), 0) << log.toStdString();
  EXPECT_TRUE(log.contains("mask area")) << log.toStdString();
  QImage img(out);
  ASSERT_FALSE(img.isNull()) << "no picture at " << out.toStdString();
  EXPECT_GE(img.width(), 800);
  EXPECT_GE(img.height(), 500);
}

}  // namespace
}  // namespace supersam::ui
