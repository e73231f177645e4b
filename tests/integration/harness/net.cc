#include "harness/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>

namespace walship::testing {
namespace {

// Binds 127.0.0.1:port (0: the kernel's choice) and returns the port bound,
// or 0 when it is taken.
uint16_t TryBind(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  socklen_t len = sizeof addr;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  return ok ? ntohs(addr.sin_port) : 0;
}

// The first port of the kernel's ephemeral range (32768 when unreadable).
int EphemeralLow() {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 0;
  return range >> low && low > 0 ? low : 32768;
}

// Reserves `port` for this process until it exits: an exclusive flock on
// DIR/PORT, whose descriptor stays open (the kernel drops the lock when the
// process dies, however it dies). False when another process holds it, or
// this one already does.
bool Reserve(uint16_t port) {
  static const std::string dir = [] {
    std::string d = "/tmp/walship-test-ports";
    ::mkdir(d.c_str(), 01777);
    return d;
  }();
  const std::string path = dir + "/" + std::to_string(port);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) throw std::runtime_error("open " + path + " failed");
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return false;
  }
  return true;  // fd stays open: the reservation lasts as long as the process
}

}  // namespace

uint16_t FreePort() {
  constexpr int kLowest = 10000;
  static const int ephemeral_low = EphemeralLow();
  static std::mutex mu;
  std::lock_guard lock(mu);
  if (ephemeral_low - 1 > kLowest) {
    thread_local std::mt19937 rng(std::random_device{}());
    std::uniform_int_distribution<int> pick(kLowest, ephemeral_low - 1);
    for (int attempt = 0; attempt < 100; attempt++) {
      const uint16_t port = uint16_t(pick(rng));
      if (Reserve(port) && TryBind(port)) return port;
    }
  }
  throw std::runtime_error("no free port below " + std::to_string(ephemeral_low) + " in 100 tries");
}

bool CanConnect(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace walship::testing
