// Internal to the server. Exchange: one request and its response on a
// Connection, implementing the Request and Response a handler sees.
//
// Thread rules: created, used and destroyed on the connection's serving
// thread only.
#pragma once

#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "http/handler.h"
#include "http/server_connection.h"

namespace walship::http::internal {

class Exchange final : public Request, public Response {
 public:
  Exchange(Connection& conn, RequestParser& parser, std::stop_token stop);

  // Decodes the target and collects headers; InvalidArgument for a bad target.
  Status Init();
  // Completes what the handler left undone (a missing response, an open
  // chunked stream, an unread body). True when the connection may serve
  // another request.
  bool Finish();
  // The handler failed mid-response: close the connection rather than
  // pretend the response completed.
  void Abandon() { broken_ = true; }

  // Request
  const std::string& method() const override { return method_; }
  const std::string& target() const override { return target_; }
  const std::string& path() const override { return path_; }
  const QueryParams& query() const override { return query_; }
  const Headers& headers() const override { return headers_; }
  const std::string& remote_address() const override { return conn_.remote_address(); }
  std::optional<uint64_t> content_length() const override;
  std::stop_token stop_token() const override { return stop_; }
  Result<std::string> ReadBody(size_t max) override;
  Status ReadBodyTo(const BodySink& sink) override;

  // Response
  void SetHeader(std::string name, std::string value) override;
  void Send(int status, std::string body, std::string_view content_type) override;
  Status SendFile(const std::string& path, std::string_view content_type) override;
  Status BeginChunked(int status, std::string_view content_type) override;
  Status WriteChunk(std::span<const uint8_t> data) override;
  Status EndChunked() override;
  bool PeerConnected() override;
  bool started() const override { return state_ != State::kNone; }

 private:
  enum class State { kNone, kChunked, kDone };

  // Reads the next piece of body into `buf`; 0 at the end of the body.
  Result<size_t> ReadSome(uint8_t* buf, size_t size);
  void SendContinueOnce();
  // Whether an unread body is small enough to discard and keep the connection.
  bool CanDrainBody() const;
  // Reads and discards a small unread body so the connection can be reused.
  bool DrainBody();
  // Status line, Server, keep-alive and handler-set headers.
  template <class Body>
  bhttp::response<Body> MakeResponse(int status, std::string_view content_type);
  Status StreamFile(int fd, uint64_t size);
  Status PeerGone(const char* what, const beast::error_code& ec);

  Connection& conn_;
  RequestParser& parser_;
  std::stop_token stop_;
  std::string method_;
  std::string target_;
  std::string path_;
  QueryParams query_;
  Headers headers_;
  std::vector<std::pair<std::string, std::string>> extra_headers_;
  State state_ = State::kNone;
  bool broken_ = false;  // an I/O error or a half-sent body: close after this
  bool expect_continue_ = false;
  bool continue_sent_ = false;
};

}  // namespace walship::http::internal
