#include "http/server_exchange.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include <spdlog/spdlog.h>

#include "http/fields.h"

namespace walship::http::internal {
namespace {

constexpr size_t kPieceSize = 256 * 1024;     // body pieces in and out
constexpr uint64_t kMaxDrain = 1024 * 1024;   // unread body worth reading to keep-alive

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() { ::close(fd_); }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

}  // namespace

Exchange::Exchange(Connection& conn, RequestParser& parser, std::stop_token stop)
    : conn_(conn), parser_(parser), stop_(std::move(stop)) {}

Status Exchange::Init() {
  const auto& req = parser_.get();
  method_ = std::string(req.method_string());
  target_ = std::string(req.target());
  headers_ = CollectHeaders(req.base());
  expect_continue_ = AsciiLower(Header("expect")) == "100-continue";
  size_t q = target_.find('?');
  WALSHIP_ASSIGN_OR_RETURN(path_, UrlDecode(std::string_view(target_).substr(0, q), false));
  if (path_.empty() || path_.front() != '/') {
    return Status::InvalidArgument("request target must start with '/': " + target_);
  }
  if (q != std::string::npos) {
    WALSHIP_ASSIGN_OR_RETURN(query_, ParseQuery(std::string_view(target_).substr(q + 1)));
  }
  return Status::OK();
}

std::optional<uint64_t> Exchange::content_length() const {
  auto length = parser_.content_length();
  if (!length) return std::nullopt;
  return *length;
}

Status Exchange::PeerGone(const char* what, const beast::error_code& ec) {
  broken_ = true;
  if (stop_.stop_requested()) return Status::Aborted("server stopping");
  return Status::Unavailable(std::string(what) + " " + remote_address() + ": " + ec.message());
}

void Exchange::SendContinueOnce() {
  if (!expect_continue_ || continue_sent_ || state_ != State::kNone) return;
  continue_sent_ = true;
  bhttp::response<bhttp::empty_body> res{bhttp::status::continue_, 11};
  IoResult r = conn_.WriteMessage(res);
  if (r.ec) broken_ = true;
}

Result<size_t> Exchange::ReadSome(uint8_t* buf, size_t size) {
  if (broken_) return Status::Unavailable("connection to " + remote_address() + " is broken");
  SendContinueOnce();
  while (!parser_.is_done()) {
    parser_.get().body().data = buf;
    parser_.get().body().size = size;
    IoResult r = conn_.ReadBodySome(parser_);
    if (r.ec == bhttp::error::need_buffer) r.ec = {};
    if (r.ec) return PeerGone("reading request body from", r.ec);
    size_t got = size - parser_.get().body().size;
    if (got > 0) return got;
  }
  return size_t{0};
}

Result<std::string> Exchange::ReadBody(size_t max) {
  auto length = content_length();
  if (length && *length > max) {
    return Status::InvalidArgument("request body of " + std::to_string(*length) +
                                   " bytes exceeds the limit of " + std::to_string(max));
  }
  std::string body;
  std::vector<uint8_t> piece(std::max<size_t>(1, std::min(kPieceSize, max)));
  for (;;) {
    WALSHIP_ASSIGN_OR_RETURN(size_t got, ReadSome(piece.data(), piece.size()));
    if (got == 0) return body;
    if (body.size() + got > max) {
      broken_ = true;  // the rest stays unread; do not reuse the connection
      return Status::InvalidArgument("request body exceeds the limit of " + std::to_string(max) +
                                     " bytes");
    }
    body.append(reinterpret_cast<const char*>(piece.data()), got);
  }
}

Status Exchange::ReadBodyTo(const BodySink& sink) {
  std::vector<uint8_t> piece(kPieceSize);
  for (;;) {
    WALSHIP_ASSIGN_OR_RETURN(size_t got, ReadSome(piece.data(), piece.size()));
    if (got == 0) return Status::OK();
    Status st = sink(std::span<const uint8_t>(piece.data(), got));
    if (!st.ok()) {
      broken_ = !parser_.is_done();
      return st;
    }
  }
}

void Exchange::SetHeader(std::string name, std::string value) {
  extra_headers_.emplace_back(std::move(name), std::move(value));
}

template <class Body>
bhttp::response<Body> Exchange::MakeResponse(int status, std::string_view content_type) {
  bhttp::response<Body> res{static_cast<bhttp::status>(status), 11};
  res.set(bhttp::field::server, "walship");
  res.set(bhttp::field::content_type, ToBeast(content_type));
  for (const auto& [name, value] : extra_headers_) res.set(name, value);
  res.keep_alive(parser_.get().keep_alive() && !stop_.stop_requested() && CanDrainBody());
  return res;
}

void Exchange::Send(int status, std::string body, std::string_view content_type) {
  if (state_ != State::kNone) {
    spdlog::warn("http: {} {}: handler sent a second response", method_, path_);
    return;
  }
  state_ = State::kDone;
  auto res = MakeResponse<bhttp::string_body>(status, content_type);
  res.body() = std::move(body);
  res.prepare_payload();
  IoResult r = conn_.WriteMessage(res);
  if (r.ec) {
    broken_ = true;
    spdlog::debug("http: writing response to {}: {}", remote_address(), r.ec.message());
  }
}

Status Exchange::SendFile(const std::string& path, std::string_view content_type) {
  if (state_ != State::kNone) return Status::InvalidArgument("response already started");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound("no such file: " + path);
    return Status::FromErrno("open " + path, err);
  }
  FdCloser closer(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::FromErrno("stat " + path, errno);
  auto res = MakeResponse<bhttp::empty_body>(200, content_type);
  res.content_length(static_cast<uint64_t>(st.st_size));
  bhttp::response_serializer<bhttp::empty_body> serializer{res};
  state_ = State::kDone;
  IoResult r = conn_.WriteHeader(serializer);
  if (r.ec) return PeerGone("writing response to", r.ec);
  return StreamFile(fd, static_cast<uint64_t>(st.st_size)).WithContext("sending " + path);
}

Status Exchange::StreamFile(int fd, uint64_t size) {
  std::vector<uint8_t> piece(kPieceSize);
  uint64_t sent = 0;
  while (sent < size) {
    if (stop_.stop_requested()) {
      broken_ = true;
      return Status::Aborted("server stopping");
    }
    size_t want = static_cast<size_t>(std::min<uint64_t>(piece.size(), size - sent));
    ssize_t n = ::pread(fd, piece.data(), want, static_cast<off_t>(sent));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      broken_ = true;  // the promised length cannot be met; the client sees a short body
      if (n < 0) return Status::FromErrno("read", errno);
      return Status::IOError("file shrank while sending");
    }
    IoResult r = conn_.WriteBuffer(asio::const_buffer(piece.data(), static_cast<size_t>(n)));
    if (r.ec) return PeerGone("writing response to", r.ec);
    sent += static_cast<uint64_t>(n);
  }
  return Status::OK();
}

Status Exchange::BeginChunked(int status, std::string_view content_type) {
  if (state_ != State::kNone) return Status::InvalidArgument("response already started");
  auto res = MakeResponse<bhttp::empty_body>(status, content_type);
  res.chunked(true);
  bhttp::response_serializer<bhttp::empty_body> serializer{res};
  state_ = State::kChunked;
  IoResult r = conn_.WriteHeader(serializer);
  if (r.ec) return PeerGone("writing response to", r.ec);
  return Status::OK();
}

Status Exchange::WriteChunk(std::span<const uint8_t> data) {
  if (state_ != State::kChunked) return Status::InvalidArgument("no chunked response open");
  if (stop_.stop_requested()) {
    broken_ = true;
    return Status::Aborted("server stopping");
  }
  if (broken_) return Status::Unavailable("connection to " + remote_address() + " is broken");
  if (data.empty()) return Status::OK();  // an empty chunk would end the body
  IoResult r = conn_.WriteChunk(asio::const_buffer(data.data(), data.size()));
  if (r.ec) return PeerGone("writing to", r.ec);
  return Status::OK();
}

Status Exchange::EndChunked() {
  if (state_ != State::kChunked) return Status::InvalidArgument("no chunked response open");
  state_ = State::kDone;
  if (broken_) return Status::Unavailable("connection to " + remote_address() + " is broken");
  IoResult r = conn_.WriteLastChunk();
  if (r.ec) return PeerGone("writing to", r.ec);
  return Status::OK();
}

bool Exchange::PeerConnected() {
  if (broken_ || stop_.stop_requested()) return false;
  if (conn_.PeerConnected()) return true;
  broken_ = true;  // nothing more to write to anyone
  return false;
}

bool Exchange::CanDrainBody() const {
  if (parser_.is_done()) return true;
  // A client waiting for "100 Continue" never sends the body we did not ask for.
  if (expect_continue_ && !continue_sent_) return false;
  auto length = parser_.content_length_remaining();
  return length && *length <= kMaxDrain;
}

bool Exchange::DrainBody() {
  if (parser_.is_done()) return true;
  if (!CanDrainBody()) return false;
  std::vector<uint8_t> scratch(64 * 1024);
  for (;;) {
    Result<size_t> got = ReadSome(scratch.data(), scratch.size());
    if (!got.ok()) return false;
    if (*got == 0) return true;
  }
}

bool Exchange::Finish() {
  if (state_ == State::kNone && !broken_) {
    spdlog::error("http: {} {}: handler sent no response", method_, path_);
    SendJsonError(500, "handler sent no response");
  }
  if (state_ == State::kChunked) (void)EndChunked();
  if (broken_ || stop_.stop_requested()) return false;
  if (!DrainBody()) return false;
  return parser_.get().keep_alive();
}

}  // namespace walship::http::internal
