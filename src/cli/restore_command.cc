// `walship restore`: rebuilds a database from the backup archive at a point
// in time (DESIGN.md §1.2, docs/backup.md). The archive is named by --backup
// URL (credentials, endpoint and key from the environment) or by the backup:
// section of the config file (--config, else the usual search).
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "backup/envelope.h"
#include "backup/restore.h"
#include "backup/target.h"
#include "cli/commands.h"
#include "cli/config.h"
#include "cli/progress.h"

namespace walship::cli {
namespace {

int Fail(const std::string& what) {
  std::fprintf(stderr, "walship: restore: %s\n", what.c_str());
  return 1;
}

struct Source {
  backup::TargetOptions target;
  std::string encryption_key;
};

Result<Source> SourceFrom(const CommandLine& cl) {
  Source src;
  if (cl.backup_url) {
    WALSHIP_ASSIGN_OR_RETURN(src.target, backup::TargetOptionsFromUrl(*cl.backup_url));
    const char* key = std::getenv("WALSHIP_BACKUP_KEY");
    if (key) src.encryption_key = key;
    return src;
  }
  WALSHIP_ASSIGN_OR_RETURN(std::string path, FindConfigPath(cl.config_path));
  WALSHIP_ASSIGN_OR_RETURN(Config config, LoadConfig(path, !cl.no_expand_env));
  const BackupConfig& b = config.backup;
  if (b.type.empty()) {
    return Status::InvalidArgument(path + " has no backup section (backup.type); give --backup URL");
  }
  src.target.type = b.type;
  src.target.path = b.path;
  src.target.url = b.url;
  src.target.endpoint = b.endpoint;
  src.target.region = b.region;
  src.target.access_key_id = b.access_key_id;
  src.target.secret_access_key = b.secret_access_key;
  src.encryption_key = b.encryption_key;
  return src;
}

Result<backup::RestorePoint> PointFrom(const CommandLine& cl) {
  backup::RestorePoint point;
  if (cl.txid) {
    point.kind = backup::RestorePoint::Kind::kTxid;
    point.txid = *cl.txid;
  } else if (cl.timestamp) {
    WALSHIP_ASSIGN_OR_RETURN(auto t, ParseRfc3339(*cl.timestamp));
    point.kind = backup::RestorePoint::Kind::kTimestamp;
    point.timestamp_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  }
  return point;
}

std::string FormatTime(int64_t ms) {
  time_t secs = ms / 1000;
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, int(ms % 1000));
  return buf;
}

}  // namespace

int RunRestore(const CommandLine& cl) {
  auto src = SourceFrom(cl);
  if (!src.ok()) return Fail(src.status().message());
  auto point = PointFrom(cl);
  if (!point.ok()) return Fail(point.status().message());
  auto target = backup::OpenTarget(src->target);
  if (!target.ok()) return Fail(target.status().message());
  auto codec = backup::ObjectCodec::Create(src->encryption_key);
  if (!codec.ok()) return Fail(codec.status().message());

  backup::RestoreOptions options;
  options.db = cl.name;
  options.point = *point;
  options.output_path = cl.file;
  // Large restores show where they are on a terminal; logs stay quiet.
  std::optional<TerminalProgress> progress(std::in_place, "restore " + cl.name);
  options.progress = [&](const backup::RestoreProgress& p) {
    progress->Update(p.bytes, 0,
                     "TXID " + std::to_string(p.txid) + " of ~" + std::to_string(p.target_txid) +
                         ", " + std::to_string(p.objects) + " objects");
  };
  auto result = backup::Restore(target->get(), *codec, options);
  progress.reset();
  if (!result.ok()) return Fail(result.status().message());
  std::printf("restored %s at TXID %" PRIu64 " (checksum %016" PRIx64 ", committed %s) to %s: "
              "%u pages of %u bytes from %" PRIu64 " objects\n",
              cl.name.c_str(), result->txid, result->checksum,
              FormatTime(result->timestamp_ms).c_str(), cl.file.c_str(), result->page_count,
              result->page_size, result->objects);
  return 0;
}

}  // namespace walship::cli
