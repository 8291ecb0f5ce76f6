// configfs-tsm collection against a directory tree that imitates
// /sys/kernel/config/tsm/report: FakeKernel plays the kernel's part through
// the TsmFs seam (attribute files appear on mkdir, outblob/auxblob are made
// from the simulated TEE when inblob is written, generation counts writes),
// while the files live in a real temporary directory.
#include "runtime/configfs_tsm.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "attest/sim.h"
#include "attest/snp.h"
#include "attest/snp_cert_table.h"
#include "attest/test_util.h"
#include "base/testing/status_matchers.h"
#include "runtime/evidence.h"

namespace arca::runtime {
namespace {

namespace fs = std::filesystem;

class FakeKernel : public TsmFs {
 public:
  explicit FakeKernel(std::string provider) : provider_(std::move(provider)) {
    root_ = fs::temp_directory_path() / ("arca-configfs-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(root_ / "tsm" / "report");
  }
  ~FakeKernel() override { fs::remove_all(root_); }
  std::string root() const { return root_.string(); }

  int racing_writes = 0;        // bump generation while outblob is read, this many times
  bool wrong_report_data = false;  // answer another inblob
  int entries_made = 0;

  Status MakeDir(const std::string& path) override {
    std::error_code ec;
    if (!fs::is_directory(fs::path(path).parent_path())) return NotFoundError(path);
    if (!fs::create_directory(path, ec)) return InternalError("mkdir " + path);
    ++entries_made;
    Put(path + "/provider", provider_ + "\n");
    Put(path + "/generation", "0\n");
    return Status::Ok();
  }
  Status RemoveDir(const std::string& path) override {
    fs::remove_all(path);
    return Status::Ok();
  }
  Status Write(const std::string& path, ByteSpan data) override {
    fs::path p(path);
    if (p.filename() != "inblob") return PermissionDeniedError(path);
    std::string entry = p.parent_path().string();
    Put(path, ToString(data));
    Put(entry + "/generation", std::to_string(++generation_[entry]) + "\n");
    attest::SimSnpOptions o;
    std::copy(data.begin(), data.end(), o.report_data.begin());
    if (wrong_report_data) o.report_data[0] ^= 1;
    auto b = attest::SimSnpEvidence(o);
    if (!b.ok()) return b.status();
    Put(entry + "/outblob", ToString(b->snp_report));
    auto table = attest::SerializeSnpCertTable({{attest::kSnpGuidVcek, "vcek", b->certificates[0]},
                                                {attest::kSnpGuidAsk, "ask", b->certificates[1]},
                                                {attest::kSnpGuidArk, "ark", b->certificates[2]}});
    Put(entry + "/auxblob", ToString(*table));
    return Status::Ok();
  }
  Result<Bytes> Read(const std::string& path, std::size_t max_bytes) override {
    fs::path p(path);
    if (p.filename() == "outblob" && racing_writes > 0) {
      --racing_writes;
      std::string entry = p.parent_path().string();
      Put(entry + "/generation", std::to_string(++generation_[entry]) + "\n");
    }
    return TsmFs::Posix().Read(path, max_bytes);
  }

 private:
  static void Put(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  }
  static inline int counter_ = 0;
  fs::path root_;
  std::string provider_;
  std::map<std::string, std::uint64_t> generation_;
};

std::array<std::uint8_t, 64> Nonce() {
  std::array<std::uint8_t, 64> a{};
  for (int i = 0; i < 64; ++i) a[i] = std::uint8_t(0xc0 + i);
  return a;
}

TEST(ConfigfsTsm, CollectsSnpReportAndCertificates) {
  FakeKernel k("sev_guest");
  auto r = CollectTsmReport(k, k.root(), Nonce(), "sev_guest");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->provider, "sev_guest");
  EXPECT_EQ(r->generation, 1u);
  EXPECT_EQ(r->outblob.size(), attest::kSnpReportSize);
  EXPECT_FALSE(r->auxblob.empty());
  // The entry is gone afterwards.
  EXPECT_TRUE(fs::is_empty(fs::path(k.root()) / "tsm" / "report"));
}

TEST(ConfigfsTsm, EvidenceFromConfigfsVerifiesUnderTestRoots) {
  FakeKernel k("sev_guest");
  EvidenceRequest req;
  req.tee = Tee::kSnp;
  req.report_data = Nonce();
  req.configfs_root = k.root();
  auto b = CollectEvidence(req, k);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->certificates.size(), 3u);
  attest::Verdict v = attest::VerifyBundle(*b, *attest::SimRootStore(), {attest::testing::At("2026-11-25T00:00:00Z"), std::nullopt});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v.claims["reportData"], HexEncode(Nonce()));
}

TEST(ConfigfsTsm, MissingConfigfsIsFailedPrecondition) {
  auto dir = fs::temp_directory_path() / "arca-no-configfs";
  fs::create_directories(dir);
  Status s = CollectTsmReport(TsmFs::Posix(), dir.string(), Nonce(), "sev_guest").status();
  EXPECT_THAT(s, HasCodeAndMessage(StatusCode::kFailedPrecondition, "tsm/report does not exist"));
  fs::remove_all(dir);
}

TEST(ConfigfsTsm, WrongProviderIsNamed) {
  FakeKernel k("tdx_guest");
  EXPECT_THAT(CollectTsmReport(k, k.root(), Nonce(), "sev_guest").status(),
              HasCodeAndMessage(StatusCode::kFailedPrecondition, "provider: expected sev_guest, got \"tdx_guest\""));
}

TEST(ConfigfsTsm, OneRacingWriterIsRetriedInAFreshEntry) {
  FakeKernel k("sev_guest");
  k.racing_writes = 1;
  auto r = CollectTsmReport(k, k.root(), Nonce(), "sev_guest");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(k.entries_made, 2);
}

TEST(ConfigfsTsm, PersistentRacingWriterIsUnavailable) {
  FakeKernel k("sev_guest");
  k.racing_writes = 3;
  EXPECT_THAT(CollectTsmReport(k, k.root(), Nonce(), "sev_guest").status(),
              HasCodeAndMessage(StatusCode::kUnavailable, "another writer"));
  EXPECT_TRUE(fs::is_empty(fs::path(k.root()) / "tsm" / "report"));
}

TEST(ConfigfsTsm, OversizeInblobIsRefused) {
  FakeKernel k("sev_guest");
  Bytes big(65, 0);
  EXPECT_THAT(CollectTsmReport(k, k.root(), big, "sev_guest").status(),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "inblob: expected at most 64 bytes, got 65"));
}

TEST(ConfigfsTsm, ReportForAnotherInblobIsRefused) {
  FakeKernel k("sev_guest");
  k.wrong_report_data = true;
  EvidenceRequest req;
  req.tee = Tee::kSnp;
  req.report_data = Nonce();
  req.configfs_root = k.root();
  EXPECT_THAT(CollectEvidence(req, k).status(), HasCodeAndMessage(StatusCode::kUnauthenticated, "REPORT_DATA expected the inblob"));
}

}  // namespace
}  // namespace arca::runtime
