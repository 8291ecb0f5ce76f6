// X25519 (RFC 7748) and HPKE (RFC 9180) for one KEM and KDF:
// DHKEM(X25519, HKDF-SHA256) and HKDF-SHA256, with AES-128-GCM or
// AES-256-GCM, in mode_base and mode_psk.
//
// What HPKE protects: a sender who knows the recipient's public key can
// encrypt messages only the holder of the matching private key can read,
// and any change to a ciphertext, its AAD, `info` or `enc` makes Open fail.
// Messages inside one context are ordered: each uses the next nonce, so
// reordering, dropping or replaying them across positions is detected. In
// psk mode the recipient also learns the sender knew the PSK.
//
// What it does not protect: base mode does not authenticate the sender
// (anyone can encrypt to a public key; sign the payload if that matters), it
// hides message lengths from no one, and a recipient context does not
// detect a truncated stream (the caller frames the last message). The
// deterministic setup (SetupSenderWithIkmE) exists for the RFC's test
// vectors; reusing an ikmE with another recipient or message breaks
// confidentiality.
//
// Private keys and every derived secret are held in SecretBytes and wiped;
// intermediates are wiped before returning. The composition uses
// base/crypto.h (HKDF, AES-GCM) and OpenSSL's X25519; nothing is
// hand-rolled.
#ifndef ARCA_BASE_HPKE_H_
#define ARCA_BASE_HPKE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "base/status.h"

namespace arca::crypto {

inline constexpr std::size_t kX25519KeySize = 32;

// X25519KeyPair is a private scalar (32 bytes, as RFC 7748 §5 stores it,
// unclamped) and its public u-coordinate.
struct X25519KeyPair {
  SecretBytes private_key;
  std::array<std::uint8_t, kX25519KeySize> public_key{};
};

// X25519GenerateKeyPair makes a key pair from OpenSSL's CSPRNG. Internal if
// OpenSSL fails.
Result<X25519KeyPair> X25519GenerateKeyPair();

// X25519PublicFromPrivate computes X25519(private_key, 9) (RFC 7748 §6.1).
// InvalidArgument unless private_key is 32 bytes.
Result<std::array<std::uint8_t, kX25519KeySize>> X25519PublicFromPrivate(ByteSpan private_key);

// X25519 computes the shared secret X25519(private_key, peer_public) (RFC
// 7748 §5; a non-canonical u-coordinate is reduced as §5 says).
// InvalidArgument for wrong sizes, and when the result is all zero, i.e.
// the peer sent a small-order point: RFC 7748 §6.1 and RFC 9180 §7.1.4
// require aborting then.
Result<SecretBytes> X25519(ByteSpan private_key, ByteSpan peer_public);

}  // namespace arca::crypto

namespace arca::hpke {

// Aead is the HPKE AEAD identifier (RFC 9180 §7.3).
enum class Aead : std::uint16_t {
  kAes128Gcm = 0x0001,
  kAes256Gcm = 0x0002,
};

// Mode is the HPKE mode (RFC 9180 §5). The auth modes are not supported.
enum class Mode : std::uint8_t {
  kBase = 0x00,
  kPsk = 0x01,
};

inline constexpr std::uint16_t kKemId = 0x0020;  // DHKEM(X25519, HKDF-SHA256)
inline constexpr std::uint16_t kKdfId = 0x0001;  // HKDF-SHA256
inline constexpr std::size_t kEncSize = 32;      // Nenc
inline constexpr std::size_t kNonceSize = 12;    // Nn
inline constexpr std::size_t kTagSize = 16;      // Nt
inline constexpr std::size_t kHashSize = 32;     // Nh, also Nsecret
inline constexpr std::size_t kMinPskSize = 32;   // RFC 9180 §5.1.2: >= 32 bytes of entropy

// KeySize is Nk: 16 for AES-128-GCM, 32 for AES-256-GCM.
std::size_t KeySize(Aead aead);

// Psk is the pre-shared key and its identifier for mode_psk. Both must be
// non-empty and psk at least kMinPskSize bytes. The caller owns the bytes.
struct Psk {
  ByteSpan psk;
  ByteSpan psk_id;
};

// ------------------------------------------------------------ Building blocks

// KemSuiteId is "KEM" || I2OSP(kem_id, 2) (RFC 9180 §4.1).
Bytes KemSuiteId();

// HpkeSuiteId is "HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) ||
// I2OSP(aead_id, 2) (RFC 9180 §5.1).
Bytes HpkeSuiteId(Aead aead);

// LabeledExtract is RFC 9180 §4: Extract(salt, "HPKE-v1" || suite_id ||
// label || ikm). The labeled IKM buffer is wiped.
SecretBytes LabeledExtract(ByteSpan suite_id, ByteSpan salt, std::string_view label, ByteSpan ikm);

// LabeledExpand is RFC 9180 §4: Expand(prk, I2OSP(length, 2) || "HPKE-v1"
// || suite_id || label || info, length). InvalidArgument when length exceeds
// 255 * Nh.
Result<SecretBytes> LabeledExpand(ByteSpan suite_id, ByteSpan prk, std::string_view label, ByteSpan info,
                                  std::size_t length);

// DeriveKeyPair is RFC 9180 §7.1.3 for X25519: a key pair derived from
// `ikm`, which must carry at least 32 bytes of entropy. InvalidArgument for
// an empty ikm.
Result<crypto::X25519KeyPair> DeriveKeyPair(ByteSpan ikm);

// Encapsulation is Encap's output: the KEM shared secret and `enc`, the
// serialised ephemeral public key the recipient needs.
struct Encapsulation {
  SecretBytes shared_secret;
  Bytes enc;
};

// Encap is DHKEM Encap (RFC 9180 §4.1) with a fresh ephemeral key.
// InvalidArgument for a recipient key that is not 32 bytes or is a
// small-order point.
Result<Encapsulation> Encap(ByteSpan pk_r);

// EncapWithIkmE is Encap with the ephemeral key DeriveKeyPair(ikm_e), so
// the output is deterministic (RFC 9180 Appendix A vectors). Never reuse an
// ikm_e.
Result<Encapsulation> EncapWithIkmE(ByteSpan pk_r, ByteSpan ikm_e);

// Decap is DHKEM Decap (RFC 9180 §4.1). InvalidArgument when enc or sk_r is
// not 32 bytes or enc is a small-order point.
Result<SecretBytes> Decap(ByteSpan enc, ByteSpan sk_r);

// KeySchedule holds KeySchedule's outputs (RFC 9180 §5.1), exposed for the
// known-answer tests; normal callers use the Setup functions.
struct KeySchedule {
  Mode mode = Mode::kBase;
  Aead aead = Aead::kAes128Gcm;
  Bytes key_schedule_context;
  SecretBytes secret;
  SecretBytes key;
  Bytes base_nonce;
  SecretBytes exporter_secret;
};

// DeriveKeySchedule runs RFC 9180 §5.1 KeySchedule for mode_base (no psk)
// or mode_psk. InvalidArgument when shared_secret is not Nsecret bytes or
// the psk inputs break §5.1's VerifyPSKInputs or the 32-byte minimum.
Result<KeySchedule> DeriveKeySchedule(Aead aead, ByteSpan shared_secret, ByteSpan info,
                                      const std::optional<Psk>& psk);

// ------------------------------------------------------------------- Contexts

// Context is the state shared by sender and recipient contexts (RFC 9180
// §5.2): the AEAD key, base nonce, exporter secret and sequence number.
// Move-only; not thread-safe (Seal/Open advance the sequence number).
class Context {
 public:
  Context(Context&&) noexcept = default;
  Context& operator=(Context&&) noexcept = default;

  // Export is RFC 9180 §5.3: LabeledExpand(exporter_secret, "sec",
  // exporter_context, length). InvalidArgument above 255 * Nh bytes.
  Result<SecretBytes> Export(ByteSpan exporter_context, std::size_t length) const;

  // ComputeNonce is base_nonce XOR I2OSP(seq, Nn) (RFC 9180 §5.2).
  std::array<std::uint8_t, kNonceSize> ComputeNonce(std::uint64_t seq) const;

  // sequence_number is the seq the next Seal/Open uses.
  std::uint64_t sequence_number() const { return seq_; }

  // aead is the context's AEAD.
  Aead aead() const { return aead_; }

  // SetSequenceNumberForTesting lets tests reach the message limit. Using
  // it outside tests risks nonce reuse.
  void SetSequenceNumberForTesting(std::uint64_t seq) { seq_ = seq; }

 protected:
  explicit Context(KeySchedule schedule);
  // CheckSequence refuses to proceed once the sequence number cannot be
  // incremented (RFC 9180 §5.2 MessageLimitReachedError).
  Status CheckSequence() const;

  Aead aead_;
  SecretBytes key_;
  Bytes base_nonce_;
  SecretBytes exporter_secret_;
  std::uint64_t seq_ = 0;
};

// SenderContext encrypts a sequence of messages to one recipient.
class SenderContext : public Context {
 public:
  // Seal encrypts `plaintext` with `aad` under the next nonce and returns
  // ciphertext || tag. ResourceExhausted once the sequence number is
  // exhausted (the context must then be discarded); the sequence number
  // advances only on success.
  Result<Bytes> Seal(ByteSpan aad, ByteSpan plaintext);

  // enc is the encapsulated key to send with the ciphertexts.
  const Bytes& enc() const { return enc_; }

 private:
  friend Result<SenderContext> SetupSender(Aead, ByteSpan, ByteSpan, const std::optional<Psk>&);
  friend Result<SenderContext> SetupSenderWithIkmE(Aead, ByteSpan, ByteSpan, ByteSpan,
                                                   const std::optional<Psk>&);
  SenderContext(KeySchedule schedule, Bytes enc) : Context(std::move(schedule)), enc_(std::move(enc)) {}
  Bytes enc_;
};

// RecipientContext decrypts the sender's messages in order.
class RecipientContext : public Context {
 public:
  // Open verifies and decrypts ciphertext || tag with `aad` under the next
  // nonce. Unauthenticated when the tag does not verify (wrong key, order,
  // aad or altered bytes); the sequence number then stays put, so the next
  // genuine message still opens. ResourceExhausted when the sequence number
  // is exhausted.
  Result<SecretBytes> Open(ByteSpan aad, ByteSpan ciphertext);

 private:
  friend Result<RecipientContext> SetupRecipient(Aead, ByteSpan, ByteSpan, ByteSpan, const std::optional<Psk>&);
  explicit RecipientContext(KeySchedule schedule) : Context(std::move(schedule)) {}
};

// SetupSender is RFC 9180 §5.1.1 SetupBaseS (psk absent) or §5.1.2
// SetupPSKS (psk given), with a fresh ephemeral key. InvalidArgument for a
// malformed or small-order recipient key or bad psk inputs.
Result<SenderContext> SetupSender(Aead aead, ByteSpan pk_r, ByteSpan info,
                                  const std::optional<Psk>& psk = std::nullopt);

// SetupSenderWithIkmE is SetupSender with the ephemeral key derived from
// ikm_e (deterministic, for known-answer tests). Never reuse an ikm_e.
Result<SenderContext> SetupSenderWithIkmE(Aead aead, ByteSpan pk_r, ByteSpan info, ByteSpan ikm_e,
                                          const std::optional<Psk>& psk = std::nullopt);

// SetupRecipient is SetupBaseR / SetupPSKR. InvalidArgument for malformed
// inputs or a small-order enc. A wrong key or psk is not detected here: the
// first Open fails with Unauthenticated instead.
Result<RecipientContext> SetupRecipient(Aead aead, ByteSpan enc, ByteSpan sk_r, ByteSpan info,
                                        const std::optional<Psk>& psk = std::nullopt);

// ------------------------------------------------------------ Single-shot API

// Sealed is a single-shot ciphertext and the enc to send with it.
struct Sealed {
  Bytes enc;
  Bytes ciphertext;
};

// Seal is RFC 9180 §6.1 SealBase / SealPSK: setup plus one Seal.
Result<Sealed> Seal(Aead aead, ByteSpan pk_r, ByteSpan info, ByteSpan aad, ByteSpan plaintext,
                    const std::optional<Psk>& psk = std::nullopt);

// Open is RFC 9180 §6.1 OpenBase / OpenPSK: setup plus one Open.
// Unauthenticated when anything was altered or the key or psk is wrong.
Result<SecretBytes> Open(Aead aead, ByteSpan enc, ByteSpan sk_r, ByteSpan info, ByteSpan aad,
                         ByteSpan ciphertext, const std::optional<Psk>& psk = std::nullopt);

}  // namespace arca::hpke

#endif  // ARCA_BASE_HPKE_H_
