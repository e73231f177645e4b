#include "cli/node.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <random>

#include "base/coding.h"
#include "base/crash_point.h"
#include "base/thread_name.h"
#include "cli/node_info.h"
#include "http/client.h"
#include "http/url.h"
#include "lease/etcd_leaser.h"
#include "lease/static_leaser.h"

namespace walship::cli {
namespace {

std::string OwnHostname() {
  char buf[256] = {0};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

constexpr std::chrono::seconds kCatchUpTimeout{5};
constexpr std::chrono::seconds kPeerTimeout{2};

// The proxy's URL as other nodes reach it: the host of lease.advertise-url
// and the port of proxy.addr.
std::string ProxyUrl(const Config& config) {
  auto url = http::ParseUrl(config.lease.advertise_url);
  const std::string port = config.proxy.addr.substr(config.proxy.addr.rfind(':') + 1);
  const std::string host = url.ok() ? url->host : "127.0.0.1";
  return "http://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
}

// The databases' TXIDs in a node's /info.
Result<std::map<std::string, uint64_t>> FetchTxids(const std::string& url,
                                                   const http::Credentials& credentials) {
  WALSHIP_ASSIGN_OR_RETURN(nlohmann::json info, FetchNodeInfo(url, kPeerTimeout, credentials));
  std::map<std::string, uint64_t> out;
  if (info.contains("databases") && info["databases"].is_array()) {
    for (const auto& d : info["databases"]) {
      if (d.is_object() && d.contains("name") && d["name"].is_string() && d.contains("txid") &&
          d["txid"].is_number_unsigned()) {
        out[d["name"].get<std::string>()] = d["txid"].get<uint64_t>();
      }
    }
  }
  return out;
}
constexpr std::chrono::seconds kPromoteTimeout{10};

}  // namespace

Node::Node(Config config) : config_(std::move(config)) {}

Node::~Node() { Stop(); }

std::shared_ptr<backup::Archiver> Node::archiver() const {
  std::lock_guard lock(archiver_mu_);
  return archiver_;
}

std::string Node::ClusterId() const {
  auto text = env::Env::Posix()->ReadFile(env::JoinPath(config_.data.dir, "cluster.id"));
  if (!text.ok()) return "";
  std::string id = *text;
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  return id;
}

Status Node::SaveClusterId(const std::string& id) const {
  const std::string text = id + "\n";
  return env::Env::Posix()->WriteFileAtomic(
      env::JoinPath(config_.data.dir, "cluster.id"),
      {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, /*sync=*/true);
}

std::string Node::OwnApiUrl() const {
  const bool static_replica = config_.lease.type == kLeaseStatic && !config_.lease.candidate;
  if (!static_replica) return config_.lease.advertise_url;
  // A static replica's lease names the primary: its own API is http.addr,
  // reached by its host when it listens on one, else by this host's name.
  auto addr = http::ParseHostPort(config_.http.addr);
  if (!addr.ok()) return "";
  const uint16_t port = api_ ? api_->port() : addr->port;
  std::string host = addr->host.empty() || addr->host == "0.0.0.0" ? OwnHostname() : addr->host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return config_.http.scheme() + "://" + host + ":" + std::to_string(port);
}

uint64_t Node::Score() const {
  uint64_t score = 0;
  for (store::Db* db : store_->List()) score += db->pos().txid;
  return score;
}

Status Node::StartLease() {
  const LeaseConfig& lc = config_.lease;
  auto on_change = [this](const lease::LeaseState& state) { OnLeaseChange(state); };
  if (lc.type == kLeaseStatic) {
    // The static primary names the cluster; replicas take the id from it at
    // their first stream and from then on follow no other.
    if (lc.candidate && ClusterId().empty()) {
      std::random_device random;
      const std::string id = Hex16(uint64_t(random()) << 32 | random());
      WALSHIP_RETURN_IF_ERROR(SaveClusterId(id));
      spdlog::info("lease: static; created cluster id {}", id);
    }
    leaser_ = std::make_unique<lease::StaticLeaser>(
        lc.candidate, lease::PrimaryInfo{lc.hostname, lc.advertise_url, ""});
  } else {
    lease::EtcdLeaserOptions options;
    options.client.endpoints = lc.etcd.endpoints;
    options.key = lc.etcd.key;
    options.ttl = std::chrono::duration_cast<std::chrono::seconds>(lc.etcd.ttl);
    options.self = {lc.hostname, lc.advertise_url, Hex16(store_->node_id())};
    options.candidate = lc.candidate;
    options.cluster_id = ClusterId();
    options.save_cluster_id = [this](const std::string& id) { return SaveClusterId(id); };
    options.score = [this] { return Score(); };
    options.on_fatal = [this](const Status& why) { Fail(why); };
    leaser_ = std::make_unique<lease::EtcdLeaser>(std::move(options), store_->fence());
  }
  WALSHIP_RETURN_IF_ERROR(leaser_->Start(on_change));
  // The role is set before the mount appears, so a replica is never writable.
  const lease::LeaseState state = leaser_->state();
  store::NodeRole role;
  role.primary = state.primary;
  if (!state.primary && state.current) {
    role.primary_hostname = state.current->hostname;
    role.primary_url = state.current->advertise_url;
  }
  store_->SetRole(role);
  spdlog::info("lease: {}; this node is {}", leaser_->type(),
               role.primary ? "the primary"
               : role.primary_url.empty() ? "a replica (no primary known yet)"
                                          : "a replica of " + role.primary_hostname);
  return Status::OK();
}

Status Node::Start() {
  store::StoreOptions store_options;
  store_options.data_dir = config_.data.dir;
  store_options.compress = config_.data.compress;
  // Test hook: WALSHIP_TEST_SEAL_TXIDS=<n> seals the LTX log every n
  // transactions, so tests reach the seal's crash points quickly.
  if (static const long seal = TestHookNumber("WALSHIP_TEST_SEAL_TXIDS"); seal > 0) {
    store_options.seal_txids = size_t(seal);
  }
  store_ = std::make_unique<store::Store>(store_options);
  WALSHIP_RETURN_IF_ERROR(store_->Open().WithContext("data directory " + config_.data.dir));
  // After recovery: a keeper a crashed walship left holds WAL write locks.
  store::FenceKeeper::EndLeftover(env::JoinPath(config_.data.dir, "fence-keeper.pid"));
  WALSHIP_RETURN_IF_ERROR(StartLease());

  fuse::FileSystemOptions fs_options;
  fs_options.mount_dir = config_.fuse.dir;
  fs_options.allow_other = config_.fuse.allow_other;
  fs_options.debug = config_.fuse.debug;
  fs_options.skip_unmount = config_.fuse.skip_unmount;
  fs_options.allow_non_empty = config_.fuse.allow_non_empty;
  fs_options.passthrough = config_.fuse.passthrough;
  // Test hook: WALSHIP_TEST_NO_PASSTHROUGH=1 runs a test suite on the path
  // without passthrough (CTest's fuse_test_without_passthrough).
  if (TestHookNumber("WALSHIP_TEST_NO_PASSTHROUGH") > 0) fs_options.passthrough = false;
  fs_ = std::make_unique<fuse::FileSystem>(store_.get(), fs_options);
  WALSHIP_RETURN_IF_ERROR(fs_->Mount());
  store_->SetMountAccess(fs_.get());
  if (config_.lease.type != kLeaseStatic && fs_options.passthrough) {
    // With passthrough the fence refuses a commit before it can start, by
    // holding SQLite's WAL write lock as the lease nears its end.
    store::FenceGuardOptions guard;
    guard.store = store_.get();
    guard.mount = fs_.get();
    guard.lock_ahead =
        std::chrono::duration_cast<std::chrono::milliseconds>(config_.lease.etcd.ttl) / 6;
    guard.keeper_pid_file = env::JoinPath(config_.data.dir, "fence-keeper.pid");
    fence_guard_ = std::make_unique<store::FenceGuard>(guard);
    WALSHIP_RETURN_IF_ERROR(fence_guard_->Start());
  }

  const bool static_replica = config_.lease.type == kLeaseStatic && !config_.lease.candidate;
  http::NodeApiOptions api_options;
  api_options.addr = config_.http.addr;
  api_options.auth_token = config_.http.auth_token;
  api_options.tls = config_.http.tls();
  api_options.mount_dir = config_.fuse.dir;
  // A static replica's lease.hostname names the primary (LiteFS semantics).
  api_options.hostname = static_replica ? OwnHostname() : config_.lease.hostname;
  api_options.advertise_url = config_.lease.advertise_url;
  api_options.candidate = config_.lease.candidate;
  if (!config_.backup.type.empty()) {
    api_options.backup_positions = [this] {
      std::vector<http::BackupPosition> out;
      if (auto a = archiver()) {
        for (const auto& p : a->Positions()) {
          out.push_back({p.db, p.archived_txid, p.lag_ms, p.last_error});
        }
      }
      return out;
    };
    api_options.backup_counters = [this] {
      auto a = archiver();
      if (!a) return http::BackupCounters{};
      const backup::ArchiverStats s = a->stats();
      return http::BackupCounters{s.uploads, s.upload_bytes, s.errors};
    };
  }
  api_options.cluster_id = [this] { return ClusterId(); };
  // The API stops before the mount goes away (Stop).
  api_options.fuse_requests = [fs = fs_.get()] { return fs->RequestCounts(); };
  if (!config_.proxy.addr.empty()) api_options.proxy_url = ProxyUrl(config_);
  api_options.primary_txid = [this](const std::string& db) { return PrimaryTxid(db); };
  api_options.wait_for_txid = [this](const std::string& db, uint64_t txid,
                                     std::chrono::milliseconds timeout) {
    return WaitForTxid(db, txid, timeout);
  };
  api_options.handoff = [this](const repl::ConnectedReplica& to) { return HandOff(to); };
  api_options.promote = [this] { return Promote(); };
  api_ = std::make_unique<http::NodeApi>(api_options, store_.get());
  WALSHIP_RETURN_IF_ERROR(api_->Start());

  retention_ = std::make_unique<store::Retention>(store_.get(), config_.data.retention,
                                                  config_.data.retention_monitor_interval);
  if (!config_.backup.type.empty()) {
    // Only the primary archives; on a replica nothing holds files back.
    retention_->SetArchiveFloor([this](const std::string& db) {
      auto a = archiver();
      return a ? a->ArchivedTxid(db) : UINT64_MAX;
    });
  }
  retention_->Start();
  WALSHIP_RETURN_IF_ERROR(StartProxy());

  // Apply the lease's state (and every later change) now that the mount and
  // the API are up.
  OnLeaseChange(leaser_->state());
  role_thread_ = std::jthread([this](std::stop_token stop) {
    NameThisThread("ws-roles");
    RunRoles(stop);
  });
  if (config_.lease.promote && config_.lease.candidate && config_.lease.type == kLeaseEtcd) {
    promote_thread_ = std::jthread([this](std::stop_token stop) {
      while (!stop.stop_requested() && !store_->role().primary) {
        std::unique_lock lock(role_mu_);
        repl::ReplicaClient* replica = replica_.get();
        lock.unlock();
        if (replica && replica->WaitSynced(std::chrono::milliseconds(500))) {
          Status st = Promote();
          if (st.ok()) break;
          spdlog::warn("lease.promote: {}; retrying", st.ToString());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
      }
    });
  }
  return Status::OK();
}

void Node::OnLeaseChange(const lease::LeaseState& state) {
  {
    std::lock_guard lock(pending_mu_);
    pending_ = state;
  }
  pending_cv_.notify_all();
}

void Node::RunRoles(std::stop_token stop) {
  while (true) {
    std::unique_lock lock(pending_mu_);
    pending_cv_.wait(lock, stop, [&] { return pending_.has_value(); });
    if (stop.stop_requested()) return;
    const lease::LeaseState state = *pending_;
    pending_.reset();
    lock.unlock();
    Transition(state);
  }
}

void Node::Transition(const lease::LeaseState& state) {
  std::lock_guard lock(role_mu_);
  store::NodeRole next;
  next.primary = state.primary;
  if (!state.primary && state.current) {
    next.primary_hostname = state.current->hostname;
    next.primary_url = state.current->advertise_url;
  }
  const store::NodeRole before = store_->role();
  if (next.primary) {
    FollowPrimaryLocked("");
    if (!(before == next)) store_->SetRole(next);
    if (!before.primary) spdlog::info("role: this node is now the primary");
    if (!archiver() && !config_.backup.type.empty()) {
      if (Status st = StartArchiverLocked(); !st.ok()) {
        spdlog::error("backup: cannot start archiving: {}", st.ToString());
      }
    }
    return;
  }
  std::shared_ptr<backup::Archiver> stopping;
  {
    std::lock_guard archiver_lock(archiver_mu_);
    stopping.swap(archiver_);
  }
  if (stopping) stopping->Stop();  // ships what is still local
  if (!(before == next)) store_->SetRole(next);
  if (before.primary) spdlog::info("role: this node is now a replica");
  FollowPrimaryLocked(next.primary_url);
}

void Node::FollowPrimaryLocked(const std::string& url) {
  if (url == following_ && (replica_ || url.empty())) return;
  if (replica_) replica_->Stop();
  replica_.reset();
  following_ = url;
  if (url.empty()) return;
  repl::ReplicaClientOptions options;
  options.hostname = config_.lease.type == kLeaseStatic ? OwnHostname() : config_.lease.hostname;
  options.advertise_url = OwnApiUrl();
  options.candidate = config_.lease.candidate && config_.lease.type != kLeaseStatic;
  options.reconnect_delay = config_.lease.reconnect_delay;
  options.credentials = config_.http.credentials();
  options.cluster_id = [this] { return ClusterId(); };
  options.save_cluster_id = [this](const std::string& id) { return SaveClusterId(id); };
  replica_ = std::make_unique<repl::ReplicaClient>(store_.get(), fs_.get(), options);
  replica_->Start(url);
}

Status Node::StartArchiverLocked() {
  const BackupConfig& b = config_.backup;
  if (b.type.empty()) return Status::OK();
  backup::TargetOptions target_options;
  target_options.type = b.type;
  target_options.path = b.path;
  target_options.url = b.url;
  target_options.endpoint = b.endpoint;
  target_options.region = b.region;
  target_options.access_key_id = b.access_key_id;
  target_options.secret_access_key = b.secret_access_key;
  auto target = backup::OpenTarget(target_options);
  if (!target.ok()) return target.status();
  backup::ArchiverOptions options;
  options.delay = b.delay;
  options.snapshot_interval = b.snapshot_interval;
  options.retention = b.retention;
  options.encryption_key = b.encryption_key;
  auto archiver = backup::Archiver::Create(store_.get(), std::move(*target), options);
  if (!archiver.ok()) return archiver.status();
  std::shared_ptr<backup::Archiver> started = std::move(*archiver);
  started->Start();
  std::lock_guard lock(archiver_mu_);
  archiver_ = std::move(started);
  return Status::OK();
}

Status Node::WaitCaughtUp(const std::string& url, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string behind = "no answer";
  while (std::chrono::steady_clock::now() < deadline) {
    auto theirs = FetchTxids(url, config_.http.credentials());
    if (theirs.ok()) {
      behind.clear();
      for (store::Db* db : store_->List()) {
        if ((*theirs)[db->name()] < db->pos().txid) {
          behind = db->name() + " at txid " + std::to_string((*theirs)[db->name()]) + " of " +
                   std::to_string(db->pos().txid);
          break;
        }
      }
      if (behind.empty()) return Status::OK();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return Status::Unavailable("the new primary did not catch up within " +
                             std::to_string(timeout.count()) + " ms (" + behind + ")");
}

Status Node::StartProxy() {
  const ProxyConfig& p = config_.proxy;
  if (p.addr.empty()) return Status::OK();
  proxy::ProxyOptions options;
  options.addr = p.addr;
  options.target = p.target;
  options.rules = {p.passthrough, p.always_forward};
  options.max_lag = p.max_lag;
  options.fly_replay = p.fly_replay;
  proxy::ProxyHooks hooks;
  hooks.is_primary = [this] { return store_->role().primary; };
  hooks.primary_proxy = [this] { return PrimaryProxy(); };
  hooks.primary_hostname = [this] { return store_->role().primary_hostname; };
  hooks.txid = [this, db = p.db] {
    store::Db* d = store_->Find(db);
    return d ? d->CommittedPos().txid : 0;
  };
  hooks.wait_for_txid = [this, db = p.db](uint64_t txid, std::chrono::milliseconds timeout) {
    return WaitForTxid(db, txid, timeout);
  };
  hooks.primary_txid = [this, db = p.db] { return PrimaryTxid(db); };
  hooks.lag_ms = [this] { return store_->LagMs(); };
  proxy_ = std::make_unique<proxy::Proxy>(options, hooks);
  return proxy_->Start();
}

std::optional<std::string> Node::PrimaryProxy() {
  const store::NodeRole role = store_->role();
  if (role.primary || role.primary_url.empty()) return std::nullopt;
  {
    std::lock_guard lock(primary_proxy_mu_);
    if (primary_proxy_for_ == role.primary_url && !primary_proxy_.empty()) return primary_proxy_;
  }
  auto info = FetchNodeInfo(role.primary_url, kPeerTimeout, config_.http.credentials());
  if (!info.ok() || !info->contains("proxyURL") || !(*info)["proxyURL"].is_string()) {
    return std::nullopt;
  }
  auto url = http::ParseUrl((*info)["proxyURL"].get<std::string>());
  if (!url.ok()) return std::nullopt;
  std::lock_guard lock(primary_proxy_mu_);
  primary_proxy_for_ = role.primary_url;
  primary_proxy_ = url->HostPort();
  return primary_proxy_;
}

Result<uint64_t> Node::PrimaryTxid(const std::string& db) {
  const store::NodeRole role = store_->role();
  if (role.primary) {
    store::Db* d = store_->Find(db);
    return d ? d->CommittedPos().txid : 0;
  }
  if (role.primary_url.empty()) return Status::Unavailable("no primary is known");
  WALSHIP_ASSIGN_OR_RETURN(auto txids, FetchTxids(role.primary_url, config_.http.credentials()));
  return txids[db];
}

bool Node::WaitForTxid(const std::string& db, uint64_t txid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  uint64_t seen = store_->change_count();
  while (true) {
    store::Db* d = store_->Find(db);
    if (d && d->pos().txid >= txid) return true;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    seen = store_->WaitForChange(
        seen, std::min<std::chrono::milliseconds>(
                  std::chrono::milliseconds(100),
                  std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now)));
  }
}

Status Node::HandOff(const repl::ConnectedReplica& to) {
  if (to.advertise_url.empty()) {
    return Status::InvalidArgument("node " + to.node_id + " did not say where its API is");
  }
  return leaser_->HandOff({to.hostname, to.advertise_url, to.node_id}, [&] {
    return WaitCaughtUp(to.advertise_url, kCatchUpTimeout);
  });
}

Status Node::Promote() {
  if (config_.lease.type != kLeaseEtcd) {
    return Status::InvalidArgument("promote needs lease.type: etcd (the static lease is fixed)");
  }
  if (!config_.lease.candidate) {
    return Status::InvalidArgument("this node is not a candidate (lease.candidate: false)");
  }
  const store::NodeRole role = store_->role();
  if (role.primary) return Status::OK();
  if (role.primary_url.empty()) return Status::Unavailable("no primary is known to hand off");
  http::Client client(role.primary_url, kPromoteTimeout);
  client.SetCredentials(config_.http.credentials());
  auto resp = client.Post("/handoff?nodeID=" + Hex16(store_->node_id()), "", http::kJson);
  if (!resp.ok()) return resp.status();
  if (resp->status != 200) {
    return Status::Unavailable("the primary " + role.primary_hostname + " refused the handoff (" +
                               std::to_string(resp->status) + "): " + resp->body);
  }
  const auto deadline = std::chrono::steady_clock::now() + kPromoteTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (store_->role().primary) return Status::OK();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return Status::Unavailable("the lease was handed to this node but it did not become primary");
}

void Node::Fail(const Status& why) {
  if (failed_.exchange(true)) return;
  spdlog::error("stopping: {}", why.ToString());
  ::kill(::getpid(), SIGTERM);
}

bool Node::WaitReady(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (store_->role().primary) return true;
    std::unique_lock lock(role_mu_);
    repl::ReplicaClient* replica = replica_.get();
    bool synced = replica && replica->synced();
    lock.unlock();
    if (synced) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void Node::Stop() {
  // Background work and the API go first: they use the store and the mount.
  // The archiver before retention: its final pass ships what is still local.
  if (proxy_) proxy_->Stop();
  proxy_.reset();
  if (promote_thread_.joinable()) {
    promote_thread_.request_stop();
    promote_thread_.join();
  }
  if (role_thread_.joinable()) {
    role_thread_.request_stop();
    pending_cv_.notify_all();
    role_thread_.join();
  }
  // Releasing the lease (etcd) first lets another node take over at once;
  // this node's fence is closed from here on.
  if (leaser_) leaser_->Stop();
  std::shared_ptr<backup::Archiver> stopping;
  {
    std::lock_guard lock(archiver_mu_);
    stopping = archiver_;
  }
  if (stopping) stopping->Stop();
  if (retention_) retention_->Stop();
  retention_.reset();
  {
    std::lock_guard lock(role_mu_);
    if (replica_) replica_->Stop();
    replica_.reset();
  }
  if (api_) api_->Stop();
  api_.reset();
  {
    std::lock_guard lock(archiver_mu_);
    archiver_.reset();  // after the API, whose /info and /metrics read it
  }
  if (fence_guard_) fence_guard_->Stop();  // its descriptors are the mount's
  fence_guard_.reset();
  if (store_) store_->SetMountAccess(nullptr);
  if (fs_) fs_->Unmount();
  fs_.reset();
  store_.reset();
  leaser_.reset();
}

}  // namespace walship::cli
