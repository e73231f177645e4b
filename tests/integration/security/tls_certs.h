// Certificates made at test time with the openssl CLI (never checked in): a
// CA, and leaf certificates it signs for 127.0.0.1 and localhost that serve
// both as a node's server certificate and as its client certificate.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "http/tls.h"

namespace walship::testing::security {

struct TestCa {
  std::string cert;  // PEM
  std::string key;
};

// A self-signed CA named `name`, its files in `dir`.
::testing::AssertionResult MakeCa(const std::string& dir, const std::string& name, TestCa* ca);

// A leaf certificate and key for `name` (subjectAltName `san`, e.g.
// "IP:127.0.0.1,DNS:localhost") signed by `ca`, its files in `dir`. `files`
// gets cert and key; its ca is `ca.cert`.
::testing::AssertionResult MakeLeaf(const TestCa& ca, const std::string& dir,
                                    const std::string& name, const std::string& san,
                                    http::TlsFiles* files);

}  // namespace walship::testing::security
