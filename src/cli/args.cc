#include "cli/args.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <memory>

namespace walship::cli {
namespace {

struct CommandInfo {
  std::string_view name;
  std::string_view summary;
};

constexpr CommandInfo kCommands[] = {
    {"mount", "run the node: FUSE mount, node API, lease, replication, proxy, backup"},
    {"import", "upload a SQLite file as database DB to the primary"},
    {"export", "download a consistent copy of database DB"},
    {"restore", "rebuild a database from the backup archive at a point in time"},
    {"run", "run a command, optionally after making this node primary"},
    {"status", "show each database's role, TXID, checksum and lag"},
    {"version", "print the version and git commit"},
};

// LiteFS spells long options with one dash (Go's flag package). These are the
// names that get a second dash; the first group takes a value.
constexpr std::string_view kValueOptions[] = {"config", "name",       "url",
                                              "timestamp", "txid", "backup",
                                              "auth-token", "with-halt-lock-on"};
constexpr std::string_view kFlagOptions[] = {
    "no-expand-env", "debug",   "fuse.debug",   "skip-unmount", "tracing",
    "latest",        "promote", "if-candidate", "json",         "help"};

template <size_t N>
bool Contains(const std::string_view (&names)[N], std::string_view name) {
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

bool IsCommand(std::string_view name) {
  return std::any_of(std::begin(kCommands), std::end(kCommands),
                     [&](const CommandInfo& c) { return c.name == name; });
}

// Values CommandLine keeps in another form, or that mean a mistake.
struct RawArgs {
  std::optional<std::string> txid;
  std::optional<std::string> halt_lock;  // run: LiteFS's -with-halt-lock-on (refused)
  std::vector<std::string> stray;        // mount, run: arguments CLI11 left over
};

// "-name=db" -> "--name=db", "-promote" -> "--promote"; anything else as is.
// The token after a value option is its value and is never rewritten, and
// nothing after "--" is.
std::vector<std::string> NormalizeSingleDash(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  bool verbatim = false, value_next = false;
  for (const std::string& arg : args) {
    if (verbatim || value_next || arg == "--") {
      out.push_back(arg);
      verbatim = verbatim || (!value_next && arg == "--");
      value_next = false;
      continue;
    }
    size_t dashes = std::min(arg.find_first_not_of('-'), arg.size());
    size_t equals = arg.find('=');
    std::string name = arg.substr(dashes, equals == std::string::npos ? equals : equals - dashes);
    bool takes_value = Contains(kValueOptions, name);
    bool known = takes_value || Contains(kFlagOptions, name);
    out.push_back(dashes == 1 && known ? "-" + arg : arg);
    value_next = (dashes == 1 || dashes == 2) && takes_value && equals == std::string::npos;
  }
  return out;
}

CLI::App* AddCommand(CLI::App* app, std::string_view name) {
  auto it = std::find_if(std::begin(kCommands), std::end(kCommands),
                         [&](const CommandInfo& c) { return c.name == name; });
  CLI::App* sub = app->add_subcommand(std::string(name), std::string(it->summary));
  sub->footer("");  // not the parent's
  return sub;
}

void AddUrl(CLI::App* sub, CommandLine* cl) {
  sub->add_option("--url", cl->url, "node API URL")->capture_default_str();
  sub->add_option("--auth-token", cl->credentials.auth_token,
                  "the node's http.auth-token (prefer the environment variable: a command "
                  "line is visible to other users); default $WALSHIP_AUTH_TOKEN");
  sub->add_option("--tls-ca", cl->credentials.tls.ca,
                  "PEM file of the CA an https:// node is verified against (default "
                  "$WALSHIP_TLS_CA, else the system's trust store)");
}

void AddConfig(CLI::App* sub, CommandLine* cl) {
  sub->add_option_function<std::string>(
      "--config", [cl](const std::string& v) { cl->config_path = v; },
      "config file (default: search ./walship.yml, ./litefs.yml, /etc/walship.yml, "
      "/etc/litefs.yml)");
  sub->add_flag("--no-expand-env", cl->no_expand_env,
                "do not expand $VAR and ${VAR} in the config");
}

void AddNameAndFile(CLI::App* sub, CommandLine* cl, const std::string& file_help) {
  sub->add_option("--name", cl->name, "database name");
  sub->add_option("FILE", cl->file, file_help);
}

void AddMount(CLI::App* app, CommandLine* cl) {
  CLI::App* mount = AddCommand(app, "mount");
  AddConfig(mount, cl);
  mount->add_flag("--debug", cl->debug, "debug logging (log.debug)");
  mount->add_flag("--fuse.debug", cl->fuse_debug, "log every FUSE call (fuse.debug)");
  mount->add_flag("--skip-unmount", cl->skip_unmount,
                  "do not unmount a stale mount left at fuse.dir by a crashed process; "
                  "fail on it instead (LiteFS's -skip-unmount)");
  mount->add_flag("--tracing", cl->tracing,
                  "accepted for LiteFS compatibility; walship has no trace log (a warning)");
  mount->footer(
      "Everything after \"--\" is run as the child command instead of the config's exec.");
  mount->allow_extras();  // leftovers are reported by CheckCommand, with a hint about "--"
}

void AddRestore(CLI::App* app, CommandLine* cl, RawArgs* raw) {
  CLI::App* restore = AddCommand(app, "restore");
  AddNameAndFile(restore, cl, "where to write the restored database");
  restore->add_option_function<std::string>(
      "--timestamp", [cl](const std::string& v) { cl->timestamp = v; },
      "RFC 3339 time to restore to");
  restore->add_option_function<std::string>(
      "--txid", [raw](const std::string& v) { raw->txid = v; },
      "TXID to restore to (decimal or 0x hex)");
  restore->add_flag("--latest", cl->latest, "restore the newest archived state");
  AddConfig(restore, cl);
  restore->add_option_function<std::string>(
      "--backup", [cl](const std::string& v) { cl->backup_url = v; },
      "archive to read instead of the config's backup: s3://bucket/prefix, file:///dir or /dir");
}

void AddRun(CLI::App* app, CommandLine* cl, RawArgs* raw) {
  CLI::App* run = AddCommand(app, "run");
  AddUrl(run, cl);
  run->add_flag("--promote", cl->promote, "first make this node primary (handoff)");
  run->add_flag("--if-candidate", cl->if_candidate, "only run if this node can become primary");
  run->add_flag("-v,--verbose", cl->verbose,
                "accepted for LiteFS compatibility (walship run always reports its steps)");
  run->add_option_function<std::string>(
      "--with-halt-lock-on", [raw](const std::string& v) { raw->halt_lock = v; },
      "LiteFS's halt lock; not supported (an error saying what to use)");
  run->footer("The command to run follows \"--\": walship run --promote -- myapp migrate");
  run->allow_extras();
}

// One subcommand per command, each bound to the fields of `*cl` and `*raw`.
// REQUIRES: `cl` and `raw` outlive the App.
std::unique_ptr<CLI::App> BuildApp(CommandLine* cl, RawArgs* raw) {
  auto app = std::make_unique<CLI::App>("walship: SQLite replication over FUSE", "walship");
  app->require_subcommand(1);
  app->footer("Run \"walship COMMAND --help\" for a command's options.");
  AddMount(app.get(), cl);
  CLI::App* import = AddCommand(app.get(), "import");
  AddNameAndFile(import, cl, "SQLite file to upload");
  AddUrl(import, cl);
  CLI::App* exp = AddCommand(app.get(), "export");
  AddNameAndFile(exp, cl, "where to write the copy");
  AddUrl(exp, cl);
  AddRestore(app.get(), cl, raw);
  AddRun(app.get(), cl, raw);
  CLI::App* status = AddCommand(app.get(), "status");
  AddUrl(status, cl);
  status->add_flag("--json", cl->json, "print JSON");
  AddCommand(app.get(), "version");
  return app;
}

Status Usage(std::string_view command, const std::string& msg) {
  std::string help =
      command.empty() ? "walship --help" : "walship " + std::string(command) + " --help";
  std::string prefix = command.empty() ? "walship: " : "walship " + std::string(command) + ": ";
  return Status::InvalidArgument(prefix + msg + " (see \"" + help + "\")");
}

Result<uint64_t> ParseTxid(const std::string& text) {
  bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
  std::string_view digits = std::string_view(text).substr(hex ? 2 : 0);
  uint64_t value = 0;
  for (char ch : digits) {
    int d = ch >= '0' && ch <= '9'          ? ch - '0'
            : hex && ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
            : hex && ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                            : -1;
    uint64_t base = hex ? 16 : 10;
    if (d < 0 || value > (UINT64_MAX - d) / base) {
      return Status::InvalidArgument("--txid: expected a decimal or 0x-prefixed hex TXID, got \"" +
                                     text + "\"");
    }
    value = value * base + d;
  }
  if (digits.empty() || value == 0) {
    return Status::InvalidArgument("--txid: must be a TXID of 1 or more, got \"" + text + "\"");
  }
  return value;
}

Status CheckNameAndFile(const CommandLine& cl, std::string_view file_meaning) {
  if (cl.name.empty()) return Usage(cl.command, "--name DB is required");
  if (cl.file.empty())
    return Usage(cl.command, "FILE is required (" + std::string(file_meaning) + ")");
  return Status::OK();
}

Status CheckRestore(CommandLine* cl, const RawArgs& raw) {
  WALSHIP_RETURN_IF_ERROR(CheckNameAndFile(*cl, "where to write the restored database"));
  int targets = cl->timestamp.has_value() + raw.txid.has_value() + cl->latest;
  if (targets != 1) return Usage("restore", "give exactly one of --timestamp, --txid or --latest");
  if (cl->timestamp) {
    Result<std::chrono::system_clock::time_point> t = ParseRfc3339(*cl->timestamp);
    if (!t.ok()) return Usage("restore", "--timestamp: " + t.status().message());
  }
  if (raw.txid) {
    Result<uint64_t> txid = ParseTxid(*raw.txid);
    if (!txid.ok()) return Usage("restore", txid.status().message());
    cl->txid = *txid;
  }
  if (cl->config_path && cl->backup_url)
    return Usage("restore", "give --config or --backup, not both");
  if (cl->backup_url && cl->backup_url->empty())
    return Usage("restore", "--backup must not be empty");
  return Status::OK();
}

Status CheckCommand(CommandLine* cl, const RawArgs& raw) {
  const std::string& cmd = cl->command;
  if (!raw.stray.empty()) {
    const std::string& stray = raw.stray[0];
    if (stray.size() > 1 && stray[0] == '-') return Usage(cmd, "unknown option \"" + stray + "\"");
    return Usage(cmd, "unexpected argument \"" + stray + "\"; put the command to run after \"--\"");
  }
  if (cl->config_path && cl->config_path->empty()) return Usage(cmd, "--config must not be empty");
  if (cl->url.rfind("http://", 0) != 0 && cl->url.rfind("https://", 0) != 0) {
    return Usage(cmd, "--url: expected an http:// or https:// URL, got \"" + cl->url + "\"");
  }
  if (cmd == "import") return CheckNameAndFile(*cl, "the SQLite file to upload");
  if (cmd == "export") return CheckNameAndFile(*cl, "where to write the copy");
  if (cmd == "restore") return CheckRestore(cl, raw);
  if (raw.halt_lock) {
    return Usage(cmd,
                 "--with-halt-lock-on is not supported (walship has no halt lock); to write "
                 "from this node, make it the primary: walship run --promote -- CMD");
  }
  if (cmd == "run" && cl->child_args.empty()) {
    return Usage(cmd,
                 "no command to run; give it after \"--\", e.g. walship run --promote -- myapp");
  }
  return Status::OK();
}

CommandLine HelpFor(const CLI::App& app, std::string_view command) {
  CommandLine cl;
  cl.command = "help";
  const CLI::App* sub = command.empty() ? nullptr : app.get_subcommand(std::string(command));
  cl.help_text = sub != nullptr ? sub->help("walship") : app.help();
  return cl;
}

// Runs CLI11 over `args` (command first). Help requests become a "help"
// CommandLine; CLI11's exceptions become Status.
Result<CommandLine> RunCli11(const std::string& command, std::vector<std::string> args,
                             std::vector<std::string> child_args) {
  CommandLine cl;
  RawArgs raw;
  try {
    std::unique_ptr<CLI::App> app = BuildApp(&cl, &raw);
    try {
      std::reverse(args.begin(), args.end());  // CLI11 takes the vector reversed
      app->parse(args);
      if (CLI::App* sub = app->get_subcommand(command); sub->get_allow_extras()) {
        raw.stray = sub->remaining();
      }
    } catch (const CLI::CallForHelp&) {
      return HelpFor(*app, command);
    } catch (const CLI::CallForAllHelp&) {
      return HelpFor(*app, command);
    }
  } catch (const CLI::Error& e) {
    return Usage(command, e.what());
  } catch (const std::exception& e) {
    return Usage(command, e.what());
  }
  cl.command = command;
  cl.child_args = std::move(child_args);
  WALSHIP_RETURN_IF_ERROR(CheckCommand(&cl, raw));
  return cl;
}

// Reads exactly `width` digits at `*pos` into `*out`.
bool ReadDigits(std::string_view text, size_t* pos, size_t width, int* out) {
  if (*pos + width > text.size()) return false;
  int value = 0;
  for (size_t i = 0; i < width; ++i) {
    char ch = text[*pos + i];
    if (ch < '0' || ch > '9') return false;
    value = value * 10 + (ch - '0');
  }
  *pos += width;
  *out = value;
  return true;
}

bool ReadChar(std::string_view text, size_t* pos, std::string_view allowed) {
  if (*pos >= text.size() || allowed.find(text[*pos]) == std::string_view::npos) return false;
  ++*pos;
  return true;
}

// Fractional seconds after a '.', as nanoseconds; at least one digit.
bool ReadFraction(std::string_view text, size_t* pos, std::chrono::nanoseconds* out) {
  int64_t nanos = 0, scale = 100'000'000;
  size_t start = *pos;
  for (; *pos < text.size() && text[*pos] >= '0' && text[*pos] <= '9'; ++*pos, scale /= 10) {
    nanos += (text[*pos] - '0') * scale;
  }
  *out = std::chrono::nanoseconds(nanos);
  return *pos > start;
}

// "Z" or "+hh:mm"/"-hh:mm", as the offset east of UTC.
bool ReadZone(std::string_view text, size_t* pos, std::chrono::minutes* east) {
  if (ReadChar(text, pos, "Zz")) {
    *east = std::chrono::minutes(0);
    return true;
  }
  char sign = *pos < text.size() ? text[*pos] : '\0';
  int hh = 0, mm = 0;
  if (!ReadChar(text, pos, "+-") || !ReadDigits(text, pos, 2, &hh) || !ReadChar(text, pos, ":") ||
      !ReadDigits(text, pos, 2, &mm) || hh > 23 || mm > 59) {
    return false;
  }
  *east = std::chrono::minutes((sign == '-' ? -1 : 1) * (hh * 60 + mm));
  return true;
}

}  // namespace

Result<CommandLine> ParseArgs(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return ParseArgs(args);
}

Result<CommandLine> ParseArgs(const std::vector<std::string>& args) {
  if (args.empty()) return Usage("", "no command given");
  const std::string& first = args[0];
  if (first == "help" || first == "-h" || first == "--help" || first == "-help") {
    std::string topic = first == "help" && args.size() > 1 ? args[1] : "";
    if (!topic.empty() && !IsCommand(topic)) return Usage("", "unknown command \"" + topic + "\"");
    CommandLine cl;
    RawArgs raw;
    return HelpFor(*BuildApp(&cl, &raw), topic);
  }
  if (first == "--version" || first == "-version")
    return ParseArgs(std::vector<std::string>{"version"});
  if (!IsCommand(first)) {
    if (!first.empty() && first[0] == '-')
      return Usage("", "the command comes first: walship COMMAND [options]");
    return Usage("", "unknown command \"" + first +
                         "\" (commands: mount, import, export, restore, run, status, version)");
  }
  std::vector<std::string> own(args.begin(), args.end()), child;
  auto dash_dash = std::find(own.begin(), own.end(), "--");
  if ((first == "mount" || first == "run") && dash_dash != own.end()) {
    child.assign(dash_dash + 1, own.end());
    own.erase(dash_dash, own.end());
  }
  return RunCli11(first, NormalizeSingleDash(own), std::move(child));
}

Result<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view text) {
  using namespace std::chrono;
  size_t pos = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  nanoseconds frac{0};
  minutes east{0};
  bool ok = ReadDigits(text, &pos, 4, &y) && ReadChar(text, &pos, "-") &&
            ReadDigits(text, &pos, 2, &mo) && ReadChar(text, &pos, "-") &&
            ReadDigits(text, &pos, 2, &d) && ReadChar(text, &pos, "Tt") &&
            ReadDigits(text, &pos, 2, &h) && ReadChar(text, &pos, ":") &&
            ReadDigits(text, &pos, 2, &mi) && ReadChar(text, &pos, ":") &&
            ReadDigits(text, &pos, 2, &sec) &&
            (!ReadChar(text, &pos, ".") || ReadFraction(text, &pos, &frac)) &&
            ReadZone(text, &pos, &east) && pos == text.size();
  year_month_day date{year(y), month(mo), day(d)};
  if (!ok || !date.ok() || h > 23 || mi > 59 || sec > 59) {
    return Status::InvalidArgument("invalid RFC 3339 timestamp \"" + std::string(text) +
                                   "\"; expected e.g. 2024-05-01T12:00:00Z or "
                                   "2024-05-01T14:00:00+02:00");
  }
  auto local = sys_days(date) + hours(h) + minutes(mi) + seconds(sec) + frac;
  return time_point_cast<system_clock::duration>(local - east);
}

std::string UsageText() {
  CommandLine cl;
  RawArgs raw;
  return BuildApp(&cl, &raw)->help();
}

}  // namespace walship::cli
