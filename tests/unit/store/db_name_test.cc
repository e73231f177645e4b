// ValidateDbName: the one rule for database names (DESIGN.md §1.4). One test
// per kind of refused name, and the names that must stay accepted.
#include "store/db_name.h"

#include <gtest/gtest.h>

#include <string>

namespace walship::store {
namespace {

using namespace std::string_literals;

void ExpectRefused(const std::string& name, const std::string& why) {
  Status st = ValidateDbName(name);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << "accepted " << ::testing::PrintToString(name);
  EXPECT_NE(st.message().find(why), std::string::npos) << st.message();
  // The message is one line, whatever the name holds.
  EXPECT_EQ(st.message().find('\n'), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find('\0'), std::string::npos) << st.message();
}

TEST(DbName, AcceptsOrdinaryNames) {
  for (const std::string& name :
       {"app.db"s, "a"s, "my database.sqlite3"s, "héllo.db"s, "数据.db"s, "q\"x\\y.db"s,
        "a-wal.db"s, "x-mj1234567.db"s, "db-mjXYZ45678"s, std::string(255, 'n')}) {
    EXPECT_TRUE(ValidateDbName(name).ok()) << name << ": " << ValidateDbName(name).message();
  }
}

TEST(DbName, RefusesEmpty) { ExpectRefused("", "empty"); }

TEST(DbName, RefusesLongerThan255Bytes) {
  ExpectRefused(std::string(256, 'n'), "255 bytes");
  // 128 two-byte characters: 256 bytes.
  std::string two_byte;
  for (int i = 0; i < 128; i++) two_byte += "é";
  ExpectRefused(two_byte, "255 bytes");
}

TEST(DbName, RefusesInvalidUtf8) {
  ExpectRefused("\xff.db", "UTF-8");
  ExpectRefused("a\xc3", "UTF-8");           // truncated sequence
  ExpectRefused("\xc0\xaf.db", "UTF-8");     // overlong '/'
  ExpectRefused("\xed\xa0\x80.db", "UTF-8");  // surrogate
  ExpectRefused("\xf4\x90\x80\x80", "UTF-8");  // above U+10FFFF
}

TEST(DbName, RefusesNulAndControlCharacters) {
  ExpectRefused("t.db\0x"s, "control");
  ExpectRefused("a\nb.db", "control");
  ExpectRefused("q\"} 0\nfake_metric{x=\".db", "control");
  ExpectRefused("a\tb", "control");
  ExpectRefused("a\x7f", "control");
  ExpectRefused("a\xc2\x85", "control");  // U+0085 NEXT LINE
}

TEST(DbName, RefusesSlashAndLeadingDot) {
  ExpectRefused("a/b.db", "'/'");
  ExpectRefused("..x.db", "'.'");
  ExpectRefused(".primary", "'.'");
  ExpectRefused(".", "'.'");
}

TEST(DbName, RefusesSqliteSuffixes) {
  ExpectRefused("app.db-wal", "-wal");
  ExpectRefused("app.db-shm", "-shm");
  ExpectRefused("app.db-journal", "-journal");
  ExpectRefused("app.db-pos", "-pos");
  ExpectRefused("app.db-mj0A1B2C9D", "super-journal");
  ExpectRefused("app.db-mjabcdef12", "super-journal");
  ExpectRefused("app.db-mj9DAFF49ED", "super-journal");  // as SQLite 3.40 names them
}

TEST(DbName, MessageEscapesTheName) {
  Status st = ValidateDbName("bad\n\xff/");
  EXPECT_NE(st.message().find(R"("bad\n\ufffd/")"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace walship::store
