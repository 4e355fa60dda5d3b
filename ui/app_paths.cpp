#include "ui/app_paths.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>

namespace supersam::ui {

namespace {
QStringList shippedRoots() {
  return {QStringLiteral(SUPERSAM_INSTALL_DATADIR), QCoreApplication::applicationDirPath() + "/../share/supersam",
          QStringLiteral(SUPERSAM_SOURCE_DIR) + "/resources"};
}
}  // namespace

QString findAsset(const QStringList& relative) {
  for (const auto& root : shippedRoots()) {
    for (const auto& rel : relative) {
      const QFileInfo f(root + "/" + rel);
      if (f.isFile()) return f.absoluteFilePath();
    }
  }
  return {};
}

QString userDataDir(const QString& sub) {
  QString base = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
  if (base.isEmpty()) base = QDir::tempPath() + "/supersam";
  QString dir = base + "/" + sub;
  if (!QDir().mkpath(dir)) {
    dir = QDir::tempPath() + "/supersam/" + sub;
    QDir().mkpath(dir);
  }
  return QDir(dir).absolutePath();
}

bool isShippedFile(const QString& path) {
  const QString file = QFileInfo(path).canonicalFilePath();
  if (file.isEmpty()) return false;
  for (const auto& root : shippedRoots()) {
    const QString r = QFileInfo(root).canonicalFilePath();
    if (!r.isEmpty() && file.startsWith(r + "/")) return true;
  }
  return false;
}

}  // namespace supersam::ui
