#include "signer/statement.h"

#include "base/bytes.h"

namespace arca::signer {
namespace {

Status ValidateDigestValue(const std::string& alg, const std::string& hex, const std::string& where) {
  std::size_t want = 0;
  if (alg == "sha256") want = 64;
  if (alg == "sha384") want = 96;
  if (alg == "sha512") want = 128;
  if (alg == "gitCommit") {
    if (IsLowerHex(hex, 40) || IsLowerHex(hex, 64)) return Status::Ok();
    return InvalidArgumentError(where + "." + alg + " must be 40 or 64 lower-case hex digits");
  }
  if (want != 0) {
    if (IsLowerHex(hex, want)) return Status::Ok();
    return InvalidArgumentError(where + "." + alg + " must be " + std::to_string(want) + " lower-case hex digits");
  }
  if (hex.empty() || hex.size() % 2 != 0 || hex.size() > 256 || !IsLowerHex(hex, hex.size())) {
    return InvalidArgumentError(where + "." + alg.substr(0, 40) + " must be lower-case hex");
  }
  return Status::Ok();
}

}  // namespace

Result<Statement> ParseStatement(ByteSpan bytes, const StatementLimits& limits) {
  if (bytes.size() > limits.max_bytes) {
    return ResourceExhaustedError("statement is " + std::to_string(bytes.size()) + " bytes, over the limit of " +
                                  std::to_string(limits.max_bytes));
  }
  JsonLimits jl;
  jl.max_bytes = limits.max_bytes;
  jl.max_depth = limits.max_depth;
  ARCA_ASSIGN_OR_RETURN(Json j, ParseJson(ToString(bytes), "statement", jl));
  ARCA_RETURN_IF_ERROR(RejectUnknownFields(j, {"_type", "subject", "predicateType", "predicate"}, "statement"));
  ARCA_ASSIGN_OR_RETURN(std::string type, RequireString(j, "_type", "statement"));
  if (type != kStatementType) {
    return InvalidArgumentError("statement _type is \"" + type.substr(0, 80) + "\", expected " + std::string(kStatementType));
  }
  Statement st;
  ARCA_ASSIGN_OR_RETURN(const Json* subjects, RequireArray(j, "subject", "statement"));
  if (subjects->empty()) return InvalidArgumentError("statement subject list is empty");
  if (subjects->size() > limits.max_subjects) {
    return ResourceExhaustedError("statement has " + std::to_string(subjects->size()) + " subjects, over the limit of " +
                                  std::to_string(limits.max_subjects));
  }
  for (std::size_t i = 0; i < subjects->size(); ++i) {
    std::string where = "statement subject[" + std::to_string(i) + "]";
    const Json& s = (*subjects)[i];
    ARCA_RETURN_IF_ERROR(RejectUnknownFields(s, {"name", "digest", "uri", "annotations", "content", "downloadLocation", "mediaType"}, where));
    Subject sub;
    if (s.contains("name")) {
      ARCA_ASSIGN_OR_RETURN(sub.name, RequireString(s, "name", where));
    }
    ARCA_ASSIGN_OR_RETURN(const Json* digest, RequireObject(s, "digest", where));
    if (digest->empty()) return InvalidArgumentError(where + ".digest is empty");
    for (auto it = digest->begin(); it != digest->end(); ++it) {
      if (!it->is_string()) return InvalidArgumentError(where + ".digest." + it.key().substr(0, 40) + " must be a string");
      ARCA_RETURN_IF_ERROR(ValidateDigestValue(it.key(), it->get<std::string>(), where + ".digest"));
      sub.digest[it.key()] = it->get<std::string>();
    }
    st.subjects.push_back(std::move(sub));
  }
  ARCA_ASSIGN_OR_RETURN(st.predicate_type, RequireString(j, "predicateType", "statement"));
  if (st.predicate_type.empty() || st.predicate_type.size() > 256) {
    return InvalidArgumentError("statement predicateType must be 1..256 characters");
  }
  if (j.contains("predicate")) {
    if (!j["predicate"].is_object()) return InvalidArgumentError("statement predicate must be an object");
    st.predicate = j["predicate"];
  }
  return st;
}

Result<std::string> SerializeStatement(const Statement& statement) {
  Json subjects = Json::array();
  for (const auto& s : statement.subjects) {
    Json o = {{"digest", s.digest}};
    if (!s.name.empty()) o["name"] = s.name;
    subjects.push_back(std::move(o));
  }
  Json j = {{"_type", kStatementType}, {"subject", subjects}, {"predicateType", statement.predicate_type},
            {"predicate", statement.predicate}};
  return CanonicalJson(j);
}

std::vector<std::string> SubjectSha256Digests(const Statement& statement) {
  std::vector<std::string> out;
  for (const auto& s : statement.subjects) {
    auto it = s.digest.find("sha256");
    if (it != s.digest.end()) out.push_back("sha256:" + it->second);
  }
  return out;
}

}  // namespace arca::signer
