#include "cli/node.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "lease/static_leaser.h"

namespace walship::cli {
namespace {

std::string OwnHostname() {
  char buf[256] = {0};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

}  // namespace

Node::Node(Config config) : config_(std::move(config)) {}

Node::~Node() { Stop(); }

Status Node::StartLease() {
  const LeaseConfig& lc = config_.lease;
  if (lc.type != kLeaseStatic) {
    return Status::InvalidArgument("lease.type " + lc.type +
                                   " is not built yet in this version; use lease.type: static");
  }
  leaser_ = std::make_unique<lease::StaticLeaser>(
      lc.candidate, lease::PrimaryInfo{lc.hostname, lc.advertise_url});
  store::NodeRole role;
  role.primary = leaser_->Acquire().ok();
  if (!role.primary) {
    auto primary = leaser_->Primary();
    if (!primary || primary->advertise_url.empty()) {
      return Status::InvalidArgument(
          "lease: this node is not a candidate and no primary is configured "
          "(set lease.hostname and lease.advertise-url to the primary's)");
    }
    role.primary_hostname = primary->hostname;
  }
  store_->SetRole(role);
  spdlog::info("lease: static; this node is {}", role.primary ? "the primary"
                                                              : "a replica of " + role.primary_hostname);
  return Status::OK();
}

Status Node::Start() {
  store::StoreOptions store_options;
  store_options.data_dir = config_.data.dir;
  store_options.compress = config_.data.compress;
  store_ = std::make_unique<store::Store>(store_options);
  WALSHIP_RETURN_IF_ERROR(store_->Open().WithContext("data directory " + config_.data.dir));
  // The role is known before the mount appears, so a replica is never writable.
  WALSHIP_RETURN_IF_ERROR(StartLease());

  fuse::FileSystemOptions fs_options;
  fs_options.mount_dir = config_.fuse.dir;
  fs_options.allow_other = config_.fuse.allow_other;
  fs_options.debug = config_.fuse.debug;
  fs_ = std::make_unique<fuse::FileSystem>(store_.get(), fs_options);
  WALSHIP_RETURN_IF_ERROR(fs_->Mount());

  const bool primary = store_->role().primary;
  if (primary) WALSHIP_RETURN_IF_ERROR(StartArchiver());
  http::NodeApiOptions api_options;
  api_options.addr = config_.http.addr;
  api_options.mount_dir = config_.fuse.dir;
  api_options.hostname = primary ? config_.lease.hostname : OwnHostname();
  api_options.advertise_url = config_.lease.advertise_url;
  api_options.candidate = config_.lease.candidate;
  if (archiver_) {
    backup::Archiver* archiver = archiver_.get();
    api_options.backup_positions = [archiver] {
      std::vector<http::BackupPosition> out;
      for (const auto& p : archiver->Positions()) {
        out.push_back({p.db, p.archived_txid, p.lag_ms, p.last_error});
      }
      return out;
    };
    api_options.backup_counters = [archiver] {
      const backup::ArchiverStats s = archiver->stats();
      return http::BackupCounters{s.uploads, s.upload_bytes, s.errors};
    };
  }
  api_ = std::make_unique<http::NodeApi>(api_options, store_.get());
  WALSHIP_RETURN_IF_ERROR(api_->Start());

  if (!primary) {
    repl::ReplicaClientOptions options;
    options.hostname = OwnHostname();
    options.reconnect_delay = config_.lease.reconnect_delay;
    replica_ = std::make_unique<repl::ReplicaClient>(store_.get(), fs_.get(), options);
    replica_->Start(leaser_->Primary()->advertise_url);
  }
  retention_ = std::make_unique<store::Retention>(store_.get(), config_.data.retention,
                                                  config_.data.retention_monitor_interval);
  if (archiver_) {
    backup::Archiver* archiver = archiver_.get();
    retention_->SetArchiveFloor(
        [archiver](const std::string& db) { return archiver->ArchivedTxid(db); });
  }
  retention_->Start();
  return Status::OK();
}

Status Node::StartArchiver() {
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
  archiver_ = std::move(*archiver);
  archiver_->Start();
  return Status::OK();
}

bool Node::WaitReady(std::chrono::milliseconds timeout) {
  if (!replica_) return true;
  return replica_->WaitSynced(timeout);
}

void Node::Stop() {
  // Background work and the API go first: they use the store and the mount.
  // The archiver before retention: its final pass ships what is still local.
  if (archiver_) archiver_->Stop();
  if (retention_) retention_->Stop();
  retention_.reset();
  if (replica_) replica_->Stop();
  replica_.reset();
  if (api_) api_->Stop();
  api_.reset();
  archiver_.reset();  // after the API, whose /info and /metrics read it
  if (fs_) fs_->Unmount();
  fs_.reset();
  store_.reset();
  leaser_.reset();
}

}  // namespace walship::cli
