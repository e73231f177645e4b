// Client: a synchronous HTTP/1.1 client for the CLI and the replica side, on
// Boost.Beast (kept out of this header).
//
// Requests go to `base_url` (e.g. "http://10.0.0.2:20202", or https:// for a
// node with TLS, verified as http/tls.h says); a request path is
// appended to the base URL's path. The client keeps one connection alive
// between calls and reconnects (retrying once) when the server has closed it
// meanwhile. Any HTTP status, 4xx and 5xx included, is a successful result
// for the caller to judge; only transport failures are errors: connection
// refused, reset or timed out -> Unavailable naming the URL (retryable).
// `timeout` bounds connecting and every wait for the network to make
// progress; it does not bound the length of a transfer that keeps moving.
//
// OpenStream() returns a StreamReader with its own connection for long-lived
// responses (event and replication streams), read incrementally.
//
// Thread rules: a Client may be shared; its calls take a mutex and run one at
// a time. A StreamReader is read from one thread; Close() may be called from
// any thread to abort a blocking Read().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"
#include "http/handler.h"
#include "http/tls.h"
#include "http/url.h"

namespace walship::http {

struct ClientResponse {
  int status = 0;
  std::string body;
  Headers headers;  // lower-cased names

  bool ok() const { return status >= 200 && status < 300; }
};

// The body of a long-lived response, read as it arrives.
class StreamReader {
 public:
  class Impl;
  explicit StreamReader(std::unique_ptr<Impl> impl);
  ~StreamReader();

  int status() const;
  const Headers& headers() const;

  // Reads up to out.size() body bytes (chunked encoding removed), blocking
  // until some arrive. 0 at the end of the body. Unavailable when the
  // connection breaks or a read timeout passes, Aborted after Close().
  // Small reads are served from a buffer filled kChunkSize bytes at a time,
  // so reading a stream of small frames costs one network read per chunk,
  // not per frame.
  Result<size_t> Read(std::span<uint8_t> out);
  // Whether body bytes already read from the network wait to be returned: the
  // next small Read returns without touching the socket.
  bool Buffered() const { return at_ < buffer_.size(); }
  // Reads one line without its '\n' (for NDJSON); NotFound at the end of the body.
  Result<std::string> ReadLine(size_t max = 1 << 20);
  // Reads the rest of the body, failing with InvalidArgument beyond `max`.
  Result<std::string> ReadAll(size_t max = 1 << 20);
  // Bounds each Read's wait for data; zero (the default) waits indefinitely.
  void SetReadTimeout(std::chrono::milliseconds timeout);
  // Aborts a blocking Read and closes the connection. Thread-safe, idempotent.
  void Close();

 private:
  static constexpr size_t kChunkSize = 64 << 10;

  // Refills the buffer when all of it was read; false at the end of the body.
  Result<bool> Fill();

  std::unique_ptr<Impl> impl_;
  std::string buffer_;  // body bytes read from the network; those from at_ on not yet returned
  size_t at_ = 0;
};

// What a client shows a node and trusts it by: the node API's shared token
// (http.auth-token; empty: none sent) and TLS files (for https:// URLs).
struct Credentials {
  std::string auth_token;
  TlsFiles tls;
};

// Called as a file body moves (PostFile, GetToFile): the bytes so far and the
// whole size (0 when the response does not say).
using TransferProgress = std::function<void(uint64_t done, uint64_t total)>;

class Client {
 public:
  Client(std::string base_url, std::chrono::milliseconds timeout);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Adds a header to every request this client sends.
  void SetHeader(std::string name, std::string value);
  // Sends "Authorization: Bearer TOKEN" with every request when
  // credentials.auth_token is set, and uses credentials.tls for https://.
  // A TLS file that cannot be loaded fails each request, naming the file.
  void SetCredentials(const Credentials& credentials);
  // Reports the progress of PostFile and GetToFile after each piece.
  void SetTransferProgress(TransferProgress progress);

  Result<ClientResponse> Get(std::string_view path_and_query);
  Result<ClientResponse> Post(std::string_view path_and_query, std::string body,
                              std::string_view content_type = kJson);

  // POSTs the file's contents as the body, read in pieces. Returns the
  // status; the response body goes to `response_body` when given.
  Result<int> PostFile(std::string_view path_and_query, const std::string& file,
                       std::string_view content_type = kOctetStream,
                       std::string* response_body = nullptr);
  // GETs into `file` (created or truncated) in pieces, only for a 2xx status;
  // otherwise the file is left alone and the body (up to 64 KiB) goes to
  // `error_body` when given. A failed transfer removes the partial file.
  Result<int> GetToFile(std::string_view path_and_query, const std::string& file,
                        std::string* error_body = nullptr);

  // Sends a request on a new connection and returns once the response
  // header has arrived, leaving the body to be read from the StreamReader.
  Result<std::unique_ptr<StreamReader>> OpenStream(std::string_view method,
                                                   std::string_view path_and_query,
                                                   std::string body = "",
                                                   std::string_view content_type = kOctetStream);

  const std::string& base_url() const { return base_url_; }

 private:
  class Impl;
  std::string base_url_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace walship::http
