// The engine-command template parser, and Engine with small python3
// engines: it gets the model through /proc/self/fd/N, a controlled
// environment, a private tmpfs HOME, only the fds it is handed, and is
// stopped with SIGTERM, then SIGKILL.
#include "runtime/engine.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "base/crypto.h"
#include "base/bytes.h"
#include "base/testing/status_matchers.h"
#include "base/testing/temp_dir.h"

namespace arca::runtime {
namespace {

namespace stdfs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Kind = EngineArgPart::Kind;

// --- ParseEngineCommand -------------------------------------------------------

EngineArgPart Lit(std::string s) { return {Kind::kLiteral, std::move(s)}; }
EngineArgPart Model() { return {Kind::kModel, ""}; }
EngineArgPart Port() { return {Kind::kPort, ""}; }
EngineArgPart File(std::string n) { return {Kind::kFile, std::move(n)}; }

TEST(ParseEngineCommandTest, SplitsWordsAndFindsPlaceholders) {
  auto c = ParseEngineCommand("node  serve.js --model {model}\t--port={port} --vocab {file:tok/vocab.txt}");
  ASSERT_THAT(c, IsOk());
  ASSERT_EQ(c->words.size(), 7u);
  EXPECT_THAT(c->words[0], ElementsAre(Lit("node")));
  EXPECT_THAT(c->words[3], ElementsAre(Model()));
  EXPECT_THAT(c->words[4], ElementsAre(Lit("--port="), Port()));
  EXPECT_THAT(c->words[6], ElementsAre(File("tok/vocab.txt")));
  EXPECT_TRUE(c->uses_model);
  EXPECT_EQ(c->files, std::set<std::string>{"tok/vocab.txt"});
}

TEST(ParseEngineCommandTest, QuotesAndEscapesLikeAShell) {
  auto c = ParseEngineCommand(R"(e 'a b' "c \"d\" \\ \$x \q" e\ f '' "{port}" '{{}}' a"b"'c')");
  ASSERT_THAT(c, IsOk());
  ASSERT_EQ(c->words.size(), 8u);
  EXPECT_THAT(c->words[1], ElementsAre(Lit("a b")));
  EXPECT_THAT(c->words[2], ElementsAre(Lit(R"(c "d" \ $x \q)")));
  EXPECT_THAT(c->words[3], ElementsAre(Lit("e f")));
  EXPECT_TRUE(c->words[4].empty());  // '' is an empty word
  EXPECT_THAT(c->words[5], ElementsAre(Port()));
  EXPECT_THAT(c->words[6], ElementsAre(Lit("{}")));
  EXPECT_THAT(c->words[7], ElementsAre(Lit("abc")));
}

TEST(ParseEngineCommandTest, ShellOperatorsInsideQuotesAreLiteral) {
  auto c = ParseEngineCommand("sh -c 'exec x > /dev/null | y; $HOME' {port}");
  ASSERT_THAT(c, IsOk());
  EXPECT_THAT(c->words[2], ElementsAre(Lit("exec x > /dev/null | y; $HOME")));
}

struct BadCase {
  std::string text;
  StatusCode code;
  std::string message;
};

class ParseEngineCommandRefusalTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ParseEngineCommandRefusalTest, IsRefusedWithANamedError) {
  EXPECT_THAT(ParseEngineCommand(GetParam().text), HasCodeAndMessage(GetParam().code, GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseEngineCommandRefusalTest,
    ::testing::Values(BadCase{"", StatusCode::kInvalidArgument, "empty"},
                      BadCase{"   \t\n", StatusCode::kInvalidArgument, "empty"},
                      BadCase{"e {model}", StatusCode::kInvalidArgument, "no {port}"},
                      BadCase{"e 'abc {port}", StatusCode::kInvalidArgument, "unterminated single quote at offset 2"},
                      BadCase{"e \"abc {port}", StatusCode::kInvalidArgument, "unterminated double quote at offset 2"},
                      BadCase{"e {port} \\", StatusCode::kInvalidArgument, "trailing backslash at offset 9"},
                      BadCase{"e {port} {mdoel}", StatusCode::kInvalidArgument, "unknown placeholder {mdoel} at offset 9"},
                      BadCase{"e {port} {model", StatusCode::kInvalidArgument, "unterminated placeholder at offset 9"},
                      BadCase{"e {port} a}b", StatusCode::kInvalidArgument, "lone '}' at offset 10"},
                      BadCase{"e {port} {file:../x}", StatusCode::kInvalidArgument, "{file:NAME} at offset 9"},
                      BadCase{"e {port} {file:/etc/passwd}", StatusCode::kInvalidArgument, "{file:NAME}"},
                      BadCase{"e {port} {file:}", StatusCode::kInvalidArgument, "{file:NAME}"},
                      BadCase{"e {port} > log", StatusCode::kInvalidArgument, "'>' at offset 9 is shell syntax"},
                      BadCase{"e {port} | tee", StatusCode::kInvalidArgument, "'|'"},
                      BadCase{"e {port}; rm x", StatusCode::kInvalidArgument, "';'"},
                      BadCase{"e $HOME {port}", StatusCode::kInvalidArgument, "'$'"},
                      BadCase{"e `id` {port}", StatusCode::kInvalidArgument, "'`'"},
                      BadCase{"e {port} # note", StatusCode::kInvalidArgument, "'#'"},
                      BadCase{"{model} {port}", StatusCode::kInvalidArgument, "program (first word) cannot be a placeholder"},
                      BadCase{"'' {port}", StatusCode::kInvalidArgument, "program (first word) is empty"},
                      BadCase{std::string("e {port} a\0b", 12), StatusCode::kInvalidArgument, "NUL byte at offset 10"},
                      BadCase{"e {port} " + std::string(kMaxEngineCommandBytes, 'a'), StatusCode::kResourceExhausted, "limit"},
                      BadCase{[] {
                                std::string s = "e {port}";
                                for (std::size_t i = 0; i < kMaxEngineCommandWords; ++i) s += " w";
                                return s;
                              }(),
                              StatusCode::kResourceExhausted, "more than 256 words"}));

// --- ChooseModelFile / ResolveEngineCommand ----------------------------------------

TEST(ResolveEngineCommandTest, SubstitutesFdPathsAndPort) {
  auto c = ParseEngineCommand("e --m={model} --v {file:vocab.txt} {port} {model}").value();
  std::vector<EngineFile> files = {{"model.onnx", 7}, {"vocab.txt", 9}, {"unused.bin", 11}};
  std::vector<int> fds;
  auto argv = ResolveEngineCommand(c, files, "model.onnx", 4242, &fds);
  ASSERT_THAT(argv, IsOk());
  EXPECT_THAT(*argv, ElementsAre("e", "--m=/proc/self/fd/7", "--v", "/proc/self/fd/9", "4242", "/proc/self/fd/7"));
  EXPECT_THAT(fds, ElementsAre(7, 9));  // each once; unreferenced files are not passed
}

TEST(ResolveEngineCommandTest, MissingFileIsNotFound) {
  auto c = ParseEngineCommand("e {file:nope.txt} {port}").value();
  EXPECT_THAT(ResolveEngineCommand(c, {{"model.onnx", 7}}, "", 1), HasCodeAndMessage(StatusCode::kNotFound, "nope.txt"));
}

TEST(ChooseModelFileTest, Rules) {
  std::vector<EngineFile> one = {{"model.onnx", 7}};
  std::vector<EngineFile> two = {{"model.onnx", 7}, {"config.json", 8}};
  EXPECT_EQ(ChooseModelFile(one, "").value(), "model.onnx");
  EXPECT_EQ(ChooseModelFile(two, "config.json").value(), "config.json");
  EXPECT_THAT(ChooseModelFile(two, ""), HasCodeAndMessage(StatusCode::kInvalidArgument, "several files (model.onnx, config.json)"));
  EXPECT_THAT(ChooseModelFile(two, "x.onnx"), HasCodeAndMessage(StatusCode::kNotFound, "--model-file x.onnx"));
  EXPECT_THAT(ChooseModelFile({}, ""), HasCode(StatusCode::kInvalidArgument));
}

// --- Engine ---------------------------------------------------------------------

// The test engine: like the acceptance's hash-engine.py, plus a report of
// what it was given (environment as exec'ed, open fds, HOME) at startup.
constexpr char kEngine[] = R"PY(
import hashlib, http.server, json, os, sys
fds = []
for name in os.listdir("/proc/self/fd"):
    try:
        fds.append((int(name), os.readlink("/proc/self/fd/" + name)))
    except OSError:
        pass  # the fd listdir used, closed by now
env = [e.decode() for e in open("/proc/self/environ", "rb").read().split(b"\0") if e]
home = os.environ["HOME"]
st = os.stat(home)
report = {"env": sorted(env), "fds": sorted(fds), "home_entries": os.listdir(home), "home_mode": st.st_mode & 0o777,
          "cwd": os.getcwd(), "pgid_is_pid": os.getpgid(0) == os.getpid()}
h = hashlib.sha256()
with open(sys.argv[1], "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
        h.update(block)
report["sha256"] = h.hexdigest()
body = json.dumps(report).encode()
print("engine ready", flush=True)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), H).serve_forever()
)PY";

class EngineTest : public ::testing::Test {
 protected:
  EngineTest() {
    script_ = tmp_.path() + "/engine.py";
    std::ofstream(script_) << kEngine;
    model_ = "sealed weights \x01\x02 and more";
    model_fd_ = ::memfd_create("arca:model.onnx", MFD_CLOEXEC);
    EXPECT_EQ(::write(model_fd_, model_.data(), model_.size()), ssize_t(model_.size()));
    other_fd_ = ::memfd_create("arca:config.json", MFD_CLOEXEC);
    EXPECT_EQ(::write(other_fd_, "{}", 2), 2);
    options_.start_timeout_ms = 20000;
    options_.path_env = "/usr/bin:/bin";
  }
  ~EngineTest() override {
    ::close(model_fd_);
    ::close(other_fd_);
  }

  std::string Py(const std::string& code) {
    std::string path = tmp_.path() + "/e" + std::to_string(++scripts_) + ".py";
    std::ofstream(path) << code;
    return path;
  }

  nlohmann::json Report(const Engine& e) {
    httplib::Client c("127.0.0.1", e.port());
    auto r = c.Get("/");
    EXPECT_TRUE(r) << "engine did not answer";
    if (!r) return {};
    return nlohmann::json::parse(r->body);
  }

  testing_util::TempDir tmp_;
  std::string script_;
  std::string model_;
  int model_fd_ = -1;
  int other_fd_ = -1;
  int scripts_ = 0;
  EngineOptions options_;
};

TEST_F(EngineTest, ServesTheModelFromTheFdWithAControlledEnvironment) {
  auto cmd = ParseEngineCommand("python3 " + script_ + " {model} {port}").value();
  ::setenv("ARCA_TEST_SECRET_ENV", "must-not-leak", 1);
  auto e = Engine::Start(cmd, {{"model.onnx", model_fd_}}, options_);
  ::unsetenv("ARCA_TEST_SECRET_ENV");
  ASSERT_THAT(e, IsOk());
  nlohmann::json r = Report(**e);
  EXPECT_EQ(r["sha256"], HexEncode(crypto::Sha256::Hash(AsBytes(model_))));
  const std::string scratch = (*e)->scratch_dir();
  EXPECT_EQ(r["env"], nlohmann::json::array({"HOME=" + scratch, "ORT_DISABLE_TELEMETRY=1", "PATH=/usr/bin:/bin",
                                             "TMPDIR=" + scratch}));
  // Only stdin/stdout/stderr and the model fd, under the number in {model}.
  std::vector<int> fds;
  for (const auto& f : r["fds"]) fds.push_back(f[0].get<int>());
  EXPECT_THAT(fds, ElementsAre(0, 1, 2, model_fd_)) << r["fds"].dump();
  EXPECT_THAT(r["fds"][3][1].get<std::string>(), HasSubstr("memfd:arca:model.onnx"));
  EXPECT_EQ(r["home_entries"], nlohmann::json::array());
  EXPECT_EQ(r["home_mode"], 0700);
  EXPECT_EQ(r["cwd"], scratch);
  EXPECT_EQ(r["pgid_is_pid"], true);
  struct statfs sfs;
  ASSERT_EQ(::statfs(scratch.c_str(), &sfs), 0);
  EXPECT_EQ(sfs.f_type, 0x01021994) << "scratch is not on tmpfs";  // TMPFS_MAGIC
  EXPECT_THAT((*e)->OutputTail(), HasSubstr("engine ready"));
  EXPECT_EQ((*e)->argv()[2], "/proc/self/fd/" + std::to_string(model_fd_));
  EXPECT_TRUE((*e)->Running());
  pid_t pid = (*e)->pid();
  EXPECT_EQ((*e)->Stop(), "signal 15");
  EXPECT_FALSE(stdfs::exists(scratch)) << "scratch directory left behind";
  EXPECT_NE(::kill(pid, 0), 0) << "engine still running";
  EXPECT_FALSE((*e)->Running());
}

TEST_F(EngineTest, PassesOnlyReferencedFiles) {
  auto cmd = ParseEngineCommand("python3 " + script_ + " {file:config.json} {port}").value();
  auto e = Engine::Start(cmd, {{"model.onnx", model_fd_}, {"config.json", other_fd_}}, options_);
  ASSERT_THAT(e, IsOk());
  nlohmann::json r = Report(**e);
  EXPECT_EQ(r["sha256"], HexEncode(crypto::Sha256::Hash(AsBytes(std::string("{}")))));
  std::vector<int> fds;
  for (const auto& f : r["fds"]) fds.push_back(f[0].get<int>());
  EXPECT_THAT(fds, ElementsAre(0, 1, 2, other_fd_));
}

TEST_F(EngineTest, SeveralFilesNeedModelFile) {
  auto cmd = ParseEngineCommand("python3 " + script_ + " {model} {port}").value();
  std::vector<EngineFile> files = {{"model.onnx", model_fd_}, {"config.json", other_fd_}};
  EXPECT_THAT(Engine::Start(cmd, files, options_), HasCodeAndMessage(StatusCode::kInvalidArgument, "--model-file"));
  options_.model_file = "model.onnx";
  auto e = Engine::Start(cmd, files, options_);
  ASSERT_THAT(e, IsOk());
  EXPECT_EQ(Report(**e)["sha256"], HexEncode(crypto::Sha256::Hash(AsBytes(model_))));
}

TEST_F(EngineTest, EngineThatExitsEarlyReportsItsOutput) {
  auto cmd = ParseEngineCommand("python3 " + Py("import sys\nprint('cannot load model: boom', file=sys.stderr)\nsys.exit(3)\n") +
                                " {model} {port}")
                 .value();
  auto e = Engine::Start(cmd, {{"model.onnx", model_fd_}}, options_);
  EXPECT_THAT(e, HasCodeAndMessage(StatusCode::kUnavailable, "ended (exit 3) before listening"));
  EXPECT_THAT(e, HasCodeAndMessage(StatusCode::kUnavailable, "cannot load model: boom"));
}

TEST_F(EngineTest, EngineThatNeverListensTimesOutAndIsStopped) {
  std::string pidfile = tmp_.path() + "/pid";
  auto cmd = ParseEngineCommand("python3 " + Py("import os, sys, time\nopen(sys.argv[1], 'w').write(str(os.getpid()))\n"
                                                "print('warming up', flush=True)\ntime.sleep(60)\n") +
                                " " + pidfile + " {port}")
                 .value();
  options_.start_timeout_ms = 1500;
  auto e = Engine::Start(cmd, {}, options_);
  EXPECT_THAT(e, HasCodeAndMessage(StatusCode::kUnavailable, "did not listen on 127.0.0.1:"));
  EXPECT_THAT(e, HasCodeAndMessage(StatusCode::kUnavailable, "within 1500 ms"));
  EXPECT_THAT(e, HasCodeAndMessage(StatusCode::kUnavailable, "warming up"));
  std::ifstream in(pidfile);
  pid_t pid = 0;
  in >> pid;
  ASSERT_GT(pid, 0);
  EXPECT_NE(::kill(pid, 0), 0) << "engine survived the failed start";
}

TEST_F(EngineTest, EngineIgnoringSigtermIsKilled) {
  std::string code = std::string("import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n") + kEngine;
  auto cmd = ParseEngineCommand("python3 " + Py(code) + " {model} {port}").value();
  options_.stop_grace_ms = 300;
  auto e = Engine::Start(cmd, {{"model.onnx", model_fd_}}, options_);
  ASSERT_THAT(e, IsOk());
  EXPECT_EQ((*e)->Stop(), "signal 9");
  EXPECT_EQ((*e)->Stop(), "signal 9");  // idempotent
}

TEST_F(EngineTest, MissingProgramIsNotFound) {
  auto cmd = ParseEngineCommand("arca-no-such-engine {port}").value();
  EXPECT_THAT(Engine::Start(cmd, {}, options_), HasCodeAndMessage(StatusCode::kNotFound, "arca-no-such-engine not found in PATH"));
}

TEST_F(EngineTest, UnusableScratchParentIsFailedPrecondition) {
  auto cmd = ParseEngineCommand("python3 " + script_ + " {model} {port}").value();
  options_.scratch_parent = tmp_.path() + "/missing";
  EXPECT_THAT(Engine::Start(cmd, {{"model.onnx", model_fd_}}, options_),
              HasCodeAndMessage(StatusCode::kFailedPrecondition, "private directory"));
}

TEST(PickFreeLoopbackPortTest, ReturnsAPort) {
  auto p = PickFreeLoopbackPort();
  ASSERT_THAT(p, IsOk());
  EXPECT_GT(*p, 0);
  EXPECT_LT(*p, 65536);
}

}  // namespace
}  // namespace arca::runtime
