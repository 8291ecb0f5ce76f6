#include "distribution/registry_client.h"

#include <gtest/gtest.h>

#include "base/testing/status_matchers.h"

namespace arca::distribution {
namespace {

using ::arca::HasCode;
using ::arca::IsOk;

constexpr char kHex[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

TEST(ParseReference, HostPortRepositoryTag) {
  auto r = ParseReference("127.0.0.1:5000/acme/med-llm:1.0");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->registry, "127.0.0.1:5000");
  EXPECT_EQ(r->repository, "acme/med-llm");
  EXPECT_EQ(r->namespace_name(), "acme");
  EXPECT_EQ(r->tag, "1.0");
  EXPECT_EQ(r->digest, "");
  EXPECT_EQ(r->Identifier(), "1.0");
  EXPECT_EQ(r->LocalName(), "acme/med-llm:1.0");
  EXPECT_EQ(r->ToString(), "127.0.0.1:5000/acme/med-llm:1.0");
}

TEST(ParseReference, Digest) {
  auto r = ParseReference(std::string("reg.example/acme/team/model@sha256:") + kHex);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->registry, "reg.example");
  EXPECT_EQ(r->repository, "acme/team/model");
  EXPECT_EQ(r->tag, "");
  EXPECT_EQ(r->Identifier(), std::string("sha256:") + kHex);
  EXPECT_EQ(r->LocalName(), std::string("acme/team/model@sha256:") + kHex);
}

TEST(ParseReference, DefaultTagIsLatest) {
  auto r = ParseReference("[::1]:8700/acme/m");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->registry, "[::1]:8700");
  EXPECT_EQ(r->tag, "latest");
}

TEST(ParseReference, RejectsMalformed) {
  for (const char* bad : {"acme", "127.0.0.1:5000/med-llm:1.0", "127.0.0.1:5000/Acme/m:1", "127.0.0.1:5000/acme/m:",
                          "127.0.0.1:5000/acme/m:-x", "127.0.0.1:5000/acme/m@sha256:abc", "127.0.0.1:5000/acme//m:1",
                          "127.0.0.1:5000/acme/../m:1", "127.0.0.1:99999/acme/m:1", "127.0.0.1:/acme/m:1",
                          "ho st/acme/m:1", "127.0.0.1:5000/acme/m-:1", "[::1/acme/m:1"}) {
    EXPECT_THAT(ParseReference(bad), HasCode(StatusCode::kInvalidArgument)) << bad;
  }
  EXPECT_THAT(ParseReference(std::string("h/acme/m:1@sha256:") + kHex), HasCode(StatusCode::kInvalidArgument));
}

TEST(ParseReference, NameSeparators) {
  EXPECT_THAT(ParseReference("h/acme/a.b_c__d---e:1"), IsOk());
  EXPECT_THAT(ParseReference("h/acme/a___b:1"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseReference("h/acme/a..b:1"), HasCode(StatusCode::kInvalidArgument));
}

TEST(IsLoopbackHost, OnlyLoopback) {
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1:5000"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_TRUE(IsLoopbackHost("[::1]:80"));
  EXPECT_FALSE(IsLoopbackHost("127.0.0.2:5000"));
  EXPECT_FALSE(IsLoopbackHost("localhost.example.com"));
  EXPECT_FALSE(IsLoopbackHost("reg.example:443"));
}

TEST(ParseRangeHeader, Forms) {
  EXPECT_EQ(*ParseRangeHeader("0-1023"), 1024u);
  EXPECT_EQ(*ParseRangeHeader("bytes=0-0"), 1u);
  EXPECT_THAT(ParseRangeHeader("1-5"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseRangeHeader("0-"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseRangeHeader("0-1x"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseRangeHeader("0-99999999999999999999"), HasCode(StatusCode::kInvalidArgument));
}

TEST(ParseOciErrors, ReadsCodeMessageDetail) {
  auto e = ParseOciErrors(AsBytes(R"({"errors":[{"code":"DENIED","message":"no push to acme","detail":{"ns":"acme"}}]})"));
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].code, "DENIED");
  EXPECT_EQ(e[0].message, "no push to acme");
  EXPECT_EQ(e[0].detail, R"({"ns":"acme"})");
}

TEST(ParseOciErrors, MalformedGivesNothing) {
  EXPECT_TRUE(ParseOciErrors(AsBytes("<html>")).empty());
  EXPECT_TRUE(ParseOciErrors(AsBytes(R"({"errors":"x"})")).empty());
  EXPECT_TRUE(ParseOciErrors(AsBytes(R"({"errors":[{"code":"A"},{"code":"A"}],"errors":[]})")).empty());  // duplicate key
}

TEST(RegistryClient, UnreachableIsUnavailable) {
  ClientOptions o;
  o.registry = "127.0.0.1:1";  // nothing listens on port 1
  o.connect_timeout_s = 2;
  auto c = RegistryClient::Create(o);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ((*c)->base_url(), "http://127.0.0.1:1");
  EXPECT_THAT((*c)->BlobExists("acme/m", std::string("sha256:") + kHex), HasCode(StatusCode::kUnavailable));
}

TEST(RegistryClient, HttpsOffLoopbackUnlessInsecure) {
  ClientOptions o;
  o.registry = "reg.example:5000";
  EXPECT_EQ((*RegistryClient::Create(o))->base_url(), "https://reg.example:5000");
  o.insecure = true;
  EXPECT_EQ((*RegistryClient::Create(o))->base_url(), "http://reg.example:5000");
}

}  // namespace
}  // namespace arca::distribution
