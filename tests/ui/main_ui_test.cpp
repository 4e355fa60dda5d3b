// test_ui's main: the widgets need a QApplication (offscreen platform, set by CTest), and QSettings must not touch
// the user's real settings (nor another test process's), so each process has its own home in test mode.
#include <QApplication>
#include <QDir>
#include <QSettings>
#include <QStandardPaths>
#include <gtest/gtest.h>

#include "core/util/process_env.h"
#include "core/util/runtime.h"
#include "ui/workers/meta_types.h"

int main(int argc, char** argv) {
  supersam::util::prepareProcess(argv, /*passiveOpenMp=*/true);  // as the GUI program does (timings, 2-core CI)
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  // CTest runs test processes side by side: each gets its own home, so that settings, remembered dialog values and
  // autosave copies of one process never meet another's (test mode puts them under $HOME/.qttest).
  const QString home = QDir::tempPath() + "/supersam-ui-test-" + QString::number(QCoreApplication::applicationPid());
  QDir().mkpath(home);
  qputenv("HOME", home.toUtf8());
  QStandardPaths::setTestModeEnabled(true);
  QApplication app(argc, argv);
  QApplication::setOrganizationName("SuperSAM-tests");
  QApplication::setApplicationName("test_ui");
  QSettings().clear();  // remembered dialog values, recent files and the last database start empty in every run
  supersam::util::setThreads(2);
  supersam::ui::registerMetaTypes();
  ::testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  QDir(home).removeRecursively();
  return rc;
}
