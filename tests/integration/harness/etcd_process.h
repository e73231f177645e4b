// EtcdProcess: a real single-member etcd for a test, on loopback ports chosen
// at run time, with fast raft timings (--heartbeat-interval=10
// --election-timeout=100) so it elects itself within a fraction of a second.
//
//   DIR/etcd-data   its data directory (kept across Restart)
//   DIR/etcd.log    its stdout and stderr, appended across restarts
//
// The binary is $WALSHIP_TEST_ETCD if set, else `etcd` from PATH. ETCD_*
// variables in the test's environment are not passed on. The destructor
// stops etcd and prints its log if the test has failed. Thread-compatible;
// use from the test's main thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "harness/child_process.h"

namespace walship::testing {

class EtcdProcess {
 public:
  EtcdProcess() = default;
  ~EtcdProcess();
  EtcdProcess(const EtcdProcess&) = delete;
  EtcdProcess& operator=(const EtcdProcess&) = delete;

  // Starts etcd with its files under `dir` (created if missing) and waits
  // (at most ~10 s) until GET /health answers {"health":"true"}. On failure
  // records a test failure (ADD_FAILURE) with etcd's log and returns false.
  bool Start(const std::string& dir);
  // SIGTERM, then SIGKILL if etcd has not exited within 5 s. Idempotent.
  void Stop();
  // SIGKILL and reap, as in a crash.
  void Kill();
  // Stops etcd if it runs, then starts it again on the same ports and data
  // directory and waits until it is healthy (as Start).
  bool Restart();

  bool running() const { return child_.running(); }
  // "http://127.0.0.1:PORT": the client URL.
  std::string endpoint() const;
  uint16_t client_port() const { return client_port_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& log_path() const { return log_path_; }
  std::string Log() const;

 private:
  void Spawn();
  // "" when etcd is healthy, else why not.
  std::string WaitHealthy(std::chrono::milliseconds timeout);
  bool Fail(const std::string& what);

  std::string dir_;
  std::string data_dir_;
  std::string log_path_;
  uint16_t client_port_ = 0;
  uint16_t peer_port_ = 0;
  int starts_ = 0;
  bool log_shown_ = false;  // a failure already printed the log
  Child child_;
};

}  // namespace walship::testing
