#include "common/status.h"

#include <cstring>

namespace shoal {

Status Status::FromErrno(const std::string& what, int err, StatusCode code) {
  return Status(code == StatusCode::kOk ? StatusCode::kIo : code, what + ": " + std::strerror(err));
}

}  // namespace shoal
