// test_ui's main: the widgets need a QApplication (offscreen platform, set by CTest), and QSettings must not touch
// the user's real settings, so QStandardPaths' test mode is on.
#include <QApplication>
#include <QSettings>
#include <QStandardPaths>
#include <gtest/gtest.h>

#include "core/util/process_env.h"
#include "core/util/runtime.h"
#include "ui/workers/meta_types.h"

int main(int argc, char** argv) {
  supersam::util::prepareProcess(argv, /*passiveOpenMp=*/true);  // as the GUI program does (timings, 2-core CI)
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  QStandardPaths::setTestModeEnabled(true);
  QApplication app(argc, argv);
  QApplication::setOrganizationName("SuperSAM-tests");
  QApplication::setApplicationName("test_ui");
  QSettings().clear();  // remembered dialog values, recent files and the last database start empty in every run
  supersam::util::setThreads(2);
  supersam::ui::registerMetaTypes();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
