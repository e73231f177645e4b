// TerminalProgress: one line on standard error, rewritten in place, that
// shows how long work (import, export, restore) is going: bytes, total and
// rate.
// Only on a terminal: when standard error is a file or a pipe (a log, a
// systemd journal) it prints nothing, so logs stay quiet.
//
// Thread-safety: one object is used by one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace walship::cli {

class TerminalProgress {
 public:
  // `what` starts the line, e.g. "import app.db".
  explicit TerminalProgress(std::string what);
  ~TerminalProgress();  // ends the line, if one was started

  // `total` 0: unknown. `note` (if any) goes in parentheses after `what`.
  // Redraws at most five times a second.
  void Update(uint64_t done, uint64_t total, const std::string& note = "");

 private:
  std::string what_;
  bool terminal_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace walship::cli
