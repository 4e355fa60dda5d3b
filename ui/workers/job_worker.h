#pragma once
// Long jobs (calibrate, train, evaluate, search) on a long-lived worker thread. A job is a function that takes a
// JobContext: it calls the synchronous core with ctx.control() (progress + cancel token) and reports values
// (loss points, evaluated subnets) through ctx.emitEvent. Progress is throttled to ~20 signals per second;
// events are delivered in order. Cancel sets an atomic flag the core checks between units of work.
//
// Thread-safety: start() and cancel() from the GUI thread; the job runs on the worker thread; signals are queued.

#include <chrono>
#include <atomic>
#include <functional>
#include <memory>

#include <QObject>
#include <QString>
#include <QThread>
#include <QVariantMap>

#include "core/util/progress.h"

namespace supersam::ui {

class JobWorker;

class JobContext {
 public:
  JobContext(JobWorker* worker, const util::CancelToken* cancel);
  const util::JobControl& control() const { return m_control; }
  bool cancelled() const { return m_cancel->cancelled(); }
  // A named value for the GUI (e.g. "loss" {step, loss}); delivered through JobWorker::event.
  void emitEvent(const QString& kind, const QVariantMap& values) const;

 private:
  JobWorker* m_worker;
  const util::CancelToken* m_cancel;
  util::JobControl m_control;
  std::shared_ptr<std::chrono::steady_clock::time_point> m_lastProgress;
};

using JobFn = std::function<QString(JobContext&)>;  // returns a one-line summary for the GUI

class JobWorker : public QObject {
  Q_OBJECT
 public:
  JobWorker() = default;
  bool running() const { return m_running.load(); }
  void cancel() { m_cancel.cancel(); }
  void resetCancel() { m_cancel.reset(); }
  void run(const JobFn& fn);  // worker thread

 signals:
  void started();
  void progress(qlonglong done, qlonglong total, QString status);
  void event(QString kind, QVariantMap values);
  void finished(bool ok, bool cancelled, QString message);

 private:
  friend class JobContext;
  util::CancelToken m_cancel;
  std::atomic<bool> m_running{false};
};

// Owns the thread and the worker. GUI thread only.
class JobRunner : public QObject {
  Q_OBJECT
 public:
  explicit JobRunner(const QString& name, QObject* parent = nullptr);
  ~JobRunner() override;  // cancels a running job and waits for it
  // false (and nothing started) when a job is already running.
  bool start(JobFn fn);
  void cancel();
  bool running() const { return m_busy; }
  JobWorker* worker() const { return m_worker; }

 signals:
  void progress(qlonglong done, qlonglong total, QString status);
  void event(QString kind, QVariantMap values);
  void finished(bool ok, bool cancelled, QString message);

 private:
  QThread m_thread;
  JobWorker* m_worker;
  bool m_busy = false;
};

}  // namespace supersam::ui
