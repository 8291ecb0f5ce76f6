// Signing and verifying a 70B-parameter-scale package's manifest: a
// synthesized Arca manifest of 100,000 chunks (140 GB of bf16 weights in 1.4 MB
// average chunks, 30 shards, 2,084 packs of ~64 MiB), the shape `arca seal`
// writes for such a model. Timed, in milliseconds:
//   BuildStatement  canonical manifest JSON + its SHA-256 (the subject) + the
//                   release statement's canonical JSON
//   Sign/...        DSSE PAE + one signature + the envelope's JSON
//   Verify/...      what `arca verify` does per package before any pack:
//                   parse and validate the manifest, hash it, parse the
//                   envelope and statement, check the subject, verify the
//                   signature
// Baselines on the same bytes in the same run: OpenSSL SHA-256 of the
// manifest, and nlohmann's plain parse of it (no validation); and, to show
// where Verify's time goes, base/json's checked parse alone.
//   cmake --build build --target signer_bench && build/bench/signer_bench
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/crypto.h"
#include "base/json.h"
#include "format/manifest.h"
#include "signer/documents.h"
#include "signer/dsse.h"
#include "signer/key_source.h"
#include "signer/statement.h"

namespace {

using namespace arca;

constexpr std::size_t kChunks = 100'000;
constexpr std::size_t kFiles = 30;
constexpr std::size_t kChunksPerPack = 48;

template <typename T>
T Must(Result<T> r, const char* what) {
  if (!r.ok()) {
    std::fprintf(stderr, "signer_bench: %s: %s\n", what, r.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(*r);
}

format::Manifest SynthesizeManifest() {
  format::Manifest m;
  m.name = "acme/llm-70b";
  m.version = "1.0";
  m.lineage_id = std::string(32, 'a');
  m.mac = std::string(64, 'b');
  std::uint64_t pack_fill = 0;
  for (std::size_t i = 0; i < kChunks; ++i) {
    format::ChunkRef c;
    auto id = crypto::Sha256::Hash(AsBytes(std::to_string(i)));
    std::copy(id.begin(), id.end(), c.id.begin());
    c.size = 1'200'000 + (i * 7919) % 400'000;  // 1.2-1.6 MB, like gear-hash chunks
    c.encoding = format::ChunkEncoding::kBg2;
    c.length = c.size * 2 / 3 + format::kRecordOverhead;
    if (i % kChunksPerPack == 0) {
      if (!m.packs.empty()) m.packs.back().size = pack_fill;
      m.packs.push_back({"sha256:" + HexEncode(crypto::Sha256::Hash(AsBytes("pack" + std::to_string(i)))), 0, false});
      pack_fill = 0;
    }
    c.pack = std::uint32_t(m.packs.size() - 1);
    c.offset = pack_fill;
    pack_fill += c.length;
    m.chunks.push_back(c);
  }
  m.packs.back().size = pack_fill;
  for (std::size_t f = 0; f < kFiles; ++f) {
    format::FileEntry e;
    char name[64];
    std::snprintf(name, sizeof(name), "model-%05zu-of-%05zu.safetensors", f + 1, kFiles);
    e.path = name;
    e.sha256 = HexEncode(crypto::Sha256::Hash(AsBytes(e.path)));
    for (std::size_t i = f * kChunks / kFiles; i < (f + 1) * kChunks / kFiles; ++i) {
      e.chunks.push_back(std::uint32_t(i));
      e.size += m.chunks[i].size;
    }
    m.files.push_back(std::move(e));
  }
  return m;
}

struct Fixture {
  format::Manifest manifest = SynthesizeManifest();
  std::string manifest_json = Must(format::SerializeManifest(manifest), "serialize manifest");
  std::string digest = "sha256:" + HexEncode(crypto::Sha256::Hash(AsBytes(manifest_json)));
  signer::PackageSubject subject{manifest.name, manifest.version, digest};
  std::string statement = Must(signer::SerializeStatement(signer::MakeReleaseStatement(subject, std::nullopt)), "statement");
};

Fixture& F() {
  static Fixture f;
  return f;
}

std::unique_ptr<signer::Signer> MakeSigner(crypto::KeyType type) {
  return signer::MakeKeySigner(Must(crypto::PrivateKey::Generate(type), "generate key"));
}

void BM_BuildStatement(benchmark::State& state) {
  Fixture& f = F();
  for (auto _ : state) {
    std::string json = Must(format::SerializeManifest(f.manifest), "serialize manifest");
    signer::PackageSubject s{f.manifest.name, f.manifest.version, "sha256:" + HexEncode(crypto::Sha256::Hash(AsBytes(json)))};
    std::string st = Must(signer::SerializeStatement(signer::MakeReleaseStatement(s, std::nullopt)), "statement");
    benchmark::DoNotOptimize(st);
  }
  state.counters["manifest_MiB"] = double(f.manifest_json.size()) / (1 << 20);
  state.counters["chunks"] = double(f.manifest.chunks.size());
}

void BM_Sign(benchmark::State& state) {
  Fixture& f = F();
  auto signer = MakeSigner(crypto::KeyType(state.range(0)));
  for (auto _ : state) {
    auto sig = Must(signer::SignDsse(*signer, signer::kInTotoPayloadType, AsBytes(f.statement)), "sign");
    signer::DsseEnvelope env{std::string(signer::kInTotoPayloadType), Bytes(f.statement.begin(), f.statement.end()), {sig}};
    benchmark::DoNotOptimize(signer::SerializeDsseEnvelope(env));
  }
  state.SetLabel(std::string(crypto::KeyTypeName(crypto::KeyType(state.range(0)))));
}

void BM_Verify(benchmark::State& state) {
  Fixture& f = F();
  auto signer = MakeSigner(crypto::KeyType(state.range(0)));
  auto sig = Must(signer::SignDsse(*signer, signer::kInTotoPayloadType, AsBytes(f.statement)), "sign");
  std::string envelope = signer::SerializeDsseEnvelope(
      {std::string(signer::kInTotoPayloadType), Bytes(f.statement.begin(), f.statement.end()), {sig}});
  const crypto::PublicKey& key = signer->public_key();
  for (auto _ : state) {
    format::Manifest m = Must(format::ParseManifest(AsBytes(f.manifest_json)), "parse manifest");
    signer::PackageSubject s{m.name, m.version, "sha256:" + HexEncode(crypto::Sha256::Hash(AsBytes(f.manifest_json)))};
    signer::DsseEnvelope env = Must(signer::ParseDsseEnvelope(AsBytes(envelope)), "parse envelope");
    signer::Statement st = Must(signer::ParseStatement(env.payload), "parse statement");
    if (!signer::CheckSubject(st, s).ok() || !signer::VerifyDsseSignature(env, env.signatures[0], key).ok()) {
      state.SkipWithError("verification failed");
      return;
    }
  }
  state.SetLabel(std::string(crypto::KeyTypeName(crypto::KeyType(state.range(0)))));
}

void BM_Baseline_Sha256(benchmark::State& state) {
  Fixture& f = F();
  for (auto _ : state) benchmark::DoNotOptimize(crypto::Sha256::Hash(AsBytes(f.manifest_json)));
}

void BM_Baseline_JsonParse(benchmark::State& state) {
  Fixture& f = F();
  for (auto _ : state) benchmark::DoNotOptimize(Json::parse(f.manifest_json));
}

// Not a baseline: the checked parser (duplicate keys, depth) ParseManifest
// runs first, timed alone to show where Verify's time goes.
void BM_ArcaParseJson(benchmark::State& state) {
  Fixture& f = F();
  JsonLimits limits;
  limits.max_bytes = 64 << 20;
  for (auto _ : state) benchmark::DoNotOptimize(Must(ParseJson(f.manifest_json, "manifest", limits), "parse"));
}

const auto kEd = std::int64_t(crypto::KeyType::kEd25519);
const auto kP256 = std::int64_t(crypto::KeyType::kEcdsaP256Sha256);

BENCHMARK(BM_BuildStatement)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Sign)->Arg(kEd)->Arg(kP256)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Verify)->Arg(kEd)->Arg(kP256)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Baseline_Sha256)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Baseline_JsonParse)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ArcaParseJson)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
