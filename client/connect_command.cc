// `arca connect URL --policy POLICY PATH`: verify an arca-runtime endpoint's
// evidence against the lab's policy, then send one request only to the TLS
// key that evidence binds (specs/key-release.md §7).
#include "client/connect_command.h"

#include <curl/curl.h>

#include <cstdio>
#include <iostream>
#include <memory>

#include "attest/binding.h"
#include "attest/policy.h"
#include "attest/release_protocol.h"
#include "base/crypto.h"
#include "base/curl_util.h"
#include "base/file_system.h"
#include "base/time.h"
#include "client/attest_commands.h"
#include "client/output.h"
#include "signer/dsse.h"
#include "signer/package_signing.h"

namespace arca::client {
namespace {

constexpr std::size_t kMaxResponseBytes = 64 << 20;

struct ConnectOptions {
  std::string url;
  std::string path = "/";
  std::string policy;
  std::string method;
  std::string data;
  std::vector<std::string> headers;
  EvidenceFlags evidence;
  bool json = false;
  bool verbose = false;
};

struct HttpReply {
  long status = 0;
  std::string body;
};

std::size_t Collect(char* p, std::size_t size, std::size_t n, void* out) {
  auto* s = static_cast<std::string*>(out);
  if (s->size() + size * n > kMaxResponseBytes) return 0;  // abort: too large
  s->append(p, size * n);
  return size * n;
}

// Fetch makes one HTTPS request. With `pin` (a SPKI DER), the TLS handshake
// fails unless the server's key is exactly that one (libcurl's
// CURLOPT_PINNEDPUBLICKEY); no CA is involved either way: the runtime's
// certificate is self-signed and its key is vouched for by evidence.
Result<HttpReply> Fetch(const std::string& url, const std::string& method, const std::string& body,
                        const std::vector<std::string>& headers, const Bytes* pin) {
  CurlEasyPtr curl(curl_easy_init());
  if (!curl) return InternalError("curl_easy_init failed");
  HttpReply reply;
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  std::string pinned;
  if (pin) {
    pinned = "sha256//" + Base64Encode(crypto::Sha256::Hash(*pin));
    curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, pinned.c_str());
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 300L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (!method.empty()) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (!body.empty()) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.size()));
  }
  CurlSlistPtr list;
  for (const auto& h : headers) list.reset(curl_slist_append(list.release(), h.c_str()));
  if (list) curl_easy_setopt(c, CURLOPT_HTTPHEADER, list.get());
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH) {
    return UnauthenticatedError(url + ": the server's TLS key is not the key its evidence binds (a relay or another server)");
  }
  if (rc != CURLE_OK) return UnavailableError(url + ": " + curl_easy_strerror(rc));
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

Result<signer::Policy> LoadPolicy(const std::string& path) {
  ARCA_ASSIGN_OR_RETURN(Bytes b, ReadFileBounded(FileSystem::Default(), path, 1 << 20));
  auto env = signer::ParseDsseEnvelope(b);
  if (!env.ok()) return env.status().WithContext(path);
  auto p = signer::DecodePolicyEnvelope(*env);
  if (!p.ok()) return p.status().WithContext(path);
  return p;
}

int Connect(const ConnectOptions& o) {
  auto policy = LoadPolicy(o.policy);
  if (!policy.ok()) return ReportError(policy.status(), o.json);
  std::string base = o.url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (base.rfind("https://", 0) != 0) {
    return ReportError(InvalidArgumentError("URL must be https://HOST:PORT (the runtime's attested endpoint)"), o.json);
  }

  // 1. Fresh evidence for our nonce.
  Bytes nonce(32);
  crypto::RandomBytes(nonce);
  auto ev = Fetch(base + std::string(release::kEndpointEvidencePath) + "?nonce=" + HexEncode(nonce), "", "", {}, nullptr);
  if (!ev.ok()) return ReportError(ev.status(), o.json);
  if (ev->status != 200) {
    return ReportError(UnavailableError(base + ": evidence request answered HTTP " + std::to_string(ev->status) + ": " +
                                        ev->body.substr(0, 200)),
                       o.json);
  }
  auto doc = release::ParseEndpointEvidence(ev->body);
  if (!doc.ok()) return ReportError(doc.status(), o.json);

  // 2. Judge it: authentic, bound to our nonce and the key we will pin, for
  // the package the policy governs, and allowed by the policy.
  auto verdict = JudgeEvidence(doc->evidence, "the endpoint's evidence", o.evidence);
  if (!verdict.ok()) return ReportError(verdict.status(), o.json);
  UnixSeconds now = NowUnixSeconds();
  attest::PolicyDecision d = attest::EvaluatePolicy(*policy, *verdict, now);
  if (verdict->ok()) {
    Status bind = attest::CheckEvidenceBinding(verdict->claims, {nonce, doc->tls_spki, doc->package_digest, doc->policy_digest});
    d.clauses.insert(d.clauses.begin() + 1, attest::Clause{"binding", bind.ok(), "report data binding our nonce, the TLS key, "
                                                           "package and policy", bind.ok() ? "bound" : bind.message()});
  }
  bool same_package = doc->package_digest == policy->subject.manifest_digest;
  d.clauses.push_back(attest::Clause{"package", same_package, "the package the policy governs " +
                                     policy->subject.manifest_digest.substr(0, 19) + "…",
                                     "the endpoint serves " + doc->package_digest.substr(0, 19) + "…"});
  if (o.verbose || !d.allowed()) {
    for (const auto& c : d.clauses) {
      std::fprintf(stderr, "  [%s] %-11s expected %s; got %s\n", c.passed ? "ok" : "FAIL", c.name.c_str(),
                   c.expected.c_str(), c.actual.c_str());
    }
  }
  if (!d.allowed()) {
    return ReportError(d.status().WithContext("refusing to send the request to " + base), o.json);
  }
  std::fprintf(stderr, "arca: %s is an attested %s runtime (measurement %s…) serving %s:%s; sending the request\n",
               base.c_str(), attest::PolicyPlatform(verdict->claims).c_str(),
               attest::ClaimedMeasurement(verdict->claims).substr(0, 16).c_str(), policy->subject.name.c_str(),
               policy->subject.version.c_str());

  // 3. The request, pinned to the attested key.
  std::string path = o.path.empty() || o.path[0] != '/' ? "/" + o.path : o.path;
  auto reply = Fetch(base + path, o.method, o.data, o.headers, &doc->tls_spki);
  if (!reply.ok()) return ReportError(reply.status(), o.json);
  if (o.json) {
    PrintJson({{"status", reply->status}, {"body", reply->body}, {"verdict", d.ToJson()}});
  } else {
    std::fwrite(reply->body.data(), 1, reply->body.size(), stdout);
    if (!reply->body.empty() && reply->body.back() != '\n') std::fputc('\n', stdout);
  }
  if (reply->status >= 200 && reply->status < 300) return 0;
  std::fprintf(stderr, "arca: the engine answered HTTP %ld\n", reply->status);
  return reply->status == 429 ? ExitCodeFor(StatusCode::kResourceExhausted)
         : reply->status >= 500 ? ExitCodeFor(StatusCode::kUnavailable)
                                : ExitCodeFor(StatusCode::kFailedPrecondition);
}

}  // namespace

void AddConnectCommand(CLI::App& app, Command* run) {
  auto o = std::make_shared<ConnectOptions>();
  auto* c = app.add_subcommand("connect", "Verify an arca-runtime endpoint's evidence against a policy, then send it one "
                                          "request over the TLS key the evidence binds");
  c->add_option("url", o->url, "The runtime's endpoint, https://HOST:PORT")->required();
  c->add_option("path", o->path, "Request path (default /)");
  c->add_option("--policy", o->policy, "The lab's signed release policy the runtime must satisfy")->required();
  c->add_option("-X,--request", o->method, "HTTP method (default GET, or POST with --data)");
  c->add_option("-d,--data", o->data, "Request body");
  c->add_option("-H,--header", o->headers, "Extra header 'Name: value' (repeatable)");
  AddEvidenceFlags(c, &o->evidence, /*sim=*/true);
  c->add_flag("-v,--verbose", o->verbose, "Print every policy clause");
  c->add_flag("--json", o->json, "Print {status, body, verdict} as JSON");
  c->callback([run, o] { *run = [o] { return Connect(*o); }; });
}

}  // namespace arca::client
