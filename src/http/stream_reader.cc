// StreamReader: the body of a long-lived response read from its own
// ClientConn. See client.h for the contract.

#include <atomic>
#include <cstring>

#include "http/client.h"
#include "http/client_conn.h"

namespace walship::http {

namespace bhttp = internal::bhttp;
namespace beast = internal::beast;

class StreamReader::Impl {
 public:
  Impl(std::unique_ptr<internal::ClientConn> conn, std::unique_ptr<internal::StreamParser> parser,
       std::string what)
      : conn_(std::move(conn)),
        parser_(std::move(parser)),
        what_(std::move(what)),
        status_(parser_->get().result_int()),
        headers_(internal::CollectHeaders(parser_->get().base())) {}

  int status() const { return status_; }
  const Headers& headers() const { return headers_; }
  void SetReadTimeout(std::chrono::milliseconds timeout) { read_timeout_ms_ = timeout.count(); }
  void Close() { conn_->CloseFromAnyThread(); }

  Result<size_t> Read(std::span<uint8_t> out) {
    if (out.empty()) return size_t{0};
    while (!parser_->is_done()) {
      if (conn_->closed()) return Status::Aborted(what_ + ": stream closed");
      parser_->get().body().data = out.data();
      parser_->get().body().size = out.size();
      beast::error_code ec =
          conn_->ReadSome(*parser_, std::chrono::milliseconds(read_timeout_ms_.load()));
      if (ec == bhttp::error::need_buffer) ec = {};
      if (conn_->closed()) return Status::Aborted(what_ + ": stream closed");
      if (ec) return internal::TransportError(what_, "receive body", ec);
      size_t got = out.size() - parser_->get().body().size;
      if (got > 0) return got;
    }
    return size_t{0};
  }

 private:
  std::unique_ptr<internal::ClientConn> conn_;
  std::unique_ptr<internal::StreamParser> parser_;
  std::string what_;
  int status_;
  Headers headers_;
  std::atomic<int64_t> read_timeout_ms_{0};
};

namespace internal {

std::unique_ptr<StreamReader> MakeStreamReader(std::unique_ptr<ClientConn> conn,
                                               std::unique_ptr<StreamParser> parser,
                                               std::string what) {
  return std::make_unique<StreamReader>(std::make_unique<StreamReader::Impl>(
      std::move(conn), std::move(parser), std::move(what)));
}

}  // namespace internal

StreamReader::StreamReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

StreamReader::~StreamReader() = default;

int StreamReader::status() const { return impl_->status(); }

const Headers& StreamReader::headers() const { return impl_->headers(); }

Result<size_t> StreamReader::Read(std::span<uint8_t> out) {
  if (at_ == buffer_.size() && out.size() >= kChunkSize) return impl_->Read(out);
  WALSHIP_ASSIGN_OR_RETURN(bool more, Fill());
  if (!more) return size_t{0};
  const size_t n = std::min(out.size(), buffer_.size() - at_);
  std::memcpy(out.data(), buffer_.data() + at_, n);
  at_ += n;
  return n;
}

Result<bool> StreamReader::Fill() {
  if (at_ < buffer_.size()) return true;
  buffer_.resize(kChunkSize);
  at_ = 0;
  auto got = impl_->Read({reinterpret_cast<uint8_t*>(buffer_.data()), buffer_.size()});
  buffer_.resize(got.ok() ? *got : 0);
  if (!got.ok()) return got.status();
  return *got > 0;
}

Result<std::string> StreamReader::ReadLine(size_t max) {
  std::string line;
  for (;;) {
    const size_t newline = buffer_.find('\n', at_);
    const size_t end = newline == std::string::npos ? buffer_.size() : newline;
    line.append(buffer_, at_, end - at_);
    at_ = newline == std::string::npos ? end : end + 1;
    if (newline != std::string::npos) return line;
    if (line.size() > max) {
      return Status::InvalidArgument("stream line longer than " + std::to_string(max) + " bytes");
    }
    WALSHIP_ASSIGN_OR_RETURN(bool more, Fill());
    if (!more) {
      if (line.empty()) return Status::NotFound("end of stream");
      return line;
    }
  }
}

Result<std::string> StreamReader::ReadAll(size_t max) {
  std::string body;
  while (body.size() <= max) {
    WALSHIP_ASSIGN_OR_RETURN(bool more, Fill());
    if (!more) return body;
    body.append(buffer_, at_, std::string::npos);
    at_ = buffer_.size();
  }
  return Status::InvalidArgument("stream body longer than " + std::to_string(max) + " bytes");
}

void StreamReader::SetReadTimeout(std::chrono::milliseconds timeout) {
  impl_->SetReadTimeout(timeout);
}

void StreamReader::Close() { impl_->Close(); }

}  // namespace walship::http
