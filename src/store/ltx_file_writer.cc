#include "store/ltx_file_writer.h"

#include "base/crash_point.h"
#include "ltx/decoder.h"
#include "ltx/io.h"

namespace walship::store {

// Collects small encoder writes into large file writes.
class LtxFileWriter::BufferedWriter final : public ltx::Writer {
 public:
  explicit BufferedWriter(env::File* file) : file_(file) { buffer_.reserve(kCapacity); }

  Status Write(std::span<const uint8_t> data) override {
    if (buffer_.size() + data.size() > kCapacity) WALSHIP_RETURN_IF_ERROR(Flush());
    if (data.size() >= kCapacity) {
      WALSHIP_RETURN_IF_ERROR(file_->WriteAt(offset_, data));
      offset_ += data.size();
      return Status::OK();
    }
    buffer_.insert(buffer_.end(), data.begin(), data.end());
    return Status::OK();
  }

  Status Flush() {
    if (buffer_.empty()) return Status::OK();
    WALSHIP_RETURN_IF_ERROR(file_->WriteAt(offset_, buffer_));
    offset_ += buffer_.size();
    buffer_.clear();
    return Status::OK();
  }

 private:
  static constexpr size_t kCapacity = 256 * 1024;
  env::File* file_;
  uint64_t offset_ = 0;
  std::vector<uint8_t> buffer_;
};

LtxFileWriter::LtxFileWriter(env::Env* env, std::string path, bool compress)
    : env_(env), path_(std::move(path)), compress_(compress), tmp_path_(path_ + ".tmp") {}

LtxFileWriter::~LtxFileWriter() {
  if (!done_) Abandon();
}

Status LtxFileWriter::Begin(const ltx::Header& header) {
  WALSHIP_ASSIGN_OR_RETURN(file_, env_->Open(tmp_path_, env::OpenMode::kCreateTruncate));
  writer_ = std::make_unique<BufferedWriter>(file_.get());
  encoder_ = std::make_unique<ltx::Encoder>(writer_.get(), compress_);
  return encoder_->EncodeHeader(header).WithContext(path_);
}

Status LtxFileWriter::AddPage(uint32_t pgno, std::span<const uint8_t> page) {
  return encoder_->EncodePage(pgno, page).WithContext(path_);
}

uint64_t LtxFileWriter::last_page_checksum() const { return encoder_->last_page_checksum(); }

Status LtxFileWriter::Finish(uint64_t post_apply_checksum, bool durable) {
  WALSHIP_RETURN_IF_ERROR(encoder_->Finish(post_apply_checksum).WithContext(path_));
  WALSHIP_RETURN_IF_ERROR(writer_->Flush());
  bytes_written_ = encoder_->bytes_written();
  if (durable) WALSHIP_RETURN_IF_ERROR(file_->Sync());
  file_.reset();
  CrashPoint("ltx-before-rename");
  WALSHIP_RETURN_IF_ERROR(env_->Rename(tmp_path_, path_));
  done_ = true;
  if (durable) WALSHIP_RETURN_IF_ERROR(env_->SyncDir(env::DirName(path_)));
  return Status::OK();
}

void LtxFileWriter::Abandon() {
  file_.reset();
  (void)env_->Remove(tmp_path_);
  done_ = true;
}

Result<uint64_t> ReadLtxPostChecksum(env::Env* env, const std::string& path) {
  WALSHIP_ASSIGN_OR_RETURN(auto file, env->Open(path, env::OpenMode::kRead));
  WALSHIP_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  if (size < ltx::kHeaderSize + ltx::kTrailerSize) {
    return Status::Corruption(path + ": too short for an LTX file (" + std::to_string(size) +
                              " bytes)");
  }
  uint8_t raw[ltx::kTrailerSize];
  WALSHIP_ASSIGN_OR_RETURN(size_t n, file->ReadAt(size - ltx::kTrailerSize, raw));
  if (n != sizeof raw) return Status::Corruption(path + ": short read of the trailer");
  return ltx::ParseTrailer(std::span<const uint8_t, ltx::kTrailerSize>(raw)).post_apply_checksum;
}

Status SyncNewFiles(env::Env* env, const std::string& dir, const std::vector<std::string>& paths) {
  if (paths.empty()) return Status::OK();
  if (paths.size() > kSyncEachUpTo) return env->SyncFileSystem(dir);
  for (const std::string& path : paths) {
    WALSHIP_ASSIGN_OR_RETURN(auto file, env->Open(path, env::OpenMode::kRead));
    WALSHIP_RETURN_IF_ERROR(file->Sync().WithContext(path));
  }
  return env->SyncDir(dir);
}

Status VerifyLtxFile(env::Env* env, const std::string& path, ltx::Header* header,
                     ltx::Trailer* trailer) {
  WALSHIP_ASSIGN_OR_RETURN(auto file, env->Open(path, env::OpenMode::kRead));
  ltx::FileReader reader(file.get());
  return ltx::Verify(&reader, header, trailer).WithContext(path);
}

}  // namespace walship::store
