// Internal to the client (includes Beast; never include from a public header).
//
// ClientConn: one TCP connection (TLS over it for an https:// URL) with its
// own io_context, driven by the
// calling thread: each operation is started asynchronously and the caller
// runs the io_context until it completes, which is how a synchronous call
// gets a timeout. CloseFromAnyThread() shuts the socket down at once (the
// peer sees the connection end even when no read is in progress) and posts
// the close into that io_context, failing a blocked operation.
//
// Thread rules: one thread drives the connection; only CloseFromAnyThread()
// and closed() may be called from others.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "base/status.h"
#include "http/client.h"
#include "http/fields.h"
#include "http/transport.h"
#include "http/url.h"

namespace walship::http::internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

class ClientConn {
 public:
  // `tls` is required for an https:// URL and ignored for http://.
  ClientConn(const Url& url, std::chrono::milliseconds timeout, std::shared_ptr<TlsContext> tls);
  ~ClientConn();

  // Connects, and for https:// does the TLS handshake, verifying the
  // server's certificate and name. `what` names the request in errors, e.g.
  // "GET http://h:1/info".
  Status Connect(const std::string& what);
  // Open, and the peer has not closed its side while we were idle.
  bool Reusable();
  bool closed() const { return closed_.load(); }
  void Close();
  void CloseFromAnyThread();

  template <class Body>
  beast::error_code WriteRequest(bhttp::request<Body>& request) {
    return Run(
        [&](auto done) {
          stream_.Visit([&](auto& s) { bhttp::async_write(s, request, std::move(done)); });
        },
        timeout_);
  }
  template <class Body>
  beast::error_code WriteHeader(bhttp::request_serializer<Body>& serializer) {
    return Run(
        [&](auto done) {
          stream_.Visit(
              [&](auto& s) { bhttp::async_write_header(s, serializer, std::move(done)); });
        },
        timeout_);
  }
  beast::error_code WriteBuffer(asio::const_buffer buffer);

  template <class Parser>
  beast::error_code ReadHeader(Parser& parser) {
    return Run(
        [&](auto done) {
          stream_.Visit(
              [&](auto& s) { bhttp::async_read_header(s, buffer_, parser, std::move(done)); });
        },
        timeout_);
  }
  template <class Parser>
  beast::error_code ReadMessage(Parser& parser) {
    return Run(
        [&](auto done) {
          stream_.Visit([&](auto& s) { bhttp::async_read(s, buffer_, parser, std::move(done)); });
        },
        timeout_);
  }
  // One socket read's worth of body; `timeout` zero waits indefinitely.
  template <class Parser>
  beast::error_code ReadSome(Parser& parser, std::chrono::milliseconds timeout) {
    return Run(
        [&](auto done) {
          stream_.Visit(
              [&](auto& s) { bhttp::async_read_some(s, buffer_, parser, std::move(done)); });
        },
        timeout);
  }

 private:
  // Starts `start(done)` and runs the io_context until `done` has been called.
  template <class Start>
  beast::error_code Run(Start&& start, std::chrono::milliseconds timeout);

  beast::error_code Handshake();
  // Closes the socket. REQUIRES: close_mu_ held.
  void CloseLocked();

  std::chrono::milliseconds timeout_;
  Url url_;
  std::atomic<bool> closed_{false};
  // Orders closing the descriptor against CloseFromAnyThread()'s shutdown(),
  // so that never touches a descriptor number already reused.
  std::mutex close_mu_;
  std::shared_ptr<TlsContext> tls_;  // declared before stream_: outlives it
  asio::io_context ioc_;             // declared before stream_: outlives it
  Transport stream_;
  static constexpr size_t kReadBufferSize = 64 << 10;
  beast::flat_buffer buffer_;
};

template <class Start>
beast::error_code ClientConn::Run(Start&& start, std::chrono::milliseconds timeout) {
  if (closed_.load()) return asio::error::operation_aborted;
  if (timeout.count() > 0) {
    stream_.tcp().expires_after(timeout);
  } else {
    stream_.tcp().expires_never();
  }
  beast::error_code result = asio::error::operation_aborted;
  start([&result](beast::error_code ec, std::size_t) { result = ec; });
  ioc_.restart();
  ioc_.run();
  if (closed_.load()) return asio::error::operation_aborted;
  return result;
}

// True for errors that mean the server closed an idle kept-alive connection.
bool IsStaleConnectionError(const beast::error_code& ec);

// Unavailable "<what>: <context>: <message>".
Status TransportError(const std::string& what, const char* context, const beast::error_code& ec);

using StreamParser = bhttp::response_parser<bhttp::buffer_body>;

// Wraps a connection whose response header has been read into `parser`.
std::unique_ptr<StreamReader> MakeStreamReader(std::unique_ptr<ClientConn> conn,
                                               std::unique_ptr<StreamParser> parser,
                                               std::string what);

}  // namespace walship::http::internal
