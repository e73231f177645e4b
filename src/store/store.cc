#include "store/store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "base/coding.h"

namespace walship::store {

Store::Store(StoreOptions options) : options_(std::move(options)) {}
Store::~Store() = default;

Status Store::Open() {
  env::Env* env = options_.env;
  WALSHIP_RETURN_IF_ERROR(env->MkdirAll(env::JoinPath(options_.data_dir, "dbs")));
  WALSHIP_RETURN_IF_ERROR(env->MkdirAll(env::JoinPath(options_.data_dir, "deleted")));
  WALSHIP_RETURN_IF_ERROR(LoadNodeId());
  EmptyTrash();
  WALSHIP_ASSIGN_OR_RETURN(auto names, env->ListDir(env::JoinPath(options_.data_dir, "dbs")));
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    if (Status st = ValidateDbName(name); !st.ok()) {
      spdlog::warn("store: ignoring an entry of {}/dbs: {}", options_.data_dir, st.message());
      continue;
    }
    auto db = OpenDb(name);
    if (!db.ok()) return db.status().WithContext("database " + name);
  }
  return Status::OK();
}

Status Store::LoadNodeId() {
  env::Env* env = options_.env;
  const std::string path = env::JoinPath(options_.data_dir, "node.id");
  auto text = env->ReadFile(path);
  if (text.ok()) {
    std::string hex = text->substr(0, text->find('\n'));
    char* end = nullptr;
    node_id_ = std::strtoull(hex.c_str(), &end, 16);
    if (hex.empty() || *end != '\0' || node_id_ == 0) {
      return Status::Corruption(path + ": not a node id: \"" + hex + "\"");
    }
    return Status::OK();
  }
  if (!text.status().IsNotFound()) return text.status();
  std::random_device rd;
  while (node_id_ == 0) node_id_ = (uint64_t(rd()) << 32) | rd();
  std::string hex = Hex16(node_id_) + "\n";
  return env->WriteFileAtomic(path, {reinterpret_cast<const uint8_t*>(hex.data()), hex.size()},
                              /*sync=*/true);
}

Result<Db*> Store::OpenDb(const std::string& name) {
  DbOptions opts;
  opts.name = name;
  opts.dir = env::JoinPath(env::JoinPath(options_.data_dir, "dbs"), name);
  opts.env = options_.env;
  opts.clock = options_.clock;
  opts.compress = options_.compress;
  opts.seal_txids = options_.seal_txids;
  opts.node_id = node_id_;
  opts.fence = &fence_;
  auto db = std::make_unique<Db>(std::move(opts));
  WALSHIP_RETURN_IF_ERROR(db->Open());
  db->SetCommitListener(
      [this](const std::string& name, const ltx::Header& header, uint64_t checksum) {
        NotifyCommit(name, header, checksum);
      });
  Db* raw = db.get();
  {
    // No mount: the kernel has seen nothing of a database just opened.
    std::lock_guard lock(mu_);
    WALSHIP_RETURN_IF_ERROR(raw->SetReplica(!role_.primary, nullptr));
    dbs_.push_back({std::move(db), false});
  }
  BumpChangeCount();
  return raw;
}

Db* Store::Find(const std::string& name) const {
  std::lock_guard lock(mu_);
  for (const Entry& e : dbs_) {
    if (!e.deleted && e.db->name() == name) return e.db.get();
  }
  return nullptr;
}

Db* Store::ById(size_t id) const {
  std::lock_guard lock(mu_);
  return id < dbs_.size() && !dbs_[id].deleted ? dbs_[id].db.get() : nullptr;
}

bool Store::IsDeletedId(size_t id) const {
  std::lock_guard lock(mu_);
  return id < dbs_.size() && dbs_[id].deleted;
}

size_t Store::IdOf(const Db* db) const {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < dbs_.size(); i++) {
    if (dbs_[i].db.get() == db) return i;
  }
  return SIZE_MAX;
}

Result<Db*> Store::Create(const std::string& name) {
  WALSHIP_RETURN_IF_ERROR(ValidateDbName(name));
  std::lock_guard create_lock(create_mu_);
  if (Db* db = Find(name)) return db;
  spdlog::info("store: creating database {}", name);
  return OpenDb(name);
}

std::vector<Db*> Store::List() const {
  std::lock_guard lock(mu_);
  std::vector<Db*> out;
  for (const Entry& e : dbs_) {
    if (!e.deleted) out.push_back(e.db.get());
  }
  return out;
}

std::string Store::TombstonePath(const std::string& name) const {
  return env::JoinPath(env::JoinPath(options_.data_dir, "deleted"), name);
}

Status Store::Delete(const std::string& name, MountAccess* mount) {
  std::lock_guard create_lock(create_mu_);
  Db* db = Find(name);
  if (!db) return Status::NotFound("no database " + name);
  const Position ended = db->MarkDeleted();  // no commit after this
  {
    std::lock_guard lock(mu_);
    for (Entry& e : dbs_) {
      if (e.db.get() == db) e.deleted = true;
    }
  }
  // The tombstone goes before the files: after a crash the database is
  // either still there or known to be deleted, never silently missing.
  if (Status st = WriteTombstone(name, ended); !st.ok()) {
    spdlog::error("store: deleting database {}: cannot write its tombstone ({}); replicas that "
                  "are not connected now will keep their copy", name, st.ToString());
  }
  const size_t id = IdOf(db);
  if (Status st = MoveToTrash(db->dir(), id); !st.ok()) {
    // The tombstone stands; the files are left behind.
    spdlog::error("store: deleted database {} but could not remove {}: {}", name, db->dir(),
                  st.ToString());
  }
  EmptyTrash();
  spdlog::info("store: deleted database {} at txid {}", name, ended.txid);
  if (mount) mount->ForgetDatabase(name, id);
  {
    std::lock_guard lock(listeners_mu_);
    for (const auto& [listener_id, listener] : delete_listeners_) listener(name, ended);
  }
  BumpChangeCount();
  return Status::OK();
}

Status Store::WriteTombstone(const std::string& name, const Position& ended) {
  const std::string text = ended.PosFileText();
  return options_.env->WriteFileAtomic(
      TombstonePath(name), {reinterpret_cast<const uint8_t*>(text.data()), text.size()},
      /*sync=*/true);
}

Status Store::MoveToTrash(const std::string& dir, size_t id) {
  env::Env* env = options_.env;
  const std::string trash = env::JoinPath(options_.data_dir, "trash");
  WALSHIP_RETURN_IF_ERROR(env->MkdirAll(trash));
  WALSHIP_RETURN_IF_ERROR(env->Rename(
      dir, env::JoinPath(trash, std::to_string(options_.clock->NowUnixMs()) + "-" +
                                    std::to_string(id))));
  return env->SyncDir(env::JoinPath(options_.data_dir, "dbs"));
}

std::optional<Position> Store::Deleted(const std::string& name) const {
  auto text = options_.env->ReadFile(TombstonePath(name));
  if (!text.ok()) return std::nullopt;
  auto pos = Position::ParsePosFileText(*text);
  if (!pos.ok()) return std::nullopt;
  return *pos;
}

void Store::EmptyTrash() {
  const std::string trash = env::JoinPath(options_.data_dir, "trash");
  std::error_code ec;
  if (!std::filesystem::exists(trash, ec)) return;
  for (const auto& entry : std::filesystem::directory_iterator(trash, ec)) {
    std::filesystem::remove_all(entry.path(), ec);
    if (ec) spdlog::warn("store: cannot remove {}: {}", entry.path().string(), ec.message());
  }
}

int Store::AddCommitListener(CommitListener listener) {
  std::lock_guard lock(listeners_mu_);
  int id = next_listener_id_++;
  listeners_[id] = std::move(listener);
  return id;
}

void Store::RemoveCommitListener(int id) {
  std::lock_guard lock(listeners_mu_);
  listeners_.erase(id);
}

int Store::AddDeleteListener(DeleteListener listener) {
  std::lock_guard lock(listeners_mu_);
  int id = next_listener_id_++;
  delete_listeners_[id] = std::move(listener);
  return id;
}

void Store::RemoveDeleteListener(int id) {
  std::lock_guard lock(listeners_mu_);
  delete_listeners_.erase(id);
}

void Store::NotifyCommit(const std::string& db, const ltx::Header& header, uint64_t checksum) {
  {
    std::lock_guard lock(listeners_mu_);
    for (const auto& [id, listener] : listeners_) listener(db, header, checksum);
  }
  BumpChangeCount();
}

void Store::BumpChangeCount() {
  {
    std::lock_guard lock(change_mu_);
    change_count_++;
  }
  change_cv_.notify_all();
}

uint64_t Store::change_count() const {
  std::lock_guard lock(change_mu_);
  return change_count_;
}

uint64_t Store::WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(change_mu_);
  change_cv_.wait_for(lock, timeout, [&] { return change_count_ != seen; });
  return change_count_;
}

void Store::MarkFrameReceived() {
  std::lock_guard lock(mu_);
  last_frame_ms_ = options_.clock->NowUnixMs();
}

}  // namespace walship::store

namespace walship::store {

NodeRole Store::role() const {
  std::lock_guard lock(mu_);
  return role_;
}

void Store::SetRole(NodeRole role) {
  std::vector<Db*> dbs;
  MountAccess* mount = nullptr;
  {
    std::lock_guard lock(mu_);
    role_ = role;
    for (const Entry& e : dbs_) {
      if (!e.deleted) dbs.push_back(e.db.get());
    }
    mount = mount_;
  }
  // Without mu_: the invalidation may call back into the mount, which looks
  // databases up. A failure is logged by the Db and leaves it read-only.
  for (Db* db : dbs) (void)db->SetReplica(!role.primary, mount);
  BumpChangeCount();
}

void Store::SetMountAccess(MountAccess* mount) {
  std::vector<Db*> dbs;
  {
    std::lock_guard lock(mu_);
    mount_ = mount;
    for (const Entry& e : dbs_) dbs.push_back(e.db.get());
  }
  // Descriptors in the old mount would keep it busy at unmount.
  for (Db* db : dbs) db->CloseMountFiles();
}

int64_t Store::LagMs() const {
  std::lock_guard lock(mu_);
  if (role_.primary) return 0;
  if (last_frame_ms_ < 0) return 2147483647;
  return std::max<int64_t>(0, options_.clock->NowUnixMs() - last_frame_ms_);
}

}  // namespace walship::store
