// Blocking HTTP relaying on Boost.Beast for the proxy (internal; Beast stays
// out of proxy.h): open a connection to an upstream, stream a request or a
// response from one socket to another without buffering the body, send a
// small response, and splice two sockets after an Upgrade.
// Thread-compatible: each function uses only the sockets it is given.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <string>

#include "base/status.h"

namespace walship::proxy::internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

using RequestParser = bhttp::request_parser<bhttp::buffer_body>;
using ResponseParser = bhttp::response_parser<bhttp::buffer_body>;

// Sets SO_RCVTIMEO and SO_SNDTIMEO: a read or write stalled this long fails.
void SetIoTimeout(tcp::socket& socket, std::chrono::milliseconds timeout);

// Connects `socket` to "host:port", retrying refused connections until
// `retry_for` has passed. Unavailable naming the address and the last error.
Status Connect(asio::io_context& io, const std::string& host_port, tcp::socket& socket,
               std::chrono::milliseconds retry_for);

// Writes the parsed message's header (as modified by the caller) to `out`,
// then streams its body from `in` (whose bytes after the header are in
// `in_buffer`) as it arrives. A non-OK status names `what` and the cause.
template <bool isRequest>
Status Relay(tcp::socket& in, beast::flat_buffer& in_buffer,
             bhttp::parser<isRequest, bhttp::buffer_body>& parser, tcp::socket& out,
             const char* what);

// A complete small response with `Connection: close` when `close`.
void SendResponse(tcp::socket& socket, unsigned version, int status, const std::string& body,
                  bool close, const std::string& extra_header = "",
                  const std::string& extra_value = "");

// Copies bytes both ways until either side closes or `idle` passes with no
// traffic. `a_pending` / `b_pending` are bytes already read from a / b.
void Splice(tcp::socket& a, beast::flat_buffer& a_pending, tcp::socket& b,
            beast::flat_buffer& b_pending, std::chrono::milliseconds idle);

}  // namespace walship::proxy::internal
