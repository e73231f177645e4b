#include "proxy/relay.h"

#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <thread>

namespace walship::proxy::internal {

void SetIoTimeout(tcp::socket& socket, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = timeout.count() / 1000;
  tv.tv_usec = (timeout.count() % 1000) * 1000;
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

Status Connect(asio::io_context& io, const std::string& host_port, tcp::socket& socket,
               std::chrono::milliseconds retry_for) {
  const size_t colon = host_port.rfind(':');
  if (colon == std::string::npos) return Status::InvalidArgument("no port in " + host_port);
  std::string host = host_port.substr(0, colon);
  const std::string port = host_port.substr(colon + 1);
  if (host.empty()) host = "127.0.0.1";
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const auto deadline = std::chrono::steady_clock::now() + retry_for;
  beast::error_code ec;
  while (true) {
    tcp::resolver resolver(io);
    auto endpoints = resolver.resolve(host, port, ec);
    if (!ec) {
      asio::connect(socket, endpoints, ec);
      if (!ec) {
        socket.set_option(tcp::no_delay(true), ec);
        return Status::OK();
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    beast::error_code ignored;
    socket.close(ignored);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Status::Unavailable(host_port + ": " + ec.message());
}

template <bool isRequest>
Status Relay(tcp::socket& in, beast::flat_buffer& in_buffer,
             bhttp::parser<isRequest, bhttp::buffer_body>& parser, tcp::socket& out,
             const char* what) {
  // The relay pattern of Beast's http_relay example: the parser reads into a
  // small buffer that the serializer then writes, piece by piece.
  bhttp::serializer<isRequest, bhttp::buffer_body> serializer{parser.get()};
  beast::error_code ec;
  bhttp::write_header(out, serializer, ec);
  if (ec) return Status::Unavailable(std::string("writing the ") + what + " header: " + ec.message());
  char buf[16 * 1024];
  do {
    if (!parser.is_done()) {
      parser.get().body().data = buf;
      parser.get().body().size = sizeof buf;
      bhttp::read(in, in_buffer, parser, ec);
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) return Status::Unavailable(std::string("reading the ") + what + " body: " + ec.message());
      parser.get().body().size = sizeof buf - parser.get().body().size;
      parser.get().body().data = buf;
      parser.get().body().more = !parser.is_done();
    } else {
      parser.get().body().data = nullptr;
      parser.get().body().size = 0;
      parser.get().body().more = false;
    }
    bhttp::write(out, serializer, ec);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) return Status::Unavailable(std::string("writing the ") + what + " body: " + ec.message());
  } while (!parser.is_done() || !serializer.is_done());
  return Status::OK();
}

template Status Relay<true>(tcp::socket&, beast::flat_buffer&, RequestParser&, tcp::socket&,
                            const char*);
template Status Relay<false>(tcp::socket&, beast::flat_buffer&, ResponseParser&, tcp::socket&,
                             const char*);

void SendResponse(tcp::socket& socket, unsigned version, int status, const std::string& body,
                  bool close, const std::string& extra_header, const std::string& extra_value) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), version};
  res.set(bhttp::field::server, "walship-proxy");
  res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
  if (!extra_header.empty()) res.set(extra_header, extra_value);
  res.keep_alive(!close);
  res.body() = body;
  res.prepare_payload();
  beast::error_code ec;
  bhttp::write(socket, res, ec);
}

void Splice(tcp::socket& a, beast::flat_buffer& a_pending, tcp::socket& b,
            beast::flat_buffer& b_pending, std::chrono::milliseconds idle) {
  beast::error_code ec;
  if (a_pending.size()) asio::write(b, a_pending.data(), ec);
  if (!ec && b_pending.size()) asio::write(a, b_pending.data(), ec);
  if (ec) return;
  pollfd fds[2] = {{a.native_handle(), POLLIN, 0}, {b.native_handle(), POLLIN, 0}};
  char buf[16 * 1024];
  while (true) {
    fds[0].revents = fds[1].revents = 0;
    const int n = ::poll(fds, 2, int(idle.count()));
    if (n <= 0) return;  // idle, or an error
    for (int i = 0; i < 2; i++) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      tcp::socket& from = i == 0 ? a : b;
      tcp::socket& to = i == 0 ? b : a;
      const size_t got = from.read_some(asio::buffer(buf), ec);
      if (ec || got == 0) {
        to.shutdown(tcp::socket::shutdown_send, ec);
        return;
      }
      asio::write(to, asio::buffer(buf, got), ec);
      if (ec) return;
    }
  }
}

}  // namespace walship::proxy::internal
