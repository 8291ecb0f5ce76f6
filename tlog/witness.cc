#include "tlog/witness.h"

#include <algorithm>

#include "tlog/text.h"

namespace arca::tlog {
namespace {

std::string Num(std::uint64_t v) { return std::to_string(v); }

// A fixed one-line text to borrow the note serializer for bare signature lines.
constexpr std::string_view kLinesCarrier = "cosignatures\n";

WitnessAnswer Answer(int status, std::string body) {
  WitnessAnswer a;
  a.http_status = status;
  a.body = std::move(body);
  if (a.body.empty() || a.body.back() != '\n') a.body += '\n';
  return a;
}

WitnessAnswer Conflict(std::uint64_t recorded) {
  WitnessAnswer a;
  a.http_status = 409;
  a.content_type = std::string(kTlogSizeContentType);
  a.body = Num(recorded) + "\n";
  return a;
}

// Printable, bounded text of a peer's answer for an error message.
std::string Excerpt(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, 200)) out += (c >= 0x20 && c < 0x7f) ? c : ' ';
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

Result<AddCheckpointRequest> ParseAddCheckpointRequest(std::string_view body) {
  if (body.size() > kMaxAddCheckpointBytes) {
    return ResourceExhaustedError("add-checkpoint: " + Num(body.size()) + " bytes, more than " +
                                  Num(kMaxAddCheckpointBytes));
  }
  AddCheckpointRequest req;
  std::size_t line_no = 0;
  auto next_line = [&](std::string_view& line) -> bool {
    const std::size_t nl = body.find('\n');
    if (nl == std::string_view::npos) return false;
    line = body.substr(0, nl);
    body.remove_prefix(nl + 1);
    ++line_no;
    return true;
  };
  std::string_view line;
  if (!next_line(line) || line.substr(0, 4) != "old ") {
    return InvalidArgumentError("add-checkpoint line 1: want \"old <size>\"");
  }
  ARCA_ASSIGN_OR_RETURN(req.old_size, ParseCanonicalDecimal(line.substr(4), "add-checkpoint line 1 (old size)"));
  for (;;) {
    if (!next_line(line)) return InvalidArgumentError("add-checkpoint: no blank line before the checkpoint");
    if (line.empty()) break;
    if (req.proof.size() == kMaxWitnessProofHashes) {
      return ResourceExhaustedError("add-checkpoint: more than " + Num(kMaxWitnessProofHashes) + " proof lines");
    }
    const std::string where = "add-checkpoint line " + Num(line_no) + " (proof hash)";
    ARCA_ASSIGN_OR_RETURN(Bytes h, DecodeCanonicalBase64(line, where));
    ARCA_ASSIGN_OR_RETURN(Hash hash, HashFromBytes(h, where));
    req.proof.push_back(hash);
  }
  auto note = ParseNote(body);
  if (!note.ok()) return note.status().WithContext("add-checkpoint checkpoint (from line " + Num(line_no + 1) + ")");
  req.checkpoint = std::string(body);
  return req;
}

Result<std::string> SerializeAddCheckpointRequest(const AddCheckpointRequest& request) {
  std::string out = "old " + Num(request.old_size) + "\n";
  for (const Hash& h : request.proof) out += Base64Encode(h) + "\n";
  out += '\n';
  out += request.checkpoint;
  ARCA_ASSIGN_OR_RETURN(AddCheckpointRequest back, ParseAddCheckpointRequest(out));
  if (!(back == request)) return InvalidArgumentError("add-checkpoint: would not parse back unchanged");
  return out;
}

Result<std::vector<NoteSignature>> ParseCosignatureLines(std::string_view body) {
  if (body.empty()) return InvalidArgumentError("cosignature answer: empty");
  std::string note(kLinesCarrier);
  note += '\n';
  note += body;
  auto parsed = ParseNote(note);
  if (!parsed.ok()) return parsed.status().WithContext("cosignature answer");
  if (parsed->text != kLinesCarrier) return InvalidArgumentError("cosignature answer: not only signature lines");
  return std::move(parsed->signatures);
}

// --- witness ---------------------------------------------------------------

Witness::Witness(NoteSigner key, std::vector<NoteVerifier> log_keys, WitnessState& state)
    : key_(std::move(key)), log_keys_(std::move(log_keys)), state_(state) {}

std::vector<std::string> Witness::Origins() const {
  std::vector<std::string> out;
  for (const auto& k : log_keys_) {
    if (std::find(out.begin(), out.end(), k.name()) == out.end()) out.push_back(k.name());
  }
  return out;
}

WitnessAnswer Witness::AddCheckpoint(std::string_view body, UnixSeconds now) {
  auto req = ParseAddCheckpointRequest(body);
  if (!req.ok()) return Answer(400, req.status().message());
  auto note = ParseNote(req->checkpoint);
  if (!note.ok()) return Answer(400, note.status().message());
  auto cp = ParseCheckpointBody(note->text);
  if (!cp.ok()) return Answer(400, cp.status().message());

  // A log is known by its origin; Arca log keys are named after it.
  std::vector<NoteVerifier> keys;
  for (const auto& k : log_keys_) {
    if (k.name() == cp->origin && k.type() == NoteSignatureType::kEd25519) keys.push_back(k);
  }
  if (keys.empty()) return Answer(404, "unknown log origin " + cp->origin.substr(0, 256) + ": this witness does not witness it");
  auto verified = VerifyNote(*note, keys);
  if (!verified.ok()) return Answer(403, "checkpoint of " + cp->origin + ": " + verified.status().message());
  if (req->old_size > cp->size) {
    return Answer(400, "old size " + Num(req->old_size) + " is larger than the checkpoint's " + Num(cp->size));
  }
  if (req->old_size == 0 && !req->proof.empty()) return Answer(400, "a consistency proof from size 0 must be empty");

  std::lock_guard<std::mutex> lock(mu_);
  auto latest = state_.Latest(cp->origin);
  if (!latest.ok()) return Answer(500, "witness state: " + latest.status().message());
  const std::uint64_t recorded = *latest ? (*latest)->size : 0;
  auto refuse = [&](WitnessAnswer answer, const std::string& why) {
    // Validly signed by the log yet inconsistent with what it showed before:
    // kept as evidence (a failure to record does not change the answer).
    (void)state_.RecordRefusal(cp->origin, body, why, now);
    return answer;
  };
  if (req->old_size != recorded) {
    if (cp->size < recorded) {
      return refuse(Conflict(recorded), "rollback: checkpoint of " + Num(cp->size) + " entries after one of " +
                                            Num(recorded) + " was cosigned");
    }
    return Conflict(recorded);
  }
  if (req->old_size == cp->size) {
    const Hash want = *latest ? (*latest)->root : EmptyRoot();
    if (!req->proof.empty()) return Answer(400, "a consistency proof between equal sizes must be empty");
    if (cp->root != want) {
      return refuse(Conflict(recorded), "split-view: two roots for " + Num(cp->size) + " entries");
    }
  } else if (req->old_size > 0) {
    Status c = VerifyConsistency(req->old_size, cp->size, req->proof, (*latest)->root, cp->root);
    if (!c.ok()) {
      return refuse(Answer(422, "consistency proof from " + Num(req->old_size) + " to " + Num(cp->size) +
                                    " entries does not verify: " + c.message()),
                    "split-view: consistency proof from " + Num(req->old_size) + " to " + Num(cp->size) + " fails");
    }
  }
  auto sig = key_.Cosign(note->text, static_cast<std::uint64_t>(std::max<UnixSeconds>(now, 0)));
  if (!sig.ok()) return Answer(500, "cosigning: " + sig.status().message());
  WitnessedCheckpoint record{cp->size, cp->root, req->checkpoint, now};
  if (Status s = state_.Put(cp->origin, record); !s.ok()) return Answer(500, "witness state: " + s.message());
  auto lines = SerializeNote(Note{std::string(kLinesCarrier), {*sig}});
  if (!lines.ok()) return Answer(500, lines.status().message());
  WitnessAnswer ok;
  ok.http_status = 200;
  ok.body = lines->substr(kLinesCarrier.size() + 1);
  return ok;
}

Result<std::optional<WitnessedCheckpoint>> MemoryWitnessState::Latest(const std::string& origin) {
  for (const auto& [o, c] : records_) {
    if (o == origin) return std::optional<WitnessedCheckpoint>(c);
  }
  return std::optional<WitnessedCheckpoint>();
}

Status MemoryWitnessState::Put(const std::string& origin, const WitnessedCheckpoint& checkpoint) {
  for (auto& [o, c] : records_) {
    if (o == origin) {
      c = checkpoint;
      return Status::Ok();
    }
  }
  records_.emplace_back(origin, checkpoint);
  return Status::Ok();
}

Status MemoryWitnessState::RecordRefusal(const std::string&, std::string_view, std::string_view, UnixSeconds) {
  ++refusals_;
  return Status::Ok();
}

// --- the log's side ----------------------------------------------------------

Result<NoteSignature> RequestCosignature(std::string_view signed_checkpoint, const NoteVerifier& witness,
                                         const ConsistencyProver& prover, const WitnessPoster& post,
                                         std::uint64_t* known_size) {
  ARCA_ASSIGN_OR_RETURN(Note note, ParseNote(signed_checkpoint));
  ARCA_ASSIGN_OR_RETURN(Checkpoint cp, ParseCheckpointBody(note.text));
  const std::string who = "witness " + witness.name();
  std::uint64_t from = *known_size;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (from > cp.size) {
      return FailedPreconditionError(who + " has cosigned " + Num(from) + " entries of " + cp.origin + ", more than the " +
                                     Num(cp.size) + " this log now has: the log was rolled back or forked");
    }
    AddCheckpointRequest req;
    req.old_size = from;
    req.checkpoint = std::string(signed_checkpoint);
    if (from > 0 && from < cp.size) {
      ARCA_ASSIGN_OR_RETURN(req.proof, prover(from, cp.size));
    }
    ARCA_ASSIGN_OR_RETURN(std::string body, SerializeAddCheckpointRequest(req));
    ARCA_ASSIGN_OR_RETURN(WitnessAnswer answer, post(body));
    if (answer.http_status == 409 && answer.content_type.rfind(kTlogSizeContentType, 0) == 0 && attempt == 0) {
      std::string_view size = answer.body;
      if (!size.empty() && size.back() == '\n') size.remove_suffix(1);
      ARCA_ASSIGN_OR_RETURN(std::uint64_t theirs, ParseCanonicalDecimal(size, who + " 409 answer"));
      *known_size = theirs;
      if (theirs == from) break;  // same size, another root: a retry cannot help
      from = theirs;
      continue;
    }
    if (answer.http_status != 200) {
      return FailedPreconditionError(who + " refused the checkpoint of " + Num(cp.size) + " entries (HTTP " +
                                     Num(static_cast<std::uint64_t>(answer.http_status)) + "): " + Excerpt(answer.body));
    }
    ARCA_ASSIGN_OR_RETURN(std::vector<NoteSignature> lines, ParseCosignatureLines(answer.body));
    Note cosigned{note.text, lines};
    auto v = VerifyNote(cosigned, std::span<const NoteVerifier>(&witness, 1));
    if (!v.ok()) return UnauthenticatedError(who + " answered without a valid cosignature: " + v.status().message());
    for (const NoteSignature& s : lines) {
      if (s.name == witness.name() && s.key_id == witness.key_id()) {
        *known_size = cp.size;
        return s;
      }
    }
  }
  return FailedPreconditionError(who + " holds another tree of " + Num(*known_size) + " entries of " + cp.origin +
                                 " (409 Conflict): this log showed it a different history");
}

}  // namespace arca::tlog
