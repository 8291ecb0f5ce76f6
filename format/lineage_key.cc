#include "format/lineage_key.h"

#include <openssl/crypto.h>

#include <cstring>

namespace arca::format {
namespace {

constexpr std::string_view kFileTag = "arca-lineage-key-v1 ";
constexpr std::string_view kExtractSalt = "arca/v1/lineage";

SecretBytes Expand(ByteSpan prk, std::string_view label, std::size_t n) {
  // Expand cannot fail for n <= 32 and a 32-byte PRK.
  return std::move(crypto::HkdfSha256Expand(prk, AsBytes(label), n)).value();
}

}  // namespace

void LineageKey::Derive(ByteSpan key) {
  raw_ = SecretBytes::CopyFrom(key);
  prk_ = crypto::HkdfSha256Extract(AsBytes(kExtractSalt), key);
  id_key_ = Expand(prk_.Expose(), "arca/v1/chunk-id", 32);
  gear_key_ = Expand(prk_.Expose(), "arca/v1/gear", 32);
  mac_key_ = Expand(prk_.Expose(), "arca/v1/manifest-mac", 32);
  nonce_key_ = Expand(prk_.Expose(), "arca/v1/chunk-nonce", 32);
  SecretBytes id = Expand(prk_.Expose(), "arca/v1/lineage-id", 16);
  lineage_id_ = HexEncode(id.Expose());
}

LineageKey LineageKey::Generate() {
  SecretBytes raw(kLineageKeySize);
  crypto::RandomBytes(raw.ExposeMutable());
  LineageKey k;
  k.Derive(raw.Expose());
  return k;
}

Result<LineageKey> LineageKey::FromBytes(ByteSpan key) {
  if (key.size() != kLineageKeySize) {
    return InvalidArgumentError("a lineage key is 32 bytes, got " + std::to_string(key.size()));
  }
  LineageKey k;
  k.Derive(key);
  return k;
}

Result<LineageKey> LineageKey::Load(FileSystem& fs, const std::string& path) {
  ARCA_ASSIGN_OR_RETURN(Bytes data, ReadFileBounded(fs, path, 256));
  SecretBytes text = SecretBytes::CopyFrom(data);
  OPENSSL_cleanse(data.data(), data.size());
  std::string_view s(reinterpret_cast<const char*>(text.Expose().data()), text.size());
  if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  if (s.substr(0, kFileTag.size()) != kFileTag || s.size() != kFileTag.size() + 2 * kLineageKeySize) {
    return InvalidArgumentError(path + " is not an Arca lineage key file (expected \"" + std::string(kFileTag) +
                                "\" followed by 64 hex digits)");
  }
  auto raw = HexDecode(s.substr(kFileTag.size()));
  if (!raw.ok()) return InvalidArgumentError(path + ": lineage key is not valid hex");
  SecretBytes key = SecretBytes::CopyFrom(*raw);
  OPENSSL_cleanse(raw->data(), raw->size());
  return FromBytes(key.Expose());
}

Status LineageKey::SaveNew(FileSystem& fs, const std::string& path) const {
  std::string hex = HexEncode(raw_.Expose());
  std::string text = std::string(kFileTag) + hex + "\n";
  SecretBytes secret_text = SecretBytes::CopyFrom(AsBytes(text));
  OPENSSL_cleanse(hex.data(), hex.size());
  OPENSSL_cleanse(text.data(), text.size());
  return WriteFileAtomic(fs, path, secret_text.Expose(), 0600, /*exclusive=*/true);
}

ChunkId LineageKey::ChunkIdOf(ByteSpan plaintext) const { return crypto::HmacSha256(id_key_.Expose(), plaintext); }

SecretBytes DeriveChunkKey(ByteSpan prk, const ChunkId& id) {
  std::uint8_t info[16 + kChunkIdSize];
  std::memcpy(info, "arca/v1/chunkkey", 16);
  std::memcpy(info + 16, id.data(), id.size());
  return std::move(crypto::HkdfSha256Expand(prk, info, 32)).value();
}

SecretBytes LineageKey::ChunkKey(const ChunkId& id) const { return DeriveChunkKey(prk_.Expose(), id); }

std::array<std::uint8_t, crypto::kAesGcmNonceSize> LineageKey::SyntheticNonce(const ChunkId& id,
                                                                              std::uint8_t encoding,
                                                                              ByteSpan encoded) const {
  // HMAC over id || encoding || encoded, streamed without a copy. The HMAC
  // implementation is fetched once: an implicit fetch per chunk takes a
  // provider lock on the seal hot path.
  static EVP_MAC* const kHmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EvpMacCtxPtr ctx(kHmac != nullptr ? EVP_MAC_CTX_new(kHmac) : nullptr);
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0), OSSL_PARAM_construct_end()};
  std::array<std::uint8_t, 32> out{};
  std::size_t out_len = 0;
  if (!ctx || EVP_MAC_init(ctx.get(), nonce_key_.Expose().data(), nonce_key_.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), id.data(), id.size()) != 1 || EVP_MAC_update(ctx.get(), &encoding, 1) != 1 ||
      EVP_MAC_update(ctx.get(), encoded.data(), encoded.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out.data(), &out_len, out.size()) != 1) {
    std::abort();  // allocation failure inside OpenSSL; no safe fallback
  }
  std::array<std::uint8_t, crypto::kAesGcmNonceSize> nonce;
  std::memcpy(nonce.data(), out.data(), nonce.size());
  return nonce;
}

crypto::Sha256Digest LineageKey::ManifestMac(ByteSpan canonical_manifest) const {
  return crypto::HmacSha256(mac_key_.Expose(), canonical_manifest);
}

}  // namespace arca::format
