#include "core/util/atomic_file.h"

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
