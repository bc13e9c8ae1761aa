// The `sha256` handler: the SHA-256 of each item's file, in process (OpenSSL
// EVP). Outcome.output is the lowercase hex digest, as sha256sum prints it.
// One 1 MiB buffer and one digest context serve every item of a worker.
// Reasons for a failed item: "not found", "permission denied", "is a
// directory", "not a regular file", "open failed: ...", "read failed: ...",
// "file shrank while being read" (it ended before the size fstat saw; a file
// that grows is hashed up to that size).
#pragma once

#include <memory>

#include "common/status.h"
#include "worker/handler.h"

namespace shoal {

Result<std::unique_ptr<Handler>> MakeSha256Handler(const HandlerContext& context);

}  // namespace shoal
