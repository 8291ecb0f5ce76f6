// arca-runtime's commands, run in-process: simulated evidence verifies with
// the test roots it writes and is refused without them; flags are checked
// by name; exit codes follow base/status.h.
#include "runtime/cli.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "attest/binding.h"
#include "attest/bundle.h"
#include "attest/roots.h"
#include "attest/sim.h"
#include "runtime/evidence.h"

namespace arca::runtime {
namespace {

namespace fs = std::filesystem;

int RunRuntime(std::vector<std::string> args) {
  args.insert(args.begin(), "arca-runtime");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return RunCli(int(argv.size()), argv.data());
}

class RuntimeCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("arca-runtime-cli-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  attest::Verdict Verify(const std::string& bundle_path, const attest::RootStore& roots) const {
    std::ifstream f(bundle_path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    auto b = attest::ParseBundle(text);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return attest::VerifyBundle(*b, roots, {static_cast<attest::UnixSeconds>(std::time(nullptr)), std::nullopt});
  }
  fs::path dir_;
};

TEST_F(RuntimeCli, SimSnpVerifiesOnlyWithTheWrittenRoots) {
  std::string m(96, 'a');
  ASSERT_EQ(RunRuntime({"evidence", "--tee", "sim-snp", "-o", Path("e"), "--report-data", "0102", "--measurement", m,
                 "--roots-out", Path("roots")}),
            0);
  auto roots = attest::RootStore::FromDirectory(Path("roots"));
  ASSERT_TRUE(roots.ok());
  attest::Verdict v = Verify(Path("e"), *roots);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v.claims["measurement"], m);
  EXPECT_EQ(v.claims["reportData"], "0102" + std::string(124, '0'));
  EXPECT_EQ(v.claims["debug"], false);
  attest::Verdict pinned = Verify(Path("e"), *attest::RootStore::Pinned());
  EXPECT_FALSE(pinned.ok());
  EXPECT_NE(pinned.status().message().find(attest::kSimArkName), std::string::npos);
}

TEST_F(RuntimeCli, SimTdxVerifiesWithSimRootsCommand) {
  ASSERT_EQ(RunRuntime({"sim-roots", "-o", Path("roots")}), 0);
  ASSERT_EQ(RunRuntime({"evidence", "--tee", "sim-tdx", "-o", Path("t"), "--debug"}), 0);
  attest::Verdict v = Verify(Path("t"), *attest::RootStore::FromDirectory(Path("roots")));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v.claims["tcbStatus"], "UpToDate");
  EXPECT_EQ(v.claims["debug"], true);
  // Default measurement: SHA-384 of the running executable.
  EXPECT_EQ(v.claims["measurement"], HexEncode(*SimMeasurement()));
}

TEST_F(RuntimeCli, SimVariantsVerify) {
  ASSERT_EQ(RunRuntime({"sim-roots", "-o", Path("roots")}), 0);
  auto roots = attest::RootStore::FromDirectory(Path("roots"));
  ASSERT_TRUE(roots.ok());
  ASSERT_EQ(RunRuntime({"evidence", "--tee", "sim-snp", "--vlek", "--turin", "-o", Path("s")}), 0);
  attest::Verdict s = Verify(Path("s"), *roots);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s.claims["signerChain"][1], "ARCA-SIM-ASVK");
  EXPECT_EQ(s.claims["tcb"]["fmc"], 1);
  ASSERT_EQ(RunRuntime({"evidence", "--tee", "sim-tdx", "--quote-version", "5", "--td-report-15", "-o", Path("t")}), 0);
  attest::Verdict t = Verify(Path("t"), *roots);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t.claims["tdx"]["version"], 5);
  EXPECT_TRUE(t.claims["tdx"].contains("mrservicetd"));
  // Each flag belongs to its simulator.
  EXPECT_NE(RunRuntime({"evidence", "--tee", "sim-tdx", "--vlek", "-o", Path("x")}), 0);
  EXPECT_NE(RunRuntime({"evidence", "--tee", "sim-snp", "--quote-version", "5", "-o", Path("x")}), 0);
  EXPECT_NE(RunRuntime({"evidence", "--tee", "sim-tdx", "--quote-version", "6", "-o", Path("x")}), 0);
  EXPECT_NE(RunRuntime({"evidence", "--tee", "sim-tdx", "--td-report-15", "-o", Path("x")}), 0);
  EXPECT_FALSE(fs::exists(Path("x")));
}

TEST_F(RuntimeCli, BindingFlagsPutTheBindingIntoReportData) {
  std::ofstream(Path("key.bin"), std::ios::binary) << "ephemeral-x25519-public-key-32b!";
  std::string pkg = "sha256:" + std::string(64, 'a'), pol = "sha256:" + std::string(64, 'b');
  std::string nonce(64, '7');
  ASSERT_EQ(RunRuntime({"evidence", "--tee", "sim-snp", "-o", Path("e"), "--nonce", nonce, "--public-key", Path("key.bin"),
                 "--package-digest", pkg, "--policy-digest", pol}),
            0);
  attest::Verdict v = Verify(Path("e"), *attest::SimRootStore());
  ASSERT_TRUE(v.ok());
  Bytes n = *HexDecode(nonce);
  std::string key = "ephemeral-x25519-public-key-32b!";
  EXPECT_TRUE(attest::CheckEvidenceBinding(v.claims, {n, AsBytes(key), pkg, pol}).ok());
  EXPECT_FALSE(attest::CheckEvidenceBinding(v.claims, {n, AsBytes(key), pol, pkg}).ok());
}

TEST_F(RuntimeCli, PartialBindingFlagsAreInvalid) {
  EXPECT_EQ(RunRuntime({"evidence", "--tee", "sim-snp", "-o", Path("e"), "--nonce", std::string(32, '0')}), 2);
  EXPECT_FALSE(fs::exists(Path("e")));
}

TEST_F(RuntimeCli, BadHexNamesTheFlag) {
  EXPECT_EQ(RunRuntime({"evidence", "--tee", "sim-snp", "-o", Path("e"), "--report-data", std::string(130, '0')}), 2);
  EXPECT_EQ(RunRuntime({"evidence", "--tee", "sim-snp", "-o", Path("e"), "--measurement", "00"}), 2);
  EXPECT_EQ(RunRuntime({"evidence", "--tee", "sim-snp", "-o", Path("e"), "--report-data", "zz"}), 2);
}

TEST_F(RuntimeCli, UnknownTeeIsInvalid) {
  EXPECT_EQ(RunRuntime({"evidence", "--tee", "sgx", "-o", Path("e")}), 2);
  EXPECT_EQ(RunRuntime({"measurement", "--tee", "snp"}), 2);
}

TEST_F(RuntimeCli, HardwareWithoutConfigfsIsFailedPrecondition) {
  EXPECT_EQ(RunRuntime({"evidence", "--tee", "snp", "-o", Path("e"), "--configfs-root", Path("none")}), 7);
}

TEST_F(RuntimeCli, SimOnlyFlagsAreRefusedForHardware) {
  EXPECT_EQ(RunRuntime({"evidence", "--tee", "tdx", "-o", Path("e"), "--debug"}), 2);
}

TEST_F(RuntimeCli, HelpAndMissingCommand) {
  EXPECT_EQ(RunRuntime({"--help"}), 0);
  EXPECT_EQ(RunRuntime({}), 2);
}

}  // namespace
}  // namespace arca::runtime
