#include "http/tls_context.h"

#include <openssl/ssl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace walship::http::internal {
namespace {

namespace ssl = boost::asio::ssl;

// "http.tls-KEY FILE: <why>": the config key, the file and the reason.
Status FileError(const char* key, const std::string& file, const std::string& why) {
  return Status::InvalidArgument("http." + std::string(key) + " " + file + ": " + why);
}

// The file can be opened for reading (OpenSSL's own message for a missing
// file is less plain).
Status Readable(const char* key, const std::string& file) {
  if (::access(file.c_str(), R_OK) != 0) return FileError(key, file, std::strerror(errno));
  return Status::OK();
}

// `ec` from loading `file` (for config key `key`) as `what`: OK, or what
// OpenSSL said.
Status LoadResult(const char* key, const std::string& file, const char* what,
                  const boost::system::error_code& ec) {
  if (!ec) return Status::OK();
  return FileError(
      key, file, std::string("cannot load as a PEM ") + what + " (OpenSSL: " + ec.message() + ")");
}

std::shared_ptr<TlsContext> NewContext(ssl::context::method method) {
  auto ctx = std::make_shared<TlsContext>(method);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  return ctx;
}

Status LoadOwnCertificate(TlsContext& ctx, const TlsFiles& files) {
  WALSHIP_RETURN_IF_ERROR(Readable("tls-cert", files.cert));
  WALSHIP_RETURN_IF_ERROR(Readable("tls-key", files.key));
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(files.cert, ec);
  WALSHIP_RETURN_IF_ERROR(LoadResult("tls-cert", files.cert, "certificate chain", ec));
  ctx.use_private_key_file(files.key, ssl::context::pem, ec);
  WALSHIP_RETURN_IF_ERROR(LoadResult("tls-key", files.key, "private key", ec));
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
    return FileError("tls-key", files.key, "does not match the certificate in " + files.cert);
  }
  return Status::OK();
}

Status LoadCa(TlsContext& ctx, const std::string& ca) {
  WALSHIP_RETURN_IF_ERROR(Readable("tls-ca", ca));
  boost::system::error_code ec;
  ctx.load_verify_file(ca, ec);
  return LoadResult("tls-ca", ca, "CA certificate", ec);
}

}  // namespace

Result<std::shared_ptr<TlsContext>> ServerTlsContext(const TlsFiles& files) {
  if (files.cert.empty() || files.key.empty()) {
    return Status::InvalidArgument("http.tls-cert and http.tls-key must be set together");
  }
  auto ctx = NewContext(ssl::context::tls_server);
  WALSHIP_RETURN_IF_ERROR(LoadOwnCertificate(*ctx, files));
  if (!files.ca.empty()) {
    WALSHIP_RETURN_IF_ERROR(LoadCa(*ctx, files.ca));
    // Ask for a client certificate and check one that is offered; a client
    // without one is still served (the auth token guards the API).
    SSL_CTX_set_client_CA_list(ctx->native_handle(), SSL_load_client_CA_file(files.ca.c_str()));
    ctx->set_verify_mode(ssl::verify_peer);
  }
  return ctx;
}

Result<std::shared_ptr<TlsContext>> ClientTlsContext(const TlsFiles& files) {
  auto ctx = NewContext(ssl::context::tls_client);
  if (!files.cert.empty() || !files.key.empty()) {
    WALSHIP_RETURN_IF_ERROR(LoadOwnCertificate(*ctx, files));
  }
  if (files.ca.empty()) {
    boost::system::error_code ec;
    ctx->set_default_verify_paths(ec);
    if (ec) return Status::InvalidArgument("the system's TLS trust store: " + ec.message());
  } else {
    WALSHIP_RETURN_IF_ERROR(LoadCa(*ctx, files.ca));
  }
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

}  // namespace walship::http::internal
