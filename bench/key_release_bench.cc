// key_release_bench BROKER_URL PKG [N]: key release round trips against a
// running arca-keybroker (specs/key-release.md §3), on simulated SEV-SNP
// evidence, for the version in package directory PKG. Started by
// bench/runtime_bench.sh, which registers PKG and runs the broker.
//
// Each of the N iterations times, in this order:
//   round trip  runtime::ObtainChunkKeys, the runtime's own code path (new
//               connection, challenge, evidence, release, HPKE open);
//   the same exchange again, phase by phase, each phase timed alone:
//     challenge  POST /v1/challenge on a new connection
//     evidence   X25519 key pair + binding + CollectEvidence + bundle JSON;
//                timed alone too: runtime::SimMeasurement, the SHA-384 of
//                the executable the simulated TEE reports (on hardware the
//                firmware reports the launch measurement instead)
//     release    POST /v1/release (the broker's whole judgement: nonce,
//                evidence verification, binding, policy, release log in
//                SQLite, HPKE seal; plus loopback and JSON both ways)
//     open       parse the response and HPKE-open the chunk keys
//   baseline    GET /healthz on a new connection (the loopback HTTP floor
//               of one request; an exchange makes two).
// Prints p50 / p99 / max in milliseconds for each row, and the client's CPU
// time of the round trip (steadier than wall time on a shared machine).
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <httplib.h>

#include "attest/binding.h"
#include "attest/release_protocol.h"
#include "base/file_system.h"
#include "base/hpke.h"
#include "base/time.h"
#include "format/package.h"
#include "runtime/evidence.h"
#include "runtime/key_client.h"

namespace {

using Clock = std::chrono::steady_clock;
double Ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }
// ThreadCpuMs is this thread's CPU time (the client makes no threads).
double ThreadCpuMs() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

struct Row {
  const char* name;
  std::vector<double> ms;
};

double Quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  // Nearest rank: the smallest value with at least q of the samples at or below it.
  std::size_t rank = std::size_t(q * double(v.size()) + 0.999999);
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

[[noreturn]] void Die(const std::string& what, const arca::Status& s) {
  std::fprintf(stderr, "key_release_bench: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: key_release_bench BROKER_URL PKG [N]\n");
    return 2;
  }
  using namespace arca;
  const std::string broker = argv[1];
  const int n = argc > 3 ? std::atoi(argv[3]) : 200;
  auto pkg = format::LoadPackage(FileSystem::Default(), format::PackageRef{argv[2], ""});
  if (!pkg.ok()) Die(argv[2], pkg.status());
  const std::string digest = pkg->manifest_blob.digest;

  Row total{"round trip (ObtainChunkKeys)", {}}, total_cpu{"  its client CPU time", {}}, challenge{"  challenge (HTTP)", {}}, evidence{"  evidence collection", {}},
      sim_measure{"    of which SHA-384 of the exe (sim)", {}}, release{"  release (HTTP, broker side)", {}}, open{"  HPKE open + parse", {}}, healthz{"baseline: GET /healthz", {}};
  std::size_t keys_released = 0;
  runtime::KeyRequest kr;
  kr.brokers = {broker};
  kr.package_digest = digest;
  kr.evidence.tee = runtime::Tee::kSimSnp;
  kr.rounds = 1;

  for (int i = 0; i < n; ++i) {
    // The runtime's own path, end to end.
    const double cpu0 = ThreadCpuMs();
    auto t0 = Clock::now();
    auto keys = runtime::ObtainChunkKeys(kr);
    auto t1 = Clock::now();
    total_cpu.ms.push_back(ThreadCpuMs() - cpu0);
    if (!keys.ok()) Die("ObtainChunkKeys", keys.status());
    total.ms.push_back(Ms(t0, t1));
    keys_released = keys->keys.size();

    // The same exchange, phase by phase.
    httplib::Client cli(broker);
    auto c0 = Clock::now();
    auto res = cli.Post("/v1/challenge", release::SerializeChallengeRequest({digest}), "application/json");
    if (!res || res->status != 200) Die("challenge", UnavailableError("no answer or HTTP error"));
    auto ch = release::ParseChallenge(res->body);
    auto c1 = Clock::now();
    if (!ch.ok()) Die("challenge", ch.status());

    auto kp = crypto::X25519GenerateKeyPair();
    if (!kp.ok()) Die("x25519", kp.status());
    auto binding = attest::ComputeEvidenceBinding({ch->nonce, kp->public_key, digest, ch->policy_digest});
    if (!binding.ok()) Die("binding", binding.status());
    runtime::EvidenceRequest ev;
    ev.tee = runtime::Tee::kSimSnp;
    ev.report_data = *binding;
    ev.now = NowUnixSeconds();
    auto bundle = runtime::CollectEvidence(ev);
    if (!bundle.ok()) Die("evidence", bundle.status());
    auto bundle_json = attest::SerializeBundle(*bundle);
    if (!bundle_json.ok()) Die("bundle", bundle_json.status());
    auto c2 = Clock::now();

    release::ReleaseRequest rr;
    rr.package_digest = digest;
    rr.nonce = ch->nonce;
    rr.public_key = kp->public_key;
    rr.evidence = std::move(*bundle_json);
    const std::string body = release::SerializeReleaseRequest(rr);
    auto c3 = Clock::now();
    res = cli.Post("/v1/release", body, "application/json");
    auto c4 = Clock::now();
    if (!res || res->status != 200) {
      Die("release", UnavailableError(res ? "HTTP " + std::to_string(res->status) + " " + res->body : "no answer"));
    }
    auto response = release::ParseReleaseResponse(res->body);
    if (!response.ok()) Die("release response", response.status());
    auto opened = release::OpenChunkKeys(*response, kp->private_key, ch->nonce, digest, ch->policy_digest);
    auto c5 = Clock::now();
    if (!opened.ok()) Die("open", opened.status());
    if (opened->size() != keys_released) Die("open", InternalError("the two exchanges released different key counts"));
    challenge.ms.push_back(Ms(c0, c1));
    evidence.ms.push_back(Ms(c1, c2));
    release.ms.push_back(Ms(c3, c4));
    open.ms.push_back(Ms(c4, c5));

    // The simulated TEE's share of evidence collection: hashing the
    // executable for its measurement (real SNP hardware reports its own).
    auto m0 = Clock::now();
    auto measured = runtime::SimMeasurement();
    auto m1 = Clock::now();
    if (!measured.ok()) Die("measurement", measured.status());
    sim_measure.ms.push_back(Ms(m0, m1));

    // The floor: one HTTP request on a new loopback connection.
    httplib::Client hc(broker);
    auto h0 = Clock::now();
    auto hr = hc.Get("/healthz");
    auto h1 = Clock::now();
    if (!hr || hr->status != 200) Die("healthz", UnavailableError("no answer"));
    healthz.ms.push_back(Ms(h0, h1));
  }

  std::printf("key release: %d exchanges, %zu chunk keys each, package %s\n", n, keys_released, digest.c_str());
  std::printf("%-38s %9s %9s %9s\n", "ms", "p50", "p99", "max");
  for (const Row* r : {&total, &total_cpu, &challenge, &evidence, &sim_measure, &release, &open, &healthz}) {
    std::printf("%-38s %9.2f %9.2f %9.2f\n", r->name, Quantile(r->ms, 0.5), Quantile(r->ms, 0.99),
                *std::max_element(r->ms.begin(), r->ms.end()));
  }
  return 0;
}
