// `arca audit`: the evidence a compliance team needs about one repository,
// gathered into a self-contained bundle and verified from it, online or
// offline (specs/registry-client.md §9).
//
// An AuditBundle holds the log's verifier key, a signed checkpoint, every
// log entry of the repository with its inclusion proof, the namespace's
// registered root documents, and for each published version its OCI
// manifest and small blobs (config, Arca manifest, DSSE attachments: release
// signatures, provenance, policy, countersignatures). Packs are not included:
// they hold ciphertext and their digests are already in the signed manifest.
//
// What VerifyAuditBundle protects: every byte of the bundle is checked by
// something — the file must be the canonical JSON of its content; the
// checkpoint is signed by the log key the auditor supplies; each entry is
// included under it; each root document is one the log recorded and chains
// from the auditor's trusted root; each version's manifest is the one its
// publish entry names, each blob matches its digest, and the package's
// signatures, provenance and policy verify against the trusted root at the
// time the registry logged the publish. A change anywhere is refused with
// the check that failed.
//
// What it does not: a bundle shows the entries the registry listed for the
// repository; an entry the registry left out of its listing is caught only
// by a monitor reading the whole log. Key releases appear only when a key
// broker reports them to the registry's log.
#ifndef ARCA_CLIENT_AUDIT_H_
#define ARCA_CLIENT_AUDIT_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/file_system.h"
#include "base/json.h"
#include "base/status.h"
#include "base/time.h"
#include "format/oci_layout.h"
#include "signer/documents.h"
#include "signer/root.h"
#include "tlog/note.h"
#include "tlog/merkle.h"

namespace arca::client {

inline constexpr std::string_view kAuditBundleFormat = "arca-audit-bundle/v1";
inline constexpr std::uint64_t kMaxAuditBundleBytes = 256ull << 20;

struct AuditEntry {
  std::uint64_t index = 0;
  std::string entry;                  // canonical entry bytes (tlog/entries.h)
  std::vector<tlog::Hash> inclusion;  // audit path under the bundle's checkpoint
  friend bool operator==(const AuditEntry&, const AuditEntry&) = default;
};

struct AuditVersion {
  std::string manifest;                // OCI manifest digest
  Bytes oci_manifest;                  // its bytes
  std::map<std::string, Bytes> blobs;  // digest -> bytes: config, Arca manifest, attachments
  friend bool operator==(const AuditVersion&, const AuditVersion&) = default;
};

struct AuditBundle {
  std::string repository;
  std::string log_key;     // C2SP verifier key
  std::string checkpoint;  // signed note
  std::vector<AuditEntry> entries;
  std::vector<Bytes> roots;  // registered root documents of the namespace
  std::vector<AuditVersion> versions;
  friend bool operator==(const AuditBundle&, const AuditBundle&) = default;
};

// SerializeAuditBundle writes canonical JSON (RFC 8785), bytes as padded
// standard base64.
Result<std::string> SerializeAuditBundle(const AuditBundle& bundle);
// ParseAuditBundle is its strict inverse: InvalidArgument (naming the
// field) for malformed JSON, unknown or missing fields, non-canonical base64
// or JSON, a hash that is not 32 bytes; ResourceExhausted over
// kMaxAuditBundleBytes or 4096 entries / versions.
Result<AuditBundle> ParseAuditBundle(ByteSpan bytes);

// LogTrust is the log key an auditor trusts, the witness keys it trusts
// and how many of their cosignatures the checkpoint must carry.
struct LogTrust {
  std::string log_key;  // C2SP verifier key text
  std::vector<tlog::NoteVerifier> witnesses;
  std::size_t min_witnesses = 0;
};

// KeepTrustedSignatures drops from a signed checkpoint every signature not
// by the log key or a witness in `trust` (what a bundle keeps: a signature
// an auditor cannot check is noise that could hide a changed byte).
Result<std::string> KeepTrustedSignatures(std::string_view signed_note, const LogTrust& trust);

// VerifyAuditBundle checks everything (see above) and returns the audit
// report (JSON: versions with signers, countersignatures
// (CountersignatureReport) and provenance, policies over time,
// tag history, root rotations, key releases, each with its log index).
// `log` is what the auditor trusts of the log (its key, witness keys and
// the cosignatures required); every signature on the checkpoint must be by
// one of those keys, so nothing in the bundle goes unchecked. `scratch_dir` an empty
// directory for temporary layouts. Unauthenticated, message starting with
// the check's name ("log-key:", "checkpoint:", "inclusion:", "root:",
// "version <digest>:"), for anything that does not verify — including a
// countersignature that does not ("version <digest>: countersign[i]…"), as
// signer::VerifyPackage refuses it.
Result<Json> VerifyAuditBundle(FileSystem& fs, const AuditBundle& bundle, const signer::SignedRoot& trusted,
                               const LogTrust& log, const std::string& scratch_dir);

// CountersignatureReport describes every countersign attachment among
// `oci`'s layers, in layer order, so element i is what signer::VerifyPackage
// calls "countersign[i]" (specs/registry-client.md §9). Each element:
//   digest     the attachment's digest
//   keyId      the countersigner's KeyId (the key the predicate carries;
//              same form as a version's "signers"), null if unreadable
//   publicKey  that key as PEM, note, signedAt (RFC 3339): the predicate's
//              fields, null if unreadable
//   verified   true when the envelope holds one signature that verifies
//              over the statement with the embedded key AND the statement's
//              one subject is `subject` (a countersignature of another
//              package attached here is not verified)
//   problem    null, or the first failed check named as VerifyPackage
//              names it ("countersign[i].subject: …", ".signature", …)
// `blobs` maps digest to bytes and must hold every countersign layer (a
// missing one is reported, not thrown). Reads nothing else; never fails.
Json CountersignatureReport(const format::OciManifest& oci, const std::map<std::string, Bytes>& blobs,
                            const signer::PackageSubject& subject);

// CycloneDxFromReport builds a CycloneDX 1.6 ML-BOM: one
// machine-learning-model component per version (hashes, model card from the
// provenance), its datasets as data components, the base-model chain as
// dependencies. `serial_uuid` is "urn:uuid:…"; `timestamp` RFC 3339.
Json CycloneDxFromReport(const Json& report, const std::string& serial_uuid, const std::string& timestamp);
// SpdxFromReport builds an SPDX 3.0.1 JSON-LD document with the AI and
// Dataset profiles (ai_AIPackage, dataset_DatasetPackage, relationships).
Json SpdxFromReport(const Json& report, const std::string& doc_uuid, const std::string& timestamp);

}  // namespace arca::client

#endif  // ARCA_CLIENT_AUDIT_H_
