#include "backup/s3_target.h"

#include <curl/curl.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <cstdlib>
#include <thread>

#include "backup/s3_xml.h"

namespace walship::backup {
namespace {

std::string Getenv(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

size_t WriteBody(char* ptr, size_t size, size_t n, void* userdata) {
  static_cast<std::string*>(userdata)->append(ptr, size * n);
  return size * n;
}

size_t WriteHeader(char* ptr, size_t size, size_t n, void* userdata) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(userdata);
  std::string line(ptr, size * n);
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.pop_back();
    (*headers)[name] = value;
  }
  return size * n;
}

// "2024-05-01T12:00:00.000Z" -> Unix ms; 0 when it does not parse.
int64_t ParseIso8601Ms(const std::string& text) {
  struct tm tm = {};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end) return 0;
  int64_t ms = int64_t(timegm(&tm)) * 1000;
  if (*end == '.') ms += std::atoi(std::string(end + 1, std::min<size_t>(3, strlen(end + 1))).c_str());
  return ms;
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

std::string UriEncode(const std::string& s, bool keep_slash) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<std::unique_ptr<S3Target>> S3Target::Open(const TargetOptions& options, S3Tuning tuning) {
  if (options.url.rfind("s3://", 0) != 0 || options.url.size() <= 5) {
    return Status::InvalidArgument("backup: expected s3://bucket[/prefix], got \"" + options.url +
                                   "\"");
  }
  std::string rest = options.url.substr(5);
  const size_t slash = rest.find('/');
  std::string bucket = rest.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (!prefix.empty()) prefix += '/';
  if (bucket.empty()) return Status::InvalidArgument("backup: no bucket in " + options.url);
  TargetOptions o = options;
  if (o.access_key_id.empty()) {
    o.access_key_id = Getenv("AWS_ACCESS_KEY_ID");
    o.secret_access_key = Getenv("AWS_SECRET_ACCESS_KEY");
  }
  if (o.session_token.empty()) o.session_token = Getenv("AWS_SESSION_TOKEN");
  if (o.access_key_id.empty() || o.secret_access_key.empty()) {
    return Status::InvalidArgument(
        "backup: no S3 credentials: set backup.access-key-id and backup.secret-access-key, or "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  }
  if (o.region.empty()) o.region = "us-east-1";
  GlobalInit();
  auto t = std::unique_ptr<S3Target>(new S3Target(o, tuning, bucket, prefix));
  if (!t->curl_) return Status::IOError("backup: curl_easy_init failed");
  return t;
}

S3Target::S3Target(TargetOptions options, S3Tuning tuning, std::string bucket, std::string prefix)
    : options_(std::move(options)),
      tuning_(tuning),
      bucket_(std::move(bucket)),
      prefix_(std::move(prefix)) {
  if (!options_.endpoint.empty()) {
    base_url_ = options_.endpoint;
    while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
    path_style_ = true;
  } else {
    base_url_ = "https://" + bucket_ + ".s3." + options_.region + ".amazonaws.com";
    path_style_ = false;
  }
  curl_ = curl_easy_init();
}

S3Target::~S3Target() {
  if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

std::string S3Target::Describe() const {
  return "s3://" + bucket_ + "/" + prefix_ + (options_.endpoint.empty() ? "" : " at " + base_url_);
}

std::string S3Target::Where(const std::string& key) const {
  return "s3://" + bucket_ + "/" + prefix_ + key;
}

std::string S3Target::BucketPath() const { return path_style_ ? "/" + bucket_ : ""; }

std::string S3Target::ObjectPath(const std::string& key) const {
  return BucketPath() + "/" + UriEncode(prefix_ + key, true);
}

Result<S3Target::Response> S3Target::RequestOnce(const std::string& method,
                                                 const std::string& path,
                                                 const std::string& query,
                                                 const std::string& body) {
  CURL* c = static_cast<CURL*>(curl_);
  curl_easy_reset(c);
  Response resp;
  const std::string url = base_url_ + (path.empty() ? "/" : path) + (query.empty() ? "" : "?" + query);
  const std::string sigv4 = "aws:amz:" + options_.region + ":s3";
  const std::string userpwd = options_.access_key_id + ":" + options_.secret_access_key;
  struct curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, ("x-amz-content-sha256: " + Sha256Hex(body)).c_str());
  headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
  headers = curl_slist_append(headers, "Expect:");
  if (!options_.session_token.empty()) {
    headers = curl_slist_append(headers, ("x-amz-security-token: " + options_.session_token).c_str());
  }
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(c, CURLOPT_USERPWD, userpwd.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, long(tuning_.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, WriteHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &resp.headers);
  if (method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else if (method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else {
    // PUT and POST bodies are in memory; POSTFIELDS sends them as they are.
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.size()));
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  requests_sent_++;
  const CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    return Status::Unavailable(method + " " + url + ": " + curl_easy_strerror(rc));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  return resp;
}

Result<S3Target::Response> S3Target::Request(const std::string& method, const std::string& path,
                                             const std::string& query, const std::string& body,
                                             const std::string& what) {
  std::lock_guard lock(mu_);
  auto backoff = tuning_.initial_backoff;
  Status last;
  for (int attempt = 1; attempt <= tuning_.max_attempts; attempt++) {
    auto r = RequestOnce(method, path, query, body);
    if (r.ok() && r->status < 500) return r;
    last = r.ok() ? ErrorFor(*r, what) : r.status();
    if (attempt < tuning_.max_attempts) {
      spdlog::debug("backup: {} failed (attempt {}): {}; retrying in {} ms", what, attempt,
                    last.message(), backoff.count());
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, tuning_.max_backoff);
    }
  }
  return Status::Unavailable(what + ": " + last.message() + " (after " +
                             std::to_string(tuning_.max_attempts) + " attempts)");
}

Status S3Target::ErrorFor(const Response& r, const std::string& what) const {
  std::string detail = "HTTP " + std::to_string(r.status);
  const std::string code = XmlElement(r.body, "Code");
  const std::string message = XmlElement(r.body, "Message");
  if (!code.empty()) detail += " " + code;
  if (!message.empty()) detail += ": " + message;
  if (r.status == 404) return Status::NotFound(what + ": " + detail);
  if (r.status >= 500) return Status::Unavailable(what + ": " + detail);
  return Status::InvalidArgument(what + ": " + detail);
}

Status S3Target::Put(const std::string& key, const std::string& data) {
  if (data.size() > tuning_.multipart_threshold) return PutMultipart(key, data);
  const std::string what = "PUT " + Where(key);
  WALSHIP_ASSIGN_OR_RETURN(Response r, Request("PUT", ObjectPath(key), "", data, what));
  if (r.status / 100 != 2) return ErrorFor(r, what);
  return Status::OK();
}

Status S3Target::PutMultipart(const std::string& key, const std::string& data) {
  const std::string what = "multipart PUT " + Where(key);
  const std::string path = ObjectPath(key);
  WALSHIP_ASSIGN_OR_RETURN(Response init, Request("POST", path, "uploads=", "", what));
  if (init.status / 100 != 2) return ErrorFor(init, what + " (initiate)");
  const std::string upload_id = XmlElement(init.body, "UploadId");
  if (upload_id.empty()) return Status::IOError(what + ": no UploadId in the answer");
  const std::string id_query = "uploadId=" + UriEncode(upload_id, false);
  auto abort = [&](Status st) {
    (void)Request("DELETE", path, id_query, "", what + " (abort)");
    return st;
  };
  std::string complete = "<CompleteMultipartUpload>";
  int part = 1;
  for (uint64_t off = 0; off < data.size(); off += tuning_.part_size, part++) {
    const std::string chunk = data.substr(off, tuning_.part_size);
    const std::string q = "partNumber=" + std::to_string(part) + "&" + id_query;
    auto r = Request("PUT", path, q, chunk, what + " (part " + std::to_string(part) + ")");
    if (!r.ok()) return abort(r.status());
    if (r->status / 100 != 2) return abort(ErrorFor(*r, what));
    complete += "<Part><PartNumber>" + std::to_string(part) + "</PartNumber><ETag>" +
                XmlEscape(r->headers["etag"]) + "</ETag></Part>";
  }
  complete += "</CompleteMultipartUpload>";
  auto done = Request("POST", path, id_query, complete, what + " (complete)");
  if (!done.ok()) return abort(done.status());
  // S3 can answer 200 with an <Error> body to a completion that failed.
  if (done->status / 100 != 2 || done->body.find("<Error>") != std::string::npos) {
    return abort(ErrorFor(done->status / 100 == 2 ? Response{500, done->body, {}} : *done, what));
  }
  return Status::OK();
}

Result<std::string> S3Target::Get(const std::string& key) {
  const std::string what = "GET " + Where(key);
  WALSHIP_ASSIGN_OR_RETURN(Response r, Request("GET", ObjectPath(key), "", "", what));
  if (r.status / 100 != 2) return ErrorFor(r, what);
  return std::move(r.body);
}

Result<std::vector<ObjectInfo>> S3Target::List(const std::string& prefix) {
  // ListObjects (version 1) paged by marker: supported everywhere, and s3rver
  // 3.7.1 cannot make version 2 continuation tokens on current OpenSSL.
  std::vector<ObjectInfo> out;
  std::string marker;
  const std::string what = "LIST " + Where(prefix);
  for (;;) {
    // Sorted by name, as the SigV4 canonical query string requires.
    std::string q;
    if (!marker.empty()) q += "marker=" + UriEncode(marker, false) + "&";
    q += "prefix=" + UriEncode(prefix_ + prefix, false);
    WALSHIP_ASSIGN_OR_RETURN(Response r, Request("GET", BucketPath() + "/", q, "", what));
    if (r.status / 100 != 2) return ErrorFor(r, what);
    std::string last_key;
    for (const std::string& contents : XmlElements(r.body, "Contents")) {
      std::string key = XmlElement(contents, "Key");
      last_key = key;
      if (key.rfind(prefix_, 0) != 0) continue;
      out.push_back({key.substr(prefix_.size()),
                     std::strtoull(XmlElement(contents, "Size").c_str(), nullptr, 10),
                     ParseIso8601Ms(XmlElement(contents, "LastModified"))});
    }
    if (XmlElement(r.body, "IsTruncated") != "true") break;
    std::string next = XmlElement(r.body, "NextMarker");
    if (next.empty()) next = last_key;
    if (next.empty() || next == marker) {
      return Status::IOError(what + ": truncated listing without a way to continue");
    }
    marker = next;
  }
  return out;
}

Status S3Target::Delete(const std::string& key) {
  const std::string what = "DELETE " + Where(key);
  WALSHIP_ASSIGN_OR_RETURN(Response r, Request("DELETE", ObjectPath(key), "", "", what));
  if (r.status / 100 != 2 && r.status != 404) return ErrorFor(r, what);
  return Status::OK();
}

Status S3Target::CreateBucket() {
  const std::string what = "PUT bucket " + bucket_;
  WALSHIP_ASSIGN_OR_RETURN(Response r, Request("PUT", BucketPath().empty() ? "/" : BucketPath(), "", "", what));
  if (r.status / 100 != 2 && r.status != 409) return ErrorFor(r, what);
  return Status::OK();
}

}  // namespace walship::backup
