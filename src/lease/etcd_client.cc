#include "lease/etcd_client.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <cctype>
#include <charconv>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace walship::lease {
namespace {

using Json = nlohmann::json;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string Base64Encode(const std::string& data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()),
                                static_cast<int>(data.size()));
  out.resize(n < 0 ? 0 : size_t(n));
  return out;
}

// Thrown only inside this file, for an answer that does not have the shape of
// etcd's gateway JSON; Parse turns it into Corruption.
struct BadReply : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// EVP_DecodeBlock decodes whole 4-character groups and counts '=' padding as
// zero bytes, so the padding is subtracted here.
std::string Base64Decode(const std::string& text) {
  if (text.empty()) return "";
  if (text.size() % 4 != 0) throw BadReply("base64 length " + std::to_string(text.size()));
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) throw BadReply("invalid base64 \"" + text + "\"");
  size_t padding = 0;
  if (text[text.size() - 1] == '=') padding++;
  if (text[text.size() - 2] == '=') padding++;
  out.resize(size_t(n) - padding);
  return out;
}

// proto3 JSON: int64s are strings, and a field at its default (0, "", false)
// is left out altogether.
int64_t Int64Field(const Json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (!it->is_string()) throw BadReply(std::string(name) + " is not an integer");
  const std::string& s = it->get_ref<const std::string&>();
  int64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) {
    throw BadReply(std::string(name) + " is not an integer: \"" + s + "\"");
  }
  return value;
}

std::string BytesField(const Json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return "";
  return Base64Decode(it->get<std::string>());
}

bool BoolField(const Json& obj, const char* name) {
  auto it = obj.find(name);
  return it != obj.end() && !it->is_null() && it->get<bool>();
}

std::string Truncated(const std::string& text, size_t max = 200) {
  return text.size() <= max ? text : text.substr(0, max) + "...";
}

// etcd's errors carry gRPC codes; those a retry can fix become Unavailable.
Status StatusFromGrpc(int code, const std::string& msg) {
  switch (code) {
    case 3:   // INVALID_ARGUMENT
    case 11:  // OUT_OF_RANGE
      return Status::InvalidArgument(msg);
    case 5:  // NOT_FOUND
      return Status::NotFound(msg);
    case 4:   // DEADLINE_EXCEEDED
    case 14:  // UNAVAILABLE
      return Status::Unavailable(msg);
    case 8:  // RESOURCE_EXHAUSTED
      return Status::Busy(msg);
    case 10:  // ABORTED
      return Status::Aborted(msg);
    default:
      return Status::IOError(msg);
  }
}

// A non-200 answer with etcd's error JSON ({"error":..., "message":...,
// "code":N}); nullopt when the body is something else (not etcd, or a path
// this etcd does not serve).
std::optional<Status> EtcdError(const std::string& url, long http_status, const std::string& body) {
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("code") || !j["code"].is_number_integer()) return std::nullopt;
  std::string msg;
  for (const char* field : {"message", "error"}) {
    if (msg.empty() && j.contains(field) && j[field].is_string()) msg = j[field];
  }
  return StatusFromGrpc(j["code"].get<int>(),
                        "etcd " + url + ": " + msg + " (HTTP " + std::to_string(http_status) + ")");
}

struct HttpAnswer {
  long status = 0;
  std::string body;
  std::string error;  // non-empty: no HTTP answer (curl's reason)
};

size_t AppendBody(char* ptr, size_t size, size_t n, void* userdata) {
  static_cast<std::string*>(userdata)->append(ptr, size * n);
  return size * n;
}

HttpAnswer Post(const std::string& url, const std::string& json,
                std::chrono::milliseconds timeout) {
  HttpAnswer answer;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) {
    answer.error = "curl_easy_init failed";
    return answer;
  }
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(
      curl_slist_append(nullptr, "Content-Type: application/json"), curl_slist_free_all);
  char error_buffer[CURL_ERROR_SIZE] = {};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, json.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(json.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, long(timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, long(timeout.count()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer.body);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    // The error buffer has the detail (host, port, errno) when curl filled it.
    answer.error = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc);
    return answer;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &answer.status);
  return answer;
}

// Runs `fn` on the reply's JSON; any shape it did not expect is Corruption.
template <typename T, typename Fn>
Result<T> Parse(const std::string& url, const std::string& body, Fn&& fn) {
  try {
    return fn(Json::parse(body));
  } catch (const std::exception& e) {
    return Status::Corruption("etcd " + url + ": malformed answer (" + e.what() +
                              "): " + Truncated(body));
  }
}

EtcdKeyValue ParseKeyValue(const Json& kv) {
  EtcdKeyValue out;
  out.key = BytesField(kv, "key");
  out.value = BytesField(kv, "value");
  out.lease = Int64Field(kv, "lease");
  out.create_revision = Int64Field(kv, "create_revision");
  out.mod_revision = Int64Field(kv, "mod_revision");
  return out;
}

std::vector<EtcdKeyValue> ParseKeyValues(const Json& range) {
  std::vector<EtcdKeyValue> out;
  if (auto it = range.find("kvs"); it != range.end() && !it->is_null()) {
    for (const Json& kv : *it) out.push_back(ParseKeyValue(kv));
  }
  return out;
}

// The smallest key greater than every key starting with `prefix`; "\0" (with
// key "\0") means no upper bound.
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (prefix.empty()) return std::string(1, '\0');
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

// A transaction: if `key`'s mod revision is `mod_revision`, do `op`.
Json CompareModTxn(const std::string& key, int64_t mod_revision, Json op) {
  return {{"compare", Json::array({{{"key", Base64Encode(key)},
                                    {"target", "MOD"},
                                    {"result", "EQUAL"},
                                    {"mod_revision", std::to_string(mod_revision)}}})},
          {"success", Json::array({std::move(op)})}};
}

}  // namespace

EtcdClient::EtcdClient(EtcdClientOptions options) : options_(std::move(options)) {
  for (std::string& endpoint : options_.endpoints) {
    while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  }
  GlobalInit();
}

std::string EtcdClient::DescribeEndpoints() const {
  std::string out;
  for (const std::string& endpoint : options_.endpoints) {
    out += (out.empty() ? "" : ", ") + endpoint;
  }
  return out;
}

Result<EtcdClient::Reply> EtcdClient::Call(const std::string& path, const std::string& json) {
  const size_t n = options_.endpoints.size();
  if (n == 0) return Status::InvalidArgument("etcd: no endpoints configured");
  const size_t first = preferred_.load() % n;
  std::string failures;
  for (size_t i = 0; i < n; i++) {
    const size_t index = (first + i) % n;
    const std::string url = options_.endpoints[index] + path;
    HttpAnswer answer = Post(url, json, options_.request_timeout);
    if (answer.error.empty() && answer.status == 200) {
      preferred_.store(index);
      return Reply{url, std::move(answer.body)};
    }
    if (answer.error.empty()) {
      if (auto etcd_error = EtcdError(url, answer.status, answer.body)) {
        preferred_.store(index);
        return *etcd_error;
      }
      std::string body = Truncated(answer.body, 100);
      while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back())))
        body.pop_back();
      answer.error = "HTTP " + std::to_string(answer.status) + ": " + body;
    }
    failures += (failures.empty() ? "" : "; ") + options_.endpoints[index] + ": " + answer.error;
  }
  return Status::Unavailable("etcd: no endpoint answered POST " + path + ": " + failures);
}

Result<int64_t> EtcdClient::Grant(std::chrono::seconds ttl) {
  if (ttl.count() <= 0) {
    return Status::InvalidArgument("etcd: lease TTL must be positive, got " +
                                   std::to_string(ttl.count()) + " s");
  }
  Json request = {{"TTL", std::to_string(ttl.count())}};
  WALSHIP_ASSIGN_OR_RETURN(Reply reply, Call("/v3/lease/grant", request.dump()));
  return Parse<int64_t>(reply.url, reply.body, [&](const Json& j) -> Result<int64_t> {
    const std::string error = j.value("error", "");
    if (!error.empty()) return Status::IOError("etcd " + reply.url + ": " + error);
    const int64_t id = Int64Field(j, "ID");
    if (id == 0) throw BadReply("no lease ID");
    return id;
  });
}

// /v3/lease/keepalive is a stream: each request object in the body gets one
// line of {"result": LeaseKeepAliveResponse}, or {"error": {...}} if the
// stream fails. An expired or unknown lease answers without a TTL.
Result<int64_t> EtcdClient::KeepAlive(int64_t lease) {
  Json request = {{"ID", std::to_string(lease)}};
  WALSHIP_ASSIGN_OR_RETURN(Reply reply, Call("/v3/lease/keepalive", request.dump()));
  const std::string line = reply.body.substr(0, reply.body.find('\n'));
  return Parse<int64_t>(reply.url, line, [&](const Json& j) -> Result<int64_t> {
    if (auto it = j.find("error"); it != j.end() && it->is_object()) {
      return StatusFromGrpc(it->value("grpc_code", 2),
                            "etcd " + reply.url + ": " + it->value("message", ""));
    }
    const int64_t ttl = Int64Field(j.at("result"), "TTL");
    if (ttl <= 0) {
      return Status::NotFound("etcd: lease " + std::to_string(lease) +
                              " has expired or does not exist");
    }
    return ttl;
  });
}

Status EtcdClient::Revoke(int64_t lease) {
  Json request = {{"ID", std::to_string(lease)}};
  auto reply = Call("/v3/lease/revoke", request.dump());
  if (!reply.ok() && !reply.status().IsNotFound()) return reply.status();
  return Status::OK();
}

Result<std::optional<EtcdKeyValue>> EtcdClient::Get(const std::string& key) {
  Json request = {{"key", Base64Encode(key)}};
  WALSHIP_ASSIGN_OR_RETURN(Reply reply, Call("/v3/kv/range", request.dump()));
  using Value = std::optional<EtcdKeyValue>;
  return Parse<Value>(reply.url, reply.body, [&](const Json& j) -> Result<Value> {
    std::vector<EtcdKeyValue> kvs = ParseKeyValues(j);
    if (kvs.empty()) return Value();
    return Value(std::move(kvs.front()));
  });
}

Result<std::vector<EtcdKeyValue>> EtcdClient::GetPrefix(const std::string& prefix) {
  Json request = {{"key", Base64Encode(prefix.empty() ? std::string(1, '\0') : prefix)},
                  {"range_end", Base64Encode(PrefixEnd(prefix))},
                  {"sort_order", "ASCEND"},
                  {"sort_target", "KEY"}};
  WALSHIP_ASSIGN_OR_RETURN(Reply reply, Call("/v3/kv/range", request.dump()));
  using Values = std::vector<EtcdKeyValue>;
  return Parse<Values>(reply.url, reply.body,
                       [&](const Json& j) -> Result<Values> { return ParseKeyValues(j); });
}

Status EtcdClient::Put(const std::string& key, const std::string& value, int64_t lease) {
  Json request = {{"key", Base64Encode(key)}, {"value", Base64Encode(value)}};
  if (lease != 0) request["lease"] = std::to_string(lease);
  return Call("/v3/kv/put", request.dump()).status();
}

Result<bool> EtcdClient::PutIfRevision(const std::string& key, const std::string& value,
                                       int64_t lease, int64_t mod_revision) {
  Json put = {{"key", Base64Encode(key)}, {"value", Base64Encode(value)}};
  if (lease != 0) put["lease"] = std::to_string(lease);
  Json request = CompareModTxn(key, mod_revision, {{"request_put", std::move(put)}});
  WALSHIP_ASSIGN_OR_RETURN(Reply reply, Call("/v3/kv/txn", request.dump()));
  return Parse<bool>(reply.url, reply.body,
                     [](const Json& j) -> Result<bool> { return BoolField(j, "succeeded"); });
}

Result<bool> EtcdClient::DeleteIfRevision(const std::string& key, int64_t mod_revision) {
  Json request =
      CompareModTxn(key, mod_revision, {{"request_delete_range", {{"key", Base64Encode(key)}}}});
  WALSHIP_ASSIGN_OR_RETURN(Reply reply, Call("/v3/kv/txn", request.dump()));
  return Parse<bool>(reply.url, reply.body, [](const Json& j) -> Result<bool> {
    if (!BoolField(j, "succeeded")) return false;
    // A compare on revision 0 succeeds for a missing key and deletes nothing.
    const Json& response = j.at("responses").at(0).at("response_delete_range");
    return Int64Field(response, "deleted") > 0;
  });
}

}  // namespace walship::lease
