// Test-only (shoal_test): list items as the master hands them to a template,
// numbered from 1 in a run at /run over the list /in.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/settings.h"
#include "job/item_paths.h"

namespace shoal::test {

inline std::vector<ItemPaths> ListItems(const std::vector<std::string>& names) {
  Settings s;
  s.input.path = "/in";
  std::vector<ItemPaths> items;
  uint64_t index = 0;
  for (const std::string& n : names) {
    items.push_back(MakeItemPaths(s, InputKind::kList, n, ++index, 1, "/run"));
  }
  return items;
}

}  // namespace shoal::test
