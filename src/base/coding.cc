#include "base/coding.h"

#include <cstdio>

namespace walship {

void AppendBE16(std::string* out, uint16_t v) {
  uint8_t b[2];
  PutBE16(b, v);
  out->append(reinterpret_cast<char*>(b), 2);
}
void AppendBE32(std::string* out, uint32_t v) {
  uint8_t b[4];
  PutBE32(b, v);
  out->append(reinterpret_cast<char*>(b), 4);
}
void AppendBE64(std::string* out, uint64_t v) {
  uint8_t b[8];
  PutBE64(b, v);
  out->append(reinterpret_cast<char*>(b), 8);
}

void AppendUvarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(char(uint8_t(v) | 0x80));
    v >>= 7;
  }
  out->push_back(char(v));
}

size_t GetUvarint(std::span<const uint8_t> in, uint64_t* v) {
  uint64_t x = 0;
  unsigned shift = 0;
  for (size_t i = 0; i < in.size() && i < 10; i++) {
    uint8_t b = in[i];
    if (i == 9 && b > 1) return 0;  // overflows 64 bits
    x |= uint64_t(b & 0x7f) << shift;
    if (b < 0x80) {
      *v = x;
      return i + 1;
    }
    shift += 7;
  }
  return 0;
}

void AppendVarint(std::string* out, int64_t v) {
  uint64_t ux = uint64_t(v) << 1;
  if (v < 0) ux = ~ux;
  AppendUvarint(out, ux);
}

size_t GetVarint(std::span<const uint8_t> in, int64_t* v) {
  uint64_t ux = 0;
  size_t n = GetUvarint(in, &ux);
  if (n == 0) return 0;
  int64_t x = int64_t(ux >> 1);
  if (ux & 1) x = ~x;
  *v = x;
  return n;
}

std::string Hex16(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

namespace {

// The length of the well-formed UTF-8 sequence at the start of `text`, or 0.
size_t Utf8SequenceLength(std::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  size_t len = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // the range of the second byte
  if (lead >= 0xc2 && lead <= 0xdf) {
    len = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    len = 3;
    if (lead == 0xe0) lo = 0xa0;  // overlong
    if (lead == 0xed) hi = 0x9f;  // surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    len = 4;
    if (lead == 0xf0) lo = 0x90;  // overlong
    if (lead == 0xf4) hi = 0x8f;  // above U+10FFFF
  } else {
    return 0;
  }
  if (text.size() < len || byte(1) < lo || byte(1) > hi) return 0;
  for (size_t i = 2; i < len; i++) {
    if (byte(i) < 0x80 || byte(i) > 0xbf) return 0;
  }
  return len;
}

void AppendJsonEscapedAscii(char c, std::string* out) {
  switch (c) {
    case '"': *out += "\\\""; break;
    case '\\': *out += "\\\\"; break;
    case '\n': *out += "\\n"; break;
    case '\r': *out += "\\r"; break;
    case '\t': *out += "\\t"; break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
        *out += buf;
      } else {
        *out += c;
      }
  }
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  while (!text.empty()) {
    const size_t len = Utf8SequenceLength(text);
    if (len == 0) return false;
    text.remove_prefix(len);
  }
  return true;
}

std::string JsonEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const size_t len = Utf8SequenceLength(text);
    if (len == 1) {
      AppendJsonEscapedAscii(text[0], &out);
    } else if (len == 0) {
      out += "\\ufffd";
    } else {
      out.append(text.substr(0, len));
    }
    text.remove_prefix(len == 0 ? 1 : len);
  }
  return out;
}

std::string JsonQuote(std::string_view text) { return "\"" + JsonEscape(text) + "\""; }

}  // namespace walship
