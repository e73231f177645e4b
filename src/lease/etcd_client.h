// EtcdClient: the few etcd v3 calls walship's lease needs, over etcd's JSON
// gRPC gateway (POST /v3/kv/range, /v3/kv/txn, /v3/lease/grant, ...) with
// libcurl. Keys and values are base64 in the wire JSON and int64s are strings;
// callers see plain strings and integers.
//
// Each call tries the configured endpoints in turn, starting with the last one
// that answered, and fails with Unavailable (naming every endpoint and why)
// only when none answers. An HTTP error from etcd itself (a 4xx/5xx with a
// JSON error body) is returned as is, without trying the next endpoint.
//
// Thread-safety: thread-safe; each call uses its own curl handle.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace walship::lease {

struct EtcdClientOptions {
  std::vector<std::string> endpoints;  // e.g. "http://127.0.0.1:2379"
  std::chrono::milliseconds request_timeout{1000};  // per endpoint, connect included
};

struct EtcdKeyValue {
  std::string key;
  std::string value;
  int64_t lease = 0;  // 0: not attached to a lease
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
};

class EtcdClient {
 public:
  explicit EtcdClient(EtcdClientOptions options);

  // --- Leases -------------------------------------------------------------
  // Grants a lease of `ttl` (whole seconds, rounded up); returns its id.
  Result<int64_t> Grant(std::chrono::seconds ttl);
  // Renews the lease once. Returns the TTL (seconds) etcd granted;
  // NotFound when the lease has expired or never existed.
  Result<int64_t> KeepAlive(int64_t lease);
  // Revokes the lease, deleting every key attached to it. OK if already gone.
  Status Revoke(int64_t lease);

  // --- Keys ----------------------------------------------------------------
  // The key's current value; nullopt when it does not exist.
  Result<std::optional<EtcdKeyValue>> Get(const std::string& key);
  // Every key starting with `prefix`, ascending by key.
  Result<std::vector<EtcdKeyValue>> GetPrefix(const std::string& prefix);
  // Puts key = value, attached to `lease` (0: none), unconditionally.
  Status Put(const std::string& key, const std::string& value, int64_t lease);
  // Puts key = value attached to `lease` only if the key's mod revision is
  // `mod_revision` (0: only if the key does not exist), in one transaction.
  // true when the put happened, false when the comparison failed.
  Result<bool> PutIfRevision(const std::string& key, const std::string& value, int64_t lease,
                             int64_t mod_revision);
  // Deletes the key only if its mod revision is `mod_revision`. true when
  // deleted.
  Result<bool> DeleteIfRevision(const std::string& key, int64_t mod_revision);

  // "http://a:2379, http://b:2379": for error messages.
  std::string DescribeEndpoints() const;

 private:
  // A 200 answer: the URL that gave it (for error messages) and its body.
  struct Reply {
    std::string url;
    std::string body;
  };
  // POSTs `json` to `path` (e.g. "/v3/kv/range") on the endpoints in turn;
  // returns the first 200 answer, or etcd's error, or Unavailable.
  Result<Reply> Call(const std::string& path, const std::string& json);

  EtcdClientOptions options_;
  std::atomic<size_t> preferred_{0};  // index of the endpoint that last answered
};

}  // namespace walship::lease
