// Audit bundles (specs/registry-client.md §9): one canonical spelling, every
// field strictly typed. Full verification, tampering and the exports'
// schema validity run end to end in tests/integration/log_audit_test.sh.
#include "client/audit.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/testing/status_matchers.h"

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
  auto r = VerifyAuditBundle(FileSystem::Default(), Sample(), root, "someone+else", "/nonexistent");
  EXPECT_THAT(r, HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(r.status().message(), ::testing::StartsWith("log-key:"));
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
                                            {"provenance", prov}, {"policy", nullptr}}})}};
  Json bom = CycloneDxFromReport(report, "urn:uuid:00000000-0000-4000-8000-000000000000", "2026-01-03T00:00:00Z");
  int models = 0, data = 0;
  for (const auto& c : bom["components"]) {
    models += c["type"] == "machine-learning-model";
    data += c["type"] == "data";
  }
  EXPECT_EQ(models, 2);
  EXPECT_EQ(data, 1);
  EXPECT_EQ(bom["dependencies"][1]["dependsOn"].size(), 2u);  // the dataset and the parent
  Json spdx = SpdxFromReport(report, "00000000-0000-4000-8000-000000000000", "2026-01-03T00:00:00Z");
  int ancestors = 0;
  for (const auto& e : spdx["@graph"]) ancestors += e.value("relationshipType", "") == "ancestorOf";
  EXPECT_EQ(ancestors, 1);
}

}  // namespace
}  // namespace arca::client
