#include "cli/config.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/config_decode.h"

namespace walship::cli {
namespace {

namespace fs = std::filesystem;
using internal::ConfigProblems;
using internal::KeyLines;
using std::chrono::milliseconds;

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// The port of "host:port" or ":port"; nullopt when there is none.
std::optional<int> PortOf(std::string_view addr) {
  size_t colon = addr.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == addr.size()) return std::nullopt;
  int port = 0;
  for (char ch : addr.substr(colon + 1)) {
    if (ch < '0' || ch > '9' || (port = port * 10 + (ch - '0')) > 65535) return std::nullopt;
  }
  if (port == 0) return std::nullopt;
  return port;
}

bool IsHttpUrl(std::string_view url) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (StartsWith(url, scheme) && url.size() > scheme.size()) return true;
  }
  return false;
}

// "http://node1:20202/x" -> "node1"; "http://[::1]:20202" -> "::1".
std::string HostOfUrl(std::string_view url) {
  size_t start = url.find("://");
  if (start == std::string_view::npos) return "";
  std::string_view rest = url.substr(start + 3);
  if (StartsWith(rest, "[")) return std::string(rest.substr(1, rest.find(']') - 1));
  return std::string(rest.substr(0, rest.find_first_of(":/")));
}

bool IsHex(std::string_view s) {
  return s.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos;
}

std::string LocalHostname() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) return "";
  return host;
}

// Lexically: is `path` `dir` or below it? ("/a/b" is inside "/a/", not "/ab").
bool IsSameOrInside(const std::string& path, const std::string& dir) {
  auto normal = [](const std::string& p) {
    fs::path n = fs::path(p).lexically_normal();
    return n.has_filename() || !n.has_relative_path() ? n : n.parent_path();
  };
  fs::path inner = normal(path), outer = normal(dir);
  auto mismatch = std::mismatch(outer.begin(), outer.end(), inner.begin(), inner.end());
  return mismatch.first == outer.end();
}

bool IsStaticReplica(const LeaseConfig& lease) {
  return lease.type == kLeaseStatic && !lease.candidate;
}

// Fills lease.hostname and lease.advertise-url when the file leaves them out.
void ApplyDerivedDefaults(Config* config) {
  LeaseConfig& lease = config->lease;
  if (lease.hostname.empty()) {
    // On a static replica hostname names the primary, never this machine.
    lease.hostname = IsStaticReplica(lease) ? HostOfUrl(lease.advertise_url) : LocalHostname();
  }
  std::optional<int> port = PortOf(config->http.addr);
  if (lease.advertise_url.empty() && !IsStaticReplica(lease) && !lease.hostname.empty() && port) {
    lease.advertise_url =
        config->http.scheme() + "://" + lease.hostname + ":" + std::to_string(*port);
  }
}

// Reports "<source>:<line>: <key>: <msg>" errors, using the line of `key` or
// of its nearest enclosing section that the file contained.
class Problem {
 public:
  // REQUIRES: `config`, `lines` and `problems` outlive the Problem.
  Problem(const Config& config, const KeyLines& lines, ConfigProblems* problems)
      : config_(config), lines_(lines), problems_(problems) {}
  Problem(const Config& config, KeyLines&& lines, ConfigProblems* problems) = delete;

  void operator()(const std::string& key, const std::string& msg) const {
    const int line = LineOf(key);
    problems_->AddError(line, ConfigProblems::Located(config_.source_path, line, key + ": " + msg));
  }

 private:
  // "lease.etcd.ttl", then "lease.etcd", then "lease"; 0 when none is known.
  int LineOf(std::string key) const {
    while (!key.empty()) {
      if (auto it = lines_.find(key); it != lines_.end()) return it->second;
      size_t cut = key.find_last_of(".[");
      key.resize(cut == std::string::npos ? 0 : cut);
    }
    return 0;
  }

  const Config& config_;
  const KeyLines& lines_;
  ConfigProblems* problems_;
};

// Each Check* reports every independent problem of its section; it stops
// early only where a later check would repeat an earlier problem.

// The TLS files are given in pairs where needed and can be read (whether
// they hold usable PEM is the server's and client's to say when they load).
void CheckTls(const HttpConfig& h, const Problem& problem) {
  if (h.tls_cert.empty() != h.tls_key.empty()) {
    problem(h.tls_cert.empty() ? "http.tls-cert" : "http.tls-key",
            "http.tls-cert and http.tls-key go together: set both for HTTPS, or neither");
  }
  for (const auto& [key, file] :
       {std::pair{"http.tls-cert", &h.tls_cert}, std::pair{"http.tls-key", &h.tls_key},
        std::pair{"http.tls-ca", &h.tls_ca}}) {
    if (!file->empty() && ::access(file->c_str(), R_OK) != 0) {
      problem(key, "cannot read " + Quote(*file) + ": " + std::strerror(errno));
    }
  }
}

void CheckDataAndHttp(const Config& c, const Problem& problem) {
  if (c.data.retention.count() < 0) problem("data.retention", "must not be negative");
  if (c.data.retention_monitor_interval.count() <= 0) {
    problem("data.retention-monitor-interval", "must be positive");
  }
  if (!PortOf(c.http.addr)) {
    problem("http.addr", "expected [host]:port, such as \":20202\", got " + Quote(c.http.addr));
  }
  // Sent in an HTTP header: visible ASCII only. The message never shows it.
  for (char ch : c.http.auth_token) {
    if (ch < 0x21 || ch > 0x7e) {
      return problem("http.auth-token",
                     "must be printable ASCII without spaces (it is sent in an HTTP header)");
    }
  }
  CheckTls(c.http, problem);
  for (size_t i = 0; i < c.exec.size(); ++i) {
    if (c.exec[i].cmd.empty()) problem("exec[" + std::to_string(i) + "].cmd", "must not be empty");
  }
}

void CheckProxy(const ProxyConfig& p, const Problem& problem) {
  if (p.max_lag.count() < 0) problem("proxy.max-lag", "must not be negative");
  if (p.addr.empty()) return;  // proxy off
  if (!PortOf(p.addr)) {
    problem("proxy.addr", "expected [host]:port, such as \":8080\", got " + Quote(p.addr));
  }
  if (p.target.empty()) {
    problem("proxy.target", "required when proxy.addr is set (the application's host:port)");
  }
  if (p.db.empty()) {
    problem("proxy.db",
            "required when proxy.addr is set (the database whose TXID the proxy tracks)");
  }
}

void CheckEtcdTtl(std::chrono::milliseconds ttl, const Problem& problem) {
  // etcd grants leases in whole seconds and silently raises a TTL below its
  // minimum (1.5 x election timeout: 2s with etcd's defaults), so a smaller
  // value would not mean what it says.
  if (ttl.count() % 1000 != 0) {
    problem("lease.etcd.ttl", "must be whole seconds (etcd leases are)");
  } else if (ttl < std::chrono::seconds(2)) {
    problem("lease.etcd.ttl", "must be at least 2s (etcd's minimum lease TTL with default timing)");
  }
}

void CheckEtcd(const EtcdConfig& e, const Problem& problem) {
  if (e.endpoints.empty()) {
    problem("lease.etcd.endpoints",
            "required for lease.type etcd, e.g. [\"http://127.0.0.1:2379\"]");
  }
  for (size_t i = 0; i < e.endpoints.size(); ++i) {
    if (!IsHttpUrl(e.endpoints[i])) {
      problem("lease.etcd.endpoints[" + std::to_string(i) + "]",
              "expected an http:// or https:// URL, got " + Quote(e.endpoints[i]));
    }
  }
  if (e.key.empty()) problem("lease.etcd.key", "must not be empty");
  CheckEtcdTtl(e.ttl, problem);
}

void CheckLeaseType(const std::string& type, const Problem& problem) {
  if (type == "consul") {
    problem("lease.type",
            "consul is not supported; use lease.type: etcd (with lease.etcd.endpoints) for "
            "automatic failover, or lease.type: static for a fixed primary");
  } else if (type != kLeaseStatic && type != kLeaseEtcd) {
    problem("lease.type", "must be \"static\" or \"etcd\", got " + Quote(type));
  }
}

void CheckLease(const LeaseConfig& l, const Problem& problem) {
  CheckLeaseType(l.type, problem);
  if (l.reconnect_delay.count() < 0) problem("lease.reconnect-delay", "must not be negative");
  if (!l.advertise_url.empty() && !IsHttpUrl(l.advertise_url)) {
    problem("lease.advertise-url",
            "expected an http:// or https:// URL, got " + Quote(l.advertise_url));
  }
  if (IsStaticReplica(l) && l.advertise_url.empty()) {
    problem("lease.advertise-url",
            "required with a static lease when lease.candidate is false: set it to the "
            "primary's URL, e.g. http://node1:20202");
  }
  if (l.type == kLeaseEtcd) CheckEtcd(l.etcd, problem);
}

// A node's own advertise-url speaks what its API serves: https:// exactly
// when http.tls-cert is set. (A static replica's URL names the primary.)
void CheckAdvertisedScheme(const Config& c, const Problem& problem) {
  const LeaseConfig& l = c.lease;
  if (IsStaticReplica(l) || !IsHttpUrl(l.advertise_url)) return;
  const bool https = StartsWith(l.advertise_url, "https://");
  if (https && c.http.tls_cert.empty()) {
    problem("lease.advertise-url",
            "https:// needs http.tls-cert and http.tls-key (this node's API would be plain "
            "HTTP), got " +
                Quote(l.advertise_url));
  } else if (!https && !c.http.tls_cert.empty()) {
    problem("lease.advertise-url",
            "must be https:// because http.tls-cert is set (this node's API is HTTPS only), "
            "got " +
                Quote(l.advertise_url));
  }
}

void CheckS3(const BackupConfig& b, const Problem& problem) {
  if (b.url.empty()) {
    problem("backup.url", "required for backup.type s3, e.g. s3://bucket/prefix");
  } else if (!StartsWith(b.url, "s3://") || b.url.size() == 5 || b.url[5] == '/') {
    problem("backup.url", "expected s3://bucket[/prefix], got " + Quote(b.url));
  }
  if (!b.endpoint.empty() && !IsHttpUrl(b.endpoint)) {
    problem("backup.endpoint", "expected an http:// or https:// URL, got " + Quote(b.endpoint));
  }
  if (b.region.empty()) problem("backup.region", "must not be empty");
  if (b.access_key_id.empty() != b.secret_access_key.empty()) {
    problem(b.access_key_id.empty() ? "backup.access-key-id" : "backup.secret-access-key",
            "access-key-id and secret-access-key must be given together");
  }
}

void CheckBackupType(const BackupConfig& b, const Problem& problem) {
  if (b.type.empty()) {
    if (b.path.empty() && b.url.empty()) return;
    return problem("backup.type",
                   "required when backup.path or backup.url is set (\"file\" or \"s3\")");
  }
  if (b.type == kBackupS3) return CheckS3(b, problem);
  if (b.type == "litefs-cloud") {
    return problem("backup.type",
                   "litefs-cloud is not supported (LiteFS Cloud has shut down); use "
                   "backup.type: s3 (backup.url: s3://bucket/prefix) or backup.type: file "
                   "(backup.path: /dir)");
  }
  if (b.type != kBackupFile) {
    return problem("backup.type", "must be \"file\" or \"s3\", got " + Quote(b.type));
  }
  if (b.path.empty()) problem("backup.path", "required for backup.type file");
}

void CheckBackup(const BackupConfig& b, const Problem& problem) {
  if (!b.encryption_key.empty() && (b.encryption_key.size() != 64 || !IsHex(b.encryption_key))) {
    problem("backup.encryption-key", "must be 64 hex digits (a 32-byte AES-256 key), got " +
                                         std::to_string(b.encryption_key.size()) + " characters");
  }
  if (b.delay.count() < 0) problem("backup.delay", "must not be negative");
  if (b.snapshot_interval.count() <= 0) problem("backup.snapshot-interval", "must be positive");
  if (b.retention.count() <= 0) problem("backup.retention", "must be positive");
  CheckBackupType(b, problem);
}

void ValidateInto(const Config& c, const KeyLines& lines, ConfigProblems* problems) {
  Problem problem(c, lines, problems);
  CheckDataAndHttp(c, problem);
  CheckProxy(c.proxy, problem);
  CheckLease(c.lease, problem);
  CheckAdvertisedScheme(c, problem);
  CheckBackup(c.backup, problem);
  if (c.log.format != "text" && c.log.format != "json") {
    problem("log.format", "must be \"text\" or \"json\", got " + Quote(c.log.format));
  }
}

void CheckMountDirs(const Config& config, const Problem& problem) {
  if (config.fuse.dir.empty()) {
    problem("fuse.dir", "must not be empty (the directory applications open databases in)");
  }
  if (config.data.dir.empty()) {
    problem("data.dir", "must not be empty (where walship keeps databases and LTX files)");
  }
  if (!config.fuse.dir.empty() && !config.data.dir.empty() &&
      IsSameOrInside(config.data.dir, config.fuse.dir)) {
    problem("data.dir", "must not be fuse.dir or inside it, got " + Quote(config.data.dir));
  }
}

}  // namespace

std::vector<std::string> DefaultConfigSearchPaths() {
  return {"walship.yml", "litefs.yml", "/etc/walship.yml", "/etc/litefs.yml"};
}

Result<std::string> FindConfigPath(std::optional<std::string> explicit_path) {
  return FindConfigPathIn(std::move(explicit_path), DefaultConfigSearchPaths());
}

Result<std::string> FindConfigPathIn(std::optional<std::string> explicit_path,
                                     const std::vector<std::string>& search_paths) {
  std::error_code ec;
  if (explicit_path) {
    if (!fs::exists(*explicit_path, ec))
      return Status::NotFound("config file not found: " + *explicit_path);
    if (fs::is_directory(*explicit_path, ec)) {
      return Status::InvalidArgument("config path is a directory: " + *explicit_path);
    }
    return *explicit_path;
  }
  std::string tried;
  for (const std::string& candidate : search_paths) {
    fs::path absolute = fs::absolute(candidate, ec);
    if (ec) absolute = candidate;
    if (fs::is_regular_file(absolute, ec)) return absolute.string();
    tried += (tried.empty() ? "" : ", ") + absolute.string();
  }
  return Status::NotFound("no config file found (tried " + tried + "); pass --config PATH");
}

Result<Config> LoadConfig(const std::string& path, bool expand_env) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::FromErrno("cannot open config file " + path, errno);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::FromErrno("cannot read config file " + path, errno);
  return ParseConfig(text.str(), expand_env, path);
}

Result<Config> ParseConfig(std::string_view yaml_text, bool expand_env,
                           const std::string& source_name) {
  return ParseConfig(yaml_text, expand_env, source_name, ProcessEnvLookup);
}

Result<Config> ParseConfig(std::string_view yaml_text, bool expand_env,
                           const std::string& source_name, const EnvLookup& lookup) {
  std::string expanded;
  if (expand_env) {
    WALSHIP_ASSIGN_OR_RETURN(expanded, ExpandEnv(yaml_text, source_name, lookup));
    yaml_text = expanded;
  }
  Config config;
  KeyLines lines;
  ConfigProblems problems;
  internal::DecodeConfigYaml(yaml_text, source_name, &config, &lines, &problems);
  config.source_path = source_name;
  ApplyDerivedDefaults(&config);
  // Validated even after decoding problems: a value that failed to decode
  // kept its (valid) default, so this adds only problems of its own.
  ValidateInto(config, lines, &problems);
  WALSHIP_RETURN_IF_ERROR(problems.ToStatus());
  config.warnings = problems.Warnings();
  return config;
}

Status Validate(const Config& config) {
  ConfigProblems problems;
  ValidateInto(config, KeyLines(), &problems);
  return problems.ToStatus();
}

Status ValidateForMount(const Config& config) {
  ConfigProblems problems;
  KeyLines no_lines;
  ValidateInto(config, no_lines, &problems);
  CheckMountDirs(config, Problem(config, no_lines, &problems));
  return problems.ToStatus();
}

}  // namespace walship::cli
