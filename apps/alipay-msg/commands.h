// Subcommands of the alipay-msg CLI. Each Add* registers its subcommand; the callback it installs
// sets the process exit code through `exit_code` (0 ok, 1 "no" answer such as an invalid
// signature, 2 bad arguments or unreadable files).
#pragma once

#include <CLI/CLI.hpp>

namespace alipaymsg::cli {

void AddCryptoCommands(CLI::App& app, int& exit_code);
// check-config, inbox (daemon_commands.cpp) and send (send_command.cpp).
void AddDaemonCommands(CLI::App& app, int& exit_code);
void AddSendCommand(CLI::App& app, int& exit_code);
// A multi-line error (config errors come one per line): one "alipay-msg: ..." line each.
void PrintErrorLines(const std::string& message);

// Prints "alipay-msg: <message>" on stderr, one line.
void PrintError(const std::string& message);

}  // namespace alipaymsg::cli
