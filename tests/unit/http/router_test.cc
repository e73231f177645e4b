#include "http/router.h"

#include <gtest/gtest.h>

#include <vector>

namespace walship::http {
namespace {

// An in-memory Request/Response pair: what a handler test needs without sockets.
class FakeExchange final : public Request, public Response {
 public:
  FakeExchange(std::string method, std::string path) : method_(method), path_(path) {}

  const std::string& method() const override { return method_; }
  const std::string& target() const override { return path_; }
  const std::string& path() const override { return path_; }
  const QueryParams& query() const override { return query_; }
  const Headers& headers() const override { return headers_; }
  const std::string& remote_address() const override { return remote_; }
  std::optional<uint64_t> content_length() const override { return body_.size(); }
  std::stop_token stop_token() const override { return {}; }
  Result<std::string> ReadBody(size_t) override { return body_; }
  Status ReadBodyTo(const BodySink& sink) override {
    return sink({reinterpret_cast<const uint8_t*>(body_.data()), body_.size()});
  }

  void SetHeader(std::string name, std::string value) override { sent_headers[name] = value; }
  void Send(int status, std::string body, std::string_view content_type) override {
    sent_status = status;
    sent_body = std::move(body);
    sent_type = std::string(content_type);
  }
  Status SendFile(const std::string&, std::string_view) override { return Status::OK(); }
  Status BeginChunked(int status, std::string_view) override {
    sent_status = status;
    return Status::OK();
  }
  Status WriteChunk(std::span<const uint8_t> data) override {
    sent_body.append(reinterpret_cast<const char*>(data.data()), data.size());
    return Status::OK();
  }
  Status EndChunked() override { return Status::OK(); }
  bool PeerConnected() override { return true; }
  bool started() const override { return sent_status != 0; }

  int sent_status = 0;
  std::string sent_body;
  std::string sent_type;
  Headers sent_headers;

 private:
  std::string method_, path_, remote_ = "test", body_;
  QueryParams query_;
  Headers headers_;
};

TEST(Router, DispatchesExactMethodAndPath) {
  Router router;
  std::vector<std::string> calls;
  router.Handle("GET", "/info", [&](Request&, Response& res) {
    calls.push_back("get");
    res.SendJson(200, "{}");
  });
  router.Handle("POST", "/info", [&](Request&, Response& res) {
    calls.push_back("post");
    res.Send(204, "");
  });
  FakeExchange get("GET", "/info");
  router.Dispatch(get, get);
  EXPECT_EQ(get.sent_status, 200);
  EXPECT_EQ(get.sent_type, "application/json");
  FakeExchange post("POST", "/info");
  router.Dispatch(post, post);
  EXPECT_EQ(post.sent_status, 204);
  EXPECT_EQ(calls, (std::vector<std::string>{"get", "post"}));
}

TEST(Router, UnknownPathIs404Json) {
  Router router;
  router.Handle("GET", "/info", [](Request&, Response& res) { res.Send(200, ""); });
  FakeExchange ex("GET", "/info/x");
  router.Dispatch(ex, ex);
  EXPECT_EQ(ex.sent_status, 404);
  EXPECT_EQ(ex.sent_type, "application/json");
  EXPECT_EQ(ex.sent_body, "{\"error\":\"no such endpoint: /info/x\"}\n");
}

TEST(Router, WrongMethodIs405WithAllow) {
  Router router;
  router.Handle("GET", "/events", [](Request&, Response& res) { res.Send(200, ""); });
  router.Handle("HEAD", "/events", [](Request&, Response& res) { res.Send(200, ""); });
  FakeExchange ex("DELETE", "/events");
  router.Dispatch(ex, ex);
  EXPECT_EQ(ex.sent_status, 405);
  EXPECT_EQ(ex.sent_headers["Allow"], "GET, HEAD");
  EXPECT_NE(ex.sent_body.find("\"error\":\"method DELETE not allowed"), std::string::npos);
}

TEST(Router, LaterRegistrationReplaces) {
  Router router;
  router.Handle("GET", "/x", [](Request&, Response& res) { res.Send(200, "old"); });
  router.Handle("GET", "/x", [](Request&, Response& res) { res.Send(200, "new"); });
  FakeExchange ex("GET", "/x");
  router.Dispatch(ex, ex);
  EXPECT_EQ(ex.sent_body, "new");
}

}  // namespace
}  // namespace walship::http
