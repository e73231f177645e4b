// The server's bearer-token check (http/auth.h): a request without the token
// never reaches a handler, on any path; the client's SetCredentials passes it.
#include "http/auth.h"

#include <gtest/gtest.h>

#include <atomic>

#include "http/client.h"
#include "http/server.h"
#include "test_util.h"

namespace walship::http {
namespace {

using namespace std::chrono_literals;
using testing::BaseUrl;
using testing::LoopbackOptions;

TEST(ConstantTimeEquals, ComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("token", "token"));
  EXPECT_FALSE(ConstantTimeEquals("token", "tokem"));
  EXPECT_FALSE(ConstantTimeEquals("token", "token2"));
  EXPECT_FALSE(ConstantTimeEquals("token", "toke"));
  EXPECT_FALSE(ConstantTimeEquals("token", ""));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), "a"));
}

class AuthServer : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options = LoopbackOptions();
    options.auth_token = "the-token";
    server_ = std::make_unique<Server>(options);
    server_->Handle("POST", "/change", [this](Request&, Response& resp) {
      calls_++;
      resp.Send(200, "changed");
    });
    ASSERT_TRUE(server_->Start().ok());
  }

  // The status of POST `path` sent with `authorization` (none when empty).
  int Post(const std::string& path, const std::string& authorization, std::string* body,
           std::string* challenge = nullptr) {
    Client client(BaseUrl(*server_), 5s);
    if (!authorization.empty()) client.SetHeader("Authorization", authorization);
    auto resp = client.Post(path, "x");
    EXPECT_TRUE(resp.ok());
    if (!resp.ok()) return 0;
    *body = resp->body;
    if (challenge) {
      auto it = resp->headers.find("www-authenticate");
      *challenge = it == resp->headers.end() ? "" : it->second;
    }
    return resp->status;
  }

  std::unique_ptr<Server> server_;
  std::atomic<int> calls_{0};
};

TEST_F(AuthServer, RequestsWithoutTheTokenGet401AndNoHandlerRuns) {
  for (const char* authorization :
       {"", "Bearer", "Bearer ", "Bearer the-toke", "Bearer the-token2", "Basic the-token",
        "the-token", "Bearer  the-token"}) {
    for (const char* path : {"/change", "/unknown"}) {
      std::string body, challenge;
      EXPECT_EQ(Post(path, authorization, &body, &challenge), 401)
          << path << " with " << authorization;
      EXPECT_EQ(body.rfind("{\"error\":\"unauthorized", 0), 0u) << body;
      EXPECT_EQ(challenge, "Bearer realm=\"walship\"") << path << " with " << authorization;
      EXPECT_EQ(body.find("the-token"), std::string::npos) << body;
    }
  }
  EXPECT_EQ(calls_.load(), 0);
}

TEST_F(AuthServer, RequestsWithTheTokenAreServed) {
  std::string body;
  EXPECT_EQ(Post("/change", "Bearer the-token", &body), 200);
  EXPECT_EQ(Post("/change", "bearer the-token", &body), 200);
  EXPECT_EQ(Post("/unknown", "Bearer the-token", &body), 404);
  Client client(BaseUrl(*server_), 5s);
  client.SetCredentials({"the-token", {}});
  auto resp = client.Post("/change", "x");
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(calls_.load(), 3);
}

}  // namespace
}  // namespace walship::http
