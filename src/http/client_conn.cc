#include "http/client_conn.h"

#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace walship::http::internal {

using tcp = asio::ip::tcp;

ClientConn::ClientConn(const Url& url, std::chrono::milliseconds timeout)
    : timeout_(timeout), url_(url), stream_(ioc_) {}

ClientConn::~ClientConn() {
  std::lock_guard<std::mutex> lock(close_mu_);
  CloseLocked();
}

Status ClientConn::Connect(const std::string& what) {
  beast::error_code ec;
  tcp::resolver resolver(ioc_);
  auto endpoints = resolver.resolve(url_.host, std::to_string(url_.port), ec);
  if (ec) return TransportError(what, "resolve", ec);
  ec = Run(
      [&](auto done) {
        stream_.async_connect(endpoints, [done = std::move(done)](beast::error_code connect_ec,
                                                                  const tcp::endpoint&) mutable {
          done(connect_ec, 0);
        });
      },
      timeout_);
  if (ec) return TransportError(what, "connect", ec);
  stream_.socket().set_option(tcp::no_delay(true), ec);
  return Status::OK();
}

bool ClientConn::Reusable() {
  if (closed_.load() || !stream_.socket().is_open()) return false;
  // Unread bytes or a hang-up on an idle connection: the server is done with it.
  pollfd pfd{stream_.socket().native_handle(), POLLIN | POLLRDHUP, 0};
  int n = ::poll(&pfd, 1, 0);
  return n == 0 && buffer_.size() == 0;
}

void ClientConn::CloseLocked() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.close();
}

void ClientConn::Close() {
  closed_.store(true);
  std::lock_guard<std::mutex> lock(close_mu_);
  CloseLocked();
}

void ClientConn::CloseFromAnyThread() {
  if (closed_.exchange(true)) return;
  {
    // shutdown(2) is safe beside a read in progress on another thread;
    // close(2) is not, so the close itself runs inside the io_context.
    std::lock_guard<std::mutex> lock(close_mu_);
    if (stream_.socket().is_open()) ::shutdown(stream_.socket().native_handle(), SHUT_RDWR);
  }
  asio::post(ioc_, [this] {
    std::lock_guard<std::mutex> lock(close_mu_);
    CloseLocked();
  });
}

beast::error_code ClientConn::WriteBuffer(asio::const_buffer buffer) {
  return Run([&](auto done) { asio::async_write(stream_, buffer, std::move(done)); }, timeout_);
}

bool IsStaleConnectionError(const beast::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == bhttp::error::end_of_stream;
}

Status TransportError(const std::string& what, const char* context, const beast::error_code& ec) {
  return Status::Unavailable(what + ": " + context + ": " + ec.message());
}

}  // namespace walship::http::internal
