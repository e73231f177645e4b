#include "repl/protocol.h"

#include <gtest/gtest.h>

namespace walship::repl {
namespace {

TEST(StreamProtocol, FrameHeaderRoundTrip) {
  uint8_t raw[kFrameHeaderSize];
  EncodeFrameHeader({FrameType::kLtx, 123456789012ULL}, raw);
  EXPECT_EQ(raw[0], 1);
  auto h = ParseFrameHeader(raw);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->type, FrameType::kLtx);
  EXPECT_EQ(h->length, 123456789012ULL);
}

TEST(StreamProtocol, RejectsUnknownFrameType) {
  uint8_t raw[kFrameHeaderSize] = {9};
  auto h = ParseFrameHeader(raw);
  ASSERT_FALSE(h.ok());
  EXPECT_TRUE(h.status().IsCorruption());
  EXPECT_NE(h.status().message().find("unknown frame type 9"), std::string::npos);
}

TEST(StreamProtocol, RejectsImpossibleLength) {
  uint8_t raw[kFrameHeaderSize];
  EncodeFrameHeader({FrameType::kHeartbeat, kMaxFrameSize + 1}, raw);
  EXPECT_TRUE(ParseFrameHeader(raw).status().IsCorruption());
}

TEST(StreamProtocol, RequestRoundTrip) {
  StreamRequest r;
  r.node_id = "00000000000000ab";
  r.hostname = "replica-1";
  r.positions["app.db"] = {41, 0xe03abc134d5b8993ULL};
  r.positions["other.db"] = {0, 0};
  auto parsed = ParseStreamRequest(EncodeStreamRequest(r));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->node_id, r.node_id);
  EXPECT_EQ(parsed->hostname, r.hostname);
  EXPECT_EQ(parsed->positions, r.positions);
}

TEST(StreamProtocol, RejectsNonObjectBody) {
  auto parsed = ParseStreamRequest("[1,2]");
  EXPECT_EQ(parsed.status().code(), Status::Code::kInvalidArgument);
}

TEST(StreamProtocol, RejectsBadChecksum) {
  auto parsed = ParseStreamRequest(R"({"positions":{"a.db":{"txid":3,"checksum":"xyz"}}})");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("\"a.db\""), std::string::npos);
}

TEST(StreamProtocol, RejectsMissingTxid) {
  auto parsed = ParseStreamRequest(R"({"positions":{"a.db":{"checksum":"0000000000000001"}}})");
  EXPECT_FALSE(parsed.ok());
}

}  // namespace
}  // namespace walship::repl
