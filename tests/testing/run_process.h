// Runs a program to completion with given stdin, capturing stdout, stderr and the exit code.
#pragma once

#include <string>
#include <vector>

namespace alipaymsg::testing {

struct ProcessResult {
  int exit_code = -1;  // -1 when it did not exit normally
  std::string out;
  std::string err;
};

// argv[0] is the program path (not searched in PATH). Fails the test when it cannot start.
ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& stdin_data = "");

}  // namespace alipaymsg::testing
