// Internal to the server (includes Beast; never include from a public header).
//
// Connection: one accepted TCP connection (TLS over it when the server has a
// TLS context: the handshake is the thread's first act), served on its own
// std::jthread.
// The thread parses requests and runs handlers synchronously; every socket
// operation is started on the connection's strand of the server's io_context
// and the thread blocks until it completes (Await). That keeps handlers simple
// blocking code while the pool threads own all socket I/O, timeouts and
// cancellation.
//
// Thread rules: the serving thread owns the parser and buffers. Cancel() and
// done() may be called from any thread. The owner must Join() before dropping
// its last reference; the io_context must run until the thread has exited.
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

#include "http/router.h"
#include "http/server.h"
#include "http/transport.h"

namespace walship::http::internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

using RequestParser = bhttp::request_parser<bhttp::buffer_body>;

class Exchange;

struct IoResult {
  beast::error_code ec;
  std::size_t bytes = 0;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // `router`, `options` and `tls` (null: plain HTTP) must outlive the
  // connection. `on_done` runs on the connection's thread as its last act
  // (the server uses it to reap).
  Connection(asio::ip::tcp::socket socket, const Router& router, const ServerOptions& options,
             TlsContext* tls, std::function<void()> on_done);
  ~Connection();

  void Start();
  // Signals stop_token and closes the socket, failing any pending I/O.
  void Cancel();
  // Waits for the serving thread. REQUIRES: not called from that thread.
  void Join();
  bool done() const { return done_.load(); }
  // Waiting for a request to begin (a keep-alive connection between
  // requests, or a new one that has sent nothing yet): closing it loses no
  // work in progress.
  bool idle() const { return idle_.load(); }

  const std::string& remote_address() const { return remote_; }
  const ServerOptions& options() const { return options_; }

  // Blocking I/O for the serving thread; each is bounded by io_timeout.
  IoResult ReadBodySome(RequestParser& parser);
  IoResult WriteBuffer(asio::const_buffer buffer);
  IoResult WriteChunk(asio::const_buffer buffer);
  IoResult WriteLastChunk();
  template <class Body>
  IoResult WriteMessage(bhttp::response<Body>& message);
  template <class Body>
  IoResult WriteHeader(bhttp::response_serializer<Body>& serializer);
  // Whether the socket is open and the peer has not hung up.
  bool PeerConnected();

 private:
  void Run(std::stop_token stop);
  void Serve(std::stop_token stop);
  // The TLS handshake; false (and logged) when it fails.
  bool Handshake();
  // Reads the next request's header; false when the connection should end.
  bool ReadRequestHeader(RequestParser& parser);
  // False (and logged) when options_.auth_token is set and the request does
  // not carry it.
  bool Authorized(const Exchange& exchange) const;
  void CloseSocket();

  // Starts `start(completion)` on the strand and waits for the completion.
  template <class StartOp>
  IoResult Await(StartOp&& start);
  // Writes all of `buffers`: what the socket takes at once straight from
  // the serving thread (WriteNow), the rest through the strand (Await).
  template <class Buffers>
  IoResult WriteAll(const Buffers& buffers);
  // One non-blocking sendmsg of `buffers` from the serving thread, over
  // plain TCP: a stream's small chunks then leave with no hand-off to a
  // pool thread and back (two context switches each). The bytes written,
  // perhaps none; always none over TLS.
  template <class Buffers>
  IoResult WriteNow(const Buffers& buffers);
  IoResult SendMsg(const struct iovec* iov, int count);

  Transport stream_;
  beast::flat_buffer buffer_;
  const Router& router_;
  const ServerOptions& options_;
  std::function<void()> on_done_;
  std::string remote_;
  std::atomic<bool> done_{false};
  std::atomic<bool> idle_{true};
  // Held by WriteNow's sendmsg and by Cancel's close: the descriptor is never
  // written after it was closed (and perhaps reused).
  std::mutex socket_mu_;
  std::jthread thread_;
};

// Hands one result from a pool thread to the waiting serving thread.
class Waiter {
 public:
  void Set(beast::error_code ec, std::size_t bytes) {
    // Notify under the lock: the waiter's stack frame (and this object) may
    // vanish as soon as it can observe done_.
    std::lock_guard<std::mutex> lock(mu_);
    result_ = {ec, bytes};
    done_ = true;
    cv_.notify_one();
  }
  IoResult Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return done_; });
    return result_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  IoResult result_;
};

template <class StartOp>
IoResult Connection::Await(StartOp&& start) {
  Waiter waiter;
  asio::dispatch(stream_.tcp().get_executor(), [&] {
    start([&waiter](beast::error_code ec, std::size_t bytes) { waiter.Set(ec, bytes); });
  });
  return waiter.Wait();
}

template <class Buffers>
IoResult Connection::WriteAll(const Buffers& buffers) {
  const IoResult now = WriteNow(buffers);
  if (now.ec || now.bytes == asio::buffer_size(buffers)) return now;
  beast::buffers_suffix<Buffers> rest(buffers);
  rest.consume(now.bytes);
  IoResult r = Await([&](auto done) {
    stream_.tcp().expires_after(options_.io_timeout);
    stream_.Visit([&](auto& s) { asio::async_write(s, rest, std::move(done)); });
  });
  r.bytes += now.bytes;
  return r;
}

template <class Buffers>
IoResult Connection::WriteNow(const Buffers& buffers) {
  if (stream_.tls()) return {};
  constexpr int kMaxPieces = 8;  // a chunk is five pieces; more go by WriteAll's Await
  struct iovec iov[kMaxPieces];
  int count = 0;
  for (auto it = asio::buffer_sequence_begin(buffers);
       it != asio::buffer_sequence_end(buffers) && count < kMaxPieces; ++it) {
    const asio::const_buffer piece = *it;
    if (piece.size() > 0) iov[count++] = {const_cast<void*>(piece.data()), piece.size()};
  }
  return SendMsg(iov, count);
}

template <class Body>
IoResult Connection::WriteMessage(bhttp::response<Body>& message) {
  return Await([&](auto done) {
    stream_.tcp().expires_after(options_.io_timeout);
    stream_.Visit([&](auto& s) { bhttp::async_write(s, message, std::move(done)); });
  });
}

template <class Body>
IoResult Connection::WriteHeader(bhttp::response_serializer<Body>& serializer) {
  return Await([&](auto done) {
    stream_.tcp().expires_after(options_.io_timeout);
    stream_.Visit([&](auto& s) { bhttp::async_write_header(s, serializer, std::move(done)); });
  });
}

}  // namespace walship::http::internal
