#pragma once
// The interactive inference worker: owns the SessionEngine and lives on its own QThread for the whole session.
// Latest-wins: the GUI posts the state it wants shown (image, subnet, prompts); the worker takes only the newest
// posted request when it becomes free, so a burst of slider moves costs one encode, not one per position.
// Results leave as queued signals carrying values. Nothing here touches a widget.
//
// Thread-safety: post(), postLoad() and cancelPending() may be called from any thread (the GUI's); every slot runs
// on the worker thread; signals are emitted from the worker thread.

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include <QObject>
#include <QString>
#include <QThread>

#include "ui/engine/session_engine.h"
#include "ui/workers/meta_types.h"

namespace supersam::ui {

struct InferenceRequest {
  uint64_t id = 0;
  std::shared_ptr<const ImageRgb> image;  // shared, immutable
  uint64_t imageSerial = 0;               // changes when the image changes
  std::string imagePath;                  // the image's file: the embedding cache's key (empty = no cache)
  model::ElasticConfig subnet;
  PromptSet prompts;
  bool withReference = false;  // also decode with the largest subnet (agreement IoU)
  bool measureLatency = false; // measure the encoder latency of this subnet once, when idle
};

class InferenceWorker : public QObject {
  Q_OBJECT
 public:
  InferenceWorker();
  ~InferenceWorker() override;

  // Replaces any request not started yet. Thread-safe.
  void post(InferenceRequest request);
  void postLoad(const QString& path, const QString& archOverride = {});
  // Elastic annotation: fast preview of new images and escalation of low-scoring masks. Thread-safe; applies from
  // the next request.
  void setPreview(PreviewSettings settings);
  // The on-disk embedding cache (empty dir = off), applied on the worker thread; a folder that cannot be used is
  // reported through requestFailed.
  void postCacheSettings(const QString& dir, qint64 maxBytes);
  // Writes the standalone model of `cfg` to `path` (queued behind the current request).
  // onnx: `path` is a folder that receives the ONNX pair (SessionEngine::exportOnnx).
  void postExport(const model::ElasticConfig& cfg, const QString& path, bool onnx = false);
  // True while a request, load or export runs (any thread may ask): background jobs yield to interactive work.
  bool working() const { return m_working.load(); }
  // Runs on the worker thread only; tests and the benchmark use it directly when no thread is involved.
  SessionEngine& engine() { return *m_engine; }

 signals:
  void modelLoaded(supersam::ui::ModelInfo info, supersam::ui::SubnetSpace space);
  void modelFailed(QString message);
  void resultReady(supersam::ui::PredictionResult result);
  // A larger subnet of the ladder scored the selected prompts better than the chosen subnet (escalation).
  void escalationReady(supersam::ui::PredictionResult result);
  void requestFailed(quint64 id, QString message);
  void latencyMeasured(QString subnet, double ms);
  void busyChanged(bool busy);
  void exportFinished(bool ok, QString message);

 private slots:
  void processPending();
  void processLoad();

 private:
  std::unique_ptr<SessionEngine> m_engine;
  std::mutex m_mutex;
  std::optional<InferenceRequest> m_pending;
  std::optional<std::pair<QString, QString>> m_pendingLoad;
  uint64_t m_imageSerial = 0;
  std::map<std::string, double> m_latency;  // subnet string -> ms, for the loaded model
  PreviewSettings m_preview;                // guarded by m_mutex
  std::atomic<bool> m_working{false};
  void setBusy(bool b) {
    m_working = b;
    emit busyChanged(b);
  }
  void escalate(const InferenceRequest& req, const PredictionResult& shown, const PreviewSettings& settings);
};

// Owns the worker thread. GUI thread only.
class InferenceThread : public QObject {
  Q_OBJECT
 public:
  explicit InferenceThread(QObject* parent = nullptr);
  ~InferenceThread() override;  // stops the thread after the current request
  InferenceWorker* worker() const { return m_worker; }

 private:
  QThread m_thread;
  InferenceWorker* m_worker;
};

}  // namespace supersam::ui
