#include "harness/temp_dir.h"

#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace walship::testing {
namespace {

std::string BaseDir() {
  for (const char* var : {"WALSHIP_TEST_TMPDIR", "TMPDIR"}) {
    const char* value = std::getenv(var);
    if (value && *value) return value;
  }
  return "/tmp";
}

}  // namespace

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl = BaseDir() + "/" + prefix + "-XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp " + tmpl + " failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  if (const char* keep = std::getenv("WALSHIP_TEST_KEEP_DIRS"); keep && *keep) {
    std::fprintf(stderr, "keeping %s\n", path_.c_str());
    return;
  }
  // A mount left inside (a test that failed before unmounting) must not make
  // the clean-up throw; WalshipProcess detaches its mount before this runs.
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  return bool(out);
}

}  // namespace walship::testing
