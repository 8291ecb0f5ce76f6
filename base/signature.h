// Asymmetric signatures on OpenSSL 3 EVP: Ed25519 (RFC 8032, pure),
// ECDSA P-256 with SHA-256 and ECDSA P-384 with SHA-384 (FIPS 186-5).
//
// What this protects: a verified signature shows that the holder of the
// private key signed exactly these message bytes. Verification is strict:
// ECDSA signatures must be DER with no trailing data and no alternative
// (BER) encodings, Ed25519 signatures must be 64 bytes with a canonical S,
// public keys must be on their curve and in canonical SubjectPublicKeyInfo
// form, so one key has exactly one encoding and one KeyId. Any key type other
// than the three above (RSA, P-521, Ed448, ...) is refused with
// InvalidArgument.
//
// What it does not protect: it says nothing about whether a key should be
// trusted (that is the caller's policy, e.g. a TUF root), ECDSA signatures
// remain malleable (s and n - s both verify; compare messages or KeyIds,
// never signature bytes), and ECDSA signing uses OpenSSL's random nonces.
//
// Private keys stay inside OpenSSL's EVP_PKEY (which wipes them on free);
// serialised private keys are handed out only as SecretBytes.
#ifndef ARCA_BASE_SIGNATURE_H_
#define ARCA_BASE_SIGNATURE_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/bytes.h"
#include "base/openssl_util.h"
#include "base/secret_bytes.h"
#include "base/status.h"

namespace arca::crypto {

// KeyType names one supported signature algorithm; the hash is part of the
// type, so a P-256 key is never used with SHA-384 or the reverse.
enum class KeyType {
  kEd25519,          // RFC 8032 Ed25519 (pure, no pre-hash)
  kEcdsaP256Sha256,  // ECDSA over NIST P-256 (secp256r1) with SHA-256
  kEcdsaP384Sha384,  // ECDSA over NIST P-384 (secp384r1) with SHA-384
};

// KeyTypeName returns a stable lower-case name: "ed25519",
// "ecdsa-p256-sha256" or "ecdsa-p384-sha384".
std::string_view KeyTypeName(KeyType type);

// kMaxPemBytes bounds the PEM text FromPem accepts (ResourceExhausted above).
inline constexpr std::size_t kMaxPemBytes = 64 * 1024;

// EcdsaRawToDer converts an IEEE P1363 ECDSA signature r || s (each exactly
// the curve's field size: 32 bytes for P-256, 48 for P-384) into the DER
// SEQUENCE { INTEGER r, INTEGER s } that Verify expects. InvalidArgument for
// Ed25519 or a wrong length. It does not check r and s are in range; Verify
// does.
Result<Bytes> EcdsaRawToDer(KeyType type, ByteSpan raw);

// EcdsaDerToRaw is the inverse: strict DER in, fixed-width r || s out.
// InvalidArgument for Ed25519, non-DER input, trailing bytes, negative
// values or an integer wider than the curve's field size.
Result<Bytes> EcdsaDerToRaw(KeyType type, ByteSpan der);

// PublicKey is a verified-well-formed public key of a supported type.
// Copies share the immutable OpenSSL key. All methods are const and
// thread-safe.
class PublicKey {
 public:
  // FromDer parses a DER SubjectPublicKeyInfo (RFC 5280 §4.1, with RFC 8410
  // for Ed25519 and RFC 5480 for ECDSA). InvalidArgument when it is not
  // DER, has trailing bytes, is not in canonical form (for EC: a named curve
  // and an uncompressed point), the point is not on the curve, or the key
  // type is unsupported (RSA and the like).
  static Result<PublicKey> FromDer(ByteSpan spki_der);

  // FromPem parses one "PUBLIC KEY" PEM block (RFC 7468 §13) holding an
  // SPKI, then applies FromDer's checks. Text before the block is ignored as
  // RFC 7468 allows; anything but whitespace after it is InvalidArgument.
  static Result<PublicKey> FromPem(std::string_view pem);

  // FromRawEd25519 wraps a 32-byte RFC 8032 public key. InvalidArgument for
  // any other length.
  static Result<PublicKey> FromRawEd25519(ByteSpan raw);

  // FromEcPoint builds an ECDSA key from an uncompressed SEC 1 point
  // 0x04 || X || Y (65 bytes for P-256, 97 for P-384), as test vectors and
  // specs publish them. InvalidArgument for Ed25519, a wrong length or
  // form, or a point not on the curve.
  static Result<PublicKey> FromEcPoint(KeyType type, ByteSpan uncompressed_point);

  PublicKey(const PublicKey& other);
  PublicKey& operator=(const PublicKey& other);
  PublicKey(PublicKey&&) noexcept = default;
  PublicKey& operator=(PublicKey&&) noexcept = default;
  ~PublicKey() = default;

  // type is the key's algorithm.
  KeyType type() const { return type_; }

  // ToDer returns the canonical DER SubjectPublicKeyInfo.
  const Bytes& ToDer() const { return spki_der_; }

  // ToPem returns the SPKI as a "PUBLIC KEY" PEM block ending in a newline.
  std::string ToPem() const;

  // RawBytes returns the key as its specs publish it: the 32-byte RFC 8032
  // encoding for Ed25519, the uncompressed SEC 1 point for ECDSA.
  const Bytes& RawBytes() const { return raw_; }

  // KeyId is the lower-case hex SHA-256 of ToDer(): 64 characters, stable
  // across PEM/DER/raw inputs of the same key. Safe to log.
  std::string KeyId() const;

  // Verify checks `signature` over `message`. Ed25519 signs the message
  // itself; ECDSA hashes it with the type's SHA-2 and expects a strict DER
  // signature (convert P1363 r || s with EcdsaRawToDer first). Returns OK or
  // Unauthenticated for every kind of failure (wrong key, altered message,
  // malformed or non-canonical signature); the message names the key type
  // and KeyId, never message bytes.
  [[nodiscard]] Status Verify(ByteSpan message, ByteSpan signature) const;

 private:
  friend class PrivateKey;
  PublicKey(KeyType type, EvpPkeyPtr pkey, Bytes spki_der, Bytes raw)
      : type_(type), pkey_(std::move(pkey)), spki_der_(std::move(spki_der)), raw_(std::move(raw)) {}
  // FromPkey takes ownership of a parsed or generated key, classifies it and
  // computes its canonical encodings.
  static Result<PublicKey> FromPkey(EvpPkeyPtr pkey);

  KeyType type_;
  EvpPkeyPtr pkey_;
  Bytes spki_der_;
  Bytes raw_;
};

// PrivateKey holds a signing key of a supported type together with its
// public key. Move-only; Sign and the accessors are const and thread-safe.
class PrivateKey {
 public:
  // Generate makes a fresh key from OpenSSL's CSPRNG. Internal if OpenSSL
  // fails.
  static Result<PrivateKey> Generate(KeyType type);

  // FromPem parses one PKCS#8 PEM block (RFC 5958, RFC 7468 §10/§11):
  // "PRIVATE KEY", or "ENCRYPTED PRIVATE KEY" together with `passphrase`.
  // Legacy formats ("EC PRIVATE KEY", Proc-Type headers) are refused.
  // Codes: InvalidArgument for malformed input, an unsupported key type, a
  // key whose embedded public half does not match, a missing passphrase for
  // an encrypted key or a passphrase given for an unencrypted one;
  // Unauthenticated when the passphrase is wrong (or the ciphertext was
  // altered); ResourceExhausted above kMaxPemBytes. The caller owns and
  // wipes `pem` and `passphrase`.
  static Result<PrivateKey> FromPem(std::string_view pem,
                                    std::optional<std::string_view> passphrase = std::nullopt);

  // FromRawEd25519Seed builds an Ed25519 key from its 32-byte RFC 8032
  // secret (the seed, as in RFC 8032 §7.1 "SECRET KEY"). InvalidArgument for
  // another length. The caller wipes `seed`.
  static Result<PrivateKey> FromRawEd25519Seed(ByteSpan seed);

  PrivateKey(PrivateKey&&) noexcept = default;
  PrivateKey& operator=(PrivateKey&&) noexcept = default;
  PrivateKey(const PrivateKey&) = delete;
  PrivateKey& operator=(const PrivateKey&) = delete;
  ~PrivateKey() = default;

  // ToPem writes PKCS#8 PEM. Without a passphrase the block is
  // "PRIVATE KEY" (plaintext: store it only where the key may be read).
  // With one it is "ENCRYPTED PRIVATE KEY": PBES2 (RFC 8018) with scrypt
  // (RFC 7914, N = 2^14, r = 8, p = 1, random 16-byte salt) and
  // AES-256-CBC, readable by `openssl pkey`. InvalidArgument for an empty
  // passphrase; Internal if OpenSSL fails.
  Result<SecretBytes> ToPem(std::optional<std::string_view> passphrase = std::nullopt) const;

  // Sign signs `message`: Ed25519 pure (deterministic), or ECDSA with the
  // type's hash and a random nonce, returned as DER (EcdsaDerToRaw converts
  // it for formats that want r || s). Internal if OpenSSL fails.
  Result<Bytes> Sign(ByteSpan message) const;

  // type is the key's algorithm.
  KeyType type() const { return public_key_.type(); }

  // public_key is the matching verification key.
  const PublicKey& public_key() const { return public_key_; }

 private:
  PrivateKey(EvpPkeyPtr pkey, PublicKey public_key)
      : pkey_(std::move(pkey)), public_key_(std::move(public_key)) {}
  // FromPkey classifies a private key, checks its halves match and derives
  // the public key.
  static Result<PrivateKey> FromPkey(EvpPkeyPtr pkey);

  EvpPkeyPtr pkey_;
  PublicKey public_key_;
};

}  // namespace arca::crypto

#endif  // ARCA_BASE_SIGNATURE_H_
