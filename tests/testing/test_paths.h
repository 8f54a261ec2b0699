// Where tests find the SDK vectors, the sample messages and the built binaries. A missing vector file fails the test
// (ADD_FAILURE), it is never skipped.
#pragma once

#include <string>

namespace alipaymsg::testing {

// $ALIPAYMSG_VECTORS, else tests/data/vectors in the checkout.
std::string VectorsDir();
// $ALIPAYMSG_MESSAGES, else tests/data/messages in the checkout.
std::string MessagesDir();
std::string SourceDir();
// Directory holding alipay-msg, alipay-msgd, alipay-msg-sim.
std::string BinDir();

// Reads a whole file (binary). Fails the current test (and returns "") when it cannot.
std::string ReadFileOrFail(const std::string& path);
// VectorsDir() + "/" + relative.
std::string VectorPath(const std::string& relative);
// A fresh empty directory under $TMPDIR, removed at process exit.
std::string MakeTempDir(const std::string& prefix = "alipaymsg-test");

}  // namespace alipaymsg::testing
