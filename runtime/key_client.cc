#include "runtime/key_client.h"

#include <chrono>
#include <thread>

#include <httplib.h>

#include "attest/binding.h"
#include "base/hpke.h"
#include "base/json.h"
#include "base/time.h"

namespace arca::runtime {
namespace {

// Attempt is one exchange with one broker. `retry` says whether another
// broker or a later round may succeed (unreachable, busy, policy changed).
struct Attempt {
  Result<KeyRelease> keys = UnavailableError("not tried");
  bool retry = false;
};

Status RefusalStatus(const httplib::Result& res, const std::string& broker) {
  std::string message = "HTTP " + std::to_string(res->status);
  StatusCode code = release::StatusCodeForHttp(res->status);
  auto body = ParseJson(res->body, "broker refusal", JsonLimits{1 << 20, 8});
  if (body.ok() && body->is_object() && body->contains("error") && (*body)["error"].is_object()) {
    const Json& e = (*body)["error"];
    if (e.contains("message") && e["message"].is_string()) message = e["message"].get<std::string>();
  }
  return Status(code, "key broker " + broker + " refused: " + message);
}

Attempt TryBroker(const std::string& broker, const KeyRequest& req) {
  Attempt a;
  httplib::Client cli(broker);
  if (!cli.is_valid()) {
    a.keys = InvalidArgumentError("--broker " + broker + ": not an http:// or https:// URL");
    return a;
  }
  cli.set_connection_timeout(5, 0);
  cli.set_read_timeout(60, 0);
  cli.set_write_timeout(60, 0);
  auto res = cli.Post("/v1/challenge", release::SerializeChallengeRequest({req.package_digest}), "application/json");
  if (!res) {
    a.keys = UnavailableError("key broker " + broker + " unreachable (" + httplib::to_string(res.error()) + ")");
    a.retry = true;
    return a;
  }
  if (res->status != 200) {
    a.keys = RefusalStatus(res, broker);
    a.retry = res->status >= 500 || res->status == 429;
    return a;
  }
  auto challenge = release::ParseChallenge(res->body);
  if (!challenge.ok()) {
    a.keys = challenge.status().WithContext("key broker " + broker);
    return a;
  }
  auto kp = crypto::X25519GenerateKeyPair();
  if (!kp.ok()) {
    a.keys = kp.status();
    return a;
  }
  auto binding = attest::ComputeEvidenceBinding(
      {challenge->nonce, kp->public_key, req.package_digest, challenge->policy_digest});
  if (!binding.ok()) {
    a.keys = binding.status();
    return a;
  }
  EvidenceRequest ev = req.evidence;
  ev.report_data = *binding;
  if (ev.now == 0) ev.now = NowUnixSeconds();
  auto bundle = CollectEvidence(ev);
  if (!bundle.ok()) {
    a.keys = bundle.status().WithContext("collecting evidence");
    return a;
  }
  auto bundle_json = attest::SerializeBundle(*bundle);
  if (!bundle_json.ok()) {
    a.keys = bundle_json.status();
    return a;
  }
  release::ReleaseRequest rr;
  rr.package_digest = req.package_digest;
  rr.nonce = challenge->nonce;
  rr.public_key = kp->public_key;
  rr.evidence = std::move(*bundle_json);
  res = cli.Post("/v1/release", release::SerializeReleaseRequest(rr), "application/json");
  if (!res) {
    a.keys = UnavailableError("key broker " + broker + " unreachable (" + httplib::to_string(res.error()) + ")");
    a.retry = true;
    return a;
  }
  if (res->status != 200) {
    a.keys = RefusalStatus(res, broker);
    a.retry = res->status >= 500 || res->status == 429 || res->status == 409;
    return a;
  }
  auto response = release::ParseReleaseResponse(res->body);
  if (!response.ok()) {
    a.keys = response.status().WithContext("key broker " + broker);
    return a;
  }
  auto keys = release::OpenChunkKeys(*response, kp->private_key, challenge->nonce, req.package_digest,
                                     challenge->policy_digest);
  if (!keys.ok()) {
    a.keys = keys.status();
    return a;
  }
  a.keys = KeyRelease{std::move(*keys), response->policy_digest, response->release_id};
  if (req.log) {
    req.log("key broker " + broker + " released " + std::to_string(a.keys->keys.size()) + " chunk keys (release " +
            std::to_string(response->release_id) + ", policy version " + std::to_string(challenge->policy_version) + ")");
  }
  return a;
}

}  // namespace

Result<KeyRelease> ObtainChunkKeys(const KeyRequest& req) {
  if (req.brokers.empty()) return InvalidArgumentError("no --broker URL given");
  int backoff = req.first_backoff_ms;
  Status last = UnavailableError("no key broker answered");
  for (int round = 0; round < std::max(1, req.rounds); ++round) {
    for (const auto& broker : req.brokers) {
      Attempt a = TryBroker(broker, req);
      if (a.keys.ok()) return std::move(a.keys);
      last = a.keys.status();
      if (!a.retry) return last;
      if (req.log) req.log(last.message() + "; trying " + (req.brokers.size() > 1 ? "the next broker" : "again"));
    }
    if (round + 1 < req.rounds) {
      if (req.log) req.log("no key broker released keys; retrying in " + std::to_string(backoff) + " ms");
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff));
      backoff *= 2;
    }
  }
  return last;
}

}  // namespace arca::runtime
