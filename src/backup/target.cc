#include "backup/target.h"

#include <cstdlib>

#include "backup/file_target.h"
#include "backup/s3_target.h"

namespace walship::backup {
namespace {

std::string Getenv(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

Result<std::unique_ptr<ArchiveTarget>> OpenTarget(const TargetOptions& options) {
  if (options.type == "file") {
    if (options.path.empty()) return Status::InvalidArgument("backup: file target needs a path");
    return std::unique_ptr<ArchiveTarget>(std::make_unique<FileTarget>(options.path));
  }
  if (options.type == "s3") {
    WALSHIP_ASSIGN_OR_RETURN(auto target, S3Target::Open(options));
    return std::unique_ptr<ArchiveTarget>(std::move(target));
  }
  return Status::InvalidArgument("backup: unknown target type \"" + options.type +
                                 "\" (expected file or s3)");
}

Result<TargetOptions> TargetOptionsFromUrl(const std::string& url) {
  TargetOptions o;
  if (url.rfind("s3://", 0) == 0) {
    o.type = "s3";
    o.url = url;
    o.endpoint = Getenv("AWS_ENDPOINT_URL_S3");
    if (o.endpoint.empty()) o.endpoint = Getenv("AWS_ENDPOINT_URL");
    std::string region = Getenv("AWS_REGION");
    if (region.empty()) region = Getenv("AWS_DEFAULT_REGION");
    if (!region.empty()) o.region = region;
    return o;
  }
  o.type = "file";
  o.path = url.rfind("file://", 0) == 0 ? url.substr(7) : url;
  if (o.path.empty()) return Status::InvalidArgument("--backup: empty path in " + url);
  return o;
}

}  // namespace walship::backup
