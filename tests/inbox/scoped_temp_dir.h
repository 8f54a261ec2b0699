// A fresh directory under $TMPDIR, removed when the object goes away (kept with ALIPAYMSG_KEEP_TMP).
// Used instead of testing::MakeTempDir, whose at-exit cleanup reads a static vector that is already
// destroyed by then (it is constructed after the atexit registration) and aborts the test binary.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace alipaymsg::testing {

class ScopedTempDir {
 public:
  explicit ScopedTempDir(const std::string& prefix = "alipaymsg-test") {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed for " << tmpl;
      return;
    }
    path_ = buf.data();
  }
  ~ScopedTempDir() {
    if (path_.empty() || std::getenv("ALIPAYMSG_KEEP_TMP") != nullptr) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace alipaymsg::testing
