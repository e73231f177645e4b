#include "http/client.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <limits>
#include <mutex>
#include <utility>
#include <vector>

#include "http/auth.h"
#include "http/client_conn.h"
#include "http/tls_context.h"

namespace walship::http {

using internal::ClientConn;
using internal::IsStaleConnectionError;
using internal::TransportError;
namespace bhttp = internal::bhttp;
namespace beast = internal::beast;

namespace {

constexpr size_t kPieceSize = 256 * 1024;
constexpr uint64_t kMaxResponseBody = uint64_t{256} << 20;
constexpr size_t kMaxErrorBody = 64 * 1024;
// Not boost::none: Beast 1.74 compares a length against a disengaged optional
// limit as "exceeded".
constexpr uint64_t kNoBodyLimit = std::numeric_limits<uint64_t>::max();

// What one attempt on a connection learned besides its result.
struct AttemptInfo {
  bool stale = false;       // the server had closed the kept-alive connection
  bool keep_alive = false;  // the connection may carry another request
};

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Status WriteAll(int fd, const uint8_t* data, size_t size, const std::string& file) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno("write " + file, errno);
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::OK();
}

// Reads the next piece of body into `buf`; 0 at the end of the body.
Result<size_t> ReadBodySome(ClientConn& conn, internal::StreamParser& parser, uint8_t* buf,
                            size_t size, std::chrono::milliseconds timeout,
                            const std::string& what) {
  while (!parser.is_done()) {
    parser.get().body().data = buf;
    parser.get().body().size = size;
    beast::error_code ec = conn.ReadSome(parser, timeout);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) return TransportError(what, "receive body", ec);
    size_t got = size - parser.get().body().size;
    if (got > 0) return got;
  }
  return size_t{0};
}

}  // namespace

class Client::Impl {
 public:
  Impl(const std::string& base_url, std::chrono::milliseconds timeout) : timeout_(timeout) {
    Result<Url> url = ParseUrl(base_url);
    if (url.ok()) {
      base_ = *url;
    } else {
      url_status_ = url.status();
    }
  }

  void SetHeader(std::string name, std::string value) {
    std::lock_guard<std::mutex> lock(mu_);
    headers_.emplace_back(std::move(name), std::move(value));
  }
  void SetTransferProgress(TransferProgress progress) {
    std::lock_guard<std::mutex> lock(mu_);
    progress_ = std::move(progress);
  }
  void SetTls(TlsFiles files) {
    std::lock_guard<std::mutex> lock(mu_);
    tls_files_ = std::move(files);
    tls_.reset();
  }

  Result<ClientResponse> Request(std::string_view method, std::string_view path,
                                 std::string body, std::string_view content_type);
  Result<int> PostFile(std::string_view path, const std::string& file,
                       std::string_view content_type, std::string* response_body);
  Result<int> GetToFile(std::string_view path, const std::string& file, std::string* error_body);
  Result<std::unique_ptr<StreamReader>> OpenStream(std::string_view method, std::string_view path,
                                                   std::string body,
                                                   std::string_view content_type);

 private:
  template <class T>
  using Attempt = std::function<Result<T>(ClientConn&, AttemptInfo*)>;

  // Runs `attempt` on the kept-alive connection or a new one, retrying once
  // on a new connection when the kept one proves closed. REQUIRES: mu_ held.
  template <class T>
  Result<T> WithConnection(const std::string& what, const Attempt<T>& attempt);
  template <class Body>
  Result<bhttp::request<Body>> MakeRequest(std::string_view method, std::string_view path);
  std::string What(std::string_view method, std::string_view path) const {
    return std::string(method) + " " + base_.scheme + "://" + base_.HostPort() + Prefix() +
           std::string(path);
  }
  // The base URL's path without a trailing '/', prepended to request paths.
  std::string Prefix() const {
    std::string prefix = base_.path;
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    return prefix;
  }
  Status ReadErrorBody(ClientConn& conn, internal::StreamParser& parser, std::string* out,
                       const std::string& what);
  // The TLS context for an https:// base URL (built at the first call), or
  // null for http://. REQUIRES: mu_ held.
  Result<std::shared_ptr<internal::TlsContext>> Tls(const std::string& what);
  // A new connection to the base URL, connected (and TLS set up).
  Result<std::unique_ptr<ClientConn>> Connect(const std::string& what,
                                              std::shared_ptr<internal::TlsContext> tls);

  Status url_status_;
  Url base_;
  std::chrono::milliseconds timeout_;
  std::mutex mu_;
  std::vector<std::pair<std::string, std::string>> headers_;  // GUARDED_BY(mu_)
  TransferProgress progress_;                                 // GUARDED_BY(mu_)
  std::unique_ptr<ClientConn> conn_;                          // GUARDED_BY(mu_)
  TlsFiles tls_files_;                                        // GUARDED_BY(mu_)
  // Built from tls_files_ at the first https:// connection.
  std::shared_ptr<internal::TlsContext> tls_;  // GUARDED_BY(mu_)
};

Result<std::shared_ptr<internal::TlsContext>> Client::Impl::Tls(const std::string& what) {
  if (base_.scheme != "https") return std::shared_ptr<internal::TlsContext>();
  if (!tls_) {
    auto tls = internal::ClientTlsContext(tls_files_);
    if (!tls.ok()) return Status::InvalidArgument(what + ": " + tls.status().message());
    tls_ = std::move(*tls);
  }
  return tls_;
}

Result<std::unique_ptr<ClientConn>> Client::Impl::Connect(
    const std::string& what, std::shared_ptr<internal::TlsContext> tls) {
  auto conn = std::make_unique<ClientConn>(base_, timeout_, std::move(tls));
  WALSHIP_RETURN_IF_ERROR(conn->Connect(what));
  return conn;
}

template <class T>
Result<T> Client::Impl::WithConnection(const std::string& what, const Attempt<T>& attempt) {
  for (int tries = 0;; ++tries) {
    bool reused = conn_ && conn_->Reusable();
    if (!reused) {
      WALSHIP_ASSIGN_OR_RETURN(auto tls, Tls(what));
      WALSHIP_ASSIGN_OR_RETURN(conn_, Connect(what, tls));
    }
    AttemptInfo info;
    Result<T> result = attempt(*conn_, &info);
    if (result.ok() && info.keep_alive) return result;
    conn_.reset();
    if (result.ok() || !reused || !info.stale || tries > 0) return result;
  }
}

template <class Body>
Result<bhttp::request<Body>> Client::Impl::MakeRequest(std::string_view method,
                                                      std::string_view path) {
  WALSHIP_RETURN_IF_ERROR(url_status_);
  bhttp::verb verb = bhttp::string_to_verb(internal::ToBeast(method));
  if (verb == bhttp::verb::unknown) {
    return Status::InvalidArgument("unknown HTTP method " + std::string(method));
  }
  if (path.empty() || path.front() != '/') {
    return Status::InvalidArgument("request path must start with '/': " + std::string(path));
  }
  bhttp::request<Body> req{verb, Prefix() + std::string(path), 11};
  req.set(bhttp::field::host, base_.HostPort());
  req.set(bhttp::field::user_agent, "walship");
  for (const auto& [name, value] : headers_) req.set(name, value);
  return req;
}

Result<ClientResponse> Client::Impl::Request(std::string_view method, std::string_view path,
                                             std::string body, std::string_view content_type) {
  std::lock_guard<std::mutex> lock(mu_);
  WALSHIP_ASSIGN_OR_RETURN(auto req, MakeRequest<bhttp::string_body>(method, path));
  if (!body.empty() || req.method() == bhttp::verb::post) {
    req.set(bhttp::field::content_type, internal::ToBeast(content_type));
    req.body() = std::move(body);
  }
  req.prepare_payload();
  std::string what = What(method, path);
  return WithConnection<ClientResponse>(
      what, [&](ClientConn& conn, AttemptInfo* info) -> Result<ClientResponse> {
        beast::error_code ec = conn.WriteRequest(req);
        if (ec) {
          info->stale = IsStaleConnectionError(ec);
          return TransportError(what, "send", ec);
        }
        bhttp::response_parser<bhttp::string_body> parser;
        parser.body_limit(kMaxResponseBody);
        ec = conn.ReadMessage(parser);
        if (ec) {
          info->stale = !parser.got_some() && IsStaleConnectionError(ec);
          return TransportError(what, "receive", ec);
        }
        info->keep_alive = parser.get().keep_alive();
        ClientResponse out;
        out.status = parser.get().result_int();
        out.headers = internal::CollectHeaders(parser.get().base());
        out.body = std::move(parser.get().body());
        return out;
      });
}

Result<int> Client::Impl::PostFile(std::string_view path, const std::string& file,
                                   std::string_view content_type, std::string* response_body) {
  std::lock_guard<std::mutex> lock(mu_);
  Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Status::FromErrno("open " + file, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno("stat " + file, errno);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  WALSHIP_ASSIGN_OR_RETURN(auto req, MakeRequest<bhttp::empty_body>("POST", path));
  req.set(bhttp::field::content_type, internal::ToBeast(content_type));
  req.content_length(size);
  std::string what = What("POST", path);
  std::vector<uint8_t> piece(kPieceSize);
  return WithConnection<int>(what, [&](ClientConn& conn, AttemptInfo* info) -> Result<int> {
    bhttp::request_serializer<bhttp::empty_body> serializer{req};
    beast::error_code write_ec = conn.WriteHeader(serializer);
    for (uint64_t sent = 0; !write_ec && sent < size;) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(piece.size(), size - sent));
      ssize_t n = ::pread(fd.get(), piece.data(), want, static_cast<off_t>(sent));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::FromErrno("read " + file, errno);
      if (n == 0) return Status::IOError(file + " shrank while being sent");
      write_ec = conn.WriteBuffer(boost::asio::const_buffer(piece.data(), static_cast<size_t>(n)));
      sent += static_cast<uint64_t>(n);
      if (progress_) progress_(sent, size);
    }
    // Even after a failed write the server may have answered (say, 413).
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(kMaxResponseBody);
    beast::error_code ec = conn.ReadMessage(parser);
    if (ec) {
      beast::error_code cause = write_ec ? write_ec : ec;
      info->stale = !parser.got_some() && IsStaleConnectionError(cause);
      return TransportError(what, write_ec ? "send body" : "receive", cause);
    }
    info->keep_alive = !write_ec && parser.get().keep_alive();
    if (response_body) *response_body = std::move(parser.get().body());
    return parser.get().result_int();
  });
}

Status Client::Impl::ReadErrorBody(ClientConn& conn, internal::StreamParser& parser,
                                   std::string* out, const std::string& what) {
  std::vector<uint8_t> piece(kPieceSize);
  std::string body;
  while (body.size() < kMaxErrorBody) {
    WALSHIP_ASSIGN_OR_RETURN(
        size_t got, ReadBodySome(conn, parser, piece.data(), piece.size(), timeout_, what));
    if (got == 0) break;
    body.append(reinterpret_cast<const char*>(piece.data()), got);
  }
  if (body.size() > kMaxErrorBody) body.resize(kMaxErrorBody);
  if (out) *out = std::move(body);
  return Status::OK();
}

Result<int> Client::Impl::GetToFile(std::string_view path, const std::string& file,
                                    std::string* error_body) {
  std::lock_guard<std::mutex> lock(mu_);
  WALSHIP_ASSIGN_OR_RETURN(auto req, MakeRequest<bhttp::empty_body>("GET", path));
  std::string what = What("GET", path);
  return WithConnection<int>(what, [&](ClientConn& conn, AttemptInfo* info) -> Result<int> {
    beast::error_code ec = conn.WriteRequest(req);
    internal::StreamParser parser;
    parser.body_limit(kNoBodyLimit);
    if (!ec) ec = conn.ReadHeader(parser);
    if (ec) {
      info->stale = !parser.got_some() && IsStaleConnectionError(ec);
      return TransportError(what, "receive", ec);
    }
    int status = parser.get().result_int();
    if (status < 200 || status > 299) {
      WALSHIP_RETURN_IF_ERROR(ReadErrorBody(conn, parser, error_body, what));
      info->keep_alive = parser.is_done() && parser.get().keep_alive();
      return status;
    }
    Fd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.get() < 0) return Status::FromErrno("create " + file, errno);
    std::vector<uint8_t> piece(kPieceSize);
    const uint64_t total = parser.content_length().value_or(0);
    uint64_t received = 0;
    for (;;) {
      Result<size_t> got = ReadBodySome(conn, parser, piece.data(), piece.size(), timeout_, what);
      Status st = got.ok() ? WriteAll(fd.get(), piece.data(), *got, file) : got.status();
      if (!st.ok()) {
        ::unlink(file.c_str());
        return st;
      }
      if (*got == 0) break;
      received += *got;
      if (progress_) progress_(received, total);
    }
    info->keep_alive = parser.get().keep_alive();
    return status;
  });
}

Result<std::unique_ptr<StreamReader>> Client::Impl::OpenStream(std::string_view method,
                                                               std::string_view path,
                                                               std::string body,
                                                               std::string_view content_type) {
  std::string what = What(method, path);
  bhttp::request<bhttp::string_body> req;
  std::shared_ptr<internal::TlsContext> tls;
  {
    std::lock_guard<std::mutex> lock(mu_);
    WALSHIP_ASSIGN_OR_RETURN(req, MakeRequest<bhttp::string_body>(method, path));
    WALSHIP_ASSIGN_OR_RETURN(tls, Tls(what));
  }
  if (!body.empty()) {
    req.set(bhttp::field::content_type, internal::ToBeast(content_type));
    req.body() = std::move(body);
  }
  req.prepare_payload();
  WALSHIP_ASSIGN_OR_RETURN(auto conn, Connect(what, tls));
  beast::error_code ec = conn->WriteRequest(req);
  if (ec) return TransportError(what, "send", ec);
  auto parser = std::make_unique<internal::StreamParser>();
  parser->body_limit(kNoBodyLimit);
  ec = conn->ReadHeader(*parser);
  if (ec) return TransportError(what, "receive", ec);
  return internal::MakeStreamReader(std::move(conn), std::move(parser), what);
}

Client::Client(std::string base_url, std::chrono::milliseconds timeout)
    : base_url_(std::move(base_url)), impl_(std::make_unique<Impl>(base_url_, timeout)) {}

Client::~Client() = default;

void Client::SetHeader(std::string name, std::string value) {
  impl_->SetHeader(std::move(name), std::move(value));
}

void Client::SetCredentials(const Credentials& credentials) {
  if (!credentials.auth_token.empty()) {
    SetHeader("Authorization", BearerAuthorization(credentials.auth_token));
  }
  impl_->SetTls(credentials.tls);
}

void Client::SetTransferProgress(TransferProgress progress) {
  impl_->SetTransferProgress(std::move(progress));
}

Result<ClientResponse> Client::Get(std::string_view path_and_query) {
  return impl_->Request("GET", path_and_query, "", kJson);
}

Result<ClientResponse> Client::Post(std::string_view path_and_query, std::string body,
                                    std::string_view content_type) {
  return impl_->Request("POST", path_and_query, std::move(body), content_type);
}

Result<int> Client::PostFile(std::string_view path_and_query, const std::string& file,
                             std::string_view content_type, std::string* response_body) {
  return impl_->PostFile(path_and_query, file, content_type, response_body);
}

Result<int> Client::GetToFile(std::string_view path_and_query, const std::string& file,
                              std::string* error_body) {
  return impl_->GetToFile(path_and_query, file, error_body);
}

Result<std::unique_ptr<StreamReader>> Client::OpenStream(std::string_view method,
                                                         std::string_view path_and_query,
                                                         std::string body,
                                                         std::string_view content_type) {
  return impl_->OpenStream(method, path_and_query, std::move(body), content_type);
}

}  // namespace walship::http
