// alipay-msg: the command-line tool (cert SNs, sign/verify, notification checks, config, inbox).
#include <iostream>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"alipay-msg: Alipay open-platform message tools (certificates, signatures, inbox)"};
  app.set_version_flag("--version", "alipay-msg " ALIPAYMSG_VERSION);
  app.require_subcommand(1);
  int exit_code = 0;
  alipaymsg::cli::AddCryptoCommands(app, exit_code);
  alipaymsg::cli::AddDaemonCommands(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line naming the problem; exit 2 for every usage error.
    alipaymsg::cli::PrintError(e.what());
    return 2;
  }
  return exit_code;
}
