// ObjectCodec: the envelope around every archived object, and its optional
// encryption (AES-256-GCM through OpenSSL EVP). docs/backup.md has the layout:
//
//   0  "WSA1"           magic
//   4  u8 version (1)   5  u8 cipher: 0 none, 1 AES-256-GCM     6  u16 zero
//   8  key id (8 bytes: first 8 bytes of SHA-256("walship-backup-key:" || key))
//  16  nonce (12 random bytes)                                  28  4 zero bytes
//  32  payload: the plaintext, or the ciphertext followed by the 16-byte tag
//
// The GCM additional data is the 32 header bytes followed by the object key,
// so an object cannot be passed off under another name. Opening an encrypted
// object without a key, or with a key of another id, fails with
// InvalidArgument naming both ids; a failed tag is Corruption ("damaged or
// tampered"); a result is never returned unauthenticated. With a key
// configured, unencrypted objects still open (an archive begun without
// encryption stays restorable).
//
// Immutable after creation: thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "base/status.h"

namespace walship::backup {

inline constexpr char kEnvelopeMagic[] = "WSA1";
inline constexpr size_t kEnvelopeHeaderSize = 32;
inline constexpr size_t kGcmTagSize = 16;

class ObjectCodec {
 public:
  // `hex_key`: "" (no encryption) or 64 hex digits. InvalidArgument otherwise.
  static Result<ObjectCodec> Create(const std::string& hex_key);

  bool encrypted() const { return encrypted_; }
  // 16 hex digits; "" without a key.
  std::string key_id_hex() const;

  // The whole object for `plaintext`, stored under `key`.
  Result<std::string> Seal(const std::string& key, const std::string& plaintext) const;
  // The plaintext of `object`, stored under `key` (used in messages and as
  // additional authenticated data).
  Result<std::string> Open(const std::string& key, const std::string& object) const;

 private:
  bool encrypted_ = false;
  std::array<uint8_t, 32> key_{};
  std::array<uint8_t, 8> key_id_{};
};

}  // namespace walship::backup
