// Big-endian fixed-width integers and unsigned LEB128 varints, as used by the
// SQLite and LTX file formats. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace walship {

// The bytes of `text`, as the byte spans of files and buffers take them.
inline std::span<const uint8_t> AsBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

inline uint16_t GetBE16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
inline uint32_t GetBE32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}
inline uint64_t GetBE64(const uint8_t* p) {
  return uint64_t(GetBE32(p)) << 32 | GetBE32(p + 4);
}
inline void PutBE16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
inline void PutBE32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}
inline void PutBE64(uint8_t* p, uint64_t v) {
  PutBE32(p, uint32_t(v >> 32));
  PutBE32(p + 4, uint32_t(v));
}

// Appends big-endian values to a byte string.
void AppendBE16(std::string* out, uint16_t v);
void AppendBE32(std::string* out, uint32_t v);
void AppendBE64(std::string* out, uint64_t v);

// Unsigned varint (LEB128, as Go's encoding/binary.PutUvarint).
void AppendUvarint(std::string* out, uint64_t v);
// Decodes a varint at the start of `in`; returns bytes consumed, 0 if malformed
// or truncated.
size_t GetUvarint(std::span<const uint8_t> in, uint64_t* v);
// Signed zig-zag varint (Go's binary.PutVarint).
void AppendVarint(std::string* out, int64_t v);
size_t GetVarint(std::span<const uint8_t> in, int64_t* v);

// Lowercase hex of a 64-bit value, zero-padded to 16 digits.
std::string Hex16(uint64_t v);

// True when `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view text);

// `text` as the contents of a JSON string: quotes, backslashes and control
// characters escaped; well-formed UTF-8 as it is; each byte that is not part
// of well-formed UTF-8 as \ufffd, so the result is always valid JSON.
std::string JsonEscape(std::string_view text);
// `text` as a JSON string literal, quotes included (also how log lines and
// error messages quote names that come from outside).
std::string JsonQuote(std::string_view text);

}  // namespace walship
