// The key broker on real sealed, signed packages with simulated SNP
// evidence: a release that should happen gives exactly the version's chunk
// keys; each refusal (measurement, revoked, debug, replay, another package,
// wrong key, expiry, rollback) happens and says why.
#include "registry-server/keybroker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "attest/binding.h"
#include "attest/sim.h"
#include <httplib.h>

#include "base/hpke.h"
#include "base/testing/status_matchers.h"
#include "base/testing/temp_dir.h"
#include "format/testing/synthetic_weights.h"
#include "signer/package_signing.h"
#include "signer/pkcs11_aes.h"

// Sanitizer builds: SoftHSM (the PKCS#11 master key tests) leaks; see
// signer/pkcs11_test.cc and tests/lsan.supp.
extern "C" const char* __lsan_default_options() {
  return "fast_unwind_on_malloc=0:suppressions=" ARCA_SOURCE_DIR "/tests/lsan.supp";
}

namespace arca::keybroker {
namespace {

using ::testing::HasSubstr;
namespace stdfs = std::filesystem;

constexpr UnixSeconds kNow = 1800000000;

void WriteFile(const std::string& path, ByteSpan data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size()));
}

std::array<std::uint8_t, 48> Measurement(std::uint8_t fill) {
  std::array<std::uint8_t, 48> m;
  m.fill(fill);
  return m;
}

class KeyBrokerTest : public ::testing::Test {
 protected:
  KeyBrokerTest() : lineage_(format::LineageKey::FromBytes(Bytes(32, 0x11)).value()) {
    key_ = signer::MakeKeySigner(crypto::PrivateKey::Generate(crypto::KeyType::kEd25519).value());
    root_.root.namespace_name = "acme";
    root_.root.version = 1;
    root_.root.threshold = 1;
    root_.root.keys.emplace(key_->KeyId(), key_->public_key());
    EXPECT_THAT(signer::SignRoot(*key_, root_), IsOk());
    stdfs::create_directories(model_);
    WriteFile(model_ + "/weights.bin", format::test_data::Bf16Weights(40000, 7));
    pkg_ = Seal("pkg", "1.0", Bf16(40000, 7));
    judge_.roots = attest::SimRootStore().value();
  }

  FileSystem& fs() { return FileSystem::Default(); }
  static Bytes Bf16(std::size_t n, int seed) { return format::test_data::Bf16Weights(n, seed); }

  std::string Seal(const std::string& name, const std::string& version, const Bytes& weights) {
    std::string model = tmp_.path() + "/model-" + name;
    stdfs::create_directories(model);
    WriteFile(model + "/weights.bin", weights);
    format::SealOptions o;
    o.name = "acme/med-llm";
    o.version = version;
    o.chunking = format::ChunkingParams{1024, 4096, 16384};
    o.pack_target_bytes = 32 * 1024;
    o.attach = signer::SealAttachments({key_.get()}, std::nullopt);
    std::string dir = tmp_.path() + "/" + name;
    EXPECT_THAT(format::Seal(fs(), model, dir, lineage_, o), IsOk());
    return dir;
  }

  format::LoadedPackage Load(const std::string& pkg) { return format::LoadPackage(fs(), {pkg, ""}).value(); }

  // AttachPolicy signs and attaches a policy allowing `allowed` (sim SNP).
  void AttachPolicy(const std::string& pkg, std::uint64_t version, std::vector<std::array<std::uint8_t, 48>> allowed,
                    std::vector<std::string> revoked = {}, std::optional<UnixSeconds> expires = kNow + 86400) {
    auto p = Load(pkg);
    signer::Policy policy;
    policy.subject = signer::SubjectOf(p.manifest, p.manifest_blob.digest);
    policy.version = version;
    policy.expires = expires;
    for (const auto& m : allowed) policy.allow.push_back(signer::PolicyRule{"sev-snp", HexEncode(m), {{"snp", 8}}});
    policy.revoked = std::move(revoked);
    std::string payload = signer::SerializeStatement(signer::PolicyToStatement(policy)).value();
    signer::DsseEnvelope env{std::string(signer::kInTotoPayloadType), Bytes(payload.begin(), payload.end()), {}};
    env.signatures.push_back(signer::SignDsse(*key_, env.payload_type, env.payload).value());
    ASSERT_THAT(signer::AttachPolicy(fs(), format::PackageRef{pkg, ""}, env), IsOk());
  }

  std::unique_ptr<KeyBroker> OpenBroker() { return KeyBroker::Open(tmp_.path() + "/kb").value(); }
  std::string Digest(const std::string& pkg) { return Load(pkg).manifest_blob.digest; }

  // Request builds a release request as a runtime would: the evidence binds
  // (nonce, key, package, policy) unless told to bind something else.
  release::ReleaseRequest Request(const release::Challenge& c, const std::string& package,
                                  const crypto::X25519KeyPair& kp, std::array<std::uint8_t, 48> measurement,
                                  bool debug = false, std::optional<std::string> bind_package = std::nullopt) {
    release::ReleaseRequest r;
    r.package_digest = package;
    r.nonce = c.nonce;
    r.public_key = kp.public_key;
    std::string bound = bind_package.value_or(package);
    auto binding = attest::ComputeEvidenceBinding({c.nonce, kp.public_key, bound, c.policy_digest}).value();
    attest::SimSnpOptions o;
    o.report_data = binding;
    o.measurement = measurement;
    o.debug = debug;
    r.evidence = attest::SerializeBundle(attest::SimSnpEvidence(o).value()).value();
    return r;
  }

  testing_util::TempDir tmp_;
  std::string model_ = tmp_.path() + "/model";
  format::LineageKey lineage_;
  std::unique_ptr<signer::Signer> key_;
  signer::SignedRoot root_;
  std::string pkg_;
  JudgeOptions judge_;
};

TEST_F(KeyBrokerTest, ReleasesExactlyTheVersionsChunkKeysToTheBoundKey) {
  AttachPolicy(pkg_, 1, {Measurement(0xA1)});
  auto kb = OpenBroker();
  auto reg = kb->Register(fs(), {pkg_, ""}, lineage_, root_, kNow);
  ASSERT_THAT(reg, IsOk());
  EXPECT_EQ(reg->package_digest, Digest(pkg_));
  auto c = kb->Challenge({Digest(pkg_)}, kNow);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->policy_digest, reg->policy_digest);
  auto kp = crypto::X25519GenerateKeyPair().value();
  ReleaseOutcome out = kb->Release(Request(*c, Digest(pkg_), kp, Measurement(0xA1)), judge_, kNow + 1);
  ASSERT_THAT(out.status, IsOk());
  ASSERT_TRUE(out.decision && out.decision->allowed());
  // Through the wire format and back.
  auto wire = release::ParseReleaseResponse(release::SerializeReleaseResponse(out.response));
  ASSERT_THAT(wire, IsOk());
  auto keys = release::OpenChunkKeys(*wire, kp.private_key, c->nonce, Digest(pkg_), c->policy_digest);
  ASSERT_THAT(keys, IsOk());
  const auto& m = Load(pkg_).manifest;
  std::set<format::ChunkId> ids;
  for (const auto& ch : m.chunks) ids.insert(ch.id);
  ASSERT_EQ(keys->size(), ids.size());
  for (const auto& id : ids) {
    ASSERT_TRUE(keys->count(id));
    EXPECT_TRUE(ConstantTimeEquals(keys->at(id).Expose(), lineage_.ChunkKey(id).Expose()));
  }
  // Another key pair cannot open it; nor can the same one under another nonce.
  auto other = crypto::X25519GenerateKeyPair().value();
  EXPECT_THAT(release::OpenChunkKeys(*wire, other.private_key, c->nonce, Digest(pkg_), c->policy_digest),
              HasCode(StatusCode::kUnauthenticated));
  Bytes nonce2 = c->nonce;
  nonce2[0] ^= 1;
  EXPECT_THAT(release::OpenChunkKeys(*wire, kp.private_key, nonce2, Digest(pkg_), c->policy_digest),
              HasCode(StatusCode::kUnauthenticated));
  auto log = kb->Releases(10).value();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_TRUE(log[0].released);
  EXPECT_EQ(log[0].measurement, HexEncode(Measurement(0xA1)));
}

TEST_F(KeyBrokerTest, KeysOfAnotherVersionAreNeverReleased) {
  // v2 shares some chunks with v1 and has its own; a release for v1 must not
  // carry a key of a chunk only v2 has.
  Bytes w2 = Bf16(40000, 7);
  for (std::size_t i = w2.size() / 2; i < w2.size(); ++i) w2[i] ^= 0x5a;
  std::string pkg2 = Seal("pkg2", "2.0", w2);
  AttachPolicy(pkg_, 1, {Measurement(0xA1)});
  auto kb = OpenBroker();
  ASSERT_THAT(kb->Register(fs(), {pkg_, ""}, lineage_, root_, kNow), IsOk());
  auto c = kb->Challenge({Digest(pkg_)}, kNow).value();
  auto kp = crypto::X25519GenerateKeyPair().value();
  ReleaseOutcome out = kb->Release(Request(c, Digest(pkg_), kp, Measurement(0xA1)), judge_, kNow);
  ASSERT_THAT(out.status, IsOk());
  auto keys = release::OpenChunkKeys(out.response, kp.private_key, c.nonce, Digest(pkg_), c.policy_digest).value();
  std::set<format::ChunkId> v1;
  for (const auto& ch : Load(pkg_).manifest.chunks) v1.insert(ch.id);
  std::size_t only_v2 = 0;
  for (const auto& ch : Load(pkg2).manifest.chunks) {
    if (v1.count(ch.id)) continue;
    ++only_v2;
    EXPECT_EQ(keys.count(ch.id), 0u);
  }
  EXPECT_GT(only_v2, 0u);
}

TEST_F(KeyBrokerTest, RefusalsNameTheClause) {
  // B2 is both allowed and revoked: revocation wins.
  AttachPolicy(pkg_, 1, {Measurement(0xA1), Measurement(0xB2)}, {HexEncode(Measurement(0xB2))});
  auto kb = OpenBroker();
  ASSERT_THAT(kb->Register(fs(), {pkg_, ""}, lineage_, root_, kNow), IsOk());
  const std::string d = Digest(pkg_);
  auto kp = crypto::X25519GenerateKeyPair().value();
  struct Case {
    const char* clause;
    std::array<std::uint8_t, 48> measurement;
    bool debug;
    std::optional<std::string> bind_package;
    UnixSeconds at;
  };
  const std::string other = "sha256:" + std::string(64, 'c');
  for (const Case& k : {Case{"measurement", Measurement(0xC3), false, std::nullopt, kNow},
                        Case{"revoked", Measurement(0xB2), false, std::nullopt, kNow},
                        Case{"debug", Measurement(0xA1), true, std::nullopt, kNow},
                        Case{"binding", Measurement(0xA1), false, other, kNow}}) {
    SCOPED_TRACE(k.clause);
    auto c = kb->Challenge({d}, k.at).value();
    ReleaseOutcome out = kb->Release(Request(c, d, kp, k.measurement, k.debug, k.bind_package), judge_, k.at);
    EXPECT_THAT(out.status, HasCodeAndMessage(StatusCode::kPermissionDenied, std::string("policy clause ") + k.clause));
    EXPECT_TRUE(out.response.keys.empty());
  }
  // The measurement refusal says expected vs actual.
  auto c = kb->Challenge({d}, kNow).value();
  ReleaseOutcome out = kb->Release(Request(c, d, kp, Measurement(0xC3)), judge_, kNow);
  EXPECT_THAT(out.status.message(), HasSubstr("c3c3c3"));
  EXPECT_THAT(out.status.message(), HasSubstr("a1a1a1"));
  auto log = kb->Releases(100).value();
  EXPECT_EQ(log.size(), 5u);
  for (const auto& r : log) EXPECT_FALSE(r.released);
}

TEST_F(KeyBrokerTest, NonceIsSingleUseShortLivedAndForOnePackage) {
  AttachPolicy(pkg_, 1, {Measurement(0xA1)});
  auto kb = OpenBroker();
  ASSERT_THAT(kb->Register(fs(), {pkg_, ""}, lineage_, root_, kNow), IsOk());
  const std::string d = Digest(pkg_);
  auto kp = crypto::X25519GenerateKeyPair().value();
  auto c = kb->Challenge({d}, kNow).value();
  auto req = Request(c, d, kp, Measurement(0xA1));
  ASSERT_THAT(kb->Release(req, judge_, kNow).status, IsOk());
  EXPECT_THAT(kb->Release(req, judge_, kNow).status, HasCodeAndMessage(StatusCode::kPermissionDenied, "replayed"));
  auto late = kb->Challenge({d}, kNow).value();
  EXPECT_THAT(kb->Release(Request(late, d, kp, Measurement(0xA1)), judge_, kNow + release::kNonceLifetimeSeconds).status,
              HasCodeAndMessage(StatusCode::kPermissionDenied, "expired"));
  EXPECT_THAT(kb->Challenge({"sha256:" + std::string(64, 'd')}, kNow), HasCode(StatusCode::kNotFound));
}

TEST_F(KeyBrokerTest, SimulatedEvidenceNeedsTheTestRoots) {
  AttachPolicy(pkg_, 1, {Measurement(0xA1)});
  auto kb = OpenBroker();
  ASSERT_THAT(kb->Register(fs(), {pkg_, ""}, lineage_, root_, kNow), IsOk());
  JudgeOptions pinned;
  pinned.roots = attest::RootStore::Pinned().value();
  auto kp = crypto::X25519GenerateKeyPair().value();
  auto c = kb->Challenge({Digest(pkg_)}, kNow).value();
  ReleaseOutcome out = kb->Release(Request(c, Digest(pkg_), kp, Measurement(0xA1)), pinned, kNow);
  EXPECT_THAT(out.status, HasCodeAndMessage(StatusCode::kPermissionDenied, "policy clause evidence"));
}

TEST_F(KeyBrokerTest, ExpiredPolicyReleasesNothing) {
  AttachPolicy(pkg_, 1, {Measurement(0xA1)}, {}, kNow + 100);
  auto kb = OpenBroker();
  ASSERT_THAT(kb->Register(fs(), {pkg_, ""}, lineage_, root_, kNow), IsOk());
  auto kp = crypto::X25519GenerateKeyPair().value();
  auto c = kb->Challenge({Digest(pkg_)}, kNow + 200).value();
  EXPECT_THAT(kb->Release(Request(c, Digest(pkg_), kp, Measurement(0xA1)), judge_, kNow + 200).status,
              HasCodeAndMessage(StatusCode::kPermissionDenied, "policy clause expiry"));
}

TEST_F(KeyBrokerTest, RegisterChecksKeyPolicySignaturesAndRollback) {
  auto kb = OpenBroker();
  // No policy attached.
  EXPECT_THAT(kb->Register(fs(), {pkg_, ""}, lineage_, root_, kNow), HasCode(StatusCode::kFailedPrecondition));
  AttachPolicy(pkg_, 2, {Measurement(0xA1)});
  // Another lineage's key.
  auto stranger = format::LineageKey::FromBytes(Bytes(32, 0x22)).value();
  EXPECT_THAT(kb->Register(fs(), {pkg_, ""}, stranger, root_, kNow), HasCode(StatusCode::kUnauthenticated));
  // A root that did not sign the package.
  auto other_key = signer::MakeKeySigner(crypto::PrivateKey::Generate(crypto::KeyType::kEd25519).value());
  signer::SignedRoot other;
  other.root.namespace_name = "acme";
  other.root.version = 1;
  other.root.threshold = 1;
  other.root.keys.emplace(other_key->KeyId(), other_key->public_key());
  ASSERT_THAT(signer::SignRoot(*other_key, other), IsOk());
  EXPECT_FALSE(kb->Register(fs(), {pkg_, ""}, lineage_, other, kNow).ok());
  ASSERT_THAT(kb->Register(fs(), {pkg_, ""}, lineage_, root_, kNow), IsOk());
  // A newer policy replaces; an older one is refused.
  std::string copy = tmp_.path() + "/pkg-old";
  stdfs::copy(pkg_, copy, stdfs::copy_options::recursive);
  AttachPolicy(pkg_, 3, {Measurement(0xA1), Measurement(0xA2)});
  auto r3 = kb->Register(fs(), {pkg_, ""}, lineage_, root_, kNow);
  ASSERT_THAT(r3, IsOk());
  EXPECT_TRUE(r3->replaced_policy);
  EXPECT_THAT(kb->Register(fs(), {copy, ""}, lineage_, root_, kNow),
              HasCodeAndMessage(StatusCode::kFailedPrecondition, "rollback"));
}

TEST_F(KeyBrokerTest, LineageKeysAreStoredEncryptedAndTheMasterKeyIsPrivate) {
  AttachPolicy(pkg_, 1, {Measurement(0xA1)});
  {
    auto kb = OpenBroker();
    ASSERT_THAT(kb->Register(fs(), {pkg_, ""}, lineage_, root_, kNow), IsOk());
  }
  std::string db;
  for (const char* f : {"/kb/keybroker.db", "/kb/keybroker.db-wal"}) {
    std::ifstream in(tmp_.path() + f, std::ios::binary);
    db += std::string(std::istreambuf_iterator<char>(in), {});
  }
  const auto& prk = lineage_.ChunkKeyPrk().Expose();
  EXPECT_EQ(db.find(std::string(reinterpret_cast<const char*>(prk.data()), prk.size())), std::string::npos);
  struct stat st;
  ASSERT_EQ(::stat((tmp_.path() + "/kb/master.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ::chmod((tmp_.path() + "/kb/master.key").c_str(), 0644);
  EXPECT_THAT(KeyBroker::Open(tmp_.path() + "/kb"), HasCodeAndMessage(StatusCode::kPermissionDenied, "chmod 600"));
}

// A large model's release (here 100,000 keys, ~8.5 MB as JSON: a ~80 GB
// model) goes through the wire format; the request limit does not apply.
TEST(ReleaseProtocolTest, LargeReleaseRoundTrips) {
  release::ChunkKeys keys;
  for (std::uint32_t i = 0; i < 100000; ++i) {
    release::ChunkId id{};
    std::memcpy(id.data(), &i, sizeof i);
    id[31] = 0xA5;
    keys.emplace(id, SecretBytes::CopyFrom(Bytes(32, std::uint8_t(i))));
  }
  auto kp = crypto::X25519GenerateKeyPair().value();
  release::ReleaseResponse r;
  r.package_digest = "sha256:" + std::string(64, 'a');
  r.policy_digest = "sha256:" + std::string(64, 'b');
  Bytes nonce(32, 7);
  ASSERT_THAT(release::SealChunkKeys(keys, kp.public_key, nonce, &r), IsOk());
  std::string wire = release::SerializeReleaseResponse(r);
  EXPECT_GT(wire.size(), release::kMaxMessageBytes);
  auto parsed = release::ParseReleaseResponse(wire);
  ASSERT_THAT(parsed, IsOk());
  auto opened = release::OpenChunkKeys(*parsed, kp.private_key, nonce, r.package_digest, r.policy_digest);
  ASSERT_THAT(opened, IsOk());
  EXPECT_EQ(opened->size(), keys.size());
}

TEST(ReleaseProtocolTest, ParsersRefuseMalformedMessages) {
  EXPECT_THAT(release::ParseChallengeRequest("{\"package\":\"sha256:12\"}"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(release::ParseChallengeRequest("{\"package\":\"sha256:" + std::string(64, 'a') + "\",\"x\":1}"),
              HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(release::ParseReleaseRequest("[]"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(release::ParseReleaseRequest(std::string(release::kMaxMessageBytes + 1, ' ')),
              HasCode(StatusCode::kResourceExhausted));
  release::ReleaseRequest r;
  r.package_digest = "sha256:" + std::string(64, 'a');
  r.nonce = Bytes(31, 1);  // one short
  r.evidence = "{}";
  EXPECT_THAT(release::ParseReleaseRequest(release::SerializeReleaseRequest(r)),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "nonce"));
  release::EndpointEvidence e;
  e.package_digest = e.policy_digest = "sha256:" + std::string(64, 'a');
  e.tls_spki = Bytes(1025, 1);  // one byte over the bound
  e.evidence = "{}";
  EXPECT_THAT(release::ParseEndpointEvidence(release::SerializeEndpointEvidence(e)),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "tlsPublicKey"));
  EXPECT_THAT(release::ParseEndpointEvidence("{\"package\":\"sha256:" + std::string(64, 'a') + "\"}"),
              HasCode(StatusCode::kInvalidArgument));
}

TEST(ReleaseProtocolTest, HttpStatusMappingRoundTrips) {
  for (StatusCode c : {StatusCode::kInvalidArgument, StatusCode::kUnauthenticated, StatusCode::kPermissionDenied,
                       StatusCode::kNotFound, StatusCode::kFailedPrecondition}) {
    EXPECT_EQ(release::StatusCodeForHttp(release::HttpStatusFor(c)), c);
  }
  EXPECT_EQ(release::StatusCodeForHttp(release::HttpStatusFor(StatusCode::kResourceExhausted)), StatusCode::kUnavailable);
  EXPECT_EQ(release::StatusCodeForHttp(500), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace arca::keybroker

namespace arca::keybroker {
namespace {

// Over HTTP, as a runtime talks to it: a release, then the same request
// replayed (403, "replayed"), and a refusal body carrying the clauses.
TEST_F(KeyBrokerTest, HttpExchangeAndReplay) {
  AttachPolicy(pkg_, 1, {Measurement(0xA1)});
  auto kb = OpenBroker();
  ASSERT_THAT(kb->Register(fs(), {pkg_, ""}, lineage_, root_, kNow), IsOk());
  ServeOptions so;
  so.port = 0;
  so.log_requests = false;
  so.judge = judge_;
  auto server = Server::Create(*kb, so);
  ASSERT_THAT(server, IsOk());
  ASSERT_THAT((*server)->Start(), IsOk());
  httplib::Client cli("127.0.0.1", (*server)->port());
  const std::string d = Digest(pkg_);
  auto res = cli.Post("/v1/challenge", release::SerializeChallengeRequest({d}), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  auto c = release::ParseChallenge(res->body);
  ASSERT_THAT(c, IsOk());
  auto kp = crypto::X25519GenerateKeyPair().value();
  // The broker judges at its clock: make evidence the sim TEE signs now.
  std::string body = release::SerializeReleaseRequest(Request(*c, d, kp, Measurement(0xA1)));
  res = cli.Post("/v1/release", body, "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  auto rr = release::ParseReleaseResponse(res->body);
  ASSERT_THAT(rr, IsOk());
  EXPECT_THAT(release::OpenChunkKeys(*rr, kp.private_key, c->nonce, d, c->policy_digest), IsOk());
  res = cli.Post("/v1/release", body, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  EXPECT_THAT(res->body, HasSubstr("replayed"));
  // A refusal by policy names its clauses.
  c = release::ParseChallenge(cli.Post("/v1/challenge", release::SerializeChallengeRequest({d}), "application/json")->body);
  ASSERT_THAT(c, IsOk());
  res = cli.Post("/v1/release", release::SerializeReleaseRequest(Request(*c, d, kp, Measurement(0xEE))), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  auto j = ParseJson(res->body, "refusal").value();
  ASSERT_TRUE(j.contains("clauses"));
  EXPECT_THAT(j["error"]["message"].get<std::string>(), HasSubstr("policy clause measurement"));
  // Malformed and oversized bodies are refused before any work.
  res = cli.Post("/v1/release", "{\"package\":1}", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  res = cli.Post("/v1/challenge", release::SerializeChallengeRequest({"sha256:" + std::string(64, '0')}), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  (*server)->Stop();
}

// --- The master key in an HSM (SoftHSM2)

constexpr char kHsmUri[] = "pkcs11:token=kb-test;object=kb-master?pin-value=1234";

// SoftHsm makes, once per process, a throwaway SoftHSM2 token with an
// AES-256 key generated on it; "" or what failed.
const std::string& SoftHsm() {
  static const std::string error = [] () -> std::string {
    if (::access("/usr/bin/softhsm2-util", X_OK) != 0 || ::access("/usr/lib/softhsm/libsofthsm2.so", R_OK) != 0) {
      return "SoftHSM2 is not installed: run scripts/setup.sh --test";
    }
    static testing_util::TempDir dir;  // lives for the process
    stdfs::create_directories(dir.path() + "/tokens");
    const std::string conf = dir.path() + "/softhsm2.conf";
    std::ofstream(conf) << "directories.tokendir = " << dir.path()
                        << "/tokens\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n";
    ::setenv("SOFTHSM2_CONF", conf.c_str(), 1);
    ::unsetenv("ARCA_PKCS11_MODULE");
    const std::string init = "softhsm2-util --init-token --free --label kb-test --pin 1234 --so-pin 5678 >" +
                             dir.path() + "/init.log 2>&1";
    if (std::system(init.c_str()) != 0) return "softhsm2-util --init-token failed (see " + dir.path() + "/init.log)";
    Status s = signer::CreatePkcs11AesKey(kHsmUri);
    return s.ok() ? std::string() : s.ToString();
  }();
  return error;
}

TEST_F(KeyBrokerTest, HsmMasterKeyWrapsAndReleasesWithoutAMasterKeyFile) {
  ASSERT_EQ(SoftHsm(), "");
  AttachPolicy(pkg_, 1, {Measurement(0xA1)});
  auto kb = KeyBroker::Open(tmp_.path() + "/kb", kHsmUri);
  ASSERT_THAT(kb, IsOk());
  ASSERT_THAT((*kb)->Register(fs(), {pkg_, ""}, lineage_, root_, kNow), IsOk());
  EXPECT_FALSE(stdfs::exists(tmp_.path() + "/kb/master.key"));
  auto c = (*kb)->Challenge({Digest(pkg_)}, kNow);
  ASSERT_THAT(c, IsOk());
  auto kp = crypto::X25519GenerateKeyPair().value();
  ReleaseOutcome out = (*kb)->Release(Request(*c, Digest(pkg_), kp, Measurement(0xA1)), judge_, kNow + 1);
  ASSERT_THAT(out.status, IsOk());
  auto keys = release::OpenChunkKeys(out.response, kp.private_key, c->nonce, Digest(pkg_), c->policy_digest);
  ASSERT_THAT(keys, IsOk());
  const auto& m = Load(pkg_).manifest;
  ASSERT_FALSE(keys->empty());
  for (const auto& ch : m.chunks) {
    ASSERT_TRUE(keys->count(ch.id));
    EXPECT_TRUE(ConstantTimeEquals(keys->at(ch.id).Expose(), lineage_.ChunkKey(ch.id).Expose()));
  }
  // The database holds no PRK in the clear.
  kb->reset();
  std::string db;
  for (const char* f : {"/kb/keybroker.db", "/kb/keybroker.db-wal"}) {
    std::ifstream in(tmp_.path() + f, std::ios::binary);
    db += std::string(std::istreambuf_iterator<char>(in), {});
  }
  const auto& prk = lineage_.ChunkKeyPrk().Expose();
  EXPECT_EQ(db.find(std::string(reinterpret_cast<const char*>(prk.data()), prk.size())), std::string::npos);
}

TEST_F(KeyBrokerTest, ABrokerWithTheOtherKindOfMasterKeyRefusesClearly) {
  ASSERT_EQ(SoftHsm(), "");
  AttachPolicy(pkg_, 1, {Measurement(0xA1)});
  ASSERT_THAT(KeyBroker::Open(tmp_.path() + "/kb", kHsmUri).value()->Register(fs(), {pkg_, ""}, lineage_, root_, kNow),
              IsOk());
  // Opened with the file master key: no release, no re-registration, each saying why.
  auto file_kb = OpenBroker();
  auto c = file_kb->Challenge({Digest(pkg_)}, kNow);
  ASSERT_THAT(c, IsOk());
  auto kp = crypto::X25519GenerateKeyPair().value();
  ReleaseOutcome out = file_kb->Release(Request(*c, Digest(pkg_), kp, Measurement(0xA1)), judge_, kNow + 1);
  EXPECT_THAT(out.status, HasCodeAndMessage(StatusCode::kFailedPrecondition, "wrapped under a PKCS#11 master key"));
  EXPECT_THAT(out.status.message(), HasSubstr("master key file"));
  EXPECT_TRUE(out.response.keys.empty());
  EXPECT_THAT(file_kb->Register(fs(), {pkg_, ""}, lineage_, root_, kNow).status(),
              HasCodeAndMessage(StatusCode::kFailedPrecondition, "wrapped under a PKCS#11 master key"));
  auto log = file_kb->Releases(10).value();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_FALSE(log[0].released);

  // And the other way round: a lineage registered under master.key.
  format::LineageKey other = format::LineageKey::FromBytes(Bytes(32, 0x22)).value();
  std::swap(lineage_, other);
  std::string pkg2 = Seal("pkg2", "2.0", Bf16(30000, 9));
  AttachPolicy(pkg2, 1, {Measurement(0xA1)});
  ASSERT_THAT(file_kb->Register(fs(), {pkg2, ""}, lineage_, root_, kNow), IsOk());
  file_kb.reset();
  auto hsm_kb = KeyBroker::Open(tmp_.path() + "/kb", kHsmUri).value();
  auto c2 = hsm_kb->Challenge({Digest(pkg2)}, kNow);
  ASSERT_THAT(c2, IsOk());
  out = hsm_kb->Release(Request(*c2, Digest(pkg2), kp, Measurement(0xA1)), judge_, kNow + 1);
  EXPECT_THAT(out.status, HasCodeAndMessage(StatusCode::kFailedPrecondition, "wrapped under the master key file"));
}

TEST_F(KeyBrokerTest, DatabaseFromBeforeMasterKindsIsReadAsFileWrapped) {
  AttachPolicy(pkg_, 1, {Measurement(0xA1)});
  ASSERT_THAT(OpenBroker()->Register(fs(), {pkg_, ""}, lineage_, root_, kNow), IsOk());
  {  // the schema as it was: no lineages.master_kind
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((tmp_.path() + "/kb/keybroker.db").c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, "ALTER TABLE lineages DROP COLUMN master_kind", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto kb = OpenBroker();
  auto c = kb->Challenge({Digest(pkg_)}, kNow);
  ASSERT_THAT(c, IsOk());
  auto kp = crypto::X25519GenerateKeyPair().value();
  EXPECT_THAT(kb->Release(Request(*c, Digest(pkg_), kp, Measurement(0xA1)), judge_, kNow + 1).status, IsOk());
}

TEST_F(KeyBrokerTest, MasterKeyMustBeAPkcs11Uri) {
  EXPECT_THAT(KeyBroker::Open(tmp_.path() + "/kb", tmp_.path() + "/master.key").status(),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "--master-key"));
  ASSERT_EQ(SoftHsm(), "");
  EXPECT_THAT(KeyBroker::Open(tmp_.path() + "/kb", "pkcs11:token=kb-test;object=absent?pin-value=1234").status(),
              HasCode(StatusCode::kNotFound));
}

}  // namespace
}  // namespace arca::keybroker
