// Package-level signing and verification: every check `arca verify` runs,
// each attack it stops, on real sealed packages.
#include "signer/verify.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/testing/status_matchers.h"
#include "base/testing/temp_dir.h"
#include "format/testing/synthetic_weights.h"
#include "signer/package_signing.h"

namespace arca::signer {
namespace {

using ::testing::HasSubstr;
namespace stdfs = std::filesystem;

void WriteFile(const std::string& path, ByteSpan data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size()));
}

constexpr UnixSeconds kNow = 1800000000;  // 2027-01-15

class VerifyTest : public ::testing::Test {
 protected:
  VerifyTest() : lineage_(format::LineageKey::FromBytes(Bytes(32, 0x11)).value()) {
    for (int i = 0; i < 4; ++i) keys_.push_back(MakeKeySigner(crypto::PrivateKey::Generate(
                                    i == 1 ? crypto::KeyType::kEcdsaP256Sha256 : crypto::KeyType::kEd25519).value()));
    stdfs::create_directories(model_);
    WriteFile(model_ + "/weights.bin", format::test_data::Bf16Weights(40000, 7));
    WriteFile(model_ + "/config.json", AsBytes("{\"layers\":2}"));
    root_ = MakeRoot(1, {0, 1, 2}, 2, {0, 1});
  }

  FileSystem& fs() { return FileSystem::Default(); }

  SignedRoot MakeRoot(std::uint64_t version, std::vector<int> ids, std::uint64_t threshold, std::vector<int> signers) {
    SignedRoot r;
    r.root.namespace_name = "acme";
    r.root.version = version;
    r.root.threshold = threshold;
    for (int i : ids) r.root.keys.emplace(keys_[i]->KeyId(), keys_[i]->public_key());
    for (int i : signers) EXPECT_THAT(SignRoot(*keys_[i], r), IsOk());
    return r;
  }

  std::string Seal(const std::string& name, std::vector<int> signers, std::optional<ProvenanceInput> prov = std::nullopt,
                   std::optional<std::string> parent = std::nullopt, const std::string& version = "1.0") {
    format::SealOptions o;
    o.name = "acme/med-llm";
    o.version = version;
    o.chunking = format::ChunkingParams{1024, 4096, 16384};
    o.pack_target_bytes = 32 * 1024;
    if (parent) o.parent = format::PackageRef{*parent, ""};
    std::vector<Signer*> s;
    for (int i : signers) s.push_back(keys_[i].get());
    if (!s.empty()) o.attach = SealAttachments(s, prov);
    std::string dir = tmp_.path() + "/" + name;
    EXPECT_THAT(format::Seal(fs(), model_, dir, lineage_, o), IsOk());
    return dir;
  }

  Verdict Verify(const std::string& pkg, VerifyOptions o = {}) {
    if (o.now == 0) o.now = kNow;
    return VerifyPackage(fs(), format::PackageRef{pkg, ""}, root_, o);
  }

  format::LoadedPackage Load(const std::string& pkg) { return format::LoadPackage(fs(), {pkg, ""}).value(); }
  PackageSubject SubjectOfPkg(const std::string& pkg) {
    auto p = Load(pkg);
    return SubjectOf(p.manifest, p.manifest_blob.digest);
  }

  void Attach(const std::string& pkg, std::string_view role, const DsseEnvelope& env, std::vector<std::string> remove = {}) {
    ASSERT_THAT(format::UpdateAttachments(fs(), Load(pkg), {EnvelopeAttachment(role, env)}, remove), IsOk());
  }

  DsseEnvelope SignedPolicy(const Policy& p, std::vector<int> signers) {
    std::string payload = SerializeStatement(PolicyToStatement(p)).value();
    DsseEnvelope env{std::string(kInTotoPayloadType), Bytes(payload.begin(), payload.end()), {}};
    for (int i : signers) env.signatures.push_back(SignDsse(*keys_[i], env.payload_type, env.payload).value());
    return env;
  }

  Policy BasePolicy(const std::string& pkg, std::uint64_t version = 2) {
    Policy p;
    p.subject = SubjectOfPkg(pkg);
    p.version = version;
    p.expires = kNow + 86400;
    p.allow.push_back(PolicyRule{"sev-snp", std::string(96, 'a'), {{"snp", 8}}});
    return p;
  }

  testing_util::TempDir tmp_;
  std::string model_ = tmp_.path() + "/model";
  format::LineageKey lineage_;
  std::vector<std::unique_ptr<Signer>> keys_;
  SignedRoot root_;
};

MATCHER_P(FailsCheck, name, "") {
  const Verdict& v = arg;
  if (v.ok()) {
    *result_listener << "verified";
    return false;
  }
  *result_listener << v.status().ToString();
  const Check* c = v.Find(name);
  return c != nullptr && !c->passed;
}

MATCHER(Verified, "") {
  if (!arg.ok()) *result_listener << arg.status().ToString();
  return arg.ok();
}

TEST_F(VerifyTest, TwoOfThreeVerifies) {
  Verdict v = Verify(Seal("pkg", {0, 1}));
  EXPECT_THAT(v, Verified());
  EXPECT_EQ(v.claims["releaseSigners"].size(), 2u);
  ASSERT_NE(v.Find("release.threshold"), nullptr);
}

TEST_F(VerifyTest, OneSignatureBelowThresholdIsRefused) {
  EXPECT_THAT(Verify(Seal("pkg", {0})), FailsCheck("release.threshold"));
}

TEST_F(VerifyTest, UnsignedPackageIsRefused) { EXPECT_THAT(Verify(Seal("pkg", {})), FailsCheck("release.threshold")); }

TEST_F(VerifyTest, SignLaterReachesTheThreshold) {
  std::string pkg = Seal("pkg", {0});
  auto r = SignPackage(fs(), {pkg, ""}, {keys_[2].get()});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->added.size(), 1u);
  EXPECT_THAT(Verify(pkg), Verified());
}

TEST_F(VerifyTest, SameKeyTwiceCountsOnce) {
  std::string pkg = Seal("pkg", {1});  // ECDSA: a second signature has different bytes
  auto again = SignPackage(fs(), {pkg, ""}, {keys_[1].get()});
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->added.empty());
  // Force a second envelope by the same key past the CLI's own check.
  DsseEnvelope env = SignStatement(*keys_[1], MakeReleaseStatement(SubjectOfPkg(pkg), std::nullopt)).value();
  Attach(pkg, kRoleRelease, env);
  EXPECT_EQ(Load(pkg).attachments.size(), 2u);
  EXPECT_THAT(Verify(pkg), FailsCheck("release.threshold"));
}

TEST_F(VerifyTest, SignatureByAKeyNotInTheRootIsRefused) {
  std::string pkg = Seal("pkg", {0, 1, 3});
  EXPECT_THAT(Verify(pkg), FailsCheck("release.signature[2]"));
}

TEST_F(VerifyTest, StatementAboutAnotherDigestIsRefused) {
  std::string pkg = Seal("pkg", {0});
  PackageSubject other = SubjectOfPkg(pkg);
  other.manifest_digest = "sha256:" + std::string(64, 'e');
  Attach(pkg, kRoleRelease, SignStatement(*keys_[1], MakeReleaseStatement(other, std::nullopt)).value());
  EXPECT_THAT(Verify(pkg), FailsCheck("release[1].subject"));
}

TEST_F(VerifyTest, RevokedKeyIsNotedAndNotCounted) {
  root_ = MakeRoot(1, {0, 1, 2}, 1, {0});
  SignedRoot v2 = MakeRoot(2, {1, 2}, 1, {0, 1});  // key 0 removed, signed by old (0) and new (1)
  VerifyOptions o;
  o.root_updates = {v2};
  Verdict both = Verify(Seal("both", {0, 1}), o);
  EXPECT_THAT(both, Verified());
  int revoked_notes = 0;
  for (const auto& n : both.notes()) revoked_notes += n.detail.find("revoked after root version 1") != std::string::npos;
  EXPECT_EQ(revoked_notes, 1);
  EXPECT_THAT(Verify(Seal("only-revoked", {0}), o), FailsCheck("release.threshold"));
}

TEST_F(VerifyTest, RootOfAnotherNamespaceIsRefused) {
  root_.root.namespace_name = "other";
  root_.signatures.clear();
  ASSERT_THAT(SignRoot(*keys_[0], root_), IsOk());
  ASSERT_THAT(SignRoot(*keys_[1], root_), IsOk());
  EXPECT_THAT(Verify(Seal("pkg", {0, 1})), FailsCheck("root.namespace"));
}

// Re-attach a modified copy of each envelope (the OCI manifest around it is
// unsigned, so an attacker can always do that): signature checks must catch
// every change in the envelope bytes and in the statement inside it.
TEST_F(VerifyTest, EveryChangedByteOfAnEnvelopeOrStatementIsRefused) {
  std::string pkg = Seal("pkg", {0, 1});
  auto envs = LoadEnvelopes(Load(pkg), kRoleRelease).value();
  ASSERT_EQ(envs.size(), 2u);
  const auto& victim = envs[1];
  std::string text = SerializeDsseEnvelope(victim.envelope);
  int accepted = 0, tried = 0;
  auto try_bytes = [&](const Bytes& bytes) {
    ++tried;
    format::Attachment a{std::string(kRoleRelease), bytes};
    std::string digest = format::DigestOf(bytes);
    ASSERT_THAT(format::UpdateAttachments(fs(), Load(pkg), {a}, {victim.descriptor.digest}), IsOk());
    if (Verify(pkg).ok()) ++accepted;
    ASSERT_THAT(format::UpdateAttachments(fs(), Load(pkg), {EnvelopeAttachment(kRoleRelease, victim.envelope)}, {digest}), IsOk());
  };
  for (std::size_t i = 0; i < text.size(); i += 3) {
    Bytes b(text.begin(), text.end());
    b[i] ^= 0x04;
    try_bytes(b);
  }
  const Bytes& payload = victim.envelope.payload;
  for (std::size_t i = 0; i < payload.size(); i += 3) {
    DsseEnvelope e = victim.envelope;
    e.payload[i] ^= 0x01;
    std::string t = SerializeDsseEnvelope(e);
    try_bytes(Bytes(t.begin(), t.end()));
  }
  EXPECT_GT(tried, 300);
  EXPECT_EQ(accepted, 0);
  EXPECT_THAT(Verify(pkg), Verified());  // restored
}

TEST_F(VerifyTest, ChangedSmallBlobOnDiskIsRefused) {
  std::string pkg = Seal("pkg", {0, 1});
  auto p = Load(pkg);
  for (const auto& d : {p.manifest_blob, p.attachments[0], p.layout.manifest().config}) {
    std::string path = p.layout.BlobPath(d.digest);
    std::string copy = tmp_.path() + "/saved";
    stdfs::copy_file(path, copy, stdfs::copy_options::overwrite_existing);
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(std::streamoff(d.size / 2));
    char c = 0;
    f.seekg(std::streamoff(d.size / 2));
    f.get(c);
    f.seekp(std::streamoff(d.size / 2));
    f.put(char(c ^ 0x04));
    f.close();
    EXPECT_FALSE(Verify(pkg).ok()) << d.digest;
    stdfs::copy_file(copy, path, stdfs::copy_options::overwrite_existing);
  }
  EXPECT_THAT(Verify(pkg), Verified());
}

TEST_F(VerifyTest, DeepFindsAChangedPackByte) {
  std::string pkg = Seal("pkg", {0, 1});
  auto p = Load(pkg);
  std::string path = p.layout.BlobPath(p.manifest.packs[0].digest);
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(100);
  f.put('\x5a');
  f.close();
  VerifyOptions deep;
  deep.deep = true;
  EXPECT_THAT(Verify(pkg), Verified());  // sizes only without --deep
  EXPECT_THAT(Verify(pkg, deep), FailsCheck("package.deep-hash"));
}

TEST_F(VerifyTest, UnknownAttachmentRoleIsRefused) {
  std::string pkg = Seal("pkg", {0, 1});
  // Key 3's envelope differs from every attached one (identical bytes would be deduplicated).
  DsseEnvelope env = SignStatement(*keys_[3], MakeReleaseStatement(SubjectOfPkg(pkg), std::nullopt)).value();
  Attach(pkg, "mystery", env);
  EXPECT_THAT(Verify(pkg), FailsCheck("attachments.roles"));
}

// --- provenance

ProvenanceInput SomeProvenance() {
  ProvenanceInput in;
  in.step = "fine-tune";
  in.datasets.push_back(Dataset{"pubmed", "https://example.org/pubmed", std::string(64, 'd')});
  in.ran_by = "alice";
  in.started_on = kNow - 3600;
  in.finished_on = kNow;
  return in;
}

TEST_F(VerifyTest, ProvenanceLinksToTheParent) {
  std::string v1 = Seal("v1", {0, 1}, SomeProvenance());
  EXPECT_THAT(Verify(v1), Verified());
  WriteFile(model_ + "/config.json", AsBytes("{\"layers\":3}"));
  std::string v2 = Seal("v2", {0, 1}, SomeProvenance(), v1, "1.1");
  Verdict v = Verify(v2);
  EXPECT_THAT(v, Verified());
  const Check* link = v.Find("provenance.parent-link");
  ASSERT_NE(link, nullptr);
  EXPECT_THAT(link->detail, HasSubstr(Load(v1).manifest_blob.digest));
}

TEST_F(VerifyTest, ProvenanceNamingAnotherBaseModelIsRefused) {
  std::string pkg = Seal("pkg", {0, 1});
  ProvenanceInput in = SomeProvenance();
  in.base_model_digest = "sha256:" + std::string(64, 'b');
  Statement st = MakeProvenanceStatement(SubjectOfPkg(pkg), in);
  Attach(pkg, kRoleProvenance, SignStatement(*keys_[0], st).value());
  Attach(pkg, kRoleProvenance, SignStatement(*keys_[1], st).value());
  EXPECT_THAT(Verify(pkg), FailsCheck("provenance.parent-link"));
}

TEST_F(VerifyTest, ProvenanceSignedBelowThresholdIsRefused) {
  std::string pkg = Seal("pkg", {0, 1});
  Statement st = MakeProvenanceStatement(SubjectOfPkg(pkg), SomeProvenance());
  Attach(pkg, kRoleProvenance, SignStatement(*keys_[0], st).value());
  EXPECT_THAT(Verify(pkg), FailsCheck("provenance.threshold"));
  ASSERT_THAT(SignPackage(fs(), {pkg, ""}, {keys_[1].get()}), IsOk());  // signs the same provenance
  EXPECT_THAT(Verify(pkg), Verified());
}

TEST_F(VerifyTest, SlsaExampleFromTheSpecParsesAsProvenance) {
  auto j = Json::parse(std::ifstream(std::string(ARCA_SOURCE_DIR) +
                                     "/../shared/vectors/standards/attestation-examples/slsa-provenance-v1-github-actions-workflow-example.json"));
  const Json& predicate = j.contains("predicate") ? j["predicate"] : j;
  auto facts = ParseProvenancePredicate(predicate);
  ASSERT_THAT(facts, IsOk());
  EXPECT_FALSE(facts->build_type.empty());
}

// --- policy

TEST_F(VerifyTest, SignedPolicyVerifies) {
  std::string pkg = Seal("pkg", {0, 1});
  ASSERT_THAT(AttachPolicy(fs(), {pkg, ""}, SignedPolicy(BasePolicy(pkg), {0, 1})), IsOk());
  Verdict v = Verify(pkg);
  EXPECT_THAT(v, Verified());
  EXPECT_EQ(v.claims["policy"]["version"], 2);
}

TEST_F(VerifyTest, PolicyBelowThresholdIsRefused) {
  std::string pkg = Seal("pkg", {0, 1});
  ASSERT_THAT(AttachPolicy(fs(), {pkg, ""}, SignedPolicy(BasePolicy(pkg), {0})), IsOk());
  EXPECT_THAT(Verify(pkg), FailsCheck("policy.threshold"));
}

TEST_F(VerifyTest, ExpiredPolicyIsRefused) {
  std::string pkg = Seal("pkg", {0, 1});
  Policy p = BasePolicy(pkg);
  p.expires = kNow - 1;
  ASSERT_THAT(AttachPolicy(fs(), {pkg, ""}, SignedPolicy(p, {0, 1})), IsOk());
  EXPECT_THAT(Verify(pkg), FailsCheck("policy.expiry"));
}

TEST_F(VerifyTest, PolicyForAnotherPackageIsRefused) {
  std::string pkg = Seal("pkg", {0, 1});
  Policy p = BasePolicy(pkg);
  p.subject.manifest_digest = "sha256:" + std::string(64, 'c');
  EXPECT_THAT(AttachPolicy(fs(), {pkg, ""}, SignedPolicy(p, {0, 1})), HasCodeAndMessage(StatusCode::kInvalidArgument, "not this package"));
  Attach(pkg, kRolePolicy, SignedPolicy(p, {0, 1}));  // an attacker skips the CLI
  EXPECT_THAT(Verify(pkg), FailsCheck("policy.subject"));
}

TEST_F(VerifyTest, OlderPolicyNeverReplacesANewerOne) {
  std::string pkg = Seal("pkg", {0, 1});
  ASSERT_THAT(AttachPolicy(fs(), {pkg, ""}, SignedPolicy(BasePolicy(pkg, 3), {0, 1})), IsOk());
  EXPECT_THAT(AttachPolicy(fs(), {pkg, ""}, SignedPolicy(BasePolicy(pkg, 2), {0, 1})),
              HasCodeAndMessage(StatusCode::kFailedPrecondition, "never replaces"));
  Policy same_version = BasePolicy(pkg, 3);
  same_version.allow_debug = true;
  EXPECT_THAT(AttachPolicy(fs(), {pkg, ""}, SignedPolicy(same_version, {0, 1})), HasCode(StatusCode::kFailedPrecondition));
  ASSERT_THAT(AttachPolicy(fs(), {pkg, ""}, SignedPolicy(BasePolicy(pkg, 4), {0, 1})), IsOk());
  EXPECT_EQ(LoadEnvelopes(Load(pkg), kRolePolicy).value().size(), 1u);
  EXPECT_EQ(Verify(pkg).claims["policy"]["version"], 4);
}

TEST_F(VerifyTest, UnsignedPolicyIsNotAttached) {
  std::string pkg = Seal("pkg", {0, 1});
  EXPECT_THAT(AttachPolicy(fs(), {pkg, ""}, SignedPolicy(BasePolicy(pkg), {})), HasCodeAndMessage(StatusCode::kInvalidArgument, "not signed"));
}

TEST_F(VerifyTest, TwoAttachedPoliciesAreRefused) {
  std::string pkg = Seal("pkg", {0, 1});
  Attach(pkg, kRolePolicy, SignedPolicy(BasePolicy(pkg, 2), {0, 1}));
  Attach(pkg, kRolePolicy, SignedPolicy(BasePolicy(pkg, 3), {0, 1}));
  EXPECT_THAT(Verify(pkg), FailsCheck("policy.unique"));
}

TEST_F(VerifyTest, PolicyRejectsBadMeasurements) {
  EXPECT_THAT(ValidatePlatformMeasurement("sev-snp", std::string(64, 'a')), HasCodeAndMessage(StatusCode::kInvalidArgument, "96"));
  EXPECT_THAT(ValidatePlatformMeasurement("tpm", std::string(64, 'A')), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidatePlatformMeasurement("sgx", std::string(64, 'a')), HasCodeAndMessage(StatusCode::kInvalidArgument, "sev-snp, tdx, tpm"));
  EXPECT_THAT(ValidatePlatformMeasurement("tdx", std::string(96, 'f')), IsOk());
}

// --- countersignatures

TEST_F(VerifyTest, CountersignatureNeverInvalidatesTheLab) {
  std::string pkg = Seal("pkg", {0, 1});
  ASSERT_THAT(CountersignPackage(fs(), {pkg, ""}, *keys_[3], "reviewed", kNow), IsOk());
  Verdict untrusted = Verify(pkg);
  EXPECT_THAT(untrusted, Verified());
  VerifyOptions o;
  o.countersigners = {keys_[3]->public_key()};
  Verdict trusted = Verify(pkg, o);
  EXPECT_THAT(trusted, Verified());
  EXPECT_NE(trusted.Find("countersign[0].trusted"), nullptr);
  o.countersigners = {keys_[2]->public_key()};
  EXPECT_THAT(Verify(pkg, o), FailsCheck("countersign.required"));
}

TEST_F(VerifyTest, AlteredCountersignatureIsRefused) {
  std::string pkg = Seal("pkg", {0, 1});
  PackageSubject s = SubjectOfPkg(pkg);
  DsseEnvelope env = SignStatement(*keys_[3], MakeCountersignStatement(s, Countersign{"ok", kNow, keys_[3]->public_key()})).value();
  env.payload[env.payload.size() / 2] ^= 1;
  Attach(pkg, kRoleCountersign, env);
  EXPECT_FALSE(Verify(pkg).ok());
}

TEST_F(VerifyTest, CountersignatureWithAnotherKeyInsideIsRefused) {
  std::string pkg = Seal("pkg", {0, 1});
  PackageSubject s = SubjectOfPkg(pkg);
  // Signed by key 3 but claiming key 2: the embedded key must be the signer's.
  Attach(pkg, kRoleCountersign, SignStatement(*keys_[3], MakeCountersignStatement(s, Countersign{"x", kNow, keys_[2]->public_key()})).value());
  EXPECT_THAT(Verify(pkg), FailsCheck("countersign[0].signature"));
}

}  // namespace
}  // namespace arca::signer
