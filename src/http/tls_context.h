// Internal: OpenSSL contexts for the server and the client (http/tls.h says
// what each checks). Building one reads the files, so errors name the file
// and its role (e.g. "http.tls-key /etc/walship/node.key: ...").
//
// A context is immutable once built and may be shared by any number of
// connections on any threads.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>

#include "base/status.h"
#include "http/tls.h"

namespace walship::http::internal {

using TlsContext = boost::asio::ssl::context;

// TLS 1.2 or later, `files.cert` and `files.key` (both required), and with
// `files.ca` a check of any client certificate offered.
Result<std::shared_ptr<TlsContext>> ServerTlsContext(const TlsFiles& files);

// TLS 1.2 or later, peers verified against `files.ca` (or the system's
// store), and `files.cert`/`files.key` presented when set.
Result<std::shared_ptr<TlsContext>> ClientTlsContext(const TlsFiles& files);

}  // namespace walship::http::internal
