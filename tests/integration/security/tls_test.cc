// HTTPS for the node API and the stream (DESIGN.md §1.3 http.tls-cert,
// tls-key, tls-ca; docs/security.md), with certificates made at test time: a
// cluster of three nodes with TLS and the auth token replicates; the commands
// verify a node against --tls-ca or $WALSHIP_TLS_CA; plain HTTP and
// unverified clients get nothing; and a node with the wrong token, a
// certificate the cluster's CA did not sign, or a CA that did not sign the
// primary's certificate is refused and gets nothing.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cluster/cluster_util.h"
#include "http/client.h"
#include "security_util.h"
#include "tls_certs.h"

namespace walship::testing::security {
namespace {

using cluster::Cluster;
using cluster::ClusterOptions;
using cluster::kDb;
using std::chrono::seconds;

const std::string kToken = "tls-test-token-5e0c1d2b";
constexpr char kLoopback[] = "IP:127.0.0.1,DNS:localhost";

// How the third node differs from the other two.
enum class Odd { kNone, kWrongToken, kUntrustedCertificate, kDistrustsThePrimary };

std::string OddName(const ::testing::TestParamInfo<Odd>& info) {
  switch (info.param) {
    case Odd::kNone:
      return "None";
    case Odd::kWrongToken:
      return "WrongToken";
    case Odd::kUntrustedCertificate:
      return "UntrustedCertificate";
    case Odd::kDistrustsThePrimary:
      return "DistrustsThePrimary";
  }
  return "";
}

// Certificates for three nodes from one CA, and a rogue CA beside it.
class TlsCerts {
 public:
  ::testing::AssertionResult Make(Odd odd) {
    const std::string dir = dir_.path();
    if (auto r = MakeCa(dir, "cluster-ca", &ca_); !r) return r;
    if (auto r = MakeCa(dir, "rogue-ca", &rogue_); !r) return r;
    for (int i = 0; i < 3; i++) {
      const bool odd_node = i == 2;
      const TestCa& signer = odd_node && odd == Odd::kUntrustedCertificate ? rogue_ : ca_;
      http::TlsFiles files;
      if (auto r = MakeLeaf(signer, dir, "node" + std::to_string(i + 1), kLoopback, &files); !r) {
        return r;
      }
      // Every node trusts the cluster's CA, but for the one that trusts the rogue's.
      files.ca = odd_node && odd == Odd::kDistrustsThePrimary ? rogue_.cert : ca_.cert;
      nodes_.push_back(files);
    }
    return ::testing::AssertionSuccess();
  }

  const std::string& ca() const { return ca_.cert; }
  const http::TlsFiles& node(size_t i) const { return nodes_.at(i); }

 private:
  TempDir dir_{"walship-tls"};
  TestCa ca_;
  TestCa rogue_;
  std::vector<http::TlsFiles> nodes_;
};

ClusterOptions TlsCluster(const TlsCerts& certs, Odd odd) {
  ClusterOptions options = cluster::Nodes(3);
  options.scheme = "https";
  options.http_yaml = [&certs, odd](size_t i) {
    const http::TlsFiles& f = certs.node(i);
    const std::string token = i == 2 && odd == Odd::kWrongToken ? "not-" + kToken : kToken;
    return "  auth-token: " + token + "\n  tls-cert: " + f.cert + "\n  tls-key: " + f.key +
           "\n  tls-ca: " + f.ca + "\n";
  };
  return options;
}

http::Credentials Trusted(const TlsCerts& certs) { return {kToken, {"", "", certs.ca()}}; }

// GET /info on node i's URL with `credentials`.
Result<http::ClientResponse> GetInfo(Cluster& cluster, size_t i,
                                     const http::Credentials& credentials,
                                     const std::string& scheme = "https") {
  std::string url = cluster.Url(i);
  url.replace(0, url.find(':'), scheme);
  http::Client client(url, seconds(10));
  client.SetCredentials(credentials);
  return client.Get("/info");
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(certs_.Make(Odd::kNone));
    cluster_.emplace(TlsCluster(certs_, Odd::kNone));
    ASSERT_TRUE(StartWithAppDb(*cluster_, &pos_));
  }
  void TearDown() override {
    if (cluster_) EXPECT_TRUE(cluster_->StopAll());
  }

  TlsCerts certs_;
  std::optional<Cluster> cluster_;
  Pos pos_;
};

TEST_F(TlsTest, ThreeNodesReplicateOverHttpsWithTheToken) {
  Cluster& cluster = *cluster_;
  Sql sql(cluster.primary().Path(kDb));
  ASSERT_TRUE(sql.ok()) << sql.error();
  ASSERT_TRUE(cluster::InsertRows(sql, 100, 50));
  Pos pos;
  ASSERT_TRUE(cluster::WaitConverged(cluster, kDb, seconds(30), &pos));
  for (size_t i = 0; i < cluster.size(); i++) {
    SCOPED_TRACE("node" + std::to_string(i + 1));
    if (i > 0) EXPECT_TRUE(cluster::ReplicaConsistent(cluster.node(i), kDb, pos));
    auto info = GetInfo(cluster, i, Trusted(certs_));
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    ASSERT_EQ(info->status, 200) << info->body;
    auto json = nlohmann::json::parse(info->body);
    EXPECT_EQ(json["primary"].value("advertiseURL", ""), cluster.Url(0));
    EXPECT_NE(cluster.node(i).Log().find("port " + std::to_string(cluster.node(i).http_port()) +
                                         ", HTTPS"),
              std::string::npos);
  }
  // The event stream over HTTPS.
  http::Client client(cluster.Url(1), seconds(10));
  client.SetCredentials(Trusted(certs_));
  auto events = client.OpenStream("GET", "/events");
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ((*events)->status(), 200);
  auto line = (*events)->ReadLine();
  ASSERT_TRUE(line.ok()) << line.status().ToString();
  EXPECT_NE(line->find("\"init\""), std::string::npos) << *line;
  (*events)->Close();
}

TEST_F(TlsTest, ClientsThatDoNotVerifyOrDoNotSpeakTlsGetNothing) {
  Cluster& cluster = *cluster_;
  // Plain HTTP to the HTTPS port: no answer at all.
  auto plain = GetInfo(cluster, 0, {kToken, {}}, "http");
  EXPECT_FALSE(plain.ok() && plain->status == 200);
  // HTTPS without the cluster's CA: the node's certificate is not trusted.
  auto untrusting = GetInfo(cluster, 0, {kToken, {}});
  ASSERT_FALSE(untrusting.ok());
  EXPECT_NE(untrusting.status().message().find("certificate is not trusted"), std::string::npos)
      << untrusting.status().ToString();
  // The right CA but a host name the certificate does not name.
  std::string by_name = cluster.Url(0);
  by_name.replace(by_name.find("127.0.0.1"), 9, "localhost");
  http::Client named(by_name, seconds(10));
  named.SetCredentials(Trusted(certs_));
  auto ok = named.Get("/info");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();  // DNS:localhost is in the certificate
  EXPECT_EQ(ok->status, 200);
  // The right CA, but a name the certificate does not carry ("127.1" reaches
  // 127.0.0.1 yet is no name or address in it).
  std::string unnamed = cluster.Url(0);
  unnamed.replace(unnamed.find("127.0.0.1"), 9, "127.1");
  http::Client mismatched(unnamed, seconds(10));
  mismatched.SetCredentials(Trusted(certs_));
  auto refused = mismatched.Get("/info");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("not trusted: hostname mismatch"), std::string::npos)
      << refused.status().ToString();
  // The CA but no token: 401, as over plain HTTP.
  auto no_token = GetInfo(cluster, 0, {"", {"", "", certs_.ca()}});
  ASSERT_TRUE(no_token.ok()) << no_token.status().ToString();
  EXPECT_EQ(no_token->status, 401);
  // A client CA file that is not PEM: the request fails naming it.
  auto bad_ca = GetInfo(cluster, 0, {kToken, {"", "", "/dev/null"}});
  ASSERT_FALSE(bad_ca.ok());
  EXPECT_NE(bad_ca.status().message().find("http.tls-ca /dev/null"), std::string::npos)
      << bad_ca.status().ToString();
  for (size_t i = 0; i < cluster.size(); i++) {
    auto pos = ReadPos(cluster.node(i).mount_dir(), kDb);
    ASSERT_TRUE(pos.ok());
    EXPECT_EQ(*pos, pos_);
  }
}

TEST_F(TlsTest, CommandsVerifyTheNodeAgainstTheirCa) {
  Cluster& cluster = *cluster_;
  const std::string file = cluster.Scratch("upload.db");
  ASSERT_TRUE(cluster::MakeDatabaseFile(file, 20, 100));
  const std::string out = cluster.Scratch("out.db");
  const EnvVars token = {{"WALSHIP_AUTH_TOKEN", kToken}};

  // Without the CA: refused, saying why, and nothing imported.
  CliResult r = RunWalshipCli({"import", "--name", "up.db", "--url", cluster.Url(0), file}, token);
  EXPECT_FALSE(r.ok()) << r.output;
  EXPECT_NE(r.output.find("certificate is not trusted"), std::string::npos) << r.output;
  EXPECT_EQ(ListDbs(cluster.primary().data_dir()), std::vector<std::string>{kDb});

  r = RunWalshipCli(
      {"import", "--name", "up.db", "--url", cluster.Url(0), "--tls-ca", certs_.ca(), file}, token);
  ASSERT_TRUE(r.ok()) << r.output;
  ASSERT_TRUE(cluster::WaitConverged(cluster, "up.db", seconds(30)));
  EnvVars with_ca = token;
  with_ca.emplace_back("WALSHIP_TLS_CA", certs_.ca());
  r = RunWalshipCli({"export", "--name", "up.db", "--url", cluster.Url(2), out}, with_ca);
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_TRUE(cluster::IntegrityOk(out));
  r = RunWalshipCli({"status", "--url", cluster.Url(1)}, with_ca);
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_NE(r.output.find("up.db"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("unreachable"), std::string::npos) << r.output;
}

// The third node is refused (or refuses the primary) and gets nothing, while
// the other two replicate; the logs say why.
class TlsOddNodeTest : public ::testing::TestWithParam<Odd> {};

TEST_P(TlsOddNodeTest, IsRefusedAndGetsNothing) {
  const Odd odd = GetParam();
  TlsCerts certs;
  ASSERT_TRUE(certs.Make(odd));
  Cluster cluster(TlsCluster(certs, odd));
  ASSERT_TRUE(cluster.Start());
  Sql sql(cluster.primary().Path(kDb));
  ASSERT_TRUE(sql.ok()) << sql.error();
  ASSERT_TRUE(cluster::SetUpDb(sql, JournalMode::kWal));
  ASSERT_TRUE(cluster::InsertRows(sql, 0, 10));
  auto pos = ReadPos(cluster.primary().mount_dir(), kDb);
  ASSERT_TRUE(pos.ok());
  EXPECT_TRUE(cluster::WaitForPos(cluster.node(1), kDb, *pos));

  // Refused again after the rows were committed (the logs say why), and
  // still nothing.
  WalshipProcess& odd_node = cluster.node(2);
  const size_t committed = odd_node.Log().size();
  switch (odd) {
    case Odd::kWrongToken:
      EXPECT_TRUE(cluster::WaitForLogAfter(odd_node, "401", committed));
      EXPECT_TRUE(cluster::WaitForLog(cluster.primary(), "no valid auth token"));
      break;
    case Odd::kUntrustedCertificate:
      // The primary checks the client certificate the node offers (with
      // TLS 1.3 the node learns of it at its first read).
      EXPECT_TRUE(cluster::WaitForLog(cluster.primary(), "TLS handshake failed"));
      EXPECT_TRUE(cluster::WaitForLogAfter(odd_node, "alert unknown ca", committed));
      break;
    case Odd::kDistrustsThePrimary:
      EXPECT_TRUE(cluster::WaitForLogAfter(odd_node, "certificate is not trusted", committed));
      break;
    case Odd::kNone:
      FAIL() << "not an odd node";
  }
  EXPECT_EQ(ListDbs(odd_node.data_dir()), std::vector<std::string>{});
  EXPECT_FALSE(std::filesystem::exists(odd_node.Path(kDb)));
  EXPECT_TRUE(cluster.StopAll());
}

INSTANTIATE_TEST_SUITE_P(Tls, TlsOddNodeTest,
                         ::testing::Values(Odd::kWrongToken, Odd::kUntrustedCertificate,
                                           Odd::kDistrustsThePrimary),
                         OddName);

// A node whose key file is not PEM does not start, and says which file.
TEST(TlsStart, AKeyThatIsNotPemStopsTheNodeNamingTheFile) {
  TempDir dir("walship-tls-start");
  TestCa ca;
  ASSERT_TRUE(MakeCa(dir.path(), "ca", &ca));
  http::TlsFiles files;
  ASSERT_TRUE(MakeLeaf(ca, dir.path(), "node1", kLoopback, &files));
  const std::string bad_key = dir / "bad.key";
  std::ofstream(bad_key) << "not a key\n";
  ClusterOptions options = cluster::Nodes(1);
  options.scheme = "https";
  options.http_yaml = [&](size_t) {
    return "  tls-cert: " + files.cert + "\n  tls-key: " + bad_key + "\n";
  };
  Cluster cluster(options);
  ASSERT_TRUE(cluster.primary().Spawn());
  auto status = cluster.primary().WaitForExit(seconds(20));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(ExitedWith(*status, 1)) << DescribeWaitStatus(*status);
  EXPECT_NE(cluster.primary().Log().find("http.tls-key " + bad_key +
                                         ": cannot load as a PEM "
                                         "private key"),
            std::string::npos)
      << cluster.primary().Log();
}

}  // namespace
}  // namespace walship::testing::security
