// Known-answer and negative tests for base/signature.h: Ed25519 (RFC 8032
// §7.1, Wycheproof), ECDSA P-256/P-384 (Wycheproof, DER), the DSSE spec
// example, PEM/DER round trips and strict-parsing refusals.
#include "base/signature.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/pem.h>

#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/crypto.h"
#include "base/openssl_util.h"
#include "base/testing/status_matchers.h"
#include "base/testing/test_vectors.h"

namespace arca::crypto {
namespace {

using nlohmann::json;
using test_vectors::CheckWycheproofFile;
using test_vectors::HasOnlyFields;
using test_vectors::HasOnlyFlags;
using test_vectors::Hex;
using test_vectors::LoadJson;
using test_vectors::RepoVectorPath;
using test_vectors::ResultOf;
using test_vectors::StandardVectorPath;
using test_vectors::TcId;
using test_vectors::WycheproofCounts;

Bytes ToBytes(std::string_view s) {
  ByteSpan b = AsBytes(s);
  return Bytes(b.begin(), b.end());
}

std::string ToStr(const SecretBytes& s) { return ToString(s.Expose()); }

// PemBody returns the decoded body of the first PEM block in `pem`.
Bytes PemBody(std::string_view pem) {
  std::size_t begin = pem.find("-----\n");
  std::size_t end = pem.find("-----END");
  if (begin == std::string_view::npos || end == std::string_view::npos) {
    ADD_FAILURE() << "not PEM";
    return {};
  }
  std::string b64;
  for (char c : pem.substr(begin + 6, end - begin - 6)) {
    if (c != '\n') b64 += c;
  }
  Result<Bytes> der = Base64Decode(b64);
  EXPECT_TRUE(der.ok());
  return der.ok() ? *der : Bytes{};
}

// ToPemBlock wraps DER in a PEM block with the given label.
std::string ToPemBlock(std::string_view label, ByteSpan der) {
  std::string b64 = Base64Encode(der);
  std::string pem = "-----BEGIN " + std::string(label) + "-----\n";
  for (std::size_t i = 0; i < b64.size(); i += 64) pem += b64.substr(i, 64) + "\n";
  return pem + "-----END " + std::string(label) + "-----\n";
}

bool Contains(const Bytes& haystack, const Bytes& needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) != haystack.end();
}

// OpenSslPrivatePem writes a key OpenSSL generates (of a type Arca refuses)
// as unencrypted PKCS#8 PEM.
std::string OpenSslPrivatePem(EVP_PKEY* pkey) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  EXPECT_EQ(PEM_write_bio_PKCS8PrivateKey(bio.get(), pkey, nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, std::size_t(len));
}

// ------------------------------------------------------------------ Ed25519

TEST(Ed25519Rfc8032, Section71Tests1To3) {
  json file = LoadJson(RepoVectorPath("ed25519/rfc8032-7.1-ed25519.json"));
  ASSERT_FALSE(file.is_discarded());
  ASSERT_TRUE(HasOnlyFields(file, {"source", "tests"}, "file"));
  int run = 0;
  for (const json& t : file.at("tests")) {
    ASSERT_TRUE(HasOnlyFields(t, {"name", "secret_key", "public_key", "message", "signature"}, "test"));
    std::string name = t.at("name");
    Bytes seed = Hex(t.at("secret_key"));
    Bytes pk = Hex(t.at("public_key"));
    Bytes message = Hex(t.at("message"));
    Bytes signature = Hex(t.at("signature"));

    Result<PrivateKey> key = PrivateKey::FromRawEd25519Seed(seed);
    ASSERT_THAT(key, IsOk()) << name;
    EXPECT_EQ(key->type(), KeyType::kEd25519);
    EXPECT_EQ(key->public_key().RawBytes(), pk) << name;
    Result<Bytes> sig = key->Sign(message);
    ASSERT_THAT(sig, IsOk()) << name;
    EXPECT_EQ(*sig, signature) << name << ": Ed25519 is deterministic";

    Result<PublicKey> pub = PublicKey::FromRawEd25519(pk);
    ASSERT_THAT(pub, IsOk()) << name;
    EXPECT_THAT(pub->Verify(message, signature), IsOk()) << name;
    Bytes altered = message;
    altered.push_back(0x00);
    EXPECT_THAT(pub->Verify(altered, signature), HasCode(StatusCode::kUnauthenticated)) << name;
    ++run;
  }
  EXPECT_EQ(run, 3);
}

TEST(Ed25519Wycheproof, AllTests) {
  json file = LoadJson(StandardVectorPath("wycheproof/ed25519_test.json"));
  ASSERT_FALSE(file.is_discarded());
  ASSERT_TRUE(CheckWycheproofFile(file, "EDDSA", "eddsa_verify_schema_v1.json"));
  const json& notes = file.at("notes");
  WycheproofCounts counts;
  for (const json& group : file.at("testGroups")) {
    ASSERT_TRUE(HasOnlyFields(group,
                              {"type", "source", "publicKey", "publicKeyDer", "publicKeyPem", "publicKeyJwk", "tests"},
                              "group"));
    ASSERT_TRUE(HasOnlyFields(group.at("source"), {"name", "version"}, "group source"));
    ASSERT_EQ(group.at("type"), "EddsaVerify");
    const json& pk_json = group.at("publicKey");
    ASSERT_TRUE(HasOnlyFields(pk_json, {"type", "curve", "keySize", "pk"}, "publicKey"));
    ASSERT_EQ(pk_json.at("type"), "EDDSAPublicKey");
    ASSERT_EQ(pk_json.at("curve"), "edwards25519");
    ASSERT_EQ(pk_json.at("keySize"), 255);
    Bytes pk = Hex(pk_json.at("pk"));
    Result<PublicKey> key = PublicKey::FromRawEd25519(pk);
    ASSERT_THAT(key, IsOk());

    // Every encoding of the group's key must parse to the same key.
    Result<PublicKey> from_der = PublicKey::FromDer(Hex(group.at("publicKeyDer")));
    ASSERT_THAT(from_der, IsOk());
    EXPECT_EQ(from_der->ToDer(), key->ToDer());
    Result<PublicKey> from_pem = PublicKey::FromPem(group.at("publicKeyPem").get<std::string>());
    ASSERT_THAT(from_pem, IsOk());
    EXPECT_EQ(from_pem->KeyId(), key->KeyId());
    EXPECT_EQ(key->ToPem(), group.at("publicKeyPem").get<std::string>());
    const json& jwk = group.at("publicKeyJwk");
    ASSERT_TRUE(HasOnlyFields(jwk, {"kty", "crv", "kid", "x"}, "publicKeyJwk"));
    EXPECT_EQ(jwk.at("kty"), "OKP");
    EXPECT_EQ(jwk.at("crv"), "Ed25519");
    EXPECT_EQ(jwk.at("kid"), "none");
    Result<Bytes> jwk_x = Base64Decode(jwk.at("x").get<std::string>());
    ASSERT_THAT(jwk_x, IsOk());
    EXPECT_EQ(*jwk_x, pk);

    for (const json& t : group.at("tests")) {
      ASSERT_TRUE(HasOnlyFields(t, {"tcId", "comment", "flags", "msg", "sig", "result"}, TcId(t)));
      ASSERT_TRUE(HasOnlyFlags(t, notes,
                               {"CompressedSignature", "InvalidEncoding", "InvalidKtv", "InvalidSignature", "Ktv",
                                "SignatureMalleability", "SignatureWithGarbage", "TinkOverflow",
                                "TruncatedSignature", "Valid"},
                               TcId(t)));
      std::string result = ResultOf(t, counts);
      Status s = key->Verify(Hex(t.at("msg")), Hex(t.at("sig")));
      if (result == "valid") {
        EXPECT_THAT(s, IsOk()) << TcId(t) << " " << t.at("comment");
      } else {
        EXPECT_THAT(s, HasCode(StatusCode::kUnauthenticated)) << TcId(t) << " " << t.at("comment");
      }
    }
  }
  EXPECT_EQ(counts.total(), file.at("numberOfTests").get<int>());
  EXPECT_EQ(counts.valid, 88);
  EXPECT_EQ(counts.invalid, 63);
  EXPECT_EQ(counts.acceptable, 0);
}

// -------------------------------------------------------------------- ECDSA

struct EcdsaFile {
  const char* file;
  KeyType type;
  const char* curve;
  const char* sha;
  int key_bits;
  int valid;
  int invalid;
};

class EcdsaWycheproof : public ::testing::TestWithParam<EcdsaFile> {};

TEST_P(EcdsaWycheproof, AllTests) {
  const EcdsaFile& p = GetParam();
  json file = LoadJson(StandardVectorPath(std::string("wycheproof/") + p.file));
  ASSERT_FALSE(file.is_discarded());
  ASSERT_TRUE(CheckWycheproofFile(file, "ECDSA", "ecdsa_verify_schema_v1.json"));
  const json& notes = file.at("notes");
  const std::size_t n = std::size_t(p.key_bits) / 8;
  WycheproofCounts counts;
  for (const json& group : file.at("testGroups")) {
    ASSERT_TRUE(
        HasOnlyFields(group, {"type", "source", "publicKey", "publicKeyDer", "publicKeyPem", "sha", "tests"}, "group"));
    ASSERT_TRUE(HasOnlyFields(group.at("source"), {"name", "version"}, "group source"));
    ASSERT_EQ(group.at("type"), "EcdsaVerify");
    ASSERT_EQ(group.at("sha"), p.sha);
    const json& pk_json = group.at("publicKey");
    ASSERT_TRUE(HasOnlyFields(pk_json, {"type", "curve", "keySize", "uncompressed", "wx", "wy"}, "publicKey"));
    ASSERT_EQ(pk_json.at("type"), "EcPublicKey");
    ASSERT_EQ(pk_json.at("curve"), p.curve);
    ASSERT_EQ(pk_json.at("keySize"), p.key_bits);

    Result<PublicKey> key = PublicKey::FromDer(Hex(group.at("publicKeyDer")));
    ASSERT_THAT(key, IsOk()) << group.at("publicKeyDer");
    EXPECT_EQ(key->type(), p.type);
    Result<PublicKey> from_pem = PublicKey::FromPem(group.at("publicKeyPem").get<std::string>());
    ASSERT_THAT(from_pem, IsOk());
    EXPECT_EQ(from_pem->KeyId(), key->KeyId());
    Bytes point = Hex(pk_json.at("uncompressed"));
    Result<PublicKey> from_point = PublicKey::FromEcPoint(p.type, point);
    ASSERT_THAT(from_point, IsOk());
    EXPECT_EQ(from_point->ToDer(), key->ToDer());
    EXPECT_EQ(key->RawBytes(), point);
    // wx / wy are ASN.1-style integers (a 00 byte may lead); as field
    // elements they are the point's X and Y.
    for (const auto& [field, offset] : {std::pair{"wx", std::size_t{1}}, std::pair{"wy", 1 + n}}) {
      Bytes coord = Hex(pk_json.at(field));
      while (coord.size() > n && coord.front() == 0) coord.erase(coord.begin());
      ASSERT_LE(coord.size(), n);
      coord.insert(coord.begin(), n - coord.size(), 0);
      EXPECT_EQ(coord, Bytes(point.begin() + std::ptrdiff_t(offset), point.begin() + std::ptrdiff_t(offset + n)))
          << field;
    }

    for (const json& t : group.at("tests")) {
      ASSERT_TRUE(HasOnlyFields(t, {"tcId", "comment", "flags", "msg", "sig", "result"}, TcId(t)));
      ASSERT_TRUE(HasOnlyFlags(t, notes,
                               {"ArithmeticError", "BerEncodedSignature", "EdgeCasePublicKey",
                                "EdgeCaseShamirMultiplication", "IntegerOverflow", "InvalidEncoding",
                                "InvalidSignature", "InvalidTypesInSignature", "MissingZero", "ModifiedInteger",
                                "ModifiedSignature", "ModularInverse", "PointDuplication", "RangeCheck", "SmallRandS",
                                "SpecialCaseHash", "ValidSignature"},
                               TcId(t)));
      std::string result = ResultOf(t, counts);
      Bytes msg = Hex(t.at("msg"));
      Bytes sig = Hex(t.at("sig"));
      Status s = key->Verify(msg, sig);
      if (result == "valid") {
        EXPECT_THAT(s, IsOk()) << TcId(t) << " " << t.at("comment");
        // P1363 conversion round-trips every valid DER signature.
        Result<Bytes> raw = EcdsaDerToRaw(p.type, sig);
        ASSERT_THAT(raw, IsOk()) << TcId(t);
        EXPECT_EQ(raw->size(), 2 * n);
        Result<Bytes> der = EcdsaRawToDer(p.type, *raw);
        ASSERT_THAT(der, IsOk()) << TcId(t);
        EXPECT_EQ(*der, sig) << TcId(t);
      } else {
        EXPECT_THAT(s, HasCode(StatusCode::kUnauthenticated)) << TcId(t) << " " << t.at("comment");
      }
    }
  }
  EXPECT_EQ(counts.total(), file.at("numberOfTests").get<int>());
  EXPECT_EQ(counts.valid, p.valid);
  EXPECT_EQ(counts.invalid, p.invalid);
  EXPECT_EQ(counts.acceptable, 0);
}

INSTANTIATE_TEST_SUITE_P(
    Files, EcdsaWycheproof,
    ::testing::Values(EcdsaFile{"ecdsa_secp256r1_sha256_test.json", KeyType::kEcdsaP256Sha256, "secp256r1", "SHA-256",
                                256, 174, 310},
                      EcdsaFile{"ecdsa_secp384r1_sha384_test.json", KeyType::kEcdsaP384Sha384, "secp384r1", "SHA-384",
                                384, 194, 310}),
    [](const ::testing::TestParamInfo<EcdsaFile>& info) {
      return info.param.type == KeyType::kEcdsaP256Sha256 ? "P256Sha256" : "P384Sha384";
    });

// --------------------------------------------------------------------- DSSE

// Pae is the DSSE v1 pre-authentication encoding (secure-systems-lab/dsse
// protocol.md): "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body.
std::string Pae(std::string_view type, std::string_view body) {
  return "DSSEv1 " + std::to_string(type.size()) + " " + std::string(type) + " " + std::to_string(body.size()) + " " +
         std::string(body);
}

// DecimalToBytes renders a decimal integer as n big-endian bytes.
Bytes DecimalToBytes(const std::string& decimal, std::size_t n) {
  BIGNUM* raw = nullptr;
  EXPECT_GT(BN_dec2bn(&raw, decimal.c_str()), 0);
  BignumPtr bn(raw);
  Bytes out(n);
  EXPECT_EQ(BN_bn2binpad(bn.get(), out.data(), int(n)), int(n));
  return out;
}

TEST(DsseExample, SignatureVerifiesOverPae) {
  json file = LoadJson(StandardVectorPath("dsse/dsse-pae-example.json"));
  ASSERT_FALSE(file.is_discarded());
  ASSERT_TRUE(HasOnlyFields(file, {"source", "payloadType", "payload_utf8", "payload", "pae_ascii", "pae_hex", "key",
                                   "envelope", "signature_hex"},
                            "file"));
  const json& key_json = file.at("key");
  ASSERT_TRUE(HasOnlyFields(key_json, {"algorithm", "signature_encoding", "x_decimal", "y_decimal", "d_decimal",
                                       "x_hex", "y_hex", "d_hex", "public_uncompressed_hex"},
                            "key"));
  const json& envelope = file.at("envelope");
  ASSERT_TRUE(HasOnlyFields(envelope, {"payload", "payloadType", "signatures"}, "envelope"));
  ASSERT_EQ(envelope.at("signatures").size(), 1u);
  ASSERT_TRUE(HasOnlyFields(envelope.at("signatures")[0], {"sig"}, "signature"));

  // The re-encoded fields agree with the verbatim ones.
  std::string type = file.at("payloadType");
  std::string body = file.at("payload_utf8");
  EXPECT_EQ(envelope.at("payloadType"), type);
  EXPECT_EQ(envelope.at("payload"), file.at("payload"));
  Result<Bytes> payload = Base64Decode(envelope.at("payload").get<std::string>());
  ASSERT_THAT(payload, IsOk());
  EXPECT_EQ(ToString(*payload), body);
  std::string pae = Pae(type, body);
  EXPECT_EQ(pae, file.at("pae_ascii").get<std::string>());
  EXPECT_EQ(ToBytes(pae), Hex(file.at("pae_hex")));
  EXPECT_EQ(Hex(key_json.at("x_hex")), DecimalToBytes(key_json.at("x_decimal"), 32));
  EXPECT_EQ(Hex(key_json.at("y_hex")), DecimalToBytes(key_json.at("y_decimal"), 32));
  // The private scalar is not needed to verify; only its two spellings are
  // checked against each other.
  EXPECT_EQ(Hex(key_json.at("d_hex")), DecimalToBytes(key_json.at("d_decimal"), 32));
  Bytes point = Hex(key_json.at("public_uncompressed_hex"));
  Bytes xy = {0x04};
  for (const char* f : {"x_hex", "y_hex"}) {
    Bytes c = Hex(key_json.at(f));
    xy.insert(xy.end(), c.begin(), c.end());
  }
  EXPECT_EQ(point, xy);
  EXPECT_THAT(key_json.at("algorithm").get<std::string>(), ::testing::HasSubstr("P-256 with SHA-256"));
  EXPECT_THAT(key_json.at("signature_encoding").get<std::string>(), ::testing::HasSubstr("r||s"));

  Result<Bytes> raw_sig = Base64Decode(envelope.at("signatures")[0].at("sig").get<std::string>());
  ASSERT_THAT(raw_sig, IsOk());
  EXPECT_EQ(*raw_sig, Hex(file.at("signature_hex")));
  Result<PublicKey> key = PublicKey::FromEcPoint(KeyType::kEcdsaP256Sha256, point);
  ASSERT_THAT(key, IsOk());
  Result<Bytes> der = EcdsaRawToDer(KeyType::kEcdsaP256Sha256, *raw_sig);
  ASSERT_THAT(der, IsOk());
  EXPECT_THAT(key->Verify(AsBytes(pae), *der), IsOk());

  // Negative: the raw r||s form is not DER, a changed PAE or payload type
  // does not verify.
  EXPECT_THAT(key->Verify(AsBytes(pae), *raw_sig), HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(key->Verify(AsBytes(Pae(type + "x", body)), *der), HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(key->Verify(AsBytes(body), *der), HasCode(StatusCode::kUnauthenticated));
}

// ---------------------------------------------------------- Round trips

class KeyRoundTrip : public ::testing::TestWithParam<KeyType> {};

TEST_P(KeyRoundTrip, SignVerify) {
  Result<PrivateKey> key = PrivateKey::Generate(GetParam());
  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(key->type(), GetParam());
  Bytes message = ToBytes("arca manifest v1");
  Result<Bytes> sig = key->Sign(message);
  ASSERT_THAT(sig, IsOk());
  EXPECT_THAT(key->public_key().Verify(message, *sig), IsOk());
  message[0] ^= 1;
  EXPECT_THAT(key->public_key().Verify(message, *sig), HasCode(StatusCode::kUnauthenticated));
}

TEST_P(KeyRoundTrip, EmptyMessage) {
  Result<PrivateKey> key = PrivateKey::Generate(GetParam());
  ASSERT_THAT(key, IsOk());
  Result<Bytes> sig = key->Sign({});
  ASSERT_THAT(sig, IsOk());
  EXPECT_THAT(key->public_key().Verify({}, *sig), IsOk());
}

TEST_P(KeyRoundTrip, WrongKeyIsUnauthenticated) {
  Result<PrivateKey> a = PrivateKey::Generate(GetParam());
  Result<PrivateKey> b = PrivateKey::Generate(GetParam());
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  Result<Bytes> sig = a->Sign(ToBytes("m"));
  ASSERT_THAT(sig, IsOk());
  Status s = b->public_key().Verify(ToBytes("m"), *sig);
  EXPECT_THAT(s, HasCode(StatusCode::kUnauthenticated));
  // The message names the key by id, for logs.
  EXPECT_THAT(s.message(), ::testing::HasSubstr(b->public_key().KeyId().substr(0, 16)));
}

TEST_P(KeyRoundTrip, PlainPrivatePem) {
  Result<PrivateKey> key = PrivateKey::Generate(GetParam());
  ASSERT_THAT(key, IsOk());
  Result<SecretBytes> pem = key->ToPem();
  ASSERT_THAT(pem, IsOk());
  EXPECT_THAT(ToStr(*pem), ::testing::StartsWith("-----BEGIN PRIVATE KEY-----\n"));
  Result<PrivateKey> again = PrivateKey::FromPem(ToStr(*pem));
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->public_key().KeyId(), key->public_key().KeyId());
  Result<Bytes> sig = again->Sign(ToBytes("m"));
  ASSERT_THAT(sig, IsOk());
  EXPECT_THAT(key->public_key().Verify(ToBytes("m"), *sig), IsOk());
  // A passphrase for an unencrypted key is refused, not ignored.
  EXPECT_THAT(PrivateKey::FromPem(ToStr(*pem), "secret"), HasCode(StatusCode::kInvalidArgument));
}

TEST_P(KeyRoundTrip, EncryptedPrivatePem) {
  Result<PrivateKey> key = PrivateKey::Generate(GetParam());
  ASSERT_THAT(key, IsOk());
  Result<SecretBytes> pem = key->ToPem("correct horse battery staple");
  ASSERT_THAT(pem, IsOk());
  std::string text = ToStr(*pem);
  EXPECT_THAT(text, ::testing::StartsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
  // PBES2 with scrypt (OID 1.3.6.1.4.1.11591.4.11) and AES-256-CBC
  // (2.16.840.1.101.3.4.1.42).
  Bytes der = PemBody(text);
  EXPECT_TRUE(Contains(der, {0x06, 0x09, 0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x04, 0x0b}));
  EXPECT_TRUE(Contains(der, {0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a}));

  Result<PrivateKey> again = PrivateKey::FromPem(text, "correct horse battery staple");
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->public_key().KeyId(), key->public_key().KeyId());
  EXPECT_THAT(PrivateKey::FromPem(text, "correct horse battery stapler"), HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(PrivateKey::FromPem(text), HasCode(StatusCode::kInvalidArgument));
}

TEST_P(KeyRoundTrip, ReadsOpenSslPbkdf2EncryptedPem) {
  // What `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes: PBES2 with PBKDF2.
  Result<PrivateKey> key = PrivateKey::Generate(GetParam());
  ASSERT_THAT(key, IsOk());
  Result<SecretBytes> plain = key->ToPem();
  ASSERT_THAT(plain, IsOk());
  BioPtr in(BIO_new_mem_buf(plain->Expose().data(), int(plain->size())));
  EvpPkeyPtr pkey(PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(pkey);
  BioPtr out(BIO_new(BIO_s_mem()));
  char pass[] = "pbkdf2 pass";
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(out.get(), pkey.get(), EVP_aes_256_cbc(), pass, int(sizeof pass - 1),
                                          nullptr, nullptr),
            1);
  char* data = nullptr;
  long len = BIO_get_mem_data(out.get(), &data);
  std::string pem(data, std::size_t(len));
  Bytes pbkdf2_oid = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c};  // 1.2.840.113549.1.5.12
  EXPECT_TRUE(Contains(PemBody(pem), pbkdf2_oid));
  Result<PrivateKey> again = PrivateKey::FromPem(pem, "pbkdf2 pass");
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->public_key().KeyId(), key->public_key().KeyId());
  EXPECT_THAT(PrivateKey::FromPem(pem, "pbkdf2 pas"), HasCode(StatusCode::kUnauthenticated));
}

TEST_P(KeyRoundTrip, AlteredEncryptedPemIsUnauthenticated) {
  Result<PrivateKey> key = PrivateKey::Generate(GetParam());
  ASSERT_THAT(key, IsOk());
  Result<SecretBytes> pem = key->ToPem("pw");
  ASSERT_THAT(pem, IsOk());
  Bytes der = PemBody(ToStr(*pem));
  ASSERT_FALSE(der.empty());
  der.back() ^= 0x01;  // last ciphertext byte (the final CBC block)
  EXPECT_THAT(PrivateKey::FromPem(ToPemBlock("ENCRYPTED PRIVATE KEY", der), "pw"),
              HasCode(StatusCode::kUnauthenticated));
}

TEST_P(KeyRoundTrip, PublicPemAndDer) {
  Result<PrivateKey> key = PrivateKey::Generate(GetParam());
  ASSERT_THAT(key, IsOk());
  const PublicKey& pub = key->public_key();
  std::string pem = pub.ToPem();
  EXPECT_THAT(pem, ::testing::StartsWith("-----BEGIN PUBLIC KEY-----\n"));
  Result<PublicKey> from_pem = PublicKey::FromPem(pem);
  ASSERT_THAT(from_pem, IsOk());
  EXPECT_EQ(from_pem->ToDer(), pub.ToDer());
  Result<PublicKey> from_der = PublicKey::FromDer(pub.ToDer());
  ASSERT_THAT(from_der, IsOk());
  EXPECT_EQ(from_der->type(), GetParam());
  EXPECT_EQ(PemBody(pem), pub.ToDer());
  // KeyId is the hex SHA-256 of the SPKI DER.
  EXPECT_EQ(pub.KeyId(), HexEncode(Sha256::Hash(pub.ToDer())));
  EXPECT_EQ(pub.KeyId().size(), 64u);
}

TEST_P(KeyRoundTrip, CopiedPublicKeyOutlivesOriginal) {
  Result<PrivateKey> key = PrivateKey::Generate(GetParam());
  ASSERT_THAT(key, IsOk());
  Result<Bytes> sig = key->Sign(ToBytes("m"));
  ASSERT_THAT(sig, IsOk());
  std::optional<PublicKey> copy;
  {
    Result<PublicKey> original = PublicKey::FromDer(key->public_key().ToDer());
    ASSERT_THAT(original, IsOk());
    copy = *original;
  }
  EXPECT_THAT(copy->Verify(ToBytes("m"), *sig), IsOk());
}

INSTANTIATE_TEST_SUITE_P(Types, KeyRoundTrip,
                         ::testing::Values(KeyType::kEd25519, KeyType::kEcdsaP256Sha256, KeyType::kEcdsaP384Sha384),
                         [](const ::testing::TestParamInfo<KeyType>& info) {
                           switch (info.param) {
                             case KeyType::kEd25519: return std::string("Ed25519");
                             case KeyType::kEcdsaP256Sha256: return std::string("P256");
                             case KeyType::kEcdsaP384Sha384: return std::string("P384");
                           }
                           return std::string("Unknown");
                         });

// --------------------------------------------------------------- Refusals

TEST(PublicKeyRefuses, RsaKey) {
  json file = LoadJson(StandardVectorPath("wycheproof/rsa_pss_4096_sha384_mgf1_48_test.json"));
  ASSERT_FALSE(file.is_discarded());
  const json& group = file.at("testGroups")[0];
  EXPECT_THAT(PublicKey::FromDer(Hex(group.at("publicKeyDer"))), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(PublicKey::FromPem(group.at("publicKeyPem").get<std::string>()),
              HasCode(StatusCode::kInvalidArgument));
}

TEST(PrivateKeyRefuses, UnsupportedTypes) {
  struct Case {
    const char* type;
    const char* param;
  };
  for (Case c : {Case{"EC", "P-521"}, Case{"EC", "secp256k1"}, Case{"X25519", nullptr}, Case{"ED448", nullptr}}) {
    EvpPkeyPtr pkey(c.param != nullptr ? EVP_PKEY_Q_keygen(nullptr, nullptr, c.type, c.param)
                                       : EVP_PKEY_Q_keygen(nullptr, nullptr, c.type));
    ASSERT_TRUE(pkey) << c.type;
    EXPECT_THAT(PrivateKey::FromPem(OpenSslPrivatePem(pkey.get())), HasCode(StatusCode::kInvalidArgument))
        << c.type << " " << (c.param != nullptr ? c.param : "");
    Result<Bytes> der = [&]() -> Result<Bytes> {
      int len = i2d_PUBKEY(pkey.get(), nullptr);
      Bytes out(static_cast<std::size_t>(len));
      unsigned char* p = out.data();
      i2d_PUBKEY(pkey.get(), &p);
      return out;
    }();
    EXPECT_THAT(PublicKey::FromDer(*der), HasCode(StatusCode::kInvalidArgument)) << c.type;
  }
}

// Pkcs8P256 wraps a P-256 scalar and public point as PKCS#8 (RFC 5208)
// holding an RFC 5915 ECPrivateKey, curve named in the AlgorithmIdentifier.
std::string Pkcs8P256(std::string_view d_hex, std::string_view point_hex) {
  std::string hex = "308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420" + std::string(d_hex) +
                    "a144034200" + std::string(point_hex);
  Result<Bytes> der = HexDecode(hex);
  EXPECT_TRUE(der.ok());
  return ToPemBlock("PRIVATE KEY", der.ok() ? *der : Bytes{});
}

TEST(PrivateKeyFromPem, DsseExampleKeySignsForItsPublishedPoint) {
  json file = LoadJson(StandardVectorPath("dsse/dsse-pae-example.json"));
  ASSERT_FALSE(file.is_discarded());
  const json& k = file.at("key");
  Result<PrivateKey> key = PrivateKey::FromPem(
      Pkcs8P256(k.at("d_hex").get<std::string>(), k.at("public_uncompressed_hex").get<std::string>()));
  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(key->type(), KeyType::kEcdsaP256Sha256);
  EXPECT_EQ(key->public_key().RawBytes(), Hex(k.at("public_uncompressed_hex")));
  std::string pae = file.at("pae_ascii");
  Result<Bytes> sig = key->Sign(AsBytes(pae));
  ASSERT_THAT(sig, IsOk());
  Result<PublicKey> published =
      PublicKey::FromEcPoint(KeyType::kEcdsaP256Sha256, Hex(k.at("public_uncompressed_hex")));
  ASSERT_THAT(published, IsOk());
  EXPECT_THAT(published->Verify(AsBytes(pae), *sig), IsOk());
}

TEST(PrivateKeyRefuses, EmbeddedPublicKeyThatDoesNotMatch) {
  json dsse = LoadJson(StandardVectorPath("dsse/dsse-pae-example.json"));
  json wycheproof = LoadJson(StandardVectorPath("wycheproof/ecdsa_secp256r1_sha256_test.json"));
  ASSERT_FALSE(dsse.is_discarded());
  ASSERT_FALSE(wycheproof.is_discarded());
  // The DSSE example's scalar with another valid P-256 point.
  std::string other_point = wycheproof.at("testGroups")[0].at("publicKey").at("uncompressed");
  EXPECT_THAT(PrivateKey::FromPem(Pkcs8P256(dsse.at("key").at("d_hex").get<std::string>(), other_point)),
              HasCode(StatusCode::kInvalidArgument));
}

TEST(PrivateKeyRefuses, LegacyPemLabel) {
  Result<PrivateKey> key = PrivateKey::Generate(KeyType::kEcdsaP256Sha256);
  ASSERT_THAT(key, IsOk());
  Result<SecretBytes> pem = key->ToPem();
  ASSERT_THAT(pem, IsOk());
  std::string legacy = ToPemBlock("EC PRIVATE KEY", PemBody(ToStr(*pem)));
  EXPECT_THAT(PrivateKey::FromPem(legacy), HasCode(StatusCode::kInvalidArgument));
}

TEST(PrivateKeyRefuses, PublicKeyPem) {
  Result<PrivateKey> key = PrivateKey::Generate(KeyType::kEd25519);
  ASSERT_THAT(key, IsOk());
  EXPECT_THAT(PrivateKey::FromPem(key->public_key().ToPem()), HasCode(StatusCode::kInvalidArgument));
  Result<SecretBytes> pem = key->ToPem();
  ASSERT_THAT(pem, IsOk());
  EXPECT_THAT(PublicKey::FromPem(ToStr(*pem)), HasCode(StatusCode::kInvalidArgument));
}

TEST(PrivateKeyRefuses, TrailingDataAfterPem) {
  Result<PrivateKey> key = PrivateKey::Generate(KeyType::kEd25519);
  ASSERT_THAT(key, IsOk());
  Result<SecretBytes> pem = key->ToPem();
  ASSERT_THAT(pem, IsOk());
  EXPECT_THAT(PrivateKey::FromPem(ToStr(*pem) + "\n  \n"), IsOk());
  EXPECT_THAT(PrivateKey::FromPem(ToStr(*pem) + "garbage\n"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(PrivateKey::FromPem(ToStr(*pem) + ToStr(*pem)), HasCode(StatusCode::kInvalidArgument));
}

TEST(PrivateKeyRefuses, EmptyPassphraseOnWrite) {
  Result<PrivateKey> key = PrivateKey::Generate(KeyType::kEd25519);
  ASSERT_THAT(key, IsOk());
  EXPECT_THAT(key->ToPem(""), HasCode(StatusCode::kInvalidArgument));
}

TEST(PrivateKeyRefuses, OversizedPem) {
  std::string huge(kMaxPemBytes + 1, 'A');
  EXPECT_THAT(PrivateKey::FromPem(huge), HasCode(StatusCode::kResourceExhausted));
  EXPECT_THAT(PublicKey::FromPem(huge), HasCode(StatusCode::kResourceExhausted));
}

TEST(PrivateKeyRefuses, NotPem) {
  EXPECT_THAT(PrivateKey::FromPem(""), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(PrivateKey::FromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
              HasCode(StatusCode::kInvalidArgument));
}

TEST(PrivateKeyRefuses, WrongSeedSize) {
  EXPECT_THAT(PrivateKey::FromRawEd25519Seed(Bytes(31)), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(PrivateKey::FromRawEd25519Seed(Bytes(64)), HasCode(StatusCode::kInvalidArgument));
}

class P256Key : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<PrivateKey> key = PrivateKey::Generate(KeyType::kEcdsaP256Sha256);
    ASSERT_THAT(key, IsOk());
    der_ = key->public_key().ToDer();
    point_ = key->public_key().RawBytes();
  }
  Bytes der_;
  Bytes point_;
};

TEST_F(P256Key, TrailingByteAfterSpki) {
  der_.push_back(0x00);
  EXPECT_THAT(PublicKey::FromDer(der_), HasCode(StatusCode::kInvalidArgument));
}

TEST_F(P256Key, TruncatedSpki) {
  der_.pop_back();
  EXPECT_THAT(PublicKey::FromDer(der_), HasCode(StatusCode::kInvalidArgument));
}

TEST_F(P256Key, CompressedPointIsNotCanonical) {
  // SEQUENCE { AlgorithmIdentifier(id-ecPublicKey, prime256v1),
  //            BIT STRING 02/03 || X } (RFC 5480 §2.2)
  Bytes compressed = Hex("3039301306072a8648ce3d020106082a8648ce3d030107032200");
  compressed.push_back((point_.back() & 1) != 0 ? 0x03 : 0x02);
  compressed.insert(compressed.end(), point_.begin() + 1, point_.begin() + 33);
  EXPECT_THAT(PublicKey::FromDer(compressed), HasCode(StatusCode::kInvalidArgument));
}

TEST_F(P256Key, PointOffCurve) {
  point_.back() ^= 0x01;
  EXPECT_THAT(PublicKey::FromEcPoint(KeyType::kEcdsaP256Sha256, point_), HasCode(StatusCode::kInvalidArgument));
  Bytes spki = der_;
  spki.back() ^= 0x01;
  EXPECT_THAT(PublicKey::FromDer(spki), HasCode(StatusCode::kInvalidArgument));
}

TEST_F(P256Key, PointWrongForm) {
  EXPECT_THAT(PublicKey::FromEcPoint(KeyType::kEcdsaP384Sha384, point_), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(PublicKey::FromEcPoint(KeyType::kEd25519, point_), HasCode(StatusCode::kInvalidArgument));
  point_[0] = 0x02;
  EXPECT_THAT(PublicKey::FromEcPoint(KeyType::kEcdsaP256Sha256, point_), HasCode(StatusCode::kInvalidArgument));
}

TEST(PublicKeyRefuses, WrongRawEd25519Size) {
  EXPECT_THAT(PublicKey::FromRawEd25519(Bytes(31)), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(PublicKey::FromRawEd25519(Bytes(33)), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(PublicKey::FromDer({}), HasCode(StatusCode::kInvalidArgument));
}

// ------------------------------------------------------- Signature encoding

TEST(EcdsaSignatureEncoding, BerLongFormLengthIsRefused) {
  Result<PrivateKey> key = PrivateKey::Generate(KeyType::kEcdsaP256Sha256);
  ASSERT_THAT(key, IsOk());
  Result<Bytes> sig = key->Sign(ToBytes("m"));
  ASSERT_THAT(sig, IsOk());
  ASSERT_LT((*sig)[1], 0x80);
  // Same SEQUENCE with its length in the (BER-only) long form 0x81 LL.
  Bytes ber = {0x30, 0x81, (*sig)[1]};
  ber.insert(ber.end(), sig->begin() + 2, sig->end());
  EXPECT_THAT(key->public_key().Verify(ToBytes("m"), ber), HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(EcdsaDerToRaw(KeyType::kEcdsaP256Sha256, ber), HasCode(StatusCode::kInvalidArgument));
  Bytes trailing = *sig;
  trailing.push_back(0);
  EXPECT_THAT(key->public_key().Verify(ToBytes("m"), trailing), HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(EcdsaDerToRaw(KeyType::kEcdsaP256Sha256, trailing), HasCode(StatusCode::kInvalidArgument));
}

TEST(EcdsaSignatureEncoding, RawToDerRoundTripAndSizes) {
  Result<PrivateKey> key = PrivateKey::Generate(KeyType::kEcdsaP384Sha384);
  ASSERT_THAT(key, IsOk());
  Result<Bytes> sig = key->Sign(ToBytes("m"));
  ASSERT_THAT(sig, IsOk());
  Result<Bytes> raw = EcdsaDerToRaw(KeyType::kEcdsaP384Sha384, *sig);
  ASSERT_THAT(raw, IsOk());
  EXPECT_EQ(raw->size(), 96u);
  Result<Bytes> der = EcdsaRawToDer(KeyType::kEcdsaP384Sha384, *raw);
  ASSERT_THAT(der, IsOk());
  EXPECT_EQ(*der, *sig);
  EXPECT_THAT(EcdsaRawToDer(KeyType::kEcdsaP256Sha256, *raw), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(EcdsaRawToDer(KeyType::kEd25519, Bytes(64)), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(EcdsaDerToRaw(KeyType::kEd25519, *sig), HasCode(StatusCode::kInvalidArgument));
  // A P-384 integer does not fit a P-256 r||s.
  EXPECT_THAT(EcdsaDerToRaw(KeyType::kEcdsaP256Sha256, *sig), HasCode(StatusCode::kInvalidArgument));
}

TEST(SignatureCrossType, Ed25519SignatureOnEcdsaKey) {
  Result<PrivateKey> ed = PrivateKey::Generate(KeyType::kEd25519);
  Result<PrivateKey> ec = PrivateKey::Generate(KeyType::kEcdsaP256Sha256);
  ASSERT_THAT(ed, IsOk());
  ASSERT_THAT(ec, IsOk());
  Result<Bytes> ed_sig = ed->Sign(ToBytes("m"));
  Result<Bytes> ec_sig = ec->Sign(ToBytes("m"));
  ASSERT_THAT(ed_sig, IsOk());
  ASSERT_THAT(ec_sig, IsOk());
  EXPECT_THAT(ec->public_key().Verify(ToBytes("m"), *ed_sig), HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(ed->public_key().Verify(ToBytes("m"), *ec_sig), HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(ed->public_key().Verify(ToBytes("m"), {}), HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(ec->public_key().Verify(ToBytes("m"), {}), HasCode(StatusCode::kUnauthenticated));
}

TEST(KeyTypeNames, Stable) {
  EXPECT_EQ(KeyTypeName(KeyType::kEd25519), "ed25519");
  EXPECT_EQ(KeyTypeName(KeyType::kEcdsaP256Sha256), "ecdsa-p256-sha256");
  EXPECT_EQ(KeyTypeName(KeyType::kEcdsaP384Sha384), "ecdsa-p384-sha384");
}

}  // namespace
}  // namespace arca::crypto
