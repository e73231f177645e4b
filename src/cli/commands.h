// The walship commands, one function each (DESIGN.md §1.2). main() parses the
// command line and calls exactly one of them; each returns the process exit
// status and prints its own errors. This directory is the only place that
// knows every module (DESIGN.md §2).
#pragma once

#include "cli/args.h"

namespace walship::cli {

int RunMount(const CommandLine& cl);
int RunImport(const CommandLine& cl);
int RunExport(const CommandLine& cl);
int RunStatus(const CommandLine& cl);
int RunRestore(const CommandLine& cl);
int RunVersion(const CommandLine& cl);
int RunRun(const CommandLine& cl);
// Commands whose issues have not landed yet: a clear error, exit status 1.
int RunNotBuilt(const CommandLine& cl);

}  // namespace walship::cli
