// Byte sinks and sources for the LTX encoder and decoder, so a file of any
// size streams through a bounded buffer: to or from memory (StringWriter,
// SpanReader) or an env::File at a starting offset (FileWriter, FileReader).
//
// Thread-safety: none; one object is used by one thread at a time. Every
// borrowed pointer or span must outlive the object that borrows it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"
#include "env/env.h"

namespace walship::ltx {

class Writer {
 public:
  virtual ~Writer() = default;
  // Writes all of `data` or fails.
  virtual Status Write(std::span<const uint8_t> data) = 0;
};

class Reader {
 public:
  virtual ~Reader() = default;
  // Reads up to out.size() bytes; returns how many, 0 only at end of input.
  virtual Result<size_t> Read(std::span<uint8_t> out) = 0;
  // The rest of the input, in place, when it is in memory already: the reader
  // is at its end afterwards. Empty for a reader that must copy (use Read).
  virtual std::span<const uint8_t> TakeInPlace() { return {}; }
};

// Appends to a borrowed string.
class StringWriter final : public Writer {
 public:
  explicit StringWriter(std::string* out) : out_(out) {}
  Status Write(std::span<const uint8_t> data) override;

 private:
  std::string* out_;
};

// Writes to a borrowed file, sequentially from `offset`.
class FileWriter final : public Writer {
 public:
  explicit FileWriter(env::File* file, uint64_t offset = 0) : file_(file), offset_(offset) {}
  Status Write(std::span<const uint8_t> data) override;
  // The offset of the next byte to write.
  uint64_t offset() const { return offset_; }

 private:
  env::File* file_;
  uint64_t offset_;
};

// Reads from borrowed memory.
class SpanReader final : public Reader {
 public:
  explicit SpanReader(std::span<const uint8_t> data) : data_(data) {}
  explicit SpanReader(std::string_view data)
      : data_(reinterpret_cast<const uint8_t*>(data.data()), data.size()) {}
  Result<size_t> Read(std::span<uint8_t> out) override;
  std::span<const uint8_t> TakeInPlace() override;

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

// Reads from a borrowed file, sequentially from `offset` to its end.
class FileReader final : public Reader {
 public:
  explicit FileReader(env::File* file, uint64_t offset = 0) : file_(file), offset_(offset) {}
  Result<size_t> Read(std::span<uint8_t> out) override;
  uint64_t offset() const { return offset_; }

 private:
  env::File* file_;
  uint64_t offset_;
};

}  // namespace walship::ltx
