#include "tlog/proof.h"

#include "tlog/text.h"

namespace arca::tlog {
namespace {

std::string Num(std::uint64_t v) { return std::to_string(v); }

}  // namespace

Result<TlogProof> ParseTlogProof(std::string_view text) {
  if (text.size() > kMaxTlogProofBytes) {
    return ResourceExhaustedError("tlog-proof: " + Num(text.size()) + " bytes, more than " + Num(kMaxTlogProofBytes));
  }
  TlogProof proof;
  std::size_t line_no = 0;
  auto next_line = [&](std::string_view& line) -> bool {
    const std::size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return false;
    line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    ++line_no;
    return true;
  };
  std::string_view line;
  if (!next_line(line) || line != kTlogProofHeader) {
    return InvalidArgumentError("tlog-proof line 1: not \"c2sp.org/tlog-proof@v1\"");
  }
  if (!next_line(line)) return InvalidArgumentError("tlog-proof: ends after the header");
  if (line.substr(0, 6) == "extra ") {
    const std::string where = "tlog-proof line " + Num(line_no) + " (extra)";
    if (line.size() - 6 > (kMaxTlogProofExtraBytes + 2) / 3 * 4) {
      return ResourceExhaustedError(where + ": more than " + Num(kMaxTlogProofExtraBytes) + " bytes");
    }
    ARCA_ASSIGN_OR_RETURN(Bytes extra, DecodeCanonicalBase64(line.substr(6), where));
    proof.extra = std::move(extra);
    if (!next_line(line)) return InvalidArgumentError("tlog-proof: ends after the extra line");
  }
  if (line.substr(0, 6) != "index ") {
    return InvalidArgumentError("tlog-proof line " + Num(line_no) + ": want \"index N\"");
  }
  ARCA_ASSIGN_OR_RETURN(proof.index, ParseCanonicalDecimal(line.substr(6), "tlog-proof line " + Num(line_no)));
  for (;;) {
    if (!next_line(line)) return InvalidArgumentError("tlog-proof: no blank line before the checkpoint");
    if (line.empty()) break;
    const std::string where = "tlog-proof line " + Num(line_no) + " (proof hash)";
    if (proof.hashes.size() == kMaxProofHashes) {
      return ResourceExhaustedError("tlog-proof: more than " + Num(kMaxProofHashes) + " proof hashes");
    }
    ARCA_ASSIGN_OR_RETURN(Bytes h, DecodeCanonicalBase64(line, where));
    ARCA_ASSIGN_OR_RETURN(Hash hash, HashFromBytes(h, where));
    proof.hashes.push_back(hash);
  }
  auto note = ParseNote(text);
  if (!note.ok()) return note.status().WithContext("tlog-proof checkpoint (from line " + Num(line_no + 1) + ")");
  proof.checkpoint = std::string(text);
  return proof;
}

Result<std::string> SerializeTlogProof(const TlogProof& proof) {
  std::string out(kTlogProofHeader);
  out += '\n';
  if (proof.extra) out += "extra " + Base64Encode(*proof.extra) + "\n";
  out += "index " + Num(proof.index) + "\n";
  for (const Hash& h : proof.hashes) out += Base64Encode(h) + "\n";
  out += '\n';
  out += proof.checkpoint;
  ARCA_ASSIGN_OR_RETURN(TlogProof back, ParseTlogProof(out));
  if (!(back == proof)) return InvalidArgumentError("tlog-proof: would not parse back unchanged");
  return out;
}

Result<OpenedCheckpoint> VerifyTlogProof(const TlogProof& proof, const Hash& leaf_hash, const ProofPolicy& policy) {
  ARCA_ASSIGN_OR_RETURN(OpenedCheckpoint opened, OpenCheckpoint(proof.checkpoint, policy.checkpoint));
  const Checkpoint& cp = opened.checkpoint;
  const std::string what = "checkpoint " + cp.origin + " size " + Num(cp.size);
  if (!cp.time) return UnauthenticatedError("freeze: " + what + " carries no time line");
  if (*cp.time > policy.now + policy.max_future_s) {
    return UnauthenticatedError("freeze: " + what + " time " + Num(*cp.time) + " is ahead of now " +
                                Num(policy.now) + " by more than " + Num(policy.max_future_s) + " s");
  }
  if (policy.now - *cp.time > policy.max_age_s) {
    return UnauthenticatedError("freeze: " + what + " is " + Num(policy.now - *cp.time) +
                                " s old, more than the maximum age of " + Num(policy.max_age_s) + " s");
  }
  Status inclusion = VerifyInclusion(proof.index, cp.size, leaf_hash, proof.hashes, cp.root);
  if (!inclusion.ok()) {
    // Every inclusion failure is a refusal of the proof, whatever its cause.
    return UnauthenticatedError(inclusion.message().rfind("inclusion:", 0) == 0
                                    ? inclusion.message()
                                    : "inclusion: " + inclusion.message());
  }
  return opened;
}

Result<OpenedCheckpoint> VerifyTlogProofForEntry(const TlogProof& proof, ByteSpan entry, const ProofPolicy& policy) {
  return VerifyTlogProof(proof, HashLeaf(entry), policy);
}

Status CheckConsistency(const Checkpoint& older, const Checkpoint& newer, std::span<const Hash> proof) {
  if (older.origin != newer.origin) {
    return UnauthenticatedError("split-view: origins differ (" + older.origin + ", " + newer.origin + ")");
  }
  const std::string what = " (" + older.origin + " size " + Num(older.size) + " to " + Num(newer.size) + ")";
  if (newer.size < older.size) {
    return UnauthenticatedError("rollback: log shrank from size " + Num(older.size) + " to " + Num(newer.size) + what);
  }
  if (older.size == 0) {
    if (older.root != EmptyRoot()) return UnauthenticatedError("split-view: size 0 with a non-empty root" + what);
    if (!proof.empty()) return UnauthenticatedError("split-view: non-empty proof from the empty tree" + what);
    return Status::Ok();
  }
  Status s = VerifyConsistency(older.size, newer.size, proof, older.root, newer.root);
  if (!s.ok()) return UnauthenticatedError("split-view: " + s.message());
  return Status::Ok();
}

}  // namespace arca::tlog
