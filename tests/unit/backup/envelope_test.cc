#include "backup/envelope.h"

#include <gtest/gtest.h>

namespace walship::backup {
namespace {

const std::string kKeyA(64, 'a');
const std::string kKeyB = std::string(63, 'a') + "b";

TEST(ObjectCodec, PlainRoundTrip) {
  auto codec = ObjectCodec::Create("");
  ASSERT_TRUE(codec.ok());
  auto sealed = codec->Seal("db/L0/x.ltx", "hello");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->substr(0, 4), "WSA1");
  EXPECT_EQ(*codec->Open("db/L0/x.ltx", *sealed), "hello");
}

TEST(ObjectCodec, EncryptedRoundTripHidesPlaintext) {
  auto codec = ObjectCodec::Create(kKeyA);
  ASSERT_TRUE(codec.ok());
  const std::string secret = "a secret page, repeated a secret page";
  auto sealed = codec->Seal("k", secret);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->size(), kEnvelopeHeaderSize + secret.size() + kGcmTagSize);
  EXPECT_EQ(sealed->find("secret"), std::string::npos);
  EXPECT_EQ(*codec->Open("k", *sealed), secret);
  // A fresh nonce each time.
  EXPECT_NE(*codec->Seal("k", secret), *sealed);
}

TEST(ObjectCodec, WrongKeyIsAClearError) {
  auto a = ObjectCodec::Create(kKeyA);
  auto b = ObjectCodec::Create(kKeyB);
  auto sealed = a->Seal("k", "data");
  auto opened = b->Open("k", *sealed);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(opened.status().message().find("wrong encryption key"), std::string::npos);
  EXPECT_NE(opened.status().message().find(a->key_id_hex()), std::string::npos);
}

TEST(ObjectCodec, MissingKeyIsAClearError) {
  auto a = ObjectCodec::Create(kKeyA);
  auto none = ObjectCodec::Create("");
  auto opened = none->Open("k", *a->Seal("k", "data"));
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("is encrypted"), std::string::npos);
}

TEST(ObjectCodec, TamperedCiphertextFailsAuthentication) {
  auto a = ObjectCodec::Create(kKeyA);
  std::string sealed = *a->Seal("k", "data data data");
  sealed[kEnvelopeHeaderSize + 2] ^= 1;
  auto opened = a->Open("k", sealed);
  ASSERT_FALSE(opened.ok());
  EXPECT_TRUE(opened.status().IsCorruption());
  EXPECT_NE(opened.status().message().find("authentication failed"), std::string::npos);
}

TEST(ObjectCodec, ObjectUnderAnotherKeyFailsAuthentication) {
  auto a = ObjectCodec::Create(kKeyA);
  auto opened = a->Open("db/L0/other.ltx", *a->Seal("db/L0/x.ltx", "data"));
  ASSERT_FALSE(opened.ok());
  EXPECT_TRUE(opened.status().IsCorruption());
}

TEST(ObjectCodec, BadMagicIsCorruption) {
  auto a = ObjectCodec::Create("");
  auto opened = a->Open("k", std::string(40, 'x'));
  ASSERT_FALSE(opened.ok());
  EXPECT_TRUE(opened.status().IsCorruption());
}

TEST(ObjectCodec, RejectsBadKeys) {
  EXPECT_FALSE(ObjectCodec::Create("abcd").ok());
  EXPECT_FALSE(ObjectCodec::Create(std::string(64, 'z')).ok());
}

}  // namespace
}  // namespace walship::backup
