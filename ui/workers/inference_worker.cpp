#include "ui/workers/inference_worker.h"

#include <algorithm>
#include <chrono>
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

namespace {
// Thrown by the encoder's block hook when a newer request needs another image or subnet: the encode is abandoned
// (finished blocks stay cached) and the newer request runs next.
struct Superseded {};
}  // namespace

void InferenceWorker::postCacheSettings(const QString& dir, qint64 maxBytes) {
  QMetaObject::invokeMethod(
      this,
      [this, dir, maxBytes]() {
        try {
          m_engine->setEmbeddingCache(dir.toStdString(), maxBytes);
        } catch (const std::exception& e) {
          m_engine->setEmbeddingCache({}, 0);
          emit requestFailed(0, tr("Embedding cache off: %1").arg(QString::fromStdString(e.what())));
        }
      },
      Qt::QueuedConnection);
}

void InferenceWorker::setPreview(PreviewSettings settings) {
  std::lock_guard<std::mutex> lock(m_mutex);
  m_preview = std::move(settings);
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

void InferenceWorker::postExport(const model::ElasticConfig& cfg, const QString& path, bool onnx) {
  QMetaObject::invokeMethod(
      this,
      [this, cfg, path, onnx]() {
        setBusy(true);
        try {
          if (onnx) {
            m_engine->exportOnnx(cfg, path.toStdString());
          } else {
            m_engine->exportSubnet(cfg, path.toStdString());
          }
          emit exportFinished(true, path);
        } catch (const std::exception& e) {
          emit exportFinished(false, QString::fromStdString(e.what()));
        }
        setBusy(false);
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
  setBusy(true);
  try {
    ModelInfo info = m_engine->loadModel(load->first.toStdString(), load->second.toStdString());
    m_latency.clear();
    m_imageSerial = 0;  // the new model has to encode the image again
    emit modelLoaded(info, m_engine->space());
  } catch (const std::exception& e) {
    emit modelFailed(QString::fromStdString(e.what()));
  }
  setBusy(false);
}

void InferenceWorker::processPending() {
  std::optional<InferenceRequest> req;
  PreviewSettings settings;
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    req.swap(m_pending);
    settings = m_preview;
  }
  if (!req) return;  // an older wake-up whose request was superseded and already served
  if (!m_engine->hasModel() || !req->image || req->image->empty()) return;
  setBusy(true);
  const auto t0 = std::chrono::steady_clock::now();
  const auto since = [&t0]() {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  };
  try {
    const bool newImage = req->imageSerial != m_imageSerial;
    if (newImage) {
      m_imageSerial = 0;  // until the image is set (setImage may throw)
      m_engine->setImage(*req->image, req->imagePath);
      m_imageSerial = req->imageSerial;
    }
    const SubnetSpace space = m_engine->space();
    // A pre-encoded image (embedding cache) needs neither the encoder nor a preview.
    bool cached = false;
    if (newImage) {
      try {
        cached = m_engine->loadCached(req->subnet);
      } catch (const std::exception&) {
        cached = false;  // an unreadable image file or cache entry: encode as usual
      }
    }
    const bool preview = newImage && !cached && settings.enabled && !settings.subnet.empty() &&
                         space.normalised(settings.subnet) != space.normalised(req->subnet);
    uint64_t latestId = req->id;
    PromptSet latest = req->prompts;
    if (preview) {
      PredictionResult p = m_engine->run(settings.subnet, latest, false);
      p.requestId = latestId;
      p.preview = true;
      p.finalSubnet = space.toString(req->subnet);
      p.sinceImageMs = since();
      emit resultReady(p);
    }
    // Between blocks of the chosen subnet's encode: a request for another image or subnet abandons it; with a
    // preview on screen, new prompts for this image are answered on the preview's embedding meanwhile.
    const auto hook = [&](int) {
      std::optional<InferenceRequest> next;
      {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (!m_pending) return;
        if (m_pending->imageSerial != m_imageSerial ||
            space.normalised(m_pending->subnet) != space.normalised(req->subnet)) {
          throw Superseded{};
        }
        if (!preview) return;  // same subnet, new prompts: answered right after this encode
        next.swap(m_pending);
      }
      latestId = next->id;
      latest = next->prompts;
      PredictionResult p = m_engine->decodeCurrent(latest);
      p.requestId = latestId;
      p.preview = true;
      p.finalSubnet = space.toString(req->subnet);
      emit resultReady(p);
    };
    const PredictionResult enc = m_engine->run(req->subnet, PromptSet{}, false, true, hook);
    PredictionResult r = m_engine->run(req->subnet, latest, req->withReference);
    r.requestId = latestId;
    if (enc.encodedFromBlock >= 0) {
      r.encodeMs = enc.encodeMs;
      r.encodedFromBlock = enc.encodedFromBlock;
    }
    if (newImage) {
      r.sinceImageMs = since();
      r.fromCache = cached;
      try {
        m_engine->storeCurrent();  // the next visit of this image needs no encoder
      } catch (const std::exception& e) {
        emit requestFailed(0, tr("Could not store the embedding in the cache: %1").arg(QString::fromStdString(e.what())));
      }
    }
    emit resultReady(r);
    InferenceRequest shown = *req;
    shown.id = latestId;
    shown.prompts = latest;
    escalate(shown, r, settings);
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
  } catch (const Superseded&) {
    // the newer request is queued and runs next
  } catch (const std::exception& e) {
    emit requestFailed(req->id, QString::fromStdString(e.what()));
  }
  setBusy(false);
}

void InferenceWorker::escalate(const InferenceRequest& req, const PredictionResult& shown,
                               const PreviewSettings& settings) {
  if (!settings.escalate || req.prompts.empty() || shown.masks.empty()) return;
  const float score = shown.iou.at(static_cast<size_t>(shown.best));
  if (score >= settings.threshold) return;
  // The rungs larger than the chosen subnet, smallest first: each is tried in turn until one scores better by
  // minGain (offered) or the ladder ends.
  const SubnetSpace space = m_engine->space();
  const int64_t params = space.figures(req.subnet).params;
  std::vector<std::pair<int64_t, const model::ElasticConfig*>> rungs;
  for (const auto& c : settings.ladder) {
    const int64_t p = space.figures(c).params;
    if (p > params) rungs.emplace_back(p, &c);
  }
  std::sort(rungs.begin(), rungs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  // Any newer request (new prompts included) abandons the escalation: it is about prompts no longer shown.
  const auto hook = [this](int) {
    std::lock_guard<std::mutex> lock(m_mutex);
    if (m_pending) throw Superseded{};
  };
  for (const auto& rung : rungs) {
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      if (m_pending) return;
    }
    PredictionResult alt = m_engine->runAlternative(*rung.second, req.prompts, hook);
    alt.requestId = req.id;
    if (!alt.masks.empty() && alt.iou.at(static_cast<size_t>(alt.best)) >= score + settings.minGain) {
      emit escalationReady(alt);
      return;
    }
  }
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
