#include "runtime/serve.h"

#include <chrono>
#include <thread>

#include <httplib.h>

#include "attest/release_protocol.h"
#include "base/file_system.h"
#include "format/package.h"
#include "runtime/attested_endpoint.h"
#include "runtime/engine.h"
#include "runtime/forwarder.h"
#include "runtime/key_client.h"
#include "runtime/protected_memory.h"

namespace arca::runtime {

std::string StoreRefFor(const std::string& reference) {
  // A first component with '.' or ':' or equal to "localhost" is a registry
  // host (the Docker reference convention).
  auto slash = reference.find('/');
  if (slash == std::string::npos) return reference;
  std::string first = reference.substr(0, slash);
  if (first.find('.') != std::string::npos || first.find(':') != std::string::npos || first == "localhost") {
    return reference.substr(slash + 1);
  }
  return reference;
}

Status Serve(const ServeOptions& o, const std::function<bool()>& stop) {
  auto log = [&](const std::string& m) {
    if (o.log) o.log(m);
  };
  ARCA_RETURN_IF_ERROR(HardenProcess());
  ARCA_ASSIGN_OR_RETURN(EngineCommand command, ParseEngineCommand(o.engine));

  // 1. The version, from the local store (pulled and verified by arca pull).
  std::string ref = StoreRefFor(o.reference);
  ARCA_ASSIGN_OR_RETURN(format::LoadedPackage pkg, format::LoadPackage(FileSystem::Default(), {o.store, ref}));
  const std::string digest = pkg.manifest_blob.digest;
  log("loading " + pkg.manifest.name + ":" + pkg.manifest.version + " (" + digest + ") from " + o.store);

  // 2. Its chunk keys, released to this attested runtime.
  KeyRequest kr;
  kr.brokers = o.brokers;
  kr.package_digest = digest;
  kr.evidence = o.evidence;
  kr.log = log;
  ARCA_ASSIGN_OR_RETURN(KeyRelease released, ObtainChunkKeys(kr));

  // 3. Decrypt and verify every chunk and file into protected memory; the
  // keys are wiped when `released` goes out of scope below.
  std::vector<ProtectedFile> files;
  {
    ProtectedMemorySink sink(ProtectedMemoryOptions{[&](const std::string& w) { log("warning: " + w); }});
    auto started = std::chrono::steady_clock::now();
    format::ChunkKeyFn keys = [&released](const format::ChunkId& id) -> Result<SecretBytes> {
      auto it = released.keys.find(id);
      if (it == released.keys.end()) return NotFoundError("the broker released no key for this chunk");
      return it->second.Clone();
    };
    ARCA_ASSIGN_OR_RETURN(format::OpenReport report, format::OpenToSink(pkg, digest, keys, sink));
    released.keys.clear();
    ARCA_ASSIGN_OR_RETURN(files, sink.Seal());
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    char line[160];
    std::snprintf(line, sizeof line, "decrypted and verified %llu files, %llu bytes in %.2f s (%.0f MB/s) into sealed memory",
                  static_cast<unsigned long long>(report.files), static_cast<unsigned long long>(report.plaintext_bytes), s,
                  s > 0 ? double(report.plaintext_bytes) / s / 1e6 : 0.0);
    log(line);
  }

  // 4. The engine, given the files as /proc/self/fd paths.
  std::vector<EngineFile> engine_files;
  for (const auto& f : files) engine_files.push_back(EngineFile{f.path(), f.fd()});
  EngineOptions eo;
  eo.model_file = o.model_file;
  eo.on_output = [&](std::string_view text) {
    if (o.log) o.log("engine: " + std::string(text.substr(0, text.size() && text.back() == '\n' ? text.size() - 1 : text.size())));
  };
  ARCA_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::Start(command, engine_files, eo));
  log("engine pid " + std::to_string(engine->pid()) + " listening on 127.0.0.1:" + std::to_string(engine->port()));

  // 5. The attested endpoint in front of it.
  ARCA_ASSIGN_OR_RETURN(TlsIdentity identity, MakeTlsIdentity());
  ForwarderOptions fo;
  fo.upstream_port = engine->port();
  fo.rate_per_s = o.rate_per_s;
  fo.burst = o.burst;
  ARCA_ASSIGN_OR_RETURN(std::unique_ptr<HttpForwarder> forwarder, HttpForwarder::Create(fo));
  httplib::SSLServer server(identity.cert.get(), identity.key.get());
  if (!server.is_valid()) return InternalError("could not set up TLS for the endpoint");
  const std::string policy_digest = released.policy_digest;
  EvidenceRequest tee = o.evidence;
  // Evidence costs a TEE round trip (a report from the firmware, a TPM
  // quote): limited per address and in total, so one client cannot keep the
  // device busy. Checked before anything is computed.
  TokenBucketLimiter evidence_per_client(kEvidenceRatePerClient, kEvidenceBurstPerClient);
  TokenBucketLimiter evidence_total(kEvidenceRateTotal, kEvidenceBurstTotal);
  server.Get(std::string(release::kEndpointEvidencePath), [&](const httplib::Request& req, httplib::Response& res) {
    auto retry = evidence_per_client.Take(req.remote_addr);
    if (!retry) retry = evidence_total.Take("");
    if (retry) {
      res.status = 429;
      res.set_header("Retry-After", std::to_string(*retry));
      res.set_content(release::ErrorJson(UnavailableError("too many evidence requests; retry after " +
                                                          std::to_string(*retry) + " s")).dump(),
                      "application/json");
      return;
    }
    auto body = EndpointEvidenceFor(identity, req.get_param_value("nonce"), digest, policy_digest, tee);
    if (!body.ok()) {
      res.status = body.status().code() == StatusCode::kInvalidArgument ? 400 : 500;
      res.set_content(release::ErrorJson(body.status()).dump(), "application/json");
      return;
    }
    res.set_content(*body, "application/json");
  });
  forwarder->Mount(server);
  if (!server.bind_to_port(o.listen_host.c_str(), o.listen_port)) {
    return UnavailableError("cannot listen on " + o.listen_host + ":" + std::to_string(o.listen_port) + " (in use?)");
  }
  std::thread loop([&] { server.listen_after_bind(); });
  log("serving " + pkg.manifest.name + ":" + pkg.manifest.version + " on https://" + o.listen_host + ":" +
      std::to_string(o.listen_port) + " (attested endpoint; verify with arca connect)");

  Status result;
  while (!stop()) {
    if (!engine->Running()) {
      result = UnavailableError("the engine exited: " + engine->OutputTail());
      break;
    }
  }
  server.stop();
  loop.join();
  forwarder.reset();  // its kept-alive upstream connections would hold the engine's shutdown for httplib's 5 s
  engine->Stop();
  log("stopped");
  return result;
}

}  // namespace arca::runtime
