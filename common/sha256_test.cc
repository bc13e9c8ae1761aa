#include "common/sha256.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>

namespace shoal {
namespace {

std::string Hex(const Sha256Digest& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : d) {
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

// FIPS 180-4's examples (NIST CSRC "SHA256.pdf") and the empty string.
TEST(Sha256, KnownAnswers) {
  EXPECT_EQ(Hex(Sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Hex(Sha256(std::string(1000000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// Every length across the padding's edges (55, 56, 63, 64 bytes in the last
// block) and a few blocks, against OpenSSL's digest of the same bytes.
TEST(Sha256, SameAsOpenSslAtEveryLengthUpTo300) {
  std::string bytes;
  for (int n = 0; n <= 300; ++n) {
    unsigned char want[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    ASSERT_EQ(EVP_Digest(bytes.data(), bytes.size(), want, &size, EVP_sha256(), nullptr), 1);
    ASSERT_EQ(size, 32u);
    Sha256Digest got = Sha256(bytes);
    EXPECT_EQ(std::string(got.begin(), got.end()), std::string(want, want + 32)) << "length " << n;
    bytes.push_back(static_cast<char>(n * 37 + 11));
  }
}

}  // namespace
}  // namespace shoal
