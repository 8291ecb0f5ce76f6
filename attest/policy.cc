#include "attest/policy.h"

#include <algorithm>
#include <utility>

#include "base/bytes.h"

namespace arca::attest {
namespace {

// ShortList prints at most four items of a set, each abbreviated, for
// refusal messages that stay readable with a thousand allowed entries.
std::string ShortList(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size() && i < 4; ++i) {
    if (i) out += ", ";
    out += items[i].size() > 12 ? items[i].substr(0, 12) + "…" : items[i];
  }
  if (items.size() > 4) out += ", … (" + std::to_string(items.size()) + " in all)";
  return out + "}";
}

std::string Abbrev(const std::string& hex) { return hex.size() > 12 ? hex.substr(0, 12) + "…" : hex; }

// TcbComponent reads one named component of the `tcb` claim (see
// PolicyRule::min_tcb); nullopt when the claims do not carry it.
std::optional<std::uint64_t> TcbComponent(const Json& tcb, const std::string& name) {
  if (!tcb.is_object()) return std::nullopt;
  auto it = tcb.find(name);
  if (it != tcb.end() && it->is_number_unsigned()) return it->get<std::uint64_t>();
  auto indexed = [&](std::string_view prefix) -> std::optional<std::size_t> {
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
    std::size_t i = 0;
    for (char c : name.substr(prefix.size())) {
      if (c < '0' || c > '9' || i > 64) return std::nullopt;
      i = i * 10 + std::size_t(c - '0');
    }
    return i;
  };
  if (auto i = indexed("sgx")) {
    auto comps = tcb.find("sgxTcbComponents");
    if (comps != tcb.end() && comps->is_array() && *i < comps->size() && (*comps)[*i].is_number_unsigned()) {
      return (*comps)[*i].get<std::uint64_t>();
    }
    return std::nullopt;
  }
  if (auto i = indexed("tee")) {
    auto svn = tcb.find("teeTcbSvn");
    if (svn == tcb.end() || !svn->is_string()) return std::nullopt;
    auto bytes = HexDecode(svn->get<std::string>());
    if (!bytes.ok() || *i >= bytes->size()) return std::nullopt;
    return (*bytes)[*i];
  }
  return std::nullopt;
}

}  // namespace

bool PolicyDecision::allowed() const {
  return !clauses.empty() && std::all_of(clauses.begin(), clauses.end(), [](const Clause& c) { return c.passed; });
}

Status PolicyDecision::status() const {
  std::string failed;
  for (const auto& c : clauses) {
    if (c.passed) continue;
    if (!failed.empty()) failed += "; ";
    failed += "policy clause " + c.name + ": expected " + c.expected + ", got " + c.actual;
  }
  if (!failed.empty()) return PermissionDeniedError(failed);
  if (clauses.empty()) return PermissionDeniedError("policy: nothing was evaluated");
  return Status::Ok();
}

Json PolicyDecision::ToJson() const {
  Json list = Json::array();
  for (const auto& c : clauses) {
    list.push_back({{"clause", c.name}, {"passed", c.passed}, {"expected", c.expected}, {"actual", c.actual}});
  }
  return {{"allowed", allowed()}, {"clauses", std::move(list)}};
}

std::string PolicyPlatform(const Json& claims) {
  std::string p = claims.value("platform", "");
  return p == "azure-sev-snp-vtpm" ? "sev-snp" : p;
}

std::string ClaimedMeasurement(const Json& claims) {
  if (PolicyPlatform(claims) == "tpm") {
    const Json* pcr = nullptr;
    if (auto m = claims.find("measurements"); m != claims.end() && m->is_object()) {
      if (auto p = m->find("pcrs"); p != m->end() && p->is_object()) {
        if (auto b = p->find("sha256"); b != p->end() && b->is_object()) {
          if (auto v = b->find("23"); v != b->end() && v->is_string()) pcr = &*v;
        }
      }
    }
    return pcr ? pcr->get<std::string>() : "";
  }
  auto m = claims.find("measurement");
  return m != claims.end() && m->is_string() ? m->get<std::string>() : "";
}

PolicyDecision EvaluatePolicy(const ReleaseRules& rules, const Verdict& verdict, UnixSeconds now) {
  PolicyDecision d;
  auto add = [&](std::string name, bool passed, std::string expected, std::string actual) {
    d.clauses.push_back(Clause{std::move(name), passed, std::move(expected), std::move(actual)});
  };
  const Json& claims = verdict.claims;
  add("evidence", verdict.ok(), "evidence that verifies against the pinned roots",
      verdict.ok() ? "verified" : verdict.status().message());

  if (rules.expires) {
    add("expiry", now < *rules.expires, "a policy valid until " + FormatRfc3339(*rules.expires),
        "it is " + FormatRfc3339(now));
  } else {
    add("expiry", true, "no expiry", "no expiry");
  }

  const std::string platform = PolicyPlatform(claims);
  const std::string measurement = ClaimedMeasurement(claims);
  std::vector<std::string> platforms, allowed_here;
  const PolicyRule* rule = nullptr;
  for (const auto& r : rules.allow) {
    if (std::find(platforms.begin(), platforms.end(), r.platform) == platforms.end()) platforms.push_back(r.platform);
    if (r.platform != platform) continue;
    allowed_here.push_back(r.measurement);
    if (!measurement.empty() && ConstantTimeEquals(AsBytes(r.measurement), AsBytes(measurement))) rule = &r;
  }
  bool platform_ok = std::find(platforms.begin(), platforms.end(), platform) != platforms.end();
  add("platform", platform_ok, platforms.empty() ? "a platform the policy allows (it allows none)" : "one of " + ShortList(platforms),
      platform.empty() ? "no platform claim" : platform);
  add("measurement", rule != nullptr, "a measurement in the allowed set " + ShortList(allowed_here),
      measurement.empty() ? "no measurement claim" : "measurement " + Abbrev(measurement) + " not in it");
  if (rule) d.clauses.back().actual = "measurement " + Abbrev(measurement);

  bool revoked = !measurement.empty() &&
                 std::find(rules.revoked.begin(), rules.revoked.end(), measurement) != rules.revoked.end();
  add("revoked", !revoked, "a measurement not revoked", revoked ? Abbrev(measurement) + " is revoked" : "not revoked");

  // TCB: every minimum of the matching rule, and never a status the vendor
  // says is out of date or revoked.
  std::string tcb_status = claims.value("tcbStatus", "");
  bool status_ok = tcb_status.rfind("OutOfDate", 0) != 0 && tcb_status != "Revoked";
  std::string tcb_expected = "TCB status not OutOfDate/Revoked", tcb_actual = tcb_status.empty() ? "no TCB status" : tcb_status;
  bool tcb_ok = status_ok;
  if (rule) {
    const Json empty = Json::object();
    const Json& tcb = claims.contains("tcb") ? claims["tcb"] : empty;
    for (const auto& [component, minimum] : rule->min_tcb) {
      auto have = TcbComponent(tcb, component);
      tcb_expected += ", " + component + " >= " + std::to_string(minimum);
      tcb_actual += ", " + component + " " + (have ? std::to_string(*have) : "absent");
      if (!have || *have < minimum) tcb_ok = false;
    }
  }
  add("tcb", tcb_ok, tcb_expected, tcb_actual);

  bool debug = claims.value("debug", false);
  add("debug", !debug || rules.allow_debug, rules.allow_debug ? "debug allowed" : "a guest that is not debuggable",
      debug ? "a debuggable guest" : "not debuggable");
  // No GPU evidence format is verified yet, so a policy that requires GPU
  // confidential mode releases nothing.
  add("gpu", !rules.require_gpu_cc, rules.require_gpu_cc ? "GPU confidential-computing evidence" : "not required",
      "no GPU evidence in the bundle");
  return d;
}

}  // namespace arca::attest
