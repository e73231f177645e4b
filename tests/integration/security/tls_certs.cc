#include "tls_certs.h"

#include <fstream>
#include <vector>

#include "harness/child_process.h"
#include "harness/sql.h"

namespace walship::testing::security {
namespace {

// Runs openssl with `args`; the failure carries its output.
::testing::AssertionResult OpenSsl(const std::string& dir, std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  const std::string output = dir + "/openssl.out";
  Child child = Child::Exec(args, "", output);
  CliResult r = WaitForCli(child, output, std::chrono::seconds(60), "openssl");
  if (r.ok()) return ::testing::AssertionSuccess();
  std::string command;
  for (const std::string& a : args) command += a + " ";
  return ::testing::AssertionFailure() << command << ": " << r.output;
}

const std::vector<std::string> kEcKey = {"-newkey", "ec", "-pkeyopt",
                                         "ec_paramgen_curve:prime256v1", "-nodes"};

}  // namespace

::testing::AssertionResult MakeCa(const std::string& dir, const std::string& name, TestCa* ca) {
  ca->cert = dir + "/" + name + ".crt";
  ca->key = dir + "/" + name + ".key";
  std::vector<std::string> args = {"req", "-x509"};
  args.insert(args.end(), kEcKey.begin(), kEcKey.end());
  args.insert(args.end(), {"-keyout", ca->key, "-out", ca->cert, "-days", "2", "-subj",
                           "/CN=" + name, "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
                           "keyUsage=critical,keyCertSign,cRLSign"});
  return OpenSsl(dir, args);
}

::testing::AssertionResult MakeLeaf(const TestCa& ca, const std::string& dir,
                                    const std::string& name, const std::string& san,
                                    http::TlsFiles* files) {
  files->cert = dir + "/" + name + ".crt";
  files->key = dir + "/" + name + ".key";
  files->ca = ca.cert;
  const std::string csr = dir + "/" + name + ".csr";
  const std::string ext = dir + "/" + name + ".ext";
  std::ofstream(ext) << "subjectAltName=" << san << "\n"
                     << "basicConstraints=CA:FALSE\n"
                     << "keyUsage=critical,digitalSignature\n"
                     << "extendedKeyUsage=serverAuth,clientAuth\n";
  std::vector<std::string> args = {"req"};
  args.insert(args.end(), kEcKey.begin(), kEcKey.end());
  args.insert(args.end(), {"-keyout", files->key, "-out", csr, "-subj", "/CN=" + name});
  if (auto r = OpenSsl(dir, args); !r) return r;
  return OpenSsl(dir, {"x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key,
                       "-CAcreateserial", "-out", files->cert, "-days", "2", "-extfile", ext});
}

}  // namespace walship::testing::security
