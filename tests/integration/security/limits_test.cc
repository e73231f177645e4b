// Connection limits of the node API (docs/http.md): idle connections cannot
// lock clients out. The server holds at most 256 connections; beyond that a
// new one closes the oldest idle one (between requests, or that has sent
// nothing), so 300 idle sockets leave /info answering at once.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cluster/cluster_util.h"
#include "http/client.h"

namespace walship::testing::security {
namespace {

using cluster::Cluster;
using cluster::Nodes;
using std::chrono::seconds;

// A TCP connection to 127.0.0.1:`port` that sends nothing; -1 on failure.
int ConnectIdle(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

struct Sockets {
  std::vector<int> fds;
  ~Sockets() {
    for (int fd : fds) ::close(fd);
  }
};

TEST(ConnectionLimits, ThreeHundredIdleConnectionsDoNotLockClientsOut) {
  Cluster cluster(Nodes(1));
  ASSERT_TRUE(cluster.Start());
  const std::string url = cluster.Url(0);
  const int port = std::stoi(url.substr(url.rfind(':') + 1));
  Sockets idle;
  for (int i = 0; i < 300; i++) {
    const int fd = ConnectIdle(port);
    ASSERT_GE(fd, 0) << "connection " << i << ": " << std::strerror(errno);
    idle.fds.push_back(fd);
  }
  http::Client client(url, seconds(5));
  auto info = client.Get("/info");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->status, 200);
  EXPECT_NE(cluster.node(0).Log().find("closing an idle one"), std::string::npos);
}

}  // namespace
}  // namespace walship::testing::security
