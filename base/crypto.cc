#include "base/crypto.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace arca {

Status OpenSslError(StatusCode code, std::string_view what) {
  std::string msg(what);
  unsigned long e = ERR_get_error();
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    msg += ": ";
    msg += buf;
  }
  ERR_clear_error();
  return Status(code, std::move(msg));
}

namespace crypto {
namespace {

[[noreturn]] void Fatal(const char* what) {
  std::fprintf(stderr, "arca: fatal OpenSSL failure in %s\n", what);
  std::abort();
}

void Check(int ok, const char* what) {
  if (ok != 1) Fatal(what);
}

const EVP_MD* Sha256Md() {
  // Fetched once: implicit fetches on every EVP_sha256() init cost a lookup.
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) Fatal("EVP_MD_fetch(SHA256)");
  return md;
}

Bytes OneShot(const char* name, ByteSpan data) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  Check(EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_get_digestbyname(name), nullptr),
        name);
  out.resize(len);
  return out;
}

const EVP_CIPHER* GcmCipher(std::size_t key_size) {
  static EVP_CIPHER* aes128 = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
  static EVP_CIPHER* aes256 = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  if (key_size == 16) return aes128;
  if (key_size == 32) return aes256;
  return nullptr;
}

}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_) Fatal("EVP_MD_CTX_new");
  Check(EVP_DigestInit_ex2(ctx_.get(), Sha256Md(), nullptr), "EVP_DigestInit_ex2");
}

void Sha256::Update(ByteSpan data) {
  Check(EVP_DigestUpdate(ctx_.get(), data.data(), data.size()), "EVP_DigestUpdate");
}

Sha256Digest Sha256::Finish() {
  Sha256Digest d;
  unsigned int len = 0;
  Check(EVP_DigestFinal_ex(ctx_.get(), d.data(), &len), "EVP_DigestFinal_ex");
  return d;
}

Sha256Digest Sha256::Hash(ByteSpan data) {
  Sha256Digest d;
  unsigned int len = 0;
  Check(EVP_Digest(data.data(), data.size(), d.data(), &len, Sha256Md(), nullptr), "EVP_Digest");
  return d;
}

Bytes Sha384(ByteSpan data) { return OneShot("SHA384", data); }
Bytes Sha512(ByteSpan data) { return OneShot("SHA512", data); }

Sha256Digest HmacSha256(ByteSpan key, ByteSpan data) {
  Sha256Digest d;
  unsigned int len = 0;
  static const std::uint8_t kEmpty = 0;
  if (HMAC(Sha256Md(), key.empty() ? &kEmpty : key.data(), int(key.size()), data.data(), data.size(),
           d.data(), &len) == nullptr) {
    Fatal("HMAC");
  }
  return d;
}

SecretBytes HkdfSha256Extract(ByteSpan salt, ByteSpan ikm) {
  static const std::uint8_t kZeroSalt[kSha256Size] = {};
  ByteSpan s = salt.empty() ? ByteSpan(kZeroSalt, sizeof kZeroSalt) : salt;
  Sha256Digest prk = HmacSha256(s, ikm);
  SecretBytes out = SecretBytes::CopyFrom(prk);
  OPENSSL_cleanse(prk.data(), prk.size());
  return out;
}

Result<SecretBytes> HkdfSha256Expand(ByteSpan prk, ByteSpan info, std::size_t length) {
  if (length > 255 * kSha256Size) {
    return InvalidArgumentError("HKDF-Expand length " + std::to_string(length) + " exceeds 255*HashLen");
  }
  if (prk.size() < kSha256Size) return InvalidArgumentError("HKDF-Expand PRK shorter than HashLen");
  static EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) Fatal("EVP_KDF_fetch(HKDF)");
  EvpKdfCtxPtr ctx(EVP_KDF_CTX_new(kdf));
  if (!ctx) Fatal("EVP_KDF_CTX_new");
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<std::uint8_t*>(prk.data()), prk.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<std::uint8_t*>(info.data()), info.size()),
      OSSL_PARAM_construct_end(),
  };
  SecretBytes out(length);
  if (length == 0) return out;
  if (EVP_KDF_derive(ctx.get(), out.ExposeMutable().data(), length, params) != 1) {
    return OpenSslError(StatusCode::kInternal, "HKDF-Expand");
  }
  return out;
}

Result<SecretBytes> HkdfSha256(ByteSpan ikm, ByteSpan salt, ByteSpan info, std::size_t length) {
  SecretBytes prk = HkdfSha256Extract(salt, ikm);
  return HkdfSha256Expand(prk.Expose(), info, length);
}

Status AesGcmSeal(ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan plaintext,
                  std::span<std::uint8_t> out) {
  const EVP_CIPHER* cipher = GcmCipher(key.size());
  if (cipher == nullptr) return InvalidArgumentError("AES-GCM key must be 16 or 32 bytes");
  if (nonce.size() != kAesGcmNonceSize) return InvalidArgumentError("AES-GCM nonce must be 12 bytes");
  if (out.size() != plaintext.size() + kAesGcmTagSize) return InvalidArgumentError("AES-GCM output size mismatch");
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) Fatal("EVP_CIPHER_CTX_new");
  int len = 0;
  if (EVP_EncryptInit_ex2(ctx.get(), cipher, key.data(), nonce.data(), nullptr) != 1 ||
      (!aad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), int(aad.size())) != 1)) {
    return OpenSslError(StatusCode::kInternal, "AES-GCM init");
  }
  // EVP_*Update takes int lengths: feed large inputs in slices.
  std::size_t done = 0;
  while (done < plaintext.size()) {
    int n = int(std::min<std::size_t>(plaintext.size() - done, 1u << 30));
    if (EVP_EncryptUpdate(ctx.get(), out.data() + done, &len, plaintext.data() + done, n) != 1) {
      return OpenSslError(StatusCode::kInternal, "AES-GCM encrypt");
    }
    done += std::size_t(len);
  }
  if (EVP_EncryptFinal_ex(ctx.get(), out.data() + done, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kAesGcmTagSize, out.data() + plaintext.size()) != 1) {
    return OpenSslError(StatusCode::kInternal, "AES-GCM final");
  }
  return Status::Ok();
}

Status AesGcmOpen(ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan ciphertext_and_tag,
                  std::span<std::uint8_t> out) {
  const EVP_CIPHER* cipher = GcmCipher(key.size());
  if (cipher == nullptr) return InvalidArgumentError("AES-GCM key must be 16 or 32 bytes");
  if (nonce.size() != kAesGcmNonceSize) return InvalidArgumentError("AES-GCM nonce must be 12 bytes");
  if (ciphertext_and_tag.size() < kAesGcmTagSize) return UnauthenticatedError("AES-GCM ciphertext shorter than its tag");
  std::size_t ct_len = ciphertext_and_tag.size() - kAesGcmTagSize;
  if (out.size() != ct_len) return InvalidArgumentError("AES-GCM output size mismatch");
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) Fatal("EVP_CIPHER_CTX_new");
  int len = 0;
  if (EVP_DecryptInit_ex2(ctx.get(), cipher, key.data(), nonce.data(), nullptr) != 1 ||
      (!aad.empty() && EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), int(aad.size())) != 1)) {
    return OpenSslError(StatusCode::kInternal, "AES-GCM init");
  }
  std::size_t done = 0;
  bool failed = false;
  while (done < ct_len && !failed) {
    int n = int(std::min<std::size_t>(ct_len - done, 1u << 30));
    if (EVP_DecryptUpdate(ctx.get(), out.data() + done, &len, ciphertext_and_tag.data() + done, n) != 1) {
      failed = true;
      break;
    }
    done += std::size_t(len);
  }
  if (!failed &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kAesGcmTagSize,
                          const_cast<std::uint8_t*>(ciphertext_and_tag.data() + ct_len)) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), out.data() + done, &len) == 1) {
    return Status::Ok();
  }
  ERR_clear_error();
  OPENSSL_cleanse(out.data(), out.size());
  return UnauthenticatedError("AES-GCM tag does not verify");
}

void RandomBytes(std::span<std::uint8_t> out) {
  if (!out.empty() && RAND_bytes(out.data(), int(out.size())) != 1) Fatal("RAND_bytes");
}

}  // namespace crypto
}  // namespace arca
