// arca-keybroker: serve key releases, register sealed versions, list the
// release log. Admin commands take the same --data as serve and work while
// it runs (SQLite WAL).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "attest/sim.h"
#include "base/file_system.h"
#include "base/json.h"
#include "base/listen_address.h"
#include "base/stop_signals.h"
#include "base/time.h"
#include "format/lineage_key.h"
#include "registry-server/keybroker.h"
#include "signer/pkcs11_aes.h"
#include "signer/root.h"

namespace arca::keybroker {
namespace {

int Fail(const Status& s, bool json) {
  std::fprintf(stderr, "arca-keybroker: %s\n", s.ToString().c_str());
  if (json) std::cout << release::ErrorJson(s).dump(2) << "\n";
  return ExitCodeFor(s.code());
}

Result<JudgeOptions> MakeJudge(bool allow_sim, const std::string& roots_dir, const std::string& tpm_ak) {
  JudgeOptions j;
  if (!roots_dir.empty()) {
    ARCA_ASSIGN_OR_RETURN(j.roots, attest::RootStore::FromDirectory(roots_dir));
  } else {
    ARCA_ASSIGN_OR_RETURN(j.roots, attest::RootStore::Pinned());
  }
  if (allow_sim) {
    ARCA_ASSIGN_OR_RETURN(attest::RootStore sim, attest::SimRootStore());
    j.roots = attest::RootStore::Union(j.roots, sim);
  }
  if (!tpm_ak.empty()) {
    ARCA_ASSIGN_OR_RETURN(Bytes pem, ReadFileBounded(FileSystem::Default(), tpm_ak, 64 << 10));
    ARCA_ASSIGN_OR_RETURN(Bytes der, attest::PublicKeyToSpkiDer(pem));
    j.tpm_ak_spki = std::move(der);
  }
  return j;
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"arca-keybroker: the lab's key broker; releases a version's chunk keys only to attested runtimes its "
               "signed policy allows"};
  app.name("arca-keybroker");
  app.set_version_flag("--version", "arca-keybroker 0.1.0");
  app.require_subcommand(1);
  app.footer("Exit codes: 0 ok, 1 internal, 2 invalid argument, 3 not found, 4 already exists, 5 unauthenticated,\n"
             "6 permission denied, 7 failed precondition, 8 corruption, 9 resource limit, 10 unavailable.");
  std::string data, listen = "127.0.0.1:8710", roots_dir, tpm_ak, package, lineage_key, root_path, master_key, registry,
      registry_token_file;
  const char* kMasterKeyHelp =
      "Wrap lineage keys with the AES-256 key on a PKCS#11 token named by this RFC 7512 URI "
      "(pkcs11:token=…;object=…?pin-source=file:/PATH) instead of DIR/master.key";
  std::size_t threads = 16, limit = 50;
  bool allow_sim = false, quiet = false, json = false;

  auto* serve = app.add_subcommand("serve", "Serve key releases (POST /v1/challenge, /v1/release)");
  serve->add_option("--data", data, "Data directory (keybroker.db, master.key); created if missing")->required();
  serve->add_option("--listen", listen, "HOST:PORT to listen on (default 127.0.0.1:8710)");
  serve->add_flag("--allow-sim", allow_sim,
                  "Also accept evidence from the simulated TEE (its test roots): development and tests only");
  serve->add_option("--roots", roots_dir, "Use the vendor roots in DIR instead of the pinned AMD/Intel roots");
  serve->add_option("--tpm-ak", tpm_ak, "Trust this TPM attestation key (PEM) for bare TPM quotes");
  serve->add_option("--registry", registry, "Report every release to this registry's transparency log first (http(s)://HOST:PORT); "
                                            "a release the log does not record is not made");
  serve->add_option("--registry-token-file", registry_token_file, "File holding a push-scoped registry token for --registry");
  serve->add_option("--threads", threads, "Worker threads (default 16)");
  serve->add_flag("--quiet", quiet, "Do not log one line per request");
  serve->add_option("--master-key", master_key, kMasterKeyHelp);

  auto* reg = app.add_subcommand("register", "Record a sealed version so its keys can be released under its policy");
  reg->add_option("package", package, "Sealed package directory (DIR or DIR:REF), signed, with a policy attached")->required();
  reg->add_option("--lineage-key", lineage_key, "The lineage key file the package was sealed with")->required();
  reg->add_option("--root", root_path, "The namespace root the package's signatures and policy verify against")->required();
  reg->add_option("--data", data, "Data directory")->required();
  reg->add_option("--master-key", master_key, kMasterKeyHelp);
  reg->add_flag("--json", json, "JSON output");

  auto* rel = app.add_subcommand("releases", "List recorded releases and refusals, newest first");
  rel->add_option("--data", data, "Data directory")->required();
  rel->add_option("--limit", limit, "At most this many (default 50)");
  rel->add_option("--master-key", master_key, kMasterKeyHelp);
  rel->add_flag("--json", json, "JSON output");

  auto* mk = app.add_subcommand("master-key", "Generate the broker's AES-256 master key on a PKCS#11 token "
                                               "(sensitive, never extractable), for --master-key");
  mk->add_option("uri", master_key, "pkcs11:token=…;object=LABEL[;id=…]?pin-source=file:/PATH")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (mk->parsed()) {
    if (Status s = signer::CreatePkcs11AesKey(master_key); !s.ok()) return Fail(s, false);
    std::printf("generated an AES-256 master key on the token; start the broker with --master-key and the same URI\n");
    return 0;
  }
  auto broker = KeyBroker::Open(data, master_key);
  if (!broker.ok()) return Fail(broker.status(), json);

  if (serve->parsed()) {
    auto hp = ParseListenAddress(listen);
    if (!hp.ok()) return Fail(hp.status(), false);
    auto judge = MakeJudge(allow_sim, roots_dir, tpm_ak);
    if (!judge.ok()) return Fail(judge.status(), false);
    ServeOptions o;
    o.host = hp->host;
    o.port = hp->port;
    o.threads = threads;
    o.log_requests = !quiet;
    o.judge = std::move(*judge);
    if (!registry.empty()) {
      if (registry_token_file.empty()) return Fail(InvalidArgumentError("--registry needs --registry-token-file"), false);
      auto token = ReadFileBounded(FileSystem::Default(), registry_token_file, 4096);
      if (!token.ok()) return Fail(token.status().WithContext("--registry-token-file"), false);
      std::string t(token->begin(), token->end());
      while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
      o.judge.report = RegistryReporter(registry, t);
    }
    auto server = Server::Create(**broker, std::move(o));
    if (!server.ok()) return Fail(server.status(), false);
    const StopSignals stop_signals;  // before the server's threads start
    if (auto s = (*server)->Start(); !s.ok()) return Fail(s, false);
    std::fprintf(stderr, "arca-keybroker: serving %s on http://%s:%d%s\n", data.c_str(), hp->host.c_str(),
                 (*server)->port(), allow_sim ? " (accepting SIMULATED evidence: --allow-sim)" : "");
    std::fprintf(stderr, "arca-keybroker: %s, stopping\n", StopSignals::Describe(stop_signals.Wait()));
    (*server)->Stop();
    return 0;
  }

  if (reg->parsed()) {
    auto& fs = FileSystem::Default();
    auto key = format::LineageKey::Load(fs, lineage_key);
    if (!key.ok()) return Fail(key.status(), json);
    auto root_bytes = ReadFileBounded(fs, root_path, 1 << 20);
    if (!root_bytes.ok()) return Fail(root_bytes.status(), json);
    auto root = signer::ParseRoot(*root_bytes);
    if (!root.ok()) return Fail(root.status().WithContext(root_path), json);
    auto r = (*broker)->Register(fs, format::ParsePackageRef(package), *key, *root, NowUnixSeconds());
    if (!r.ok()) return Fail(r.status(), json);
    if (json) {
      std::cout << Json{{"package", r->package_digest}, {"name", r->name}, {"version", r->version},
                        {"lineage", r->lineage_id}, {"chunks", r->chunks}, {"policyDigest", r->policy_digest},
                        {"policyVersion", r->policy_version}, {"replacedPolicy", r->replaced_policy}}
                       .dump(2)
                << "\n";
    } else {
      std::printf("registered %s:%s (%s), %zu chunks, policy version %llu%s\n", r->name.c_str(), r->version.c_str(),
                  r->package_digest.c_str(), r->chunks, static_cast<unsigned long long>(r->policy_version),
                  r->replaced_policy ? " (replaces the older policy)" : "");
    }
    return 0;
  }

  auto list = (*broker)->Releases(limit);
  if (!list.ok()) return Fail(list.status(), json);
  if (json) {
    Json out = Json::array();
    for (const auto& r : *list) {
      out.push_back({{"id", r.id}, {"time", FormatRfc3339(r.time)}, {"package", r.package_digest},
                     {"policyDigest", r.policy_digest}, {"platform", r.platform}, {"measurement", r.measurement},
                     {"released", r.released}, {"reason", r.reason}, {"chunks", r.chunks}});
    }
    std::cout << out.dump(2) << "\n";
  } else {
    for (const auto& r : *list) {
      std::printf("%lld %s %s %s %s %s\n", static_cast<long long>(r.id), FormatRfc3339(r.time).c_str(),
                  r.released ? "RELEASED" : "REFUSED ", r.package_digest.substr(0, 19).c_str(),
                  r.platform.empty() ? "-" : r.platform.c_str(),
                  r.released ? (std::to_string(r.chunks) + " chunk keys").c_str() : r.reason.c_str());
    }
  }
  return 0;
}

}  // namespace arca::keybroker

int main(int argc, char** argv) { return arca::keybroker::Main(argc, argv); }
