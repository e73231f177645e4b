#include "http/server_connection.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <exception>
#include <limits>
#include <vector>

#include "base/coding.h"
#include "base/thread_name.h"
#include "http/auth.h"
#include "http/fields.h"
#include "http/server_exchange.h"

namespace walship::http::internal {
namespace {

using tcp = asio::ip::tcp;

constexpr uint32_t kHeaderLimit = 64 * 1024;
// After we stop sending, how long (and how much) to read what the peer still
// sends, so the close does not reset the connection under our last response.
constexpr auto kLingerTime = std::chrono::seconds(1);
constexpr size_t kLingerBytes = 4 * 1024 * 1024;

std::string FormatEndpoint(const tcp::endpoint& endpoint) {
  std::string address = endpoint.address().to_string();
  if (endpoint.address().is_v6()) address = "[" + address + "]";
  return address + ":" + std::to_string(endpoint.port());
}

bool IsParseError(const beast::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
         ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

}  // namespace

Connection::Connection(tcp::socket socket, const Router& router, const ServerOptions& options,
                       TlsContext* tls, std::function<void()> on_done)
    : stream_(std::move(socket), tls),
      router_(router),
      options_(options),
      on_done_(std::move(on_done)) {
  beast::error_code ec;
  tcp::endpoint peer = stream_.socket().remote_endpoint(ec);
  remote_ = ec ? std::string("unknown peer") : FormatEndpoint(peer);
  stream_.socket().set_option(tcp::no_delay(true), ec);  // chunks of a stream leave at once
}

Connection::~Connection() {
  // The server joins before releasing; this only guards against misuse.
  if (thread_.joinable() && thread_.get_id() == std::this_thread::get_id()) thread_.detach();
}

void Connection::Start() {
  thread_ = std::jthread([this](std::stop_token stop) {
    NameThisThread("ws-http-conn");
    Run(std::move(stop));
  });
}

void Connection::Cancel() {
  idle_.store(false);  // no longer a candidate to close for room
  thread_.request_stop();
  asio::post(stream_.tcp().get_executor(), [self = shared_from_this()] {
    std::lock_guard lock(self->socket_mu_);
    beast::error_code ec;
    self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    self->stream_.tcp().close();
  });
}

void Connection::Join() {
  if (thread_.joinable()) thread_.join();
}

void Connection::Run(std::stop_token stop) {
  try {
    if (!stream_.tls() || Handshake()) Serve(stop);
  } catch (const std::exception& e) {
    spdlog::error("http: connection {}: {}", remote_, e.what());
  } catch (...) {
    spdlog::error("http: connection {}: unknown exception", remote_);
  }
  CloseSocket();
  done_.store(true);
  if (on_done_) on_done_();
}

void Connection::Serve(std::stop_token stop) {
  while (!stop.stop_requested()) {
    RequestParser parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    if (!ReadRequestHeader(parser)) return;
    Exchange exchange(*this, parser, stop);
    // The token is checked first (Init reads the headers before it can fail):
    // without it even a malformed request learns nothing but 401.
    const Status init = exchange.Init();
    if (!Authorized(exchange)) {
      SendUnauthorized(exchange);
      if (!init.ok() || !exchange.Finish()) return;
      continue;
    }
    if (!init.ok()) {
      exchange.SendJsonError(400, init.message());
      return;
    }
    try {
      router_.Dispatch(exchange, exchange);
    } catch (const std::exception& e) {
      spdlog::error("http: {} {}: handler threw: {}", exchange.method(), exchange.path(), e.what());
      if (!exchange.started()) {
        exchange.SendJsonError(500, std::string("internal error: ") + e.what());
      }
      exchange.Abandon();
    }
    if (!exchange.Finish()) return;
  }
}

bool Connection::Handshake() {
  IoResult r = Await([&](auto done) {
    stream_.tcp().expires_after(options_.io_timeout);
    stream_.tls_stream()->async_handshake(
        asio::ssl::stream_base::server,
        [done = std::move(done)](beast::error_code ec) mutable { done(ec, 0); });
  });
  if (!r.ec) return true;
  // A client that does not trust us, or that we do not trust, or that is
  // not speaking TLS at all: the client's side says more.
  spdlog::warn("http: connection {}: TLS handshake failed: {}", remote_, r.ec.message());
  return false;
}

bool Connection::Authorized(const Exchange& exchange) const {
  if (options_.auth_token.empty() || HasBearerToken(exchange, options_.auth_token)) return true;
  // Neither the expected nor the offered token is logged.
  spdlog::warn("http: {} {} from {}: refused (401): no valid auth token", exchange.method(),
               JsonQuote(exchange.path()), exchange.remote_address());
  return false;
}

bool Connection::ReadRequestHeader(RequestParser& parser) {
  idle_.store(buffer_.size() == 0);
  IoResult r = Await([&](auto done) {
    stream_.tcp().expires_after(options_.idle_timeout);
    stream_.Visit([&](auto& s) { bhttp::async_read_header(s, buffer_, parser, std::move(done)); });
  });
  idle_.store(false);
  if (!r.ec) return true;
  if (!IsParseError(r.ec)) {
    spdlog::debug("http: connection {} ends: {}", remote_, r.ec.message());
    return false;
  }
  // A malformed request: say so once, then close.
  bool too_large = r.ec == bhttp::error::header_limit;
  bhttp::response<bhttp::string_body> res{
      too_large ? bhttp::status::request_header_fields_too_large : bhttp::status::bad_request, 11};
  res.set(bhttp::field::server, "walship");
  res.set(bhttp::field::content_type, ToBeast(kJson));
  res.keep_alive(false);
  res.body() = JsonErrorBody("malformed request: " + r.ec.message());
  res.prepare_payload();
  (void)WriteMessage(res);
  return false;
}

void Connection::CloseSocket() {
  bool linger = !thread_.get_stop_token().stop_requested();
  Await([&](auto done) {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec || !linger) stream_.tcp().close();
    done({}, 0);
  });
  if (!linger) return;
  std::vector<char> scratch(64 * 1024);
  size_t discarded = 0;
  auto deadline = std::chrono::steady_clock::now() + kLingerTime;
  while (discarded < kLingerBytes && std::chrono::steady_clock::now() < deadline) {
    IoResult r = Await([&](auto done) {
      stream_.tcp().expires_at(deadline);
      stream_.tcp().async_read_some(asio::buffer(scratch), std::move(done));
    });
    if (r.ec) break;
    discarded += r.bytes;
  }
  Await([&](auto done) {
    stream_.tcp().close();
    done({}, 0);
  });
}

IoResult Connection::ReadBodySome(RequestParser& parser) {
  return Await([&](auto done) {
    stream_.tcp().expires_after(options_.io_timeout);
    stream_.Visit([&](auto& s) { bhttp::async_read_some(s, buffer_, parser, std::move(done)); });
  });
}

IoResult Connection::WriteBuffer(asio::const_buffer buffer) { return WriteAll(buffer); }

IoResult Connection::WriteChunk(asio::const_buffer buffer) {
  return WriteAll(bhttp::make_chunk(buffer));
}

IoResult Connection::SendMsg(const struct iovec* iov, int count) {
  if (count == 0) return {};
  std::lock_guard lock(socket_mu_);
  if (!stream_.socket().is_open()) return {asio::error::operation_aborted, 0};
  struct msghdr message {};
  message.msg_iov = const_cast<struct iovec*>(iov);
  message.msg_iovlen = size_t(count);
  const ssize_t n =
      ::sendmsg(stream_.socket().native_handle(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n >= 0) return {{}, size_t(n)};
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return {};
  return {beast::error_code(errno, boost::system::system_category()), 0};
}

IoResult Connection::WriteLastChunk() {
  auto last = bhttp::make_chunk_last();
  return Await([&](auto done) {
    stream_.tcp().expires_after(options_.io_timeout);
    stream_.Visit([&](auto& s) { asio::async_write(s, last, std::move(done)); });
  });
}

bool Connection::PeerConnected() {
  bool connected = false;
  Await([&](auto done) {
    if (stream_.socket().is_open()) {
      pollfd pfd{stream_.socket().native_handle(), POLLIN | POLLRDHUP, 0};
      int n = ::poll(&pfd, 1, 0);
      connected = !(n > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)));
    }
    done({}, 0);
  });
  return connected;
}

}  // namespace walship::http::internal
