// The walship command line (DESIGN.md §1.2): `walship <command> [options]`.
//
// GNU long options (--config PATH, --config=PATH) and LiteFS's single-dash
// spellings (-config PATH, -name=DB, -promote, ...) are both accepted. For
// mount and run, everything after the first "--" is the child command
// (child_args); for the other commands "--" only ends the options. Errors are
// InvalidArgument with a message naming the command and the option at fault.
// Help (walship --help, walship help CMD, walship CMD --help) is not an error:
// ParseArgs returns command "help" with the text to print in help_text.
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "http/client.h"

namespace walship::cli {

inline constexpr char kDefaultApiUrl[] = "http://localhost:20202";

struct CommandLine {
  // mount, import, export, restore, run, status, version; or "help", with the
  // text to print (exit status 0) in help_text.
  std::string command;
  std::string help_text;
  std::optional<std::string> config_path;  // mount, restore: --config
  bool no_expand_env = false;              // mount, restore: --no-expand-env
  bool debug = false;                      // mount: --debug (log.debug)
  bool fuse_debug = false;                 // mount: --fuse.debug (fuse.debug)
  bool skip_unmount = false;               // mount: --skip-unmount (keep a stale mount)
  bool tracing = false;                    // mount: --tracing (LiteFS's; only warned about)
  std::string name;                        // import, export, restore: --name DB
  std::string url = kDefaultApiUrl;        // import, export, run, status: --url
  // import, export, run, status: --auth-token (the node's http.auth-token)
  // and --tls-ca (the CA an https:// node is verified against); main() falls
  // back to $WALSHIP_AUTH_TOKEN and $WALSHIP_TLS_CA. Empty: no token sent,
  // the system's trust store.
  http::Credentials credentials;
  std::string file;                        // import, export, restore: FILE
  std::optional<std::string> timestamp;    // restore: RFC 3339, validated
  std::optional<uint64_t> txid;            // restore: decimal or 0x-prefixed hex
  bool latest = false;                     // restore
  std::optional<std::string> backup_url;   // restore: s3://..., file://... or a path
  bool promote = false;                    // run
  bool if_candidate = false;               // run
  bool verbose = false;                    // run: -v (LiteFS's; changes nothing)
  bool json = false;                       // status
  std::vector<std::string> child_args;     // mount, run: after "--"
};

// Parses argv (argv[0] is the program name).
Result<CommandLine> ParseArgs(int argc, char** argv);
// Parses the arguments after the program name.
Result<CommandLine> ParseArgs(const std::vector<std::string>& args);

// The top-level help: usage and the list of commands.
std::string UsageText();

// An RFC 3339 timestamp ("2024-05-01T12:00:00Z", "2024-05-01T14:00:00.5+02:00").
Result<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view text);

}  // namespace walship::cli
