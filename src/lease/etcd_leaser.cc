#include "lease/etcd_leaser.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <random>

#include "base/thread_name.h"

namespace walship::lease {
namespace {

using SteadyClock = std::chrono::steady_clock;

// How often the key is read: well under the TTL, so a change is seen quickly.
std::chrono::milliseconds Tick(std::chrono::milliseconds ttl) {
  return std::min<std::chrono::milliseconds>(std::chrono::milliseconds(200), ttl / 8);
}

// The fence closes this long before the lease could expire at etcd, covering
// clock-rate differences and the time a write takes once admitted.
std::chrono::milliseconds Margin(std::chrono::milliseconds ttl) {
  return std::max<std::chrono::milliseconds>(std::chrono::milliseconds(200), ttl / 5);
}

std::optional<PrimaryInfo> ParseValue(const std::string& value) {
  auto j = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("hostname") || !j["hostname"].is_string() ||
      !j.contains("advertiseURL") || !j["advertiseURL"].is_string() || !j.contains("nodeID") ||
      !j["nodeID"].is_string()) {
    return std::nullopt;
  }
  return PrimaryInfo{j["hostname"], j["advertiseURL"], j["nodeID"]};
}

struct Member {
  std::string node_id;
  bool candidate = false;
  uint64_t score = 0;
};

std::optional<Member> ParseMember(const std::string& value) {
  auto j = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("nodeID") || !j["nodeID"].is_string() ||
      !j.contains("score") || !j["score"].is_number_unsigned()) {
    return std::nullopt;
  }
  return Member{j["nodeID"], j.value("candidate", false), j["score"].get<uint64_t>()};
}

// Whether `a` should lead rather than `b`.
bool Better(const Member& a, const Member& b) {
  return a.score != b.score ? a.score > b.score : a.node_id < b.node_id;
}

std::string NewClusterId() {
  std::random_device rd;
  char buf[33];
  std::snprintf(buf, sizeof buf, "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
  return buf;
}

}  // namespace

EtcdLeaser::EtcdLeaser(EtcdLeaserOptions options, store::WriteFence* fence)
    : options_(std::move(options)), fence_(fence), client_(options_.client) {}

EtcdLeaser::~EtcdLeaser() { Stop(); }

std::string EtcdLeaser::MemberKey(const std::string& node_id) const {
  return options_.key + "/members/" + node_id;
}

std::string EtcdLeaser::Value(const PrimaryInfo& info) const {
  return nlohmann::json{{"hostname", info.hostname},
                        {"advertiseURL", info.advertise_url},
                        {"nodeID", info.node_id}}
      .dump();
}

std::string EtcdLeaser::cluster_id() const {
  std::lock_guard lock(mu_);
  return options_.cluster_id;
}

LeaseState EtcdLeaser::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

Status EtcdLeaser::Start(LeaseCallback on_change) {
  fence_->Close();
  {
    std::lock_guard lock(mu_);
    on_change_ = std::move(on_change);
    NotifyLocked();
  }
  // A node of another cluster fails here when etcd answers now; when it does
  // not, the same check runs first in the background.
  if (JoinCluster() == Join::kOtherCluster) return Status::InvalidArgument(mismatch_);
  thread_ = std::jthread([this](std::stop_token stop) {
    NameThisThread("ws-etcd-lease");
    Run(stop);
  });
  return Status::OK();
}

void EtcdLeaser::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  wake_.notify_all();
  thread_.join();
  fence_->Drain();  // before the lease goes: nothing commits after
  std::unique_lock lock(mu_);
  const bool was_primary = state_.primary;
  const int64_t lease = lease_;
  fence_->Close();
  state_.primary = false;
  lease_ = 0;
  lock.unlock();
  if (lease != 0) {
    // Revoking deletes KEY (when held) and the member record at once.
    if (Status st = client_.Revoke(lease); !st.ok()) {
      spdlog::warn("lease: could not release the etcd lease: {}", st.ToString());
    } else if (was_primary) {
      spdlog::info("lease: released the primary lease");
    }
  }
}

void EtcdLeaser::Run(std::stop_token stop) {
  std::mutex sleep_mu;
  while (!stop.stop_requested()) {
    Step();
    std::unique_lock lock(sleep_mu);
    wake_.wait_for(lock, stop, Tick(options_.ttl), [] { return false; });
  }
}

void EtcdLeaser::Step() {
  if (!joined_) {
    const Join join = JoinCluster();
    if (join == Join::kOtherCluster && options_.on_fatal) {
      options_.on_fatal(Status::InvalidArgument(mismatch_));
    }
    if (join != Join::kJoined) return;
  }
  if (!EnsureLease()) return;
  Renew();
  PublishMember();
  FollowKey();
}

EtcdLeaser::Join EtcdLeaser::JoinCluster() {
  const std::string key = options_.key + "/cluster-id";
  auto kv = client_.Get(key);
  if (!kv.ok()) {
    LogThrottled("etcd", "lease: etcd is unreachable (" + client_.DescribeEndpoints() +
                             "): " + kv.status().ToString() +
                             "; this node stays a replica and keeps retrying");
    return Join::kUnreachable;
  }
  std::string local;
  {
    std::lock_guard lock(mu_);
    local = options_.cluster_id;
  }
  std::string cluster;
  if (kv->has_value()) {
    cluster = (*kv)->value;
  } else {
    const std::string proposed = local.empty() ? NewClusterId() : local;
    auto put = client_.PutIfRevision(key, proposed, 0, 0);
    if (!put.ok()) {
      LogThrottled("etcd", "lease: writing the cluster id to etcd: " + put.status().ToString());
      return Join::kUnreachable;
    }
    if (!*put) return JoinCluster();  // another node was first: adopt its id
    cluster = proposed;
  }
  if (!local.empty() && local != cluster) {
    const std::string why = "this node's data directory belongs to cluster " + local +
                            ", but etcd key " + key + " names cluster " + cluster +
                            "; refusing to join (use a fresh data directory, or another "
                            "lease.etcd.key for a separate cluster)";
    spdlog::error("lease: {}", why);
    mismatch_ = "lease: " + why;
    return Join::kOtherCluster;
  }
  if (local.empty() && options_.save_cluster_id) {
    if (Status st = options_.save_cluster_id(cluster); !st.ok()) {
      LogThrottled("cluster-id", "lease: saving the cluster id: " + st.ToString());
      return Join::kUnreachable;
    }
  }
  {
    std::lock_guard lock(mu_);
    options_.cluster_id = cluster;
  }
  joined_ = true;
  spdlog::info("lease: joined cluster {} (etcd {}, key {})", cluster, client_.DescribeEndpoints(),
               options_.key);
  return Join::kJoined;
}

bool EtcdLeaser::EnsureLease() {
  {
    std::lock_guard lock(mu_);
    if (lease_ != 0) return true;
  }
  const auto sent = SteadyClock::now();
  auto granted = client_.Grant(options_.ttl);
  if (!granted.ok()) {
    LogThrottled("etcd", "lease: cannot get an etcd lease from " + client_.DescribeEndpoints() +
                             ": " + granted.status().ToString() + "; retrying");
    return false;
  }
  std::lock_guard lock(mu_);
  lease_ = *granted;
  NoteLeaseRunsFromLocked(sent);
  published_score_ = UINT64_MAX;  // the old member record went with the old lease
  return true;
}

void EtcdLeaser::Renew() {
  int64_t lease;
  {
    std::lock_guard lock(mu_);
    if (SteadyClock::now() - last_renew_sent_ < std::chrono::milliseconds(options_.ttl) / 3) {
      return;
    }
    lease = lease_;
  }
  const auto sent = SteadyClock::now();
  auto ttl = client_.KeepAlive(lease);
  std::lock_guard lock(mu_);
  if (lease != lease_) return;
  if (ttl.ok()) {
    NoteLeaseRunsFromLocked(sent);
    if (state_.primary && !handing_off_) OpenFenceLocked();
    return;
  }
  if (ttl.status().IsNotFound()) {
    lease_ = 0;
    LoseLeaseLocked("the etcd lease expired before it could be renewed");
    return;
  }
  LogThrottled("etcd", "lease: renewing the etcd lease: " + ttl.status().ToString() +
                           (state_.primary ? "; writes stop in " +
                                                 std::to_string(fence_->Remaining().count()) +
                                                 " ms unless a renewal succeeds"
                                           : ""));
}

void EtcdLeaser::PublishMember() {
  const uint64_t score = options_.score ? options_.score() : 0;
  int64_t lease;
  {
    std::lock_guard lock(mu_);
    if (score == published_score_) return;
    lease = lease_;
  }
  const std::string value = nlohmann::json{{"hostname", options_.self.hostname},
                                           {"advertiseURL", options_.self.advertise_url},
                                           {"nodeID", options_.self.node_id},
                                           {"candidate", options_.candidate},
                                           {"score", score}}
                                .dump();
  if (client_.Put(MemberKey(options_.self.node_id), value, lease).ok()) {
    std::lock_guard lock(mu_);
    published_score_ = score;
  }
}

void EtcdLeaser::FollowKey() {
  auto kv = client_.Get(options_.key);
  if (!kv.ok()) {
    LogThrottled("etcd", "lease: reading " + options_.key + ": " + kv.status().ToString());
    return;
  }
  std::unique_lock lock(mu_);
  if (!kv->has_value()) {
    if (state_.primary) LoseLeaseLocked("the lease key " + options_.key + " was deleted");
    SetCurrentLocked(std::nullopt);
    if (!absent_since_) absent_since_ = SteadyClock::now();
    lock.unlock();
    if (options_.candidate) Campaign();
    return;
  }
  absent_since_.reset();
  const EtcdKeyValue& held = **kv;
  if (held.lease == lease_ && lease_ != 0 && !handing_off_) {
    if (!state_.primary) BecomePrimaryLocked();  // a put whose answer was lost
    return;
  }
  auto info = ParseValue(held.value);
  if (!info) {
    if (state_.primary) LoseLeaseLocked("the lease key holds something else");
    SetCurrentLocked(std::nullopt);
    LogThrottled("garbage", "lease: etcd key " + options_.key + " holds " +
                                std::to_string(held.value.size()) +
                                " bytes that are not a walship lease value (" +
                                held.value.substr(0, 64) + "); no primary until it expires" +
                                (held.lease == 0 ? " — it has no lease, so delete it: etcdctl del "
                                                 : " or is deleted: etcdctl del ") +
                                options_.key);
    return;
  }
  if (info->node_id == options_.self.node_id && held.lease != lease_) {
    // Handed off to this node: move the key under this node's lease.
    lock.unlock();
    TakeHandedOffKey(held.mod_revision);
    return;
  }
  if (handing_off_ && held.lease == lease_) {
    // Still ours and naming this node: HandOff waits for the target to catch
    // up, with the fence closed; this node stays the primary meanwhile.
    if (!handed_off_at_) return;
    // Still ours, naming the target: give it `ttl` to take over, then let go.
    if (SteadyClock::now() - *handed_off_at_ > options_.ttl) {
      spdlog::warn("lease: {} did not take the handed-off lease; releasing it",
                   info->hostname);
      const int64_t lease = lease_;
      lease_ = 0;
      handing_off_ = false;
      lock.unlock();
      (void)client_.Revoke(lease);
      return;
    }
  } else if (handing_off_) {
    handing_off_ = false;
    handed_off_at_.reset();
  }
  if (state_.primary) LoseLeaseLocked("node " + info->hostname + " holds the lease");
  SetCurrentLocked(*info);
}

void EtcdLeaser::Campaign() {
  auto members = client_.GetPrefix(options_.key + "/members/");
  if (!members.ok()) return;
  Member self{options_.self.node_id, true, options_.score ? options_.score() : 0};
  std::optional<Member> best;
  for (const EtcdKeyValue& kv : *members) {
    auto m = ParseMember(kv.value);
    if (!m || !m->candidate || m->node_id == self.node_id) continue;
    if (!best || Better(*m, *best)) best = m;
  }
  int64_t lease;
  {
    std::lock_guard lock(mu_);
    if (best && Better(*best, self) && absent_since_ &&
        SteadyClock::now() - *absent_since_ < options_.ttl) {
      return;  // a better-placed candidate gets the first chance
    }
    lease = lease_;
  }
  auto put = client_.PutIfRevision(options_.key, Value(options_.self), lease, 0);
  if (!put.ok() || !*put) return;
  std::lock_guard lock(mu_);
  if (lease != lease_) return;
  spdlog::info("lease: elected primary (score {}{})", self.score,
               best ? ", best other candidate " + std::to_string(best->score) : "");
  BecomePrimaryLocked();
}

void EtcdLeaser::TakeHandedOffKey(int64_t mod_revision) {
  int64_t lease;
  {
    std::lock_guard lock(mu_);
    lease = lease_;
  }
  auto put = client_.PutIfRevision(options_.key, Value(options_.self), lease, mod_revision);
  if (!put.ok() || !*put) return;
  std::lock_guard lock(mu_);
  if (lease != lease_) return;
  spdlog::info("lease: took over the primary lease (handoff)");
  BecomePrimaryLocked();
}

void EtcdLeaser::BecomePrimaryLocked() {
  absent_since_.reset();
  state_.primary = true;
  OpenFenceLocked();
  SetCurrentLocked(options_.self);
  NotifyLocked();
}

void EtcdLeaser::LoseLeaseLocked(const std::string& why) {
  fence_->Close();
  if (!state_.primary) return;
  state_.primary = false;
  spdlog::warn("lease: this node is no longer the primary: {}", why);
  NotifyLocked();
}

void EtcdLeaser::SetCurrentLocked(std::optional<PrimaryInfo> current) {
  if (state_.current == current) return;
  state_.current = std::move(current);
  if (state_.current && !state_.primary) {
    spdlog::info("lease: the primary is {} ({})", state_.current->hostname,
                 state_.current->advertise_url);
  }
  NotifyLocked();
}

void EtcdLeaser::NotifyLocked() {
  if (on_change_) on_change_(state_);
}

void EtcdLeaser::NoteLeaseRunsFromLocked(SteadyClock::time_point sent) {
  last_renew_sent_ = sent;
  // The fence counts from when the request was sent (the fencing tests
  // read this line to judge it from outside).
  spdlog::debug("lease: the etcd lease runs from a request sent {} ms ago",
                std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - sent)
                    .count());
}

void EtcdLeaser::OpenFenceLocked() {
  fence_->OpenUntil(last_renew_sent_ + options_.ttl - Margin(options_.ttl));
}

Status EtcdLeaser::CheckRegisteredCandidate(const PrimaryInfo& to) {
  // What a replica says of itself on its stream is not proof: only a member
  // record in this cluster's etcd key (written by a node that holds the etcd
  // credentials) is, and the lease goes to the address that record gives.
  const std::string key = MemberKey(to.node_id);
  WALSHIP_ASSIGN_OR_RETURN(auto record, client_.Get(key));
  if (!record.has_value()) {
    return Status::InvalidArgument("node " + to.node_id + " (" + to.hostname +
                                   ") is not a registered member of this cluster (no " + key +
                                   " in etcd)");
  }
  auto member = ParseMember(record->value);
  auto info = ParseValue(record->value);
  if (!member || !info || !member->candidate) {
    return Status::InvalidArgument("node " + to.node_id + " is not a registered candidate (" +
                                   key + ")");
  }
  if (info->advertise_url != to.advertise_url) {
    return Status::InvalidArgument("node " + to.node_id + " is registered at " +
                                   info->advertise_url + ", but the replica that claims its id "
                                   "is at " + to.advertise_url);
  }
  return Status::OK();
}

Status EtcdLeaser::HandOff(const PrimaryInfo& to, const std::function<Status()>& caught_up) {
  WALSHIP_RETURN_IF_ERROR(CheckRegisteredCandidate(to));
  fence_->Drain();  // before the fence closes: nothing commits after
  int64_t lease;
  {
    std::lock_guard lock(mu_);
    if (!state_.primary) return Status::NotPrimary("this node is not the primary");
    if (handing_off_) return Status::Busy("a handoff is already under way");
    handing_off_ = true;
    fence_->Close();
    lease = lease_;
  }
  auto cancel = [&](Status st) {
    std::lock_guard lock(mu_);
    handing_off_ = false;
    if (state_.primary) OpenFenceLocked();
    spdlog::warn("lease: handoff to {} cancelled: {}", to.hostname, st.ToString());
    return st;
  };
  if (Status st = caught_up(); !st.ok()) return cancel(st);
  auto kv = client_.Get(options_.key);
  if (!kv.ok()) return cancel(kv.status());
  if (!kv->has_value() || (**kv).lease != lease) {
    return cancel(Status::NotPrimary("the lease key is no longer this node's"));
  }
  auto put = client_.PutIfRevision(options_.key, Value(to), lease, (**kv).mod_revision);
  if (!put.ok()) return cancel(put.status());
  if (!*put) return cancel(Status::Aborted("the lease key changed during the handoff"));
  std::lock_guard lock(mu_);
  handed_off_at_ = SteadyClock::now();
  spdlog::info("lease: handed the primary lease to {} ({})", to.hostname, to.advertise_url);
  state_.primary = false;
  SetCurrentLocked(to);
  NotifyLocked();
  wake_.notify_all();
  return Status::OK();
}

void EtcdLeaser::LogThrottled(const std::string& what, const std::string& message) {
  std::lock_guard lock(log_mu_);
  const auto now = SteadyClock::now();
  if (what == last_logged_what_ && now - last_logged_at_ < std::chrono::seconds(5)) return;
  last_logged_what_ = what;
  last_logged_at_ = now;
  spdlog::error("{}", message);
}

}  // namespace walship::lease
