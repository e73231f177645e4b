#include "backup/envelope.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstring>
#include <memory>

namespace walship::backup {
namespace {

constexpr uint8_t kVersion = 1;
constexpr uint8_t kCipherNone = 0;
constexpr uint8_t kCipherAesGcm = 1;
constexpr size_t kNonceSize = 12;

std::string Hex(const uint8_t* p, size_t n) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; i++) {
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 15];
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

}  // namespace

Result<ObjectCodec> ObjectCodec::Create(const std::string& hex_key) {
  ObjectCodec codec;
  if (hex_key.empty()) return codec;
  if (hex_key.size() != 64) {
    return Status::InvalidArgument("backup encryption key must be 64 hex digits, got " +
                                   std::to_string(hex_key.size()) + " characters");
  }
  for (size_t i = 0; i < 32; i++) {
    int hi = HexValue(hex_key[2 * i]), lo = HexValue(hex_key[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return Status::InvalidArgument("backup encryption key must be 64 hex digits");
    }
    codec.key_[i] = uint8_t(hi << 4 | lo);
  }
  codec.encrypted_ = true;
  std::string material = "walship-backup-key:";
  material.append(reinterpret_cast<const char*>(codec.key_.data()), codec.key_.size());
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(material.data()), material.size(), digest);
  std::memcpy(codec.key_id_.data(), digest, codec.key_id_.size());
  return codec;
}

std::string ObjectCodec::key_id_hex() const {
  return encrypted_ ? Hex(key_id_.data(), key_id_.size()) : "";
}

Result<std::string> ObjectCodec::Seal(const std::string& key, const std::string& plaintext) const {
  std::string out(kEnvelopeHeaderSize, '\0');
  uint8_t* h = reinterpret_cast<uint8_t*>(out.data());
  std::memcpy(h, kEnvelopeMagic, 4);
  h[4] = kVersion;
  h[5] = encrypted_ ? kCipherAesGcm : kCipherNone;
  if (!encrypted_) return out + plaintext;
  std::memcpy(h + 8, key_id_.data(), 8);
  if (RAND_bytes(h + 16, kNonceSize) != 1) return Status::IOError("backup: RAND_bytes failed");
  const std::string aad = out + key;
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  out.resize(kEnvelopeHeaderSize + plaintext.size() + kGcmTagSize);
  h = reinterpret_cast<uint8_t*>(out.data());
  uint8_t* ct = h + kEnvelopeHeaderSize;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), h + 16) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const uint8_t*>(aad.data()),
                        int(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), ct, &len, reinterpret_cast<const uint8_t*>(plaintext.data()),
                        int(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), ct + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagSize,
                          ct + plaintext.size()) != 1) {
    return Status::IOError("backup: AES-256-GCM encryption of " + key + " failed");
  }
  return out;
}

Result<std::string> ObjectCodec::Open(const std::string& key, const std::string& object) const {
  if (object.size() < kEnvelopeHeaderSize || std::memcmp(object.data(), kEnvelopeMagic, 4) != 0) {
    return Status::Corruption("object " + key + " is not a walship archive object (bad magic)");
  }
  const uint8_t* h = reinterpret_cast<const uint8_t*>(object.data());
  if (h[4] != kVersion) {
    return Status::Corruption("object " + key + ": unsupported envelope version " +
                              std::to_string(h[4]));
  }
  if (h[5] == kCipherNone) return object.substr(kEnvelopeHeaderSize);
  if (h[5] != kCipherAesGcm) {
    return Status::Corruption("object " + key + ": unknown cipher " + std::to_string(h[5]));
  }
  const std::string object_key_id = Hex(h + 8, 8);
  if (!encrypted_) {
    return Status::InvalidArgument("object " + key + " is encrypted (key id " + object_key_id +
                                   "); set backup.encryption-key to the key it was written with");
  }
  if (std::memcmp(h + 8, key_id_.data(), 8) != 0) {
    return Status::InvalidArgument("wrong encryption key: object " + key +
                                   " was encrypted with key id " + object_key_id +
                                   ", the configured key has id " + key_id_hex());
  }
  if (object.size() < kEnvelopeHeaderSize + kGcmTagSize) {
    return Status::Corruption("object " + key + " is truncated (no room for the GCM tag)");
  }
  const size_t ct_size = object.size() - kEnvelopeHeaderSize - kGcmTagSize;
  const std::string aad = object.substr(0, kEnvelopeHeaderSize) + key;
  std::string plain(ct_size, '\0');
  std::string tag = object.substr(kEnvelopeHeaderSize + ct_size);
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  uint8_t* out = reinterpret_cast<uint8_t*>(plain.data());
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), h + 16) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const uint8_t*>(aad.data()),
                        int(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), out, &len, h + kEnvelopeHeaderSize, int(ct_size)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kGcmTagSize, tag.data()) != 1) {
    return Status::IOError("backup: AES-256-GCM decryption of " + key + " failed to start");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), out + len, &len) != 1) {
    return Status::Corruption("object " + key +
                              ": authentication failed (the object is damaged or was tampered "
                              "with)");
  }
  return plain;
}

}  // namespace walship::backup
