#include "job/lexical_path.h"

namespace shoal {

std::vector<std::string_view> SplitComponents(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t slash = path.find('/', i);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > i) parts.push_back(path.substr(i, slash - i));
    i = slash + 1;
  }
  return parts;
}

std::vector<std::string_view> NormalComponents(std::string_view path) {
  std::vector<std::string_view> parts;
  for (std::string_view c : SplitComponents(path)) {
    if (c == ".") continue;
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(c);
  }
  return parts;
}

std::string JoinComponents(const std::vector<std::string_view>& parts, size_t begin, size_t end) {
  std::string s;
  for (size_t i = begin; i < end; ++i) {
    if (i > begin) s += '/';
    s += parts[i];
  }
  return s;
}

}  // namespace shoal
