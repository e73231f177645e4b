// `walship run [--url URL] [--promote] [--if-candidate] -- CMD`: run a command
// beside a running node — with --promote, after the node became the primary
// (POST /promote: a handoff that loses no transaction); with --if-candidate,
// only when the node may become primary (else exit 0 without running it).
// The command's exit status is walship's.
#include <sys/wait.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/child_process.h"
#include "cli/commands.h"
#include "cli/node_info.h"
#include "http/client.h"

namespace walship::cli {
namespace {

constexpr std::chrono::seconds kPromoteTimeout{30};

int Fail(const std::string& what) {
  std::fprintf(stderr, "walship run: %s\n", what.c_str());
  return 1;
}

// POST /promote; the error to report, or an empty string once the node is
// the primary.
std::string Promote(const std::string& url, const http::Credentials& credentials) {
  const auto start = std::chrono::steady_clock::now();
  http::Client client(url, kPromoteTimeout);
  client.SetCredentials(credentials);
  auto resp = client.Post("/promote", "", http::kJson);
  if (!resp.ok()) return "promote: " + resp.status().message();
  if (resp->status != 200) {
    auto json = nlohmann::json::parse(resp->body, nullptr, false);
    return json.is_object() && json.contains("error") ? json["error"].get<std::string>()
                                                      : resp->body;
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  std::fprintf(stderr, "walship run: the node at %s is the primary (promoted in %lld ms)\n",
               url.c_str(), static_cast<long long>(ms.count()));
  return "";
}

}  // namespace

int RunRun(const CommandLine& cl) {
  nlohmann::json info;
  if (cl.if_candidate || cl.promote) {
    auto fetched = FetchNodeInfo(cl.url, std::chrono::seconds(10), cl.credentials);
    if (!fetched.ok()) return Fail(fetched.status().message());
    info = *std::move(fetched);
    if (cl.if_candidate && !info.value("candidate", false)) {
      std::fprintf(stderr, "walship run: the node at %s is not a candidate; not running %s\n",
                   cl.url.c_str(), cl.child_args.front().c_str());
      return 0;
    }
  }
  // As LiteFS: on the primary there is nothing to promote (and a static
  // primary could not be), so the command just runs.
  if (cl.promote && info.value("role", "") == "primary") {
    std::fprintf(stderr, "walship run: the node at %s is already the primary\n", cl.url.c_str());
  } else if (cl.promote) {
    if (std::string error = Promote(cl.url, cl.credentials); !error.empty()) return Fail(error);
  }
  ChildProcess child;
  if (Status st = child.Start(cl.child_args); !st.ok()) return Fail(st.message());
  int status = 0;
  while (::waitpid(child.pid(), &status, 0) < 0 && errno == EINTR) {
  }
  return ChildProcess::ExitCode(status);
}

}  // namespace walship::cli
