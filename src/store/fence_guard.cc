#include "store/fence_guard.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "base/thread_name.h"

namespace walship::store {
namespace {

// While the fence nears its end: how often commits are recorded (each
// capture reads the WAL's new frames back).
constexpr std::chrono::milliseconds kClosingPoll{2};
// Otherwise: the longest sleep between looks at the deadline and at the
// databases (a renewal only ever moves the deadline later; a handoff closes
// the fence at once).
constexpr std::chrono::milliseconds kOpenPoll{20};
// A planned close (Drain): how long to wait for the keeper to hold every
// lock, and how long it holds them if the fence then does not close.
constexpr std::chrono::milliseconds kDrainWait{1000};
constexpr std::chrono::milliseconds kDrainHold{2000};
// How long an application's open of a -shm waits for the hand-over.
constexpr std::chrono::milliseconds kHandOverWait{200};

}  // namespace

FenceGuard::FenceGuard(FenceGuardOptions options)
    : options_(std::move(options)), fence_(options_.store->fence()) {}

FenceGuard::~FenceGuard() { Stop(); }

Status FenceGuard::Start() {
  WALSHIP_RETURN_IF_ERROR(SpawnKeeper());
  fence_->SetDrain([this] { Drain(); });
  options_.store->SetShmHooks([this](Db* db, bool wait) { AfterShmOpened(db, wait); },
                              [this](Db* db) { BeforeShmRemoved(db); });
  thread_ = std::jthread([this](std::stop_token stop) {
    NameThisThread("ws-fence-guard");
    Run(stop);
  });
  return Status::OK();
}

void FenceGuard::Stop() {
  if (!thread_.joinable()) return;
  // No new hook calls; one under way holds mu_ (taken here) until it ends.
  options_.store->SetShmHooks(nullptr, nullptr);
  fence_->SetDrain(nullptr);
  { std::lock_guard lock(mu_); }
  thread_.request_stop();
  wake_.notify_all();
  thread_.join();
  keeper_.reset();
}

void FenceGuard::Run(std::stop_token stop) {
  std::unique_lock lock(mu_);
  while (!stop.stop_requested()) {
    UpdateKeeper(lock);
    const std::chrono::milliseconds remaining = fence_->Remaining();
    std::chrono::milliseconds sleep = kClosingPoll;
    if (remaining < options_.lock_ahead) {
      if (!closing_ && !guarded_.empty()) {
        spdlog::warn(
            "fence: the lease is not renewed ({} ms left): SQLite's WAL write lock is held on "
            "every database until it is; new write transactions wait or get SQLITE_BUSY",
            std::max<int64_t>(remaining.count(), 0));
      }
      closing_ = true;
      if (remaining.count() > 0) {
        CaptureAll();
      } else {
        sleep = kOpenPoll;  // closed (a replica, or a lease lost): nothing to record
      }
    } else {
      if (closing_) {
        if (!guarded_.empty()) spdlog::info("fence: the lease is renewed; writes go on");
        closing_ = false;
        CaptureAll();  // what waited for the renewal
      }
      sleep = std::clamp(remaining - options_.lock_ahead, kClosingPoll, kOpenPoll);
    }
    handed_over_.notify_all();
    wake_.wait_for(lock, stop, sleep, [this] { return poked_.load(); });
    poked_ = false;
  }
  handed_over_.notify_all();
}

Status FenceGuard::SpawnKeeper() {
  keeper_.reset();
  guarded_.clear();
  told_ = false;
  WALSHIP_ASSIGN_OR_RETURN(keeper_,
                           FenceKeeper::Spawn(options_.lock_ahead, options_.keeper_pid_file));
  return Status::OK();
}

void FenceGuard::UpdateKeeper(std::unique_lock<std::mutex>& lock) {
  if (!keeper_ || keeper_->Exited()) {
    if (keeper_) {
      spdlog::error("fence: the keeper process {} was killed; starting another", keeper_->pid());
    }
    if (Status st = SpawnKeeper(); !st.ok()) {
      spdlog::error("fence: {}", st.ToString());  // tried again at the next look
      return;
    }
  }
  const auto deadline = fence_->deadline();
  // After Drain the keeper holds until the fence closes or moves (a
  // cancelled handoff reopens it), or kDrainHold passes.
  const bool drained =
      deadline == drained_deadline_ && std::chrono::steady_clock::now() < drained_until_;
  if (!drained && (!told_ || deadline != told_deadline_)) {
    if (Status st = keeper_->SetDeadline(deadline); !st.ok()) {
      spdlog::error("fence: telling the keeper of the deadline: {}", st.ToString());
      return;
    }
    told_deadline_ = deadline;
    told_ = true;
  }
  const std::vector<Db*> dbs = options_.store->List();
  std::unordered_set<Db*> wanted;
  for (Db* db : dbs) {
    // Guarded from the primary's first connection in WAL mode until the -shm
    // goes: after a step-down the lock keeps connections opened on the
    // primary from committing into the WAL they still have open, which is
    // no longer this database's (the fence is closed on a replica).
    const bool primary_wal = !db->replica() && db->WalWrittenDirectly();
    if ((primary_wal || guarded_.contains(db)) && db->Exists(FileKind::kShm)) wanted.insert(db);
  }
  for (auto it = guarded_.begin(); it != guarded_.end();) {
    if (wanted.contains(*it)) {
      ++it;
      continue;
    }
    (void)keeper_->Unguard(options_.store->IdOf(*it));
    spdlog::debug("fence: database {}: the keeper lets go of its -shm", (*it)->name());
    it = guarded_.erase(it);
  }
  for (Db* db : wanted) {
    if (guarded_.contains(db)) continue;
    // Not under mu_: the open may wait for the kernel's lock on the mount's
    // directory, which a creation or an unlink holds while it calls the hooks.
    const uint64_t removals = removals_[db];
    lock.unlock();
    Result<int> fd = options_.mount->OpenThroughMount(db->name(), FileKind::kShm);
    lock.lock();
    if (!fd.ok()) continue;  // removed meanwhile: nobody writes through it
    if (removals_[db] != removals || !keeper_) {
      ::close(*fd);  // the file being removed, perhaps: look again next time
      continue;
    }
    Status st = keeper_->Guard(options_.store->IdOf(db), *fd);
    ::close(*fd);
    if (!st.ok()) {
      spdlog::error("fence: database {}: handing its -shm to the keeper: {}", db->name(),
                    st.ToString());
      continue;
    }
    guarded_.insert(db);
    spdlog::debug("fence: database {}: its -shm is handed to the keeper", db->name());
  }
}

void FenceGuard::Drain() {
  // A planned close: the keeper holds every lock first (a transaction under
  // way finishes), then what was committed is recorded while the fence still
  // stands. The keeper keeps holding until the fence closes or moves, or for
  // kDrainHold if it does neither (a refused handoff). A -shm created since
  // the thread last looked (a first connection right before a handoff) is
  // handed over first: the keeper cannot hold what it does not have.
  std::unique_lock lock(mu_);
  UpdateKeeper(lock);
  if (!keeper_ || guarded_.empty()) return;
  if (Status st = keeper_->HoldNow(kDrainWait); !st.ok()) {
    spdlog::warn("fence: before closing: {}", st.ToString());
  }
  told_deadline_ = std::chrono::steady_clock::time_point::min();
  told_ = true;
  drained_deadline_ = fence_->deadline();
  drained_until_ = std::chrono::steady_clock::now() + kDrainHold;
  CaptureAll();
}

void FenceGuard::AfterShmOpened(Db* db, bool wait) {
  // A database's first connection in WAL mode: hand its -shm to the keeper
  // before SQLite can write (bounded: the guard may be stopping), or at once
  // after a creation.
  poked_ = true;
  wake_.notify_all();
  if (!wait) return;  // not even mu_: the thread may hold it waiting for this creation
  std::unique_lock lock(mu_);
  handed_over_.wait_for(lock, kHandOverWait, [&] { return guarded_.contains(db); });
}

void FenceGuard::BeforeShmRemoved(Db* db) {
  // SQLite removes the -shm when its last connection closes. A descriptor
  // still open would keep the kernel's inode, and with it the old backing
  // file, so the next connection could not open the new -shm: the keeper
  // closes its own before the removal goes on.
  std::lock_guard lock(mu_);
  removals_[db]++;
  if (!guarded_.erase(db) || !keeper_) return;
  spdlog::debug("fence: database {}: its -shm is being removed; the keeper lets go", db->name());
  if (Status st = keeper_->Unguard(options_.store->IdOf(db)); !st.ok()) {
    spdlog::error("fence: database {}: the keeper did not let go of its -shm: {}", db->name(),
                  st.ToString());
  }
}

void FenceGuard::CaptureAll() {
  for (Db* db : guarded_) {
    if (Status st = db->CaptureWal(); !st.ok() && !st.IsLeaseExpired()) {
      spdlog::error("fence: database {}: recording its commits: {}", db->name(), st.ToString());
    }
  }
}

}  // namespace walship::store
