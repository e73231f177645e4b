#include "store/wal_capture.h"

#include <algorithm>
#include <map>

namespace walship::store {

namespace {
// How much one read back asks for at least: the frames of several small
// transactions, or a large one's in few reads.
constexpr size_t kReadBackBytes = 128 << 10;
}  // namespace

void WalCapture::OnWrite(uint64_t offset, std::span<const uint8_t> data, int64_t now_ms) {
  if (data.empty()) return;
  DropReadBack();
  last_write_ms_ = now_ms;
  if (offset == 0) {
    // A header write starts a new WAL generation (creation, or a restart after
    // a complete checkpoint): every earlier frame is in the database file now.
    std::optional<sqlite::WalHeader> header;
    if (data.size() >= sqlite::kWalHeaderSize) {
      auto parsed = sqlite::ParseWalHeader(data.first(sqlite::kWalHeaderSize));
      if (parsed.ok()) header = *parsed;
    }
    StartGeneration(header, sqlite::kWalHeaderSize);
    header_unread_ = data.size() < sqlite::kWalHeaderSize;
    return;
  }
  if (offset < sqlite::kWalHeaderSize) header_unread_ = true;
  if (!header_ && !header_unread_) return;
  if (header_ && offset < VerifiedEnd()) Unverify(offset);
  dirty_ = true;
}

Status WalCapture::Rescan(env::File* wal, int64_t now_ms) {
  DropReadBack();
  last_write_ms_ = now_ms;
  uint8_t raw[sqlite::kWalHeaderSize];
  WALSHIP_ASSIGN_OR_RETURN(size_t n, wal->ReadAt(0, raw));
  if (n == sizeof raw) {
    // A header that does not parse is being written: the old generation's
    // frames past captured_end_ hold no commit (it was captured before the
    // checkpoint that allowed the restart), so looking there is harmless.
    auto parsed = sqlite::ParseWalHeader(raw);
    if (parsed.ok() &&
        (!header_ || parsed->salt1 != header_->salt1 || parsed->salt2 != header_->salt2)) {
      StartGeneration(*parsed, sqlite::kWalHeaderSize);
    }
    if (parsed.ok()) header_unread_ = false;
  }
  verified_.clear();
  dirty_ = header_.has_value();
  return Status::OK();
}

void WalCapture::OnTruncate(uint64_t size) {
  DropReadBack();
  if (size >= captured_end_) {
    if (header_ && size < VerifiedEnd()) Unverify(size);
    return;
  }
  // Truncated below what was captured (checkpoint TRUNCATE, WAL deleted): a new
  // header must come before any new frame.
  StartGeneration(std::nullopt, sqlite::kWalHeaderSize);
  header_unread_ = false;
}

void WalCapture::Restore(const sqlite::WalHeader& header, uint64_t captured_end, FrameIndex index) {
  StartGeneration(header, captured_end);
  header_unread_ = false;
  index_ = std::move(index);
  dirty_ = true;  // frames after captured_end may be committed already
}

void WalCapture::StartGeneration(std::optional<sqlite::WalHeader> header, uint64_t captured_end) {
  DropReadBack();
  header_ = header;
  captured_end_ = captured_end;
  chain_.reset();
  if (header && captured_end == sqlite::kWalHeaderSize) {
    chain_ = std::array<uint32_t, 2>{header->checksum1, header->checksum2};
  }
  verified_.clear();
  index_.clear();
  dirty_ = header.has_value();
}

void WalCapture::Unverify(uint64_t offset) {
  if (offset < captured_end_) return;  // a rewrite of a captured frame
  const size_t keep = (offset - captured_end_) / FrameSize();
  if (keep < verified_.size()) verified_.resize(keep);
}

Status WalCapture::LoadChain(env::File* wal) {
  if (header_unread_) {
    uint8_t raw[sqlite::kWalHeaderSize];
    WALSHIP_ASSIGN_OR_RETURN(size_t n, wal->ReadAt(0, raw));
    if (n < sizeof raw) return Status::OK();
    auto parsed = sqlite::ParseWalHeader(raw);
    if (!parsed.ok()) return Status::OK();  // not written whole yet
    StartGeneration(*parsed, sqlite::kWalHeaderSize);
    header_unread_ = false;
  }
  if (!header_ || chain_) return Status::OK();
  // The checksum a frame at captured_end_ continues from is in the frame
  // header just before it.
  uint8_t prev[sqlite::kWalFrameHeaderSize];
  WALSHIP_ASSIGN_OR_RETURN(size_t n, wal->ReadAt(captured_end_ - FrameSize(), prev));
  if (n < sizeof prev) {
    return Status::Corruption("WAL shorter than its captured frames (" +
                              std::to_string(captured_end_) + " bytes)");
  }
  auto h = sqlite::ParseWalFrameHeader(prev);
  chain_ = std::array<uint32_t, 2>{h.checksum1, h.checksum2};
  return Status::OK();
}

Result<std::span<const uint8_t>> WalCapture::FrameAt(env::File* wal, uint64_t offset) {
  const size_t frame_size = size_t(FrameSize());
  if (!ReadBack(offset, frame_size).empty()) return ReadBack(offset, frame_size);
  if (read_short_ && offset + frame_size > read_at_ + read_length_) {
    return std::span<const uint8_t>();  // past the end the last read found
  }
  read_.resize(std::max(kReadBackBytes / frame_size, size_t(1)) * frame_size);
  WALSHIP_ASSIGN_OR_RETURN(read_length_, wal->ReadAt(offset, read_));
  read_at_ = offset;
  read_short_ = read_length_ < read_.size();
  return ReadBack(offset, frame_size);
}

std::span<const uint8_t> WalCapture::ReadBack(uint64_t offset, size_t size) const {
  if (offset < read_at_ || offset + size > read_at_ + read_length_) return {};
  return std::span<const uint8_t>(read_).subspan(size_t(offset - read_at_), size);
}

Result<bool> WalCapture::ExtendVerified(env::File* wal) {
  while (true) {
    if (!verified_.empty() && verified_.back().commit != 0) return true;
    WALSHIP_ASSIGN_OR_RETURN(std::span<const uint8_t> bytes, FrameAt(wal, VerifiedEnd()));
    if (bytes.empty()) return false;  // still arriving
    uint32_t cksum[2];
    const auto& prev = verified_.empty() ? *chain_ : verified_.back().checksum;
    cksum[0] = prev[0];
    cksum[1] = prev[1];
    if (!sqlite::VerifyWalFrame(*header_, bytes.first(sqlite::kWalFrameHeaderSize),
                                bytes.subspan(sqlite::kWalFrameHeaderSize), cksum)) {
      return false;  // half-written, unsalted, stale or another generation's
    }
    auto h = sqlite::ParseWalFrameHeader(bytes);
    verified_.push_back({h.pgno, h.commit, {cksum[0], cksum[1]}});
  }
}

Result<std::optional<TxSpec>> WalCapture::TakeNextCommitted(env::File* wal,
                                                            const std::function<Status()>& admit) {
  if (!dirty_ || !wal) return std::optional<TxSpec>();
  WALSHIP_RETURN_IF_ERROR(LoadChain(wal));
  if (!header_ || !chain_) return std::optional<TxSpec>();
  WALSHIP_ASSIGN_OR_RETURN(bool committed, ExtendVerified(wal));
  if (!committed) {
    dirty_ = false;  // nothing more until the next write
    return std::optional<TxSpec>();
  }
  if (admit) WALSHIP_RETURN_IF_ERROR(admit());
  return std::optional<TxSpec>(TakeTransaction(verified_.size() - 1));
}

TxSpec WalCapture::TakeTransaction(size_t commit_index) {
  std::map<uint32_t, uint64_t> latest;  // pgno -> frame offset, last write wins
  for (size_t i = 0; i <= commit_index; i++) {
    latest[verified_[i].pgno] = captured_end_ + i * FrameSize();
  }
  const VerifiedFrame& commit = verified_[commit_index];
  TxSpec spec;
  spec.page_size = header_->page_size;
  spec.commit = commit.commit;
  spec.commit_time_ms = last_write_ms_;
  spec.wal_offset = captured_end_;
  spec.wal_size = (commit_index + 1) * FrameSize();
  spec.wal_salt1 = header_->salt1;
  spec.wal_salt2 = header_->salt2;
  for (auto [pgno, offset] : latest) {
    index_[pgno].push_back(offset);
    if (pgno <= commit.commit) {
      spec.pages.push_back({pgno, FileKind::kWal, offset + sqlite::kWalFrameHeaderSize});
    }
  }
  captured_end_ += spec.wal_size;
  chain_ = commit.checksum;
  verified_.erase(verified_.begin(), verified_.begin() + commit_index + 1);
  return spec;
}

std::optional<uint64_t> WalCapture::FindPage(uint32_t pgno) const {
  auto it = index_.find(pgno);
  if (it == index_.end()) return std::nullopt;
  return it->second.back();
}

std::span<const uint64_t> WalCapture::CommittedFrames(uint32_t pgno) const {
  auto it = index_.find(pgno);
  if (it == index_.end()) return {};
  return it->second;
}

std::vector<uint32_t> WalCapture::IndexedPages() const {
  std::vector<uint32_t> out;
  out.reserve(index_.size());
  for (const auto& [pgno, offset] : index_) out.push_back(pgno);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace walship::store
