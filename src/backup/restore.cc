#include "backup/restore.h"

#include <algorithm>
#include <vector>

#include "backup/bundle.h"
#include "backup/layout.h"
#include "env/env.h"
#include "ltx/checksum.h"
#include "ltx/decoder.h"
#include "ltx/io.h"

namespace walship::backup {
namespace {

// Applies LTX files, in TXID order, to a database file, keeping the page
// checksums (8 bytes a page) so each step's checksum is proven in O(pages).
class Applier {
 public:
  explicit Applier(env::File* file) : file_(file) {}

  uint64_t txid() const { return txid_; }
  uint64_t checksum() const { return checksum_; }
  int64_t timestamp_ms() const { return timestamp_ms_; }
  uint32_t page_size() const { return page_size_; }
  uint32_t commit() const { return commit_; }

  // Applies one LTX file from object `what`.
  Status Apply(std::string_view data, const std::string& what) {
    ltx::SpanReader reader(data);
    ltx::Decoder dec(&reader);
    auto header = dec.DecodeHeader();
    if (!header.ok()) return header.status().WithContext(what);
    const ltx::Header& h = *header;
    const std::string range = "TXID " + std::to_string(h.min_txid) + "-" + std::to_string(h.max_txid);
    if (h.IsSnapshot()) {
      checksums_.clear();
      checksum_ = ltx::kChecksumFlag;
      WALSHIP_RETURN_IF_ERROR(file_->Truncate(0));
    } else {
      if (h.min_txid != txid_ + 1) {
        return Status::Corruption(what + ": " + range + " does not follow TXID " +
                                  std::to_string(txid_));
      }
      if (!h.NoChecksum() && h.pre_apply_checksum != checksum_) {
        return Status::Corruption(what + ": " + range + " expects database checksum " +
                                  Hex(h.pre_apply_checksum) + " before it, the restored database "
                                  "has " + Hex(checksum_));
      }
      if (h.page_size != page_size_) checksums_.clear();  // the file rewrites every page
    }
    page_size_ = h.page_size;
    uint32_t pgno = 0;
    std::span<const uint8_t> page;
    for (;;) {
      auto more = dec.DecodePage(&pgno, &page);
      if (!more.ok()) return more.status().WithContext(what);
      if (!*more) break;
      WALSHIP_RETURN_IF_ERROR(file_->WriteAt(uint64_t(pgno - 1) * page_size_, page));
      if (checksums_.size() < pgno) checksums_.resize(pgno, 0);
      if (checksums_[pgno - 1]) checksum_ = ltx::ChecksumXor(checksum_, checksums_[pgno - 1]);
      checksums_[pgno - 1] = dec.last_page_checksum();
      checksum_ = ltx::ChecksumXor(checksum_, checksums_[pgno - 1]);
    }
    auto trailer = dec.Finish();
    if (!trailer.ok()) return trailer.status().WithContext(what);
    for (size_t i = h.commit; i < checksums_.size(); i++) {
      if (checksums_[i]) checksum_ = ltx::ChecksumXor(checksum_, checksums_[i]);
    }
    if (checksums_.size() > h.commit) checksums_.resize(h.commit);
    checksum_ |= ltx::kChecksumFlag;
    WALSHIP_RETURN_IF_ERROR(file_->Truncate(uint64_t(h.commit) * page_size_));
    if (!h.NoChecksum() && trailer->post_apply_checksum != checksum_) {
      return Status::Corruption(what + ": " + range + " promises database checksum " +
                                Hex(trailer->post_apply_checksum) + ", applying it gave " +
                                Hex(checksum_));
    }
    txid_ = h.max_txid;
    commit_ = h.commit;
    timestamp_ms_ = h.timestamp_ms;
    return Status::OK();
  }

  static std::string Hex(uint64_t v) {
    char buf[20];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
  }

 private:
  env::File* file_;
  std::vector<uint64_t> checksums_;  // index pgno-1; 0 = page not present
  uint64_t checksum_ = 0;
  uint64_t txid_ = 0;
  int64_t timestamp_ms_ = 0;
  uint32_t page_size_ = 0;
  uint32_t commit_ = 0;
};

class Restorer {
 public:
  Restorer(ArchiveTarget* target, const ObjectCodec& codec, const RestoreOptions& options,
           env::File* file)
      : target_(target), codec_(codec), options_(options), applier_(file) {}

  Result<RestoreResult> Run() {
    WALSHIP_ASSIGN_OR_RETURN(objects_, ListDbObjects(target_, options_.db));
    WALSHIP_ASSIGN_OR_RETURN(const ArchivedObject* snap, ChooseSnapshot());
    progress_.target_txid = EstimateEnd();
    WALSHIP_RETURN_IF_ERROR(ApplyWhole(*snap));
    while (!Reached()) {
      WALSHIP_ASSIGN_OR_RETURN(bool moved, Step());
      if (!moved) break;
    }
    if (options_.point.kind == RestorePoint::Kind::kTxid && applier_.txid() != options_.point.txid) {
      return MissingAfter(applier_.txid());
    }
    RestoreResult r;
    r.txid = applier_.txid();
    r.checksum = applier_.checksum();
    r.timestamp_ms = applier_.timestamp_ms();
    r.page_size = applier_.page_size();
    r.page_count = applier_.commit();
    r.objects = progress_.objects;
    r.bytes = progress_.bytes;
    return r;
  }

 private:
  bool Reached() const {
    return options_.point.kind == RestorePoint::Kind::kTxid && applier_.txid() >= options_.point.txid;
  }

  uint64_t EstimateEnd() const {
    if (options_.point.kind == RestorePoint::Kind::kTxid) return options_.point.txid;
    uint64_t end = 0;
    for (const auto& o : objects_) end = std::max(end, o.max_txid);
    return end;
  }

  Result<const ArchivedObject*> ChooseSnapshot() {
    const ArchivedObject* best = nullptr;
    const ArchivedObject* oldest = nullptr;
    for (const auto& o : objects_) {
      if (!o.snapshot()) continue;
      if (!oldest || o.max_txid < oldest->max_txid) oldest = &o;
      bool eligible = true;
      if (options_.point.kind == RestorePoint::Kind::kTxid) eligible = o.max_txid <= options_.point.txid;
      // An object is written after the snapshot it holds was taken, so a
      // modification time at or before the point proves the snapshot is too.
      if (options_.point.kind == RestorePoint::Kind::kTimestamp)
        eligible = o.modified_ms > 0 && o.modified_ms <= options_.point.timestamp_ms;
      if (eligible && (!best || o.max_txid > best->max_txid)) best = &o;
    }
    if (best) return best;
    if (!oldest) {
      return Status::NotFound("no snapshot of database " + options_.db + " in " +
                              target_->Describe() + " (is the name right?)");
    }
    if (options_.point.kind == RestorePoint::Kind::kTimestamp) {
      // Modification times can be lost by copying an archive: the snapshot's
      // own header says when it was taken.
      WALSHIP_ASSIGN_OR_RETURN(std::string payload, Download(*oldest));
      WALSHIP_ASSIGN_OR_RETURN(auto files, DecodeBundle(payload));
      WALSHIP_ASSIGN_OR_RETURN(LtxSummary s, SummarizeLtx(files.front()));
      if (s.header.timestamp_ms <= options_.point.timestamp_ms) return oldest;
      return Status::NotFound("no restore point of " + options_.db +
                              " at or before that time: the oldest snapshot (" +
                              oldest->Describe() + ") was taken later");
    }
    return Status::NotFound("no restore point of " + options_.db + " at TXID " +
                            std::to_string(options_.point.txid) + ": the oldest snapshot is " +
                            oldest->Describe());
  }

  Result<std::string> Download(const ArchivedObject& o) {
    auto object = target_->Get(o.key);
    if (!object.ok()) {
      if (object.status().IsNotFound()) {
        return Status::NotFound("object " + o.Describe() + " is missing from " + target_->Describe());
      }
      return object.status().WithContext("object " + o.Describe());
    }
    progress_.objects++;
    progress_.bytes += object->size();
    auto plain = codec_.Open(o.key, *object);
    if (!plain.ok()) {
      if (plain.status().IsCorruption()) {
        return Status::Corruption(plain.status().message() + "; it holds " + o.Describe() +
                                  ", which cannot be restored past");
      }
      return plain.status();
    }
    return std::move(*plain);
  }

  Status Broken(const ArchivedObject& o, const Status& st) const {
    if (!st.IsCorruption()) return st;
    return Status::Corruption("object " + o.Describe() + " is damaged: " + st.message());
  }

  Status ApplyWhole(const ArchivedObject& o) {
    WALSHIP_ASSIGN_OR_RETURN(std::string payload, Download(o));
    auto files = DecodeBundle(payload);
    if (!files.ok()) return Broken(o, files.status());
    for (std::string_view f : *files) {
      if (Status st = applier_.Apply(f, "object " + o.key); !st.ok()) return Broken(o, st);
    }
    Report();
    return Status::OK();
  }

  // Applies the files of an L0 batch after the current TXID, while the point allows.
  Result<bool> ApplyBatch(const ArchivedObject& o) {
    WALSHIP_ASSIGN_OR_RETURN(std::string payload, Download(o));
    auto files = DecodeBundle(payload);
    if (!files.ok()) return Broken(o, files.status());
    bool moved = false;
    for (std::string_view f : *files) {
      auto s = SummarizeLtx(f);
      if (!s.ok()) return Broken(o, s.status());
      if (s->header.max_txid <= applier_.txid()) continue;
      if (!Allows(s->header)) return false;
      if (Status st = applier_.Apply(f, "object " + o.key); !st.ok()) return Broken(o, st);
      moved = true;
    }
    Report();
    return moved;
  }

  bool Allows(const ltx::Header& h) const {
    switch (options_.point.kind) {
      case RestorePoint::Kind::kLatest: return true;
      case RestorePoint::Kind::kTxid: return h.max_txid <= options_.point.txid;
      case RestorePoint::Kind::kTimestamp: return h.timestamp_ms <= options_.point.timestamp_ms;
    }
    return false;
  }

  // One step forward; false when nothing more can be applied.
  Result<bool> Step() {
    const uint64_t next = applier_.txid() + 1;
    std::vector<const ArchivedObject*> merged;
    const ArchivedObject* batch = nullptr;
    for (const auto& o : objects_) {
      if (o.snapshot()) continue;
      if (o.level > 0 && o.min_txid == next) {
        if (options_.point.kind != RestorePoint::Kind::kTxid || o.max_txid <= options_.point.txid)
          merged.push_back(&o);
      }
      if (o.level == 0 && o.min_txid <= next && next <= o.max_txid &&
          (!batch || o.max_txid > batch->max_txid)) {
        batch = &o;
      }
    }
    std::sort(merged.begin(), merged.end(), [](auto* a, auto* b) { return a->max_txid > b->max_txid; });
    for (const ArchivedObject* o : merged) {
      if (batch && batch->max_txid > o->max_txid && options_.point.kind != RestorePoint::Kind::kTimestamp)
        break;  // the batch reaches further
      WALSHIP_ASSIGN_OR_RETURN(std::string payload, Download(*o));
      auto files = DecodeBundle(payload);
      if (!files.ok()) return Broken(*o, files.status());
      auto s = SummarizeLtx(files->front());
      if (!s.ok()) return Broken(*o, s.status());
      if (files->size() != 1 || !Allows(s->header)) continue;  // too late: try a finer level
      if (Status st = applier_.Apply(files->front(), "object " + o->key); !st.ok()) return Broken(*o, st);
      Report();
      return true;
    }
    if (batch) return ApplyBatch(*batch);
    return false;
  }

  Status MissingAfter(uint64_t txid) const {
    uint64_t next_start = 0;
    for (const auto& o : objects_) {
      if (!o.snapshot() && o.min_txid > txid && (!next_start || o.min_txid < next_start))
        next_start = o.min_txid;
    }
    std::string msg = "cannot restore " + options_.db + " to TXID " +
                      std::to_string(options_.point.txid) + ": the archive has no object holding TXID " +
                      std::to_string(txid + 1);
    if (next_start) {
      msg += " (TXIDs " + std::to_string(txid + 1) + "-" + std::to_string(next_start - 1) +
             " are missing; the next object starts at " + std::to_string(next_start) + ")";
    } else {
      msg += " (the archive ends at TXID " + std::to_string(txid) + ")";
    }
    return Status::NotFound(msg);
  }

  void Report() {
    progress_.txid = applier_.txid();
    if (options_.progress) options_.progress(progress_);
  }

  ArchiveTarget* target_;
  const ObjectCodec& codec_;
  const RestoreOptions& options_;
  Applier applier_;
  std::vector<ArchivedObject> objects_;
  RestoreProgress progress_;
};

}  // namespace

Result<RestoreResult> Restore(ArchiveTarget* target, const ObjectCodec& codec,
                              const RestoreOptions& options) {
  env::Env* env = env::Env::Posix();
  if (!options.overwrite && env->Exists(options.output_path)) {
    return Status::InvalidArgument(options.output_path +
                                   " already exists; remove it or restore to another path");
  }
  const std::string tmp = options.output_path + ".tmp";
  (void)env->Remove(tmp);
  Result<RestoreResult> result = Status::IOError("restore did not run");
  {
    WALSHIP_ASSIGN_OR_RETURN(auto file, env->Open(tmp, env::OpenMode::kCreate));
    Restorer restorer(target, codec, options, file.get());
    result = restorer.Run();
    if (result.ok()) {
      auto sum = ltx::DatabaseChecksum(file.get(), result->page_size, result->page_count);
      if (!sum.ok()) {
        result = sum.status();
      } else if (*sum != result->checksum) {
        result = Status::Corruption("restored file has checksum " + Applier::Hex(*sum) +
                                    ", expected " + Applier::Hex(result->checksum));
      } else if (Status st = file->Sync(); !st.ok()) {
        result = st;
      }
    }
  }
  if (!result.ok()) {
    (void)env->Remove(tmp);
    return result;
  }
  WALSHIP_RETURN_IF_ERROR(env->Rename(tmp, options.output_path));
  WALSHIP_RETURN_IF_ERROR(env->SyncDir(env::DirName(options.output_path)));
  return result;
}

}  // namespace walship::backup
