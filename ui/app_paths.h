#pragma once
// Where the studio finds what it ships and where it writes what it makes. Shipped assets (demo supernet, sample
// image, demo results) live in the installed data dir, or the source tree's resources/ when run from a build
// directory; both may be read-only. Everything the studio creates by default (trained models, results databases,
// autosaved annotations) goes under the user's data folder (QStandardPaths::AppDataLocation).
#include <QString>
#include <QStringList>

namespace supersam::ui {

// The first existing file among ROOT/relative for the shipped roots; empty when none exists.
QString findAsset(const QStringList& relative);
// AppDataLocation/SUB, created if missing (falls back to the temp folder when it cannot be created).
QString userDataDir(const QString& sub);
// True for a file inside one of the shipped roots (the demo model, the demo results): never a default output.
bool isShippedFile(const QString& path);

}  // namespace supersam::ui
