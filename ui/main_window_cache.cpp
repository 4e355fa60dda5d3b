// MainWindow: a folder ready before the annotator is. The open folder's images are pre-encoded in the background
// for the chosen subnet into the on-disk embedding cache (the job of `supersam embed`, core/pipeline/embed_job.h);
// opening a pre-encoded image takes its embedding from there, with no encoder wait. The job yields to interactive
// work (it waits between images while the inference worker is busy), restarts for a new subnet once the user
// settles on one, and resumes where it stopped (what is cached is skipped).
#include <thread>

#include <QAction>
#include <QFileInfo>
#include <QInputDialog>
#include <QMenu>
#include <QSettings>
#include <QStatusBar>
#include <QTimer>

#include "core/infer/embedding_cache.h"
#include "core/util/error.h"
#include "core/pipeline/embed_job.h"
#include "ui/main_window.h"
#include "ui/widgets/background_task.h"

namespace supersam::ui {

QString MainWindow::embeddingCacheDir() const {
  QSettings s;
  if (s.contains("cache/dir")) return s.value("cache/dir").toString();
  try {
    return QString::fromStdString(infer::defaultEmbeddingCacheDir());
  } catch (const std::exception&) {
    return {};
  }
}

void MainWindow::buildCacheActions(QMenu* menu) {
  QSettings s;
  m_useCacheAction = menu->addAction(tr("Use the &embedding cache (pre-encoded images open at once)"));
  m_useCacheAction->setCheckable(true);
  m_useCacheAction->setChecked(s.value("cache/enabled", true).toBool());
  connect(m_useCacheAction, &QAction::toggled, this, [this](bool on) {
    QSettings().setValue("cache/enabled", on);
    applyCacheSettings();
    if (!on) m_embedTask->cancel();
  });
  m_preEncodeAction = menu->addAction(tr("Pre-encode &folders in the background"));
  m_preEncodeAction->setCheckable(true);
  m_preEncodeAction->setChecked(s.value("cache/preEncode", true).toBool());
  connect(m_preEncodeAction, &QAction::toggled, this, [this](bool on) {
    QSettings().setValue("cache/preEncode", on);
    if (on) {
      schedulePreEncode(0);
    } else {
      m_embedTask->cancel();
    }
  });
  menu->addAction(tr("Embedding cache &size limit..."), this, [this] {
    bool ok = false;
    const int mb = QInputDialog::getInt(
        this, tr("Embedding cache"),
        tr("Cache folder: %1\nLeast recently used embeddings are removed beyond (MB):").arg(embeddingCacheDir()),
        QSettings().value("cache/maxMB", 2048).toInt(), 16, 1 << 20, 256, &ok);
    if (!ok) return;
    QSettings().setValue("cache/maxMB", mb);
    applyCacheSettings();
  });
  m_embedTask = new BackgroundTask("pre-encode", this);
  statusBar()->addPermanentWidget(m_embedTask);
  m_preEncodeTimer = new QTimer(this);
  m_preEncodeTimer->setSingleShot(true);
  connect(m_preEncodeTimer, &QTimer::timeout, this, &MainWindow::startPreEncode);
  connect(m_embedTask, &BackgroundTask::finished, this, [this](bool ok, bool cancelled, const QString& msg) {
    if (m_preEncodeAgain) {
      m_preEncodeAgain = false;
      startPreEncode();
      return;
    }
    if (ok) {
      statusBar()->showMessage(msg, 8000);
    } else if (!cancelled) {
      statusBar()->showMessage(tr("Pre-encoding stopped: %1").arg(msg), 10000);
    }
    emit preEncodeDone(ok);
  });
  applyCacheSettings();
}

void MainWindow::setEmbeddingCacheEnabled(bool on) { m_useCacheAction->setChecked(on); }

bool MainWindow::preEncoding() const { return m_embedTask && m_embedTask->running(); }

void MainWindow::applyCacheSettings() {
  const bool on = m_useCacheAction->isChecked();
  const qint64 maxBytes = QSettings().value("cache/maxMB", 2048).toLongLong() << 20;
  m_inference->worker()->postCacheSettings(on ? embeddingCacheDir() : QString(), maxBytes);
}

void MainWindow::schedulePreEncode(int delayMs) {
  if (!m_preEncodeAction->isChecked() || !m_useCacheAction->isChecked()) return;
  m_preEncodeTimer->start(delayMs);
}

void MainWindow::startPreEncode() {
  if (!m_space.valid() || m_folder.isEmpty() || !m_useCacheAction->isChecked()) return;
  if (m_embedTask->running()) {  // a job for another model or subnet: stop it, then start again
    m_preEncodeAgain = true;
    m_embedTask->cancel();
    return;
  }
  pipeline::EmbedJob job;
  job.checkpoint = m_modelInfo.path;
  if (!m_archOverride.isEmpty()) job.arch = m_archOverride.toStdString();
  job.subnet = m_space.toString(m_subnet);
  job.folder = QFileInfo(m_folder.first()).absolutePath().toStdString();
  job.cacheDir = embeddingCacheDir().toStdString();
  job.maxCacheBytes = QSettings().value("cache/maxMB", 2048).toLongLong() << 20;
  m_preEncodedFor = QString::fromStdString(job.subnet);
  InferenceWorker* interactive = m_inference->worker();
  m_embedTask->start(tr("Pre-encoding the folder"), [job, interactive](JobContext& ctx) -> QString {
    // Between images, the job waits while the interactive worker is busy: the annotator's clicks come first.
    util::JobControl control = ctx.control();
    const util::ProgressFn report = control.progress;
    control.progress = [report, interactive, &ctx](long long done, long long total, const std::string& status) {
      while (interactive->working() && !ctx.cancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (report) report(done, total, status);
    };
    const pipeline::EmbedStats st = pipeline::embedFolder(job, control);
    QString msg = QObject::tr("Pre-encoded %1 of %2 images for subnet %3 (%4 already cached)")
                      .arg(st.encoded + st.reused)
                      .arg(st.images)
                      .arg(QString::fromStdString(st.subnet))
                      .arg(st.reused);
    if (st.failed > 0) msg += QObject::tr("; %1 could not be read, e.g. %2").arg(st.failed).arg(
                                  QString::fromStdString(st.failures.front().reason));
    if (st.cancelled) throw util::Cancelled();
    return msg;
  });
}

}  // namespace supersam::ui
