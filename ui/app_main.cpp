#include "ui/app_main.h"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <optional>
#include <vector>

#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFileInfo>
#include <QIcon>
#include <QTimer>

#include "core/util/runtime.h"
#include "ui/main_window.h"
#include "ui/widgets/image_canvas.h"

namespace supersam::ui {

namespace {

// Runs the event loop until `signal` fires or `ms` pass. True when it fired.
template <typename Sender, typename Signal>
bool waitFor(Sender* sender, Signal signal, int ms) {
  QEventLoop loop;
  QTimer timer;
  timer.setSingleShot(true);
  bool fired = false;
  QObject::connect(&timer, &QTimer::timeout, &loop, &QEventLoop::quit);
  auto c = QObject::connect(sender, signal, &loop, [&] {
    fired = true;
    loop.quit();
  });
  timer.start(ms);
  loop.exec();
  QObject::disconnect(c);
  return fired;
}

bool waitForModel(MainWindow& w, int ms) {
  if (w.modelLoaded()) return true;
  return waitFor(&w, &MainWindow::modelReady, ms) && w.modelLoaded();
}

// Waits for the first shown result that satisfies pred.
template <typename Pred>
bool waitForResult(MainWindow& w, Pred pred, int ms) {
  QElapsedTimer t;
  t.start();
  while (t.elapsed() < ms) {
    if (!waitFor(&w, &MainWindow::resultShown, static_cast<int>(ms - t.elapsed()))) return false;
    if (pred()) return true;
  }
  return false;
}

double median(std::vector<double> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int screenshot(QApplication& app, MainWindow& w, const QString& out, const QString& point) {
  w.resize(1400, 900);
  w.show();
  if (!waitForModel(w, 120000)) {
    std::fprintf(stderr, "supersam-studio: no model loaded (%s)\n", qPrintable(w.lastError()));
    return 1;
  }
  if (!w.hasImage()) {
    std::fprintf(stderr, "supersam-studio: no image to show\n");
    return 1;
  }
  const QImage& img = w.canvas()->image();
  QPointF p(img.width() * 0.5, img.height() * 0.4);
  if (!point.isEmpty()) {
    const auto parts = point.split(',');
    if (parts.size() == 2) p = QPointF(parts[0].toDouble(), parts[1].toDouble());
  }
  w.addPoint(p, 1);
  if (!waitForResult(w, [&] { return w.lastResult().has_value(); }, 120000)) {
    std::fprintf(stderr, "supersam-studio: no mask within 120 s (%s)\n", qPrintable(w.lastError()));
    return 1;
  }
  // Let the latency measurement and repaints settle.
  waitFor(&w, &MainWindow::latencyShown, 5000);
  app.processEvents();
  const QPixmap shot = w.grab();
  if (!shot.save(out)) {
    std::fprintf(stderr, "supersam-studio: cannot write %s\n", qPrintable(out));
    return 1;
  }
  std::printf("screenshot: %s (%dx%d), mask area %lld px\n", qPrintable(out), shot.width(), shot.height(),
              static_cast<long long>(w.lastResult()->masks[w.lastResult()->best].area()));
  return 0;
}

int benchmark(MainWindow& w, int repeats) {
  w.setLatencyMeasurement(false);
  w.resize(1200, 800);
  w.show();
  if (!waitForModel(w, 120000) || !w.hasImage()) {
    std::fprintf(stderr, "supersam-studio: benchmark needs a model and an image (%s)\n", qPrintable(w.lastError()));
    return 1;
  }
  waitForResult(w, [] { return true; }, 60000);  // the initial encode
  const QImage& img = w.canvas()->image();
  const auto space = w.space();
  const int depth = space.depth();
  std::vector<double> compute;  // worker time (encode + decode) of the request that was shown
  const auto shownAfter = [&](auto&& action, auto&& pred) {
    QElapsedTimer t;
    t.start();
    action();
    if (!waitForResult(w, pred, 60000)) return -1.0;
    w.canvas()->repaint();
    const double ms = t.nsecsElapsed() / 1e6;
    if (w.lastResult()) compute.push_back(w.lastResult()->encodeMs + w.lastResult()->decodeMs);
    return ms;
  };
  std::vector<double> prompt, lastWidth, full, promptCompute, lastWidthCompute, fullCompute;
  const auto big = space.largest();
  for (int i = 0; i < repeats; ++i) {
    const QPointF p(img.width() * (0.3 + 0.4 * ((i * 37) % 10) / 10.0), img.height() * (0.3 + 0.04 * (i % 10)));
    const size_t n = w.prompts().points.size() + 1;
    prompt.push_back(shownAfter([&] { w.addPoint(p, 1); },
                                [&] { return w.lastResult() && w.lastResult()->masks.size() > 0 && w.prompts().points.size() == n; }));
    if (w.prompts().points.size() >= 4) w.clearPrompts(), waitForResult(w, [] { return true; }, 60000);
  }
  promptCompute.swap(compute);
  if (w.prompts().empty()) {
    w.addPoint(QPointF(img.width() * 0.5, img.height() * 0.5), 1);
    waitForResult(w, [&] { return w.lastResult().has_value(); }, 60000);
  }
  const auto& info = space.info();
  const auto narrowest = [&](int b) { return info.blocks[b].widthChoices.front(); };
  for (int i = 0; i < repeats; ++i) {
    auto cfg = big;
    if (i % 2 == 0) cfg[depth - 1].mlpWidth = narrowest(depth - 1);
    const std::string s = space.toString(cfg);
    lastWidth.push_back(shownAfter([&] { w.loadSubnetString(QString::fromStdString(s)); },
                                   [&] { return w.lastResult() && w.lastResult()->subnet == s; }));
  }
  lastWidthCompute.swap(compute);
  for (int i = 0; i < repeats; ++i) {
    auto cfg = big;
    if (i % 2 == 0) cfg[0].mlpWidth = narrowest(0);
    const std::string s = space.toString(cfg);
    full.push_back(shownAfter([&] { w.loadSubnetString(QString::fromStdString(s)); },
                              [&] { return w.lastResult() && w.lastResult()->subnet == s; }));
  }
  fullCompute.swap(compute);
  std::printf("benchmark: model %s, image %dx%d, %d threads, %d repeats (median ms, prompt/subnet change to mask "
              "painted)\n",
              space.info().summary.c_str(), img.width(), img.height(), util::threads(), repeats);
  std::printf("  %-30s %10s %18s\n", "case", "shown", "worker compute");
  std::printf("  %-30s %8.1f ms %15.1f ms\n", "prompt change", median(prompt), median(promptCompute));
  std::printf("  %-30s %8.1f ms %15.1f ms\n", "width change in last block", median(lastWidth),
              median(lastWidthCompute));
  std::printf("  %-30s %8.1f ms %15.1f ms\n", "full re-encode (block 0)", median(full), median(fullCompute));
  std::printf("  (worker compute = encode + decode incl. the largest-subnet reference decode)\n");
  return 0;
}

// Elastic annotation: open an image and click at once, as an annotator stepping through a folder does; time to
// the first mask shown and to the chosen subnet's mask, with the fast preview off and on (same run, same image).
int benchmarkOpen(MainWindow& w, int repeats) {
  w.setLatencyMeasurement(false);
  w.resize(1200, 800);
  w.show();
  if (!waitForModel(w, 300000) || !w.hasImage()) {
    std::fprintf(stderr, "supersam-studio: benchmark needs a model and an image (%s)\n", qPrintable(w.lastError()));
    return 1;
  }
  waitForResult(w, [] { return true; }, 300000);  // the launch's own encode
  const QString image = w.currentImagePath();
  const auto space = w.space();
  std::printf("benchmark-open: model %s, image %s, %d threads, %d repeats (median ms from opening the image)\n",
              space.info().summary.c_str(), qPrintable(QFileInfo(image).fileName()), util::threads(), repeats);
  double chosenAlone = -1;
  // "cached": the image was encoded once before (its embedding is in the on-disk cache, as after pre-encoding).
  for (const QString mode : {"off", "auto", "prefix", "cached"}) {
    const bool preview = mode == "auto" || mode == "prefix";
    w.setFastPreview(preview);
    if (preview) w.setPreviewMode(mode);
    w.setEmbeddingCacheEnabled(mode == "cached");
    if (mode == "cached") {  // one visit that stores the embedding
      w.openImage(image);
      w.addPoint(QPointF(w.canvas()->image().width() * 0.5, w.canvas()->image().height() * 0.45), 1);
      waitForResult(w, [&] { return w.lastResult() && !w.lastResult()->masks.empty() && !w.lastResult()->preview; },
                    600000);
    }
    std::vector<double> first, final, previewIoU;
    std::string previewSubnet;
    for (int i = 0; i < repeats; ++i) {
      QElapsedTimer t;
      t.start();
      if (!w.openImage(image)) return 1;
      const QImage& img = w.canvas()->image();
      w.addPoint(QPointF(img.width() * 0.5, img.height() * 0.45), 1);
      double firstMs = -1;
      std::optional<PredictionResult> firstResult;
      const bool ok = waitForResult(w, [&] {
        const auto& r = w.lastResult();
        if (!r || r->masks.empty()) return false;
        if (firstMs < 0) {
          firstMs = t.nsecsElapsed() / 1e6;
          firstResult = *r;
        }
        return !r->preview;
      }, 600000);
      if (!ok) {
        std::fprintf(stderr, "supersam-studio: no mask within 600 s (%s)\n", qPrintable(w.lastError()));
        return 1;
      }
      final.push_back(t.nsecsElapsed() / 1e6);
      first.push_back(firstMs);
      if (firstResult && firstResult->preview) {
        previewSubnet = firstResult->subnet;
        const auto& r = *w.lastResult();
        previewIoU.push_back(maskIoU(firstResult->masks[firstResult->best], r.masks[r.best]));
      }
    }
    if (mode == "off") chosenAlone = median(final);
    std::printf("  preview %-6s first mask %9.1f ms  chosen subnet's mask %9.1f ms  (%.2fx / %.2fx of the chosen "
                "subnet alone)\n",
                qPrintable(mode), median(first), median(final), median(first) / chosenAlone,
                median(final) / chosenAlone);
    if (mode == "cached") {
      std::printf("    (embedding read from the cache folder %s)\n", qPrintable(w.embeddingCacheDir()));
    } else if (preview && !previewSubnet.empty()) {
      const auto pf = space.figures(space.parse(previewSubnet));
      std::printf("    preview subnet %s (%.2f M parameters, %.3f GMACs); IoU(preview mask, final mask) median %.3f\n",
                  previewSubnet.c_str(), pf.params / 1e6, pf.gmacs, median(previewIoU));
    } else if (preview) {
      std::printf("    no preview: no subnet costs at most half of the chosen one\n");
    }
  }
  return 0;
}

}  // namespace

int runStudio(QApplication& app) {
  try {
    QApplication::setApplicationName("SuperSAM Studio");
    QApplication::setOrganizationName("SuperSAM");
    QApplication::setApplicationVersion(SUPERSAM_VERSION);
    QApplication::setWindowIcon(QIcon(":/supersam/icon.png"));
    QCommandLineParser cli;
    cli.setApplicationDescription("SuperSAM Studio: segment with SAM and explore its elastic subnets.");
    cli.addHelpOption();
    cli.addVersionOption();
    cli.addPositionalArgument("input", "An image or a folder of images to open.", "[image|folder]");
    QCommandLineOption model("model", "Checkpoint to open (.pth, our .safetensors, HF SAM).", "path");
    QCommandLineOption arch("arch", "Architecture for a bare checkpoint: vit_b/vit_l/vit_h or a JSON file.", "arch");
    QCommandLineOption results("results", "Results database to show in the Pareto plot.", "db");
    QCommandLineOption threads("threads", "LibTorch threads (default: all cores).", "n", "0");
    QCommandLineOption shot("screenshot", "Save a picture of the window with a mask to FILE and quit.", "file");
    QCommandLineOption point("point", "Point (image pixels) clicked for --screenshot.", "x,y");
    QCommandLineOption bench("benchmark", "Measure prompt/subnet change to mask shown, print, quit.");
    QCommandLineOption benchOpen("benchmark-open",
                                 "Measure opening an image and clicking: time to the first and to the chosen "
                                 "subnet's mask, fast preview off and on; print, quit.");
    QCommandLineOption subnet("subnet", "Subnet to choose at launch (string, largest or smallest).", "subnet");
    QCommandLineOption repeats("repeats", "Repetitions per benchmark case.", "n", "10");
    cli.addOptions({model, arch, results, threads, shot, point, bench, benchOpen, subnet, repeats});
    cli.process(app);

    util::setThreads(cli.value(threads).toInt());
    MainWindow w;
    const bool batch = cli.isSet(shot) || cli.isSet(bench) || cli.isSet(benchOpen);
    w.setErrorDialogsEnabled(!batch);
    const QStringList inputs = cli.positionalArguments();
    w.openDefaults(!cli.isSet(model), inputs.isEmpty());
    if (cli.isSet(model)) w.loadCheckpoint(cli.value(model), cli.value(arch));
    if (!inputs.isEmpty()) {
      if (QFileInfo(inputs.first()).isDir()) {
        w.openFolder(inputs.first());
      } else {
        w.openImage(inputs.first());
      }
    }
    if (cli.isSet(results)) {
      w.openResults(cli.value(results));
    } else if (!cli.isSet(bench) && !cli.isSet(benchOpen)) {
      w.restoreResults(!cli.isSet(model));
    }
    if (cli.isSet(subnet)) {
      if (!waitForModel(w, 300000)) {
        std::fprintf(stderr, "supersam-studio: no model loaded (%s)\n", qPrintable(w.lastError()));
        return 1;
      }
      const QString text = cli.value(subnet);
      if (!w.loadSubnetString(text == "largest"    ? QString::fromStdString(w.space().toString(w.space().largest()))
                              : text == "smallest" ? QString::fromStdString(w.space().toString(w.space().smallest()))
                                                   : text)) {
        std::fprintf(stderr, "supersam-studio: %s\n", qPrintable(w.lastError()));
        return 1;
      }
    }
    if (cli.isSet(benchOpen)) return benchmarkOpen(w, std::max(1, cli.value(repeats).toInt()));
    if (cli.isSet(shot)) return screenshot(app, w, cli.value(shot), cli.value(point));
    if (cli.isSet(bench)) return benchmark(w, std::max(2, cli.value(repeats).toInt()));
    w.show();
    return app.exec();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "supersam-studio: %s\n", e.what());
    return 1;
  }
}

}  // namespace supersam::ui
