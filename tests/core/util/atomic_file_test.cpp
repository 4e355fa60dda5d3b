#include "core/util/atomic_file.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include <gtest/gtest.h>

#include "core/util/error.h"
#include "tests/common/test_paths.h"

using namespace supersam;

TEST(AtomicFile, FailedWriteLeavesOldContentAndNoTemporary) {
  std::string dir = test::tempDir("atomic_file");
  std::string path = dir + "/f.txt";
  util::writeFileAtomic(path, std::string("old"));
  EXPECT_THROW(util::writeFileAtomic(path, [](std::ostream& o) {
                 o << "partial";
                 throw util::Error("boom");
               }),
               util::Error);
  EXPECT_EQ(util::readFileBytes(path), "old");
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) (void)e, ++files;
  EXPECT_EQ(files, 1);
}

TEST(AtomicFile, MissingFolderIsNamed) {
  try {
    util::writeFileAtomic("/nonexistent-folder-xyz/f.txt", std::string("x"));
    FAIL();
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find("nonexistent-folder-xyz"), std::string::npos);
  }
}

// Issue 14: temporaries of killed writes were never cleaned up. A writer's next write removes those whose process
// is gone, and leaves a running writer's alone.
TEST(AtomicFile, TemporariesOfKilledWritersAreRemovedOnTheNextWrite) {
  namespace fs = std::filesystem;
  const std::string dir = test::tempDir("atomic-stale");
  const std::string out = dir + "/model.safetensors";
  // A pid that does not run.
  long dead = 4194000;
  while (::kill(static_cast<pid_t>(dead), 0) == 0 || errno != ESRCH) ++dead;
  const std::string stale = dir + "/.model.safetensors.tmp-" + std::to_string(dead) + "-0.safetensors";
  const std::string live = dir + "/.model.safetensors.tmp-" + std::to_string(::getppid()) + "-0.safetensors";
  const std::string other = dir + "/.other.bin.tmp-" + std::to_string(dead) + "-0.bin";
  for (const auto& f : {stale, live, other}) util::writeFileAtomic(f, "partial");
  util::writeFileAtomic(out, "done");
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(live));
  EXPECT_TRUE(fs::exists(other)) << "another file's temporaries are not this write's business";
  EXPECT_EQ(util::readFileBytes(out), "done");
}
