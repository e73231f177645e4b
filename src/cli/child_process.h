// ChildProcess: the application walship runs once the node is ready
// (`mount -- CMD`, `exec`). Started with fork/exec in walship's environment;
// the parent forwards SIGINT/SIGTERM and reports the exit status.
// Thread-compatible: one controlling thread.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/status.h"

namespace walship::cli {

class ChildProcess {
 public:
  // Runs argv (argv[0] looked up in PATH).
  Status Start(const std::vector<std::string>& argv);
  // Runs a shell command line with /bin/sh -c.
  Status StartShell(const std::string& command);
  pid_t pid() const { return pid_; }
  void Signal(int sig) const;
  // Exit status as a shell reports it (128+N when killed by signal N), once
  // the child has been reaped by waitpid with `status`.
  static int ExitCode(int wait_status);

 private:
  pid_t pid_ = -1;
};

}  // namespace walship::cli
