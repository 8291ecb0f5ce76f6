// arca-registry: serve, and the operator's admin commands. Admin commands
// take the same --data as serve and work while it runs (SQLite WAL).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "base/file_system.h"
#include "base/listen_address.h"
#include "base/stop_signals.h"
#include "base/json.h"
#include "base/time.h"
#include "registry-server/registry.h"
#include "registry-server/routes.h"
#include "registry-server/witness_server.h"
#include "signer/root.h"

namespace arca::registry {
namespace {

int Fail(const Status& s, bool json) {
  std::fprintf(stderr, "arca-registry: %s\n", s.ToString().c_str());
  if (json) {
    std::cout << Json{{"error", {{"code", std::string(StatusCodeName(s.code()))}, {"message", s.message()}}}}.dump(2)
              << "\n";
  }
  return ExitCodeFor(s.code());
}

std::string g_log_origin;  // serve --log-origin / log key --origin: names a new log key

Result<std::unique_ptr<Registry>> OpenData(const std::string& data) {
  if (data.empty()) return InvalidArgumentError("--data DIR is required");
  return Registry::Open(data, g_log_origin);
}

// A config file may replace the flags: a JSON object with the same names
// ("data", "listen", "tls-cert", "tls-key", "threads", "quiet").
Status ApplyConfig(const std::string& path, std::string& data, std::string& listen, std::string& cert,
                   std::string& key, std::size_t& threads, bool& quiet) {
  ARCA_ASSIGN_OR_RETURN(Bytes bytes, ReadFileBounded(FileSystem::Default(), path, 1 << 20));
  ARCA_ASSIGN_OR_RETURN(Json j, ParseJson(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path));
  if (!j.is_object()) return InvalidArgumentError(path + ": expected a JSON object");
  ARCA_RETURN_IF_ERROR(RejectUnknownFields(j, {"data", "listen", "tls-cert", "tls-key", "threads", "quiet"}, path));
  auto str = [&](const char* k, std::string& out) -> Status {
    if (!j.contains(k)) return Status::Ok();
    if (!j[k].is_string()) return InvalidArgumentError(path + ": " + k + " must be a string");
    if (out.empty()) out = j[k].get<std::string>();  // flags win over the file
    return Status::Ok();
  };
  ARCA_RETURN_IF_ERROR(str("data", data));
  ARCA_RETURN_IF_ERROR(str("listen", listen));
  ARCA_RETURN_IF_ERROR(str("tls-cert", cert));
  ARCA_RETURN_IF_ERROR(str("tls-key", key));
  if (j.contains("threads")) {
    if (!j["threads"].is_number_unsigned()) return InvalidArgumentError(path + ": threads must be a positive number");
    threads = j["threads"].get<std::size_t>();
  }
  if (j.contains("quiet")) {
    if (!j["quiet"].is_boolean()) return InvalidArgumentError(path + ": quiet must be true or false");
    quiet = quiet || j["quiet"].get<bool>();
  }
  return Status::Ok();
}

int WitnessMain(const std::string& what, const std::string& data, const std::string& name, std::string listen,
                const std::vector<std::string>& log_key_files, bool quiet, bool json) {
  if (what == "key") {
    auto k = LoadOrCreateWitnessKey(data, name);
    if (!k.ok()) return Fail(k.status(), false);
    std::printf("%s\n", k->verifier().ToString().c_str());
    return 0;
  }
  auto state = SqliteWitnessState::Open(data);
  if (!state.ok()) return Fail(state.status(), json);
  if (what == "status") {
    auto list = (*state)->ListLatest();
    if (!list.ok()) return Fail(list.status(), json);
    auto refusals = (*state)->ListRefusals(1000);
    if (!refusals.ok()) return Fail(refusals.status(), json);
    Json logs = Json::array(), refused = Json::array();
    for (const auto& [origin, c] : *list) {
      logs.push_back({{"origin", origin}, {"size", c.size}, {"root", Base64Encode(c.root)}, {"cosigned", FormatRfc3339(c.cosigned)}});
      if (!json) {
        std::printf("%s: %llu entries, root %s, cosigned %s\n", origin.c_str(), static_cast<unsigned long long>(c.size),
                    Base64Encode(c.root).c_str(), FormatRfc3339(c.cosigned).c_str());
      }
    }
    for (const auto& r : *refusals) {
      refused.push_back({{"origin", r.origin}, {"time", FormatRfc3339(r.time)}, {"why", r.why}, {"request", r.request}});
      if (!json) std::printf("REFUSED %s %s: %s\n", FormatRfc3339(r.time).c_str(), r.origin.c_str(), r.why.c_str());
    }
    if (json) std::cout << Json{{"logs", logs}, {"refused", refused}}.dump(2) << "\n";
    else if (list->empty()) std::printf("no checkpoint cosigned yet\n");
    return 0;
  }
  std::vector<tlog::NoteVerifier> logs;
  for (const auto& f : log_key_files) {
    auto k = tlog::ReadVerifierKeyFile(FileSystem::Default(), f, tlog::NoteSignatureType::kEd25519);
    if (!k.ok()) return Fail(k.status().WithContext("--log-key"), false);
    logs.push_back(std::move(*k));
  }
  auto key = LoadOrCreateWitnessKey(data, name);
  if (!key.ok()) return Fail(key.status(), false);
  if (listen.empty()) listen = "127.0.0.1:8701";
  auto hp = ParseListenAddress(listen);
  if (!hp.ok()) return Fail(hp.status(), false);
  tlog::Witness witness(std::move(*key), logs, **state);
  WitnessServeOptions o;
  o.host = hp->host;
  o.port = hp->port;
  o.log_requests = !quiet;
  auto server = WitnessServer::Create(witness, **state, o);
  if (!server.ok()) return Fail(server.status(), false);
  const StopSignals stop_signals;  // before the server's threads start
  if (auto s = (*server)->Start(); !s.ok()) return Fail(s, false);
  std::string origins;
  for (const auto& o2 : witness.Origins()) origins += (origins.empty() ? "" : ", ") + o2;
  std::fprintf(stderr, "arca-registry: witness %s serving on http://%s:%d for %s\n", witness.verifier().name().c_str(),
               o.host.c_str(), (*server)->port(), origins.c_str());
  std::fprintf(stderr, "arca-registry: %s, stopping\n", StopSignals::Describe(stop_signals.Wait()));
  (*server)->Stop();
  return 0;
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"arca-registry: store and serve sealed Arca packages over the OCI distribution API"};
  app.name("arca-registry");
  app.set_version_flag("--version", "arca-registry 0.1.0");
  app.require_subcommand(1);
  app.footer("Exit codes: 0 ok, 1 internal, 2 invalid argument, 3 not found, 4 already exists, 5 unauthenticated,\n"
             "6 permission denied, 7 failed precondition, 8 corruption, 9 resource limit, 10 unavailable.");
  std::string data, listen, cert, key, config;
  std::size_t threads = 0;
  bool quiet = false, json = false;

  auto* serve = app.add_subcommand("serve", "Serve the registry (plain HTTP on loopback, or TLS with --tls-cert/--tls-key)");
  serve->add_option("--data", data, "Data directory (metadata.db and blobs/); created if missing");
  serve->add_option("--listen", listen, "HOST:PORT to listen on (default 127.0.0.1:8700)");
  serve->add_option("--tls-cert", cert, "PEM certificate chain for HTTPS");
  serve->add_option("--tls-key", key, "PEM private key for HTTPS");
  serve->add_option("--threads", threads, "Worker threads = concurrent connections served (default 64)");
  serve->add_option("--config", config, "JSON file with the same settings (flags given win)");
  serve->add_flag("--quiet", quiet, "Do not log one line per request");
  serve->add_option("--log-origin", g_log_origin,
                    "Name of the transparency log (origin line, key name) when its key is created (default HOSTNAME/arca-log)");

  std::vector<std::vector<std::string>> witness_args;
  serve->add_option("--witness", witness_args,
                    "URL KEYFILE: a witness (e.g. 'arca-registry witness serve') whose cosignature the served checkpoint "
                    "carries; KEYFILE holds its key from 'arca-registry witness key' (repeatable)")
      ->expected(2)->allow_extra_args(false);
  std::int64_t checkpoint_interval = 300;
  serve->add_option("--checkpoint-interval", checkpoint_interval,
                    "Seconds a served checkpoint stays current before the log signs (and witnesses cosign) a new one "
                    "(default 300; clients refuse one older than a day)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{43200}));
  std::int64_t witness_retry = kWitnessRetryS;
  serve->add_option("--witness-retry", witness_retry, "Seconds before a witness that failed is asked again (default 30)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{3600}));

  auto* logc = app.add_subcommand("log", "The transparency log (specs/log.md)");
  logc->require_subcommand(1);
  auto* lkey = logc->add_subcommand("key", "Print the log's verifier key (C2SP name+keyid+base64) for clients and auditors; creates the key if missing");
  lkey->add_option("--data", data, "Data directory")->required();
  lkey->add_option("--origin", g_log_origin, "Name for a key created now (default HOSTNAME/arca-log)");
  auto* lcheck = logc->add_subcommand("checkpoint", "Print a freshly signed checkpoint of the log");
  lcheck->add_option("--data", data, "Data directory")->required();

  auto* wit = app.add_subcommand("witness", "Witness mode: cosign other logs' checkpoints after checking consistency (C2SP tlog-witness)");
  wit->require_subcommand(1);
  std::string witness_name, wlisten;
  std::vector<std::string> witnessed_log_keys;
  auto* wkey = wit->add_subcommand("key", "Print the witness's verifier key for registries and clients; creates it if missing");
  wkey->add_option("--data", data, "Witness data directory (witness.key, witness.db)")->required();
  wkey->add_option("--name", witness_name, "Name for a key created now (default HOSTNAME/arca-witness)");
  auto* wserve = wit->add_subcommand("serve", "Serve POST /add-checkpoint for the given logs");
  wserve->add_option("--data", data, "Witness data directory (witness.key, witness.db)")->required();
  wserve->add_option("--log-key", witnessed_log_keys, "File with a log's verifier key ('arca-registry log key'); repeatable")
      ->required();
  wserve->add_option("--listen", wlisten, "HOST:PORT to listen on (default 127.0.0.1:8701)");
  wserve->add_option("--name", witness_name, "Name for a key created now (default HOSTNAME/arca-witness)");
  wserve->add_flag("--quiet", quiet, "Do not log one line per request");
  auto* wstatus = wit->add_subcommand("status", "Show the latest checkpoint cosigned per log, and the checkpoints refused");
  wstatus->add_option("--data", data, "Witness data directory")->required();
  wstatus->add_flag("--json", json, "JSON output");

  auto* token = app.add_subcommand("token", "Access tokens (the registry stores only their SHA-256)");
  token->require_subcommand(1);
  std::string ns, scopes = "pull", label;
  auto* tcreate = token->add_subcommand("create", "Create a token and print it once (last line of output)");
  tcreate->add_option("--namespace", ns, "Namespace the token is for")->required();
  tcreate->add_option("--scope", scopes, "Comma-separated: pull, push, delete (default pull)");
  tcreate->add_option("--label", label, "A note to recognise it by in 'token list'");
  tcreate->add_option("--data", data, "Data directory")->required();
  tcreate->add_flag("--json", json, "JSON output");
  auto* tlist = token->add_subcommand("list", "List tokens (ids, never the tokens)");
  tlist->add_option("--data", data, "Data directory")->required();
  tlist->add_flag("--json", json, "JSON output");
  std::string token_id;
  auto* trevoke = token->add_subcommand("revoke", "Revoke a token by its id (from 'token list')");
  trevoke->add_option("id", token_id, "Token id (12 hex digits)")->required();
  trevoke->add_option("--data", data, "Data directory")->required();

  auto* nsc = app.add_subcommand("namespace", "Namespaces and their signing roots");
  nsc->require_subcommand(1);
  std::string root_path;
  bool public_pull = false, private_pull = false;
  auto* nadd = nsc->add_subcommand("add", "Create a namespace or register its next root version (rotation)");
  nadd->add_option("name", ns, "Namespace")->required();
  nadd->add_option("--root", root_path, "Root document from 'arca root init' / 'arca root rotate'");
  nadd->add_flag("--public-pull", public_pull, "Anyone may pull without a token");
  nadd->add_option("--data", data, "Data directory")->required();
  nadd->add_flag("--json", json, "JSON output");
  auto* nset = nsc->add_subcommand("set", "Change a namespace's settings");
  nset->add_option("name", ns, "Namespace")->required();
  nset->add_flag("--public-pull", public_pull, "Anyone may pull without a token");
  nset->add_flag("--private-pull", private_pull, "Pulls need a token (the default)");
  nset->add_option("--data", data, "Data directory")->required();
  auto* nlist = nsc->add_subcommand("list", "List namespaces with their root versions");
  nlist->add_option("--data", data, "Data directory")->required();
  nlist->add_flag("--json", json, "JSON output");

  std::string grace = "1h", upload_grace = "24h";
  auto* gc = app.add_subcommand("gc", "Delete blobs no manifest references (safe while serving)");
  gc->add_option("--data", data, "Data directory")->required();
  gc->add_option("--grace", grace, "Keep unreferenced blobs younger than this (pushes in progress), e.g. 0s, 30m, 1h (default 1h)");
  gc->add_option("--upload-grace", upload_grace, "Delete upload sessions older than this (default 24h)");
  gc->add_flag("--json", json, "JSON output");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  UnixSeconds now = NowUnixSeconds();

  if (lkey->parsed()) {
    auto k = LoadOrCreateLogKey(data, g_log_origin);
    if (!k.ok()) return Fail(k.status(), false);
    std::printf("%s\n", k->verifier().ToString().c_str());
    return 0;
  }
  if (lcheck->parsed()) {
    auto reg = OpenData(data);
    if (!reg.ok()) return Fail(reg.status(), false);
    auto head = (*reg)->SignCheckpoint(now);
    if (!head.ok()) return Fail(head.status(), false);
    std::fputs(head->note.c_str(), stdout);
    return 0;
  }
  if (wkey->parsed() || wserve->parsed() || wstatus->parsed()) {
    return WitnessMain(wkey->parsed() ? "key" : wserve->parsed() ? "serve" : "status", data, witness_name, wlisten,
                       witnessed_log_keys, quiet, json);
  }
  if (serve->parsed()) {
    if (!config.empty()) {
      if (auto s = ApplyConfig(config, data, listen, cert, key, threads, quiet); !s.ok()) return Fail(s, false);
    }
    if (listen.empty()) listen = "127.0.0.1:8700";
    auto hp = ParseListenAddress(listen);
    if (!hp.ok()) return Fail(hp.status(), false);
    auto reg = OpenData(data);
    if (!reg.ok()) return Fail(reg.status(), false);
    ServeOptions o;
    o.host = hp->host;
    o.port = hp->port;
    o.tls_cert = cert;
    o.tls_key = key;
    if (threads) o.threads = threads;
    o.log_requests = !quiet;
    std::vector<WitnessEndpoint> witnesses;
    for (const auto& pair : witness_args) {
      auto w = tlog::ReadVerifierKeyFile(FileSystem::Default(), pair.at(1), tlog::NoteSignatureType::kCosignatureV1);
      if (!w.ok()) return Fail(w.status().WithContext("--witness"), false);
      if (pair.at(0).rfind("http://", 0) != 0 && pair.at(0).rfind("https://", 0) != 0) {
        return Fail(InvalidArgumentError("--witness " + pair.at(0) + ": the URL must start with http:// or https://"), false);
      }
      witnesses.push_back(WitnessEndpoint{pair.at(0), std::move(*w)});
    }
    (*reg)->ConfigureWitnesses(std::move(witnesses), checkpoint_interval, witness_retry);
    auto server = Server::Create(**reg, o);
    if (!server.ok()) return Fail(server.status(), false);
    const StopSignals stop_signals;  // before the server's threads start
    if (auto s = (*server)->Start(); !s.ok()) return Fail(s, false);
    std::fprintf(stderr, "arca-registry: serving %s on %s://%s:%d\n", data.c_str(), cert.empty() ? "http" : "https",
                 o.host.c_str(), (*server)->port());
    for (const auto& w : (*reg)->WitnessStatus()) {
      std::fprintf(stderr, "arca-registry: log %s checkpoints are cosigned by witness %s at %s\n",
                   (*reg)->log_key().verifier().name().c_str(), w.name.c_str(), w.url.c_str());
    }
    std::fprintf(stderr, "arca-registry: %s, stopping\n", StopSignals::Describe(stop_signals.Wait()));
    (*server)->Stop();
    return 0;
  }
  auto reg = OpenData(data);
  if (!reg.ok()) return Fail(reg.status(), json);
  Metadata& md = (*reg)->metadata();

  if (tcreate->parsed()) {
    if (!IsValidNamespace(ns)) return Fail(InvalidArgumentError("namespace '" + ns + "' is not a valid name"), json);
    auto sc = ParseScopes(scopes);
    if (!sc.ok()) return Fail(sc.status(), json);
    auto t = md.CreateToken(ns, *sc, label, now);
    if (!t.ok()) return Fail(t.status(), json);
    if (json) {
      std::cout << Json{{"namespace", ns}, {"scopes", ScopesToString(*sc)}, {"token", *t}}.dump(2) << "\n";
    } else {
      std::fprintf(stderr, "token for namespace %s (%s); it is shown only now:\n", ns.c_str(), ScopesToString(*sc).c_str());
      std::cout << *t << "\n";
    }
    return 0;
  }
  if (tlist->parsed()) {
    auto list = md.ListTokens();
    if (!list.ok()) return Fail(list.status(), json);
    Json out = Json::array();
    for (const auto& t : *list) {
      out.push_back({{"id", t.id}, {"namespace", t.ns}, {"scopes", ScopesToString(t.scopes)}, {"label", t.label},
                     {"created", FormatRfc3339(t.created)}, {"revoked", t.revoked}});
      if (!json) {
        std::printf("%s  %-20s %-16s %s%s %s\n", t.id.c_str(), t.ns.c_str(), ScopesToString(t.scopes).c_str(),
                    FormatRfc3339(t.created).c_str(), t.revoked ? " REVOKED" : "", t.label.c_str());
      }
    }
    if (json) std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (trevoke->parsed()) {
    if (auto s = md.RevokeToken(token_id); !s.ok()) return Fail(s, false);
    std::fprintf(stderr, "revoked token %s\n", token_id.c_str());
    return 0;
  }
  if (nadd->parsed()) {
    if (!IsValidNamespace(ns)) return Fail(InvalidArgumentError("namespace '" + ns + "' is not a valid name"), json);
    if (auto s = md.EnsureNamespace(ns, now); !s.ok()) return Fail(s, json);
    Json out = {{"namespace", ns}};
    if (!root_path.empty()) {
      auto bytes = ReadFileBounded(FileSystem::Default(), root_path, signer::kMaxRootBytes);
      if (!bytes.ok()) return Fail(bytes.status(), json);
      auto v = (*reg)->AddRoot(ns, *bytes, now);
      if (!v.ok()) return Fail(v.status().WithContext(root_path), json);
      out["rootVersion"] = *v;
      if (!json) std::fprintf(stderr, "namespace %s: root version %llu registered\n", ns.c_str(), (unsigned long long)*v);
    } else if (!json) {
      std::fprintf(stderr, "namespace %s exists (no root: Arca packages are refused until one is registered)\n", ns.c_str());
    }
    if (public_pull) {
      if (auto s = md.SetPublicPull(ns, true); !s.ok()) return Fail(s, json);
    }
    if (json) std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (nset->parsed()) {
    if (public_pull == private_pull) return Fail(InvalidArgumentError("give --public-pull or --private-pull"), false);
    if (auto s = md.SetPublicPull(ns, public_pull); !s.ok()) return Fail(s, false);
    return 0;
  }
  if (nlist->parsed()) {
    auto list = md.ListNamespaces();
    if (!list.ok()) return Fail(list.status(), json);
    Json out = Json::array();
    for (const auto& n : *list) {
      out.push_back({{"namespace", n.name}, {"publicPull", n.public_pull}, {"rootVersions", n.roots.size()}});
      if (!json) std::printf("%-24s roots=%zu%s\n", n.name.c_str(), n.roots.size(), n.public_pull ? " public-pull" : "");
    }
    if (json) std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (gc->parsed()) {
    auto parse_duration = [](const std::string& t) -> Result<std::int64_t> {
      if (t.size() < 2) return InvalidArgumentError("duration '" + t + "': expected e.g. 0s, 30m, 1h, 2d");
      std::string num = t.substr(0, t.size() - 1);
      if (num.find_first_not_of("0123456789") != std::string::npos || num.size() > 9) {
        return InvalidArgumentError("duration '" + t + "': expected e.g. 0s, 30m, 1h, 2d");
      }
      std::int64_t n = std::stoll(num);
      switch (t.back()) {
        case 's': return n;
        case 'm': return n * 60;
        case 'h': return n * 3600;
        case 'd': return n * 86400;
        default: return InvalidArgumentError("duration '" + t + "': unit must be s, m, h or d");
      }
    };
    auto g = parse_duration(grace);
    if (!g.ok()) return Fail(g.status(), json);
    auto ug = parse_duration(upload_grace);
    if (!ug.ok()) return Fail(ug.status(), json);
    auto report = (*reg)->CollectGarbage(now, *g, *ug);
    if (!report.ok()) return Fail(report.status(), json);
    if (json) {
      std::cout << Json{{"blobsDeleted", report->blobs_deleted}, {"bytesFreed", report->bytes_deleted},
                        {"uploadsDeleted", report->uploads_deleted}, {"deleted", report->deleted}}.dump(2)
                << "\n";
    } else {
      std::printf("deleted %llu blobs (%llu bytes) and %llu stale uploads\n", (unsigned long long)report->blobs_deleted,
                  (unsigned long long)report->bytes_deleted, (unsigned long long)report->uploads_deleted);
    }
    return 0;
  }
  return 2;
}

}  // namespace arca::registry

int main(int argc, char** argv) { return arca::registry::Main(argc, argv); }
