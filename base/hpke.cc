#include "base/hpke.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <utility>

#include "base/crypto.h"
#include "base/openssl_util.h"

namespace arca::crypto {
namespace {

Result<EvpPkeyPtr> X25519PrivateKey(ByteSpan private_key) {
  if (private_key.size() != kX25519KeySize) {
    return InvalidArgumentError("X25519 private key must be 32 bytes, got " + std::to_string(private_key.size()));
  }
  EvpPkeyPtr pkey(
      EVP_PKEY_new_raw_private_key_ex(nullptr, "X25519", nullptr, private_key.data(), private_key.size()));
  if (!pkey) return OpenSslError(StatusCode::kInternal, "X25519 private key");
  return pkey;
}

Result<std::array<std::uint8_t, kX25519KeySize>> RawPublic(EVP_PKEY* pkey) {
  std::array<std::uint8_t, kX25519KeySize> pub{};
  std::size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(pkey, pub.data(), &len) != 1 || len != pub.size()) {
    return OpenSslError(StatusCode::kInternal, "X25519 public key");
  }
  return pub;
}

}  // namespace

Result<X25519KeyPair> X25519GenerateKeyPair() {
  EvpPkeyPtr pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
  if (!pkey) return OpenSslError(StatusCode::kInternal, "X25519 key generation");
  X25519KeyPair pair;
  pair.private_key = SecretBytes(kX25519KeySize);
  std::size_t len = kX25519KeySize;
  if (EVP_PKEY_get_raw_private_key(pkey.get(), pair.private_key.ExposeMutable().data(), &len) != 1 ||
      len != kX25519KeySize) {
    return OpenSslError(StatusCode::kInternal, "X25519 private key export");
  }
  ARCA_ASSIGN_OR_RETURN(pair.public_key, RawPublic(pkey.get()));
  return pair;
}

Result<std::array<std::uint8_t, kX25519KeySize>> X25519PublicFromPrivate(ByteSpan private_key) {
  ARCA_ASSIGN_OR_RETURN(EvpPkeyPtr pkey, X25519PrivateKey(private_key));
  return RawPublic(pkey.get());
}

Result<SecretBytes> X25519(ByteSpan private_key, ByteSpan peer_public) {
  if (peer_public.size() != kX25519KeySize) {
    return InvalidArgumentError("X25519 public key must be 32 bytes, got " + std::to_string(peer_public.size()));
  }
  ARCA_ASSIGN_OR_RETURN(EvpPkeyPtr pkey, X25519PrivateKey(private_key));
  EvpPkeyPtr peer(EVP_PKEY_new_raw_public_key_ex(nullptr, "X25519", nullptr, peer_public.data(), peer_public.size()));
  if (!peer) return OpenSslError(StatusCode::kInternal, "X25519 peer key");
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1) {
    return OpenSslError(StatusCode::kInternal, "X25519 derive setup");
  }
  SecretBytes shared(kX25519KeySize);
  std::size_t len = shared.size();
  // OpenSSL itself fails the derivation when the result is all zero; the
  // explicit check below keeps that guarantee independent of the provider.
  int rc = EVP_PKEY_derive(ctx.get(), shared.ExposeMutable().data(), &len);
  static const std::uint8_t kZero[kX25519KeySize] = {};
  if (rc != 1 || len != kX25519KeySize || ConstantTimeEquals(shared.Expose(), ByteSpan(kZero, sizeof kZero))) {
    ERR_clear_error();
    return InvalidArgumentError("X25519 peer public key is a small-order point (all-zero shared secret)");
  }
  return shared;
}

}  // namespace arca::crypto

namespace arca::hpke {
namespace {

constexpr std::string_view kVersionLabel = "HPKE-v1";

void AppendU16(Bytes& out, std::uint16_t v) {
  out.push_back(std::uint8_t(v >> 8));
  out.push_back(std::uint8_t(v));
}

void Append(Bytes& out, ByteSpan b) { out.insert(out.end(), b.begin(), b.end()); }

// Put copies `b` into `out` at `offset` and returns the offset after it.
std::size_t Put(std::span<std::uint8_t> out, std::size_t offset, ByteSpan b) {
  std::copy(b.begin(), b.end(), out.begin() + std::ptrdiff_t(offset));
  return offset + b.size();
}

// ExtractAndExpand is RFC 9180 §4.1: eae_prk from the DH output, then the
// KEM shared secret bound to kem_context = enc || pkRm.
Result<SecretBytes> ExtractAndExpand(ByteSpan dh, ByteSpan kem_context) {
  Bytes suite_id = KemSuiteId();
  SecretBytes eae_prk = LabeledExtract(suite_id, {}, "eae_prk", dh);
  return LabeledExpand(suite_id, eae_prk.Expose(), "shared_secret", kem_context, kHashSize);
}

Result<Encapsulation> EncapWithKeyPair(ByteSpan pk_r, const crypto::X25519KeyPair& ephemeral) {
  if (pk_r.size() != kEncSize) {
    return InvalidArgumentError("HPKE recipient public key must be 32 bytes, got " + std::to_string(pk_r.size()));
  }
  ARCA_ASSIGN_OR_RETURN(SecretBytes dh, crypto::X25519(ephemeral.private_key.Expose(), pk_r));
  Encapsulation out;
  out.enc.assign(ephemeral.public_key.begin(), ephemeral.public_key.end());
  Bytes kem_context = out.enc;
  Append(kem_context, pk_r);
  ARCA_ASSIGN_OR_RETURN(out.shared_secret, ExtractAndExpand(dh.Expose(), kem_context));
  return out;
}

}  // namespace

std::size_t KeySize(Aead aead) { return aead == Aead::kAes128Gcm ? 16 : 32; }

Bytes KemSuiteId() {
  Bytes id = {'K', 'E', 'M'};
  AppendU16(id, kKemId);
  return id;
}

Bytes HpkeSuiteId(Aead aead) {
  Bytes id = {'H', 'P', 'K', 'E'};
  AppendU16(id, kKemId);
  AppendU16(id, kKdfId);
  AppendU16(id, std::uint16_t(aead));
  return id;
}

SecretBytes LabeledExtract(ByteSpan suite_id, ByteSpan salt, std::string_view label, ByteSpan ikm) {
  // The labeled IKM contains the secret IKM, so it lives in SecretBytes.
  SecretBytes labeled_ikm(kVersionLabel.size() + suite_id.size() + label.size() + ikm.size());
  auto buf = labeled_ikm.ExposeMutable();
  std::size_t at = Put(buf, 0, AsBytes(kVersionLabel));
  at = Put(buf, at, suite_id);
  at = Put(buf, at, AsBytes(label));
  Put(buf, at, ikm);
  return crypto::HkdfSha256Extract(salt, labeled_ikm.Expose());
}

Result<SecretBytes> LabeledExpand(ByteSpan suite_id, ByteSpan prk, std::string_view label, ByteSpan info,
                                  std::size_t length) {
  if (length > 255 * kHashSize) {
    return InvalidArgumentError("HPKE LabeledExpand length " + std::to_string(length) + " exceeds 255*Nh");
  }
  Bytes labeled_info;
  labeled_info.reserve(2 + kVersionLabel.size() + suite_id.size() + label.size() + info.size());
  AppendU16(labeled_info, std::uint16_t(length));
  Append(labeled_info, AsBytes(kVersionLabel));
  Append(labeled_info, suite_id);
  Append(labeled_info, AsBytes(label));
  Append(labeled_info, info);
  return crypto::HkdfSha256Expand(prk, labeled_info, length);
}

Result<crypto::X25519KeyPair> DeriveKeyPair(ByteSpan ikm) {
  if (ikm.empty()) return InvalidArgumentError("HPKE DeriveKeyPair needs non-empty ikm");
  Bytes suite_id = KemSuiteId();
  SecretBytes dkp_prk = LabeledExtract(suite_id, {}, "dkp_prk", ikm);
  crypto::X25519KeyPair pair;
  ARCA_ASSIGN_OR_RETURN(pair.private_key, LabeledExpand(suite_id, dkp_prk.Expose(), "sk", {}, crypto::kX25519KeySize));
  ARCA_ASSIGN_OR_RETURN(pair.public_key, crypto::X25519PublicFromPrivate(pair.private_key.Expose()));
  return pair;
}

Result<Encapsulation> Encap(ByteSpan pk_r) {
  ARCA_ASSIGN_OR_RETURN(crypto::X25519KeyPair ephemeral, crypto::X25519GenerateKeyPair());
  return EncapWithKeyPair(pk_r, ephemeral);
}

Result<Encapsulation> EncapWithIkmE(ByteSpan pk_r, ByteSpan ikm_e) {
  ARCA_ASSIGN_OR_RETURN(crypto::X25519KeyPair ephemeral, DeriveKeyPair(ikm_e));
  return EncapWithKeyPair(pk_r, ephemeral);
}

Result<SecretBytes> Decap(ByteSpan enc, ByteSpan sk_r) {
  if (enc.size() != kEncSize) {
    return InvalidArgumentError("HPKE enc must be 32 bytes, got " + std::to_string(enc.size()));
  }
  ARCA_ASSIGN_OR_RETURN(SecretBytes dh, crypto::X25519(sk_r, enc));
  ARCA_ASSIGN_OR_RETURN(auto pk_rm, crypto::X25519PublicFromPrivate(sk_r));
  Bytes kem_context(enc.begin(), enc.end());
  Append(kem_context, pk_rm);
  return ExtractAndExpand(dh.Expose(), kem_context);
}

Result<KeySchedule> DeriveKeySchedule(Aead aead, ByteSpan shared_secret, ByteSpan info,
                                      const std::optional<Psk>& psk) {
  if (aead != Aead::kAes128Gcm && aead != Aead::kAes256Gcm) {
    return InvalidArgumentError("unsupported HPKE AEAD id " + std::to_string(unsigned(aead)));
  }
  if (shared_secret.size() != kHashSize) return InvalidArgumentError("HPKE shared secret must be 32 bytes");
  // VerifyPSKInputs (§5.1): psk and psk_id come together, only in psk mode.
  ByteSpan psk_bytes;
  ByteSpan psk_id;
  Mode mode = Mode::kBase;
  if (psk.has_value()) {
    if (psk->psk.empty() || psk->psk_id.empty()) {
      return InvalidArgumentError("HPKE psk mode needs both a psk and a psk_id");
    }
    if (psk->psk.size() < kMinPskSize) {
      return InvalidArgumentError("HPKE psk must be at least 32 bytes, got " + std::to_string(psk->psk.size()));
    }
    mode = Mode::kPsk;
    psk_bytes = psk->psk;
    psk_id = psk->psk_id;
  }
  Bytes suite_id = HpkeSuiteId(aead);
  SecretBytes psk_id_hash = LabeledExtract(suite_id, {}, "psk_id_hash", psk_id);
  SecretBytes info_hash = LabeledExtract(suite_id, {}, "info_hash", info);

  KeySchedule ks;
  ks.mode = mode;
  ks.aead = aead;
  // key_schedule_context = mode || psk_id_hash || info_hash
  ks.key_schedule_context.resize(1 + 2 * kHashSize);
  ks.key_schedule_context[0] = std::uint8_t(mode);
  std::size_t at = Put(ks.key_schedule_context, 1, psk_id_hash.Expose());
  Put(ks.key_schedule_context, at, info_hash.Expose());
  ks.secret = LabeledExtract(suite_id, shared_secret, "secret", psk_bytes);
  ByteSpan secret = ks.secret.Expose();
  ARCA_ASSIGN_OR_RETURN(ks.key, LabeledExpand(suite_id, secret, "key", ks.key_schedule_context, KeySize(aead)));
  ARCA_ASSIGN_OR_RETURN(SecretBytes nonce,
                        LabeledExpand(suite_id, secret, "base_nonce", ks.key_schedule_context, kNonceSize));
  ks.base_nonce.assign(nonce.Expose().begin(), nonce.Expose().end());
  ARCA_ASSIGN_OR_RETURN(ks.exporter_secret,
                        LabeledExpand(suite_id, secret, "exp", ks.key_schedule_context, kHashSize));
  return ks;
}

// ------------------------------------------------------------------ Context

Context::Context(KeySchedule schedule)
    : aead_(schedule.aead),
      key_(std::move(schedule.key)),
      base_nonce_(std::move(schedule.base_nonce)),
      exporter_secret_(std::move(schedule.exporter_secret)) {}

Result<SecretBytes> Context::Export(ByteSpan exporter_context, std::size_t length) const {
  return LabeledExpand(HpkeSuiteId(aead_), exporter_secret_.Expose(), "sec", exporter_context, length);
}

std::array<std::uint8_t, kNonceSize> Context::ComputeNonce(std::uint64_t seq) const {
  std::array<std::uint8_t, kNonceSize> nonce{};
  std::copy(base_nonce_.begin(), base_nonce_.end(), nonce.begin());
  // I2OSP(seq, Nn) is big-endian and seq fits in the last 8 bytes.
  for (std::size_t i = 0; i < 8; ++i) nonce[kNonceSize - 1 - i] ^= std::uint8_t(seq >> (8 * i));
  return nonce;
}

Status Context::CheckSequence() const {
  // §5.2 allows seq up to 2^96 - 1; this counter is 64 bits, and the last
  // value is refused because it could not be incremented past.
  if (seq_ == std::numeric_limits<std::uint64_t>::max()) {
    return ResourceExhaustedError("HPKE context message limit reached");
  }
  return Status::Ok();
}

Result<Bytes> SenderContext::Seal(ByteSpan aad, ByteSpan plaintext) {
  ARCA_RETURN_IF_ERROR(CheckSequence());
  auto nonce = ComputeNonce(seq_);
  Bytes out(plaintext.size() + kTagSize);
  ARCA_RETURN_IF_ERROR(crypto::AesGcmSeal(key_.Expose(), nonce, aad, plaintext, out));
  ++seq_;
  return out;
}

Result<SecretBytes> RecipientContext::Open(ByteSpan aad, ByteSpan ciphertext) {
  ARCA_RETURN_IF_ERROR(CheckSequence());
  if (ciphertext.size() < kTagSize) return UnauthenticatedError("HPKE ciphertext shorter than its tag");
  auto nonce = ComputeNonce(seq_);
  SecretBytes out(ciphertext.size() - kTagSize);
  ARCA_RETURN_IF_ERROR(crypto::AesGcmOpen(key_.Expose(), nonce, aad, ciphertext, out.ExposeMutable()));
  ++seq_;
  return out;
}

Result<SenderContext> SetupSender(Aead aead, ByteSpan pk_r, ByteSpan info, const std::optional<Psk>& psk) {
  ARCA_ASSIGN_OR_RETURN(Encapsulation encap, Encap(pk_r));
  ARCA_ASSIGN_OR_RETURN(KeySchedule ks, DeriveKeySchedule(aead, encap.shared_secret.Expose(), info, psk));
  return SenderContext(std::move(ks), std::move(encap.enc));
}

Result<SenderContext> SetupSenderWithIkmE(Aead aead, ByteSpan pk_r, ByteSpan info, ByteSpan ikm_e,
                                          const std::optional<Psk>& psk) {
  ARCA_ASSIGN_OR_RETURN(Encapsulation encap, EncapWithIkmE(pk_r, ikm_e));
  ARCA_ASSIGN_OR_RETURN(KeySchedule ks, DeriveKeySchedule(aead, encap.shared_secret.Expose(), info, psk));
  return SenderContext(std::move(ks), std::move(encap.enc));
}

Result<RecipientContext> SetupRecipient(Aead aead, ByteSpan enc, ByteSpan sk_r, ByteSpan info,
                                        const std::optional<Psk>& psk) {
  ARCA_ASSIGN_OR_RETURN(SecretBytes shared_secret, Decap(enc, sk_r));
  ARCA_ASSIGN_OR_RETURN(KeySchedule ks, DeriveKeySchedule(aead, shared_secret.Expose(), info, psk));
  return RecipientContext(std::move(ks));
}

Result<Sealed> Seal(Aead aead, ByteSpan pk_r, ByteSpan info, ByteSpan aad, ByteSpan plaintext,
                    const std::optional<Psk>& psk) {
  ARCA_ASSIGN_OR_RETURN(SenderContext ctx, SetupSender(aead, pk_r, info, psk));
  Sealed out;
  ARCA_ASSIGN_OR_RETURN(out.ciphertext, ctx.Seal(aad, plaintext));
  out.enc = ctx.enc();
  return out;
}

Result<SecretBytes> Open(Aead aead, ByteSpan enc, ByteSpan sk_r, ByteSpan info, ByteSpan aad, ByteSpan ciphertext,
                         const std::optional<Psk>& psk) {
  ARCA_ASSIGN_OR_RETURN(RecipientContext ctx, SetupRecipient(aead, enc, sk_r, info, psk));
  return ctx.Open(aad, ciphertext);
}

}  // namespace arca::hpke
