// FakePrimary: a node API on loopback that answers POST /stream as a hostile
// or broken primary would: each connection gets one LTX frame naming a
// database from a given list (in turn), followed by bytes that are not an
// LTX file, and then the stream stays open. Lets a test point a real walship
// replica at a primary that sends names no real walship primary could hold.
//
// Thread-safety: construct, Start and read connections() from the test's
// thread; the server's threads serve the streams.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "http/server.h"

namespace walship::testing::security {

class FakePrimary {
 public:
  // `cluster_id`: sent as the primary's cluster id (kClusterIdHeader) when set.
  explicit FakePrimary(std::vector<std::string> names, std::string cluster_id = "");
  ~FakePrimary();

  Status Start();
  std::string url() const;
  // How many /stream requests have been answered so far.
  int connections() const { return connections_.load(); }

 private:
  std::vector<std::string> names_;
  std::string cluster_id_;
  std::atomic<int> connections_{0};
  std::unique_ptr<http::Server> server_;
};

}  // namespace walship::testing::security
