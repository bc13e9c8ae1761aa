#include "worker/item_log.h"

namespace shoal {

std::string ItemLogPath(const ItemPaths& paths, InputKind kind) {
  if (kind == InputKind::kTree && !paths.rel.empty()) return "logs/" + paths.rel + ".log";
  return "logs/" + std::to_string(paths.index) + ".log";
}

}  // namespace shoal
