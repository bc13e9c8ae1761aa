#include "common/status.h"

#include <cstring>

namespace shoal {

Status Status::FromErrno(const std::string& what, int err) {
  return Status(what + ": " + std::strerror(err));
}

}  // namespace shoal
