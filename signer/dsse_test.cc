#include "signer/dsse.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/testing/status_matchers.h"
#include "base/testing/test_vectors.h"
#include "signer/statement.h"

namespace arca::signer {
namespace {

using ::testing::HasSubstr;

Bytes B(std::string_view s) { return Bytes(s.begin(), s.end()); }

// The DSSE spec's own example (protocol.md "Test Vectors"), from
// ../shared/vectors/standards/dsse/dsse-pae-example.json.
class DsseSpecVector : public ::testing::Test {
 protected:
  void SetUp() override {
    v_ = test_vectors::LoadJson(test_vectors::StandardVectorPath("dsse/dsse-pae-example.json"));
    ASSERT_FALSE(v_.is_discarded());
  }
  nlohmann::json v_;
};

TEST_F(DsseSpecVector, PaeMatchesTheSpec) {
  Bytes pae = PreAuthEncoding(v_["payloadType"].get<std::string>(), B(v_["payload_utf8"].get<std::string>()));
  EXPECT_EQ(ToString(pae), v_["pae_ascii"].get<std::string>());
  EXPECT_EQ(HexEncode(pae), v_["pae_hex"].get<std::string>());
}

TEST_F(DsseSpecVector, SpecEnvelopeVerifiesWithTheSpecKey) {
  auto env = ParseDsseEnvelope(AsBytes(v_["envelope"].dump()));
  ASSERT_THAT(env, IsOk());
  EXPECT_EQ(ToString(env->payload), v_["payload_utf8"].get<std::string>());
  ASSERT_EQ(env->signatures.size(), 1u);
  auto key = crypto::PublicKey::FromEcPoint(crypto::KeyType::kEcdsaP256Sha256,
                                            HexDecode(v_["key"]["public_uncompressed_hex"].get<std::string>()).value());
  ASSERT_THAT(key, IsOk());
  // The spec publishes raw r||s; our envelopes carry DER, as OpenSSL and Sigstore expect.
  EXPECT_EQ(HexEncode(env->signatures[0].sig), v_["signature_hex"].get<std::string>());
  DsseEnvelope der = *env;
  der.signatures[0].sig = crypto::EcdsaRawToDer(crypto::KeyType::kEcdsaP256Sha256, env->signatures[0].sig).value();
  EXPECT_THAT(VerifyDsseSignature(der, der.signatures[0], *key), IsOk());
  der.payload.back() ^= 1;
  EXPECT_THAT(VerifyDsseSignature(der, der.signatures[0], *key), HasCode(StatusCode::kUnauthenticated));
}

TEST(Dsse, PaeCountsBytesNotCharacters) {
  EXPECT_EQ(ToString(PreAuthEncoding("t", B("\xc3\xa9"))), "DSSEv1 1 t 2 \xc3\xa9");
  EXPECT_EQ(ToString(PreAuthEncoding("", B(""))), "DSSEv1 0  0 ");
}

std::unique_ptr<Signer> NewSigner(crypto::KeyType type = crypto::KeyType::kEd25519) {
  return MakeKeySigner(crypto::PrivateKey::Generate(type).value());
}

TEST(Dsse, SignParseVerifyRoundTripBothKeyTypes) {
  for (auto type : {crypto::KeyType::kEd25519, crypto::KeyType::kEcdsaP256Sha256}) {
    auto signer = NewSigner(type);
    DsseEnvelope env{std::string(kInTotoPayloadType), B("{\"x\":1}"), {}};
    env.signatures.push_back(SignDsse(*signer, env.payload_type, env.payload).value());
    auto parsed = ParseDsseEnvelope(AsBytes(SerializeDsseEnvelope(env)));
    ASSERT_THAT(parsed, IsOk());
    EXPECT_EQ(parsed->signatures[0].keyid, signer->KeyId());
    EXPECT_THAT(VerifyDsseSignature(*parsed, parsed->signatures[0], signer->public_key()), IsOk());
  }
}

TEST(Dsse, ChangedPayloadTypeIsRefused) {
  auto signer = NewSigner();
  DsseEnvelope env{"application/vnd.in-toto+json", B("{}"), {}};
  env.signatures.push_back(SignDsse(*signer, env.payload_type, env.payload).value());
  env.payload_type = "application/vnd.other+json";
  EXPECT_THAT(VerifyDsseSignature(env, env.signatures[0], signer->public_key()), HasCode(StatusCode::kUnauthenticated));
}

TEST(Dsse, KeyidOfAnotherKeyIsRefused) {
  auto a = NewSigner(), b = NewSigner();
  DsseEnvelope env{"t", B("p"), {}};
  env.signatures.push_back(SignDsse(*a, env.payload_type, env.payload).value());
  EXPECT_THAT(VerifyDsseSignature(env, env.signatures[0], b->public_key()),
              HasCodeAndMessage(StatusCode::kUnauthenticated, "is not the key"));
}

TEST(Dsse, UrlSafeBase64IsAccepted) {
  // 0xfb 0xff encodes as "+/8=" standard, "-_8" URL-safe unpadded.
  auto env = ParseDsseEnvelope(AsBytes(R"({"payload":"-_8","payloadType":"t","signatures":[{"sig":"-_8="}]})"));
  ASSERT_THAT(env, IsOk());
  EXPECT_EQ(HexEncode(env->payload), "fbff");
  EXPECT_EQ(HexEncode(env->signatures[0].sig), "fbff");
}

TEST(Dsse, MalformedEnvelopesAreRefusedNamingTheField) {
  struct Case {
    const char* json;
    const char* message;
  } cases[] = {
      {"[]", "object"},
      {R"({"payloadType":"t","signatures":[]})", "payload"},
      {R"({"payload":"","signatures":[]})", "payloadType"},
      {R"({"payload":"","payloadType":"t"})", "signatures"},
      {R"({"payload":"@@","payloadType":"t","signatures":[]})", "payload"},
      {R"({"payload":"","payloadType":"t","signatures":[{"sig":"!!"}]})", "signatures[0].sig"},
      {R"({"payload":"","payloadType":"t","signatures":[{"sig":""}]})", "empty"},
      {R"({"payload":"","payloadType":"t","signatures":[{"keyid":1,"sig":"AA=="}]})", "keyid"},
      {R"({"payload":"","payloadType":"t","signatures":[{"sig":"AA==","extra":1}]})", "extra"},
      {R"({"payload":"","payloadType":"t","signatures":[],"more":true})", "more"},
      {R"({"payload":"","payloadType":"","signatures":[]})", "payloadType"},
      {R"({"payload":"","payload":"","payloadType":"t","signatures":[]})", "duplicate"},
  };
  for (const auto& c : cases) {
    EXPECT_THAT(ParseDsseEnvelope(AsBytes(c.json)), HasCodeAndMessage(StatusCode::kInvalidArgument, c.message)) << c.json;
  }
}

TEST(Dsse, OversizeEnvelopeAndTooManySignaturesAreRefused) {
  DsseLimits limits;
  limits.max_bytes = 64;
  EXPECT_THAT(ParseDsseEnvelope(Bytes(65, ' '), limits), HasCode(StatusCode::kResourceExhausted));
  std::string many = R"({"payload":"","payloadType":"t","signatures":[)";
  for (int i = 0; i < 33; ++i) many += std::string(i ? "," : "") + R"({"sig":"AA=="})";
  many += "]}";
  EXPECT_THAT(ParseDsseEnvelope(AsBytes(many)), HasCode(StatusCode::kResourceExhausted));
}

TEST(Dsse, SerializationIsCanonical) {
  DsseEnvelope env{"t", B("hi"), {{"k", B("s")}}};
  EXPECT_EQ(SerializeDsseEnvelope(env), R"({"payload":"aGk=","payloadType":"t","signatures":[{"keyid":"k","sig":"cw=="}]})");
}

// --- in-toto statements

constexpr char kHex64[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

TEST(Statement, ParsesTheInTotoReferenceExample) {
  auto j = test_vectors::LoadJson(test_vectors::StandardVectorPath("attestation-examples/in-toto-statement-v1-reference.json"));
  ASSERT_FALSE(j.is_discarded());
  auto st = ParseStatement(AsBytes(j.dump()));
  ASSERT_THAT(st, IsOk());
  EXPECT_FALSE(st->subjects.empty());
  EXPECT_FALSE(st->predicate_type.empty());
}

TEST(Statement, RoundTripsCanonically) {
  Statement st{{Subject{"acme/m:1", {{"sha256", kHex64}}}}, "https://example.org/p", {{"b", 1}, {"a", "x"}}};
  std::string text = SerializeStatement(st).value();
  EXPECT_EQ(text, std::string(R"({"_type":"https://in-toto.io/Statement/v1","predicate":{"a":"x","b":1},"predicateType":"https://example.org/p","subject":[{"digest":{"sha256":")") +
                      kHex64 + R"("},"name":"acme/m:1"}]})");
  auto back = ParseStatement(AsBytes(text));
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(SubjectSha256Digests(*back), std::vector<std::string>{std::string("sha256:") + kHex64});
}

TEST(Statement, BadStatementsAreRefusedNamingTheField) {
  std::string sub = std::string(R"([{"name":"n","digest":{"sha256":")") + kHex64 + R"("}}])";
  struct Case {
    std::string json;
    const char* message;
  } cases[] = {
      {R"({"_type":"https://in-toto.io/Statement/v0.1","subject":)" + sub + R"(,"predicateType":"p"})", "_type"},
      {R"({"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"p"})", "subject list is empty"},
      {R"({"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"ABC"}}],"predicateType":"p"})", "sha256"},
      {R"({"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{}}],"predicateType":"p"})", "digest is empty"},
      {R"({"_type":"https://in-toto.io/Statement/v1","subject":)" + sub + R"(})", "predicateType"},
      {R"({"_type":"https://in-toto.io/Statement/v1","subject":)" + sub + R"(,"predicateType":"p","predicate":[]})", "predicate must be an object"},
      {R"({"_type":"https://in-toto.io/Statement/v1","subject":)" + sub + R"(,"predicateType":"p","x":1})", "x"},
  };
  for (const auto& c : cases) {
    EXPECT_THAT(ParseStatement(AsBytes(c.json)), HasCodeAndMessage(StatusCode::kInvalidArgument, c.message)) << c.json;
  }
}

TEST(Statement, OversizeIsRefused) {
  StatementLimits limits;
  limits.max_bytes = 10;
  EXPECT_THAT(ParseStatement(Bytes(11, ' '), limits), HasCode(StatusCode::kResourceExhausted));
}

}  // namespace
}  // namespace arca::signer
