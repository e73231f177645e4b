// Internal: the byte stream under one HTTP connection, plain TCP or TLS over
// TCP (Beast's ssl_stream on Asio's OpenSSL binding). Reads and writes go
// through Visit(), which hands the operation whichever stream this is;
// timeouts, the socket and closing belong to the TCP layer in both cases.
//
// Thread rules: those of the stream it holds (one operation of each kind at
// a time, on the stream's executor).
#pragma once

#include <boost/beast/core.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <utility>
#include <variant>

#include "http/tls_context.h"

namespace walship::http::internal {

class Transport {
 public:
  using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

  // Over `next` (an executor or a connected socket): plain without `tls`,
  // TLS with it (the handshake is the owner's to do, by Visit-ing the
  // TlsStream). `tls` must outlive the transport.
  template <class Next>
  Transport(Next&& next, TlsContext* tls)
      : stream_(
            tls ? Stream(std::in_place_type<TlsStream>, std::forward<Next>(next), *tls)
                : Stream(std::in_place_type<boost::beast::tcp_stream>, std::forward<Next>(next))) {}

  bool tls() const { return std::holds_alternative<TlsStream>(stream_); }
  TlsStream* tls_stream() { return std::get_if<TlsStream>(&stream_); }

  boost::beast::tcp_stream& tcp() {
    return std::visit(
        [](auto& s) -> boost::beast::tcp_stream& { return boost::beast::get_lowest_layer(s); },
        stream_);
  }
  boost::asio::ip::tcp::socket& socket() { return tcp().socket(); }

  // Runs `op(stream)` with the stream to read and write.
  template <class Op>
  void Visit(Op&& op) {
    std::visit(std::forward<Op>(op), stream_);
  }

 private:
  using Stream = std::variant<boost::beast::tcp_stream, TlsStream>;
  Stream stream_;
};

}  // namespace walship::http::internal
