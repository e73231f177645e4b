#include "ltx/io.h"

#include <algorithm>
#include <cstring>

namespace walship::ltx {

Status StringWriter::Write(std::span<const uint8_t> data) {
  out_->append(reinterpret_cast<const char*>(data.data()), data.size());
  return Status::OK();
}

Status FileWriter::Write(std::span<const uint8_t> data) {
  WALSHIP_RETURN_IF_ERROR(file_->WriteAt(offset_, data));
  offset_ += data.size();
  return Status::OK();
}

Result<size_t> SpanReader::Read(std::span<uint8_t> out) {
  size_t n = std::min(out.size(), data_.size() - pos_);
  if (n > 0) std::memcpy(out.data(), data_.data() + pos_, n);
  pos_ += n;
  return n;
}

std::span<const uint8_t> SpanReader::TakeInPlace() {
  std::span<const uint8_t> rest = data_.subspan(pos_);
  pos_ = data_.size();
  return rest;
}

Result<size_t> FileReader::Read(std::span<uint8_t> out) {
  WALSHIP_ASSIGN_OR_RETURN(size_t n, file_->ReadAt(offset_, out));
  offset_ += n;
  return n;
}

}  // namespace walship::ltx
