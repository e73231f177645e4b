// Server: a small HTTP/1.1 server for the node API, the replication stream and
// import/export, on Boost.Beast (kept out of this header).
//
// Threading: one Asio io_context run by `threads` std::jthreads accepts
// connections and performs all socket I/O. Every accepted connection gets its
// own std::jthread that parses requests and runs handlers synchronously, so a
// handler may block (stream a 200 MB upload to disk, or write an event stream
// for hours) without starving anyone else; its reads and writes are handed to
// the io_context and it waits for them. Connections are kept alive between
// requests. At most `max_connections` are open at once; a new connection
// beyond that closes the oldest idle one (waiting for a request to begin),
// or is closed itself when none is idle. See docs/http.md.
//
// Thread rules: call Handle() before Start(). Start() and Stop() from one
// owning thread, never from inside a handler. port() is safe after Start().
// Stop() closes the listener and every connection, signals handlers'
// stop_token, waits for handlers to return and joins all threads; it is
// idempotent and the destructor calls it. A Server starts at most once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"
#include "http/handler.h"
#include "http/tls.h"

namespace walship::http {

struct ServerOptions {
  std::string addr = ":20202";  // ":port" (all interfaces), "host:port", port 0 = any free
  int threads = 2;              // io_context threads (socket I/O, not handlers)
  int max_connections = 256;    // each open connection holds one thread
  // How long an idle keep-alive connection waits for its next request.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  // How long one read or write may make no progress before the connection drops.
  std::chrono::milliseconds io_timeout{std::chrono::seconds(30)};
  // When set, every request (any path, known or not) without
  // "Authorization: Bearer <auth_token>" gets 401 before any handler runs
  // (http/auth.h). Empty: no check.
  std::string auth_token;
  // With tls.cert and tls.key: HTTPS only (http/tls.h). Start() fails,
  // naming the file, when one cannot be loaded.
  TlsFiles tls;
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Routes `method` on the exact `path` to `handler`. REQUIRES: before Start().
  void Handle(std::string method, std::string path, Handler handler);

  // Binds and listens, then serves in the background. InvalidArgument for a
  // malformed address or an unusable TLS file, IOError (with errno) when
  // binding fails.
  Status Start();
  // Stops serving; see the header comment. Safe to call more than once.
  void Stop();

  // The bound port (the chosen one when the address asked for port 0).
  uint16_t port() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace walship::http
