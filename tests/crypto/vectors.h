// Small helpers for the crypto tests: the shared vector files, parsed with Boost.JSON.
#pragma once

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "testing/test_paths.h"

namespace alipaymsg::testing {

// vectors/node-sdk/vectors.json, "vectors" array; fails the test when missing or malformed.
inline boost::json::array NodeVectors() {
  std::string text = ReadFileOrFail(VectorPath("node-sdk/vectors.json"));
  if (text.empty()) return {};
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_object() || !v.as_object().contains("vectors")) {
    ADD_FAILURE() << "node-sdk/vectors.json does not parse: " << ec.message();
    return {};
  }
  return v.at("vectors").as_array();
}

inline std::vector<boost::json::object> NodeVectorsOfKind(const std::string& kind) {
  std::vector<boost::json::object> out;
  for (const auto& v : NodeVectors()) {
    if (v.at("kind").as_string() == kind) out.push_back(v.as_object());
  }
  return out;
}

inline std::string NodeInput(const boost::json::value& relative) {
  return VectorPath("node-sdk/" + std::string(relative.as_string()));
}

inline std::string Str(const boost::json::value& v) { return std::string(v.as_string()); }

inline boost::json::object JavaSdkComputed() {
  std::string text = ReadFileOrFail(VectorPath("java-sdk/sdk_computed_vectors.json"));
  if (text.empty()) return {};
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) {
    ADD_FAILURE() << "java-sdk/sdk_computed_vectors.json does not parse: " << ec.message();
    return {};
  }
  return v.as_object();
}

// Text of the source tree's own test fixtures (tests/crypto/data/...).
inline std::string CryptoFixture(const std::string& name) {
  return ReadFileOrFail(SourceDir() + "/tests/crypto/data/" + name);
}

}  // namespace alipaymsg::testing
