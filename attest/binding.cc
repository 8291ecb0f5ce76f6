#include "attest/binding.h"

#include <nlohmann/json.hpp>

#include "base/crypto.h"

namespace arca::attest {
namespace {

void AppendLengthPrefixed(Bytes* out, ByteSpan field) {
  std::uint32_t n = std::uint32_t(field.size());
  out->push_back(std::uint8_t(n >> 24));
  out->push_back(std::uint8_t(n >> 16));
  out->push_back(std::uint8_t(n >> 8));
  out->push_back(std::uint8_t(n));
  out->insert(out->end(), field.begin(), field.end());
}

Status CheckDigest(std::string_view digest, const char* field) {
  constexpr std::string_view kPrefix = "sha256:";
  if (digest.size() != kPrefix.size() + 64 || digest.substr(0, kPrefix.size()) != kPrefix ||
      !IsLowerHex(digest.substr(kPrefix.size()), 64)) {
    return InvalidArgumentError(std::string("evidence binding ") + field +
                                ": expected sha256:<64 lower-case hex>, got " + std::to_string(digest.size()) +
                                " characters not of that form");
  }
  return Status::Ok();
}

}  // namespace

Result<ReportDataBinding> ComputeEvidenceBinding(const BindingInputs& in) {
  if (in.nonce.size() < 16 || in.nonce.size() > 64) {
    return InvalidArgumentError("evidence binding nonce: expected 16 to 64 bytes, got " + std::to_string(in.nonce.size()));
  }
  if (in.ephemeral_public_key.empty() || in.ephemeral_public_key.size() > 1024) {
    return InvalidArgumentError("evidence binding ephemeral public key: expected 1 to 1024 bytes, got " +
                                std::to_string(in.ephemeral_public_key.size()));
  }
  ARCA_RETURN_IF_ERROR(CheckDigest(in.package_digest, "package digest"));
  ARCA_RETURN_IF_ERROR(CheckDigest(in.policy_digest, "policy digest"));
  Bytes msg;
  AppendLengthPrefixed(&msg, AsBytes(kEvidenceBindingDomain));
  AppendLengthPrefixed(&msg, in.nonce);
  AppendLengthPrefixed(&msg, in.ephemeral_public_key);
  AppendLengthPrefixed(&msg, AsBytes(in.package_digest));
  AppendLengthPrefixed(&msg, AsBytes(in.policy_digest));
  Bytes digest = crypto::Sha512(msg);
  ReportDataBinding out{};
  std::copy(digest.begin(), digest.end(), out.begin());
  return out;
}

Status CheckEvidenceBinding(const Json& claims, const BindingInputs& inputs) {
  ARCA_ASSIGN_OR_RETURN(ReportDataBinding want, ComputeEvidenceBinding(inputs));
  if (!claims.is_object() || !claims.contains("reportData") || !claims["reportData"].is_string()) {
    return InvalidArgumentError("evidence binding: claims have no reportData");
  }
  auto got = HexDecode(claims["reportData"].get<std::string>());
  if (!got.ok() || got->size() != 64) {
    return InvalidArgumentError("evidence binding: claims reportData expected 64 bytes of hex, got " +
                                std::to_string(got.ok() ? got->size() : 0) + " bytes");
  }
  if (!ConstantTimeEquals(want, *got)) {
    return UnauthenticatedError("report data: expected binding " + HexEncode(ByteSpan(want).first(8)) + "..., got " +
                                HexEncode(ByteSpan(*got).first(8)) + "...");
  }
  return Status::Ok();
}

}  // namespace arca::attest
