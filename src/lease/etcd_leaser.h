// EtcdLeaser: the primary is elected through etcd (DESIGN.md §2.4,
// docs/failover.md).
//
// Each node holds one etcd lease of `ttl`, renewed every ttl/3, and keeps
// under it a member record, KEY/members/NODEID = {hostname, advertiseURL,
// nodeID, candidate, score} where score is its replication position (the sum
// of its databases' TXIDs). The primary is whoever holds KEY = {hostname,
// advertiseURL, nodeID}, put under its lease by a transaction that succeeds
// only while KEY does not exist. When KEY is absent a candidate campaigns if
// no live candidate member has a better score (a higher one, or the same with
// a lower node id), or if the better one has not taken KEY within `ttl`.
//
// Fencing: while primary, the write fence stays open until the time of the
// last renewal request plus ttl minus a margin, so this node stops committing
// before etcd can expire its lease; a failed or paused renewal simply lets the
// fence close. Handoff: the primary closes the fence, waits for the target to
// catch up and rewrites KEY to name the target (still under its own lease);
// the target then moves KEY under its lease with a transaction on KEY's
// revision. KEY/cluster-id holds the cluster id; a node whose data directory
// belongs to another cluster refuses to join.
//
// Thread-safety: thread-safe. One background thread does all etcd work.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "lease/etcd_client.h"
#include "lease/leaser.h"
#include "store/write_fence.h"

namespace walship::lease {

struct EtcdLeaserOptions {
  EtcdClientOptions client;
  std::string key = "walship/primary";
  std::chrono::seconds ttl{2};
  PrimaryInfo self;  // node_id must be set
  bool candidate = true;
  // The cluster id in DATA/cluster.id ("" when the data directory has none).
  std::string cluster_id;
  // Persists a cluster id adopted from etcd (or created) to DATA/cluster.id.
  std::function<Status(const std::string&)> save_cluster_id;
  // This node's replication position, for elections (sum of TXIDs).
  std::function<uint64_t()> score;
  // Called (on the leaser thread) when this node must stop: it belongs to
  // another cluster.
  std::function<void(const Status&)> on_fatal;
};

class EtcdLeaser final : public Leaser {
 public:
  // `fence` must outlive the leaser.
  EtcdLeaser(EtcdLeaserOptions options, store::WriteFence* fence);
  ~EtcdLeaser() override;

  const char* type() const override { return "etcd"; }
  // Checks the cluster id when etcd answers (InvalidArgument on a mismatch);
  // when it does not, logs that and keeps trying in the background, as a
  // replica that knows no primary. Closes the fence until elected.
  Status Start(LeaseCallback on_change) override;
  void Stop() override;
  LeaseState state() const override;
  // InvalidArgument unless `to` is a registered candidate of this cluster
  // (KEY/members/NODEID, a candidate, at `to`'s advertise URL).
  Status HandOff(const PrimaryInfo& to, const std::function<Status()>& caught_up) override;

  std::string cluster_id() const;

 private:
  void Run(std::stop_token stop);
  void Step();
  enum class Join { kJoined, kUnreachable, kOtherCluster };
  // Agrees on the cluster id with etcd (adopting or creating it); sets joined_.
  // kOtherCluster leaves the reason in mismatch_.
  Join JoinCluster();
  bool EnsureLease();
  void Renew();
  void PublishMember();
  void FollowKey();
  void Campaign();
  void TakeHandedOffKey(int64_t mod_revision);
  void BecomePrimaryLocked();
  void LoseLeaseLocked(const std::string& why);
  void SetCurrentLocked(std::optional<PrimaryInfo> current);
  void NotifyLocked();
  // Records that the lease (granted or renewed) runs from `sent`. REQUIRES: mu_.
  void NoteLeaseRunsFromLocked(std::chrono::steady_clock::time_point sent);
  void OpenFenceLocked();
  std::string MemberKey(const std::string& node_id) const;
  Status CheckRegisteredCandidate(const PrimaryInfo& to);
  std::string Value(const PrimaryInfo& info) const;
  // Logs `message` at most every few seconds per `what` (an etcd outage
  // would otherwise log every tick).
  void LogThrottled(const std::string& what, const std::string& message);

  EtcdLeaserOptions options_;
  store::WriteFence* fence_;
  EtcdClient client_;
  mutable std::mutex mu_;
  std::condition_variable_any wake_;
  LeaseCallback on_change_;
  LeaseState state_;
  std::atomic<bool> joined_{false};  // written by JoinCluster only
  std::string mismatch_;              // likewise
  int64_t lease_ = 0;
  std::chrono::steady_clock::time_point last_renew_sent_{};
  std::optional<std::chrono::steady_clock::time_point> absent_since_;
  bool handing_off_ = false;
  std::optional<std::chrono::steady_clock::time_point> handed_off_at_;
  uint64_t published_score_ = UINT64_MAX;
  std::mutex log_mu_;  // guards the two below
  std::string last_logged_what_;
  std::chrono::steady_clock::time_point last_logged_at_{};
  std::jthread thread_;
};

}  // namespace walship::lease
