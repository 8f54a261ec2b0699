// The repository stands alone: the data the tests read is inside the checkout, and nothing in the
// build, the scripts or the tests points at a folder beside it (a clone with nothing next to it, a
// release tarball or a package build must pass the suite).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "testing/test_paths.h"

namespace alipaymsg::testing {
namespace {

namespace fs = std::filesystem;

bool IsInside(const fs::path& dir, const fs::path& root) {
  const fs::path d = fs::weakly_canonical(dir);
  const fs::path r = fs::weakly_canonical(root);
  auto [root_end, dir_it] = std::mismatch(r.begin(), r.end(), d.begin(), d.end());
  return root_end == r.end();
}

TEST(TestData, DirectoriesAreInsideTheSourceTree) {
  for (const std::string& dir : {VectorsDir(), MessagesDir()}) {
    EXPECT_TRUE(IsInside(dir, SourceDir()))
        << dir << " is outside the source tree " << SourceDir()
        << ": the tests must read only what the checkout holds (tests/data/)";
    EXPECT_TRUE(fs::is_directory(dir)) << dir << " is missing";
  }
}

TEST(TestData, EverySetIsThere) {
  for (const std::string& file :
       {VectorsDir() + "/node-sdk/vectors.json", VectorsDir() + "/java-sdk/sdk_computed_vectors.json",
        VectorsDir() + "/java-sdk/extract_sign_content_vectors.json",
        MessagesDir() + "/MANIFEST.md", SourceDir() + "/tests/data/README.md"}) {
    EXPECT_TRUE(fs::is_regular_file(file)) << file << " is missing";
  }
}

// A path into the folder beside the checkout (dot-dot, slash, "shared") in a build file, script or
// test would make the suite depend on that folder. Data and prose (tests/data, Markdown) may mention it.
TEST(TestData, NoBuildFileScriptOrTestReadsBesideTheCheckout) {
  const std::string needle = std::string("..") + "/shared";
  const fs::path root = SourceDir();
  std::vector<std::string> offenders;
  for (const char* top : {"CMakeLists.txt", "scripts", ".ci", "bench", "tests", "src", "apps",
                          "examples", "fuzz", "packaging", "include"}) {
    const fs::path base = root / top;
    if (!fs::exists(base)) continue;
    auto check = [&](const fs::path& file) {
      const std::string ext = file.extension().string();
      const bool prose_or_data = ext == ".md" || ext == ".json" ||
                                 (ext == ".txt" && file.filename() != "CMakeLists.txt");
      if (prose_or_data) return;
      std::ifstream in(file, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      if (ss.str().find(needle) != std::string::npos) {
        offenders.push_back(fs::relative(file, root).string());
      }
    };
    if (fs::is_regular_file(base)) {
      check(base);
      continue;
    }
    for (auto it = fs::recursive_directory_iterator(base); it != fs::recursive_directory_iterator();
         ++it) {
      const std::string name = it->path().filename().string();
      if (it->is_directory() && (name == "data" || name == "results" || name == "profiles" ||
                                 name == "corpus" || name == "__pycache__")) {
        it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file()) check(it->path());
    }
  }
  EXPECT_TRUE(offenders.empty()) << "files that point beside the checkout (" << needle
                                 << "): " << ::testing::PrintToString(offenders);
}

}  // namespace
}  // namespace alipaymsg::testing
