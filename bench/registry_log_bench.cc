// The registry's transparency log as stored (specs/registry.md §8): appends
// per second into metadata.db (one durable SQLite transaction per append, as
// a push does, and batched), then checkpoint signing and inclusion /
// consistency proof latency and size read from log_nodes at 10^3, 10^5 and
// 10^6 entries. Baseline in the same run: the same entries in
// tlog::MemoryTree (no storage), the floor the SQLite store cannot beat.
// Last, a checkpoint cosigned by a witness server on loopback, beside
// signing alone and the witness's check in process.
//
//   build/bench/registry_log_bench [max_entries] [dir]   (default 1000000, a temp dir)
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "base/crypto.h"
#include "registry-server/registry.h"
#include "registry-server/witness_server.h"
#include "tlog/witness.h"
#include "tlog/merkle.h"

namespace {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

arca::tlog::LogEntry Tag(std::uint64_t i) {
  arca::tlog::LogEntry e;
  e.kind = "tag";
  e.ns = "acme";
  e.time = 1767225600 + std::int64_t(i);
  e.repository = "acme/med-llm";
  e.tag = "v" + std::to_string(i);
  e.manifest = "sha256:" + arca::HexEncode(arca::crypto::Sha256::Hash(arca::AsBytes(std::to_string(i))));
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace arca;
  const std::uint64_t max_entries = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  std::string dir = argc > 2 ? argv[2] : "";
  if (dir.empty()) {
    char templ[] = "/tmp/arca-log-bench.XXXXXX";
    if (!mkdtemp(templ)) return 1;
    dir = templ;
  }
  auto reg = registry::Registry::Open(dir);
  if (!reg.ok()) {
    std::fprintf(stderr, "%s\n", reg.status().ToString().c_str());
    return 1;
  }
  auto& md = (*reg)->metadata();
  tlog::MemoryTree mem;
  std::mt19937_64 rng(7);

  // 1. Durable single appends (the push path: one transaction, fsync).
  const std::uint64_t singles = std::min<std::uint64_t>(1000, max_entries);
  auto t0 = Clock::now();
  for (std::uint64_t i = 0; i < singles; ++i) {
    if (!md.AppendLog(Tag(i)).ok()) return 1;
  }
  double single_s = Seconds(t0, Clock::now());
  std::printf("single appends (1 durable transaction each): %llu in %.2f s = %.0f appends/s\n",
              static_cast<unsigned long long>(singles), single_s, double(singles) / single_s);

  std::printf("%10s %14s %14s %14s | %12s %12s %7s | %12s %12s %7s | %12s\n", "entries", "sqlite app/s", "(cpu app/s)", "memory app/s",
              "incl us", "mem incl us", "hashes", "cons us", "mem cons us", "hashes", "checkpoint us");
  std::uint64_t size = singles;
  for (std::uint64_t i = 0; i < singles; ++i) (void)mem.AppendLeaf(AsBytes(tlog::EncodeLogEntry(Tag(i)).value()));
  for (std::uint64_t target : {std::uint64_t(1000), std::uint64_t(100000), std::uint64_t(1000000)}) {
    if (target > max_entries) break;
    // 2. Batched appends (1000 per transaction) up to the target.
    double sql_s = 0, mem_s = 0, sql_cpu_s = 0;
    std::uint64_t added = 0;
    while (size < target) {
      std::vector<tlog::LogEntry> batch;
      std::vector<std::string> bytes;
      for (std::uint64_t i = size; i < std::min(target, size + 1000); ++i) {
        batch.push_back(Tag(i));
        bytes.push_back(tlog::EncodeLogEntry(batch.back()).value());
      }
      auto a = Clock::now();
      std::clock_t cpu0 = std::clock();
      if (!md.AppendLogs(batch).ok()) return 1;
      sql_cpu_s += double(std::clock() - cpu0) / CLOCKS_PER_SEC;
      auto b = Clock::now();
      for (const auto& x : bytes) (void)mem.AppendLeaf(AsBytes(x));
      auto c = Clock::now();
      sql_s += Seconds(a, b);
      mem_s += Seconds(b, c);
      size += batch.size();
      added += batch.size();
    }
    // 3. Proofs at this size, from log_nodes and from memory.
    const int n = 1000;
    std::size_t incl_hashes = 0, cons_hashes = 0;
    double incl = 0, mem_incl = 0, cons = 0, mem_cons = 0;
    for (int k = 0; k < n; ++k) {
      std::uint64_t idx = rng() % size;
      std::uint64_t old = 1 + rng() % size;
      auto a = Clock::now();
      auto p = tlog::InclusionProof(md.LogHashes(), idx, size);
      auto b = Clock::now();
      auto q = tlog::InclusionProof(mem, idx, size);
      auto c = Clock::now();
      auto r = tlog::ConsistencyProof(md.LogHashes(), old, size);
      auto d = Clock::now();
      auto s = tlog::ConsistencyProof(mem, old, size);
      auto e = Clock::now();
      if (!p.ok() || !q.ok() || *p != *q || !r.ok() || !s.ok() || *r != *s) {
        std::fprintf(stderr, "proofs differ at size %llu\n", static_cast<unsigned long long>(size));
        return 1;
      }
      incl += Seconds(a, b);
      mem_incl += Seconds(b, c);
      cons += Seconds(c, d);
      mem_cons += Seconds(d, e);
      incl_hashes = std::max(incl_hashes, p->size());
      cons_hashes = std::max(cons_hashes, r->size());
    }
    auto a = Clock::now();
    const int heads = 200;
    for (int k = 0; k < heads; ++k) {
      auto h = (*reg)->SignCheckpoint(1767225600);
      if (!h.ok() || h->checkpoint.root != mem.Root()) return 1;
    }
    double head_us = Seconds(a, Clock::now()) / heads * 1e6;
    std::printf("%10llu %14.0f %14.0f %14.0f | %12.1f %12.2f %7zu | %12.1f %12.2f %7zu | %12.1f\n",
                static_cast<unsigned long long>(size), added ? double(added) / sql_s : 0.0,
                added && sql_cpu_s > 0 ? double(added) / sql_cpu_s : 0.0,
                added ? double(added) / mem_s : 0.0, incl / n * 1e6, mem_incl / n * 1e6, incl_hashes, cons / n * 1e6,
                mem_cons / n * 1e6, cons_hashes, head_us);
  }
  // 4. A checkpoint cosigned by a witness (specs/log.md §4.1): append one
  // entry, then CurrentHead signs and obtains the cosignature of a witness
  // server on loopback (HTTP, consistency proof, the witness's durable
  // SQLite write). Baseline in the same run: signing alone, and the
  // witness's check-and-cosign in process with no storage.
  {
    auto wstate = registry::SqliteWitnessState::Open(dir + "/witness");
    auto wkey = registry::LoadOrCreateWitnessKey(dir + "/witness", "bench.example/witness");
    if (!wstate.ok() || !wkey.ok()) return 1;
    const tlog::NoteVerifier wv = wkey->verifier();
    tlog::Witness witness(std::move(*wkey), {(*reg)->log_key().verifier()}, **wstate);
    registry::WitnessServeOptions wo;
    wo.port = 0;
    wo.log_requests = false;
    auto server = registry::WitnessServer::Create(witness, **wstate, wo);
    if (!server.ok() || !(*server)->Start().ok()) return 1;
    (*reg)->ConfigureWitnesses({registry::WitnessEndpoint{"http://127.0.0.1:" + std::to_string((*server)->port()), wv}}, 300);
    tlog::CheckpointPolicy need{(*reg)->log_key().verifier().name(), {(*reg)->log_key().verifier()}, {wv}, 1};
    const int rounds = 200;
    double cosigned_s = 0, sign_s = 0, inproc_s = 0;
    tlog::MemoryWitnessState mstate;
    tlog::NoteSigner mkey = tlog::NoteSigner::Generate("bench.example/m", tlog::NoteSignatureType::kCosignatureV1).value();
    tlog::Witness inproc(std::move(mkey), {(*reg)->log_key().verifier()}, mstate);
    std::uint64_t prev = 0;
    for (int k = 0; k < rounds; ++k) {
      if (!md.AppendLog(Tag(size++)).ok()) return 1;
      auto a = Clock::now();
      auto h = (*reg)->CurrentHead(1767225600 + k);
      auto b = Clock::now();
      if (!h.ok() || !tlog::OpenCheckpoint(h->note, need).ok()) {
        std::fprintf(stderr, "not cosigned: %s\n", h.ok() ? "missing cosignature" : h.status().ToString().c_str());
        return 1;
      }
      auto signed_only = (*reg)->SignCheckpoint(1767225600 + k);
      auto c = Clock::now();
      tlog::AddCheckpointRequest req{prev, {}, signed_only->note};
      if (prev > 0) req.proof = tlog::ConsistencyProof(md.LogHashes(), prev, size).value();
      auto body = tlog::SerializeAddCheckpointRequest(req).value();
      auto d = Clock::now();
      if (inproc.AddCheckpoint(body, 1767225600 + k).http_status != 200) return 1;
      auto e = Clock::now();
      prev = size;
      cosigned_s += Seconds(a, b);
      sign_s += Seconds(b, c);
      inproc_s += Seconds(d, e);
    }
    std::printf("cosigned checkpoint (sign + witness over HTTP + its fsync): %.2f ms; signing alone %.3f ms; "
                "witness check-and-cosign in process %.3f ms (means of %d, tree of %llu)\n",
                cosigned_s / rounds * 1e3, sign_s / rounds * 1e3, inproc_s / rounds * 1e3, rounds,
                static_cast<unsigned long long>(size));
    (*server)->Stop();
  }
  std::uintmax_t db = std::filesystem::file_size(dir + "/metadata.db");
  std::printf("metadata.db: %.1f MiB for %llu entries (%s)\n", double(db) / (1 << 20), static_cast<unsigned long long>(size),
              dir.c_str());
  if (argc <= 2) std::filesystem::remove_all(dir);
  return 0;
}
