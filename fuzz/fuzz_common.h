// Helpers shared by the fuzz targets.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace alipaymsg::fuzz {

// An invariant the code under test promises; libFuzzer reports the abort with the input.
inline void Check(bool ok) {
  if (!ok) std::abort();
}

// A key or certificate from tests/data (ALIPAYMSG_FUZZ_INPUTS); a missing file aborts at start-up.
inline std::string ReadInput(const std::string& name) {
  const std::string path = std::string(ALIPAYMSG_FUZZ_INPUTS) + "/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "fuzz target: cannot read %s\n", path.c_str());
    std::abort();
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace alipaymsg::fuzz
