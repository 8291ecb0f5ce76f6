#include "registry-server/routes.h"

#include <gtest/gtest.h>

#include "base/testing/status_matchers.h"

namespace arca::registry {
namespace {

const std::string kDigest = "sha256:" + std::string(64, 'a');

TEST(ParseRoute, Base) {
  auto r = ParseRoute("GET", "/v2/");
  ASSERT_TRUE(r.route);
  EXPECT_EQ(r.route->kind, RouteKind::kBase);
  EXPECT_TRUE(ParseRoute("HEAD", "/v2").route);
  EXPECT_EQ(ParseRoute("POST", "/v2/").error.http_status, 405);
}

TEST(ParseRoute, ManifestByTagAndDigest) {
  auto r = ParseRoute("GET", "/v2/acme/med-llm/manifests/1.2");
  ASSERT_TRUE(r.route);
  EXPECT_EQ(r.route->kind, RouteKind::kManifest);
  EXPECT_EQ(r.route->name, "acme/med-llm");
  EXPECT_EQ(r.route->ns, "acme");
  EXPECT_EQ(r.route->reference, "1.2");
  EXPECT_EQ(r.route->action, Action::kPull);
  auto p = ParseRoute("PUT", "/v2/acme/team/model/manifests/" + kDigest);
  ASSERT_TRUE(p.route);
  EXPECT_EQ(p.route->name, "acme/team/model");
  EXPECT_EQ(p.route->action, Action::kPush);
  EXPECT_EQ(ParseRoute("DELETE", "/v2/acme/m/manifests/" + kDigest).route->action, Action::kDelete);
}

TEST(ParseRoute, BlobsAndUploads) {
  EXPECT_EQ(ParseRoute("HEAD", "/v2/acme/m/blobs/" + kDigest).route->kind, RouteKind::kBlob);
  EXPECT_EQ(ParseRoute("POST", "/v2/acme/m/blobs/uploads/").route->kind, RouteKind::kUploadStart);
  EXPECT_EQ(ParseRoute("POST", "/v2/acme/m/blobs/uploads").route->kind, RouteKind::kUploadStart);
  auto u = ParseRoute("PATCH", "/v2/acme/m/blobs/uploads/" + std::string(32, 'f'));
  ASSERT_TRUE(u.route);
  EXPECT_EQ(u.route->kind, RouteKind::kUpload);
  EXPECT_EQ(u.route->action, Action::kPush);
  // A repository may itself be called "blobs".
  auto b = ParseRoute("GET", "/v2/acme/blobs/blobs/" + kDigest);
  ASSERT_TRUE(b.route);
  EXPECT_EQ(b.route->name, "acme/blobs");
}

TEST(ParseRoute, TagsAndReferrers) {
  EXPECT_EQ(ParseRoute("GET", "/v2/acme/m/tags/list").route->kind, RouteKind::kTagsList);
  EXPECT_EQ(ParseRoute("GET", "/v2/acme/m/referrers/" + kDigest).route->kind, RouteKind::kReferrers);
}

TEST(ParseRoute, RefusesBadNames) {
  for (const char* p : {"/v2/acme/../etc/manifests/1", "/v2/Acme/m/manifests/1", "/v2/m/manifests/1",
                        "/v2/acme//m/manifests/1", "/v2/acme/m-/manifests/1", "/v2/acme/.m/manifests/1",
                        "/v2/acme/m___x/manifests/1"}) {
    auto r = ParseRoute("GET", p);
    EXPECT_FALSE(r.route) << p;
    EXPECT_EQ(r.error.code, "NAME_INVALID") << p;
  }
  std::string long_name = "/v2/acme/" + std::string(300, 'a') + "/manifests/1";
  EXPECT_EQ(ParseRoute("GET", long_name).error.code, "NAME_INVALID");
  EXPECT_EQ(ParseRoute("GET", "/v2/" + std::string(2000, 'a')).error.http_status, 414);
}

TEST(ParseRoute, RefusesBadDigestsAndTags) {
  EXPECT_EQ(ParseRoute("GET", "/v2/acme/m/blobs/sha256:abc").error.code, "DIGEST_INVALID");
  EXPECT_EQ(ParseRoute("GET", "/v2/acme/m/blobs/sha512:" + std::string(128, 'a')).error.code, "DIGEST_INVALID");
  EXPECT_EQ(ParseRoute("GET", "/v2/acme/m/blobs/sha256:" + std::string(64, 'A')).error.code, "DIGEST_INVALID");
  EXPECT_EQ(ParseRoute("GET", "/v2/acme/m/manifests/-bad").error.code, "TAG_INVALID");
  EXPECT_EQ(ParseRoute("GET", "/v2/acme/m/manifests/" + std::string(129, 'a')).error.code, "TAG_INVALID");
  EXPECT_FALSE(ParseRoute("PATCH", "/v2/acme/m/blobs/uploads/../../x").route);
  EXPECT_EQ(ParseRoute("PATCH", "/v2/acme/m/blobs/uploads/xyz").error.code, "BLOB_UPLOAD_UNKNOWN");
}

TEST(ParseRoute, UnknownEndpointsAndMethods) {
  EXPECT_EQ(ParseRoute("GET", "/v1/acme/m/manifests/1").error.code, "NAME_UNKNOWN");
  EXPECT_EQ(ParseRoute("GET", "/v2/acme/m/other/1").error.code, "NAME_UNKNOWN");
  EXPECT_EQ(ParseRoute("POST", "/v2/acme/m/manifests/1").error.http_status, 405);
  EXPECT_EQ(ParseRoute("PUT", "/v2/acme/m/blobs/" + kDigest).error.http_status, 405);
  EXPECT_EQ(ParseRoute("PUT", "/v2/acme/m/tags/list").error.http_status, 405);
}

TEST(ContentRange, Forms) {
  auto a = ParseContentRange("0-1023");
  ASSERT_THAT(a, IsOk());
  EXPECT_EQ(a->start, 0u);
  EXPECT_EQ(a->end, 1023u);
  auto b = ParseContentRange("bytes 100-199/200");
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(b->start, 100u);
  for (const char* bad : {"", "-", "5-", "-5", "9-3", "a-b", "1-2-3", "bytes 1-2", "99999999999999999999-1"}) {
    EXPECT_THAT(ParseContentRange(bad), HasCode(StatusCode::kInvalidArgument)) << bad;
  }
}

TEST(Authorization, BearerAndBasic) {
  EXPECT_EQ(*TokenFromAuthorization("Bearer arca_x"), "arca_x");
  EXPECT_EQ(*TokenFromAuthorization("bearer arca_x"), "arca_x");
  // "token:arca_x" in base64.
  EXPECT_EQ(*TokenFromAuthorization("Basic dG9rZW46YXJjYV94"), "arca_x");
  EXPECT_THAT(TokenFromAuthorization(""), HasCode(StatusCode::kNotFound));
  for (const char* bad : {"Digest x", "Bearer ", "Basic !!!", "Basic dG9rZW4=", "Bearer"}) {
    EXPECT_THAT(TokenFromAuthorization(bad), HasCode(StatusCode::kInvalidArgument)) << bad;
  }
  auto r = TokenFromAuthorization("Basic !!!secret!!!");
  EXPECT_EQ(r.status().message().find("secret"), std::string::npos);
}

}  // namespace
}  // namespace arca::registry
