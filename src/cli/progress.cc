#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace walship::cli {

TerminalProgress::TerminalProgress(std::string what)
    : what_(std::move(what)),
      terminal_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()) {}

TerminalProgress::~TerminalProgress() {
  if (drawn_) std::fputs("\n", stderr);
}

void TerminalProgress::Update(uint64_t done, uint64_t total, const std::string& note) {
  if (!terminal_) return;
  const auto now = std::chrono::steady_clock::now();
  const bool last = total != 0 && done >= total;
  if (drawn_ && !last && now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  drawn_ = true;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double rate = seconds > 0 ? double(done) / 1e6 / seconds : 0;
  const std::string label = note.empty() ? what_ : what_ + " (" + note + ")";
  // "\x1b[K" erases what a longer line before left.
  if (total) {
    std::fprintf(stderr, "\r%s: %.1f of %.1f MB (%.0f%%), %.1f MB/s\x1b[K", label.c_str(),
                 double(done) / 1e6, double(total) / 1e6, 100.0 * double(done) / double(total),
                 rate);
  } else {
    std::fprintf(stderr, "\r%s: %.1f MB, %.1f MB/s\x1b[K", label.c_str(), double(done) / 1e6,
                 rate);
  }
  std::fflush(stderr);
}

}  // namespace walship::cli
