// arca-registry over real HTTP on loopback: the OCI distribution endpoints,
// authorization, the push-time signature check, and every refusal of the
// issue's bad-input list, against real sealed packages. The server runs
// in-process on a free port; requests go through cpp-httplib's client.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>
#include <fstream>

#include "base/crypto.h"
#include "base/json.h"
#include "base/testing/status_matchers.h"
#include "base/testing/temp_dir.h"
#include "format/oci_layout.h"
#include "format/package.h"
#include "format/testing/synthetic_weights.h"
#include "registry-server/registry.h"
#include "registry-server/witness_server.h"
#include "signer/documents.h"
#include "signer/package_signing.h"
#include "signer/root.h"
#include "tlog/checkpoint.h"
#include "tlog/entries.h"
#include "tlog/proof.h"
#include "tlog/tiles.h"
#include "tlog/witness.h"

namespace arca::registry {
namespace {

using ::testing::HasSubstr;
namespace stdfs = std::filesystem;

void WriteFile(const std::string& path, ByteSpan data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size()));
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string ErrorCode(const httplib::Result& r) {
  if (!r) return "<no response>";
  auto j = ParseJson(r->body, "error body");
  if (!j.ok() || !j->contains("errors")) return "<no OCI error body: " + r->body + ">";
  return (*j)["errors"][0]["code"].get<std::string>();
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 3; ++i) {
      keys_.push_back(signer::MakeKeySigner(crypto::PrivateKey::Generate(crypto::KeyType::kEd25519).value()));
    }
    stdfs::create_directories(model_);
    WriteFile(model_ + "/weights.bin", format::test_data::Bf16Weights(60000, 3));
    WriteFile(model_ + "/config.json", AsBytes("{\"layers\":2}"));
    reg_ = Registry::Open(tmp_.path() + "/var").value();
    root_.root.namespace_name = "acme";
    root_.root.version = 1;
    root_.root.threshold = 1;
    root_.root.keys.emplace(keys_[0]->KeyId(), keys_[0]->public_key());
    ASSERT_THAT(signer::SignRoot(*keys_[0], root_), IsOk());
    std::string doc = signer::SerializeRoot(root_).value();
    ASSERT_THAT(reg_->AddRoot("acme", AsBytes(doc), NowUnixSeconds()), IsOk());
    token_ = reg_->metadata().CreateToken("acme", kScopePull | kScopePush, "test", NowUnixSeconds()).value();
    ServeOptions o;
    o.port = 0;
    o.log_requests = false;
    server_ = Server::Create(*reg_, o).value();
    ASSERT_THAT(server_->Start(), IsOk());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_bearer_token_auth(token_.c_str());
  }
  void TearDown() override { server_->Stop(); }

  // Seal a package named `name`, signed by keys_[signers...].
  std::string Seal(const std::string& dir_name, std::vector<int> signers, const std::string& name = "acme/med-llm") {
    format::SealOptions o;
    o.name = name;
    o.version = "1.0";
    o.chunking = format::ChunkingParams{1024, 4096, 16384};
    o.pack_target_bytes = 32 * 1024;
    std::vector<signer::Signer*> s;
    for (int i : signers) s.push_back(keys_[i].get());
    if (!s.empty()) o.attach = signer::SealAttachments(s, std::nullopt);
    auto lineage = format::LineageKey::FromBytes(Bytes(32, 0x22)).value();
    std::string dir = tmp_.path() + "/" + dir_name;
    EXPECT_THAT(format::Seal(FileSystem::Default(), model_, dir, lineage, o), IsOk());
    return dir;
  }

  // Monolithic-or-chunked upload of one blob; returns the final status.
  int UploadBlob(const std::string& repo, const std::string& bytes, bool chunked = true) {
    std::string digest = format::DigestOf(AsBytes(bytes));
    auto start = client_->Post(("/v2/" + repo + "/blobs/uploads/").c_str(), "", "application/octet-stream");
    if (!start || start->status != 202) return start ? start->status : -1;
    std::string loc = start->get_header_value("Location");
    if (chunked && bytes.size() > 1) {
      std::size_t half = bytes.size() / 2;
      httplib::Headers h = {{"Content-Range", "0-" + std::to_string(half - 1)}};
      auto p1 = client_->Patch(loc.c_str(), h, bytes.substr(0, half), "application/octet-stream");
      if (!p1 || p1->status != 202) return p1 ? p1->status : -1;
      loc = p1->get_header_value("Location");
      httplib::Headers h2 = {{"Content-Range", std::to_string(half) + "-" + std::to_string(bytes.size() - 1)}};
      auto p2 = client_->Patch(loc.c_str(), h2, bytes.substr(half), "application/octet-stream");
      if (!p2 || p2->status != 202) return p2 ? p2->status : -1;
      auto put = client_->Put((loc + "?digest=" + digest).c_str(), "", "application/octet-stream");
      return put ? put->status : -1;
    }
    auto put = client_->Put((loc + "?digest=" + digest).c_str(), bytes, "application/octet-stream");
    return put ? put->status : -1;
  }

  // Push every blob of a layout, then its manifest under `tag`.
  httplib::Result Push(const std::string& dir, const std::string& repo, const std::string& tag) {
    auto layout = format::OciLayoutReader::Open(FileSystem::Default(), dir).value();
    std::vector<format::Descriptor> descs = {layout.manifest().config};
    for (const auto& l : layout.manifest().layers) descs.push_back(l);
    for (const auto& d : descs) {
      auto head = client_->Head(("/v2/" + repo + "/blobs/" + d.digest).c_str());
      if (head && head->status == 200) continue;
      EXPECT_EQ(UploadBlob(repo, ReadAll(layout.BlobPath(d.digest))), 201) << d.digest;
    }
    std::string manifest = ReadAll(layout.BlobPath(layout.manifest_descriptor().digest));
    return client_->Put(("/v2/" + repo + "/manifests/" + tag).c_str(), manifest,
                        std::string(format::kOciManifestMediaType).c_str());
  }

  std::string ManifestBytes(const std::string& dir) {
    auto layout = format::OciLayoutReader::Open(FileSystem::Default(), dir).value();
    return ReadAll(layout.BlobPath(layout.manifest_descriptor().digest));
  }

  httplib::Client Anonymous() { return httplib::Client("127.0.0.1", server_->port()); }

  testing_util::TempDir tmp_;
  std::string model_ = tmp_.path() + "/model";
  std::vector<std::unique_ptr<signer::Signer>> keys_;
  signer::SignedRoot root_;
  std::unique_ptr<Registry> reg_;
  std::string token_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ServerTest, BaseEndpointAsksForCredentials) {
  auto anon = Anonymous();
  auto r = anon.Get("/v2/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Basic realm=\"arca-registry\"");
  EXPECT_EQ(ErrorCode(r), "UNAUTHORIZED");
  EXPECT_EQ(client_->Get("/v2/")->status, 200);
  // HTTP Basic with the token as password (what skopeo --creds sends).
  auto basic = Anonymous();
  basic.set_basic_auth("anyone", token_.c_str());
  EXPECT_EQ(basic.Get("/v2/")->status, 200);
  auto wrong = Anonymous();
  wrong.set_bearer_token_auth("arca_0000");
  EXPECT_EQ(wrong.Get("/v2/")->status, 401);
}

TEST_F(ServerTest, PushThenPullBytesAndRanges) {
  std::string pkg = Seal("pkg", {0});
  auto put = Push(pkg, "acme/med-llm", "1.0");
  ASSERT_TRUE(put);
  ASSERT_EQ(put->status, 201) << put->body;
  std::string manifest = ManifestBytes(pkg);
  std::string digest = format::DigestOf(AsBytes(manifest));
  EXPECT_EQ(put->get_header_value("Docker-Content-Digest"), digest);
  auto got = client_->Get("/v2/acme/med-llm/manifests/1.0");
  ASSERT_EQ(got->status, 200);
  EXPECT_EQ(got->body, manifest);
  EXPECT_EQ(got->get_header_value("Content-Type"), format::kOciManifestMediaType);
  EXPECT_EQ(client_->Get(("/v2/acme/med-llm/manifests/" + digest).c_str())->body, manifest);
  EXPECT_EQ(client_->Head("/v2/acme/med-llm/manifests/1.0")->status, 200);

  auto layout = format::OciLayoutReader::Open(FileSystem::Default(), pkg).value();
  const auto& pack = layout.manifest().layers[1];
  std::string bytes = ReadAll(layout.BlobPath(pack.digest));
  auto blob = client_->Get(("/v2/acme/med-llm/blobs/" + pack.digest).c_str());
  ASSERT_EQ(blob->status, 200);
  EXPECT_EQ(blob->body, bytes);
  auto head = client_->Head(("/v2/acme/med-llm/blobs/" + pack.digest).c_str());
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->get_header_value("Content-Length"), std::to_string(bytes.size()));
  auto range = client_->Get(("/v2/acme/med-llm/blobs/" + pack.digest).c_str(), {{"Range", "bytes=100-"}});
  ASSERT_EQ(range->status, 206);
  EXPECT_EQ(range->body, bytes.substr(100));

  auto tags = client_->Get("/v2/acme/med-llm/tags/list");
  EXPECT_EQ(ParseJson(tags->body, "tags").value()["tags"], Json::array({"1.0"}));
  auto refs = client_->Get(("/v2/acme/med-llm/referrers/" + digest).c_str());
  ASSERT_EQ(refs->status, 200);
  EXPECT_TRUE(ParseJson(refs->body, "index").value()["manifests"].empty());
}

TEST_F(ServerTest, PushingAgainFindsEveryBlob) {
  std::string pkg = Seal("pkg", {0});
  ASSERT_EQ(Push(pkg, "acme/med-llm", "1.0")->status, 201);
  auto layout = format::OciLayoutReader::Open(FileSystem::Default(), pkg).value();
  for (const auto& l : layout.manifest().layers) {
    EXPECT_EQ(client_->Head(("/v2/acme/med-llm/blobs/" + l.digest).c_str())->status, 200);
  }
}

TEST_F(ServerTest, UnsignedPackageIsRefused) {
  std::string pkg = Seal("unsigned", {});
  auto put = Push(pkg, "acme/med-llm", "1.0");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 400);
  EXPECT_EQ(ErrorCode(put), "MANIFEST_INVALID");
  EXPECT_THAT(put->body, HasSubstr("does not verify against the root of namespace acme"));
  EXPECT_EQ(client_->Get("/v2/acme/med-llm/manifests/1.0")->status, 404);
}

TEST_F(ServerTest, PackageSignedByKeyOutsideTheRootIsRefused) {
  std::string pkg = Seal("foreign", {1});
  auto put = Push(pkg, "acme/med-llm", "1.0");
  EXPECT_EQ(put->status, 400);
  EXPECT_THAT(put->body, HasSubstr("release.signature"));
  EXPECT_EQ(client_->Get("/v2/acme/med-llm/manifests/1.0")->status, 404);
}

TEST_F(ServerTest, PackageUnderAnotherNameIsRefused) {
  std::string pkg = Seal("pkg", {0});
  auto put = Push(pkg, "acme/other", "1.0");
  EXPECT_EQ(put->status, 400);
  EXPECT_THAT(put->body, HasSubstr("signed as acme/med-llm, not acme/other"));
}

TEST_F(ServerTest, NamespaceWithoutRootRefusesPackages) {
  auto t = reg_->metadata().CreateToken("beta", kScopePush | kScopePull, "", NowUnixSeconds()).value();
  client_->set_bearer_token_auth(t.c_str());
  std::string pkg = Seal("beta", {0}, "beta/model");
  auto put = Push(pkg, "beta/model", "1.0");
  EXPECT_EQ(put->status, 403);
  EXPECT_THAT(put->body, HasSubstr("arca-registry namespace add beta"));
}

TEST_F(ServerTest, NonArcaManifestInRootedNamespaceIsRefused) {
  std::string config = "{}";
  ASSERT_EQ(UploadBlob("acme/med-llm", config, false), 201);
  format::OciManifest m;
  m.config = {std::string(format::kOciEmptyMediaType), format::DigestOf(AsBytes(config)), 2, {}};
  m.layers.push_back(m.config);
  auto put = client_->Put("/v2/acme/med-llm/manifests/x", format::SerializeOciManifest(m),
                          std::string(format::kOciManifestMediaType).c_str());
  EXPECT_EQ(put->status, 400);
  EXPECT_THAT(put->body, HasSubstr("accepts only sealed Arca packages"));
}

TEST_F(ServerTest, WrongTokensAreRefused) {
  auto anon = Anonymous();
  auto r = anon.Post("/v2/acme/med-llm/blobs/uploads/", "", "application/octet-stream");
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(ErrorCode(r), "UNAUTHORIZED");
  auto other = reg_->metadata().CreateToken("beta", kScopePush | kScopePull, "", NowUnixSeconds()).value();
  auto c = Anonymous();
  c.set_bearer_token_auth(other.c_str());
  auto denied = c.Post("/v2/acme/med-llm/blobs/uploads/", "", "application/octet-stream");
  EXPECT_EQ(denied->status, 403);
  EXPECT_EQ(ErrorCode(denied), "DENIED");
  EXPECT_EQ(c.Get("/v2/acme/med-llm/tags/list")->status, 403);
  auto pull_only = reg_->metadata().CreateToken("acme", kScopePull, "", NowUnixSeconds()).value();
  auto p = Anonymous();
  p.set_bearer_token_auth(pull_only.c_str());
  EXPECT_EQ(p.Post("/v2/acme/med-llm/blobs/uploads/", "", "application/octet-stream")->status, 403);
  EXPECT_EQ(p.Get("/v2/acme/med-llm/tags/list")->status, 200);
  // Revoked: refused from then on.
  auto tokens = reg_->metadata().ListTokens().value();
  for (const auto& t : tokens) {
    if (t.scopes == kScopePull) {
      ASSERT_THAT(reg_->metadata().RevokeToken(t.id), IsOk());
    }
  }
  EXPECT_EQ(p.Get("/v2/acme/med-llm/tags/list")->status, 401);
}

TEST_F(ServerTest, PublicPullNamespaceServesAnonymousReadsOnly) {
  std::string pkg = Seal("pkg", {0});
  ASSERT_EQ(Push(pkg, "acme/med-llm", "1.0")->status, 201);
  auto anon = Anonymous();
  EXPECT_EQ(anon.Get("/v2/acme/med-llm/manifests/1.0")->status, 401);
  ASSERT_THAT(reg_->metadata().SetPublicPull("acme", true), IsOk());
  EXPECT_EQ(anon.Get("/v2/acme/med-llm/manifests/1.0")->status, 200);
  EXPECT_EQ(anon.Post("/v2/acme/med-llm/blobs/uploads/", "", "application/octet-stream")->status, 401);
}

TEST_F(ServerTest, WrongDigestOnUploadIsRefusedAndNothingIsStored) {
  auto start = client_->Post("/v2/acme/med-llm/blobs/uploads/", "", "application/octet-stream");
  ASSERT_EQ(start->status, 202);
  std::string claimed = format::DigestOf(AsBytes("something else"));
  auto put = client_->Put((start->get_header_value("Location") + "?digest=" + claimed).c_str(), "the bytes",
                          "application/octet-stream");
  EXPECT_EQ(put->status, 400);
  EXPECT_EQ(ErrorCode(put), "DIGEST_INVALID");
  EXPECT_EQ(client_->Head(("/v2/acme/med-llm/blobs/" + claimed).c_str())->status, 404);
  std::string real = format::DigestOf(AsBytes("the bytes"));
  EXPECT_EQ(client_->Head(("/v2/acme/med-llm/blobs/" + real).c_str())->status, 404);
  EXPECT_FALSE(stdfs::exists(reg_->blobs().BlobPath(real)));
}

TEST_F(ServerTest, BodyLongerThanItsContentRangeIsRefused) {
  auto start = client_->Post("/v2/acme/med-llm/blobs/uploads/", "", "application/octet-stream");
  auto patch = client_->Patch(start->get_header_value("Location").c_str(), {{"Content-Range", "0-3"}}, "0123456789",
                              "application/octet-stream");
  ASSERT_TRUE(patch);
  EXPECT_EQ(patch->status, 400);
  EXPECT_EQ(ErrorCode(patch), "BLOB_UPLOAD_INVALID");
}

TEST_F(ServerTest, InterruptedUploadResumesFromTheSessionRange) {
  std::string bytes(300000, 'x');
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = char(i * 7);
  auto start = client_->Post("/v2/acme/med-llm/blobs/uploads/", "", "application/octet-stream");
  std::string loc = start->get_header_value("Location");
  ASSERT_EQ(client_->Patch(loc.c_str(), {{"Content-Range", "0-99999"}}, bytes.substr(0, 100000),
                           "application/octet-stream")->status, 202);
  // A client that lost track asks where the session is.
  auto status = client_->Get(loc.c_str());
  ASSERT_EQ(status->status, 204);
  EXPECT_EQ(status->get_header_value("Range"), "0-99999");
  // A chunk that does not continue at the session's end is refused.
  auto gap = client_->Patch(loc.c_str(), {{"Content-Range", "200000-299999"}}, bytes.substr(200000),
                            "application/octet-stream");
  EXPECT_EQ(gap->status, 416);
  EXPECT_EQ(gap->get_header_value("Range"), "0-99999");
  ASSERT_EQ(client_->Patch(loc.c_str(), {{"Content-Range", "100000-299999"}}, bytes.substr(100000),
                           "application/octet-stream")->status, 202);
  std::string digest = format::DigestOf(AsBytes(bytes));
  auto put = client_->Put((loc + "?digest=" + digest).c_str(), "", "application/octet-stream");
  ASSERT_EQ(put->status, 201);
  EXPECT_EQ(client_->Get(("/v2/acme/med-llm/blobs/" + digest).c_str())->body, bytes);
}

TEST_F(ServerTest, UploadSessionsBelongToTheirRepository) {
  auto start = client_->Post("/v2/acme/med-llm/blobs/uploads/", "", "application/octet-stream");
  std::string id = start->get_header_value("Docker-Upload-UUID");
  auto r = client_->Patch(("/v2/acme/other/blobs/uploads/" + id).c_str(), "x", "application/octet-stream");
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(ErrorCode(r), "BLOB_UPLOAD_UNKNOWN");
}

TEST_F(ServerTest, OversizedManifestIsRefused) {
  std::string big(kMaxManifestBytes + 10, ' ');
  auto put = client_->Put("/v2/acme/med-llm/manifests/1.0", big, std::string(format::kOciManifestMediaType).c_str());
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 413);
  EXPECT_EQ(ErrorCode(put), "SIZE_INVALID");
}

TEST_F(ServerTest, ManifestWithUnknownMediaTypeIsRefused) {
  auto put = client_->Put("/v2/acme/med-llm/manifests/1.0", "{}", "application/x-whatever");
  EXPECT_EQ(put->status, 415);
  EXPECT_EQ(ErrorCode(put), "MANIFEST_INVALID");
  auto bad = client_->Put("/v2/acme/med-llm/manifests/1.0", "{not json", std::string(format::kOciManifestMediaType).c_str());
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(ErrorCode(bad), "MANIFEST_INVALID");
}

TEST_F(ServerTest, ManifestReferencingAbsentBlobsIsRefused) {
  std::string pkg = Seal("pkg", {0});
  auto put = client_->Put("/v2/acme/med-llm/manifests/1.0", ManifestBytes(pkg),
                          std::string(format::kOciManifestMediaType).c_str());
  EXPECT_EQ(put->status, 400);
  EXPECT_EQ(ErrorCode(put), "MANIFEST_BLOB_UNKNOWN");
}

TEST_F(ServerTest, ManifestPutByWrongDigestIsRefused) {
  std::string pkg = Seal("pkg", {0});
  ASSERT_EQ(Push(pkg, "acme/med-llm", "1.0")->status, 201);
  std::string wrong = "sha256:" + std::string(64, '0');
  auto put = client_->Put(("/v2/acme/med-llm/manifests/" + wrong).c_str(), ManifestBytes(pkg),
                          std::string(format::kOciManifestMediaType).c_str());
  EXPECT_EQ(put->status, 400);
  EXPECT_EQ(ErrorCode(put), "DIGEST_INVALID");
}

TEST_F(ServerTest, MalformedRequestsLeaveTheServerUp) {
  httplib::Client raw("127.0.0.1", server_->port());
  raw.set_bearer_token_auth(token_.c_str());
  EXPECT_EQ(ErrorCode(raw.Get("/v2/acme/../../etc/passwd/blobs/x")), "NAME_INVALID");
  EXPECT_EQ(ErrorCode(raw.Get("/v2/acme/med-llm/blobs/sha256:zz")), "DIGEST_INVALID");
  EXPECT_EQ(ErrorCode(raw.Get("/nothing")), "NAME_UNKNOWN");
  EXPECT_EQ(raw.Get("/v2/acme/med-llm/tags/list?n=abc")->status, 400);
  // A raw socket sending garbage.
  httplib::Client junk("127.0.0.1", server_->port());
  auto bad = junk.Get(std::string(10000, 'A').c_str());
  EXPECT_EQ(raw.Get("/v2/")->status, 200);
}

TEST_F(ServerTest, CrossRepositoryMountNeedsPullOnTheSource) {
  std::string pkg = Seal("pkg", {0});
  ASSERT_EQ(Push(pkg, "acme/med-llm", "1.0")->status, 201);
  auto layout = format::OciLayoutReader::Open(FileSystem::Default(), pkg).value();
  std::string d = layout.manifest().layers[1].digest;
  auto mount = client_->Post(("/v2/acme/copy/blobs/uploads/?mount=" + d + "&from=acme/med-llm").c_str(), "",
                             "application/octet-stream");
  EXPECT_EQ(mount->status, 201);
  EXPECT_EQ(client_->Head(("/v2/acme/copy/blobs/" + d).c_str())->status, 200);
  // From a namespace this token cannot read: a plain upload session instead.
  auto other = reg_->metadata().CreateToken("beta", kScopePush | kScopePull, "", NowUnixSeconds()).value();
  auto b = Anonymous();
  b.set_bearer_token_auth(other.c_str());
  auto steal = b.Post(("/v2/beta/x/blobs/uploads/?mount=" + d + "&from=acme/med-llm").c_str(), "",
                      "application/octet-stream");
  EXPECT_EQ(steal->status, 202);
  EXPECT_EQ(b.Head(("/v2/beta/x/blobs/" + d).c_str())->status, 404);
}

TEST_F(ServerTest, GcDeletesOnlyUnreferencedBlobs) {
  std::string pkg = Seal("pkg", {0});
  ASSERT_EQ(Push(pkg, "acme/med-llm", "1.0")->status, 201);
  std::string stray = "not referenced by anything";
  ASSERT_EQ(UploadBlob("acme/med-llm", stray, false), 201);
  std::string stray_digest = format::DigestOf(AsBytes(stray));
  // Within the grace period it stays (a push in progress).
  auto kept = reg_->CollectGarbage(NowUnixSeconds(), 3600, 86400).value();
  EXPECT_EQ(kept.blobs_deleted, 0u);
  auto report = reg_->CollectGarbage(NowUnixSeconds() + 10, 0, 86400).value();
  EXPECT_EQ(report.blobs_deleted, 1u);
  EXPECT_EQ(report.deleted, std::vector<std::string>{stray_digest});
  EXPECT_FALSE(stdfs::exists(reg_->blobs().BlobPath(stray_digest)));
  EXPECT_EQ(client_->Head(("/v2/acme/med-llm/blobs/" + stray_digest).c_str())->status, 404);
  EXPECT_EQ(client_->Get("/v2/acme/med-llm/manifests/1.0")->status, 200);
  auto layout = format::OciLayoutReader::Open(FileSystem::Default(), pkg).value();
  for (const auto& l : layout.manifest().layers) {
    EXPECT_EQ(client_->Get(("/v2/acme/med-llm/blobs/" + l.digest).c_str())->status, 200);
  }
}

TEST_F(ServerTest, GcRemovesOrphanFilesLeftByACrash) {
  // A blob file renamed into place whose metadata commit never happened.
  std::string orphan_digest = format::DigestOf(AsBytes("orphan"));
  std::string path = reg_->blobs().BlobPath(orphan_digest);
  stdfs::create_directories(stdfs::path(path).parent_path());
  WriteFile(path, AsBytes("orphan"));
  auto report = reg_->CollectGarbage(NowUnixSeconds(), 3600, 86400).value();
  EXPECT_EQ(report.deleted, std::vector<std::string>{orphan_digest});
  EXPECT_FALSE(stdfs::exists(path));
}

TEST_F(ServerTest, MetricsCountRequests) {
  client_->Get("/v2/");
  // Requests are counted by the logger, which httplib runs after the reply
  // is sent: poll (bounded) instead of racing it.
  std::string body;
  for (int i = 0; i < 100; ++i) {
    auto m = Anonymous().Get("/metrics");
    ASSERT_EQ(m->status, 200);
    body = m->body;
    if (body.find("code=\"200\"") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_THAT(body, HasSubstr("arca_registry_requests_total{method=\"GET\",code=\"200\"}"));
  EXPECT_THAT(body, HasSubstr("arca_registry_namespaces 1"));
}

// specs/registry.md §6: gc running continuously with no grace period
// against concurrent pushes. A push may be told MANIFEST_BLOB_UNKNOWN (and
// re-upload), but a manifest the registry accepted never loses a blob.
TEST_F(ServerTest, GcRacingPushesNeverBreaksAnAcceptedManifest) {
  auto beta = reg_->metadata().CreateToken("beta", kScopePush | kScopePull, "", NowUnixSeconds()).value();
  std::atomic<bool> done{false};
  std::atomic<int> gc_runs{0}, retries{0};
  std::thread gc([&] {
    while (!done) {
      ASSERT_THAT(reg_->CollectGarbage(NowUnixSeconds() + 5, 0, 86400), IsOk());
      gc_runs++;
      // A tight loop would starve writers of SQLite's lock (its busy
      // handler backs off); real gc runs are minutes apart.
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  std::mutex mu;
  std::vector<std::pair<std::string, std::vector<std::string>>> accepted;  // manifest digest, blob bytes
  auto pusher = [&](int who) {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_bearer_token_auth(beta.c_str());
    c.set_read_timeout(30, 0);  // a loaded CI machine is slow; the invariant, not speed, is under test
    for (int round = 0; round < 8; ++round) {
      std::vector<std::string> blobs;
      for (int b = 0; b < 3; ++b) blobs.push_back("pusher " + std::to_string(who) + " round " + std::to_string(round) +
                                                  " blob " + std::to_string(b) + std::string(1000 * b, 'z'));
      format::OciManifest m;
      for (int b = 0; b < 3; ++b) {
        format::Descriptor d{"application/octet-stream", format::DigestOf(AsBytes(blobs[b])), blobs[b].size(), {}};
        if (b == 0) m.config = d; else m.layers.push_back(d);
      }
      std::string body = format::SerializeOciManifest(m);
      bool ok = false;
      // Liveness is not what this tests (with no grace gc may win many
      // times in a row on a loaded machine); give pushes room to land.
      for (int attempt = 0; attempt < 500 && !ok; ++attempt) {
        for (const auto& b : blobs) {
          std::string d = format::DigestOf(AsBytes(b));
          if (c.Head(("/v2/beta/m" + std::to_string(who) + "/blobs/" + d).c_str())->status == 200) continue;
          auto put = c.Post(("/v2/beta/m" + std::to_string(who) + "/blobs/uploads/?digest=" + d).c_str(), b,
                            "application/octet-stream");
          ASSERT_TRUE(put) << "blob upload got no response: " << httplib::to_string(put.error());
          ASSERT_EQ(put->status, 201) << put->body;
        }
        auto r = c.Put(("/v2/beta/m" + std::to_string(who) + "/manifests/r" + std::to_string(round)).c_str(), body,
                       std::string(format::kOciManifestMediaType).c_str());
        ASSERT_TRUE(r) << "manifest PUT got no response: " << httplib::to_string(r.error());
        if (r->status == 201) {
          ok = true;
        } else {
          ASSERT_EQ(ErrorCode(r), "MANIFEST_BLOB_UNKNOWN") << r->body;
          retries++;
        }
      }
      ASSERT_TRUE(ok) << "pusher " << who << " round " << round << " never landed in 500 attempts";
      std::lock_guard<std::mutex> lock(mu);
      accepted.emplace_back("beta/m" + std::to_string(who), blobs);
    }
  };
  std::thread p1(pusher, 1), p2(pusher, 2);
  p1.join();
  p2.join();
  done = true;
  gc.join();
  EXPECT_GT(gc_runs.load(), 0);
  httplib::Client c("127.0.0.1", server_->port());
  c.set_bearer_token_auth(beta.c_str());
  ASSERT_EQ(accepted.size(), 16u);
  for (const auto& [repo, blobs] : accepted) {
    for (const auto& b : blobs) {
      auto got = c.Get(("/v2/" + repo + "/blobs/" + format::DigestOf(AsBytes(b))).c_str());
      ASSERT_EQ(got->status, 200) << repo;
      EXPECT_EQ(got->body, b);
    }
  }
  std::printf("gc runs %d, pushes retried %d\n", gc_runs.load(), retries.load());
}

TEST(RegistryRoots, RotationMustChainAndMoveForward) {
  testing_util::TempDir tmp;
  auto reg = Registry::Open(tmp.path()).value();
  std::vector<std::unique_ptr<signer::Signer>> k;
  for (int i = 0; i < 3; ++i) k.push_back(signer::MakeKeySigner(crypto::PrivateKey::Generate(crypto::KeyType::kEd25519).value()));
  auto make = [&](std::uint64_t version, std::vector<int> keys, std::vector<int> signers) {
    signer::SignedRoot r;
    r.root.namespace_name = "acme";
    r.root.version = version;
    r.root.threshold = 1;
    for (int i : keys) r.root.keys.emplace(k[i]->KeyId(), k[i]->public_key());
    for (int i : signers) EXPECT_THAT(signer::SignRoot(*k[i], r), IsOk());
    return signer::SerializeRoot(r).value();
  };
  UnixSeconds now = NowUnixSeconds();
  EXPECT_THAT(reg->AddRoot("acme", AsBytes(make(1, {0}, {1})), now), HasCode(StatusCode::kUnauthenticated));
  ASSERT_THAT(reg->AddRoot("acme", AsBytes(make(1, {0}, {0})), now), IsOk());
  EXPECT_THAT(reg->AddRoot("other", AsBytes(make(2, {0}, {0})), now), HasCode(StatusCode::kFailedPrecondition));
  // Version 2 signed only by the new key: the old root did not approve it.
  EXPECT_THAT(reg->AddRoot("acme", AsBytes(make(2, {1}, {1})), now), HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(reg->AddRoot("acme", AsBytes(make(3, {1}, {0, 1})), now), HasCode(StatusCode::kFailedPrecondition));
  ASSERT_THAT(reg->AddRoot("acme", AsBytes(make(2, {1}, {0, 1})), now), IsOk());
  EXPECT_THAT(reg->AddRoot("acme", AsBytes(make(2, {1}, {0, 1})), now), HasCode(StatusCode::kAlreadyExists));
  EXPECT_THAT(reg->AddRoot("acme", AsBytes(make(1, {0}, {0})), now), HasCode(StatusCode::kAlreadyExists));
  EXPECT_EQ(reg->metadata().GetNamespace("acme").value()->roots.size(), 2u);
}

TEST(RegistryMetadata, TokensAreStoredAsHashesOnly) {
  testing_util::TempDir tmp;
  auto reg = Registry::Open(tmp.path()).value();
  std::string t = reg->metadata().CreateToken("acme", kScopePush, "ci", 100).value();
  EXPECT_EQ(t.rfind("arca_", 0), 0u);
  EXPECT_EQ(t.size(), 69u);
  auto info = reg->metadata().LookupToken(t).value();
  ASSERT_TRUE(info);
  EXPECT_EQ(info->ns, "acme");
  EXPECT_EQ(info->scopes, kScopePush);
  EXPECT_FALSE(reg->metadata().LookupToken(t + "x").value());
  // The database file never contains the token.
  std::string db = ReadAll(tmp.path() + "/metadata.db") + ReadAll(tmp.path() + "/metadata.db-wal");
  EXPECT_EQ(db.find(t), std::string::npos);
  EXPECT_EQ(db.find(t.substr(5)), std::string::npos);
  EXPECT_THAT(ParseScopes("pull,push"), IsOk());
  EXPECT_THAT(ParseScopes("pull,admin"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(reg->metadata().RevokeToken("zzz"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(reg->metadata().RevokeToken(std::string(12, '0')), HasCode(StatusCode::kNotFound));
}


// --- transparency log (specs/registry.md §8) -------------------------------

// HttpTiles fetches tiles from the in-process server, as a client would.
class HttpTiles : public tlog::TileFetcher {
 public:
  explicit HttpTiles(httplib::Client& c) : c_(c) {}
  Result<Bytes> Fetch(const tlog::TileId& t) override {
    auto r = c_.Get(("/arca/v1/log/" + tlog::TilePath(t).value()).c_str());
    if (!r || r->status != 200) return NotFoundError("tile");
    return Bytes(r->body.begin(), r->body.end());
  }
  httplib::Client& c_;
};

tlog::CheckpointPolicy PolicyFor(const Registry& reg) {
  tlog::CheckpointPolicy p;
  p.origin = reg.log_key().verifier().name();
  p.log_keys.push_back(reg.log_key().verifier());
  return p;
}

std::vector<tlog::LogEntry> Entries(httplib::Client& c, const std::string& repo, std::vector<std::uint64_t>* idx = nullptr) {
  auto r = c.Get(("/arca/v1/log/entries?repository=" + repo).c_str());
  EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "");
  std::vector<tlog::LogEntry> out;
  Json body = ParseJson(r->body, "entries").value();
  for (const auto& e : body["entries"]) {
    out.push_back(tlog::ParseLogEntry(e["entry"].get<std::string>()).value());
    if (idx) idx->push_back(e["index"].get<std::uint64_t>());
  }
  return out;
}

TEST_F(ServerTest, PushAppendsPublishAndTagAndAnswersWithAProof) {
  std::string pkg = Seal("pkg", {0});
  auto put = Push(pkg, "acme/med-llm", "1.0");
  ASSERT_EQ(put->status, 201) << put->body;
  EXPECT_EQ(put->get_header_value("Arca-Log-Entries"), "1,2");  // 0 is the root
  // The proof in the answer verifies against the log key, for the publish.
  Bytes proof_text = Base64Decode(put->get_header_value("Arca-Log-Proof")).value();
  auto proof = tlog::ParseTlogProof(std::string(proof_text.begin(), proof_text.end())).value();
  EXPECT_EQ(proof.index, 1u);
  auto entries = Entries(*client_, "acme/med-llm");
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].kind, "root");
  EXPECT_EQ(entries[1].kind, "publish");
  EXPECT_EQ(entries[1].manifest, format::DigestOf(AsBytes(ManifestBytes(pkg))));
  EXPECT_EQ(entries[1].name, "acme/med-llm");
  EXPECT_EQ(entries[1].version, "1.0");
  EXPECT_THAT(entries[1].signers, ::testing::ElementsAre(keys_[0]->KeyId()));
  EXPECT_EQ(entries[2].kind, "tag");
  EXPECT_EQ(entries[2].tag, "1.0");
  EXPECT_EQ(entries[2].previous, "");
  tlog::ProofPolicy pp;
  pp.checkpoint = PolicyFor(*reg_);
  pp.now = NowUnixSeconds();
  EXPECT_THAT(tlog::VerifyTlogProofForEntry(proof, AsBytes(tlog::EncodeLogEntry(entries[1]).value()), pp), IsOk());
  // The same manifest under the same tag again: nothing new is logged.
  auto again = Push(pkg, "acme/med-llm", "1.0");
  ASSERT_EQ(again->status, 201);
  EXPECT_EQ(again->get_header_value("Arca-Log-Entries"), "");
  EXPECT_EQ(reg_->metadata().LogSize().value(), 3u);
  // Under a second tag: one tag entry, no second publish.
  ASSERT_EQ(Push(pkg, "acme/med-llm", "latest")->status, 201);
  EXPECT_EQ(Entries(*client_, "acme/med-llm").size(), 4u);
}

TEST_F(ServerTest, CheckpointAndTilesProveInclusionAndConsistency) {
  auto c1 = client_->Get("/arca/v1/log/checkpoint");
  ASSERT_EQ(c1->status, 200);
  auto head1 = tlog::OpenCheckpoint(c1->body, PolicyFor(*reg_)).value();
  EXPECT_EQ(head1.checkpoint.size, 1u);  // the root
  ASSERT_TRUE(head1.checkpoint.time);
  ASSERT_EQ(Push(Seal("pkg", {0}), "acme/med-llm", "1.0")->status, 201);
  auto c2 = Anonymous().Get("/arca/v1/log/checkpoint");  // the log is public
  ASSERT_EQ(c2->status, 200);
  auto head2 = tlog::OpenCheckpoint(c2->body, PolicyFor(*reg_)).value();
  ASSERT_EQ(head2.checkpoint.size, 3u);
  EXPECT_GE(*head2.checkpoint.time, *head1.checkpoint.time);
  httplib::Client anon = Anonymous();
  HttpTiles fetcher(anon);
  tlog::TileHashReader tiles(fetcher, head2.checkpoint.size);
  auto proof = tlog::ConsistencyProof(tiles, 1, 3).value();
  EXPECT_THAT(tlog::CheckConsistency(head1.checkpoint, head2.checkpoint, proof), IsOk());
  std::vector<std::uint64_t> idx;
  auto entries = Entries(anon, "acme/med-llm", &idx);
  ASSERT_EQ(entries.size(), 3u);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto path = tlog::InclusionProof(tiles, idx[i], 3).value();
    EXPECT_THAT(tlog::VerifyInclusion(idx[i], 3, tlog::HashLeaf(AsBytes(tlog::EncodeLogEntry(entries[i]).value())), path,
                                      head2.checkpoint.root),
                IsOk());
  }
  // The entry bundle holds exactly the entries, in order.
  auto bundle = anon.Get("/arca/v1/log/tile/entries/000.p/3");
  ASSERT_EQ(bundle->status, 200);
  auto got = tlog::ParseEntryBundle(AsBytes(bundle->body), 3).value();
  EXPECT_EQ(std::string(got[1].begin(), got[1].end()), tlog::EncodeLogEntry(entries[1]).value());
  // Tiles the tree does not have are 404, not garbage.
  EXPECT_EQ(anon.Get("/arca/v1/log/tile/0/000.p/4")->status, 404);
  EXPECT_EQ(anon.Get("/arca/v1/log/tile/0/000")->status, 404);
  EXPECT_EQ(anon.Get("/arca/v1/log/tile/0/x000/000")->status, 404);  // not canonical
  EXPECT_EQ(anon.Get("/arca/v1/log/nothing")->status, 404);
  EXPECT_EQ(anon.Get("/arca/v1/log/proof?index=9")->status, 404);
  EXPECT_EQ(anon.Get("/arca/v1/log/entries?repository=..")->status, 400);
}

TEST_F(ServerTest, RefusedPushLogsNothing) {
  std::uint64_t before = reg_->metadata().LogSize().value();
  auto put = Push(Seal("stranger", {1}), "acme/med-llm", "1.0");  // keys_[1] is not in the root
  EXPECT_EQ(put->status, 400);
  EXPECT_EQ(reg_->metadata().LogSize().value(), before);
}

TEST_F(ServerTest, MovingATagLogsThePreviousTarget) {
  std::string a = Seal("a", {0});
  ASSERT_EQ(Push(a, "acme/med-llm", "latest")->status, 201);
  // Another package under the same name: a different config.json.
  WriteFile(model_ + "/config.json", AsBytes("{\"layers\":3}"));
  std::string b = Seal("b", {0});
  ASSERT_EQ(Push(b, "acme/med-llm", "latest")->status, 201);
  auto entries = Entries(*client_, "acme/med-llm");
  ASSERT_EQ(entries.size(), 5u);
  EXPECT_EQ(entries[4].kind, "tag");
  EXPECT_EQ(entries[4].previous, format::DigestOf(AsBytes(ManifestBytes(a))));
  EXPECT_EQ(entries[4].manifest, format::DigestOf(AsBytes(ManifestBytes(b))));
}

TEST_F(ServerTest, PolicyChangesAreLoggedAndOnlyMoveForward) {
  std::string p = Seal("p", {0});
  stdfs::copy(p, tmp_.path() + "/q", stdfs::copy_options::recursive);
  stdfs::copy(p, tmp_.path() + "/r", stdfs::copy_options::recursive);
  auto attach = [&](const std::string& dir, std::uint64_t version, char m) {
    auto pkg = format::LoadPackage(FileSystem::Default(), format::PackageRef{dir, ""}).value();
    signer::Policy pol;
    pol.subject = signer::SubjectOf(pkg.manifest, pkg.manifest_blob.digest);
    pol.version = version;
    pol.allow.push_back(signer::PolicyRule{"sev-snp", std::string(96, m), {}});
    auto env = signer::SignStatement(*keys_[0], signer::PolicyToStatement(pol)).value();
    ASSERT_THAT(signer::AttachPolicy(FileSystem::Default(), format::PackageRef{dir, ""}, env), IsOk());
  };
  attach(p, 1, 'a');
  attach(tmp_.path() + "/q", 2, 'b');
  attach(tmp_.path() + "/r", 1, 'c');
  ASSERT_EQ(Push(p, "acme/med-llm", "1.0")->status, 201);
  ASSERT_EQ(Push(tmp_.path() + "/q", "acme/med-llm", "1.0")->status, 201);
  auto entries = Entries(*client_, "acme/med-llm");
  // root, publish(v1), tag, publish(v2), policy(v2), tag moved
  ASSERT_EQ(entries.size(), 6u);
  EXPECT_EQ(entries[1].policy_version, 1u);
  EXPECT_EQ(entries[3].policy_version, 2u);
  EXPECT_EQ(entries[4].kind, "policy");
  EXPECT_EQ(entries[4].package, entries[1].package);
  EXPECT_EQ(entries[4].policy, entries[3].policy);
  // Version 1 again with other content: a policy rollback, refused whole.
  auto r = Push(tmp_.path() + "/r", "acme/med-llm", "1.0");
  EXPECT_EQ(r->status, 400);
  EXPECT_THAT(r->body, HasSubstr("policy rollback"));
  EXPECT_EQ(reg_->metadata().LogSize().value(), 6u);
  EXPECT_EQ(reg_->metadata().ResolveManifest("acme/med-llm", "1.0").value()->digest,
            format::DigestOf(AsBytes(ManifestBytes(tmp_.path() + "/q"))));
}

TEST_F(ServerTest, KeyReleaseReportsAreLoggedForPushersOnly) {
  std::string pkg = Seal("pkg", {0});
  ASSERT_EQ(Push(pkg, "acme/med-llm", "1.0")->status, 201);
  std::string manifest = format::DigestOf(AsBytes(ManifestBytes(pkg)));
  Json report = {{"repository", "acme/med-llm"}, {"manifest", manifest}, {"measurement", std::string(96, 'e')},
                 {"platform", "sev-snp"}, {"evidence", "sha256:" + std::string(64, '1')},
                 {"recipient", "sha256:" + std::string(64, '2')}};
  auto anon = Anonymous().Post("/arca/v1/log/key-release", report.dump(), "application/json");
  EXPECT_EQ(anon->status, 401);
  auto ok = client_->Post("/arca/v1/log/key-release", report.dump(), "application/json");
  ASSERT_EQ(ok->status, 201) << ok->body;
  auto proof = tlog::ParseTlogProof(ok->body).value();
  auto entries = Entries(*client_, "acme/med-llm");
  ASSERT_EQ(entries.back().kind, "key-release");
  EXPECT_EQ(entries.back().measurement, std::string(96, 'e'));
  tlog::ProofPolicy pp;
  pp.checkpoint = PolicyFor(*reg_);
  pp.now = NowUnixSeconds();
  EXPECT_THAT(tlog::VerifyTlogProofForEntry(proof, AsBytes(tlog::EncodeLogEntry(entries.back()).value()), pp), IsOk());
  Json unknown = report;
  unknown["manifest"] = "sha256:" + std::string(64, '3');
  EXPECT_EQ(client_->Post("/arca/v1/log/key-release", unknown.dump(), "application/json")->status, 404);
  Json extra = report;
  extra["note"] = "x";
  EXPECT_EQ(client_->Post("/arca/v1/log/key-release", extra.dump(), "application/json")->status, 400);
  Json elsewhere = report;
  elsewhere["repository"] = "other/med-llm";
  EXPECT_EQ(client_->Post("/arca/v1/log/key-release", elsewhere.dump(), "application/json")->status, 403);
}

TEST(RegistryLog, KeyIsCreatedOnceWithMode0600AndRefusedWhenReadable) {
  testing_util::TempDir tmp;
  auto k1 = LoadOrCreateLogKey(tmp.path(), "reg.example/log").value();
  EXPECT_EQ(k1.verifier().name(), "reg.example/log");
  EXPECT_EQ(stdfs::status(tmp.path() + "/log.key").permissions() & stdfs::perms::all,
            stdfs::perms::owner_read | stdfs::perms::owner_write);
  // A second open keeps the key (another origin asked for is ignored).
  auto k2 = LoadOrCreateLogKey(tmp.path(), "other/log").value();
  EXPECT_EQ(k2.verifier().ToString(), k1.verifier().ToString());
  auto reg = Registry::Open(tmp.path()).value();
  EXPECT_EQ(reg->log_key().verifier().ToString(), k1.verifier().ToString());
  stdfs::permissions(tmp.path() + "/log.key", stdfs::perms::group_read, stdfs::perm_options::add);
  EXPECT_THAT(LoadOrCreateLogKey(tmp.path(), ""), HasCode(StatusCode::kPermissionDenied));
  stdfs::permissions(tmp.path() + "/log.key", stdfs::perms::group_read, stdfs::perm_options::remove);
  WriteFile(tmp.path() + "/log.key", AsBytes("PRIVATE+KEY+garbage\n"));
  stdfs::permissions(tmp.path() + "/log.key", stdfs::perms::owner_read | stdfs::perms::owner_write);
  auto bad = LoadOrCreateLogKey(tmp.path(), "");
  EXPECT_THAT(bad, HasCode(StatusCode::kInvalidArgument));
}

TEST(RegistryLog, RootRotationsAreLoggedWithTheirPredecessor) {
  testing_util::TempDir tmp;
  auto reg = Registry::Open(tmp.path()).value();
  auto k = signer::MakeKeySigner(crypto::PrivateKey::Generate(crypto::KeyType::kEd25519).value());
  std::vector<std::string> docs;
  for (std::uint64_t v : {1, 2}) {
    signer::SignedRoot r;
    r.root.namespace_name = "acme";
    r.root.version = v;
    r.root.threshold = 1;
    r.root.keys.emplace(k->KeyId(), k->public_key());
    ASSERT_THAT(signer::SignRoot(*k, r), IsOk());
    docs.push_back(signer::SerializeRoot(r).value());
    ASSERT_THAT(reg->AddRoot("acme", AsBytes(docs.back()), 1000 + v), IsOk());
  }
  auto rows = reg->metadata().LogEntriesFor("acme/x", "acme").value();
  ASSERT_EQ(rows.size(), 2u);
  auto second = tlog::ParseLogEntry(rows[1].entry).value();
  EXPECT_EQ(second.root_version, 2u);
  EXPECT_EQ(second.root, format::DigestOf(AsBytes(docs[1])));
  EXPECT_EQ(second.previous, format::DigestOf(AsBytes(docs[0])));
  EXPECT_EQ(second.time, 1002);
  // Checkpoint times never go backwards, whatever the caller's clock says.
  auto h1 = reg->SignCheckpoint(5000).value();
  auto h2 = reg->SignCheckpoint(4000).value();
  EXPECT_EQ(*h2.checkpoint.time, 5000);
  EXPECT_EQ(h1.checkpoint.root, h2.checkpoint.root);
  EXPECT_EQ(h1.checkpoint.root, tlog::RootOfLeafHashes(std::vector<tlog::Hash>{
                                    tlog::HashLeaf(AsBytes(rows[0].entry)), tlog::HashLeaf(AsBytes(rows[1].entry))}));
}

TEST(RegistryLog, AppendsSurviveReopenAndKeepTheTree) {
  testing_util::TempDir tmp;
  tlog::MemoryTree reference;
  for (int round = 0; round < 3; ++round) {
    auto reg = Registry::Open(tmp.path()).value();
    for (int i = 0; i < 37; ++i) {
      tlog::LogEntry e;
      e.kind = "tag";
      e.ns = "acme";
      e.time = round * 100 + i;
      e.repository = "acme/x";
      e.tag = "t" + std::to_string(i);
      e.manifest = format::DigestOf(AsBytes(std::to_string(round * 100 + i)));
      auto row = reg->metadata().AppendLog(e).value();
      EXPECT_EQ(row.index, reference.AppendLeaf(AsBytes(row.entry)).value());
    }
    auto head = reg->SignCheckpoint(1).value();
    EXPECT_EQ(head.checkpoint.size, reference.size());
    EXPECT_EQ(head.checkpoint.root, reference.Root());
  }
}

// The log's current checkpoint and its witnesses (specs/registry.md §8):
// one checkpoint per tree size and refresh interval, cosigned by a real
// witness server on loopback; a witness that stops is reported and asked
// again after the retry interval; the witness's state survives a restart.
TEST(RegistryWitness, CurrentHeadIsCachedAndCosigned) {
  testing_util::TempDir tmp;
  auto reg = Registry::Open(tmp.path() + "/var").value();
  auto append = [&](int i) {
    tlog::LogEntry e;
    e.kind = "tag";
    e.ns = "acme";
    e.time = i;
    e.repository = "acme/x";
    e.tag = "t" + std::to_string(i);
    e.manifest = format::DigestOf(AsBytes(std::to_string(i)));
    ASSERT_THAT(reg->metadata().AppendLog(e), IsOk());
  };
  append(0);
  auto state = SqliteWitnessState::Open(tmp.path() + "/w").value();
  tlog::NoteSigner wkey = LoadOrCreateWitnessKey(tmp.path() + "/w", "w.example/w").value();
  const tlog::NoteVerifier wv = wkey.verifier();
  EXPECT_EQ(stdfs::status(tmp.path() + "/w/witness.key").permissions() & stdfs::perms::all,
            stdfs::perms::owner_read | stdfs::perms::owner_write);
  auto witness = std::make_unique<tlog::Witness>(std::move(wkey), std::vector<tlog::NoteVerifier>{reg->log_key().verifier()}, *state);
  WitnessServeOptions wo;
  wo.port = 0;
  wo.log_requests = false;
  auto wserver = WitnessServer::Create(*witness, *state, wo).value();
  ASSERT_THAT(wserver->Start(), IsOk());
  const std::string url = "http://127.0.0.1:" + std::to_string(wserver->port());

  {
    // A witness that accepts the connection and never answers, beside the
    // good one: the good cosignature is served, the silent one reported.
    int silent = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(silent, 8), 0);
    socklen_t len = sizeof a;
    ASSERT_EQ(::getsockname(silent, reinterpret_cast<sockaddr*>(&a), &len), 0);
    tlog::NoteSigner mute = tlog::NoteSigner::Generate("mute.example/w", tlog::NoteSignatureType::kCosignatureV1).value();
    reg->ConfigureWitnesses({WitnessEndpoint{"http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)), mute.verifier(), 300},
                             WitnessEndpoint{url, wv, 2000}},
                            100, 10);
    auto h = reg->CurrentHead(1000).value();
    tlog::CheckpointPolicy p{reg->log_key().verifier().name(), {reg->log_key().verifier()}, {wv, mute.verifier()}, 1};
    auto o = tlog::OpenCheckpoint(h.note, p);
    ASSERT_THAT(o, IsOk());
    ASSERT_EQ(o->cosigned.size(), 1u);
    EXPECT_EQ(o->cosigned[0].name, "w.example/w");
    auto st = reg->WitnessStatus();
    EXPECT_FALSE(st[0].last_error.empty());
    EXPECT_TRUE(st[1].last_error.empty());
    reg->ConfigureWitnesses({WitnessEndpoint{url, wv, 2000}}, /*refresh_s=*/100, /*retry_s=*/10);
    ::close(silent);
  }

  tlog::CheckpointPolicy need_witness{reg->log_key().verifier().name(), {reg->log_key().verifier()}, {wv}, 1};
  auto h1 = reg->CurrentHead(1000).value();
  auto opened = tlog::OpenCheckpoint(h1.note, need_witness);
  ASSERT_THAT(opened, IsOk());
  EXPECT_EQ(opened->cosigned.at(0).name, "w.example/w");
  // Same size within the interval: the very same note, not re-signed.
  EXPECT_EQ(reg->CurrentHead(1050).value().note, h1.note);
  // The tree grew: a new checkpoint, cosigned with a consistency proof from 1.
  for (int i = 1; i < 20; ++i) append(i);
  auto h2 = reg->CurrentHead(1060).value();
  EXPECT_EQ(h2.checkpoint.size, 20u);
  ASSERT_THAT(tlog::OpenCheckpoint(h2.note, need_witness), IsOk());
  EXPECT_EQ((*state->Latest(h2.checkpoint.origin))->size, 20u);
  // The interval passed: re-signed with the new time.
  auto h3 = reg->CurrentHead(1200).value();
  EXPECT_EQ(*h3.checkpoint.time, 1200);
  ASSERT_THAT(tlog::OpenCheckpoint(h3.note, need_witness), IsOk());

  // The witness stops: the next head is served without its cosignature, the
  // error is reported, and the witness is not asked again before retry_s.
  wserver->Stop();
  append(20);
  auto h4 = reg->CurrentHead(1210).value();
  EXPECT_THAT(tlog::OpenCheckpoint(h4.note, need_witness).status().message(), HasSubstr("witnesses:"));
  auto status = reg->WitnessStatus();
  ASSERT_EQ(status.size(), 1u);
  EXPECT_THAT(status[0].last_error, HasSubstr("cannot reach witness w.example/w"));
  EXPECT_EQ(status[0].known_size, 20u);
  // Restart the witness from its database: it remembers 20 and cosigns 21
  // once the retry interval has passed.
  witness.reset();
  state.reset();
  state = SqliteWitnessState::Open(tmp.path() + "/w").value();
  EXPECT_EQ((*state->Latest(h2.checkpoint.origin))->size, 20u);
  witness = std::make_unique<tlog::Witness>(LoadOrCreateWitnessKey(tmp.path() + "/w", "").value(),
                                            std::vector<tlog::NoteVerifier>{reg->log_key().verifier()}, *state);
  wo.port = std::stoi(url.substr(url.rfind(':') + 1));
  wserver = WitnessServer::Create(*witness, *state, wo).value();
  ASSERT_THAT(wserver->Start(), IsOk());
  EXPECT_THAT(tlog::OpenCheckpoint(reg->CurrentHead(1215).value().note, need_witness).status().message(),
              HasSubstr("witnesses:"));  // still inside retry_s
  auto h5 = reg->CurrentHead(1221).value();
  EXPECT_EQ(h5.checkpoint.size, 21u);
  ASSERT_THAT(tlog::OpenCheckpoint(h5.note, need_witness), IsOk());
  EXPECT_TRUE(reg->WitnessStatus()[0].last_error.empty());
  // Its status endpoint names the log and the size.
  httplib::Client c("127.0.0.1", wserver->port());
  auto res = c.Get("/arca/v1/witness");
  ASSERT_TRUE(res);
  auto j = ParseJson(res->body, "witness status").value();
  EXPECT_EQ(j["logs"][0]["size"], 21);
  EXPECT_EQ(j["refusals"], 0);
  // Anything else is not served.
  EXPECT_EQ(c.Get("/add-checkpoint")->status, 404);
  EXPECT_EQ(c.Post("/add-checkpoint", std::string("old 0\n"), "text/plain")->status, 400);
  wserver->Stop();
}

}  // namespace
}  // namespace arca::registry
