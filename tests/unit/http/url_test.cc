#include "http/url.h"

#include <gtest/gtest.h>

namespace walship::http {
namespace {

TEST(ParseUrl, HostPortPathQuery) {
  Result<Url> url = ParseUrl("http://10.0.0.2:20202/export?name=a%20b");
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(url->scheme, "http");
  EXPECT_EQ(url->host, "10.0.0.2");
  EXPECT_EQ(url->port, 20202);
  EXPECT_EQ(url->path, "/export");
  EXPECT_EQ(url->query, "name=a%20b");
  EXPECT_EQ(url->ToString(), "http://10.0.0.2:20202/export?name=a%20b");
}

TEST(ParseUrl, DefaultsPortAndPath) {
  Result<Url> url = ParseUrl("http://primary.local");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->host, "primary.local");
  EXPECT_EQ(url->port, 80);
  EXPECT_EQ(url->path, "/");
  EXPECT_EQ(url->query, "");
}

TEST(ParseUrl, Ipv6Literal) {
  Result<Url> url = ParseUrl("http://[::1]:8080/info");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->HostPort(), "[::1]:8080");
}

TEST(ParseUrl, QueryWithoutPath) {
  Result<Url> url = ParseUrl("http://h:1?x=1");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->path, "/");
  EXPECT_EQ(url->query, "x=1");
}

TEST(ParseUrl, HttpsDefaultsToPort443) {
  Result<Url> url = ParseUrl("https://node1/x");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->scheme, "https");
  EXPECT_EQ(url->port, 443);
  EXPECT_EQ(url->ToString(), "https://node1:443/x");
}

TEST(ParseUrl, RejectsBadInput) {
  EXPECT_FALSE(ParseUrl("10.0.0.2:20202").ok());
  EXPECT_FALSE(ParseUrl("http://:1/").ok());
  EXPECT_FALSE(ParseUrl("http://h:99999/").ok());
  EXPECT_FALSE(ParseUrl("http://h:x/").ok());
  EXPECT_FALSE(ParseUrl("http://h:/").ok());
  EXPECT_EQ(ParseUrl("ftp://h/").status().code(), Status::Code::kInvalidArgument);
}

TEST(ParseHostPort, Forms) {
  Result<HostPort> any = ParseHostPort(":20202");
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any->host, "");
  EXPECT_EQ(any->port, 20202);
  Result<HostPort> loop = ParseHostPort("127.0.0.1:0");
  ASSERT_TRUE(loop.ok());
  EXPECT_EQ(loop->host, "127.0.0.1");
  EXPECT_EQ(loop->port, 0);
  Result<HostPort> v6 = ParseHostPort("[::1]:80");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_FALSE(ParseHostPort("localhost").ok());
  EXPECT_FALSE(ParseHostPort("localhost:http").ok());
}

TEST(UrlDecode, EscapesAndPlus) {
  EXPECT_EQ(*UrlDecode("a%20b%2Fc", false), "a b/c");
  EXPECT_EQ(*UrlDecode("a+b", false), "a+b");
  EXPECT_EQ(*UrlDecode("a+b", true), "a b");
  EXPECT_EQ(*UrlDecode("%e2%82%ac", true), "\xe2\x82\xac");
  EXPECT_FALSE(UrlDecode("bad%2", true).ok());
  EXPECT_FALSE(UrlDecode("bad%zz", true).ok());
  EXPECT_FALSE(UrlDecode("%", true).ok());
}

TEST(UrlEncode, RoundTrips) {
  std::string raw = "my db/name?&=+ é";
  EXPECT_EQ(UrlEncode("abc-_.~"), "abc-_.~");
  EXPECT_EQ(UrlEncode("a b"), "a%20b");
  EXPECT_EQ(*UrlDecode(UrlEncode(raw), true), raw);
}

TEST(ParseQuery, DecodesPairsAndFlags) {
  Result<QueryParams> q = ParseQuery("name=my%20db&x=1+2&flag&&name=second&empty=");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->at("name"), "my db");  // first occurrence wins
  EXPECT_EQ(q->at("x"), "1 2");
  EXPECT_EQ(q->at("flag"), "");
  EXPECT_EQ(q->at("empty"), "");
  EXPECT_EQ(q->size(), 4u);
  EXPECT_FALSE(ParseQuery("a=%G0").ok());
}

TEST(JsonErrorBody, EscapesOneLine) {
  EXPECT_EQ(JsonErrorBody("no such db"), "{\"error\":\"no such db\"}\n");
  EXPECT_EQ(JsonErrorBody("a\"b\\c\nd\x01"), "{\"error\":\"a\\\"b\\\\c\\nd\\u0001\"}\n");
}

TEST(AsciiLower, LowersLettersOnly) { EXPECT_EQ(AsciiLower("Content-Type_9"), "content-type_9"); }

}  // namespace
}  // namespace walship::http
