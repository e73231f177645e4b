// TempDir: a fresh directory under $WALSHIP_TEST_TMPDIR, $TMPDIR or /tmp,
// removed with everything in it when the object dies — unless
// $WALSHIP_TEST_KEEP_DIRS is set (to look at a failed test's files).
// Thread-compatible.
#pragma once

#include <string>

namespace walship::testing {

class TempDir {
 public:
  // `prefix` starts the directory's name (e.g. "walship-fuse").
  explicit TempDir(const std::string& prefix = "walship-it");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Whole-file helpers for tests; an unreadable file reads as "".
std::string ReadFileOrEmpty(const std::string& path);
// Writes `text` to `path`, replacing it; false on any error.
bool WriteFile(const std::string& path, const std::string& text);

}  // namespace walship::testing
