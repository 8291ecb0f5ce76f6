// TPM evidence from a real software TPM: swtpm started on loopback on a
// free port (skipped when swtpm or tpm2-tools is not installed), quoted
// through tpm2-tools, verified by the same verifier as every TPM quote.
#include "runtime/tpm.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "attest/bundle.h"
#include "attest/tpm.h"
#include "base/testing/status_matchers.h"
#include "base/file_system.h"
#include "runtime/cli.h"
#include "runtime/evidence.h"

extern char** environ;

namespace arca::runtime {
namespace {

namespace fs = std::filesystem;

bool OnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "";
  std::size_t start = 0;
  while (start <= p.size()) {
    std::size_t end = p.find(':', start);
    std::string dir = p.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) return true;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return false;
}

bool Bindable(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(std::uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// FreePortPair returns P with P and P+1 both free (swtpm's server and control
// ports), chosen below Linux's ephemeral range (32768+): bind(0) hands out
// odd ports and leaves the even ones, like P+1, to outgoing connections of
// tests running alongside, which made swtpm fail to listen ~1 run in 10.
int FreePortPair() {
  std::random_device rd;
  for (int attempt = 0; attempt < 200; ++attempt) {
    int p = 20000 + int(rd() % 12000);
    if (Bindable(p) && Bindable(p + 1)) return p;
  }
  return 0;
}

bool Connects(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(std::uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// Swtpm runs one software TPM on loopback for the test's lifetime.
class SwtpmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {"swtpm", "tpm2_quote", "tpm2_createak", "tpm2_pcrextend"}) {
      if (!OnPath(tool)) GTEST_SKIP() << tool << " not installed (apt-get install swtpm tpm2-tools)";
    }
    state_ = fs::temp_directory_path() / ("arca-swtpm-" + std::to_string(::getpid()));
    fs::create_directories(state_);
    // A pair can still be taken between the check and swtpm's bind: retry.
    for (int attempt = 0; attempt < 5 && !Connects(port_); ++attempt) {
      if (pid_ > 0) {
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
        pid_ = 0;
      }
      port_ = FreePortPair();
      ASSERT_NE(port_, 0) << "no free port pair found";
      std::vector<std::string> argv = {"swtpm", "socket", "--tpm2", "--tpmstate", "dir=" + state_.string(),
                                       "--server", "type=tcp,port=" + std::to_string(port_) + ",bindaddr=127.0.0.1",
                                       "--ctrl", "type=tcp,port=" + std::to_string(port_ + 1) + ",bindaddr=127.0.0.1",
                                       "--flags", "not-need-init,startup-clear"};
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ASSERT_EQ(posix_spawnp(&pid_, "swtpm", nullptr, nullptr, args.data(), environ), 0);
      for (int i = 0; i < 100 && !Connects(port_); ++i) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {  // swtpm exited (port taken): next pair
          pid_ = 0;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    ASSERT_TRUE(Connects(port_)) << "swtpm did not listen on " << port_;
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    if (!state_.empty()) fs::remove_all(state_);
  }
  std::string Tcti() const { return "swtpm:host=127.0.0.1,port=" + std::to_string(port_); }

  pid_t pid_ = 0;
  int port_ = 0;
  fs::path state_;
};

std::array<std::uint8_t, 48> Measurement() {
  std::array<std::uint8_t, 48> m{};
  for (int i = 0; i < 48; ++i) m[i] = std::uint8_t(0x30 + i);
  return m;
}

std::array<std::uint8_t, 64> Nonce() {
  std::array<std::uint8_t, 64> n{};
  for (int i = 0; i < 64; ++i) n[i] = std::uint8_t(0x90 + i);
  return n;
}

attest::Verdict VerifyNamed(const attest::EvidenceBundle& b) {
  attest::VerifyOptions o;
  o.time = 1800000000;
  o.tpm_ak_spki = b.tpm_ak_public;
  return attest::VerifyBundle(b, *attest::RootStore::Pinned(), o);
}

TEST_F(SwtpmTest, QuoteVerifiesWithNamedAkAndCarriesNonceAndMeasurement) {
  auto b = CollectTpmEvidence({Tcti(), Nonce(), Measurement()});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  auto text = attest::SerializeBundle(*b);
  ASSERT_TRUE(text.ok());
  auto parsed = attest::ParseBundle(*text);
  ASSERT_TRUE(parsed.ok());
  attest::Verdict v = VerifyNamed(*parsed);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v.claims["platform"], "tpm");
  EXPECT_EQ(v.claims["reportData"], HexEncode(Nonce()));
  EXPECT_EQ(v.claims["measurements"]["pcrs"]["sha256"]["23"], HexEncode(ExpectedRuntimePcr(Measurement())));
}

TEST_F(SwtpmTest, UnanchoredAkIsRefused) {
  auto b = CollectTpmEvidence({Tcti(), Nonce(), Measurement()});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  attest::Verdict v = attest::VerifyBundle(*b, *attest::RootStore::Pinned(), {1800000000, std::nullopt});
  EXPECT_FALSE(v.ok());
}

TEST_F(SwtpmTest, EveryFlippedQuoteByteIsRefused) {
  auto b = CollectTpmEvidence({Tcti(), Nonce(), Measurement()});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  for (std::size_t i = 0; i < b->tpm_quote->message.size(); ++i) {
    attest::EvidenceBundle f = *b;
    f.tpm_quote->message[i] ^= 0x01;
    EXPECT_FALSE(VerifyNamed(f).ok()) << "flipped TPMS_ATTEST byte " << i;
  }
  for (std::size_t i = 0; i < b->tpm_quote->signature.size(); ++i) {
    attest::EvidenceBundle f = *b;
    f.tpm_quote->signature[i] ^= 0x01;
    EXPECT_FALSE(VerifyNamed(f).ok()) << "flipped signature byte " << i;
  }
  attest::EvidenceBundle f = *b;
  f.tpm_quote->pcrs[0][0] ^= 0x01;
  EXPECT_FALSE(VerifyNamed(f).ok());
}

TEST_F(SwtpmTest, EvidenceCommandPathUsesTheTcti) {
  EvidenceRequest req;
  req.tee = Tee::kTpm;
  req.tpm_tcti = Tcti();
  req.report_data = Nonce();
  req.measurement = Measurement();
  auto b = CollectEvidence(req);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_TRUE(VerifyNamed(*b).ok());
}

TEST_F(SwtpmTest, CliWritesBundleAndAkForArcaAttestVerify) {
  std::string out = (state_ / "e").string(), ak = (state_ / "ak.pem").string();
  std::vector<std::string> argv = {"arca-runtime", "evidence", "--tee", "tpm", "--tpm-tcti", Tcti(), "-o", out,
                                   "--ak-out", ak, "--measurement", std::string(96, 'c')};
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  ASSERT_EQ(RunCli(int(args.size()), args.data()), 0);
  auto text = ReadFileBounded(FileSystem::Default(), out, 1 << 20);
  auto pem = ReadFileBounded(FileSystem::Default(), ak, 1 << 16);
  ASSERT_TRUE(text.ok() && pem.ok());
  auto b = attest::ParseBundle(ToString(*text));
  ASSERT_TRUE(b.ok());
  attest::VerifyOptions o;
  o.time = 1800000000;
  o.tpm_ak_spki = *attest::PublicKeyToSpkiDer(*pem);
  attest::Verdict v = attest::VerifyBundle(*b, *attest::RootStore::Pinned(), o);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  std::array<std::uint8_t, 48> m;
  m.fill(0xcc);
  EXPECT_EQ(v.claims["measurements"]["pcrs"]["sha256"]["23"], HexEncode(ExpectedRuntimePcr(m)));
}

// Tool runs a tpm2-tools command line against this TPM; "" or what failed.
std::string Tool(const std::string& tcti, const std::string& dir, const std::string& cmd) {
  std::string full = "cd " + dir + " && TPM2TOOLS_TCTI=" + tcti + " " + cmd + " >tool.log 2>&1";
  if (std::system(full.c_str()) == 0) return "";
  auto log = ReadFileBounded(FileSystem::Default(), dir + "/tool.log", 1 << 16);
  return cmd + ": " + (log.ok() ? ToString(*log) : std::string("?"));
}

TEST_F(SwtpmTest, OneAttestationKeyIsPersistedAndReused) {
  auto first = LoadOrCreateAttestationKey(Tcti());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->created);
  auto again = LoadOrCreateAttestationKey(Tcti());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->spki_der, first->spki_der);
  // Every quote is by that key: a verifier that enrolled it once trusts them all.
  for (int i = 0; i < 2; ++i) {
    auto b = CollectTpmEvidence({Tcti(), Nonce(), Measurement()});
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_EQ(b->tpm_ak_public, first->spki_der);
    attest::VerifyOptions o;
    o.time = 1800000000;
    o.tpm_ak_spki = first->spki_der;
    EXPECT_TRUE(attest::VerifyBundle(*b, *attest::RootStore::Pinned(), o).ok());
  }
  // The handle holds it persistently: visible to the TPM's own tools.
  EXPECT_EQ(Tool(Tcti(), state_.string(), "tpm2_readpublic -c 0x81010002"), "");
}

TEST_F(SwtpmTest, AnotherKindOfKeyAtTheHandleIsRefusedAndLeftAlone) {
  // A storage key (restricted decrypt), persisted where the AK would go.
  ASSERT_EQ(Tool(Tcti(), state_.string(), "tpm2_createprimary -C o -G ecc -c primary.ctx"), "");
  ASSERT_EQ(Tool(Tcti(), state_.string(), "tpm2_evictcontrol -C o -c primary.ctx 0x81010002"), "");
  ASSERT_EQ(Tool(Tcti(), state_.string(), "tpm2_flushcontext -t"), "");
  auto ak = LoadOrCreateAttestationKey(Tcti());
  EXPECT_THAT(ak.status(), HasCodeAndMessage(StatusCode::kFailedPrecondition, "not the runtime's attestation key"));
  EXPECT_THAT(CollectTpmEvidence({Tcti(), Nonce(), Measurement()}).status(),
              HasCode(StatusCode::kFailedPrecondition));
  EXPECT_EQ(Tool(Tcti(), state_.string(), "tpm2_readpublic -c 0x81010002 -f tss -o still.tss"), "");
  auto still = ReadFileBounded(FileSystem::Default(), (state_ / "still.tss").string(), 4096);
  ASSERT_TRUE(still.ok());
  auto parsed = attest::ParseTpm2bPublic(*still);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->attributes & attest::kTpmaDecrypt) << "the storage key was replaced";
}

TEST_F(SwtpmTest, TpmAkCommandExportsTheQuotingKey) {
  std::string ak = (state_ / "ak.pem").string();
  std::vector<std::string> argv = {"arca-runtime", "tpm-ak", "-o", ak, "--tpm-tcti", Tcti()};
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  ASSERT_EQ(RunCli(int(args.size()), args.data()), 0);
  auto pem = ReadFileBounded(FileSystem::Default(), ak, 1 << 16);
  ASSERT_TRUE(pem.ok());
  auto spki = attest::PublicKeyToSpkiDer(*pem);
  ASSERT_TRUE(spki.ok()) << spki.status().ToString();
  auto b = CollectTpmEvidence({Tcti(), Nonce(), Measurement()});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->tpm_ak_public, *spki);
}

TEST(Tpm, MissingTctiIsInvalid) {
  EXPECT_THAT(CollectTpmEvidence({"", Nonce(), Measurement()}).status(), HasCode(StatusCode::kInvalidArgument));
}

TEST(Tpm, UnreachableTpmIsUnavailableNamingTheTool) {
  if (!OnPath("tpm2_getcap")) GTEST_SKIP() << "tpm2-tools not installed";
  auto r = CollectTpmEvidence({"swtpm:host=127.0.0.1,port=" + std::to_string(FreePortPair()), Nonce(), Measurement()});
  EXPECT_THAT(r.status(), HasCodeAndMessage(StatusCode::kUnavailable, "tpm2_getcap failed"));
}

}  // namespace
}  // namespace arca::runtime
