#include "harness/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <stdexcept>

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

}  // namespace

uint16_t FreePort() {
  constexpr int kLowest = 10000;
  static const int ephemeral_low = EphemeralLow();
  if (ephemeral_low - 1 > kLowest) {
    thread_local std::mt19937 rng(std::random_device{}());
    std::uniform_int_distribution<int> pick(kLowest, ephemeral_low - 1);
    for (int attempt = 0; attempt < 100; attempt++) {
      if (uint16_t port = TryBind(uint16_t(pick(rng)))) return port;
    }
  }
  if (uint16_t port = TryBind(0)) return port;
  throw std::runtime_error("bind 127.0.0.1:0 failed");
}

}  // namespace walship::testing
