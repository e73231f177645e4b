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
  if (in[0] < uint8_t(FrameType::kLtx) || in[0] > uint8_t(FrameType::kError)) {
    return Status::Corruption("stream: unknown frame type " + std::to_string(in[0]));
  }
  if (h.length > kMaxFrameSize) {
    return Status::Corruption("stream: frame of " + std::to_string(h.length) + " bytes");
  }
  return h;
}

std::string EncodeStreamRequest(const StreamRequest& request) {
  nlohmann::json positions = nlohmann::json::object();
  for (const auto& [name, pos] : request.positions) {
    positions[name] = {{"txid", pos.txid}, {"checksum", Hex16(pos.checksum)}};
  }
  nlohmann::json j = {
      {"nodeID", request.node_id}, {"hostname", request.hostname}, {"positions", positions}};
  return j.dump();
}

Result<StreamRequest> ParseStreamRequest(std::string_view json) {
  auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Status::InvalidArgument("stream request: body is not a JSON object");
  StreamRequest r;
  if (j.contains("nodeID") && j["nodeID"].is_string()) r.node_id = j["nodeID"];
  if (j.contains("hostname") && j["hostname"].is_string()) r.hostname = j["hostname"];
  if (!j.contains("positions")) return r;
  if (!j["positions"].is_object()) {
    return Status::InvalidArgument("stream request: \"positions\" is not an object");
  }
  for (const auto& [name, pos] : j["positions"].items()) {
    if (!pos.is_object() || !pos.contains("txid") || !pos["txid"].is_number_unsigned() ||
        !pos.contains("checksum") || !pos["checksum"].is_string()) {
      return Status::InvalidArgument("stream request: position of \"" + name +
                                     "\" needs a numeric txid and a hex checksum");
    }
    std::string hex = pos["checksum"];
    char* end = nullptr;
    uint64_t checksum = std::strtoull(hex.c_str(), &end, 16);
    if (hex.size() != 16 || *end != '\0') {
      return Status::InvalidArgument("stream request: checksum of \"" + name +
                                     "\" is not 16 hex digits");
    }
    r.positions[name] = {pos["txid"].get<uint64_t>(), checksum};
  }
  return r;
}

}  // namespace walship::repl
