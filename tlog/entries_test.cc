// Log entries (specs/log.md §9): canonical encoding per kind and the
// strict parser's refusals.
#include "tlog/entries.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/testing/status_matchers.h"

namespace arca::tlog {
namespace {

const std::string kD1 = "sha256:" + std::string(64, 'a');
const std::string kD2 = "sha256:" + std::string(64, 'b');

LogEntry Publish() {
  LogEntry e;
  e.kind = "publish";
  e.ns = "acme";
  e.time = 1767225600;
  e.repository = "acme/med-llm";
  e.manifest = kD1;
  e.package = kD2;
  e.name = "acme/med-llm";
  e.version = "1.2";
  e.signers = {"3f00"};
  e.provenance = {kD2};
  e.policy_version = 3;
  return e;
}

TEST(LogEntries, PublishEncodesCanonicallyWithNulls) {
  std::string bytes = EncodeLogEntry(Publish()).value();
  EXPECT_EQ(bytes,
            "{\"kind\":\"publish\",\"manifest\":\"" + kD1 + "\",\"name\":\"acme/med-llm\",\"namespace\":\"acme\","
            "\"package\":\"" + kD2 + "\",\"parent\":null,\"policy\":null,\"policy_version\":3,\"provenance\":[\"" + kD2 +
            "\"],\"repository\":\"acme/med-llm\",\"signers\":[\"3f00\"],\"time\":1767225600,\"v\":1,\"version\":\"1.2\"}");
  EXPECT_EQ(ParseLogEntry(bytes).value(), Publish());
}

TEST(LogEntries, EveryKindRoundTrips) {
  LogEntry tag;
  tag.kind = "tag";
  tag.ns = "acme";
  tag.repository = "acme/m";
  tag.tag = "latest";
  tag.manifest = kD1;
  tag.previous = kD2;
  LogEntry pol;
  pol.kind = "policy";
  pol.ns = "acme";
  pol.repository = "acme/m";
  pol.package = kD1;
  pol.policy = kD2;
  pol.policy_version = 2;
  LogEntry root;
  root.kind = "root";
  root.ns = "acme";
  root.root = kD1;
  root.root_version = 1;
  LogEntry rel;
  rel.kind = "key-release";
  rel.ns = "acme";
  rel.repository = "acme/m";
  rel.manifest = kD1;
  rel.measurement = std::string(96, 'c');
  rel.platform = "sev-snp";
  rel.evidence = kD2;
  rel.recipient = kD1;
  for (const LogEntry& e : {Publish(), tag, pol, root, rel}) {
    auto bytes = EncodeLogEntry(e);
    ASSERT_THAT(bytes, IsOk()) << e.kind;
    EXPECT_EQ(ParseLogEntry(*bytes).value(), e) << e.kind;
  }
}

TEST(LogEntries, EncoderRefusesWhatTheKindDoesNotCarry) {
  LogEntry e = Publish();
  e.tag = "x";  // a publish has no tag
  EXPECT_THAT(EncodeLogEntry(e), HasCode(StatusCode::kInvalidArgument));
  e = Publish();
  e.manifest = "sha256:ABC";
  EXPECT_THAT(EncodeLogEntry(e), HasCode(StatusCode::kInvalidArgument));
  e = Publish();
  e.kind = "delete";
  EXPECT_THAT(EncodeLogEntry(e), HasCode(StatusCode::kInvalidArgument));
  e = Publish();
  e.version = "has space";
  EXPECT_THAT(EncodeLogEntry(e), HasCode(StatusCode::kInvalidArgument));
  e = Publish();
  e.time = -1;
  EXPECT_THAT(EncodeLogEntry(e), HasCode(StatusCode::kInvalidArgument));
  LogEntry root;
  root.kind = "root";
  root.ns = "acme";
  root.root = kD1;  // root_version missing
  EXPECT_THAT(EncodeLogEntry(root), HasCode(StatusCode::kInvalidArgument));
}

TEST(LogEntries, ParserAcceptsOnlyTheCanonicalBytes) {
  std::string good = EncodeLogEntry(Publish()).value();
  // Whitespace, reordered keys, a missing or extra field, a string for a
  // number: each one a different leaf hash for "the same" entry, refused.
  std::string spaced = good;
  spaced.insert(1, " ");
  EXPECT_THAT(ParseLogEntry(spaced), HasCode(StatusCode::kInvalidArgument));
  std::string reordered = good;
  reordered.replace(reordered.find("\"v\":1,"), 6, "");
  reordered.insert(1, "\"v\":1,");
  EXPECT_THAT(ParseLogEntry(reordered), HasCode(StatusCode::kInvalidArgument));
  std::string extra = good.substr(0, good.size() - 1) + ",\"z\":1}";
  EXPECT_THAT(ParseLogEntry(extra), HasCode(StatusCode::kInvalidArgument));
  std::string missing = good;
  missing.replace(missing.find("\"parent\":null,"), 14, "");
  EXPECT_THAT(ParseLogEntry(missing), HasCode(StatusCode::kInvalidArgument));
  std::string v2 = good;
  v2.replace(v2.find("\"v\":1"), 5, "\"v\":2");
  EXPECT_THAT(ParseLogEntry(v2), HasCode(StatusCode::kInvalidArgument));
  std::string empty_parent = good;
  empty_parent.replace(empty_parent.find("\"parent\":null"), 13, "\"parent\":\"\"");
  EXPECT_THAT(ParseLogEntry(empty_parent), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseLogEntry("[]"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseLogEntry(std::string(kMaxEntryJsonBytes + 1, ' ')), HasCode(StatusCode::kResourceExhausted));
}

}  // namespace
}  // namespace arca::tlog
