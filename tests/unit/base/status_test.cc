#include "base/status.h"

#include <gtest/gtest.h>

namespace walship {
namespace {

Result<int> Half(int v) {
  if (v % 2) return Status::InvalidArgument("odd value " + std::to_string(v));
  return v / 2;
}

Status UseHalf(int v, int* out) {
  WALSHIP_ASSIGN_OR_RETURN(*out, Half(v));
  return Status::OK();
}

TEST(Status, OkAndErrors) {
  EXPECT_TRUE(Status::OK().ok());
  Status s = Status::Corruption("bad magic");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_EQ(s.ToString(), "Corruption: bad magic");
  EXPECT_EQ(s.WithContext("file x.ltx").message(), "file x.ltx: bad magic");
}

TEST(Status, FromErrnoKeepsErrno) {
  Status s = Status::FromErrno("open /nope", ENOENT);
  EXPECT_EQ(s.err(), ENOENT);
  EXPECT_NE(s.message().find("No such file"), std::string::npos);
}

TEST(Result, AssignOrReturn) {
  int out = 0;
  EXPECT_TRUE(UseHalf(8, &out).ok());
  EXPECT_EQ(out, 4);
  Status s = UseHalf(3, &out);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace walship
