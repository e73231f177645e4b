// The replication stream's wire format (docs/protocol.md).
//
// A replica POSTs a StreamRequest (JSON) to the primary's /stream; the
// response is a sequence of frames, each a 9-byte header — u8 type, u64
// big-endian payload length — and its payload:
//   kLtx       u16 name length, database name, one whole LTX file
//   kHeartbeat i64 primary wall clock (ms since the epoch)
//   kReady     empty: the replica has been sent everything committed so far
//   kError     UTF-8 text; the primary closes the stream after it
//   kDiverged  u16 name length, database name, u64 TXID: the replica's history
//              of that database leaves the primary's after this TXID (0: no
//              common point known); a snapshot follows
//   kDeleted   u16 name length, database name, u64 TXID: the database was
//              deleted on the primary (at that TXID); a database of that name
//              that follows is a new one, from TXID 1
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "store/position.h"

namespace walship::repl {

enum class FrameType : uint8_t {
  kLtx = 1,
  kHeartbeat = 2,
  kReady = 3,
  kError = 4,
  kDiverged = 5,
  kDeleted = 6,
};

inline constexpr size_t kFrameHeaderSize = 9;
// Largest frame a replica accepts (a snapshot of a 256 GiB database).
inline constexpr uint64_t kMaxFrameSize = uint64_t(1) << 38;

struct FrameHeader {
  FrameType type;
  uint64_t length;
};

void EncodeFrameHeader(FrameHeader header, std::span<uint8_t, kFrameHeaderSize> out);
// Corruption for an unknown type or an impossible length.
Result<FrameHeader> ParseFrameHeader(std::span<const uint8_t, kFrameHeaderSize> in);

struct StreamRequest {
  std::string node_id;   // 16 hex digits
  std::string hostname;
  std::string advertise_url;  // the replica's node API (for /handoff)
  bool candidate = false;     // whether it may become the primary
  std::string cluster_id;     // DATA/cluster.id of the replica; empty: none yet
  std::map<std::string, store::Position> positions;  // by database name
  // By database: the positions after the replica's most recent LTX files,
  // newest first, so the primary can find where a diverged history forks.
  std::map<std::string, std::vector<store::Position>> recent;
};

// The header a primary answers /stream with: its cluster id (empty: none).
inline constexpr const char* kClusterIdHeader = "Walship-Cluster-Id";

// The payload of kDiverged and kDeleted: a database name and a TXID.
std::string EncodeNamedTxid(const std::string& db, uint64_t txid);
Result<std::pair<std::string, uint64_t>> ParseNamedTxid(std::span<const uint8_t> payload);

std::string EncodeStreamRequest(const StreamRequest& request);
// InvalidArgument naming the field when the JSON is not a stream request.
Result<StreamRequest> ParseStreamRequest(std::string_view json);

}  // namespace walship::repl
