// The job runner: a job runs off the GUI thread, reports throttled progress and events, and stops on cancel.
#include <atomic>
#include <thread>

#include <QSignalSpy>
#include <QThread>
#include <gtest/gtest.h>

#include "tests/ui/ui_test_support.h"
#include "ui/workers/job_worker.h"

namespace supersam::ui {
namespace {

TEST(JobRunner, RunsOffTheGuiThreadAndFinishes) {
  JobRunner runner("test");
  QSignalSpy done(&runner, &JobRunner::finished);
  QSignalSpy events(&runner, &JobRunner::event);
  std::atomic<bool> offGui{false};
  QThread* gui = QThread::currentThread();
  ASSERT_TRUE(runner.start([&](JobContext& ctx) {
    offGui = QThread::currentThread() != gui;
    for (int i = 0; i < 5; ++i) {
      ctx.control().report(i + 1, 5, "step");
      ctx.emitEvent("point", {{"i", i}});
    }
    return QString("done");
  }));
  EXPECT_FALSE(runner.start([](JobContext&) { return QString(); })) << "a second job must wait";
  ASSERT_TRUE(done.wait(5000));
  EXPECT_TRUE(offGui);
  EXPECT_TRUE(done.at(0).at(0).toBool());
  EXPECT_EQ(done.at(0).at(2).toString(), "done");
  EXPECT_EQ(events.size(), 5);
  EXPECT_FALSE(runner.running());
}

TEST(JobRunner, CancelStopsALongJob) {
  JobRunner runner("test");
  QSignalSpy done(&runner, &JobRunner::finished);
  QSignalSpy progress(&runner, &JobRunner::progress);
  ASSERT_TRUE(runner.start([](JobContext& ctx) {
    for (long long i = 0; i < 100000; ++i) {
      ctx.control().check();
      ctx.control().report(i, 100000, "spinning");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return QString("not cancelled");
  }));
  QTest::qWait(200);
  runner.cancel();
  ASSERT_TRUE(done.wait(5000));
  EXPECT_FALSE(done.at(0).at(0).toBool());
  EXPECT_TRUE(done.at(0).at(1).toBool());
  // Throttled: ~20 per second, far fewer than the ~200 reports made.
  EXPECT_LT(progress.size(), 40);
  EXPECT_GT(progress.size(), 0);
}

}  // namespace
}  // namespace supersam::ui
