// Long jobs from the GUI on the tiny model and real data: a search streams points into the Pareto plot and stops
// on cancel; the search dialog offers the OpenTuner backend and says when its Python is missing; a training run shows its loss curve; cancelled it keeps a checkpoint, writes no output and leaves the model alone, resumed it finishes and opens only on request; an evaluation
// and a calibration run to the end.
#include <QFileInfo>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QTest>
#include <gtest/gtest.h>

#include "tests/ui/ui_test_support.h"
#include "ui/app_paths.h"
#include "ui/dialogs/job_dialog.h"
#include "ui/main_window.h"
#include "ui/widgets/pareto_plot.h"
#include "ui/workers/job_worker.h"

namespace supersam::ui {
namespace {

QString dsbSpec(int limit) {
  return QString::fromStdString("dsb2018:" + test::dataDir() + "/dsb2018-nuclei:val,limit=" + std::to_string(limit));
}

class JobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = QString::fromStdString(test::tempDir("ui-jobs"));
    w = std::make_unique<MainWindow>();
    w->setErrorDialogsEnabled(false);
    QSignalSpy ready(w.get(), &MainWindow::modelReady);
    w->loadCheckpoint(QString::fromStdString(test::tinyCheckpoint()));
    ASSERT_TRUE(ready.wait(30000));
  }
  QString dir;
  std::unique_ptr<MainWindow> w;
};

TEST_F(JobsTest, SearchStreamsIntoTheParetoPlotAndCancels) {
  JobDialog* d = w->jobDialog(JobKind::Search);
  EXPECT_EQ(d->value("checkpoint").toString().toStdString(), test::tinyCheckpoint());
  d->setValue("dataset", dsbSpec(2));
  d->setValue("db", dir + "/results.sqlite");
  d->setValue("budget", 10000);
  d->setValue("images", 2);
  d->setValue("objects", 4);
  QSignalSpy done(d, &JobDialog::jobFinished);
  d->start();
  EXPECT_TRUE(d->running());
  ASSERT_TRUE(test::waitUntil([&] { return w->paretoPlot()->points().size() >= 3 || !done.isEmpty(); }, 60000))
      << "no search point arrived";
  ASSERT_TRUE(done.isEmpty()) << d->summary().toStdString();
  d->cancel();
  ASSERT_TRUE(done.wait(30000));
  EXPECT_TRUE(done.at(0).at(1).toBool()) << "finished without being cancelled: " << d->summary().toStdString();
  EXPECT_FALSE(d->running());
  EXPECT_GE(d->pointsPlotted(), 3);
  // The finished search reloads the database: every evaluated point is there.
  EXPECT_TRUE(QFileInfo::exists(dir + "/results.sqlite"));
  ASSERT_TRUE(test::waitUntil([&] { return w->paretoPlot()->points().size() >= 3; }));
  EXPECT_FALSE(w->paretoPlot()->points().front().subnet.empty());
}

TEST_F(JobsTest, SearchDialogOffersOpenTunerAndWidthsAndReportsAMissingPython) {
  JobDialog* d = w->jobDialog(JobKind::Search);
  EXPECT_EQ(d->value("widths").toString(), "ordinal");
  EXPECT_EQ(d->value("python").toString(), "/usr/bin/python3");
  d->setValue("widths", "enum");
  EXPECT_EQ(d->value("widths").toString(), "enum");
  d->setValue("backend", "opentuner");
  ASSERT_EQ(d->value("backend").toString(), "opentuner") << "the backend list lacks opentuner";
  // A latency budget in this machine's predicted milliseconds (the latency table) or measured ones.
  EXPECT_EQ(d->value("latency").toString(), "measured");
  d->setValue("latency", "predicted");
  EXPECT_EQ(d->value("latency").toString(), "predicted");
  d->setValue("latency", "measured");
  d->setValue("python", dir + "/no-such-python");
  d->setValue("dataset", dsbSpec(2));
  d->setValue("db", dir + "/opentuner.sqlite");
  d->setValue("budget", 3);
  d->setValue("images", 2);
  d->setValue("objects", 2);
  QSignalSpy done(d, &JobDialog::jobFinished);
  d->start();
  ASSERT_TRUE(done.wait(60000));
  EXPECT_FALSE(done.at(0).at(0).toBool()) << d->summary().toStdString();
  EXPECT_TRUE(d->summary().contains("no-such-python")) << d->summary().toStdString();
}

TEST_F(JobsTest, CancelledTrainingKeepsACheckpointWritesNoOutputAndLeavesTheModelAlone) {
  JobDialog* d = w->jobDialog(JobKind::Train);
  d->setValue("dataset", dsbSpec(4));
  d->setValue("steps", 100000);
  d->setValue("batch", 1);
  d->setValue("checkpoint_every", 1);
  d->setValue("out", dir + "/trained.safetensors");
  QSignalSpy done(d, &JobDialog::jobFinished);
  QSignalSpy file(d, &JobDialog::resultFileReady);
  d->start();
  ASSERT_TRUE(test::waitUntil([&] { return d->pointsPlotted() >= 2 || !done.isEmpty(); }, 60000));
  ASSERT_TRUE(done.isEmpty()) << d->summary().toStdString();
  d->cancel();
  ASSERT_TRUE(done.wait(30000));
  EXPECT_TRUE(done.at(0).at(1).toBool()) << d->summary().toStdString();
  EXPECT_TRUE(d->summary().contains("stopped at step")) << d->summary().toStdString();
  // A cancelled run leaves what lets it resume, never its final output, and does not touch the studio's model.
  EXPECT_FALSE(QFileInfo::exists(dir + "/trained.safetensors"));
  EXPECT_TRUE(QFileInfo::exists(dir + "/trained.safetensors.ckpt")) << d->summary().toStdString();
  EXPECT_FALSE(d->openResultButton()->isVisible() && d->openResultButton()->isEnabled());
  QTest::qWait(300);
  EXPECT_TRUE(file.isEmpty());
  EXPECT_EQ(w->space().info().path, test::tinyCheckpoint());

  // Resume: the same dialog continues from the checkpoint and, finished, writes the output; only the user's
  // click on "Open in studio" loads it.
  d->setValue("steps", 3);
  d->setValue("resume", true);
  d->start();
  ASSERT_TRUE(done.wait(120000));
  ASSERT_TRUE(done.at(1).at(0).toBool()) << d->summary().toStdString();
  EXPECT_TRUE(QFileInfo::exists(dir + "/trained.safetensors")) << d->summary().toStdString();
  QTest::qWait(300);
  EXPECT_TRUE(file.isEmpty()) << "a finished job swapped the model by itself";
  EXPECT_EQ(w->space().info().path, test::tinyCheckpoint());
  ASSERT_TRUE(d->openResultButton()->isEnabled());
  d->openResultButton()->click();
  ASSERT_EQ(file.size(), 1);
  ASSERT_TRUE(test::waitUntil(
      [&] { return w->modelLoaded() && QString::fromStdString(w->space().info().path).endsWith("trained.safetensors"); },
      30000));
}

TEST_F(JobsTest, EvaluateAndCalibrateRunToTheEnd) {
  JobDialog* e = w->jobDialog(JobKind::Evaluate);
  e->setValue("dataset", dsbSpec(2) + "+" + dsbSpec(1) + ",name=second");
  e->setValue("images", 2);
  e->setValue("objects", 4);
  QSignalSpy evalDone(e, &JobDialog::jobFinished);
  // The bar only moves forward over the preparation and every dataset.
  int lastProgress = -1;
  bool backwards = false;
  QObject::connect(w->jobRunner(), &JobRunner::progress, e, [&] {
    const int v = e->progressValue();
    backwards |= v < lastProgress;
    lastProgress = std::max(lastProgress, v);
  });
  e->start();
  ASSERT_TRUE(evalDone.wait(60000));
  EXPECT_FALSE(backwards);
  EXPECT_TRUE(evalDone.at(0).at(0).toBool()) << e->summary().toStdString();
  EXPECT_TRUE(e->summary().contains("mIoU")) << e->summary().toStdString();
  // One named bar per dataset for the model and one for the box-fill baseline.
  ASSERT_EQ(e->plotData().barNames.size(), 2);
  EXPECT_EQ(e->plotData().barNames[1], "second");
  EXPECT_EQ(e->plotData().x.size(), 2u);
  EXPECT_EQ(e->plotData().x2.size(), 2u);

  JobDialog* c = w->jobDialog(JobKind::Calibrate);
  c->setValue("dataset", dsbSpec(2));
  c->setValue("images", 2);
  c->setValue("out", dir + "/calibrated.safetensors");
  QSignalSpy calDone(c, &JobDialog::jobFinished);
  c->start();
  ASSERT_TRUE(calDone.wait(60000));
  EXPECT_TRUE(calDone.at(0).at(0).toBool()) << c->summary().toStdString();
  EXPECT_EQ(c->pointsPlotted(), 4) << "one sensitivity bar per block";
  EXPECT_TRUE(QFileInfo::exists(dir + "/calibrated.safetensors"));
  // The calibrated supernet opens with its measured sensitivity when the user asks for it.
  EXPECT_FALSE(w->space().info().hasSupernetData);
  ASSERT_TRUE(c->openResultButton()->isEnabled());
  c->openResultButton()->click();
  ASSERT_TRUE(test::waitUntil([&] { return w->space().info().hasSupernetData; }, 30000));
}

TEST_F(JobsTest, OutputsDefaultToTheUsersFolderAndValuesAreRememberedNextTime) {
  QSettings().remove("jobs");  // values remembered from the tests before
  // Never beside the model (the demo lives in the read-only install folder).
  JobDialog* t = w->jobDialog(JobKind::Train);
  EXPECT_TRUE(t->value("out").toString().startsWith(userDataDir("models"))) << t->value("out").toString().toStdString();
  JobDialog* c = w->jobDialog(JobKind::Calibrate);
  EXPECT_TRUE(c->value("out").toString().startsWith(userDataDir("models")));
  JobDialog* s = w->jobDialog(JobKind::Search);
  EXPECT_TRUE(s->value("db").toString().startsWith(userDataDir("results")));
  // A value used in a run comes back in the next session's dialog (the model field follows the current model).
  t->setValue("dataset", dsbSpec(1));
  t->setValue("steps", 1);
  t->setValue("batch", 1);
  t->setValue("lr", 0.0005);
  t->setValue("out", dir + "/remembered.safetensors");
  QSignalSpy done(t, &JobDialog::jobFinished);
  t->start();
  ASSERT_TRUE(done.wait(120000));
  MainWindow next;
  next.setErrorDialogsEnabled(false);
  JobDialog* again = next.jobDialog(JobKind::Train);
  EXPECT_EQ(again->value("dataset").toString(), dsbSpec(1));
  EXPECT_DOUBLE_EQ(again->value("lr").toDouble(), 0.0005);
  EXPECT_EQ(again->value("steps").toInt(), 1);
}

}  // namespace
}  // namespace supersam::ui
