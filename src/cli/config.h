// walship's configuration: the YAML file of DESIGN.md §1.3 as a plain struct
// tree, and the functions that find, load, parse and validate it.
//
// Keys, meanings and defaults follow LiteFS (see docs/configuration.md and
// docs/litefs-compat.md). Loading is strict: an unknown or duplicate key, a
// value of the wrong type or a bad duration is an error of the form
//   "walship.yml:7: unknown key "fuse.dirr" (known: dir, allow-other, debug)".
// Every problem of a file is reported at once: the InvalidArgument message
// holds one such line per problem, in file order. A LiteFS key walship does
// not act on is not an error: it lands in Config::warnings.
// Durations are Go-style strings (cli/duration.h). Unless expansion is turned
// off, ${VAR} and $VAR are replaced from the environment before parsing
// (cli/env_expand.h).
//
// Thread-safety: Config is a plain value. The functions are reentrant, but
// FindConfigPath reads the current directory and LoadConfig/ParseConfig read
// the environment and the host name.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "cli/env_expand.h"
#include "http/client.h"

namespace walship::cli {

inline constexpr char kDefaultFuseDir[] = "/litefs";          // LiteFS's default
inline constexpr char kDefaultDataDir[] = "/var/lib/litefs";  // LiteFS's default

struct FuseConfig {
  std::string dir = kDefaultFuseDir;  // mount point
  bool allow_other = false;
  bool debug = false;
  // Mount over a directory that has files in it (hiding them). walship-only:
  // LiteFS mounts there silently.
  bool allow_non_empty = false;
  // FUSE passthrough for -wal files on the primary, where the kernel offers
  // it and the lease is static (fuse/passthrough.h). walship-only.
  bool passthrough = true;
  // Not a config key: `walship mount -skip-unmount` (LiteFS's flag) leaves a
  // stale mount at `dir` in place, so the mount fails on it.
  bool skip_unmount = false;
};

struct DataConfig {
  std::string dir = kDefaultDataDir;  // database and LTX storage
  bool compress = true;
  std::chrono::milliseconds retention{std::chrono::minutes(10)};
  std::chrono::milliseconds retention_monitor_interval{std::chrono::minutes(1)};
};

struct ExecEntry {
  std::string cmd;
  bool if_candidate = false;  // run only on a node that can become primary
};

struct HttpConfig {
  std::string addr = ":20202";
  // Shared secret of the node API (docs/security.md): when set, every request
  // needs "Authorization: Bearer <auth_token>", and this node sends it to its
  // peers. Empty: the API is open. Never logged.
  std::string auth_token;
  // PEM files (docs/security.md): with tls_cert and tls_key the node API and
  // the stream are HTTPS only; tls_ca is the trust root for peers (servers
  // this node connects to, and client certificates offered to it).
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;

  // "https" when this node serves TLS, else "http".
  std::string scheme() const { return tls_cert.empty() ? "http" : "https"; }
  http::TlsFiles tls() const { return {tls_cert, tls_key, tls_ca}; }
  // What this node shows its peers and trusts them by.
  http::Credentials credentials() const { return {auth_token, tls()}; }
};

struct ProxyConfig {
  std::string addr;  // empty: proxy off
  std::string target;
  std::string db;
  std::chrono::milliseconds max_lag{std::chrono::seconds(10)};
  std::vector<std::string> passthrough;
  std::vector<std::string> always_forward;
  // Fly.io: answer a write on a replica with `fly-replay: instance=PRIMARY`
  // (LiteFS's behaviour) instead of forwarding it.
  bool fly_replay = false;
};

struct EtcdConfig {
  std::vector<std::string> endpoints;
  std::string key = "walship/primary";
  std::chrono::milliseconds ttl{std::chrono::seconds(2)};
};

inline constexpr char kLeaseStatic[] = "static";
inline constexpr char kLeaseEtcd[] = "etcd";

// Static lease (LiteFS semantics): the primary is fixed. Every node's hostname
// and advertise-url name the primary; candidate is true on the primary only.
struct LeaseConfig {
  std::string type = kLeaseStatic;
  // After ParseConfig: the configured value, else (static replica) the host of
  // advertise_url, else gethostname(2).
  std::string hostname;
  // After ParseConfig: the configured value, else http://<hostname>:<http port>.
  std::string advertise_url;
  bool candidate = true;
  bool promote = false;
  std::chrono::milliseconds reconnect_delay{std::chrono::seconds(1)};
  EtcdConfig etcd;
};

inline constexpr char kBackupFile[] = "file";
inline constexpr char kBackupS3[] = "s3";

struct BackupConfig {
  std::string type;      // "", "file" or "s3"; empty: no backup
  std::string path;      // file
  std::string url;       // s3: s3://bucket[/prefix]
  std::string endpoint;  // s3, optional: http(s)://host:port, path-style requests
  std::string region = "us-east-1";
  std::string access_key_id;
  std::string secret_access_key;
  std::string encryption_key;  // optional: 64 hex digits (AES-256-GCM key)
  // How long a new transaction may wait before it is uploaded (batching).
  std::chrono::milliseconds delay{std::chrono::seconds(1)};
  // How often a full snapshot is written.
  std::chrono::milliseconds snapshot_interval{std::chrono::hours(24)};
  // How far back restore points are kept.
  std::chrono::milliseconds retention{std::chrono::hours(72)};
};

struct LogConfig {
  std::string format = "text";  // "text" or "json"
  bool debug = false;
};

struct Config {
  FuseConfig fuse;
  DataConfig data;
  std::vector<ExecEntry> exec;
  bool skip_sync = false;
  bool exit_on_error = true;
  HttpConfig http;
  ProxyConfig proxy;
  LeaseConfig lease;
  BackupConfig backup;
  LogConfig log;
  std::string source_path;  // the file it came from; empty when built in code
  // "<source>:<line>: <key>: ignored (...)" for each LiteFS key present that
  // walship does not act on, in file order; the caller logs them.
  std::vector<std::string> warnings;
};

// The files FindConfigPath tries after an explicit path, in order.
std::vector<std::string> DefaultConfigSearchPaths();

// `explicit_path` when given (NotFound if it does not exist), else the first
// existing file of DefaultConfigSearchPaths(), made absolute. NotFound lists
// every path tried.
Result<std::string> FindConfigPath(std::optional<std::string> explicit_path);
// As FindConfigPath, searching `search_paths` instead of the defaults.
Result<std::string> FindConfigPathIn(std::optional<std::string> explicit_path,
                                     const std::vector<std::string>& search_paths);

// Reads and parses the file at `path` (source_path = path).
Result<Config> LoadConfig(const std::string& path, bool expand_env);

// Parses YAML text; `source_name` prefixes error messages and becomes
// source_path. Fills the derived defaults (hostname, advertise-url) and runs
// Validate. `lookup` defaults to the process environment.
Result<Config> ParseConfig(std::string_view yaml_text, bool expand_env,
                           const std::string& source_name);
Result<Config> ParseConfig(std::string_view yaml_text, bool expand_env,
                           const std::string& source_name, const EnvLookup& lookup);

// Checks values and their combinations; messages name the key. Does not
// require the mount directories (see ValidateForMount).
Status Validate(const Config& config);

// Validate, plus what `walship mount` needs: fuse.dir and data.dir not empty
// and data.dir not inside fuse.dir.
Status ValidateForMount(const Config& config);

}  // namespace walship::cli
