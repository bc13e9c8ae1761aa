#include "job/output_claim.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "common/sha256.h"

namespace shoal {
namespace {

// "claims/" + "XX/" + 30 more hex digits: 128 bits of the {rel}'s SHA-256.
// At 500 million items, two {rel}s share a name with a chance of about
// 10^-21; the first two digits spread the links over 256 directories.
std::string ClaimPath(std::string_view rel) {
  const Sha256Digest digest = Sha256(rel);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string path;
  path.reserve(33);
  for (int i = 0; i < 16; ++i) {
    path.push_back(kHex[digest[i] >> 4]);
    path.push_back(kHex[digest[i] & 15]);
    if (i == 0) path.push_back('/');
  }
  return path;
}

}  // namespace

Result<OutputClaims> OutputClaims::Open(const std::string& run_dir) {
  const std::string where = run_dir + "/claims";
  if (::mkdir(where.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::FromErrno("cannot create " + where, errno);
  }
  UniqueFd dir(::open(where.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid()) return Status::FromErrno("cannot open " + where, errno);
  return OutputClaims(std::move(dir));
}

Status OutputClaims::Claim(std::string_view rel, uint64_t index) {
  const std::string path = ClaimPath(rel);
  const std::string target = std::to_string(index);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (::symlinkat(target.c_str(), dir_.get(), path.c_str()) == 0) return Status::Ok();
    if (errno != ENOENT || attempt > 0) break;
    // The first claim in its directory: make it, then try once more.
    if (::mkdirat(dir_.get(), path.substr(0, 2).c_str(), 0700) != 0 && errno != EEXIST) break;
  }
  if (errno != EEXIST) return Status::FromErrno("cannot claim {rel} " + std::string(rel), errno);
  char owner[32];
  const ssize_t n = ::readlinkat(dir_.get(), path.c_str(), owner, sizeof owner);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof owner) {
    return Status::Error("claims/" + path + " is not a claim: remove it");
  }
  uint64_t owner_index = 0;
  const auto [end, ec] = std::from_chars(owner, owner + n, owner_index);
  if (ec != std::errc() || end != owner + n) {
    return Status::Error("claims/" + path + " is not a claim: remove it");
  }
  if (owner_index == index) return Status::Ok();
  return Status::Error("{rel} '" + std::string(rel) + "' is already item " +
                       std::to_string(owner_index) +
                       "'s: two items may not share {out} files; list each path once, "
                       "spelt one way");
}

}  // namespace shoal
