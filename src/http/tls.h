// TLS files of the node API (DESIGN.md §1.3: http.tls-cert, http.tls-key,
// http.tls-ca; docs/security.md). A server given a certificate and key
// serves HTTPS only; with a CA it also checks a client certificate when the
// client presents one (client certificates are optional). A client verifies
// an https:// server against the CA (the system's trust store when none is
// given) and the URL's host name or IP address, and presents its own
// certificate when it has one.
//
// Plain data; the OpenSSL contexts are built inside walship_http.
#pragma once

#include <string>

namespace walship::http {

struct TlsFiles {
  std::string cert;  // PEM certificate chain of this side
  std::string key;   // PEM private key of `cert`
  std::string ca;    // PEM trust root for the other side

  // A server with these files serves HTTPS.
  bool serves() const { return !cert.empty(); }
};

}  // namespace walship::http
