#include "test_util.h"

#include <unistd.h>

#include <fstream>
#include <random>
#include <thread>
#include <vector>

#include "base/crc64.h"

namespace walship::http::testing {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "walship-http-XXXXXX").string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  dir_ = ::mkdtemp(buf.data());
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

uint64_t WriteRandomFile(const std::string& path, uint64_t size, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::vector<uint8_t> piece(1 << 20);
  uint64_t crc = 0;
  for (uint64_t written = 0; written < size;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(piece.size(), size - written));
    for (size_t i = 0; i < n; i += 8) {
      uint64_t v = rng();
      for (size_t j = 0; j < 8 && i + j < n; ++j) piece[i + j] = static_cast<uint8_t>(v >> (8 * j));
    }
    out.write(reinterpret_cast<const char*>(piece.data()), static_cast<std::streamsize>(n));
    crc = Crc64Update(crc, {piece.data(), n});
    written += n;
  }
  return crc;
}

uint64_t FileCrc(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> piece(1 << 20);
  uint64_t crc = 0;
  while (in) {
    in.read(piece.data(), static_cast<std::streamsize>(piece.size()));
    auto n = static_cast<size_t>(in.gcount());
    crc = Crc64Update(crc, {reinterpret_cast<const uint8_t*>(piece.data()), n});
  }
  return crc;
}

uint64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size_pages = 0, resident_pages = 0;
  statm >> size_pages >> resident_pages;
  return resident_pages * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

bool WaitUntilThreadSleeps(pid_t tid, std::chrono::milliseconds timeout) {
  const std::string path = "/proc/self/task/" + std::to_string(tid) + "/stat";
  for (auto end = std::chrono::steady_clock::now() + timeout;
       std::chrono::steady_clock::now() < end;
       std::this_thread::sleep_for(std::chrono::milliseconds(1))) {  // poll interval
    std::ifstream stat(path);
    std::string line;
    std::getline(stat, line);
    // "TID (COMM) STATE ...": COMM may hold spaces and parentheses.
    const size_t close = line.rfind(')');
    if (close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'S')
      return true;
  }
  return false;
}

}  // namespace walship::http::testing
