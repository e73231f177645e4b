// FileTarget: an archive in a local (or network-mounted) directory. A key
// maps to the path DIR/KEY; each Put writes KEY.tmp, fsyncs it and renames
// it into place (then fsyncs the directory), so a reader never sees a partial
// object. Thread-safe: every call works on the file system only.
#pragma once

#include <string>

#include "backup/target.h"

namespace walship::backup {

class FileTarget final : public ArchiveTarget {
 public:
  explicit FileTarget(std::string dir);

  Status Put(const std::string& key, const std::string& data) override;
  Result<std::string> Get(const std::string& key) override;
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  Status Delete(const std::string& key) override;
  std::string Describe() const override { return "file://" + dir_; }

 private:
  Status CheckKey(const std::string& key) const;

  std::string dir_;
};

}  // namespace walship::backup
