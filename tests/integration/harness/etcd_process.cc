#include "harness/etcd_process.h"

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include "harness/net.h"
#include "harness/temp_dir.h"

extern char** environ;

namespace walship::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr auto kStartTimeout = std::chrono::seconds(10);
constexpr auto kStopTimeout = std::chrono::seconds(5);
constexpr int kStartAttempts = 3;  // FreePort can race with another process

std::string EtcdBinary() {
  const char* override_path = std::getenv("WALSHIP_TEST_ETCD");
  return override_path && *override_path ? override_path : "etcd";
}

// etcd reads every flag from ETCD_<FLAG> too; a developer's settings must not
// leak into the test's etcd.
std::vector<std::string> EtcdVariables() {
  std::vector<std::string> names;
  for (char** e = environ; e && *e; e++) {
    std::string entry = *e;
    if (entry.rfind("ETCD_", 0) == 0) names.push_back(entry.substr(0, entry.find('=')));
  }
  return names;
}

size_t AppendBody(char* ptr, size_t size, size_t n, void* userdata) {
  static_cast<std::string*>(userdata)->append(ptr, size * n);
  return size * n;
}

// GET url; the body, or "" on any error.
std::string HttpGet(const std::string& url) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return "";
  std::string body;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 500L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
  if (curl_easy_perform(curl.get()) != CURLE_OK) return "";
  return body;
}

void AppendToFile(const std::string& path, const std::string& text) {
  if (std::FILE* f = std::fopen(path.c_str(), "a")) {
    std::fputs(text.c_str(), f);
    std::fclose(f);
  }
}

}  // namespace

EtcdProcess::~EtcdProcess() {
  Stop();
  if (!log_path_.empty() && !log_shown_ && ::testing::Test::HasFailure()) {
    std::cerr << "----- etcd log (" << log_path_ << ") -----\n"
              << Log() << "----- end of etcd log -----\n";
  }
}

std::string EtcdProcess::endpoint() const {
  return "http://127.0.0.1:" + std::to_string(client_port_);
}

std::string EtcdProcess::Log() const { return ReadFileOrEmpty(log_path_); }

bool EtcdProcess::Fail(const std::string& what) {
  log_shown_ = true;
  ADD_FAILURE() << what << "\n----- etcd log (" << log_path_ << ") -----\n"
                << Log() << "----- end of etcd log -----";
  return false;
}

bool EtcdProcess::Start(const std::string& dir) {
  if (running()) return Fail("etcd is already running (pid " + std::to_string(child_.pid()) + ")");
  dir_ = dir;
  data_dir_ = dir + "/etcd-data";
  log_path_ = dir + "/etcd.log";
  std::filesystem::create_directories(dir);
  curl_global_init(CURL_GLOBAL_DEFAULT);  // refcounted; Start runs on the main thread
  std::string why;
  for (int attempt = 1; attempt <= kStartAttempts; attempt++) {
    client_port_ = FreePort();
    do peer_port_ = FreePort();
    while (peer_port_ == client_port_);
    Spawn();
    why = WaitHealthy(kStartTimeout);
    if (why.empty()) return true;
    // Only an etcd that exited (a port taken under us) is worth a retry with
    // fresh ports and a fresh data directory; one that hangs is not.
    if (running()) break;
    std::filesystem::remove_all(data_dir_);
  }
  Stop();
  return Fail(why);
}

void EtcdProcess::Spawn() {
  starts_++;
  AppendToFile(log_path_, "=== test harness: etcd start " + std::to_string(starts_) + " ===\n");
  const std::string client_url = endpoint();
  const std::string peer_url = "http://127.0.0.1:" + std::to_string(peer_port_);
  child_ = Child::Exec(
      {EtcdBinary(), "--name", "walship-test", "--data-dir", data_dir_, "--listen-client-urls",
       client_url, "--advertise-client-urls", client_url, "--listen-peer-urls", peer_url,
       "--initial-advertise-peer-urls", peer_url, "--initial-cluster", "walship-test=" + peer_url,
       "--initial-cluster-state", "new", "--heartbeat-interval=10", "--election-timeout=100"},
      "", log_path_, {}, EtcdVariables());
}

std::string EtcdProcess::WaitHealthy(std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  while (true) {
    if (!running()) return "etcd could not be started (fork failed)";
    if (auto status = child_.Wait(std::chrono::milliseconds(0))) {
      return "etcd " + DescribeWaitStatus(*status) + " before it was healthy";
    }
    // {"health":"true"}, or {"health":"false"} while there is no leader.
    if (HttpGet(endpoint() + "/health").find("\"health\":\"true\"") != std::string::npos) {
      return "";
    }
    if (SteadyClock::now() >= deadline) {
      return "etcd at " + endpoint() + " was not healthy within " +
             std::to_string(
                 std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()) +
             " ms";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a deadline
  }
}

void EtcdProcess::Stop() {
  if (!running()) return;
  child_.Signal(SIGTERM);
  if (!child_.Wait(kStopTimeout)) child_.Kill();
}

void EtcdProcess::Kill() { child_.Kill(); }

bool EtcdProcess::Restart() {
  if (dir_.empty()) return Fail("EtcdProcess::Restart before Start");
  Stop();
  Spawn();
  const std::string why = WaitHealthy(kStartTimeout);
  if (why.empty()) return true;
  Stop();
  return Fail(why);
}

}  // namespace walship::testing
