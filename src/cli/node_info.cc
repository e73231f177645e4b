#include "cli/node_info.h"

namespace walship::cli {

Result<nlohmann::json> FetchNodeInfo(const std::string& url, std::chrono::milliseconds timeout,
                                     const http::Credentials& credentials) {
  http::Client client(url, timeout);
  client.SetCredentials(credentials);
  auto resp = client.Get("/info");
  if (!resp.ok()) {
    return Status::Unavailable("cannot reach the node at " + url + ": " + resp.status().message());
  }
  auto info = nlohmann::json::parse(resp->body, nullptr, /*allow_exceptions=*/false);
  if (resp->status != 200) {
    std::string why = resp->body;
    if (info.is_object() && info.contains("error") && info["error"].is_string()) why = info["error"];
    return Status::Unavailable("the node at " + url + " answered /info with " +
                               std::to_string(resp->status) + ": " + why);
  }
  if (!info.is_object()) return Status::Corruption(url + ": /info is not a JSON object");
  info["url"] = url;
  return info;
}

}  // namespace walship::cli
