// Server and Client together over loopback: requests, errors, keep-alive and
// concurrency.
#include "http/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "http/client.h"
#include "test_util.h"

namespace walship::http {
namespace {

using namespace std::chrono_literals;
using testing::BaseUrl;
using testing::LoopbackOptions;

TEST(Server, GetAndPostRoundTrip) {
  Server server(LoopbackOptions());
  server.Handle("GET", "/hello", [](Request&, Response& res) { res.Send(200, "hi"); });
  server.Handle("POST", "/echo", [](Request& req, Response& res) {
    Result<std::string> body = req.ReadBody(1 << 20);
    if (!body.ok()) return res.SendJsonError(400, body.status().message());
    res.SetHeader("X-Seen-Type", req.Header("Content-Type"));
    res.Send(201, "echo:" + *body, "text/x-echo");
  });
  ASSERT_TRUE(server.Start().ok());
  ASSERT_NE(server.port(), 0);

  Client client(BaseUrl(server), 5s);
  Result<ClientResponse> get = client.Get("/hello");
  ASSERT_TRUE(get.ok()) << get.status().ToString();
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "hi");
  EXPECT_EQ(get->headers.at("server"), "walship");

  Result<ClientResponse> post = client.Post("/echo", "{\"a\":1}", "application/json");
  ASSERT_TRUE(post.ok()) << post.status().ToString();
  EXPECT_EQ(post->status, 201);
  EXPECT_TRUE(post->ok());
  EXPECT_EQ(post->body, "echo:{\"a\":1}");
  EXPECT_EQ(post->headers.at("content-type"), "text/x-echo");
  EXPECT_EQ(post->headers.at("x-seen-type"), "application/json");
}

TEST(Server, DecodesPathAndQuery) {
  std::string seen_path;
  QueryParams seen_query;
  std::string seen_remote;
  Server server(LoopbackOptions());
  server.Handle("GET", "/my db", [&](Request& req, Response& res) {
    seen_path = req.path();
    seen_query = req.query();
    seen_remote = req.remote_address();
    res.Send(200, req.Query("name", "none") + "|" + req.Query("missing", "fallback"));
  });
  ASSERT_TRUE(server.Start().ok());
  Client client(BaseUrl(server), 5s);
  Result<ClientResponse> res = client.Get("/my%20db?name=" + UrlEncode("a b/c&d") + "&x=1+2&flag");
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "a b/c&d|fallback");
  EXPECT_EQ(seen_path, "/my db");
  EXPECT_EQ(seen_query.at("x"), "1 2");
  EXPECT_EQ(seen_query.at("flag"), "");
  EXPECT_EQ(seen_remote.rfind("127.0.0.1:", 0), 0u) << seen_remote;
}

TEST(Server, BadQueryIs400Json) {
  Server server(LoopbackOptions());
  server.Handle("GET", "/x", [](Request&, Response& res) { res.Send(200, "unreachable"); });
  ASSERT_TRUE(server.Start().ok());
  Client client(BaseUrl(server), 5s);
  Result<ClientResponse> res = client.Get("/x?name=%zz");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(res->body.rfind("{\"error\":", 0), 0u) << res->body;
}

TEST(Server, UnknownPathAndWrongMethodAreJsonErrors) {
  Server server(LoopbackOptions());
  server.Handle("GET", "/info", [](Request&, Response& res) { res.SendJson(200, "{}"); });
  ASSERT_TRUE(server.Start().ok());
  Client client(BaseUrl(server), 5s);

  Result<ClientResponse> missing = client.Get("/nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->headers.at("content-type"), "application/json");
  EXPECT_EQ(missing->body, "{\"error\":\"no such endpoint: /nope\"}\n");

  Result<ClientResponse> wrong = client.Post("/info", "x", "text/plain");
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(wrong->headers.at("allow"), "GET");
  EXPECT_EQ(wrong->body.rfind("{\"error\":\"method POST not allowed", 0), 0u) << wrong->body;
  EXPECT_EQ(wrong->body.back(), '\n');

  // The connection survives error responses.
  Result<ClientResponse> ok = client.Get("/info");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200);
}

TEST(Server, BodyOverLimitIs413) {
  Server server(LoopbackOptions());
  server.Handle("POST", "/small", [](Request& req, Response& res) {
    Result<std::string> body = req.ReadBody(10);
    if (!body.ok()) return res.SendJsonError(413, body.status().message());
    res.Send(200, *body);
  });
  ASSERT_TRUE(server.Start().ok());
  Client client(BaseUrl(server), 5s);
  Result<ClientResponse> res = client.Post("/small", std::string(100, 'x'), "text/plain");
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 413);
  Result<ClientResponse> fits = client.Post("/small", "0123456789", "text/plain");
  ASSERT_TRUE(fits.ok()) << fits.status().ToString();
  EXPECT_EQ(fits->body, "0123456789");
}

TEST(Server, SilentOrThrowingHandlerGets500) {
  Server server(LoopbackOptions());
  server.Handle("GET", "/silent", [](Request&, Response&) {});
  server.Handle("GET", "/throws", [](Request&, Response&) { throw std::runtime_error("boom"); });
  ASSERT_TRUE(server.Start().ok());
  Client client(BaseUrl(server), 5s);
  Result<ClientResponse> silent = client.Get("/silent");
  ASSERT_TRUE(silent.ok());
  EXPECT_EQ(silent->status, 500);
  Result<ClientResponse> throws = client.Get("/throws");
  ASSERT_TRUE(throws.ok()) << throws.status().ToString();
  EXPECT_EQ(throws->status, 500);
  EXPECT_NE(throws->body.find("boom"), std::string::npos);
  Result<ClientResponse> again = client.Get("/silent");  // reconnects after the close
  ASSERT_TRUE(again.ok()) << again.status().ToString();
}

TEST(Client, ConnectionRefusedIsUnavailable) {
  uint16_t port;
  {
    Server server(LoopbackOptions());
    ASSERT_TRUE(server.Start().ok());
    port = server.port();
  }
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  Client client(url, 2s);
  Result<ClientResponse> res = client.Get("/info");
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Status::Code::kUnavailable);
  EXPECT_TRUE(res.status().IsRetryable());
  EXPECT_NE(res.status().message().find(url + "/info"), std::string::npos)
      << res.status().message();
  Result<std::unique_ptr<StreamReader>> stream = client.OpenStream("GET", "/events");
  EXPECT_EQ(stream.status().code(), Status::Code::kUnavailable);
}

TEST(Client, BadBaseUrlIsInvalidArgument) {
  Client client("ftp://example.com", 1s);
  EXPECT_EQ(client.Get("/").status().code(), Status::Code::kInvalidArgument);
  Client relative("http://127.0.0.1:1", 1s);
  EXPECT_EQ(relative.Get("info").status().code(), Status::Code::kInvalidArgument);
}

TEST(Client, SlowServerTimesOutAsUnavailable) {
  Server server(LoopbackOptions());
  server.Handle("GET", "/slow", [](Request& req, Response& res) {
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, req.stop_token(), 10s, [] { return false; });
    res.Send(200, "late");
  });
  ASSERT_TRUE(server.Start().ok());
  Client client(BaseUrl(server), 200ms);
  auto start = std::chrono::steady_clock::now();
  Result<ClientResponse> res = client.Get("/slow");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Status::Code::kUnavailable);
}

TEST(Server, KeepAliveServesSequentialRequestsOnOneConnection) {
  std::mutex mu;
  std::set<std::string> remotes;
  int count = 0;
  Server server(LoopbackOptions());
  server.Handle("GET", "/n", [&](Request& req, Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    remotes.insert(req.remote_address());
    res.Send(200, std::to_string(++count));
  });
  ASSERT_TRUE(server.Start().ok());
  Client client(BaseUrl(server), 5s);
  for (int i = 1; i <= 100; ++i) {
    Result<ClientResponse> res = client.Get("/n");
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    ASSERT_EQ(res->body, std::to_string(i));
  }
  EXPECT_EQ(remotes.size(), 1u);  // one connection, kept alive
}

TEST(Server, TwentyConcurrentClients) {
  ServerOptions options = LoopbackOptions();
  std::atomic<int> active{0}, peak{0}, served{0};
  std::atomic<bool> overlapped{false};
  Server server(options);
  server.Handle("POST", "/work", [&](Request& req, Response& res) {
    int now = ++active;
    int seen = peak.load();
    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
    }
    Result<std::string> body = req.ReadBody(1024);
    // Until two requests have been in handlers at once, each one waits for
    // another to arrive (a server that serves one at a time never sees it).
    for (auto end = std::chrono::steady_clock::now() + 5s;
         !overlapped && std::chrono::steady_clock::now() < end;
         std::this_thread::sleep_for(1ms)) {  // poll interval
      if (active.load() >= 2) overlapped = true;
    }
    --active;
    ++served;
    res.Send(200, body.ok() ? *body : "error");
  });
  ASSERT_TRUE(server.Start().ok());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 20; ++t) {
    threads.emplace_back([&, t] {
      Client client(BaseUrl(server), 10s);
      for (int i = 0; i < 10; ++i) {
        std::string body = std::to_string(t) + "/" + std::to_string(i);
        Result<ClientResponse> res = client.Post("/work", body, "text/plain");
        if (!res.ok() || res->status != 200 || res->body != body) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(served.load(), 200);
  EXPECT_GT(peak.load(), 1);  // handlers really ran side by side
}

TEST(Server, StopClosesIdleKeepAliveConnectionsPromptly) {
  Server server(LoopbackOptions());
  server.Handle("GET", "/x", [](Request&, Response& res) { res.Send(200, "x"); });
  ASSERT_TRUE(server.Start().ok());
  Client client(BaseUrl(server), 5s);
  ASSERT_TRUE(client.Get("/x").ok());  // leaves an idle connection behind
  auto start = std::chrono::steady_clock::now();
  server.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  server.Stop();  // idempotent
  EXPECT_EQ(client.Get("/x").status().code(), Status::Code::kUnavailable);
}

TEST(Server, ConnectionsBeyondTheLimitAreRefused) {
  ServerOptions options = LoopbackOptions();
  options.max_connections = 1;
  Server server(options);
  server.Handle("GET", "/hold", [](Request& req, Response& res) {
    if (!res.BeginChunked(200, kNdjson).ok() || !res.WriteText("{}\n").ok()) return;
    while (res.PeerConnected() && !req.stop_token().stop_requested()) {
      std::this_thread::sleep_for(5ms);
    }
  });
  server.Handle("GET", "/x", [](Request&, Response& res) { res.Send(200, "x"); });
  ASSERT_TRUE(server.Start().ok());
  Client holder(BaseUrl(server), 5s);
  auto stream = holder.OpenStream("GET", "/hold");
  ASSERT_TRUE(stream.ok());
  ASSERT_TRUE((*stream)->ReadLine().ok());
  Client second(BaseUrl(server), 5s);
  Result<ClientResponse> refused = second.Get("/x");
  EXPECT_EQ(refused.status().code(), Status::Code::kUnavailable);
  (*stream)->Close();
  // Once the held connection is gone, a new one is served again.
  Result<ClientResponse> served = Status::Unavailable("not tried");
  for (int i = 0; i < 100 && !served.ok(); ++i) {
    std::this_thread::sleep_for(10ms);
    served = second.Get("/x");
  }
  ASSERT_TRUE(served.ok()) << served.status().ToString();
  EXPECT_EQ(served->body, "x");
}

TEST(Server, StartFailsOnBusyPortAndBadAddress) {
  Server first(LoopbackOptions());
  ASSERT_TRUE(first.Start().ok());
  ServerOptions busy = LoopbackOptions();
  busy.addr = "127.0.0.1:" + std::to_string(first.port());
  Server second(busy);
  Status st = second.Start();
  EXPECT_EQ(st.code(), Status::Code::kIOError) << st.ToString();
  EXPECT_EQ(st.err(), EADDRINUSE);
  ServerOptions bad = LoopbackOptions();
  bad.addr = "nonsense";
  EXPECT_EQ(Server(bad).Start().code(), Status::Code::kInvalidArgument);
}

TEST(Server, ListensOnAllInterfacesWithColonPort) {
  ServerOptions options;
  options.addr = ":0";
  Server server(options);
  server.Handle("GET", "/x", [](Request&, Response& res) { res.Send(200, "any"); });
  ASSERT_TRUE(server.Start().ok());
  Client client(BaseUrl(server), 5s);
  Result<ClientResponse> res = client.Get("/x");
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->body, "any");
}

}  // namespace
}  // namespace walship::http
