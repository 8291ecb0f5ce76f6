// Fuzz target: bytes -> ParseStatement, then the decode path. A parsed
// statement must serialize canonically (unless its predicate holds a
// non-integer number, refused with InvalidArgument) to a fixed point that
// re-parses; the subject check against its own first subject must pass and
// against another digest must fail (mix-and-match); each predicate decoder
// (provenance, policy, countersignature; a release has none beyond the
// subject) either accepts or refuses with a named error. Aborts when a
// property breaks.
#include <cstdint>

#include "signer/documents.h"
#include "signer/statement.h"
#include "tests/fuzz/signer_fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using arca::StatusCode;
  using arca::fuzz::Check;
  using arca::fuzz::CheckError;
  namespace signer = arca::signer;
  const auto kRefusals = {StatusCode::kInvalidArgument, StatusCode::kResourceExhausted};

  auto st = signer::ParseStatement(arca::ByteSpan(data, size));
  if (!st.ok()) {
    CheckError(st.status(), kRefusals, "ParseStatement");
    return 0;
  }
  Check(!st->subjects.empty() && !st->predicate_type.empty() && st->predicate.is_object(),
        "a parsed statement lacks subjects, predicateType or an object predicate");

  auto canonical = signer::SerializeStatement(*st);
  if (canonical.ok()) {
    auto again = signer::ParseStatement(arca::AsBytes(*canonical));
    Check(again.ok(), "the canonical form of a parsed statement does not re-parse");
    auto twice = signer::SerializeStatement(*again);
    Check(twice.ok() && *twice == *canonical, "statement serialization is not a fixed point");
  } else {
    CheckError(canonical.status(), {StatusCode::kInvalidArgument}, "SerializeStatement");
  }

  // Subject checks: the statement's own sha256 subject passes, a different
  // digest is refused.
  auto digests = signer::SubjectSha256Digests(*st);
  if (st->subjects.size() == 1 && digests.size() == 1) {
    const std::string& name = st->subjects[0].name;
    std::size_t colon = name.rfind(':');
    signer::PackageSubject self{name.substr(0, colon == std::string::npos ? name.size() : colon),
                                colon == std::string::npos ? "" : name.substr(colon + 1), digests[0]};
    if (colon != std::string::npos) Check(signer::CheckSubject(*st, self).ok(), "CheckSubject refused its own subject");
    signer::PackageSubject other = self;
    other.manifest_digest = "sha256:" + std::string(64, digests[0].back() == '0' ? '1' : '0');
    CheckError(signer::CheckSubject(*st, other), {StatusCode::kUnauthenticated}, "CheckSubject of another digest");
  }

  if (auto p = signer::ParseProvenancePredicate(st->predicate); !p.ok()) {
    CheckError(p.status(), kRefusals, "ParseProvenancePredicate");
  }
  if (auto p = signer::PolicyFromStatement(*st); !p.ok()) {
    CheckError(p.status(), kRefusals, "PolicyFromStatement");
  }
  if (auto c = signer::CountersignFromStatement(*st); !c.ok()) {
    CheckError(c.status(), kRefusals, "CountersignFromStatement");
  }
  return 0;
}
