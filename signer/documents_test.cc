#include "signer/documents.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "base/testing/status_matchers.h"
#include "base/testing/temp_dir.h"

namespace arca::signer {
namespace {

using ::testing::HasSubstr;

const std::string kHex(64, 'a');

PackageSubject TestSubject() { return PackageSubject{"acme/med-llm", "1.2", "sha256:" + std::string(64, '1')}; }

void Shell(const std::string& cmd) { ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd; }

TEST(ProvenanceFile, ParsesEveryField) {
  std::string text = R"({"step":"fine-tune","datasets":[{"name":"pubmed","uri":"https://e.org/p","sha256":")" + kHex +
                     R"("}],"gitRepository":"/src","hyperparameters":"hp.yaml","ranBy":"alice","startedOn":"2026-01-01T00:00:00Z","finishedOn":"2026-01-02T00:00:00Z"})";
  auto f = ParseProvenanceFile(AsBytes(text));
  ASSERT_THAT(f, IsOk());
  EXPECT_EQ(f->input.step, "fine-tune");
  ASSERT_EQ(f->input.datasets.size(), 1u);
  EXPECT_EQ(f->git_repository, "/src");
  EXPECT_EQ(f->hyperparameters_path, "hp.yaml");
  EXPECT_EQ(f->input.finished_on - f->input.started_on, 86400);
}

TEST(ProvenanceFile, RefusesBadInput) {
  EXPECT_THAT(ParseProvenanceFile(AsBytes(R"({"stepp":"x"})")), HasCodeAndMessage(StatusCode::kInvalidArgument, "stepp"));
  EXPECT_THAT(ParseProvenanceFile(AsBytes(R"({"datasets":[{"name":"d","uri":"u","sha256":"xyz"}]})")),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "datasets[0].sha256"));
  EXPECT_THAT(ParseProvenanceFile(AsBytes(R"({"startedOn":"yesterday"})")), HasCodeAndMessage(StatusCode::kInvalidArgument, "startedOn"));
  EXPECT_THAT(ParseProvenanceFile(AsBytes("[")), HasCode(StatusCode::kInvalidArgument));
}

TEST(Provenance, StatementRoundTripsAndLinksTheBaseModel) {
  ProvenanceInput in;
  in.step = "quantize";
  in.base_model_name = "acme/med-llm:1.1";
  in.base_model_digest = "sha256:" + std::string(64, 'b');
  in.datasets.push_back(Dataset{"d", "https://e.org/d", kHex});
  in.code = GitSource{"git+https://git.example/acme/train", std::string(40, 'c'), true};
  in.hyperparameters_sha256 = kHex;
  in.ran_by = "bob";
  Statement st = MakeProvenanceStatement(TestSubject(), in);
  auto bytes = SerializeStatement(st);
  ASSERT_THAT(bytes, IsOk());
  auto back = ParseStatement(AsBytes(*bytes));
  ASSERT_THAT(back, IsOk());
  EXPECT_THAT(CheckSubject(*back, TestSubject()), IsOk());
  auto facts = ParseProvenancePredicate(back->predicate);
  ASSERT_THAT(facts, IsOk());
  EXPECT_EQ(facts->base_model_digest, in.base_model_digest);
  EXPECT_EQ(facts->build_type, kMlStepBuildType);
  EXPECT_EQ(facts->dependencies.size(), 3u);
}

TEST(Provenance, PredicateMissingItsShapeIsRefused) {
  EXPECT_THAT(ParseProvenancePredicate(Json::object()), HasCodeAndMessage(StatusCode::kInvalidArgument, "buildDefinition"));
  Json p = {{"buildDefinition", {{"buildType", "x"}, {"externalParameters", Json::object()}}}, {"runDetails", Json::object()}};
  EXPECT_THAT(ParseProvenancePredicate(p), HasCodeAndMessage(StatusCode::kInvalidArgument, "builder"));
}

TEST(GitSource, ReadsRemoteCommitAndDirtyState) {
  testing_util::TempDir tmp;
  std::string repo = tmp.path() + "/train";
  Shell("git init -q " + repo + " && cd " + repo + " && git config user.email t@e.x && git config user.name T" +
      " && echo a > train.py && git add train.py && git commit -qm one && git remote add origin https://git.example/acme/train.git");
  auto src = ReadGitSource(repo);
  ASSERT_THAT(src, IsOk());
  EXPECT_EQ(src->uri, "git+https://git.example/acme/train.git");
  EXPECT_EQ(src->commit.size(), 40u);
  EXPECT_FALSE(src->dirty);
  // The commit is HEAD's, as git itself reports it.
  std::string head_file = tmp.path() + "/head";
  Shell("git -C " + repo + " rev-parse HEAD > " + head_file);
  std::string head;
  std::ifstream(head_file) >> head;
  EXPECT_EQ(src->commit, head);
  Shell("echo b >> " + repo + "/train.py");
  EXPECT_TRUE(ReadGitSource(repo)->dirty);
  Shell("git -C " + repo + " checkout -q train.py && echo new > " + repo + "/untracked.txt");
  EXPECT_TRUE(ReadGitSource(repo)->dirty);
}

TEST(GitSource, NotARepositoryOrNoCommitIsRefused) {
  testing_util::TempDir tmp;
  EXPECT_THAT(ReadGitSource(tmp.path()), HasCode(StatusCode::kNotFound));
  Shell("git init -q " + tmp.path() + "/empty");
  EXPECT_THAT(ReadGitSource(tmp.path() + "/empty"), HasCode(StatusCode::kFailedPrecondition));
}

TEST(Policy, StatementRoundTrips) {
  Policy p;
  p.subject = TestSubject();
  p.version = 7;
  p.expires = 1900000000;
  p.allow.push_back(PolicyRule{"tdx", std::string(96, 'f'), {{"tcbSvn", 3}}});
  p.revoked.push_back(std::string(96, 'e'));
  p.require_gpu_cc = true;
  auto bytes = SerializeStatement(PolicyToStatement(p)).value();
  auto back = PolicyFromStatement(ParseStatement(AsBytes(bytes)).value());
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->version, 7u);
  EXPECT_EQ(back->expires, 1900000000);
  ASSERT_EQ(back->allow.size(), 1u);
  EXPECT_EQ(back->allow[0].min_tcb.at("tcbSvn"), 3u);
  EXPECT_EQ(back->revoked, p.revoked);
  EXPECT_FALSE(back->allow_debug);
  EXPECT_TRUE(back->require_gpu_cc);
  EXPECT_EQ(back->subject.manifest_digest, p.subject.manifest_digest);
}

TEST(Policy, BadPredicatesAreRefusedNamingTheField) {
  Policy p;
  p.subject = TestSubject();
  Statement st = PolicyToStatement(p);
  auto with = [&](auto edit) {
    Statement s = st;
    edit(s.predicate);
    return PolicyFromStatement(s);
  };
  EXPECT_THAT(with([](Json& j) { j["version"] = 0; }), HasCodeAndMessage(StatusCode::kInvalidArgument, "version"));
  EXPECT_THAT(with([](Json& j) { j["allow"] = Json::array({{{"platform", "sev-snp"}, {"measurement", "ab"}}}); }),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "allow[0]"));
  EXPECT_THAT(with([](Json& j) { j["revoked"] = Json::array({"zz"}); }), HasCodeAndMessage(StatusCode::kInvalidArgument, "revoked[0]"));
  EXPECT_THAT(with([](Json& j) { j["allowDebug"] = "yes"; }), HasCodeAndMessage(StatusCode::kInvalidArgument, "allowDebug"));
  EXPECT_THAT(with([](Json& j) { j["surprise"] = 1; }), HasCodeAndMessage(StatusCode::kInvalidArgument, "surprise"));
  EXPECT_THAT(with([](Json& j) { j["expires"] = "soon"; }), HasCodeAndMessage(StatusCode::kInvalidArgument, "expires"));
  Statement wrong = st;
  wrong.predicate_type = std::string(kReleasePredicateType);
  EXPECT_THAT(PolicyFromStatement(wrong), HasCodeAndMessage(StatusCode::kInvalidArgument, "not a policy"));
}

TEST(Subject, OtherDigestOrNameIsRefused) {
  Statement st = MakeReleaseStatement(TestSubject(), std::nullopt);
  EXPECT_THAT(CheckSubject(st, TestSubject()), IsOk());
  PackageSubject other = TestSubject();
  other.manifest_digest = "sha256:" + std::string(64, '2');
  EXPECT_THAT(CheckSubject(st, other), HasCodeAndMessage(StatusCode::kUnauthenticated, "not this package"));
  other = TestSubject();
  other.version = "1.3";
  EXPECT_THAT(CheckSubject(st, other), HasCodeAndMessage(StatusCode::kUnauthenticated, "names"));
  st.subjects.push_back(st.subjects[0]);
  EXPECT_THAT(CheckSubject(st, TestSubject()), HasCodeAndMessage(StatusCode::kUnauthenticated, "exactly one"));
}

}  // namespace
}  // namespace arca::signer
