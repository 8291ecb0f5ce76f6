// The client's side of the registry's transparency log (specs/log.md §7,
// specs/registry-client.md §8): the per-registry state it keeps (the log's
// key, pinned at first contact, the last checkpoint it accepted and the
// version it last installed per tag), and OpenLog, which fetches a fresh
// signed checkpoint and the entries of one repository and checks them.
//
// What this protects: a registry that rolls its log back, forks it (shows
// this client a history that does not extend the one it saw), serves a stale
// head (freeze), or claims entries it did not commit to, is refused, and the
// state is left as it was so a later retry can still tell. With the tag
// record, a tag moved back to an older version is refused (rollback).
//
// What it does not: the first contact trusts the key the registry presents
// (trust on first use) unless the user pinned one (`arca trust log`); a
// registry can omit entries from a repository's listing (monitors reading
// the whole log catch that, a client cannot); two clients that never compare
// checkpoints are protected from a split view only by witnesses.
#ifndef ARCA_DISTRIBUTION_LOG_CLIENT_H_
#define ARCA_DISTRIBUTION_LOG_CLIENT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/file_system.h"
#include "base/status.h"
#include "base/time.h"
#include "distribution/config.h"
#include "distribution/registry_client.h"
#include "tlog/checkpoint.h"
#include "tlog/entries.h"
#include "tlog/merkle.h"

namespace arca::distribution {

inline constexpr std::string_view kLogApiPrefix = "/arca/v1/log/";
inline constexpr std::uint64_t kMaxLogStateBytes = 1 << 20;
inline constexpr std::uint64_t kMaxLogEntriesBytes = 16 << 20;

// TagSeen is the version a tag resolved to when this client last installed it.
struct TagSeen {
  std::string manifest;       // OCI manifest digest
  std::uint64_t publish_index = 0;  // log index of its publish entry (orders versions)
  friend bool operator==(const TagSeen&, const TagSeen&) = default;
};

// kMaxTrustedWitnesses bounds the witness keys a client keeps per registry.
inline constexpr std::size_t kMaxTrustedWitnesses = 32;

// LogState is logs/<registry>.json under the config directory.
struct LogState {
  std::string registry;
  std::string log_key;     // C2SP verifier key text
  std::string checkpoint;  // the last accepted signed checkpoint, verbatim
  std::map<std::string, TagSeen> tags;  // "repository:tag"
  std::vector<std::string> witnesses;   // trusted witness verifier keys (type 0x04)
  std::size_t min_witnesses = 0;        // cosignatures required from them
  friend bool operator==(const LogState&, const LogState&) = default;
};

std::string LogStatePath(const Paths& paths, const std::string& registry);
// ParseLogState / SerializeLogState: strict JSON {"registry", "logKey",
// "checkpoint", "tags": {"repo:tag": {"manifest", "publishIndex"}},
// "witnesses": [vkey...], "minWitnesses": N} (the last two optional, for
// files written before witnesses existed; minWitnesses ≤ witnesses).
// InvalidArgument naming the field; ResourceExhausted over the size bound.
Result<LogState> ParseLogState(ByteSpan bytes);
Result<std::string> SerializeLogState(const LogState& state);
// LoadLogState: nullopt when this client never talked to the registry's
// log; InvalidArgument (naming the file) when the file is damaged.
Result<std::optional<LogState>> LoadLogState(FileSystem& fs, const Paths& paths, const std::string& registry);
// SaveLogState writes atomically (temporary, fsync, rename), mode 0600.
[[nodiscard]] Status SaveLogState(FileSystem& fs, const Paths& paths, const LogState& state);

// VerifiedEntry is a repository's entry whose inclusion under the head was
// verified.
struct VerifiedEntry {
  std::uint64_t index = 0;
  std::string bytes;
  tlog::LogEntry entry;
  std::vector<tlog::Hash> inclusion;  // audit path under the head
};

struct LogCheckOptions {
  UnixSeconds now = 0;
  std::int64_t max_age_s = 86400;   // freeze: oldest checkpoint accepted
  std::int64_t max_future_s = 300;  // clock skew tolerated
  // Cosignatures required from the state's trusted witnesses; unset: the
  // state's minWitnesses.
  std::optional<std::size_t> min_witnesses;
};

// LogView is what OpenLog verified.
struct LogView {
  std::string log_key;  // verifier key text used
  bool key_pinned_now = false;  // first contact: the key was learned now
  tlog::OpenedCheckpoint head;
  std::string head_note;  // the signed checkpoint, verbatim
  std::optional<tlog::Checkpoint> previous;  // the checkpoint it extends
  std::vector<VerifiedEntry> entries;        // of the repository, in log order
};

// OpenLog fetches the registry's signed checkpoint and checks, in order:
// signature by the pinned (or, at first contact, the served) log key and
// origin = the key's name (bad-signature / unknown-key / wrong-origin),
// the required witness cosignatures from the state's witnesses (witnesses),
// freshness (freeze), consistency with state->checkpoint from tiles
// (rollback / split-view), then fetches the entries of `repository` (and
// its namespace's root entries) and verifies each one's inclusion
// (inclusion); entries listed beyond the checkpoint's size (appended after
// it was signed) are left out. Every refusal is Unauthenticated with the check's name first;
// transport failures keep their codes.
Result<LogView> OpenLog(RegistryClient& client, const std::optional<LogState>& state, const std::string& repository,
                        const LogCheckOptions& options);

// TrustedWitnesses parses the state's witness keys. InvalidArgument naming a
// damaged key.
Result<std::vector<tlog::NoteVerifier>> TrustedWitnesses(const std::optional<LogState>& state);

// IsLogRefusal: an Unauthenticated status from OpenLog's checks (what the
// CLI reports with its own exit code).
bool IsLogRefusal(const Status& status);

// TlogProofFor writes the tlog-proof@v1 text of a verified entry under the
// view's head (what `arca pull` saves beside the installed package).
Result<std::string> TlogProofFor(const LogView& view, const VerifiedEntry& entry);

}  // namespace arca::distribution

#endif  // ARCA_DISTRIBUTION_LOG_CLIENT_H_
