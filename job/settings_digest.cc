#include "job/settings_digest.h"

#include "common/sha256.h"

namespace shoal {

std::string SettingsDigest(std::string_view settings_toml) {
  const Sha256Digest digest = Sha256(settings_toml);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * digest.size());
  for (uint8_t b : digest) {
    hex += kHex[b >> 4];
    hex += kHex[b & 15];
  }
  return hex;
}

}  // namespace shoal
