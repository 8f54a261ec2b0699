// A temporary directory removed when the test ends. (testing::MakeTempDir registers its at-exit
// cleanup before its list of directories exists, so the list is destroyed first and the cleanup
// crashes at exit; reported to its owner. This keeps the daemon tests independent of that.)
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

namespace alipaymsg::daemon_test {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "alipaymsg-daemon") {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (const char* made = ::mkdtemp(buf.data())) path_ = made;
  }
  ~TempDir() {
    if (path_.empty() || std::getenv("ALIPAYMSG_KEEP_TMP") != nullptr) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace alipaymsg::daemon_test
