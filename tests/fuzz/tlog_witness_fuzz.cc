// Fuzz target: bytes -> a tlog-witness add-checkpoint body (tlog/witness.h),
// and the same bytes as a witness's answer (ParseCosignatureLines).
// Parsed requests must round-trip; Witness::AddCheckpoint, run against a
// fresh state that already holds a 2-entry checkpoint of the fuzz log, must
// answer one of the protocol's codes, and a 200 must carry a cosignature
// that verifies and a record of exactly the cosigned tree. The log key's
// seed is public (SHA-256("fuzz-log")) so seeds (make_witness_seed_corpus.py)
// can reach the cosigning path. Aborts when a property breaks.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/crypto.h"
#include "tlog/witness.h"

namespace {
using namespace arca::tlog;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "tlog_witness invariant broken: %s\n", what);
    std::abort();
  }
}

NoteSigner Key(std::string_view seed_text, std::string_view name, NoteSignatureType type) {
  const auto seed = arca::crypto::Sha256::Hash(arca::AsBytes(seed_text));
  auto k = NoteSigner::FromSeed(name, type, seed);
  Check(k.ok(), "fixed key");
  return std::move(*k);
}

Hash Leaf(std::string_view s) { return HashLeaf(arca::AsBytes(s)); }
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const NoteSigner& log_key = *new NoteSigner(Key("fuzz-log", "example.com/fuzz-log", NoteSignatureType::kEd25519));
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  auto req = ParseAddCheckpointRequest(body);
  if (req.ok()) {
    auto back = SerializeAddCheckpointRequest(*req);
    Check(back.ok() && *back == body, "request round trip");
  } else {
    auto code = req.status().code();
    Check(code == arca::StatusCode::kInvalidArgument || code == arca::StatusCode::kResourceExhausted, "parse error code");
  }

  // The log side reads a witness's 200 answer with ParseCosignatureLines:
  // what it accepts must be signature lines that serialize back.
  if (auto lines = ParseCosignatureLines(body); lines.ok()) {
    Check(!lines->empty(), "empty cosignature answer accepted");
    Check(SerializeNote(Note{"cosignatures\n", *lines}).ok(), "accepted cosignature lines do not serialize");
  }

  MemoryWitnessState state;
  WitnessedCheckpoint two{2, HashChildren(Leaf("a"), Leaf("b")), "", 1};
  Check(state.Put("example.com/fuzz-log", two).ok(), "seed state");
  NoteSigner wkey = Key("fuzz-witness", "example.com/fuzz-witness", NoteSignatureType::kCosignatureV1);
  const NoteVerifier wv = wkey.verifier();
  Witness witness(std::move(wkey), {log_key.verifier()}, state);
  WitnessAnswer a = witness.AddCheckpoint(body, 1767225600);
  switch (a.http_status) {
    case 400: case 403: case 404: case 409: case 422: break;
    case 200: {
      Check(req.ok(), "200 for a body that does not parse");
      auto note = ParseNote(req->checkpoint);
      auto cp = note.ok() ? ParseCheckpointBody(note->text) : arca::Result<Checkpoint>(arca::InternalError("x"));
      Check(cp.ok(), "200 for a checkpoint that does not parse");
      auto lines = ParseCosignatureLines(a.body);
      Check(lines.ok(), "200 body is not signature lines");
      Note cosigned{note->text, *lines};
      Check(VerifyNote(cosigned, std::span<const NoteVerifier>(&wv, 1)).ok(), "cosignature does not verify");
      auto rec = state.Latest(cp->origin);
      Check(rec.ok() && rec->has_value() && (*rec)->size == cp->size && (*rec)->root == cp->root, "record not updated");
      Check(cp->size >= 2, "cosigned a smaller tree than recorded");
      break;
    }
    default:
      Check(false, "unexpected status");
  }
  return 0;
}
