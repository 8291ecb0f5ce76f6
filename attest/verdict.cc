#include "attest/verdict.h"

#include <cstdio>
#include <ctime>

namespace arca::attest {

void Verdict::Pass(std::string name, std::string detail) {
  checks_.push_back({std::move(name), true, std::move(detail)});
}

void Verdict::Fail(std::string name, const Status& why) {
  if (failure_.ok()) {
    failure_ = Status(why.code() == StatusCode::kOk ? StatusCode::kUnauthenticated : why.code(),
                      "check " + name + ": " + why.message());
  }
  checks_.push_back({std::move(name), false, why.message()});
}

bool Verdict::Record(std::string name, const Status& s, std::string pass_detail) {
  if (s.ok()) {
    Pass(std::move(name), std::move(pass_detail));
    return true;
  }
  Fail(std::move(name), s);
  return false;
}

Status Verdict::status() const {
  if (!failure_.ok()) return failure_;
  if (checks_.empty()) return InternalError("no verification check ran");
  return Status::Ok();
}

const Check* Verdict::Find(std::string_view name) const {
  for (const auto& c : checks_)
    if (c.name == name) return &c;
  return nullptr;
}

Json Verdict::ToJson() const {
  Json checks = Json::array();
  for (const auto& c : checks_) checks.push_back({{"name", c.name}, {"passed", c.passed}, {"detail", c.detail}});
  Json j = {{"verified", ok()}, {"claims", claims}, {"checks", std::move(checks)}};
  if (!ok()) j["error"] = status().ToString();
  return j;
}

}  // namespace arca::attest
