#include "ui/workers/inference_worker.h"

#include <exception>

#include <QMetaObject>

namespace supersam::ui {

void registerMetaTypes() {
  static bool done = false;
  if (done) return;
  done = true;
  qRegisterMetaType<PredictionResult>();
  qRegisterMetaType<ModelInfo>();
  qRegisterMetaType<SubnetSpace>();
}

InferenceWorker::InferenceWorker() : m_engine(std::make_unique<SessionEngine>()) { registerMetaTypes(); }

InferenceWorker::~InferenceWorker() = default;

void InferenceWorker::post(InferenceRequest request) {
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_pending = std::move(request);
  }
  QMetaObject::invokeMethod(this, &InferenceWorker::processPending, Qt::QueuedConnection);
}

void InferenceWorker::postLoad(const QString& path, const QString& archOverride) {
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_pendingLoad = std::make_pair(path, archOverride);
  }
  QMetaObject::invokeMethod(this, &InferenceWorker::processLoad, Qt::QueuedConnection);
}

void InferenceWorker::postExport(const model::ElasticConfig& cfg, const QString& path) {
  QMetaObject::invokeMethod(
      this,
      [this, cfg, path]() {
        emit busyChanged(true);
        try {
          m_engine->exportSubnet(cfg, path.toStdString());
          emit exportFinished(true, path);
        } catch (const std::exception& e) {
          emit exportFinished(false, QString::fromStdString(e.what()));
        }
        emit busyChanged(false);
      },
      Qt::QueuedConnection);
}

void InferenceWorker::processLoad() {
  std::optional<std::pair<QString, QString>> load;
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    load.swap(m_pendingLoad);
  }
  if (!load) return;
  emit busyChanged(true);
  try {
    ModelInfo info = m_engine->loadModel(load->first.toStdString(), load->second.toStdString());
    m_latency.clear();
    m_imageSerial = 0;  // the new model has to encode the image again
    emit modelLoaded(info, m_engine->space());
  } catch (const std::exception& e) {
    emit modelFailed(QString::fromStdString(e.what()));
  }
  emit busyChanged(false);
}

void InferenceWorker::processPending() {
  std::optional<InferenceRequest> req;
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    req.swap(m_pending);
  }
  if (!req) return;  // an older wake-up whose request was superseded and already served
  if (!m_engine->hasModel() || !req->image || req->image->empty()) return;
  emit busyChanged(true);
  try {
    if (req->imageSerial != m_imageSerial) {
      m_engine->setImage(*req->image);
      m_imageSerial = req->imageSerial;
    }
    PredictionResult r = m_engine->run(req->subnet, req->prompts, req->withReference);
    r.requestId = req->id;
    emit resultReady(r);
    bool idle;
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      idle = !m_pending.has_value();
    }
    if (req->measureLatency && idle && !m_latency.count(r.subnet)) {
      const double ms = m_engine->measureLatency(req->subnet, 1);
      m_latency[r.subnet] = ms;
      emit latencyMeasured(QString::fromStdString(r.subnet), ms);
    } else if (m_latency.count(r.subnet)) {
      emit latencyMeasured(QString::fromStdString(r.subnet), m_latency[r.subnet]);
    }
  } catch (const std::exception& e) {
    emit requestFailed(req->id, QString::fromStdString(e.what()));
  }
  emit busyChanged(false);
}

InferenceThread::InferenceThread(QObject* parent) : QObject(parent), m_worker(new InferenceWorker) {
  m_thread.setObjectName("inference");
  m_worker->moveToThread(&m_thread);
  connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
  m_thread.start();
}

InferenceThread::~InferenceThread() {
  m_thread.quit();
  m_thread.wait();
}

}  // namespace supersam::ui
