#include "ui/workers/job_worker.h"

#include <exception>

#include <QMetaObject>

namespace supersam::ui {

namespace {
constexpr auto kProgressInterval = std::chrono::milliseconds(50);  // ~20 updates per second
}

JobContext::JobContext(JobWorker* worker, const util::CancelToken* cancel)
    : m_worker(worker), m_cancel(cancel),
      m_lastProgress(std::make_shared<std::chrono::steady_clock::time_point>()) {
  m_control.cancel = cancel;
  auto last = m_lastProgress;
  m_control.progress = [worker, last](long long done, long long total, const std::string& status) {
    const auto now = std::chrono::steady_clock::now();
    if (done < total && now - *last < kProgressInterval) return;  // the final report always passes
    *last = now;
    emit worker->progress(done, total, QString::fromStdString(status));
  };
}

void JobContext::emitEvent(const QString& kind, const QVariantMap& values) const {
  emit m_worker->event(kind, values);
}

void JobWorker::run(const JobFn& fn) {
  m_running = true;
  emit started();
  JobContext ctx(this, &m_cancel);
  try {
    const QString summary = fn(ctx);
    m_running = false;
    // Jobs that stop early with a partial result (training, search) return normally: still a cancellation.
    const bool cancelled = m_cancel.cancelled();
    emit finished(!cancelled, cancelled, summary);
  } catch (const util::Cancelled&) {
    m_running = false;
    emit finished(false, true, tr("cancelled"));
  } catch (const std::exception& e) {
    m_running = false;
    // A job may notice the flag and stop with its own error: still a cancellation.
    emit finished(false, m_cancel.cancelled(), QString::fromStdString(e.what()));
  }
}

JobRunner::JobRunner(const QString& name, QObject* parent) : QObject(parent), m_worker(new JobWorker) {
  m_thread.setObjectName(name);
  m_worker->moveToThread(&m_thread);
  connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
  connect(m_worker, &JobWorker::progress, this, &JobRunner::progress);
  connect(m_worker, &JobWorker::event, this, &JobRunner::event);
  connect(m_worker, &JobWorker::finished, this, [this](bool ok, bool cancelled, const QString& msg) {
    m_busy = false;
    emit finished(ok, cancelled, msg);
  });
  m_thread.start();
}

JobRunner::~JobRunner() {
  m_worker->cancel();
  m_thread.quit();
  m_thread.wait();
}

bool JobRunner::start(JobFn fn) {
  if (m_busy) return false;
  m_busy = true;
  m_worker->resetCancel();  // not running, so no race with the worker thread
  JobWorker* w = m_worker;
  QMetaObject::invokeMethod(m_worker, [w, fn = std::move(fn)]() { w->run(fn); }, Qt::QueuedConnection);
  return true;
}

void JobRunner::cancel() { m_worker->cancel(); }

}  // namespace supersam::ui
