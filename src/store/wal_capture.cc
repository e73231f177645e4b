#include "store/wal_capture.h"

#include <algorithm>

#include "base/coding.h"
#include "sqlite/wal.h"

namespace walship::store {

void WalCapture::OnWrite(uint64_t offset, std::span<const uint8_t> data, int64_t now_ms) {
  if (offset == 0) {
    OnHeaderWrite(data);
    return;
  }
  if (page_size_ == 0 || offset < sqlite::kWalHeaderSize || data.empty()) return;
  const uint64_t end = offset + data.size();
  const uint64_t fsz = FrameSize();
  // First frame boundary at or before `offset`.
  uint64_t b = sqlite::kWalHeaderSize + (offset - sqlite::kWalHeaderSize) / fsz * fsz;
  if (b < offset) {
    if (offset < b + sqlite::kWalFrameHeaderSize) needs_reread_ = true;
    OnFrameBody(b, offset, end);
    b += fsz;
  }
  for (; b < end; b += fsz) {
    if (b + sqlite::kWalFrameHeaderSize > end) {
      needs_reread_ = true;
      break;
    }
    OnFrameHeader(b, data.subspan(b - offset, sqlite::kWalFrameHeaderSize),
                  std::min(end, b + fsz) - b, now_ms);
  }
}

void WalCapture::OnFrameHeader(uint64_t offset, std::span<const uint8_t> header,
                               uint64_t arrived, int64_t now_ms) {
  if (offset < captured_end_) return;  // a rewrite of a captured frame's checksums
  auto h = sqlite::ParseWalFrameHeader(header);
  if (h.salt1 != salt1_ || h.salt2 != salt2_) {
    pending_.erase(offset);  // not a frame of this WAL generation
    return;
  }
  pending_[offset] = Frame{h.pgno, h.commit, now_ms, arrived};
}

void WalCapture::OnFrameBody(uint64_t frame_offset, uint64_t offset, uint64_t end) {
  auto it = pending_.find(frame_offset);
  if (it == pending_.end()) return;
  Frame& frame = it->second;
  // Bytes count only in order: a write past a gap leaves the frame incomplete.
  if (frame.arrived >= offset - frame_offset) {
    frame.arrived = std::max(frame.arrived, std::min(end, frame_offset + FrameSize()) - frame_offset);
  }
}

void WalCapture::OnHeaderWrite(std::span<const uint8_t> data) {
  if (data.size() < sqlite::kWalHeaderSize) {
    needs_reread_ = true;
    return;
  }
  auto header = sqlite::ParseWalHeader(data.first(sqlite::kWalHeaderSize));
  if (!header.ok()) return;
  // A header write starts a new WAL generation (creation or restart after a
  // complete checkpoint): every earlier frame is in the database file now.
  page_size_ = header->page_size;
  salt1_ = header->salt1;
  salt2_ = header->salt2;
  captured_end_ = sqlite::kWalHeaderSize;
  pending_.clear();
  index_.clear();
  needs_reread_ = false;
}

void WalCapture::OnTruncate(uint64_t size) {
  if (size >= captured_end_) {
    // Frames cut short lose the bytes past `size`.
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->first >= size) {
        it = pending_.erase(it);
        continue;
      }
      it->second.arrived = std::min(it->second.arrived, size - it->first);
      ++it;
    }
    return;
  }
  // Truncated below what was captured (checkpoint TRUNCATE, WAL deleted): a new
  // header must come before any new frame.
  page_size_ = 0;
  captured_end_ = sqlite::kWalHeaderSize;
  pending_.clear();
  index_.clear();
  needs_reread_ = false;
}

void WalCapture::Restore(uint32_t page_size, uint32_t salt1, uint32_t salt2,
                         uint64_t captured_end, std::unordered_map<uint32_t, uint64_t> index) {
  page_size_ = page_size;
  salt1_ = salt1;
  salt2_ = salt2;
  captured_end_ = captured_end;
  pending_.clear();
  index_ = std::move(index);
  needs_reread_ = false;
}

Status WalCapture::RereadPending(env::File* wal) {
  if (page_size_ == 0) {
    // The header itself was split; read it back.
    uint8_t hdr[sqlite::kWalHeaderSize];
    WALSHIP_ASSIGN_OR_RETURN(size_t n, wal->ReadAt(0, hdr));
    if (n == sizeof hdr) OnHeaderWrite(hdr);
    if (page_size_ == 0) return Status::OK();
  }
  pending_.clear();
  WALSHIP_ASSIGN_OR_RETURN(uint64_t size, wal->Size());
  uint8_t h[sqlite::kWalFrameHeaderSize];
  for (uint64_t b = captured_end_; b + FrameSize() <= size; b += FrameSize()) {
    WALSHIP_ASSIGN_OR_RETURN(size_t n, wal->ReadAt(b, h));
    if (n != sizeof h) break;
    auto fh = sqlite::ParseWalFrameHeader(h);
    if (fh.salt1 != salt1_ || fh.salt2 != salt2_) break;
    pending_[b] = Frame{fh.pgno, fh.commit, 0, FrameSize()};
  }
  needs_reread_ = false;
  return Status::OK();
}

Result<std::optional<TxSpec>> WalCapture::TakeNextCommitted(env::File* wal) {
  if (needs_reread_ && wal) WALSHIP_RETURN_IF_ERROR(RereadPending(wal));
  uint64_t expected = captured_end_;
  for (const auto& [offset, frame] : pending_) {
    // SQLite appends a transaction's frames in order from the end of the last
    // one: a gap or a frame still arriving means the commit is not there yet.
    if (offset != expected || !Complete(frame)) break;
    if (frame.commit != 0) return std::optional<TxSpec>(BuildSpec(offset, frame.commit));
    expected += FrameSize();
  }
  return std::optional<TxSpec>();
}

TxSpec WalCapture::BuildSpec(uint64_t commit_offset, uint32_t commit) {
  std::map<uint32_t, uint64_t> latest;  // pgno -> frame offset, last write wins
  auto last = pending_.upper_bound(commit_offset);
  for (auto it = pending_.begin(); it != last; ++it) latest[it->second.pgno] = it->first;
  TxSpec spec;
  spec.page_size = page_size_;
  spec.commit = commit;
  if (auto it = pending_.find(commit_offset); it != pending_.end()) {
    spec.commit_time_ms = it->second.written_ms;
  }
  spec.wal_offset = captured_end_;
  spec.wal_size = commit_offset + FrameSize() - captured_end_;
  spec.wal_salt1 = salt1_;
  spec.wal_salt2 = salt2_;
  for (auto [pgno, offset] : latest) {
    index_[pgno] = offset;
    if (pgno <= commit) {
      spec.pages.push_back({pgno, FileKind::kWal, offset + sqlite::kWalFrameHeaderSize});
    }
  }
  captured_end_ = commit_offset + FrameSize();
  pending_.erase(pending_.begin(), last);
  return spec;
}

void WalCapture::OnRecoveredFrame(uint64_t offset, uint32_t pgno, uint32_t commit) {
  if (offset >= captured_end_) pending_[offset] = Frame{pgno, commit, 0, FrameSize()};
}

std::optional<uint64_t> WalCapture::FindPage(uint32_t pgno) const {
  auto it = index_.find(pgno);
  if (it == index_.end()) return std::nullopt;
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
