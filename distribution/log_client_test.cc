// The client's log checks (specs/registry-client.md §8) against a fake log
// served over loopback HTTP: each refusal is named, and the state file's
// parser is strict.
#include "distribution/log_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include "base/json.h"
#include "base/testing/status_matchers.h"
#include "base/testing/temp_dir.h"
#include "tlog/checkpoint.h"
#include "tlog/proof.h"
#include "tlog/tiles.h"

namespace arca::distribution {
namespace {

using ::testing::HasSubstr;

const std::string kOrigin = "fake.example/log";

tlog::NoteSigner Key(std::uint8_t seed_byte) {
  Bytes seed(32, seed_byte);
  return tlog::NoteSigner::FromSeed(kOrigin, tlog::NoteSignatureType::kEd25519, seed).value();
}

tlog::LogEntry Tag(const std::string& repo, const std::string& tag, int n) {
  tlog::LogEntry e;
  e.kind = "tag";
  e.ns = repo.substr(0, repo.find('/'));
  e.time = n;
  e.repository = repo;
  e.tag = tag;
  e.manifest = "sha256:" + HexEncode(crypto::Sha256::Hash(AsBytes(std::to_string(n))));
  return e;
}

// FakeLog serves a log the way arca-registry does (specs/registry.md §8),
// with knobs to misbehave.
class FakeLog {
 public:
  explicit FakeLog(std::uint8_t key_seed = 1) : key_(Key(key_seed)) {
    svr_.Get("/arca/v1/log/(.+)", [this](const httplib::Request& req, httplib::Response& res) { Serve(req, res); });
    port_ = svr_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { svr_.listen_after_bind(); });
    while (!svr_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeLog() {
    svr_.stop();
    thread_.join();
  }
  void Append(const tlog::LogEntry& e) {
    std::string b = tlog::EncodeLogEntry(e).value();
    entries_.push_back(b);
    (void)tree_.AppendLeaf(AsBytes(b)).value();
  }
  ClientOptions Options() const { return ClientOptions{"127.0.0.1:" + std::to_string(port_)}; }
  UnixSeconds time = 1767225600;
  std::vector<std::string> extra_listed;  // listed but never appended
  std::vector<const tlog::NoteSigner*> cosigners;  // witnesses that cosign the served checkpoint

 private:
  void Serve(const httplib::Request& req, httplib::Response& res) {
    std::string what = req.matches[1];
    res.status = 200;
    if (what == "key") return res.set_content(key_.verifier().ToString() + "\n", "text/plain");
    if (what == "checkpoint") {
      tlog::Checkpoint c{kOrigin, tree_.size(), tree_.Root(), time, {}};
      std::string note = tlog::SignCheckpoint(c, key_).value();
      for (const auto* w : cosigners) note = tlog::Cosign(note, *w, time + 1).value();
      return res.set_content(note, "text/plain");
    }
    if (what == "entries") {
      Json list = Json::array();
      for (std::size_t i = 0; i < entries_.size(); ++i) list.push_back({{"index", i}, {"entry", entries_[i]}});
      for (std::size_t i = 0; i < extra_listed.size(); ++i) list.push_back({{"index", entries_.size() + i}, {"entry", extra_listed[i]}});
      return res.set_content(Json({{"entries", list}}).dump(), "application/json");
    }
    auto tile = tlog::ParseTilePath(what);
    if (tile.ok() && !tile->entries) {
      auto b = tlog::ReadTile(tree_, *tile);
      if (b.ok()) return res.set_content(std::string(b->begin(), b->end()), "application/octet-stream");
    }
    res.status = 404;
  }

  tlog::NoteSigner key_;
  tlog::MemoryTree tree_;
  std::vector<std::string> entries_;
  httplib::Server svr_;
  int port_ = 0;
  std::thread thread_;
};

LogCheckOptions At(UnixSeconds now) {
  LogCheckOptions o;
  o.now = now;
  return o;
}

Result<LogView> Open(FakeLog& log, const std::optional<LogState>& state, UnixSeconds now = 1767225600) {
  auto client = RegistryClient::Create(log.Options()).value();
  return OpenLog(*client, state, "acme/m", At(now));
}

LogState StateFrom(const LogView& v) {
  LogState s;
  s.registry = "r";
  s.log_key = v.log_key;
  s.checkpoint = v.head_note;
  return s;
}

TEST(OpenLog, FirstContactPinsTheKeyAndVerifiesEveryEntry) {
  FakeLog log;
  for (int i = 0; i < 5; ++i) log.Append(Tag("acme/m", "t", i));
  auto v = Open(log, std::nullopt);
  ASSERT_THAT(v, IsOk());
  EXPECT_TRUE(v->key_pinned_now);
  EXPECT_EQ(v->head.checkpoint.size, 5u);
  ASSERT_EQ(v->entries.size(), 5u);
  for (const auto& e : v->entries) {
    EXPECT_THAT(tlog::VerifyInclusion(e.index, 5, tlog::HashLeaf(AsBytes(e.bytes)), e.inclusion, v->head.checkpoint.root), IsOk());
    auto proof = tlog::ParseTlogProof(TlogProofFor(*v, e).value()).value();
    EXPECT_EQ(proof.index, e.index);
  }
}

TEST(OpenLog, ExtensionIsAcceptedAndRollbackOrForkRefused) {
  FakeLog log;
  for (int i = 0; i < 7; ++i) log.Append(Tag("acme/m", "t", i));
  LogState state = StateFrom(Open(log, std::nullopt).value());
  for (int i = 7; i < 300; ++i) log.Append(Tag("acme/m", "t", i));  // crosses a full tile
  auto grown = Open(log, state);
  ASSERT_THAT(grown, IsOk());
  EXPECT_FALSE(grown->key_pinned_now);
  EXPECT_EQ(grown->previous->size, 7u);
  LogState later = StateFrom(*grown);

  FakeLog shorter;  // same key, a prefix of 5 entries: rollback
  for (int i = 0; i < 5; ++i) shorter.Append(Tag("acme/m", "t", i));
  auto rb = Open(shorter, later);
  EXPECT_THAT(rb, HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(rb.status().message(), HasSubstr("rollback:"));

  FakeLog fork;  // same key, same length, entry 3 differs: split view
  for (int i = 0; i < 300; ++i) fork.Append(Tag("acme/m", i == 3 ? "x" : "t", i));
  auto sv = Open(fork, later);
  EXPECT_THAT(sv, HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(sv.status().message(), HasSubstr("split-view:"));
  fork.Append(Tag("acme/m", "t", 300));  // longer: the consistency proof fails
  sv = Open(fork, later);
  EXPECT_THAT(sv.status().message(), HasSubstr("split-view:"));
}

TEST(OpenLog, AnotherKeyIsRefused) {
  FakeLog log(1), impostor(2);
  log.Append(Tag("acme/m", "t", 0));
  impostor.Append(Tag("acme/m", "t", 0));
  LogState state = StateFrom(Open(log, std::nullopt).value());
  auto r = Open(impostor, state);
  EXPECT_THAT(r, HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(r.status().message(), HasSubstr("unknown-key:"));
}

TEST(OpenLog, StaleOrFutureCheckpointsAreRefused) {
  FakeLog log;
  log.Append(Tag("acme/m", "t", 0));
  EXPECT_THAT(Open(log, std::nullopt, log.time + 86400), IsOk());
  auto old = Open(log, std::nullopt, log.time + 86401);
  EXPECT_THAT(old.status().message(), HasSubstr("freeze:"));
  auto future = Open(log, std::nullopt, log.time - 301);
  EXPECT_THAT(future.status().message(), HasSubstr("freeze:"));
}

TEST(OpenLog, AListedEntryBeyondTheCheckpointIsLeftOut) {
  // Appended after the checkpoint was signed: not provable yet, so not used.
  FakeLog log;
  log.Append(Tag("acme/m", "t", 0));
  log.extra_listed.push_back(tlog::EncodeLogEntry(Tag("acme/m", "t", 1)).value());
  auto r = Open(log, std::nullopt);
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->entries.size(), 1u);
  EXPECT_EQ(r->entries[0].index, 0u);
}

tlog::NoteSigner Witness(std::string name, std::uint8_t seed_byte) {
  return tlog::NoteSigner::FromSeed(name, tlog::NoteSignatureType::kCosignatureV1, Bytes(32, seed_byte)).value();
}

TEST(OpenLog, RequiredWitnessCosignatures) {
  FakeLog log;
  log.Append(Tag("acme/m", "t", 0));
  tlog::NoteSigner w1 = Witness("w1.example/w", 7), w2 = Witness("w2.example/w", 8), other = Witness("w3.example/w", 9);
  LogState state = StateFrom(Open(log, std::nullopt).value());  // seen without cosignatures
  state.witnesses = {w1.verifier().ToString(), w2.verifier().ToString()};
  state.min_witnesses = 2;
  log.Append(Tag("acme/m", "t", 1));
  log.cosigners = {&w1, &other};  // an untrusted witness does not count
  auto one = Open(log, state);
  EXPECT_THAT(one, HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(one.status().message(), HasSubstr("witnesses:"));
  EXPECT_THAT(one.status().message(), HasSubstr("1 trusted cosignatures, policy requires 2"));
  auto client = RegistryClient::Create(log.Options()).value();
  LogCheckOptions lower = At(log.time);
  lower.min_witnesses = 1;
  auto accepted = OpenLog(*client, state, "acme/m", lower);
  ASSERT_THAT(accepted, IsOk());
  ASSERT_EQ(accepted->head.cosigned.size(), 1u);
  EXPECT_EQ(accepted->head.cosigned[0].name, "w1.example/w");
  EXPECT_EQ(accepted->head.cosigned[0].timestamp, log.time + 1);
  log.cosigners = {&w1, &w2};
  auto both = Open(log, state);
  ASSERT_THAT(both, IsOk());
  EXPECT_EQ(both->head.cosigned.size(), 2u);
  // Asking for more than are trusted is a usage error, not a pass.
  LogCheckOptions too_many = At(log.time);
  too_many.min_witnesses = 3;
  EXPECT_THAT(OpenLog(*client, state, "acme/m", too_many), HasCode(StatusCode::kInvalidArgument));
  // A cosignature under a trusted name by another key (another key ID) does not count.
  tlog::NoteSigner impostor = Witness("w2.example/w", 10);
  log.cosigners = {&w1, &impostor};
  EXPECT_THAT(Open(log, state).status().message(), HasSubstr("witnesses:"));
}

TEST(OpenLog, EntriesOfAnotherRepositoryAreRefused) {
  FakeLog log;
  log.Append(Tag("acme/other", "t", 0));
  auto r = Open(log, std::nullopt);
  EXPECT_THAT(r.status().message(), HasSubstr("is not about acme/m"));
}

TEST(OpenLog, ARegistryWithoutALogIsNotFound) {
  httplib::Server svr;
  int port = svr.bind_to_any_port("127.0.0.1");
  std::thread t([&] { svr.listen_after_bind(); });
  while (!svr.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto client = RegistryClient::Create(ClientOptions{"127.0.0.1:" + std::to_string(port)}).value();
  auto r = OpenLog(*client, std::nullopt, "acme/m", At(1));
  EXPECT_THAT(r, HasCode(StatusCode::kNotFound));
  EXPECT_FALSE(IsLogRefusal(r.status()));
  svr.stop();
  t.join();
}

TEST(LogStateFile, RoundTripsAndIsWrittenPrivately) {
  testing_util::TempDir tmp;
  Paths paths{tmp.path() + "/config", tmp.path() + "/cache", tmp.path() + "/data"};
  FakeLog log;
  log.Append(Tag("acme/m", "t", 0));
  LogState s = StateFrom(Open(log, std::nullopt).value());
  s.registry = "127.0.0.1:8700";
  s.tags["acme/m:1.0"] = TagSeen{"sha256:" + std::string(64, 'a'), 3};
  EXPECT_THAT(LoadLogState(FileSystem::Default(), paths, s.registry).value(), std::nullopt);
  ASSERT_THAT(SaveLogState(FileSystem::Default(), paths, s), IsOk());
  EXPECT_EQ(LogStatePath(paths, s.registry), tmp.path() + "/config/logs/127.0.0.1_8700.json");
  EXPECT_EQ(FileSystem::Default().Stat(LogStatePath(paths, s.registry)).value().mode, 0600u);
  EXPECT_EQ(LoadLogState(FileSystem::Default(), paths, s.registry).value(), s);
  // Another registry's file under this name is refused, not silently used.
  EXPECT_THAT(LoadLogState(FileSystem::Default(), paths, "127.0.0.1_8700"), HasCode(StatusCode::kInvalidArgument));
}

TEST(LogStateFile, ParserRefusesDamage) {
  auto parse = [](const std::string& t) { return ParseLogState(AsBytes(t)); };
  EXPECT_THAT(parse("{}"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(parse(R"({"registry":"r","logKey":"not a key","checkpoint":"","tags":{}})"), HasCode(StatusCode::kInvalidArgument));
  std::string key = Key(1).verifier().ToString();
  EXPECT_THAT(parse(R"({"registry":"r","logKey":")" + key + R"(","checkpoint":"","tags":{}})"), IsOk());
  EXPECT_THAT(parse(R"({"registry":"r","logKey":")" + key + R"(","checkpoint":"garbage","tags":{}})"),
              HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(parse(R"({"registry":"r","logKey":")" + key + R"(","checkpoint":"","tags":{},"x":1})"),
              HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(parse(R"({"registry":"r","logKey":")" + key + R"(","checkpoint":"","tags":{"a:b":{"manifest":"m","publishIndex":-1}}})"),
              HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(parse(std::string(kMaxLogStateBytes + 1, ' ')), HasCode(StatusCode::kResourceExhausted));
  // Witnesses: cosignature keys only, a quorum no larger than the list; a
  // file written before witnesses existed (no fields) and an unpinned log
  // key (witnesses trusted before the first pull) are accepted.
  std::string w = Witness("w1.example/w", 7).verifier().ToString();
  auto with = [&](const std::string& logkey, const std::string& rest) {
    return parse(R"({"registry":"r","logKey":")" + logkey + R"(","checkpoint":"","tags":{})" + rest + "}");
  };
  auto ok = with("", R"(,"witnesses":[")" + w + R"("],"minWitnesses":1)");
  ASSERT_THAT(ok, IsOk());
  EXPECT_EQ(ok->min_witnesses, 1u);
  EXPECT_EQ(ParseLogState(AsBytes(SerializeLogState(*ok).value())).value(), *ok);
  EXPECT_THAT(with(key, R"(,"witnesses":[")" + w + R"("],"minWitnesses":2)"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(with(key, R"(,"witnesses":[")" + key + R"("])"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(with(key, R"(,"witnesses":["nonsense"])"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(with(key, R"(,"minWitnesses":-1)"), HasCode(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace arca::distribution
