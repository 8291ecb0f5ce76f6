// Symmetric primitives on OpenSSL 3 EVP: SHA-2, HMAC-SHA256, HKDF-SHA256
// (RFC 5869), AES-GCM and the system CSPRNG.
//
// These are thin, allocation-light wrappers; they add no protocol of their
// own. AEAD open writes plaintext only after the tag verifies and wipes the
// output buffer on failure. Allocation failures inside OpenSSL abort (there
// is no useful recovery). All functions are thread-safe.
#ifndef ARCA_BASE_CRYPTO_H_
#define ARCA_BASE_CRYPTO_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "base/bytes.h"
#include "base/openssl_util.h"
#include "base/secret_bytes.h"
#include "base/status.h"

namespace arca::crypto {

inline constexpr std::size_t kSha256Size = 32;
using Sha256Digest = std::array<std::uint8_t, kSha256Size>;

// Sha256 is a streaming SHA-256. Not thread-safe per instance.
class Sha256 {
 public:
  Sha256();
  void Update(ByteSpan data);
  // Finish returns the digest; the object must not be used afterwards.
  Sha256Digest Finish();
  // Hash is the one-shot form.
  static Sha256Digest Hash(ByteSpan data);

 private:
  EvpMdCtxPtr ctx_;
};

// Sha384 / Sha512: one-shot digests (48 / 64 bytes).
Bytes Sha384(ByteSpan data);
Bytes Sha512(ByteSpan data);

// HmacSha256 computes HMAC-SHA256(key, data) (RFC 2104).
Sha256Digest HmacSha256(ByteSpan key, ByteSpan data);

// HkdfSha256Extract is RFC 5869 §2.2: PRK = HMAC-SHA256(salt, ikm); an empty
// salt means 32 zero bytes.
SecretBytes HkdfSha256Extract(ByteSpan salt, ByteSpan ikm);
// HkdfSha256Expand is RFC 5869 §2.3. InvalidArgument when length exceeds
// 255 * 32 or the PRK is shorter than 32 bytes.
Result<SecretBytes> HkdfSha256Expand(ByteSpan prk, ByteSpan info, std::size_t length);
// HkdfSha256 is Extract then Expand.
Result<SecretBytes> HkdfSha256(ByteSpan ikm, ByteSpan salt, ByteSpan info, std::size_t length);

inline constexpr std::size_t kAesGcmNonceSize = 12;
inline constexpr std::size_t kAesGcmTagSize = 16;

// AesGcmSeal encrypts `plaintext` with AES-GCM under a 16- or 32-byte key and
// a 12-byte nonce, writing ciphertext || 16-byte tag into `out`, which must
// be exactly plaintext.size() + 16 bytes. The caller owns nonce uniqueness.
// InvalidArgument on wrong key, nonce or output sizes.
Status AesGcmSeal(ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan plaintext,
                  std::span<std::uint8_t> out);

// AesGcmOpen verifies and decrypts ciphertext || tag into `out` (exactly
// ciphertext_and_tag.size() - 16 bytes). Unauthenticated when the tag does
// not verify; `out` is then zeroed, so no unauthenticated plaintext escapes.
Status AesGcmOpen(ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan ciphertext_and_tag,
                  std::span<std::uint8_t> out);

// RandomBytes fills `out` from OpenSSL's CSPRNG; aborts if it fails (a
// process without randomness must not continue to make keys).
void RandomBytes(std::span<std::uint8_t> out);

}  // namespace arca::crypto

#endif  // ARCA_BASE_CRYPTO_H_
