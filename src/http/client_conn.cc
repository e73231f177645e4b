#include "http/client_conn.h"

#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>

namespace walship::http::internal {

using tcp = asio::ip::tcp;

ClientConn::ClientConn(const Url& url, std::chrono::milliseconds timeout,
                       std::shared_ptr<TlsContext> tls)
    : timeout_(timeout),
      url_(url),
      tls_(url.scheme == "https" ? std::move(tls) : nullptr),
      stream_(ioc_, tls_.get()) {
  // Beast reads at most the buffer's free capacity at a time: room for a
  // whole chunk of a stream makes one receive per chunk, not several.
  buffer_.reserve(kReadBufferSize);
}

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
        stream_.tcp().async_connect(
            endpoints,
            [done = std::move(done)](beast::error_code connect_ec, const tcp::endpoint&) mutable {
              done(connect_ec, 0);
            });
      },
      timeout_);
  if (ec) return TransportError(what, "connect", ec);
  stream_.socket().set_option(tcp::no_delay(true), ec);
  if (!stream_.tls()) return Status::OK();
  ec = Handshake();
  if (!ec) return Status::OK();
  const long verify = SSL_get_verify_result(stream_.tls_stream()->native_handle());
  if (verify == X509_V_OK) return TransportError(what, "TLS handshake", ec);
  return Status::Unavailable(what + ": TLS handshake: the server's certificate is not trusted: " +
                             X509_verify_cert_error_string(verify));
}

beast::error_code ClientConn::Handshake() {
  Transport::TlsStream& tls = *stream_.tls_stream();
  beast::error_code ec;
  asio::ip::make_address(url_.host, ec);
  const bool by_name = bool(ec);  // SNI carries names, never addresses
  // OpenSSL checks the name (or IP address) against the certificate.
  if ((by_name && SSL_set_tlsext_host_name(tls.native_handle(), url_.host.c_str()) != 1) ||
      SSL_set1_host(tls.native_handle(), url_.host.c_str()) != 1) {
    return asio::error::invalid_argument;
  }
  return Run(
      [&](auto done) {
        tls.async_handshake(
            asio::ssl::stream_base::client,
            [done = std::move(done)](beast::error_code hs_ec) mutable { done(hs_ec, 0); });
      },
      timeout_);
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
  stream_.tcp().close();
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
  return Run(
      [&](auto done) {
        stream_.Visit([&](auto& s) { asio::async_write(s, buffer, std::move(done)); });
      },
      timeout_);
}

bool IsStaleConnectionError(const beast::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == bhttp::error::end_of_stream ||
         ec == asio::ssl::error::stream_truncated;
}

Status TransportError(const std::string& what, const char* context, const beast::error_code& ec) {
  return Status::Unavailable(what + ": " + context + ": " + ec.message());
}

}  // namespace walship::http::internal
