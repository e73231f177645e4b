// Internal to walship_config: everything wrong with one config file, gathered
// so that a single run reports all of it (DESIGN.md §1.3).
//
// Errors fail the load; warnings name LiteFS keys that walship accepts but
// does not act on. Each message is complete ("litefs.yml:7: proxy.debug:
// ..."); the line is kept apart only to sort the messages into file order.
//
// Thread-safety: a plain value; no shared state.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace walship::cli::internal {

class ConfigProblems {
 public:
  // "<source>:<line>: <msg>"; without ":<line>" when line <= 0, and without
  // the source when it is empty.
  static std::string Located(const std::string& source, int line, std::string_view msg);

  // `line` is 1-based, 0 when unknown; `text` is the whole message.
  void AddError(int line, std::string text);
  void AddWarning(int line, std::string text);

  bool has_errors() const { return !errors_.empty(); }
  // OK without errors; else one InvalidArgument holding every error, one a
  // line, in file order.
  Status ToStatus() const;
  // The warnings, in file order.
  std::vector<std::string> Warnings() const;

 private:
  struct Item {
    int line;
    std::string text;
  };
  static std::vector<std::string> Sorted(std::vector<Item> items);

  std::vector<Item> errors_;
  std::vector<Item> warnings_;
};

}  // namespace walship::cli::internal
