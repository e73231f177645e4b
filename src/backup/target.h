// ArchiveTarget: where the archive lives — a flat namespace of objects named
// by '/'-separated keys ("db/L0/0000000000000001-0000000000000001.ltx"),
// each written whole. FileTarget keeps them in a directory, S3Target in an
// S3-compatible bucket. The archiver and restore only use this interface;
// tests use FileTarget or a fake.
//
// Errors say whether a retry can help: Status::IsRetryable() (Unavailable)
// for network errors and server-side (5xx) failures, anything else (NotFound,
// InvalidArgument for a rejected request, Corruption) is final.
//
// Thread-safety: implementations are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace walship::backup {

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  int64_t modified_ms = 0;  // when the object was written (Unix ms); 0 if unknown
};

class ArchiveTarget {
 public:
  virtual ~ArchiveTarget() = default;
  // Stores `data` under `key`, replacing any object there; readers never see
  // a partial object.
  virtual Status Put(const std::string& key, const std::string& data) = 0;
  // NotFound when there is no such object.
  virtual Result<std::string> Get(const std::string& key) = 0;
  // Every object whose key starts with `prefix`, in any order.
  virtual Result<std::vector<ObjectInfo>> List(const std::string& prefix) = 0;
  // Deleting an absent object succeeds.
  virtual Status Delete(const std::string& key) = 0;
  // Human-readable location for messages: "file:///backups", "s3://bucket/prefix".
  virtual std::string Describe() const = 0;
};

// Everything needed to open a target (from the backup: section of the config
// or a --backup URL).
struct TargetOptions {
  std::string type;      // "file" or "s3"
  std::string path;      // file
  std::string url;       // s3://bucket[/prefix]
  std::string endpoint;  // s3: http(s)://host:port; path-style requests. Empty: AWS.
  std::string region = "us-east-1";
  std::string access_key_id;  // empty: AWS_ACCESS_KEY_ID from the environment
  std::string secret_access_key;
  std::string session_token;  // empty: AWS_SESSION_TOKEN, if set
};

// Opens a FileTarget or S3Target. InvalidArgument for a bad type or URL.
Result<std::unique_ptr<ArchiveTarget>> OpenTarget(const TargetOptions& options);

// Parses a --backup argument: "s3://bucket/prefix", "file:///dir" or a plain
// directory path. Credentials, endpoint and region come from the standard AWS
// environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN, AWS_REGION, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL).
Result<TargetOptions> TargetOptionsFromUrl(const std::string& url);

}  // namespace walship::backup
