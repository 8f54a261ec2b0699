#include "testing/test_paths.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

namespace alipaymsg::testing {
namespace {

std::string FromEnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? std::string(v) : std::string(fallback);
}

// Deliberately leaked: the atexit handler below runs after static destructors would have.
std::vector<std::string>& TempDirs() {
  static auto* dirs = new std::vector<std::string>;
  return *dirs;
}

void RemoveTempDirs() {
  if (std::getenv("ALIPAYMSG_KEEP_TMP") != nullptr) return;
  for (const auto& d : TempDirs()) {
    std::error_code ec;
    std::filesystem::remove_all(d, ec);
  }
}

}  // namespace

std::string VectorsDir() { return FromEnvOr("ALIPAYMSG_VECTORS", ALIPAYMSG_VECTORS_DIR); }
std::string MessagesDir() { return FromEnvOr("ALIPAYMSG_MESSAGES", ALIPAYMSG_MESSAGES_DIR); }
std::string SourceDir() { return ALIPAYMSG_SOURCE_DIR; }
std::string BinDir() { return FromEnvOr("ALIPAYMSG_BIN_DIR", ALIPAYMSG_BIN_DIR); }

std::string ReadFileOrFail(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "required file is missing or unreadable: " << path;
    return "";
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string VectorPath(const std::string& relative) { return VectorsDir() + "/" + relative; }

std::string MakeTempDir(const std::string& prefix) {
  static std::once_flag once;
  std::call_once(once, [] { std::atexit(RemoveTempDirs); });
  std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  const char* made = ::mkdtemp(buf.data());
  if (made == nullptr) {
    ADD_FAILURE() << "mkdtemp failed for " << tmpl;
    return "";
  }
  TempDirs().emplace_back(made);
  return made;
}

}  // namespace alipaymsg::testing
