#include "base/signature.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "base/crypto.h"

namespace arca::crypto {
namespace {

// scrypt cost for encrypted PKCS#8: the `openssl pkcs8 -scrypt` defaults,
// which fit OpenSSL's default 32 MiB scrypt memory limit on the reading side.
constexpr std::uint64_t kScryptN = std::uint64_t{1} << 14;
constexpr std::uint64_t kScryptR = 8;
constexpr std::uint64_t kScryptP = 1;
constexpr std::size_t kPbeSaltSize = 16;

constexpr std::size_t kEd25519KeySize = 32;
constexpr std::size_t kEd25519SignatureSize = 64;

// One byte to point at when a span is empty: some OpenSSL entry points treat
// a null data pointer as an error even with length zero.
const std::uint8_t kEmptyByte = 0;
const std::uint8_t* DataOrEmpty(ByteSpan s) { return s.empty() ? &kEmptyByte : s.data(); }

// FieldSize is the byte length of one ECDSA scalar (r, s, X or Y).
std::size_t FieldSize(KeyType type) {
  switch (type) {
    case KeyType::kEcdsaP256Sha256: return 32;
    case KeyType::kEcdsaP384Sha384: return 48;
    case KeyType::kEd25519: break;
  }
  return 0;
}

// DigestName is the EVP digest for DigestSign/Verify; Ed25519 takes none.
const char* DigestName(KeyType type) {
  switch (type) {
    case KeyType::kEcdsaP256Sha256: return "SHA256";
    case KeyType::kEcdsaP384Sha384: return "SHA384";
    case KeyType::kEd25519: break;
  }
  return nullptr;
}

const char* GroupName(KeyType type) {
  return type == KeyType::kEcdsaP256Sha256 ? "P-256" : "P-384";
}

// Classify maps an OpenSSL key to a supported KeyType.
Result<KeyType> Classify(EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "ED25519")) return KeyType::kEd25519;
  if (EVP_PKEY_is_a(pkey, "EC")) {
    char name[80] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_group_name(pkey, name, sizeof name, &len) != 1) {
      ERR_clear_error();
      return InvalidArgumentError("EC key has no named curve (explicit parameters are not supported)");
    }
    std::string_view group(name, len);
    if (group == "prime256v1" || group == "P-256" || group == "secp256r1") return KeyType::kEcdsaP256Sha256;
    if (group == "secp384r1" || group == "P-384") return KeyType::kEcdsaP384Sha384;
    return InvalidArgumentError("EC curve " + std::string(group) +
                                " is not supported (supported: P-256, P-384)");
  }
  const char* type_name = EVP_PKEY_get0_type_name(pkey);
  return InvalidArgumentError(std::string("key type ") + (type_name != nullptr ? type_name : "unknown") +
                              " is not supported (supported: Ed25519, ECDSA P-256, ECDSA P-384)");
}

// ParseStrictEcdsaDer accepts exactly the DER encoding of ECDSA-Sig-Value
// (RFC 5480 §2.2 / RFC 3279 §2.2.3): no BER length forms, no padding, no
// trailing bytes. Returns null otherwise.
EcdsaSigPtr ParseStrictEcdsaDer(ByteSpan der) {
  if (der.empty()) return nullptr;
  const unsigned char* p = der.data();
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, long(der.size())));
  if (!sig || p != der.data() + der.size()) {
    ERR_clear_error();
    return nullptr;
  }
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0 || std::size_t(len) != der.size()) return nullptr;
  Bytes again(static_cast<std::size_t>(len));
  unsigned char* q = again.data();
  i2d_ECDSA_SIG(sig.get(), &q);
  if (!std::equal(again.begin(), again.end(), der.begin())) return nullptr;
  return sig;
}

// ReadBio copies everything written to a memory BIO.
std::string ReadBio(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return len > 0 ? std::string(data, std::size_t(len)) : std::string();
}

// OnlyWhitespaceLeft reports whether a read-only memory BIO has nothing but
// whitespace left to read.
bool OnlyWhitespaceLeft(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  for (long i = 0; i < len; ++i) {
    char c = data[i];
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return true;
}

// PemBlock owns what PEM_read_bio_ex returns; the body is wiped on free
// because it may be a private key.
class PemBlock {
 public:
  PemBlock() = default;
  PemBlock(const PemBlock&) = delete;
  PemBlock& operator=(const PemBlock&) = delete;
  ~PemBlock() {
    OPENSSL_secure_free(name_);
    OPENSSL_secure_free(header_);
    if (data_ != nullptr) OPENSSL_secure_clear_free(data_, std::size_t(len_));
  }

  // Read parses the next PEM block of `pem`. InvalidArgument when there is
  // none, it has encapsulated headers, or non-whitespace follows it.
  Status Read(std::string_view pem) {
    if (pem.size() > kMaxPemBytes) {
      return ResourceExhaustedError("PEM input is " + std::to_string(pem.size()) + " bytes, limit " +
                                    std::to_string(kMaxPemBytes));
    }
    BioPtr bio(BIO_new_mem_buf(pem.data(), int(pem.size())));
    if (!bio) return OpenSslError(StatusCode::kInternal, "BIO_new_mem_buf");
    if (PEM_read_bio_ex(bio.get(), &name_, &header_, &data_, &len_,
                        PEM_FLAG_SECURE | PEM_FLAG_EAY_COMPATIBLE) != 1) {
      ERR_clear_error();
      return InvalidArgumentError("no valid PEM block found");
    }
    if (header_ != nullptr && header_[0] != '\0') {
      return InvalidArgumentError("PEM block \"" + std::string(name_) +
                                  "\" has encapsulated headers (legacy encryption is not supported)");
    }
    if (!OnlyWhitespaceLeft(bio.get())) return InvalidArgumentError("unexpected data after the PEM block");
    return Status::Ok();
  }

  std::string_view name() const { return name_ != nullptr ? name_ : ""; }
  ByteSpan data() const { return {data_, std::size_t(len_)}; }

 private:
  char* name_ = nullptr;
  char* header_ = nullptr;
  unsigned char* data_ = nullptr;
  long len_ = 0;
};

// I2dPubkey encodes a key's SubjectPublicKeyInfo.
Result<Bytes> I2dPubkey(EVP_PKEY* pkey) {
  int len = i2d_PUBKEY(pkey, nullptr);
  if (len <= 0) return OpenSslError(StatusCode::kInternal, "encoding SubjectPublicKeyInfo");
  Bytes der(static_cast<std::size_t>(len));
  unsigned char* p = der.data();
  if (i2d_PUBKEY(pkey, &p) != len) return OpenSslError(StatusCode::kInternal, "encoding SubjectPublicKeyInfo");
  return der;
}

}  // namespace

std::string_view KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kEd25519: return "ed25519";
    case KeyType::kEcdsaP256Sha256: return "ecdsa-p256-sha256";
    case KeyType::kEcdsaP384Sha384: return "ecdsa-p384-sha384";
  }
  return "unknown";
}

Result<Bytes> EcdsaRawToDer(KeyType type, ByteSpan raw) {
  std::size_t n = FieldSize(type);
  if (n == 0) return InvalidArgumentError("EcdsaRawToDer: " + std::string(KeyTypeName(type)) + " is not ECDSA");
  if (raw.size() != 2 * n) {
    return InvalidArgumentError("ECDSA r||s signature for " + std::string(KeyTypeName(type)) + " must be " +
                                std::to_string(2 * n) + " bytes, got " + std::to_string(raw.size()));
  }
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BignumPtr r(BN_bin2bn(raw.data(), int(n), nullptr));
  BignumPtr s(BN_bin2bn(raw.data() + n, int(n), nullptr));
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    return OpenSslError(StatusCode::kInternal, "building ECDSA_SIG");
  }
  r.release();  // now owned by sig
  s.release();
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return OpenSslError(StatusCode::kInternal, "encoding ECDSA_SIG");
  Bytes der(static_cast<std::size_t>(len));
  unsigned char* p = der.data();
  i2d_ECDSA_SIG(sig.get(), &p);
  return der;
}

Result<Bytes> EcdsaDerToRaw(KeyType type, ByteSpan der) {
  std::size_t n = FieldSize(type);
  if (n == 0) return InvalidArgumentError("EcdsaDerToRaw: " + std::string(KeyTypeName(type)) + " is not ECDSA");
  EcdsaSigPtr sig = ParseStrictEcdsaDer(der);
  if (!sig) return InvalidArgumentError("ECDSA signature is not strict DER");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  if (BN_is_negative(r) || BN_is_negative(s) || std::size_t(BN_num_bytes(r)) > n ||
      std::size_t(BN_num_bytes(s)) > n) {
    return InvalidArgumentError("ECDSA signature integer out of range for " + std::string(KeyTypeName(type)));
  }
  Bytes raw(2 * n);
  if (BN_bn2binpad(r, raw.data(), int(n)) != int(n) || BN_bn2binpad(s, raw.data() + n, int(n)) != int(n)) {
    return OpenSslError(StatusCode::kInternal, "encoding ECDSA r||s");
  }
  return raw;
}

// ---------------------------------------------------------------- PublicKey

PublicKey::PublicKey(const PublicKey& other)
    : type_(other.type_), spki_der_(other.spki_der_), raw_(other.raw_) {
  // The key is immutable after construction, so copies share it.
  if (other.pkey_ && EVP_PKEY_up_ref(other.pkey_.get()) == 1) pkey_.reset(other.pkey_.get());
}

PublicKey& PublicKey::operator=(const PublicKey& other) {
  if (this != &other) *this = PublicKey(other);
  return *this;
}

Result<PublicKey> PublicKey::FromPkey(EvpPkeyPtr pkey) {
  ARCA_ASSIGN_OR_RETURN(KeyType type, Classify(pkey.get()));
  Bytes raw;
  if (type == KeyType::kEd25519) {
    raw.resize(kEd25519KeySize);
    std::size_t len = raw.size();
    if (EVP_PKEY_get_raw_public_key(pkey.get(), raw.data(), &len) != 1 || len != kEd25519KeySize) {
      return OpenSslError(StatusCode::kInvalidArgument, "Ed25519 public key");
    }
  } else {
    // One key, one encoding: always a named curve and an uncompressed point.
    if (EVP_PKEY_set_utf8_string_param(pkey.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                       OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED) != 1 ||
        EVP_PKEY_set_utf8_string_param(pkey.get(), OSSL_PKEY_PARAM_EC_ENCODING,
                                       OSSL_PKEY_EC_ENCODING_GROUP) != 1) {
      return OpenSslError(StatusCode::kInternal, "setting EC key encoding");
    }
    EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
    if (!check || EVP_PKEY_public_check(check.get()) != 1) {
      return OpenSslError(StatusCode::kInvalidArgument, "EC public key is not a valid point of its curve");
    }
    std::size_t n = FieldSize(type);
    raw.resize(1 + 2 * n);
    std::size_t len = 0;
    if (EVP_PKEY_get_octet_string_param(pkey.get(), OSSL_PKEY_PARAM_PUB_KEY, raw.data(), raw.size(), &len) != 1 ||
        len != raw.size() || raw[0] != 0x04) {
      return OpenSslError(StatusCode::kInternal, "reading EC public point");
    }
  }
  ARCA_ASSIGN_OR_RETURN(Bytes der, I2dPubkey(pkey.get()));
  return PublicKey(type, std::move(pkey), std::move(der), std::move(raw));
}

Result<PublicKey> PublicKey::FromDer(ByteSpan spki_der) {
  if (spki_der.empty()) return InvalidArgumentError("empty SubjectPublicKeyInfo");
  const unsigned char* p = spki_der.data();
  EvpPkeyPtr pkey(d2i_PUBKEY(nullptr, &p, long(spki_der.size())));
  if (!pkey) return OpenSslError(StatusCode::kInvalidArgument, "not a DER SubjectPublicKeyInfo");
  if (p != spki_der.data() + spki_der.size()) {
    return InvalidArgumentError("trailing bytes after SubjectPublicKeyInfo at offset " +
                                std::to_string(p - spki_der.data()));
  }
  ARCA_ASSIGN_OR_RETURN(PublicKey key, FromPkey(std::move(pkey)));
  if (key.spki_der_.size() != spki_der.size() ||
      !std::equal(key.spki_der_.begin(), key.spki_der_.end(), spki_der.begin())) {
    return InvalidArgumentError(
        "SubjectPublicKeyInfo is not canonical (want DER, a named curve and an uncompressed point)");
  }
  return key;
}

Result<PublicKey> PublicKey::FromPem(std::string_view pem) {
  PemBlock block;
  ARCA_RETURN_IF_ERROR(block.Read(pem));
  if (block.name() != "PUBLIC KEY") {
    return InvalidArgumentError("PEM block is \"" + std::string(block.name()) + "\", want \"PUBLIC KEY\"");
  }
  return FromDer(block.data());
}

Result<PublicKey> PublicKey::FromRawEd25519(ByteSpan raw) {
  if (raw.size() != kEd25519KeySize) {
    return InvalidArgumentError("Ed25519 public key must be 32 bytes, got " + std::to_string(raw.size()));
  }
  EvpPkeyPtr pkey(EVP_PKEY_new_raw_public_key_ex(nullptr, "ED25519", nullptr, raw.data(), raw.size()));
  if (!pkey) return OpenSslError(StatusCode::kInvalidArgument, "Ed25519 public key");
  return FromPkey(std::move(pkey));
}

Result<PublicKey> PublicKey::FromEcPoint(KeyType type, ByteSpan uncompressed_point) {
  std::size_t n = FieldSize(type);
  if (n == 0) return InvalidArgumentError("FromEcPoint: " + std::string(KeyTypeName(type)) + " is not ECDSA");
  if (uncompressed_point.size() != 1 + 2 * n || uncompressed_point[0] != 0x04) {
    return InvalidArgumentError("EC point for " + std::string(KeyTypeName(type)) + " must be 0x04||X||Y, " +
                                std::to_string(1 + 2 * n) + " bytes");
  }
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return OpenSslError(StatusCode::kInternal, "EC fromdata");
  std::string group = GroupName(type);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group.data(), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                        const_cast<std::uint8_t*>(uncompressed_point.data()),
                                        uncompressed_point.size()),
      OSSL_PARAM_construct_end(),
  };
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    return OpenSslError(StatusCode::kInvalidArgument, "EC point is not on the curve");
  }
  return FromPkey(EvpPkeyPtr(raw));
}

std::string PublicKey::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio(bio.get(), "PUBLIC KEY", "", spki_der_.data(), long(spki_der_.size())) <= 0) {
    // Only an allocation failure gets here; there is nothing to recover.
    std::abort();
  }
  return ReadBio(bio.get());
}

std::string PublicKey::KeyId() const { return HexEncode(Sha256::Hash(spki_der_)); }

Status PublicKey::Verify(ByteSpan message, ByteSpan signature) const {
  auto fail = [&](std::string_view why) {
    return UnauthenticatedError(std::string(KeyTypeName(type_)) + " signature " + std::string(why) + " (key " +
                                KeyId().substr(0, 16) + ")");
  };
  if (type_ == KeyType::kEd25519) {
    if (signature.size() != kEd25519SignatureSize) return fail("is not 64 bytes");
  } else if (!ParseStrictEcdsaDer(signature)) {
    return fail("is not strict DER");
  }
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit_ex(ctx.get(), nullptr, DigestName(type_), nullptr, nullptr, pkey_.get(),
                                      nullptr) != 1) {
    return OpenSslError(StatusCode::kInternal, "EVP_DigestVerifyInit_ex");
  }
  int rc = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), DataOrEmpty(message), message.size());
  ERR_clear_error();
  if (rc != 1) return fail("does not verify");
  return Status::Ok();
}

// --------------------------------------------------------------- PrivateKey

Result<PrivateKey> PrivateKey::FromPkey(EvpPkeyPtr pkey) {
  ARCA_RETURN_IF_ERROR(ToStatus(Classify(pkey.get())));
  EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check) return OpenSslError(StatusCode::kInternal, "EVP_PKEY_CTX_new_from_pkey");
  int rc = EVP_PKEY_pairwise_check(check.get());
  if (rc != 1 && rc != -2) {  // -2: the provider has no pairwise check
    return OpenSslError(StatusCode::kInvalidArgument, "private key does not match its public key");
  }
  ERR_clear_error();
  // The public half is re-parsed from its SPKI so PublicKey never holds
  // private material.
  ARCA_ASSIGN_OR_RETURN(Bytes der, I2dPubkey(pkey.get()));
  const unsigned char* p = der.data();
  EvpPkeyPtr pub(d2i_PUBKEY(nullptr, &p, long(der.size())));
  if (!pub) return OpenSslError(StatusCode::kInternal, "re-reading public key");
  ARCA_ASSIGN_OR_RETURN(PublicKey public_key, PublicKey::FromPkey(std::move(pub)));
  return PrivateKey(std::move(pkey), std::move(public_key));
}

Result<PrivateKey> PrivateKey::Generate(KeyType type) {
  EVP_PKEY* raw = type == KeyType::kEd25519
                      ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", GroupName(type));
  if (raw == nullptr) return OpenSslError(StatusCode::kInternal, "generating " + std::string(KeyTypeName(type)));
  return FromPkey(EvpPkeyPtr(raw));
}

Result<PrivateKey> PrivateKey::FromRawEd25519Seed(ByteSpan seed) {
  if (seed.size() != kEd25519KeySize) {
    return InvalidArgumentError("Ed25519 secret key must be 32 bytes, got " + std::to_string(seed.size()));
  }
  EvpPkeyPtr pkey(EVP_PKEY_new_raw_private_key_ex(nullptr, "ED25519", nullptr, seed.data(), seed.size()));
  if (!pkey) return OpenSslError(StatusCode::kInternal, "Ed25519 private key");
  return FromPkey(std::move(pkey));
}

Result<PrivateKey> PrivateKey::FromPem(std::string_view pem, std::optional<std::string_view> passphrase) {
  PemBlock block;
  ARCA_RETURN_IF_ERROR(block.Read(pem));
  ByteSpan body = block.data();
  const unsigned char* p = body.data();
  Pkcs8PrivKeyInfoPtr p8inf;
  if (block.name() == "PRIVATE KEY") {
    if (passphrase.has_value()) {
      return InvalidArgumentError("a passphrase was given but the private key is not encrypted");
    }
    p8inf.reset(d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, long(body.size())));
    if (!p8inf) return OpenSslError(StatusCode::kInvalidArgument, "not a DER PKCS#8 PrivateKeyInfo");
    if (p != body.data() + body.size()) return InvalidArgumentError("trailing bytes after PrivateKeyInfo");
  } else if (block.name() == "ENCRYPTED PRIVATE KEY") {
    if (!passphrase.has_value()) return InvalidArgumentError("the private key is encrypted: a passphrase is needed");
    X509SigPtr encrypted(d2i_X509_SIG(nullptr, &p, long(body.size())));
    if (!encrypted) return OpenSslError(StatusCode::kInvalidArgument, "not a DER PKCS#8 EncryptedPrivateKeyInfo");
    if (p != body.data() + body.size()) return InvalidArgumentError("trailing bytes after EncryptedPrivateKeyInfo");
    p8inf.reset(PKCS8_decrypt(encrypted.get(), passphrase->data(), int(passphrase->size())));
    if (!p8inf) {
      ERR_clear_error();
      return UnauthenticatedError("cannot decrypt the private key: wrong passphrase or altered ciphertext");
    }
  } else {
    return InvalidArgumentError("PEM block is \"" + std::string(block.name()) +
                                "\", want \"PRIVATE KEY\" or \"ENCRYPTED PRIVATE KEY\" (PKCS#8)");
  }
  EvpPkeyPtr pkey(EVP_PKCS82PKEY(p8inf.get()));
  if (!pkey) return OpenSslError(StatusCode::kInvalidArgument, "unsupported or malformed PKCS#8 private key");
  return FromPkey(std::move(pkey));
}

Result<SecretBytes> PrivateKey::ToPem(std::optional<std::string_view> passphrase) const {
  // A secure-heap memory BIO wipes its buffer when it grows and when freed.
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio) return OpenSslError(StatusCode::kInternal, "BIO_new");
  if (!passphrase.has_value()) {
    if (PEM_write_bio_PKCS8PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
      return OpenSslError(StatusCode::kInternal, "writing PKCS#8 PEM");
    }
  } else {
    if (passphrase->empty()) return InvalidArgumentError("empty passphrase for an encrypted private key");
    std::array<std::uint8_t, kPbeSaltSize> salt;
    RandomBytes(salt);
    X509AlgorPtr pbe(PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), salt.data(), int(salt.size()), nullptr, kScryptN,
                                           kScryptR, kScryptP));
    Pkcs8PrivKeyInfoPtr p8inf(EVP_PKEY2PKCS8(pkey_.get()));
    if (!pbe || !p8inf) return OpenSslError(StatusCode::kInternal, "preparing PKCS#8 encryption");
    X509SigPtr encrypted(PKCS8_set0_pbe(passphrase->data(), int(passphrase->size()), p8inf.get(), pbe.get()));
    if (!encrypted) return OpenSslError(StatusCode::kInternal, "encrypting PKCS#8");
    pbe.release();  // now owned by `encrypted`
    if (PEM_write_bio_PKCS8(bio.get(), encrypted.get()) != 1) {
      return OpenSslError(StatusCode::kInternal, "writing encrypted PKCS#8 PEM");
    }
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0) return InternalError("empty PKCS#8 PEM output");
  return SecretBytes::CopyFrom({reinterpret_cast<const std::uint8_t*>(data), std::size_t(len)});
}

Result<Bytes> PrivateKey::Sign(ByteSpan message) const {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit_ex(ctx.get(), nullptr, DigestName(type()), nullptr, nullptr, pkey_.get(),
                                    nullptr) != 1) {
    return OpenSslError(StatusCode::kInternal, "EVP_DigestSignInit_ex");
  }
  std::size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, DataOrEmpty(message), message.size()) != 1) {
    return OpenSslError(StatusCode::kInternal, "EVP_DigestSign (size)");
  }
  Bytes sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, DataOrEmpty(message), message.size()) != 1) {
    return OpenSslError(StatusCode::kInternal, "EVP_DigestSign");
  }
  sig.resize(len);
  return sig;
}

}  // namespace arca::crypto
