#include "proxy/proxy.h"

#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <limits>
#include <list>
#include <mutex>
#include <spdlog/spdlog.h>
#include <thread>

#include "proxy/relay.h"

namespace walship::proxy {

using namespace internal;

namespace {

// How a 502 names the upstream that does not answer.
constexpr const char* kApplication = "the application";
constexpr const char* kPrimaryProxy = "the primary's proxy";

constexpr uint32_t kHeaderLimit = 64 * 1024;
// Set on requests one proxy forwards to another, so a request never bounces
// between two nodes that each think the other is the primary.
constexpr char kForwardedHeader[] = "Walship-Forwarded";
constexpr char kConsistencyHeader[] = "Walship-Consistency";
constexpr auto kUpgradeIdle = std::chrono::minutes(10);

std::string_view View(beast::string_view s) { return {s.data(), s.size()}; }

std::string PathOf(beast::string_view target) {
  const std::string_view t = View(target);
  return std::string(t.substr(0, t.find('?')));
}

}  // namespace

// One client connection: its socket, the upstream socket while forwarding,
// and the thread serving it.
struct Connection {
  explicit Connection(asio::io_context& io) : client(io), upstream(io) {}
  tcp::socket client;
  tcp::socket upstream;
  std::mutex mu;  // guards the sockets' shutdown against their use in Stop
  std::thread thread;
  bool done = false;
};

class Proxy::Impl {
 public:
  Impl(ProxyOptions options, ProxyHooks hooks)
      : options_(std::move(options)), hooks_(std::move(hooks)), acceptor_(io_) {}

  Status Start();
  void Stop();
  uint16_t port() const { return port_; }

 private:
  void AcceptLoop();
  void Serve(Connection* c);
  // One request; false when the connection must close.
  bool HandleRequest(Connection* c, beast::flat_buffer& buffer, RequestParser& parser);
  // `who` names the upstream in errors: "the application" (the local
  // target) or "the primary's proxy" (a write forwarded from a replica).
  bool Forward(Connection* c, beast::flat_buffer& buffer, RequestParser& parser,
               const std::string& who, const std::string& upstream, bool set_cookie);
  bool ForwardUpgrade(Connection* c, beast::flat_buffer& buffer, RequestParser& parser,
                      const std::string& who, const std::string& upstream);
  // Before a read: waits for the TXID the client must see here. An error
  // response was sent when it returns false.
  bool WaitForReadPosition(Connection* c, const bhttp::request<bhttp::buffer_body>& req,
                           bool* close);
  void Reap();

  ProxyOptions options_;
  ProxyHooks hooks_;
  asio::io_context io_;  // never run: sockets are used synchronously
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread accept_thread_;
  std::mutex mu_;
  std::list<std::unique_ptr<Connection>> connections_;
  bool stopping_ = false;
};

Status Proxy::Impl::Start() {
  const size_t colon = options_.addr.rfind(':');
  std::string host = options_.addr.substr(0, colon);
  if (host.empty()) host = "0.0.0.0";
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  beast::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("proxy.addr " + options_.addr + ": " + ec.message());
  const tcp::endpoint endpoint(address, uint16_t(std::stoi(options_.addr.substr(colon + 1))));
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::IOError("proxy: cannot listen on " + options_.addr + ": " + ec.message());
  port_ = acceptor_.local_endpoint().port();
  accept_thread_ = std::thread([this] { AcceptLoop(); });
  spdlog::info("proxy: listening on {} in front of {}", options_.addr, options_.target);
  return Status::OK();
}

void Proxy::Impl::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || !accept_thread_.joinable()) return;
    stopping_ = true;
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);  // wakes the blocking accept
    for (auto& c : connections_) {
      std::lock_guard conn_lock(c->mu);
      ::shutdown(c->client.native_handle(), SHUT_RDWR);
      if (c->upstream.is_open()) ::shutdown(c->upstream.native_handle(), SHUT_RDWR);
    }
  }
  accept_thread_.join();
  std::list<std::unique_ptr<Connection>> all;
  {
    std::lock_guard lock(mu_);
    all.swap(connections_);
  }
  for (auto& c : all) {
    if (c->thread.joinable()) c->thread.join();
  }
  beast::error_code ec;
  acceptor_.close(ec);
}

void Proxy::Impl::AcceptLoop() {
  while (true) {
    auto c = std::make_unique<Connection>(io_);
    beast::error_code ec;
    acceptor_.accept(c->client, ec);
    std::lock_guard lock(mu_);
    if (stopping_) return;
    if (ec) {
      spdlog::warn("proxy: accept: {}", ec.message());
      continue;
    }
    Reap();
    Connection* raw = c.get();
    connections_.push_back(std::move(c));
    raw->thread = std::thread([this, raw] { Serve(raw); });
  }
}

void Proxy::Impl::Reap() {
  for (auto it = connections_.begin(); it != connections_.end();) {
    bool done;
    {
      std::lock_guard conn_lock((*it)->mu);
      done = (*it)->done;
    }
    if (done) {
      (*it)->thread.join();
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
}

void Proxy::Impl::Serve(Connection* c) {
  beast::error_code ec;
  c->client.set_option(tcp::no_delay(true), ec);
  SetIoTimeout(c->client, options_.io_timeout);
  beast::flat_buffer buffer;
  while (true) {
    RequestParser parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    bhttp::read_header(c->client, buffer, parser, ec);
    // A body already in the buffer has nowhere to go yet (buffer_body).
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) break;
    if (!HandleRequest(c, buffer, parser)) break;
  }
  std::lock_guard lock(c->mu);
  c->client.shutdown(tcp::socket::shutdown_both, ec);
  c->client.close(ec);
  c->done = true;
}

bool Proxy::Impl::WaitForReadPosition(Connection* c,
                                      const bhttp::request<bhttp::buffer_body>& req, bool* close) {
  *close = false;
  if (hooks_.is_primary()) return true;
  std::optional<uint64_t> want;
  if (req[kConsistencyHeader] == "strong") {
    auto txid = hooks_.primary_txid();
    if (!txid.ok()) {
      SendResponse(c->client, req.version(), 503,
                   "walship proxy: strong read: cannot reach the primary: " +
                       txid.status().message() + "\n",
                   true);
      *close = true;
      return false;
    }
    want = *txid;
  } else {
    want = TxidFromCookieHeader(View(req[bhttp::field::cookie]));
  }
  if (!want || *want <= hooks_.txid()) return true;
  if (hooks_.wait_for_txid(*want, options_.max_lag)) return true;
  SendResponse(c->client, req.version(), 504,
               "walship proxy: this replica did not reach TXID " + std::to_string(*want) +
                   " within " + std::to_string(options_.max_lag.count()) +
                   " ms (it is at " + std::to_string(hooks_.txid()) + "); retry, or read from the primary\n",
               true);
  *close = true;
  return false;
}

bool Proxy::Impl::HandleRequest(Connection* c, beast::flat_buffer& buffer, RequestParser& parser) {
  auto& req = parser.get();
  const std::string method(req.method_string());
  const std::string path = PathOf(req.target());
  const Route route = Classify(method, path, options_.rules);
  const bool primary = hooks_.is_primary();

  if (route == Route::kHealth) {
    const int64_t lag = hooks_.lag_ms();
    const bool healthy = lag <= options_.max_lag.count();
    SendResponse(c->client, req.version(), healthy ? 200 : 503,
                 healthy ? "OK\n"
                         : "lagging: " + std::to_string(lag) + " ms behind the primary (max-lag " +
                               std::to_string(options_.max_lag.count()) + " ms)\n",
                 !req.keep_alive());
    return req.keep_alive() && parser.is_done();
  }
  const bool upgrade = beast::websocket::is_upgrade(req);
  if (route == Route::kPassthrough) {
    return upgrade ? ForwardUpgrade(c, buffer, parser, kApplication, options_.target)
                   : Forward(c, buffer, parser, kApplication, options_.target, false);
  }
  if (route == Route::kRead) {
    bool close = false;
    if (!WaitForReadPosition(c, req, &close)) return !close;
    return upgrade ? ForwardUpgrade(c, buffer, parser, kApplication, options_.target)
                   : Forward(c, buffer, parser, kApplication, options_.target, false);
  }
  // A write.
  if (primary) {
    return upgrade ? ForwardUpgrade(c, buffer, parser, kApplication, options_.target)
                   : Forward(c, buffer, parser, kApplication, options_.target, /*set_cookie=*/true);
  }
  if (!req[kForwardedHeader].empty()) {
    SendResponse(c->client, req.version(), 503,
                 "walship proxy: a write was forwarded to this node, which is not the primary "
                 "(the primary changed); retry\n",
                 true);
    return false;
  }
  if (options_.fly_replay) {
    const std::string host = hooks_.primary_hostname();
    if (host.empty()) {
      SendResponse(c->client, req.version(), 503, "walship proxy: no primary is known\n", true);
      return false;
    }
    SendResponse(c->client, req.version(), 409, "", true, "fly-replay", "instance=" + host);
    return false;
  }
  const auto upstream = hooks_.primary_proxy();
  if (!upstream) {
    SendResponse(c->client, req.version(), 503,
                 "walship proxy: no primary is known (or it runs no proxy); retry shortly\n", true);
    return false;
  }
  req.set(kForwardedHeader, "1");
  return upgrade ? ForwardUpgrade(c, buffer, parser, kPrimaryProxy, *upstream)
                 : Forward(c, buffer, parser, kPrimaryProxy, *upstream, false);
}

bool Proxy::Impl::Forward(Connection* c, beast::flat_buffer& buffer, RequestParser& parser,
                          const std::string& who, const std::string& upstream, bool set_cookie) {
  auto& req = parser.get();
  const unsigned version = req.version();
  const bool head = req.method() == bhttp::verb::head;
  const std::string method_for_log(req.method_string());
  const std::string path_for_log = PathOf(req.target());
  const bool client_keep_alive = req.keep_alive();
  Status st = Connect(io_, upstream, c->upstream, options_.target_retry);
  if (!st.ok()) {
    SendResponse(
        c->client, version, 502,
        "walship proxy: " + who + " at " + upstream + " does not answer (" + st.message() + ")\n",
        true);
    return false;
  }
  SetIoTimeout(c->upstream, options_.io_timeout);
  auto close_upstream = [&] {
    std::lock_guard lock(c->mu);
    beast::error_code ec;
    c->upstream.shutdown(tcp::socket::shutdown_both, ec);
    c->upstream.close(ec);
  };
  req.keep_alive(false);  // one upstream connection per request
  st = Relay<true>(c->client, buffer, parser, c->upstream, "request");
  if (!st.ok()) {
    close_upstream();
    spdlog::warn("proxy: forwarding {} {} to {}: {}", method_for_log, path_for_log, upstream, st.ToString());
    return false;
  }
  beast::flat_buffer upstream_buffer;
  ResponseParser response;
  response.header_limit(kHeaderLimit);
  response.body_limit(std::numeric_limits<std::uint64_t>::max());
  if (head) response.skip(true);
  beast::error_code ec;
  bhttp::read_header(c->upstream, upstream_buffer, response, ec);
  if (ec == bhttp::error::need_buffer) ec = {};
  if (ec) {
    close_upstream();
    SendResponse(
        c->client, version, 502,
        "walship proxy: " + who + " at " + upstream + " sent no response (" + ec.message() + ")\n",
        true);
    return false;
  }
  auto& res = response.get();
  // The position after the application answered: its write has committed.
  if (set_cookie) res.insert(bhttp::field::set_cookie, TxidSetCookie(hooks_.txid()));
  res.keep_alive(client_keep_alive);
  st = Relay<false>(c->upstream, upstream_buffer, response, c->client, "response");
  close_upstream();
  if (!st.ok()) {
    spdlog::warn("proxy: relaying the response of {} {} from {}: {}", method_for_log,
                 path_for_log, upstream, st.ToString());
    return false;
  }
  return client_keep_alive;
}

bool Proxy::Impl::ForwardUpgrade(Connection* c, beast::flat_buffer& buffer, RequestParser& parser,
                                 const std::string& who, const std::string& upstream) {
  auto& req = parser.get();
  Status st = Connect(io_, upstream, c->upstream, options_.target_retry);
  if (!st.ok()) {
    SendResponse(
        c->client, req.version(), 502,
        "walship proxy: " + who + " at " + upstream + " does not answer (" + st.message() + ")\n",
        true);
    return false;
  }
  st = Relay<true>(c->client, buffer, parser, c->upstream, "upgrade request");
  beast::flat_buffer upstream_buffer;
  bhttp::response_parser<bhttp::empty_body> response;
  beast::error_code ec;
  if (st.ok()) bhttp::read_header(c->upstream, upstream_buffer, response, ec);
  if (st.ok() && !ec) bhttp::write(c->client, response.get(), ec);
  if (st.ok() && !ec && response.get().result() == bhttp::status::switching_protocols) {
    // No timeout on an open WebSocket beyond the idle limit.
    SetIoTimeout(c->client, std::chrono::milliseconds(0));
    SetIoTimeout(c->upstream, std::chrono::milliseconds(0));
    Splice(c->client, buffer, c->upstream, upstream_buffer, kUpgradeIdle);
  }
  std::lock_guard lock(c->mu);
  c->upstream.shutdown(tcp::socket::shutdown_both, ec);
  c->upstream.close(ec);
  return false;
}

Proxy::Proxy(ProxyOptions options, ProxyHooks hooks)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(hooks))) {}
Proxy::~Proxy() { Stop(); }
Status Proxy::Start() { return impl_->Start(); }
void Proxy::Stop() { impl_->Stop(); }
uint16_t Proxy::port() const { return impl_->port(); }

}  // namespace walship::proxy
