// The proxy's routing, cookie and glob rules (pure functions).
#include "proxy/rules.h"

#include <gtest/gtest.h>

namespace walship::proxy {
namespace {

TEST(ClassifyTest, SafeMethodsReadEverythingElseWrites) {
  const RouteRules none;
  EXPECT_EQ(Classify("GET", "/", none), Route::kRead);
  EXPECT_EQ(Classify("HEAD", "/x", none), Route::kRead);
  for (const char* method : {"POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    EXPECT_EQ(Classify(method, "/x", none), Route::kWrite) << method;
  }
}

TEST(ClassifyTest, HealthPassthroughAndAlwaysForward) {
  const RouteRules rules{{"/debug/*", "/static/*.css"}, {"/admin/*"}};
  EXPECT_EQ(Classify("GET", "/static/css/deep/site.css", rules), Route::kPassthrough);
  EXPECT_EQ(Classify("GET", "/walship/health", rules), Route::kHealth);
  EXPECT_EQ(Classify("GET", "/litefs/health", rules), Route::kHealth);
  EXPECT_EQ(Classify("POST", "/walship/health", rules), Route::kWrite);
  EXPECT_EQ(Classify("POST", "/debug/vars", rules), Route::kPassthrough);
  EXPECT_EQ(Classify("GET", "/static/site.css", rules), Route::kPassthrough);
  EXPECT_EQ(Classify("GET", "/static/site.js", rules), Route::kRead);
  EXPECT_EQ(Classify("GET", "/admin/users", rules), Route::kWrite);
  EXPECT_EQ(Classify("GET", "/admins", rules), Route::kRead);
}

// LiteFS's proxy turns a pattern into ^QuoteMeta(pattern)$ with each \*
// made .* (http.CompileMatch): '*' is the only wildcard and crosses '/'.
TEST(GlobMatchTest, StarCrossesSlashAsInLiteFs) {
  EXPECT_TRUE(GlobMatch("*.png", "/img/a.png"));
  EXPECT_TRUE(GlobMatch("*.png", "/a.png"));
  EXPECT_FALSE(GlobMatch("*.png", "/img/a.png.txt"));
  EXPECT_TRUE(GlobMatch("/debug/*", "/debug/vars"));
  EXPECT_TRUE(GlobMatch("/debug/*", "/debug/pprof/heap"));
  EXPECT_TRUE(GlobMatch("/debug/*", "/debug/"));  // '*' may match nothing
  EXPECT_FALSE(GlobMatch("/debug/*", "/debug"));
  EXPECT_TRUE(GlobMatch("/api/*/edit", "/api/users/7/edit"));
  EXPECT_TRUE(GlobMatch("*", "/"));
  EXPECT_TRUE(GlobMatch("**", "/anything/at/all"));
}

TEST(GlobMatchTest, WholePathMustMatch) {
  EXPECT_TRUE(GlobMatch("/exact", "/exact"));
  EXPECT_FALSE(GlobMatch("/exact", "/exact/more"));
  EXPECT_FALSE(GlobMatch("/exact", "/prefix/exact"));
  EXPECT_FALSE(GlobMatch("", "/"));
}

TEST(GlobMatchTest, OtherCharactersAreLiteral) {
  EXPECT_FALSE(GlobMatch("/v?/x", "/v1/x"));
  EXPECT_TRUE(GlobMatch("/v?/x", "/v?/x"));
  EXPECT_FALSE(GlobMatch("/[ab]", "/a"));
  EXPECT_TRUE(GlobMatch("/[ab]", "/[ab]"));
  EXPECT_FALSE(GlobMatch("/a.c", "/abc"));
  EXPECT_TRUE(GlobMatch("/a\\*", "/a\\bc"));  // a backslash escapes nothing
}

TEST(GlobMatchTest, BacktracksAcrossSeveralStars) {
  EXPECT_TRUE(GlobMatch("/*/b/*/d", "/a/b/c/b/x/d"));
  EXPECT_FALSE(GlobMatch("/*/b/*/d", "/a/b/c/b/x/e"));
  EXPECT_TRUE(GlobMatch("*a*a*a*", "/banana/bandana"));
}

TEST(ClassifyTest, MatchesTheDecodedPath) {
  const RouteRules rules{{"/files/a b.png"}, {"/caf\xc3\xa9/*"}};
  EXPECT_EQ(Classify("GET", "/files/a%20b.png", rules), Route::kPassthrough);
  EXPECT_EQ(Classify("GET", "/caf%C3%A9/menu", rules), Route::kWrite);
  EXPECT_EQ(DecodePath("/100%/x%2"), "/100%/x%2");  // not escapes: kept
  EXPECT_EQ(DecodePath("/a%2fb"), "/a/b");
}

TEST(ClassifyTest, PassthroughComesBeforeHealthAsInLiteFs) {
  const RouteRules all{{"*"}, {}};
  EXPECT_EQ(Classify("GET", "/litefs/health", all), Route::kPassthrough);
  EXPECT_EQ(Classify("GET", "/litefs/health", RouteRules{}), Route::kHealth);
}

TEST(CookieTest, TxidHexWinsOverTxnumDecimal) {
  EXPECT_EQ(TxidFromCookieHeader("__txid=000000000000002a"), 42u);
  EXPECT_EQ(TxidFromCookieHeader("a=b; __txid=00000000000000FF; c=d"), 255u);
  EXPECT_EQ(TxidFromCookieHeader("txnum=1234"), 1234u);
  EXPECT_EQ(TxidFromCookieHeader("txnum=7; __txid=0000000000000009"), 9u);
  EXPECT_EQ(TxidFromCookieHeader("__txid=\"0000000000000003\""), 3u);
}

TEST(CookieTest, MalformedValuesAreIgnored) {
  EXPECT_FALSE(TxidFromCookieHeader(""));
  EXPECT_FALSE(TxidFromCookieHeader("session=abc"));
  EXPECT_FALSE(TxidFromCookieHeader("__txid=2a"));                 // not 16 digits
  EXPECT_FALSE(TxidFromCookieHeader("__txid=zz00000000000000"));   // not hex
  EXPECT_FALSE(TxidFromCookieHeader("txnum=12a"));
  EXPECT_FALSE(TxidFromCookieHeader("txnum=99999999999999999999999"));  // overflows
  EXPECT_EQ(TxidFromCookieHeader("__txid=bad; txnum=5"), 5u);
}

TEST(CookieTest, SetCookieNamesTheTxidInHex) {
  EXPECT_EQ(TxidSetCookie(42), "__txid=000000000000002a; Path=/; HttpOnly; Max-Age=300");
}

}  // namespace
}  // namespace walship::proxy
