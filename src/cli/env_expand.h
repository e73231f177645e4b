// Environment-variable expansion of configuration text, before YAML parsing.
//
// Follows LiteFS (Go's os.Expand plus LiteFS's comparisons):
//   $NAME, ${NAME}            the variable's value; empty when unset
//   ${NAME == 'text'}         "true" or "false"; also != and "double quotes"
//   ${NAME == OTHER}          compares two variables
// NAME is letters, digits and '_'. A '$' followed by anything else is kept as
// is. walship additions: "$$" is a literal '$', and a "${...}" that is none of
// the forms above (such as the shell's ${NAME:-default}) or lacks its closing
// brace is an error naming the line, instead of silently becoming empty.
//
// Thread-safety: ExpandEnv is reentrant; ProcessEnvLookup reads the process
// environment, so it must not race with setenv(3).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace walship::cli {

// Returns a variable's value, or nullopt when it is unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// getenv(3), except that an unset or empty HOSTNAME falls back to
// gethostname(2), as LiteFS does so configs can use ${HOSTNAME} anywhere.
std::optional<std::string> ProcessEnvLookup(const std::string& name);

// Expands `text`. Errors are InvalidArgument, "<source_name>:<line>: ...".
Result<std::string> ExpandEnv(std::string_view text, const std::string& source_name,
                              const EnvLookup& lookup);

}  // namespace walship::cli
