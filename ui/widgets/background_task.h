#pragma once
// A background job shown in the status bar: a name, a progress bar and a cancel button, visible while its job runs.
// Owns its own JobRunner thread, so it runs beside the interactive worker and the Jobs menu's runner.
// GUI thread only.

#include <QString>
#include <QWidget>

#include "ui/workers/job_worker.h"

class QLabel;
class QProgressBar;
class QToolButton;

namespace supersam::ui {

class BackgroundTask : public QWidget {
  Q_OBJECT
 public:
  BackgroundTask(const QString& threadName, QWidget* parent = nullptr);
  // false when a job of this task is already running (nothing started).
  bool start(const QString& title, JobFn fn);
  void cancel();
  bool running() const;
  JobRunner* runner() const { return m_runner; }

 signals:
  void finished(bool ok, bool cancelled, QString message);

 private:
  JobRunner* m_runner;
  QLabel* m_title;
  QProgressBar* m_bar;
  QToolButton* m_cancel;
};

}  // namespace supersam::ui
