#include "tlog/checkpoint.h"

#include <algorithm>

#include "tlog/text.h"

namespace arca::tlog {
namespace {

std::string Num(std::uint64_t v) { return std::to_string(v); }

bool IsValidOrigin(std::string_view origin) { return IsValidKeyName(origin); }

}  // namespace

Result<Checkpoint> ParseCheckpointBody(std::string_view text) {
  if (text.empty() || text.back() != '\n') return InvalidArgumentError("checkpoint: does not end in a newline");
  std::vector<std::string_view> lines;
  std::string_view rest = text;
  while (!rest.empty()) {
    if (lines.size() == kMaxCheckpointLines) {
      return ResourceExhaustedError("checkpoint: more than " + Num(kMaxCheckpointLines) + " lines");
    }
    const std::size_t nl = rest.find('\n');
    lines.push_back(rest.substr(0, nl));
    rest.remove_prefix(nl + 1);
  }
  if (lines.size() < 3) return InvalidArgumentError("checkpoint: fewer than three lines");
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty()) return InvalidArgumentError("checkpoint line " + Num(i + 1) + ": empty");
    for (char c : lines[i]) {
      if (static_cast<unsigned char>(c) < 0x20) {
        return InvalidArgumentError("checkpoint line " + Num(i + 1) + ": control character");
      }
    }
  }
  Checkpoint cp;
  // Arca requires the origin to be usable as the log's key name.
  if (!IsValidOrigin(lines[0])) {
    return InvalidArgumentError("checkpoint line 1: origin contains a space, '+' or invalid UTF-8");
  }
  cp.origin = std::string(lines[0]);
  ARCA_ASSIGN_OR_RETURN(cp.size, ParseCanonicalDecimal(lines[1], "checkpoint line 2 (size)"));
  auto root = Base64Decode(lines[2]);
  if (!root.ok() || Base64Encode(*root) != lines[2]) {
    return InvalidArgumentError("checkpoint line 3 (root): not canonical standard padded base64");
  }
  ARCA_ASSIGN_OR_RETURN(cp.root, HashFromBytes(*root, "checkpoint line 3 (root)"));
  for (std::size_t i = 3; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    const bool looks_like_time = line.substr(0, 5) == "time " || line == "time";
    if (looks_like_time) {
      if (i != 3) return InvalidArgumentError("checkpoint line " + Num(i + 1) + ": time must be the first extension");
      ARCA_ASSIGN_OR_RETURN(std::uint64_t t, ParseCanonicalDecimal(line.substr(std::min<std::size_t>(5, line.size())),
                                                          "checkpoint line 4 (time)"));
      cp.time = static_cast<UnixSeconds>(t);
    } else {
      cp.extensions.emplace_back(line);
    }
  }
  return cp;
}

Result<std::string> SerializeCheckpointBody(const Checkpoint& cp) {
  if (!IsValidOrigin(cp.origin)) return InvalidArgumentError("checkpoint: invalid origin");
  if (cp.size > 0x7fffffffffffffffULL) return InvalidArgumentError("checkpoint: size not below 2^63");
  std::string out = cp.origin + "\n" + Num(cp.size) + "\n" + Base64Encode(cp.root) + "\n";
  if (cp.time) {
    if (*cp.time < 0) return InvalidArgumentError("checkpoint: negative time");
    out += "time " + Num(static_cast<std::uint64_t>(*cp.time)) + "\n";
  }
  for (const std::string& e : cp.extensions) {
    if (e.empty() || e.find('\n') != std::string::npos || e.substr(0, 5) == "time " || e == "time") {
      return InvalidArgumentError("checkpoint: extension line is empty, multi-line or a time line");
    }
    out += e + "\n";
  }
  ARCA_ASSIGN_OR_RETURN(Checkpoint back, ParseCheckpointBody(out));
  if (!(back == cp)) return InvalidArgumentError("checkpoint: would not parse back unchanged");
  return out;
}

Result<std::string> SignCheckpoint(const Checkpoint& checkpoint, const NoteSigner& log_key) {
  if (log_key.verifier().name() != checkpoint.origin) {
    return InvalidArgumentError("checkpoint: log key name " + log_key.verifier().name() + " is not the origin " +
                                checkpoint.origin);
  }
  ARCA_ASSIGN_OR_RETURN(std::string body, SerializeCheckpointBody(checkpoint));
  ARCA_ASSIGN_OR_RETURN(NoteSignature sig, log_key.Sign(body));
  return SerializeNote(Note{body, {sig}});
}

Result<OpenedCheckpoint> OpenCheckpoint(std::string_view signed_note, const CheckpointPolicy& policy) {
  ARCA_ASSIGN_OR_RETURN(Note note, ParseNote(signed_note));
  ARCA_ASSIGN_OR_RETURN(Checkpoint cp, ParseCheckpointBody(note.text));
  std::vector<NoteVerifier> known = policy.log_keys;
  known.insert(known.end(), policy.witnesses.begin(), policy.witnesses.end());
  auto verified = VerifyNote(note, known);
  if (!verified.ok()) return verified.status().WithContext("checkpoint " + cp.origin + " size " + Num(cp.size));
  OpenedCheckpoint out;
  bool log_signed = false;
  for (const VerifiedSignature& v : verified->verified) {
    const bool is_log = std::any_of(policy.log_keys.begin(), policy.log_keys.end(), [&](const NoteVerifier& k) {
      return k.name() == v.name && k.key_id() == v.key_id;
    });
    if (is_log) {
      log_signed = true;
    } else if (v.type == NoteSignatureType::kCosignatureV1) {
      out.cosigned.push_back(v);
    }
  }
  if (!log_signed) {
    return UnauthenticatedError("unknown-key: checkpoint " + cp.origin + " size " + Num(cp.size) +
                                " is not signed by a trusted log key");
  }
  // The origin is checked after the signature so a forged origin cannot
  // masquerade as a mere mismatch; both refuse.
  if (cp.origin != policy.origin) {
    return UnauthenticatedError("wrong-origin: checkpoint origin " + cp.origin + " is not " + policy.origin);
  }
  if (out.cosigned.size() < policy.min_witnesses) {
    return UnauthenticatedError("witnesses: checkpoint " + cp.origin + " size " + Num(cp.size) + " has " +
                                Num(out.cosigned.size()) + " trusted cosignatures, policy requires " +
                                Num(policy.min_witnesses));
  }
  out.checkpoint = std::move(cp);
  out.text = std::move(note.text);
  out.unknown_signatures = verified->unknown;
  return out;
}

Result<std::string> Cosign(std::string_view signed_note, const NoteSigner& witness, UnixSeconds timestamp) {
  if (timestamp < 0) return InvalidArgumentError("cosignature: negative time");
  ARCA_ASSIGN_OR_RETURN(Note note, ParseNote(signed_note));
  ARCA_ASSIGN_OR_RETURN(Checkpoint cp, ParseCheckpointBody(note.text));
  (void)cp;
  ARCA_ASSIGN_OR_RETURN(NoteSignature sig, witness.Cosign(note.text, static_cast<std::uint64_t>(timestamp)));
  // Replace an earlier cosignature by the same witness key.
  std::erase_if(note.signatures, [&](const NoteSignature& s) { return s.name == sig.name && s.key_id == sig.key_id; });
  note.signatures.push_back(std::move(sig));
  return SerializeNote(note);
}

}  // namespace arca::tlog
