#include "ui/widgets/background_task.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QToolButton>

namespace supersam::ui {

BackgroundTask::BackgroundTask(const QString& threadName, QWidget* parent)
    : QWidget(parent), m_runner(new JobRunner(threadName, this)) {
  auto* l = new QHBoxLayout(this);
  l->setContentsMargins(0, 0, 0, 0);
  m_title = new QLabel(this);
  m_bar = new QProgressBar(this);
  m_bar->setMaximumWidth(160);
  m_bar->setTextVisible(true);
  m_cancel = new QToolButton(this);
  m_cancel->setText(tr("Cancel"));
  l->addWidget(m_title);
  l->addWidget(m_bar);
  l->addWidget(m_cancel);
  setVisible(false);
  connect(m_cancel, &QToolButton::clicked, this, &BackgroundTask::cancel);
  connect(m_runner, &JobRunner::progress, this, [this](qlonglong done, qlonglong total, const QString& status) {
    m_bar->setRange(0, total > 0 ? static_cast<int>(std::min<qlonglong>(total, 1 << 30)) : 0);
    if (total > 0) m_bar->setValue(static_cast<int>(std::min(done, total)));
    m_bar->setToolTip(status);
  });
  connect(m_runner, &JobRunner::finished, this, [this](bool ok, bool cancelled, const QString& msg) {
    setVisible(false);
    emit finished(ok, cancelled, msg);
  });
}

bool BackgroundTask::start(const QString& title, JobFn fn) {
  if (m_runner->running()) return false;
  m_title->setText(title);
  m_bar->setRange(0, 0);
  m_cancel->setEnabled(true);
  setVisible(true);
  return m_runner->start(std::move(fn));
}

void BackgroundTask::cancel() {
  m_cancel->setEnabled(false);
  m_runner->cancel();
}

bool BackgroundTask::running() const { return m_runner->running(); }

}  // namespace supersam::ui
