// `walship mount [--config PATH] [-- CMD ARGS...]`: run the node until a
// signal, or until the application it started exits.
#include <signal.h>
#include <sys/wait.h>

#include <cstdio>

#include "base/log.h"
#include "cli/child_process.h"
#include "cli/commands.h"
#include "cli/config.h"
#include "cli/node.h"
#include "store/data_dir_lock.h"

namespace walship::cli {
namespace {

Result<Config> LoadMountConfig(const CommandLine& cl) {
  WALSHIP_ASSIGN_OR_RETURN(std::string path, FindConfigPath(cl.config_path));
  WALSHIP_ASSIGN_OR_RETURN(Config config, LoadConfig(path, !cl.no_expand_env));
  if (cl.debug) config.log.debug = true;
  if (cl.fuse_debug) config.fuse.debug = true;
  config.fuse.skip_unmount = cl.skip_unmount;
  WALSHIP_RETURN_IF_ERROR(ValidateForMount(config));
  return config;
}

// The config's ignored LiteFS keys and flags, one warning each.
void LogWarnings(const CommandLine& cl, const Config& config) {
  for (const std::string& warning : config.warnings) spdlog::warn("config: {}", warning);
  if (cl.tracing) {
    spdlog::warn(
        "-tracing: ignored (a LiteFS flag walship does not act on: walship keeps no "
        "trace log; --debug logs more)");
  }
}

// Runs every exec entry but the last to completion (migrations); returns the
// last one's command line, or the one given after "--".
Result<std::vector<std::string>> PrepareApplication(const CommandLine& cl, const Config& config,
                                                    const sigset_t& signals) {
  if (!cl.child_args.empty()) return cl.child_args;
  std::vector<ExecEntry> steps;  // if-candidate entries run only where this node may lead
  for (const ExecEntry& e : config.exec) {
    if (!e.if_candidate || config.lease.candidate) steps.push_back(e);
  }
  if (steps.empty()) return std::vector<std::string>{};
  for (size_t i = 0; i + 1 < steps.size(); i++) {
    ChildProcess step;
    WALSHIP_RETURN_IF_ERROR(step.StartShell(steps[i].cmd));
    int status = 0;
    while (::waitpid(step.pid(), &status, 0) < 0 && errno == EINTR) {
    }
    int code = ChildProcess::ExitCode(status);
    if (code != 0) {
      return Status::Aborted("exec command \"" + steps[i].cmd + "\" exited with " +
                             std::to_string(code));
    }
  }
  return std::vector<std::string>{"/bin/sh", "-c", steps.back().cmd};
}

// Waits for SIGINT/SIGTERM (forwarded to the child, if any) or the child's
// exit. Returns the exit status for walship.
int WaitForEnd(const sigset_t& signals, ChildProcess* child) {
  while (true) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGCHLD) {
      if (child->pid() <= 0) continue;
      int status = 0;
      if (::waitpid(child->pid(), &status, WNOHANG) == child->pid()) {
        int code = ChildProcess::ExitCode(status);
        spdlog::info("application exited with {}", code);
        return code;
      }
      continue;
    }
    if (child->pid() > 0) {
      spdlog::info("forwarding signal {} to the application (pid {})", sig, child->pid());
      child->Signal(sig);
      continue;
    }
    spdlog::info("signal {} received, shutting down", sig);
    return 0;
  }
}

// A start-up error. With exit-on-error (the default) walship exits 1. With
// exit-on-error: false it stays up, as LiteFS does, until SIGINT or SIGTERM,
// so a host that restarts exited processes does not loop and the operator can
// look around. Unlike LiteFS it first stops what it started (mount, API,
// lease), so no half-started node serves anything meanwhile. `node` is null
// when nothing was started yet (the data directory is locked by another
// process: with false, walship waits rather than being restarted in a loop).
int OnStartupError(const Config& config, const sigset_t& signals, Node* node,
                   const std::string& what) {
  spdlog::error("{}", what);
  if (node) node->Stop();
  if (config.exit_on_error) return 1;
  spdlog::error("exit-on-error is false: staying up (doing nothing) until SIGINT or SIGTERM");
  ChildProcess none;
  WaitForEnd(signals, &none);
  return 1;
}

}  // namespace

int RunMount(const CommandLine& cl) {
  // Signals are taken synchronously by the main thread; block them before any
  // thread starts so none of them receives one.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto config = LoadMountConfig(cl);
  if (!config.ok()) {
    // One line per problem, each prefixed, so every one is seen and greppable.
    std::string msg = config.status().message();
    for (size_t at = msg.find('\n'); at != std::string::npos; at = msg.find('\n', at + 1)) {
      msg.insert(at + 1, "walship mount: ");
    }
    std::fprintf(stderr, "walship mount: %s\n", msg.c_str());
    return 2;
  }
  SetupLogging(config->log.format == "json" ? LogFormat::kJson : LogFormat::kText,
               config->log.debug);
  // Before anything reads or writes the data directory; held until exit.
  auto data_dir_lock = store::DataDirLock::Acquire(config->data.dir);
  if (!data_dir_lock.ok()) {
    return OnStartupError(*config, signals, nullptr,
                          "cannot start: " + std::string(data_dir_lock.status().message()));
  }
  LogWarnings(cl, *config);
  Node node(*config);
  if (Status st = node.Start(); !st.ok()) {
    return OnStartupError(*config, signals, &node, "cannot start: " + st.ToString());
  }
  // The application starts once this node is primary or caught up with it.
  while (!config->skip_sync && !node.WaitReady(std::chrono::seconds(5))) {
    spdlog::info("waiting to catch up with the primary before starting the application");
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM)) break;
  }
  auto app = PrepareApplication(cl, *config, signals);
  if (!app.ok()) return OnStartupError(*config, signals, &node, app.status().ToString());
  ChildProcess child;
  if (!app->empty()) {
    if (Status st = child.Start(*app); !st.ok()) {
      return OnStartupError(*config, signals, &node, "cannot start application: " + st.ToString());
    }
    spdlog::info("started application (pid {})", child.pid());
  }
  const int code = WaitForEnd(signals, &child);
  node.Stop();
  return node.failed() ? 1 : code;
}

int RunNotBuilt(const CommandLine& cl) {
  std::fprintf(stderr,
               "walship: the %s command is not built yet in this version; see the project's "
               "open issues\n",
               cl.command.c_str());
  return 1;
}

int RunVersion(const CommandLine&) {
  std::printf("walship %s (commit %s)\n", WALSHIP_VERSION, WALSHIP_GIT_COMMIT);
  return 0;
}

}  // namespace walship::cli
