#include "cli/config_problems.h"

#include <algorithm>
#include <utility>

namespace walship::cli::internal {

std::string ConfigProblems::Located(const std::string& source, int line, std::string_view msg) {
  std::string where = source;
  if (line > 0) where += ":" + std::to_string(line);
  return (where.empty() ? "" : where + ": ") + std::string(msg);
}

void ConfigProblems::AddError(int line, std::string text) {
  errors_.push_back({line, std::move(text)});
}

void ConfigProblems::AddWarning(int line, std::string text) {
  warnings_.push_back({line, std::move(text)});
}

std::vector<std::string> ConfigProblems::Sorted(std::vector<Item> items) {
  // Stable: problems on one line keep the order they were found in.
  std::stable_sort(items.begin(), items.end(),
                   [](const Item& a, const Item& b) { return a.line < b.line; });
  std::vector<std::string> out;
  for (Item& item : items) out.push_back(std::move(item.text));
  return out;
}

Status ConfigProblems::ToStatus() const {
  if (errors_.empty()) return Status::OK();
  std::string msg;
  for (const std::string& text : Sorted(errors_)) msg += (msg.empty() ? "" : "\n") + text;
  return Status::InvalidArgument(std::move(msg));
}

std::vector<std::string> ConfigProblems::Warnings() const { return Sorted(warnings_); }

}  // namespace walship::cli::internal
