// SHA-256 (FIPS 180-4) of a byte string, for the digests that name things:
// the settings digest (job/settings_digest.h) and output claims
// (job/output_claim.h). Not the sha256 handler's: that one goes through
// OpenSSL's EVP, which has the CPU's SHA extensions. The master hashes only a
// few short strings a run, and loading libcrypto for them cost it 1-1.5 ms of
// CPU at every start (the library's relocations, its constructor and the
// first EVP fetch), a sixth of a short run's master.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace shoal {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest Sha256(std::string_view bytes);

}  // namespace shoal
