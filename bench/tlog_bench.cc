// Transparency-log benchmark: appends per second into an in-memory tree,
// then inclusion and consistency proof generation latency and proof size at
// 10^3, 10^5 and 10^6 leaves (RFC 9162 proofs are O(log n)). Baseline in the
// same run: raw SHA-256 of the same leaf inputs (one-shot), the floor an
// append (one leaf hash plus on average one node hash) cannot beat.
//
//   build/bench/tlog_bench [max_leaves]   (default 1000000)
#include <chrono>
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "base/crypto.h"
#include "tlog/merkle.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

std::string Entry(std::uint64_t i) {
  // ~120 bytes, the size of a canonical JSON publish entry's digest fields.
  return "{\"kind\":\"publish\",\"name\":\"acme/med-llm\",\"seq\":" + std::to_string(i) +
         ",\"manifest\":\"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}";
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t max_leaves = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  std::vector<std::string> entries;
  entries.reserve(max_leaves);
  for (std::uint64_t i = 0; i < max_leaves; ++i) entries.push_back(Entry(i));

  std::uint8_t sink = 0;
  for (int w = 0; w < 10000; ++w) sink ^= arca::crypto::Sha256::Hash(arca::AsBytes(entries[w % max_leaves]))[0];

  arca::tlog::MemoryTree tree;
  std::printf("# tlog_bench: %llu leaves, entry %zu bytes\n", static_cast<unsigned long long>(max_leaves),
              entries.empty() ? 0 : entries[0].size());
  std::printf("%-10s %14s %14s %12s %10s %12s %10s %14s\n", "leaves", "appends/s", "sha256/s(base)", "incl_us",
              "incl_hash", "cons_us", "cons_hash", "root_us");
  std::mt19937_64 rng(1);
  std::uint64_t done = 0;
  std::uint64_t segment_start = 0;
  for (std::uint64_t target : {std::uint64_t{1000}, std::uint64_t{100000}, std::uint64_t{1000000}}) {
    if (target > max_leaves) break;
    // Baseline over the same segment: SHA-256 of each entry alone.
    auto b0 = Clock::now();
    for (std::uint64_t i = segment_start; i < target; ++i) sink ^= arca::crypto::Sha256::Hash(arca::AsBytes(entries[i]))[0];
    const double baseline_rate = (target - segment_start) / Seconds(b0, Clock::now());
    auto a0 = Clock::now();
    for (; done < target; ++done) {
      if (!tree.AppendLeaf(arca::AsBytes(entries[done])).ok()) return 1;
    }
    auto a1 = Clock::now();
    // Appends per second over this segment (from the previous size).
    const double rate = (target - segment_start) / Seconds(a0, a1);
    segment_start = target;

    const int kReps = 2000;
    for (int r = 0; r < 200; ++r) sink ^= (*arca::tlog::InclusionProof(tree, r % target, target))[0][0];  // warm up
    std::size_t incl_hashes = 0, cons_hashes = 0;
    auto p0 = Clock::now();
    for (int r = 0; r < kReps; ++r) {
      auto proof = arca::tlog::InclusionProof(tree, rng() % target, target);
      if (!proof.ok()) return 1;
      incl_hashes = std::max(incl_hashes, proof->size());
    }
    auto p1 = Clock::now();
    for (int r = 0; r < kReps; ++r) {
      auto proof = arca::tlog::ConsistencyProof(tree, 1 + rng() % target, target);
      if (!proof.ok()) return 1;
      cons_hashes = std::max(cons_hashes, proof->size());
    }
    auto p2 = Clock::now();
    for (int r = 0; r < kReps; ++r) {
      auto root = arca::tlog::TreeRoot(tree, target - rng() % (target / 2));
      if (!root.ok()) return 1;
      sink ^= (*root)[0];
    }
    auto p3 = Clock::now();
    std::printf("%-10llu %14.0f %14.0f %12.2f %10zu %12.2f %10zu %14.2f\n", static_cast<unsigned long long>(target), rate,
                baseline_rate, 1e6 * Seconds(p0, p1) / kReps, incl_hashes, 1e6 * Seconds(p1, p2) / kReps, cons_hashes,
                1e6 * Seconds(p2, p3) / kReps);
  }
  std::printf("# proof sizes are the maximum over 2000 random (index/size1) draws, in 32-byte hashes\n");
  return sink == 0xff ? 0 : 0;
}
