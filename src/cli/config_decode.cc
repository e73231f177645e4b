#include "cli/config_decode.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "cli/duration.h"

namespace walship::cli::internal {
namespace {

using std::chrono::milliseconds;

// Why walship ignores a LiteFS key; the warning names the key and this.
constexpr char kNoTraceLog[] = "walship keeps no trace log (log.debug logs more)";
constexpr char kOwnTimeouts[] = "walship's proxy uses its own timeouts";
constexpr char kConsulOnly[] = "only used by lease.type consul, which walship does not support";
constexpr char kCloudOnly[] =
    "only used by backup.type litefs-cloud, which walship does not support";

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& part : parts) out += (out.empty() ? "" : ", ") + part;
  return out;
}

std::string TypeName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    default:
      return "nothing";
  }
}

// Shared by all readers of one document; every problem is kept.
struct DecodeState {
  std::string source;
  KeyLines* lines;
  ConfigProblems* problems;

  void Fail(const YAML::Mark& at, const std::string& msg) {
    const int line = at.line >= 0 ? at.line + 1 : 0;
    problems->AddError(line, ConfigProblems::Located(source, line, msg));
  }
  void Fail(const YAML::Node& at, const std::string& path, const std::string& msg) {
    Fail(at.Mark(), path + ": " + msg);
  }
  void Warn(const YAML::Mark& at, const std::string& path, const std::string& why) {
    const int line = at.line + 1;
    const std::string msg =
        path + ": ignored (a LiteFS setting walship does not act on: " + why + ")";
    problems->AddWarning(line, ConfigProblems::Located(source, line, msg));
  }
};

void Decode(DecodeState* s, const YAML::Node& n, const std::string& path, std::string* out) {
  if (!n.IsScalar()) return s->Fail(n, path, "expected a string, got " + TypeName(n));
  *out = n.Scalar();
}

void Decode(DecodeState* s, const YAML::Node& n, const std::string& path, bool* out) {
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, *out)) {
    std::string got = n.IsScalar() ? Quote(n.Scalar()) : TypeName(n);
    s->Fail(n, path, "expected true or false, got " + got);
  }
}

void Decode(DecodeState* s, const YAML::Node& n, const std::string& path, int* out) {
  if (!n.IsScalar() || !YAML::convert<int>::decode(n, *out)) {
    std::string got = n.IsScalar() ? Quote(n.Scalar()) : TypeName(n);
    s->Fail(n, path, "expected a whole number, got " + got);
  }
}

void Decode(DecodeState* s, const YAML::Node& n, const std::string& path, milliseconds* out) {
  if (!n.IsScalar())
    return s->Fail(n, path, "expected a duration such as \"10s\", got " + TypeName(n));
  Result<milliseconds> d = ParseDuration(n.Scalar());
  if (!d.ok()) return s->Fail(n, path, d.status().message());
  if (d->count() < 0) return s->Fail(n, path, "must not be negative, got " + Quote(n.Scalar()));
  *out = *d;
}

void Decode(DecodeState* s, const YAML::Node& n, const std::string& path,
            std::vector<std::string>* out) {
  if (!n.IsSequence()) return s->Fail(n, path, "expected a list of strings, got " + TypeName(n));
  out->clear();
  for (const YAML::Node& item : n) {
    std::string value;
    Decode(s, item, path + "[" + std::to_string(out->size()) + "]", &value);
    out->push_back(std::move(value));
  }
}

// Reads one YAML map: each Read names a known key; Finish reports the rest.
class MapReader {
 public:
  MapReader(DecodeState* state, const YAML::Node& map, std::string prefix)
      : state_(state), prefix_(std::move(prefix)) {
    if (!map.IsMap()) {
      state_->Fail(map, Where(), "expected a map, got " + TypeName(map));
      return;
    }
    for (const auto& kv : map) AddEntry(kv.first, kv.second);
  }

  template <typename T>
  void Read(std::string_view key, T* out) {
    if (const YAML::Node* value = Take(key)) Decode(state_, *value, Path(key), out);
  }

  // A LiteFS key walship does not act on: type-checked as T, then a warning
  // naming it and `why`.
  template <typename T>
  void Ignore(std::string_view key, std::string_view why) {
    const YAML::Node* value = Take(key);
    if (value == nullptr) return;
    T unused{};
    Decode(state_, *value, Path(key), &unused);
    state_->Warn(MarkOf(key), Path(key), std::string(why));
  }

  // For values with their own shape: decode(state, node, path).
  template <typename F>
  void ReadWith(std::string_view key, F decode) {
    if (const YAML::Node* value = Take(key)) decode(state_, *value, Path(key));
  }

  // For nested maps: decode(MapReader&).
  template <typename F>
  void ReadMap(std::string_view key, F decode) {
    const YAML::Node* value = Take(key);
    if (value == nullptr) return;
    MapReader sub(state_, *value, Path(key));
    decode(sub);
    sub.Finish();
  }

  void Finish() {
    for (const Entry& entry : entries_) {
      if (std::find(known_.begin(), known_.end(), entry.key) != known_.end()) continue;
      state_->Fail(entry.key_mark, UnknownKeyMessage(Path(entry.key)));
    }
  }

 private:
  struct Entry {
    std::string key;
    YAML::Mark key_mark;
    YAML::Node value;
  };

  std::string Where() const { return prefix_.empty() ? "top level" : prefix_; }

  std::string Path(std::string_view key) const {
    return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
  }

  void AddEntry(const YAML::Node& key, const YAML::Node& value) {
    if (!key.IsScalar()) return state_->Fail(key, Where(), "keys must be plain strings");
    for (const Entry& seen : entries_) {
      if (seen.key != key.Scalar()) continue;
      return state_->Fail(key.Mark(), "duplicate key " + Quote(Path(key.Scalar())) +
                                          " (first at line " +
                                          std::to_string(seen.key_mark.line + 1) + ")");
    }
    entries_.push_back({key.Scalar(), key.Mark(), value});
    state_->lines->emplace(Path(key.Scalar()), key.Mark().line + 1);
  }

  // The value of `key`, or nullptr when absent or null (null keeps the default,
  // as in LiteFS). Marks the key as known.
  const YAML::Node* Take(std::string_view key) {
    known_.emplace_back(key);
    for (const Entry& entry : entries_) {
      if (entry.key == key) return entry.value.IsNull() ? nullptr : &entry.value;
    }
    return nullptr;
  }

  YAML::Mark MarkOf(std::string_view key) const {
    for (const Entry& entry : entries_) {
      if (entry.key == key) return entry.key_mark;
    }
    return YAML::Mark::null_mark();
  }

  std::string UnknownKeyMessage(const std::string& path) const {
    std::string msg = "unknown key " + Quote(path) + " (";
    if (known_.empty()) return msg + "no keys are accepted here)";
    return msg + "known: " + Join(known_) + ")";
  }

  DecodeState* state_;
  std::string prefix_;
  std::vector<Entry> entries_;
  std::vector<std::string> known_;
};

void DecodeExec(DecodeState* s, const YAML::Node& n, const std::string& path,
                std::vector<ExecEntry>* out) {
  out->clear();
  if (n.IsScalar()) {
    out->push_back({n.Scalar(), false});
    return;
  }
  if (!n.IsSequence()) {
    return s->Fail(
        n, path, "expected a command string or a list of {cmd, if-candidate}, got " + TypeName(n));
  }
  for (const YAML::Node& item : n) {
    std::string item_path = path + "[" + std::to_string(out->size()) + "]";
    s->lines->emplace(item_path, item.Mark().line + 1);
    ExecEntry entry;
    if (item.IsScalar()) {
      entry.cmd = item.Scalar();
    } else {
      MapReader r(s, item, item_path);
      r.Read("cmd", &entry.cmd);
      r.Read("if-candidate", &entry.if_candidate);
      r.Finish();
    }
    out->push_back(std::move(entry));
  }
}

void DecodeLease(MapReader& r, LeaseConfig* c) {
  r.Read("type", &c->type);
  r.Read("hostname", &c->hostname);
  r.Read("advertise-url", &c->advertise_url);
  r.Read("candidate", &c->candidate);
  r.Read("promote", &c->promote);
  r.Read("reconnect-delay", &c->reconnect_delay);
  r.Ignore<milliseconds>("demote-delay", "walship's handoff and failover need no delay");
  r.Ignore<std::vector<std::string>>("databases", "walship replicates every database");
  r.ReadMap("consul", [](MapReader& m) {
    m.Ignore<std::string>("url", kConsulOnly);
    m.Ignore<std::string>("key", kConsulOnly);
    m.Ignore<milliseconds>("ttl", kConsulOnly);
    m.Ignore<milliseconds>("lock-delay", kConsulOnly);
  });
  r.ReadMap("static", [](MapReader&) {});
  r.ReadMap("etcd", [&](MapReader& e) {
    e.Read("endpoints", &c->etcd.endpoints);
    e.Read("key", &c->etcd.key);
    e.Read("ttl", &c->etcd.ttl);
  });
}

void DecodeBackup(MapReader& r, BackupConfig* c) {
  r.Read("type", &c->type);
  r.Read("path", &c->path);
  r.Read("url", &c->url);
  r.Read("endpoint", &c->endpoint);
  r.Read("region", &c->region);
  r.Read("access-key-id", &c->access_key_id);
  r.Read("secret-access-key", &c->secret_access_key);
  r.Read("encryption-key", &c->encryption_key);
  r.Read("delay", &c->delay);
  r.Read("snapshot-interval", &c->snapshot_interval);
  r.Read("retention", &c->retention);
  r.Ignore<std::string>("cluster", kCloudOnly);
  r.Ignore<std::string>("auth-token", kCloudOnly);
}

void DecodeProxy(MapReader& m, ProxyConfig* c) {
  m.Read("addr", &c->addr);
  m.Read("target", &c->target);
  m.Read("db", &c->db);
  m.Read("max-lag", &c->max_lag);
  m.Read("passthrough", &c->passthrough);
  m.Read("always-forward", &c->always_forward);
  m.Read("fly-replay", &c->fly_replay);
  m.Ignore<bool>("debug", "walship logs proxy errors; log.debug adds more");
  m.Ignore<milliseconds>("primary-redirect-timeout", kOwnTimeouts);
  for (const char* key : {"read-timeout", "read-header-timeout", "write-timeout", "idle-timeout"}) {
    m.Ignore<milliseconds>(key, kOwnTimeouts);
  }
}

void DecodeTracing(MapReader& m) {
  m.Ignore<bool>("enabled", kNoTraceLog);
  m.Ignore<std::string>("path", kNoTraceLog);
  m.Ignore<int>("max-size", kNoTraceLog);
  m.Ignore<int>("max-count", kNoTraceLog);
  m.Ignore<bool>("compress", kNoTraceLog);
}

void DecodeRoot(MapReader& r, Config* c) {
  r.ReadMap("fuse", [&](MapReader& m) {
    m.Read("dir", &c->fuse.dir);
    m.Read("allow-other", &c->fuse.allow_other);
    m.Read("debug", &c->fuse.debug);
    m.Read("allow-non-empty", &c->fuse.allow_non_empty);
    m.Read("passthrough", &c->fuse.passthrough);
  });
  r.ReadMap("data", [&](MapReader& m) {
    m.Read("dir", &c->data.dir);
    m.Read("compress", &c->data.compress);
    m.Read("retention", &c->data.retention);
    m.Read("retention-monitor-interval", &c->data.retention_monitor_interval);
  });
  r.ReadWith("exec", [&](DecodeState* s, const YAML::Node& n, const std::string& path) {
    DecodeExec(s, n, path, &c->exec);
  });
  r.Read("skip-sync", &c->skip_sync);
  r.Read("exit-on-error", &c->exit_on_error);
  r.Ignore<bool>("strict-verify", "walship verifies checksums its own way");
  r.ReadMap("http", [&](MapReader& m) {
    m.Read("addr", &c->http.addr);
    m.Read("auth-token", &c->http.auth_token);
    m.Ignore<milliseconds>("snapshot-timeout", "walship's snapshots have no time limit");
    m.Read("tls-cert", &c->http.tls_cert);
    m.Read("tls-key", &c->http.tls_key);
    m.Read("tls-ca", &c->http.tls_ca);
  });
  r.ReadMap("proxy", [&](MapReader& m) { DecodeProxy(m, &c->proxy); });
  r.ReadMap("lease", [&](MapReader& m) { DecodeLease(m, &c->lease); });
  r.ReadMap("backup", [&](MapReader& m) { DecodeBackup(m, &c->backup); });
  r.ReadMap("log", [&](MapReader& m) {
    m.Read("format", &c->log.format);
    m.Read("debug", &c->log.debug);
    m.Ignore<bool>("timestamp", "walship's log lines always carry the time");
  });
  r.ReadMap("tracing", DecodeTracing);
}

}  // namespace

void DecodeConfigYaml(std::string_view yaml_text, const std::string& source_name, Config* config,
                      KeyLines* lines, ConfigProblems* problems) {
  DecodeState state{source_name, lines, problems};
  // yaml-cpp reports malformed input and misuse by throwing; nothing escapes.
  try {
    YAML::Node root = YAML::Load(std::string(yaml_text));
    if (root.IsNull()) return;  // empty file: all defaults
    MapReader reader(&state, root, "");
    DecodeRoot(reader, config);
    reader.Finish();
  } catch (const YAML::Exception& e) {
    state.Fail(e.mark, "invalid YAML: " + e.msg);
  } catch (const std::exception& e) {
    state.Fail(YAML::Mark::null_mark(), std::string("cannot read config: ") + e.what());
  }
}

}  // namespace walship::cli::internal
