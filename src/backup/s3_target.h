// S3Target: an archive in an S3-compatible bucket, through libcurl with its
// built-in AWS Signature Version 4 (CURLOPT_AWS_SIGV4). With an endpoint the
// requests are path-style (ENDPOINT/BUCKET/KEY: MinIO, s3rver, Ceph...);
// without, virtual-hosted AWS (https://BUCKET.s3.REGION.amazonaws.com/KEY).
// Every request carries x-amz-content-sha256 of its payload, which curl signs.
//
// Objects above `multipart_threshold` bytes go up as a multipart upload
// (aborted on failure). Listing is ListObjects by prefix without a delimiter,
// paged by marker, so nested "directories" never depend on common-prefix
// support.
//
// Retries: network errors and 5xx answers are retried with exponential
// backoff (100 ms doubling, at most `max_attempts` tries), 4xx never. 404 is
// NotFound; another 4xx InvalidArgument with S3's error code and message; a
// 5xx or network error that outlasts the retries is Unavailable (retryable).
//
// Thread-safety: thread-safe; requests run one at a time on one reused curl
// handle (keep-alive), serialized by a mutex.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "backup/target.h"

namespace walship::backup {

struct S3Tuning {
  uint64_t multipart_threshold = 16ull << 20;
  uint64_t part_size = 8ull << 20;  // S3's minimum for all but the last part is 5 MiB
  int max_attempts = 6;
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{3000};
  std::chrono::milliseconds connect_timeout{5000};
};

class S3Target final : public ArchiveTarget {
 public:
  // Parses options.url, fills credentials from the environment when the
  // options have none. InvalidArgument for a bad URL or missing credentials.
  static Result<std::unique_ptr<S3Target>> Open(const TargetOptions& options,
                                                S3Tuning tuning = {});
  ~S3Target() override;

  Status Put(const std::string& key, const std::string& data) override;
  Result<std::string> Get(const std::string& key) override;
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  Status Delete(const std::string& key) override;
  std::string Describe() const override;

  // PUT on the bucket itself (tests; harmless if it exists and is ours).
  Status CreateBucket();
  // HTTP requests sent so far, retries included (tests of the retry policy).
  uint64_t requests_sent() const { return requests_sent_.load(); }

 private:
  struct Response {
    long status = 0;
    std::string body;
    std::map<std::string, std::string> headers;  // lower-cased names
  };
  S3Target(TargetOptions options, S3Tuning tuning, std::string bucket, std::string prefix);

  std::string ObjectPath(const std::string& key) const;  // "/bucket/prefix/key" or "/prefix/key"
  std::string BucketPath() const;
  std::string Where(const std::string& key) const;  // "s3://bucket/prefix/key", for messages
  // One request with retries. `query` must already be sorted and encoded.
  Result<Response> Request(const std::string& method, const std::string& path,
                           const std::string& query, const std::string& body,
                           const std::string& what);
  Result<Response> RequestOnce(const std::string& method, const std::string& path,
                               const std::string& query, const std::string& body);
  Status PutMultipart(const std::string& key, const std::string& data);
  Status ErrorFor(const Response& r, const std::string& what) const;

  TargetOptions options_;
  S3Tuning tuning_;
  std::string bucket_;
  std::string prefix_;  // "" or ending in '/'
  std::string base_url_;  // scheme://host[:port], no trailing slash
  bool path_style_ = true;
  std::mutex mu_;  // serializes use of curl_
  void* curl_ = nullptr;
  std::atomic<uint64_t> requests_sent_{0};
};

// RFC 3986 percent-encoding (unreserved characters kept; '/' kept when
// `keep_slash`), as SigV4 canonical requests expect.
std::string UriEncode(const std::string& s, bool keep_slash);

}  // namespace walship::backup
