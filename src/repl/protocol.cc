#include "repl/protocol.h"

#include <nlohmann/json.hpp>

#include "base/coding.h"

namespace walship::repl {

void EncodeFrameHeader(FrameHeader header, std::span<uint8_t, kFrameHeaderSize> out) {
  out[0] = uint8_t(header.type);
  PutBE64(out.data() + 1, header.length);
}

Result<FrameHeader> ParseFrameHeader(std::span<const uint8_t, kFrameHeaderSize> in) {
  FrameHeader h{FrameType(in[0]), GetBE64(in.data() + 1)};
  if (in[0] < uint8_t(FrameType::kLtx) || in[0] > uint8_t(FrameType::kDeleted)) {
    return Status::Corruption("stream: unknown frame type " + std::to_string(in[0]));
  }
  if (h.length > kMaxFrameSize) {
    return Status::Corruption("stream: frame of " + std::to_string(h.length) + " bytes");
  }
  return h;
}

namespace {

nlohmann::json PositionJson(const store::Position& pos) {
  return {{"txid", pos.txid}, {"checksum", Hex16(pos.checksum)}};
}

Result<store::Position> ParsePosition(const std::string& name, const nlohmann::json& pos) {
  if (!pos.is_object() || !pos.contains("txid") || !pos["txid"].is_number_unsigned() ||
      !pos.contains("checksum") || !pos["checksum"].is_string()) {
    return Status::InvalidArgument("stream request: position of " + JsonQuote(name) +
                                   " needs a numeric txid and a hex checksum");
  }
  std::string hex = pos["checksum"];
  char* end = nullptr;
  uint64_t checksum = std::strtoull(hex.c_str(), &end, 16);
  if (hex.size() != 16 || *end != '\0') {
    return Status::InvalidArgument("stream request: checksum of " + JsonQuote(name) +
                                   " is not 16 hex digits");
  }
  return store::Position{pos["txid"].get<uint64_t>(), checksum};
}

}  // namespace

std::string EncodeNamedTxid(const std::string& db, uint64_t txid) {
  std::string out;
  AppendBE16(&out, uint16_t(db.size()));
  out += db;
  uint8_t raw[8];
  PutBE64(raw, txid);
  out.append(reinterpret_cast<const char*>(raw), 8);
  return out;
}

Result<std::pair<std::string, uint64_t>> ParseNamedTxid(std::span<const uint8_t> payload) {
  if (payload.size() < 2 || payload.size() != 2u + GetBE16(payload.data()) + 8u) {
    return Status::Corruption("stream: bad frame (a database name and a TXID expected)");
  }
  const size_t n = GetBE16(payload.data());
  return std::pair{std::string(reinterpret_cast<const char*>(payload.data() + 2), n),
                   GetBE64(payload.data() + 2 + n)};
}

std::string EncodeStreamRequest(const StreamRequest& request) {
  nlohmann::json positions = nlohmann::json::object();
  for (const auto& [name, pos] : request.positions) positions[name] = PositionJson(pos);
  nlohmann::json recent = nlohmann::json::object();
  for (const auto& [name, list] : request.recent) {
    recent[name] = nlohmann::json::array();
    for (const auto& pos : list) recent[name].push_back(PositionJson(pos));
  }
  nlohmann::json j = {{"nodeID", request.node_id},
                      {"hostname", request.hostname},
                      {"advertiseURL", request.advertise_url},
                      {"candidate", request.candidate},
                      {"clusterID", request.cluster_id},
                      {"positions", positions},
                      {"recent", recent}};
  return j.dump();
}

Result<StreamRequest> ParseStreamRequest(std::string_view json) {
  auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Status::InvalidArgument("stream request: body is not a JSON object");
  StreamRequest r;
  if (j.contains("nodeID") && j["nodeID"].is_string()) r.node_id = j["nodeID"];
  if (j.contains("hostname") && j["hostname"].is_string()) r.hostname = j["hostname"];
  if (j.contains("advertiseURL") && j["advertiseURL"].is_string()) {
    r.advertise_url = j["advertiseURL"];
  }
  if (j.contains("candidate") && j["candidate"].is_boolean()) r.candidate = j["candidate"];
  if (j.contains("clusterID") && j["clusterID"].is_string()) r.cluster_id = j["clusterID"];
  if (j.contains("recent") && j["recent"].is_object()) {
    for (const auto& [name, list] : j["recent"].items()) {
      if (!list.is_array()) return Status::InvalidArgument("stream request: bad \"recent\"");
      for (const auto& pos : list) {
        WALSHIP_ASSIGN_OR_RETURN(store::Position p, ParsePosition(name, pos));
        r.recent[name].push_back(p);
      }
    }
  }
  if (!j.contains("positions")) return r;
  if (!j["positions"].is_object()) {
    return Status::InvalidArgument("stream request: \"positions\" is not an object");
  }
  for (const auto& [name, pos] : j["positions"].items()) {
    WALSHIP_ASSIGN_OR_RETURN(r.positions[name], ParsePosition(name, pos));
  }
  return r;
}

}  // namespace walship::repl
