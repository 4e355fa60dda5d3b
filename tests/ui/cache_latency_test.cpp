// The studio's embedding cache (a pre-encoded image opens without the encoder, a changed file is never served a
// stale embedding, the open folder is pre-encoded in the background) and its latency table (predicted ms on the
// Pareto plot's own axis).
#include <QDir>
#include <QFile>
#include <QSettings>
#include <gtest/gtest.h>

#include "core/infer/embedding_cache.h"
#include "tests/ui/ui_test_support.h"
#include "ui/app_paths.h"
#include "ui/engine/latency_predictor.h"
#include "ui/engine/session_engine.h"
#include "ui/main_window.h"
#include "ui/widgets/pareto_plot.h"

namespace supersam::ui {
namespace {

using test::onePoint;

TEST(StudioCache, APreEncodedImageOpensWithoutTheEncoderAndAChangedFileMisses) {
  const std::string dir = test::tempDir("ui-cache-engine");
  const QString image = QString::fromStdString(dir) + "/disc.png";
  ASSERT_TRUE(test::syntheticImage().save(image));
  const std::string cacheDir = dir + "/cache";
  SessionEngine a;
  a.loadModel(test::tinyCheckpoint());
  a.setEmbeddingCache(cacheDir, 64 << 20);
  const auto cfg = a.space().largest();
  a.setImage(test::toRgb(test::syntheticImage()), image.toStdString());
  EXPECT_FALSE(a.loadCached(cfg));
  const PredictionResult encoded = a.run(cfg, onePoint(75, 50), false);
  EXPECT_EQ(encoded.encodedFromBlock, 0);
  a.storeCurrent();
  EXPECT_EQ(infer::EmbeddingCache(cacheDir, 64 << 20).entryCount(), 1);

  // Another session: the embedding comes from the cache, the masks are the same, nothing is encoded.
  SessionEngine b;
  b.loadModel(test::tinyCheckpoint());
  b.setEmbeddingCache(cacheDir, 64 << 20);
  b.setImage(test::toRgb(test::syntheticImage()), image.toStdString());
  ASSERT_TRUE(b.loadCached(cfg));
  const PredictionResult cached = b.run(cfg, onePoint(75, 50), false);
  EXPECT_EQ(cached.encodedFromBlock, -1);
  EXPECT_EQ(cached.masks.at(0).data, encoded.masks.at(0).data);
  EXPECT_EQ(cached.iou, encoded.iou);
  // Another subnet of the same image is not in the cache: it is encoded.
  EXPECT_FALSE(b.loadCached(b.space().smallest()));
  EXPECT_GE(b.run(b.space().smallest(), onePoint(75, 50), false).encodedFromBlock, 0);

  // The file changes (same name, other pixels): never the old embedding.
  QImage changed = test::syntheticImage();
  changed.setPixelColor(3, 3, QColor(1, 2, 3));
  ASSERT_TRUE(changed.save(image));
  SessionEngine c;
  c.loadModel(test::tinyCheckpoint());
  c.setEmbeddingCache(cacheDir, 64 << 20);
  c.setImage(test::toRgb(changed), image.toStdString());
  EXPECT_FALSE(c.loadCached(cfg));
  EXPECT_EQ(c.run(cfg, onePoint(75, 50), false).encodedFromBlock, 0);
}

TEST(StudioCache, TheOpenFolderIsPreEncodedAndItsImagesOpenFromTheCache) {
  const QString dir = QString::fromStdString(test::tempDir("ui-cache-window"));
  QDir(dir + "/imgs").removeRecursively();
  QDir().mkpath(dir + "/imgs");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(test::syntheticImage(150 - 10 * i, 100).save(dir + QString("/imgs/%1.png").arg(i)));
  QDir(dir + "/cache").removeRecursively();
  QSettings().setValue("cache/dir", dir + "/cache");
  QDir(userDataDir("autosave")).removeRecursively();
  {
    MainWindow w;
    w.setErrorDialogsEnabled(false);
    w.setFastPreview(false);
    w.setEmbeddingCacheEnabled(true);
    QSignalSpy ready(&w, &MainWindow::modelReady);
    w.loadCheckpoint(QString::fromStdString(test::tinyCheckpoint()));
    ASSERT_TRUE(ready.wait(30000));
    QSignalSpy preEncoded(&w, &MainWindow::preEncodeDone);
    ASSERT_TRUE(w.openFolder(dir + "/imgs"));
    ASSERT_TRUE(preEncoded.wait(60000)) << w.lastError().toStdString();
    EXPECT_TRUE(preEncoded.first().at(0).toBool());
    EXPECT_EQ(infer::EmbeddingCache((dir + "/cache").toStdString(), 1 << 30).entryCount(), 3);
    // The next image: its mask comes with the embedding read from the cache.
    ASSERT_TRUE(w.openImage(dir + "/imgs/2.png"));
    w.addPoint(QPointF(60, 50), 1);
    ASSERT_TRUE(test::waitUntil([&] { return w.lastResult() && !w.busy() && !w.lastResult()->masks.empty(); }));
    EXPECT_EQ(w.lastResult()->encodedFromBlock, -1);
  }
  QSettings().remove("cache/dir");
}

TEST(StudioLatency, TheTableIsMeasuredOnceAndThePlotShowsPredictedMilliseconds) {
  const QString cache = QString::fromStdString(test::tempDir("ui-latency")) + "/xdg";
  QDir(cache).removeRecursively();
  qputenv("XDG_CACHE_HOME", cache.toUtf8());
  MainWindow w;
  w.setErrorDialogsEnabled(false);
  w.setFastPreview(false);
  QSignalSpy ready(&w, &MainWindow::modelReady);
  w.loadCheckpoint(QString::fromStdString(test::tinyCheckpoint()));
  ASSERT_TRUE(ready.wait(30000));
  EXPECT_FALSE(w.hasLatencyTable());
  EXPECT_LT(w.predictedLatencyMs(w.space().largest()), 0);
  QSignalSpy done(&w, &MainWindow::latencyTableDone);
  w.measureLatencyTable();
  ASSERT_TRUE(done.wait(120000));
  ASSERT_TRUE(done.first().at(0).toBool()) << w.lastError().toStdString();
  ASSERT_TRUE(w.hasLatencyTable());
  const double big = w.predictedLatencyMs(w.space().largest()), small = w.predictedLatencyMs(w.space().smallest());
  EXPECT_GT(big, 0);
  EXPECT_GT(small, 0);  // (no comparison of the two: measured times on a shared machine are not a test)
  // The table is in the user's cache: the next session reads it without measuring.
  const auto again = LatencyPredictor::loadCached(w.space());
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->predictMs(w.space().largest()), big);
  qunsetenv("XDG_CACHE_HOME");
}

}  // namespace
}  // namespace supersam::ui
