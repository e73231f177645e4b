// Proxy: the HTTP proxy in front of the application (DESIGN.md §1.3 `proxy`,
// docs/proxy.md). Reads (GET/HEAD) go to the local application once this
// node has the TXID the client's cookie names; writes go to the primary's
// application, on the primary directly (then the response gets the
// `__txid` cookie) and from a replica through the primary's proxy. Bodies
// stream in both directions (never buffered whole); WebSocket upgrades are
// spliced through.
//
// Threading: one thread accepts; every client connection gets its own thread
// doing blocking I/O with socket timeouts, like the node API (docs/http.md).
// Start/Stop from one owning thread; Stop shuts every socket down and joins.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/status.h"
#include "proxy/rules.h"

namespace walship::proxy {

struct ProxyOptions {
  std::string addr;    // ":8080"
  std::string target;  // the application, "localhost:8081"
  RouteRules rules;
  // Health answers 503 beyond this lag; a read waits at most this long for
  // its TXID before 504.
  std::chrono::milliseconds max_lag{std::chrono::seconds(10)};
  // How long a target that refuses connections is retried before 502.
  std::chrono::milliseconds target_retry{std::chrono::seconds(5)};
  // Fly.io: answer writes on a replica with `fly-replay: instance=HOST`
  // instead of forwarding them.
  bool fly_replay = false;
  // How long one socket read or write may make no progress.
  std::chrono::milliseconds io_timeout{std::chrono::seconds(60)};
};

// What the proxy asks the node. Called from connection threads: thread-safe.
struct ProxyHooks {
  std::function<bool()> is_primary;
  // "host:port" of the primary's proxy; nullopt when none is known.
  std::function<std::optional<std::string>()> primary_proxy;
  std::function<std::string()> primary_hostname;
  // proxy.db's TXID on this node (0 when it does not exist yet).
  std::function<uint64_t()> txid;
  // Waits until proxy.db here reaches `txid`; false after `timeout`.
  std::function<bool(uint64_t txid, std::chrono::milliseconds timeout)> wait_for_txid;
  // The primary's current TXID of proxy.db (strong reads).
  std::function<Result<uint64_t>()> primary_txid;
  std::function<int64_t()> lag_ms;
};

class Proxy {
 public:
  Proxy(ProxyOptions options, ProxyHooks hooks);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // Binds and listens; IOError naming the address when it cannot.
  Status Start();
  void Stop();
  uint16_t port() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace walship::proxy
