#include "store/wal_tailer.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <set>
#include <thread>

#include "base/crash_point.h"
#include "base/thread_name.h"

namespace walship::store {

WalTailer::~WalTailer() { Stop(); }

Status WalTailer::Start() {
  inotify_fd_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (inotify_fd_ < 0) return Status::FromErrno("inotify_init1", errno);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) return Status::FromErrno("eventfd", errno);
  thread_ = std::jthread([this](std::stop_token stop) {
    NameThisThread("ws-wal-tailer");
    Run(stop);
  });
  return Status::OK();
}

void WalTailer::Stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    const uint64_t one = 1;
    (void)::write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  for (int* fd : {&inotify_fd_, &wake_fd_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

Status WalTailer::Follow(Db* db) {
  // The directory, not the file: SQLite deletes and creates the WAL again.
  const int wd = ::inotify_add_watch(inotify_fd_, db->dir().c_str(), IN_MODIFY);
  if (wd < 0) return Status::FromErrno("inotify_add_watch " + db->dir(), errno);
  std::lock_guard lock(mu_);
  followed_[wd] = db;
  return Status::OK();
}

void WalTailer::Run(std::stop_token stop) {
  alignas(inotify_event) char buf[16 * 1024];
  while (!stop.stop_requested()) {
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) {
      spdlog::error("wal tailer: poll: {}", std::strerror(errno));
      return;
    }
    // Every queued event first: one capture per WAL however many writes.
    std::set<int> written;
    while (true) {
      const ssize_t n = ::read(inotify_fd_, buf, sizeof buf);
      if (n <= 0) break;
      // A read returns every queued event that fits: room left for the
      // largest event means the queue was emptied (one read per wake-up, not
      // a second that fails with EAGAIN). Events queued since wake poll again.
      const bool drained = size_t(n) + sizeof(inotify_event) + NAME_MAX + 1 <= sizeof buf;
      for (ssize_t at = 0; at < n;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(buf + at);
        if ((ev->mask & IN_MODIFY) && ev->len > 0 && std::strcmp(ev->name, "wal") == 0) {
          written.insert(ev->wd);
        }
        if (ev->mask & IN_IGNORED) {  // the directory is gone (database deleted)
          std::lock_guard lock(mu_);
          followed_.erase(ev->wd);
        }
        at += ssize_t(sizeof(inotify_event) + ev->len);
      }
      if (drained) break;
    }
    // Test hook: WALSHIP_TEST_TAILER_DELAY_MS=<n> captures n ms late, so
    // tests can show what must not wait for the tailer (the -pos file).
    static const long delay_ms = TestHookNumber("WALSHIP_TEST_TAILER_DELAY_MS");
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    for (int wd : written) CaptureFrom(wd);
  }
}

void WalTailer::CaptureFrom(int wd) {
  Db* db = nullptr;
  {
    std::lock_guard lock(mu_);
    auto it = followed_.find(wd);
    if (it == followed_.end()) return;
    db = it->second;
  }
  const Status st = db->CaptureWal();
  std::string& last = last_error_[db];
  if (!st.ok() && st.message() != last) {
    spdlog::error("wal tailer: database {}: cannot capture its WAL: {}", db->name(), st.ToString());
  }
  last = st.ok() ? "" : st.message();
}

}  // namespace walship::store
