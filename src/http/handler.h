// The request/response pair an HTTP handler works with, and the Handler type.
//
// The server calls a handler synchronously on the connection's own thread with
// a Request (line, headers, and a body the handler pulls on demand) and a
// Response (one plain reply, one file, or a chunked stream written over time).
// Both are abstract so handler logic can be exercised with in-memory fakes.
//
// Thread rules: a Request and Response belong to the handler call they are
// passed to; use them only from that thread and only until the handler
// returns. Nothing here is synchronized.
//
// A handler sends exactly one response. One that sends nothing gets a 500; one
// that begins a chunked stream and returns without ending it has the stream
// ended for it. A long-lived streaming handler must return once WriteChunk
// fails, once PeerConnected() turns false, or once stop_token() is signalled
// (the server is stopping); Server::Stop() waits for it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>

#include "base/status.h"
#include "http/url.h"

namespace walship::http {

// Header fields with lower-cased names; repeated fields are joined with ", ".
using Headers = std::map<std::string, std::string>;

inline constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";
inline constexpr std::string_view kJson = "application/json";
inline constexpr std::string_view kNdjson = "application/x-ndjson";
inline constexpr std::string_view kOctetStream = "application/octet-stream";

// Receives one piece of a request body; a non-OK Status stops the transfer.
using BodySink = std::function<Status(std::span<const uint8_t>)>;

class Request {
 public:
  virtual ~Request() = default;

  virtual const std::string& method() const = 0;        // "GET"
  virtual const std::string& target() const = 0;        // raw "/export?name=a%20b"
  virtual const std::string& path() const = 0;          // decoded "/export"
  virtual const QueryParams& query() const = 0;         // decoded {name: "a b"}
  virtual const Headers& headers() const = 0;           // lower-cased names
  virtual const std::string& remote_address() const = 0;  // "127.0.0.1:53412"
  // The declared body size; empty for chunked bodies.
  virtual std::optional<uint64_t> content_length() const = 0;
  // Signalled when the server is stopping.
  virtual std::stop_token stop_token() const = 0;

  // Reads the whole body into memory. InvalidArgument when it exceeds `max`
  // bytes (answer 413), Unavailable when the peer goes away.
  virtual Result<std::string> ReadBody(size_t max) = 0;
  // Streams the body to `sink` in pieces of at most 256 KiB without holding
  // more than that in memory. Returns the sink's error if it fails.
  virtual Status ReadBodyTo(const BodySink& sink) = 0;

  // The query parameter `key`, or `fallback` when absent.
  std::string Query(std::string_view key, std::string_view fallback = "") const;
  // The header `name` (any case), or "" when absent.
  std::string Header(std::string_view name) const;
};

class Response {
 public:
  virtual ~Response() = default;

  // Adds a header to the response; call before the response begins.
  virtual void SetHeader(std::string name, std::string value) = 0;

  // A complete response. Write failures are logged, not reported: there is
  // nothing a handler could do about them.
  virtual void Send(int status, std::string body, std::string_view content_type = kTextPlain) = 0;
  void SendJson(int status, std::string json) { Send(status, std::move(json), kJson); }
  // {"error":"<message>"} on one line.
  void SendJsonError(int status, std::string_view message);

  // 200 with the file's contents, read and sent in pieces. NotFound/IOError
  // (nothing sent yet; the handler answers) when the file cannot be opened;
  // Unavailable when the peer goes away during the transfer.
  virtual Status SendFile(const std::string& path,
                          std::string_view content_type = kOctetStream) = 0;

  // A chunked response written over time: BeginChunked once, WriteChunk any
  // number of times (each chunk leaves at once; no buffering), EndChunked.
  // WriteChunk returns Unavailable when the peer went away and Aborted when
  // the server is stopping; the handler should then return.
  virtual Status BeginChunked(int status, std::string_view content_type) = 0;
  virtual Status WriteChunk(std::span<const uint8_t> data) = 0;
  virtual Status EndChunked() = 0;
  Status WriteText(std::string_view text);

  // False once the peer has closed or reset the connection or the server is
  // stopping; lets an idle streaming handler notice a departed client.
  virtual bool PeerConnected() = 0;
  // True once any part of a response has been sent.
  virtual bool started() const = 0;
};

// Serves one request. See the header comment for the contract.
using Handler = std::function<void(Request&, Response&)>;

}  // namespace walship::http
