// libFuzzer: alipay-msgd's YAML config (ParseDaemonConfig, what LoadDaemonConfig runs on the file's
// bytes). It must answer with errors, never crash or hang. Lines "#! NAME=VALUE" (YAML comments)
// also become environment overrides, so the ALIPAY_* path is fuzzed too.
//
// Hermetic: the config "lives" in the checkout's tests/data/vectors/node-sdk/inputs, so relative
// key and certificate paths can name real files there (the seeds do, to reach the valid-config
// path); the parser only looks at file metadata (existence, type, access), never reads, writes or
// creates a file, and the environment is only what the input says.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "daemon/config.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  alipaymsg::Environment env;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    if (line.starts_with("#! ")) {
      const std::string_view assignment = line.substr(3);
      const size_t eq = assignment.find('=');
      if (eq != std::string_view::npos) env[std::string(assignment.substr(0, eq))] = assignment.substr(eq + 1);
    }
    pos = end + 1;
  }
  auto config = alipaymsg::ParseDaemonConfig(text, ALIPAYMSG_FUZZ_INPUTS "/config.yaml", env);
  if (!config.ok()) {
    alipaymsg::fuzz::Check(!config.status().message().empty());
    return 0;
  }
  alipaymsg::fuzz::Check(!config->apps.empty());
  for (const auto& warning : config->warnings) alipaymsg::fuzz::Check(!warning.empty());
  return 0;
}
