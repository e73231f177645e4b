#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "cli/args.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
  using namespace walship::cli;
  // A closed stdout or stderr (`walship mount | head -1`) must not kill the
  // node: writes to it fail with EPIPE and logging carries on. Children get
  // the default back (ChildProcess).
  std::signal(SIGPIPE, SIG_IGN);
  auto cl = ParseArgs(argc, argv);
  if (!cl.ok()) {
    std::fprintf(stderr, "%s\n", cl.status().message().c_str());
    return 2;
  }
  if (cl->command == "help") {
    std::fputs(cl->help_text.c_str(), stdout);
    return 0;
  }
  // The environment is the safer place for a secret than the command line.
  walship::http::Credentials& credentials = cl->credentials;
  if (const char* token = std::getenv("WALSHIP_AUTH_TOKEN");
      token && credentials.auth_token.empty()) {
    credentials.auth_token = token;
  }
  if (const char* ca = std::getenv("WALSHIP_TLS_CA"); ca && credentials.tls.ca.empty()) {
    credentials.tls.ca = ca;
  }
  if (cl->command == "mount") return RunMount(*cl);
  if (cl->command == "import") return RunImport(*cl);
  if (cl->command == "export") return RunExport(*cl);
  if (cl->command == "status") return RunStatus(*cl);
  if (cl->command == "restore") return RunRestore(*cl);
  if (cl->command == "version") return RunVersion(*cl);
  if (cl->command == "run") return RunRun(*cl);
  return RunNotBuilt(*cl);
}
