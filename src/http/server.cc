#include "http/server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/thread_name.h"
#include "http/router.h"
#include "http/server_connection.h"
#include "http/tls_context.h"
#include "http/url.h"

namespace walship::http {

using internal::Connection;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class Server::Impl {
 public:
  explicit Impl(ServerOptions options)
      : options_(std::move(options)),
        strand_(asio::make_strand(ioc_)),
        acceptor_(strand_),
        backoff_(strand_) {}

  void Handle(std::string method, std::string path, Handler handler) {
    router_.Handle(std::move(method), std::move(path), std::move(handler));
  }
  Status Start();
  void Stop();
  uint16_t port() const { return port_; }

 private:
  Result<tcp::endpoint> ResolveListenAddress();
  Status Listen(const tcp::endpoint& endpoint);
  void Accept();
  void OnAccept(const boost::system::error_code& ec, tcp::socket socket);
  void AddConnection(tcp::socket socket);
  // Joins and drops connections whose threads have finished. REQUIRES: mu_ held.
  void ReapLocked();
  // Closes the oldest idle connection; false when none is idle. REQUIRES: mu_.
  bool CloseAnIdleConnectionLocked();

  ServerOptions options_;
  Router router_;
  std::shared_ptr<internal::TlsContext> tls_;  // set by Start() for HTTPS; outlives connections
  asio::io_context ioc_;
  asio::strand<asio::io_context::executor_type> strand_;  // acceptor and backoff timer
  tcp::acceptor acceptor_;
  asio::steady_timer backoff_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::vector<std::jthread> pool_;
  uint16_t port_ = 0;

  std::mutex stop_mu_;  // held for the whole of Stop()
  std::mutex mu_;
  bool started_ = false;   // GUARDED_BY(mu_)
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::list<std::shared_ptr<Connection>> connections_;  // GUARDED_BY(mu_)
};

Result<tcp::endpoint> Server::Impl::ResolveListenAddress() {
  WALSHIP_ASSIGN_OR_RETURN(HostPort hp, ParseHostPort(options_.addr));
  if (hp.host.empty()) return tcp::endpoint(tcp::v6(), hp.port);
  boost::system::error_code ec;
  tcp::resolver resolver(ioc_);
  auto results = resolver.resolve(hp.host, std::to_string(hp.port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return Status::InvalidArgument("cannot resolve listen address " + options_.addr + ": " +
                                   (ec ? ec.message() : "no addresses"));
  }
  return results.begin()->endpoint();
}

Status Server::Impl::Listen(const tcp::endpoint& endpoint) {
  boost::system::error_code ec;
  tcp::endpoint target = endpoint;
  acceptor_.open(target.protocol(), ec);
  if (ec && target.address().is_v6() && target.address().is_unspecified()) {
    target = tcp::endpoint(tcp::v4(), endpoint.port());  // a host without IPv6
    acceptor_.open(target.protocol(), ec);
  }
  if (!ec && target.address().is_v6()) acceptor_.set_option(asio::ip::v6_only(false), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(target, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) port_ = acceptor_.local_endpoint(ec).port();
  if (ec) {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    return Status::IOError("listen on " + options_.addr + ": " + ec.message(), ec.value());
  }
  return Status::OK();
}

Status Server::Impl::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (started_) return Status::InvalidArgument("http server already started");
    started_ = true;
  }
  if (options_.tls.serves()) {
    WALSHIP_ASSIGN_OR_RETURN(tls_, internal::ServerTlsContext(options_.tls));
  }
  WALSHIP_ASSIGN_OR_RETURN(tcp::endpoint endpoint, ResolveListenAddress());
  WALSHIP_RETURN_IF_ERROR(Listen(endpoint));
  work_.emplace(ioc_.get_executor());
  Accept();
  int threads = std::max(1, options_.threads);
  for (int i = 0; i < threads; ++i) {
    pool_.emplace_back([this] {
      NameThisThread("ws-http");
      for (;;) {
        try {
          ioc_.run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("http: io thread: {}", e.what());
        }
      }
    });
  }
  spdlog::info("http: listening on {} (port {}, {})", options_.addr, port_,
               tls_ ? "HTTPS" : "plain HTTP");
  return Status::OK();
}

void Server::Impl::Accept() {
  acceptor_.async_accept(asio::make_strand(ioc_),
                         [this](const boost::system::error_code& ec, tcp::socket socket) {
                           OnAccept(ec, std::move(socket));
                         });
}

void Server::Impl::OnAccept(const boost::system::error_code& ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    // Usually EMFILE/ENFILE: pause instead of spinning on the error.
    spdlog::warn("http: accept on {}: {}", options_.addr, ec.message());
    backoff_.expires_after(std::chrono::milliseconds(100));
    backoff_.async_wait([this](const boost::system::error_code& wait_ec) {
      if (!wait_ec && acceptor_.is_open()) Accept();
    });
    return;
  }
  AddConnection(std::move(socket));
  Accept();
}

void Server::Impl::AddConnection(tcp::socket socket) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;  // the socket closes as it goes out of scope
  ReapLocked();
  if (connections_.size() >= static_cast<size_t>(std::max(1, options_.max_connections)) &&
      !CloseAnIdleConnectionLocked()) {
    spdlog::warn("http: {} connections open, none idle; refusing another", connections_.size());
    return;
  }
  auto on_done = [this] {
    asio::post(strand_, [this] {
      std::lock_guard<std::mutex> reap_lock(mu_);
      ReapLocked();
    });
  };
  auto connection =
      std::make_shared<Connection>(std::move(socket), router_, options_, tls_.get(), on_done);
  connections_.push_back(connection);
  connection->Start();
}

bool Server::Impl::CloseAnIdleConnectionLocked() {
  // The oldest first: connections_ is in the order they were accepted.
  for (const auto& connection : connections_) {
    if (connection->done() || !connection->idle()) continue;
    spdlog::info("http: {} connections open; closing an idle one from {} to make room",
                 connections_.size(), connection->remote_address());
    connection->Cancel();
    return true;
  }
  return false;
}

void Server::Impl::ReapLocked() {
  for (auto it = connections_.begin(); it != connections_.end();) {
    if ((*it)->done()) {
      (*it)->Join();  // its thread is returning from on_done: a short wait
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
}

void Server::Impl::Stop() {
  std::lock_guard<std::mutex> stop_lock(stop_mu_);  // a second caller waits for the first
  std::list<std::shared_ptr<Connection>> connections;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || !started_) {
      stopping_ = true;
      return;
    }
    stopping_ = true;
    connections.swap(connections_);
  }
  asio::post(strand_, [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    backoff_.cancel();
  });
  for (auto& connection : connections) connection->Cancel();
  // The pool keeps running while handlers return: their last I/O needs it.
  for (auto& connection : connections) connection->Join();
  connections.clear();
  work_.reset();
  for (auto& thread : pool_) thread.join();
  pool_.clear();
  spdlog::info("http: stopped serving {}", options_.addr);
}

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() { Stop(); }

void Server::Handle(std::string method, std::string path, Handler handler) {
  impl_->Handle(std::move(method), std::move(path), std::move(handler));
}

Status Server::Start() { return impl_->Start(); }

void Server::Stop() { impl_->Stop(); }

uint16_t Server::port() const { return impl_->port(); }

}  // namespace walship::http
