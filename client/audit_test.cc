// Audit bundles (specs/registry-client.md §9): one canonical spelling, every
// field strictly typed; countersignatures reported one by one from a bundle
// built here around real sealed packages and a log signed in memory, and a
// countersignature that does not verify (altered, or about another package)
// refusing its version. Full verification against a real registry, tampering
// and the exports' schema validity run end to end in
// tests/integration/log_audit_test.sh.
#include "client/audit.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "base/signature.h"
#include "base/testing/status_matchers.h"
#include "base/testing/temp_dir.h"
#include "format/lineage_key.h"
#include "format/package.h"
#include "format/testing/synthetic_weights.h"
#include "signer/key_source.h"
#include "signer/package_signing.h"
#include "tlog/checkpoint.h"
#include "tlog/entries.h"
#include "tlog/note.h"

namespace arca::client {
namespace {

AuditBundle Sample() {
  AuditBundle b;
  b.repository = "acme/m";
  b.log_key = "k";
  b.checkpoint = "c";
  tlog::Hash h{};
  h[0] = 7;
  b.entries.push_back(AuditEntry{3, "{}", {h, h}});
  b.roots.push_back(Bytes{1, 2, 3});
  AuditVersion v;
  v.manifest = "sha256:" + std::string(64, 'a');
  v.oci_manifest = Bytes{'{', '}'};
  v.blobs["sha256:" + std::string(64, 'b')] = Bytes{9, 9};
  b.versions.push_back(v);
  return b;
}

TEST(AuditBundle, RoundTripsCanonically) {
  std::string text = SerializeAuditBundle(Sample()).value();
  EXPECT_EQ(text.find(' '), std::string::npos);
  EXPECT_EQ(ParseAuditBundle(AsBytes(text)).value(), Sample());
}

TEST(AuditBundle, RefusesAnyOtherSpelling) {
  std::string text = SerializeAuditBundle(Sample()).value();
  auto parse = [](const std::string& t) { return ParseAuditBundle(AsBytes(t)); };
  EXPECT_THAT(parse(text + "\n"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(parse(" " + text), HasCode(StatusCode::kInvalidArgument));
  Json j = ParseJson(text, "t").value();
  Json extra = j;
  extra["note"] = "x";
  EXPECT_THAT(parse(CanonicalJson(extra).value()), HasCode(StatusCode::kInvalidArgument));
  Json unpadded = j;
  unpadded["roots"][0] = "AQI";  // 2 bytes without padding ("AQI=" is canonical)
  EXPECT_THAT(parse(CanonicalJson(unpadded).value()), HasCode(StatusCode::kInvalidArgument));
  Json urlsafe = j;
  urlsafe["versions"][0]["blobs"]["sha256:" + std::string(64, 'b')] = "-_8=";
  EXPECT_THAT(parse(CanonicalJson(urlsafe).value()), HasCode(StatusCode::kInvalidArgument));
  Json short_hash = j;
  short_hash["entries"][0]["inclusion"][0] = "AAAA";
  EXPECT_THAT(parse(CanonicalJson(short_hash).value()), HasCode(StatusCode::kInvalidArgument));
  Json negative = j;
  negative["entries"][0]["index"] = -1;
  EXPECT_THAT(parse(CanonicalJson(negative).value()), HasCode(StatusCode::kInvalidArgument));
  Json other_format = j;
  other_format["format"] = "arca-audit-bundle/v2";
  EXPECT_THAT(parse(CanonicalJson(other_format).value()), HasCode(StatusCode::kInvalidArgument));
  Json missing = j;
  missing.erase("roots");
  EXPECT_THAT(parse(CanonicalJson(missing).value()), HasCode(StatusCode::kInvalidArgument));
}

TEST(AuditBundle, VerifyRefusesAnotherLogKeyFirst) {
  signer::SignedRoot root;
  root.root.namespace_name = "acme";
  auto r = VerifyAuditBundle(FileSystem::Default(), Sample(), root, LogTrust{"someone+else", {}, 0}, "/nonexistent");
  EXPECT_THAT(r, HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(r.status().message(), ::testing::StartsWith("log-key:"));
}

// --- countersignatures in the report

constexpr UnixSeconds kPublished = 1800000000;  // 2027-01-15

class AuditCountersignTest : public ::testing::Test {
 protected:
  AuditCountersignTest()
      : lineage_(format::LineageKey::FromBytes(Bytes(32, 0x22)).value()),
        lab_(signer::MakeKeySigner(crypto::PrivateKey::Generate(crypto::KeyType::kEd25519).value())),
        auditor_(signer::MakeKeySigner(crypto::PrivateKey::Generate(crypto::KeyType::kEcdsaP256Sha256).value())),
        log_(tlog::NoteSigner::Generate("log.example.test", tlog::NoteSignatureType::kEd25519).value()) {
    std::filesystem::create_directories(model_);
    Bytes w = format::test_data::Bf16Weights(20000, 3);
    std::ofstream(model_ + "/weights.bin", std::ios::binary).write(reinterpret_cast<const char*>(w.data()), std::streamsize(w.size()));
    root_.root.namespace_name = "acme";
    root_.root.version = 1;
    root_.root.threshold = 1;
    root_.root.keys.emplace(lab_->KeyId(), lab_->public_key());
    EXPECT_THAT(signer::SignRoot(*lab_, root_), IsOk());
  }

  FileSystem& fs() { return FileSystem::Default(); }

  std::string Seal(const std::string& version) {
    format::SealOptions o;
    o.name = "acme/med-llm";
    o.version = version;
    o.chunking = format::ChunkingParams{1024, 4096, 16384};
    o.pack_target_bytes = 32 * 1024;
    o.attach = signer::SealAttachments({lab_.get()}, std::nullopt);
    std::string dir = tmp_.path() + "/pkg-" + version;
    EXPECT_THAT(format::Seal(fs(), model_, dir, lineage_, o), IsOk());
    return dir;
  }

  format::LoadedPackage Load(const std::string& dir) { return format::LoadPackage(fs(), {dir, ""}).value(); }

  signer::PackageSubject SubjectOfPkg(const std::string& dir) {
    auto p = Load(dir);
    return signer::SubjectOf(p.manifest, p.manifest_blob.digest);
  }

  void Attach(const std::string& dir, const signer::DsseEnvelope& env) {
    ASSERT_THAT(format::UpdateAttachments(fs(), Load(dir), {signer::EnvelopeAttachment(signer::kRoleCountersign, env)}, {}), IsOk());
  }

  signer::DsseEnvelope Countersignature(const signer::PackageSubject& about, const std::string& note) {
    return signer::SignStatement(*auditor_, signer::MakeCountersignStatement(
                                                about, signer::Countersign{note, kPublished - 60, auditor_->public_key()}))
        .value();
  }

  // BundleOf logs one publish entry per package (as arca-registry would
  // after verifying it), signs a checkpoint over them and gathers the
  // bundle as `arca audit` does: OCI manifest and every non-pack blob.
  AuditBundle BundleOf(const std::vector<std::string>& dirs) {
    AuditBundle b;
    b.repository = "acme/med-llm";
    b.log_key = log_.verifier().ToString();
    tlog::MemoryTree tree;
    for (const auto& dir : dirs) {
      format::LoadedPackage p = Load(dir);
      const format::OciManifest& om = p.layout.manifest();
      AuditVersion v;
      v.manifest = p.layout.manifest_descriptor().digest;
      v.oci_manifest = p.layout.ReadBlob(p.layout.manifest_descriptor(), 1 << 20).value();
      v.blobs[om.config.digest] = p.layout.ReadBlob(om.config, 1 << 20).value();
      tlog::LogEntry e;
      for (const auto& l : om.layers) {
        if (l.media_type == format::kPackMediaType) continue;
        v.blobs[l.digest] = p.layout.ReadBlob(l, 1 << 20).value();
        if (format::AttachmentRole(l) == signer::kRoleProvenance) e.provenance.push_back(l.digest);
      }
      e.kind = tlog::kEntryPublish;
      e.ns = "acme";
      e.time = kPublished;
      e.repository = b.repository;
      e.manifest = v.manifest;
      e.package = p.manifest_blob.digest;
      e.name = p.manifest.name;
      e.version = p.manifest.version;
      e.signers = {lab_->KeyId()};
      std::string text = tlog::EncodeLogEntry(e).value();
      b.entries.push_back(AuditEntry{tree.AppendLeaf(AsBytes(text)).value(), text, {}});
      b.versions.push_back(std::move(v));
    }
    for (auto& e : b.entries) e.inclusion = tlog::InclusionProof(tree, e.index, tree.size()).value();
    b.checkpoint = tlog::SignCheckpoint(tlog::Checkpoint{log_.verifier().name(), tree.size(), tree.Root(), kPublished, {}}, log_).value();
    return b;
  }

  Result<Json> Verify(const AuditBundle& b, std::vector<tlog::NoteVerifier> witnesses = {}, std::size_t min = 0) {
    std::string scratch = tmp_.path() + "/scratch" + std::to_string(++runs_);
    std::filesystem::create_directories(scratch);
    return VerifyAuditBundle(fs(), b, root_, LogTrust{log_.verifier().ToString(), std::move(witnesses), min}, scratch);
  }

  testing_util::TempDir tmp_;
  std::string model_ = tmp_.path() + "/model";
  format::LineageKey lineage_;
  std::unique_ptr<signer::Signer> lab_, auditor_;
  tlog::NoteSigner log_;
  signer::SignedRoot root_;
  int runs_ = 0;
};

TEST_F(AuditCountersignTest, ReportNamesEachCountersignerWithItsStatementAndVerifies) {
  std::string plain = Seal("1.0");
  std::string signed_twice = Seal("1.1");
  ASSERT_THAT(signer::CountersignPackage(fs(), {signed_twice, ""}, *auditor_, "reviewed by compliance", kPublished - 60), IsOk());
  ASSERT_THAT(signer::CountersignPackage(fs(), {signed_twice, ""}, *lab_, "lab's own QA", kPublished - 30), IsOk());
  AuditBundle b = BundleOf({plain, signed_twice});
  auto report = Verify(b);
  ASSERT_THAT(report, IsOk());
  const Json& versions = (*report)["versions"];
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0]["countersignatures"], Json::array());
  const Json& cs = versions[1]["countersignatures"];
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0]["keyId"], auditor_->KeyId());
  EXPECT_EQ(cs[0]["publicKey"], auditor_->public_key().ToPem());
  EXPECT_EQ(cs[0]["note"], "reviewed by compliance");
  EXPECT_EQ(cs[0]["signedAt"], FormatRfc3339(kPublished - 60));
  EXPECT_EQ(cs[0]["verified"], true);
  EXPECT_TRUE(cs[0]["problem"].is_null());
  EXPECT_THAT(cs[0]["digest"].get<std::string>(), ::testing::StartsWith("sha256:"));
  EXPECT_EQ(cs[1]["keyId"], lab_->KeyId());
  EXPECT_EQ(cs[1]["note"], "lab's own QA");
  EXPECT_EQ(cs[1]["verified"], true);
  // The key ID has the form of the release signers beside it.
  EXPECT_EQ(versions[1]["signers"][0], lab_->KeyId());
  // The offline path (a saved bundle, parsed) derives the same report.
  AuditBundle reread = ParseAuditBundle(AsBytes(SerializeAuditBundle(b).value())).value();
  auto offline = Verify(reread);
  ASSERT_THAT(offline, IsOk());
  EXPECT_EQ((*offline)["versions"], versions);
}

TEST_F(AuditCountersignTest, AlteredCountersignatureRefusesTheVersion) {
  std::string dir = Seal("1.0");
  signer::DsseEnvelope env = Countersignature(SubjectOfPkg(dir), "reviewed");
  env.signatures[0].sig[env.signatures[0].sig.size() / 2] ^= 1;
  Attach(dir, env);
  // Logged like any push: the log's entry names this OCI manifest, so only
  // the countersignature's own check can refuse it.
  AuditBundle b = BundleOf({dir});
  auto report = Verify(b);
  EXPECT_THAT(report, HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(report.status().message(), ::testing::StartsWith("version " + b.versions[0].manifest));
  EXPECT_THAT(report.status().message(), ::testing::HasSubstr("countersign[0].signature"));
  // The report's own derivation agrees, and still names who claimed it.
  auto om = format::ParseOciManifest(b.versions[0].oci_manifest).value();
  Json cs = CountersignatureReport(om, b.versions[0].blobs, SubjectOfPkg(dir));
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0]["verified"], false);
  EXPECT_EQ(cs[0]["keyId"], auditor_->KeyId());
  EXPECT_THAT(cs[0]["problem"].get<std::string>(), ::testing::StartsWith("countersign[0].signature:"));
}

TEST_F(AuditCountersignTest, CountersignatureClaimingAnotherKeyIsNotVerified) {
  std::string dir = Seal("1.0");
  // Signed by the auditor, carrying the lab's key: the embedded key must be the signer's.
  Attach(dir, signer::SignStatement(*auditor_, signer::MakeCountersignStatement(
                                                   SubjectOfPkg(dir), signer::Countersign{"x", kPublished, lab_->public_key()}))
                  .value());
  AuditBundle b = BundleOf({dir});
  auto report = Verify(b);
  EXPECT_THAT(report, HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(report.status().message(), ::testing::HasSubstr("countersign[0].signature"));
  auto om = format::ParseOciManifest(b.versions[0].oci_manifest).value();
  Json cs = CountersignatureReport(om, b.versions[0].blobs, SubjectOfPkg(dir));
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0]["verified"], false);
  EXPECT_EQ(cs[0]["keyId"], lab_->KeyId());  // what it claims, reported as not verified
}

TEST_F(AuditCountersignTest, CountersignatureOfAnotherPackageRefusesTheVersion) {
  std::string dir = Seal("1.0");
  std::string other = Seal("2.0");
  // A genuine countersignature of 2.0, moved onto 1.0.
  Attach(dir, Countersignature(SubjectOfPkg(other), "reviewed 2.0"));
  AuditBundle b = BundleOf({dir});
  auto report = Verify(b);
  EXPECT_THAT(report, HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(report.status().message(), ::testing::HasSubstr("countersign[0].subject"));
  auto om = format::ParseOciManifest(b.versions[0].oci_manifest).value();
  Json cs = CountersignatureReport(om, b.versions[0].blobs, SubjectOfPkg(dir));
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0]["verified"], false);
  EXPECT_EQ(cs[0]["keyId"], auditor_->KeyId());
  EXPECT_EQ(cs[0]["note"], "reviewed 2.0");
  EXPECT_THAT(cs[0]["problem"].get<std::string>(), ::testing::StartsWith("countersign[0].subject:"));
  // Against the package it is about, the same envelope verifies.
  Json about_other = CountersignatureReport(om, b.versions[0].blobs, SubjectOfPkg(other));
  EXPECT_EQ(about_other[0]["verified"], true);
}

TEST(AuditCountersignReport, UnreadableEnvelopeIsReportedNotThrown) {
  format::OciManifest om;
  format::Descriptor d;
  d.media_type = std::string(format::kDsseEnvelopeMediaType);
  d.digest = "sha256:" + std::string(64, 'c');
  d.annotations[std::string(format::kAttachmentRoleAnnotation)] = "countersign";
  om.layers.push_back(d);
  signer::PackageSubject s{"acme/m", "1", "sha256:" + std::string(64, 'd')};
  Json missing = CountersignatureReport(om, {}, s);
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0]["verified"], false);
  EXPECT_THAT(missing[0]["problem"].get<std::string>(), ::testing::StartsWith("countersign.envelopes:"));
  Json garbage = CountersignatureReport(om, {{d.digest, Bytes{'{'}}}, s);
  EXPECT_EQ(garbage[0]["verified"], false);
  EXPECT_TRUE(garbage[0]["keyId"].is_null());
}

TEST(AuditExports, CycloneDxHasOneModelPerVersionAndSharedDatasets) {
  Json prov = {{"buildDefinition",
                {{"externalParameters", {{"step", "fine-tune"}}},
                 {"resolvedDependencies",
                  Json::array({{{"name", "dataset:pubmed"}, {"uri", "https://d"}, {"digest", {{"sha256", std::string(64, 'c')}}}}})}}}};
  Json report = {{"repository", "acme/m"},
                 {"versions", Json::array({{{"name", "acme/m"}, {"version", "1"}, {"manifest", "sha256:" + std::string(64, '1')},
                                            {"package", "sha256:" + std::string(64, 'a')}, {"parent", nullptr}, {"logIndex", 1},
                                            {"published", "2026-01-01T00:00:00Z"}, {"signers", Json::array({"ab"})},
                                            {"provenance", prov}, {"policy", nullptr}},
                                           {{"name", "acme/m"}, {"version", "2"}, {"manifest", "sha256:" + std::string(64, '2')},
                                            {"package", "sha256:" + std::string(64, 'b')}, {"parent", "sha256:" + std::string(64, 'a')},
                                            {"logIndex", 4}, {"published", "2026-01-02T00:00:00Z"}, {"signers", Json::array({"ab"})},
                                            {"provenance", prov}, {"policy", nullptr},
                                            {"countersignatures", Json::array({{{"keyId", "cd"}, {"verified", true}},
                                                                               {{"keyId", "ef"}, {"verified", false}}})}}})}};
  Json bom = CycloneDxFromReport(report, "urn:uuid:00000000-0000-4000-8000-000000000000", "2026-01-03T00:00:00Z");
  int models = 0, data = 0;
  for (const auto& c : bom["components"]) {
    models += c["type"] == "machine-learning-model";
    data += c["type"] == "data";
  }
  EXPECT_EQ(models, 2);
  EXPECT_EQ(data, 1);
  EXPECT_EQ(bom["dependencies"][1]["dependsOn"].size(), 2u);  // the dataset and the parent
  std::vector<std::string> countersigners;
  for (const auto& c : bom["components"]) {
    if (!c.contains("properties")) continue;
    for (const auto& p : c["properties"]) {
      if (p["name"] == "arca:countersigner") countersigners.push_back(p["value"]);
    }
  }
  EXPECT_EQ(countersigners, std::vector<std::string>{"cd"});  // a verified one only
  Json spdx = SpdxFromReport(report, "00000000-0000-4000-8000-000000000000", "2026-01-03T00:00:00Z");
  int ancestors = 0;
  for (const auto& e : spdx["@graph"]) ancestors += e.value("relationshipType", "") == "ancestorOf";
  EXPECT_EQ(ancestors, 1);
}

// --- witness cosignatures on the bundle's checkpoint

TEST_F(AuditCountersignTest, CosignedCheckpointNeedsTheWitnessKeysNamed) {
  AuditBundle b = BundleOf({Seal("1.0")});
  tlog::NoteSigner w1 = tlog::NoteSigner::Generate("w1.example/w", tlog::NoteSignatureType::kCosignatureV1).value();
  tlog::NoteSigner w2 = tlog::NoteSigner::Generate("w2.example/w", tlog::NoteSignatureType::kCosignatureV1).value();
  std::string cosigned = tlog::Cosign(tlog::Cosign(b.checkpoint, w1, kPublished + 5).value(), w2, kPublished + 6).value();
  // What a bundle keeps: the log's and trusted witnesses' signatures only.
  LogTrust only_w1{log_.verifier().ToString(), {w1.verifier()}, 0};
  b.checkpoint = KeepTrustedSignatures(cosigned, only_w1).value();
  EXPECT_EQ(tlog::ParseNote(b.checkpoint).value().signatures.size(), 2u);
  auto report = Verify(b, {w1.verifier()}, 1);
  ASSERT_THAT(report, IsOk());
  const Json& cs = (*report)["log"]["cosignatures"];
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0]["witness"], "w1.example/w");
  EXPECT_EQ(cs[0]["time"], FormatRfc3339(kPublished + 5));
  // An auditor who does not name the witness cannot check its line: refused, naming it.
  auto unnamed = Verify(b);
  EXPECT_THAT(unnamed, HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(unnamed.status().message(), ::testing::HasSubstr("w1.example/w"));
  EXPECT_THAT(unnamed.status().message(), ::testing::HasSubstr("--witness-key"));
  // More cosignatures required than the checkpoint carries.
  EXPECT_THAT(Verify(b, {w1.verifier(), w2.verifier()}, 2).status().message(), ::testing::HasSubstr("witnesses:"));
  // A changed byte in the cosignature.
  AuditBundle flipped = b;
  std::size_t at = flipped.checkpoint.rfind(' ') + 20;
  flipped.checkpoint[at] = flipped.checkpoint[at] == 'A' ? 'B' : 'A';
  EXPECT_THAT(Verify(flipped, {w1.verifier()}, 1), HasCode(StatusCode::kUnauthenticated));
}

}  // namespace
}  // namespace arca::client
