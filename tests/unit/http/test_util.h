// Helpers for the http tests: a temporary directory, files of pseudo-random
// bytes with their CRC-64, and the resident set size. Single-threaded use.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "http/server.h"

namespace walship::http::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

 private:
  std::filesystem::path dir_;
};

// Writes `size` pseudo-random bytes (seeded) to `path`; returns their CRC-64.
uint64_t WriteRandomFile(const std::string& path, uint64_t size, uint32_t seed);
// CRC-64 of a file's contents; 0 for a missing file.
uint64_t FileCrc(const std::string& path);
// Resident set size of this process in bytes.
uint64_t ResidentBytes();
// Waits until thread `tid` of this process sleeps in the kernel (state S in
// /proc/self/task/TID/stat, as in a blocking read); false after `timeout`.
bool WaitUntilThreadSleeps(pid_t tid, std::chrono::milliseconds timeout);

// "http://127.0.0.1:<port>".
inline std::string BaseUrl(const Server& server) {
  return "http://127.0.0.1:" + std::to_string(server.port());
}

inline ServerOptions LoopbackOptions() {
  ServerOptions options;
  options.addr = "127.0.0.1:0";
  return options;
}

}  // namespace walship::http::testing
