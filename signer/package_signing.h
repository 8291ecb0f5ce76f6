// Signing sealed packages: release signatures, provenance, countersignatures
// and release policies, stored as attachments (specs/format.md §3.1) and
// described in specs/signing.md §5.
//
// Adding a signature never changes what is signed: every statement's subject
// is the Arca manifest digest, and attachments live outside the manifest.
#ifndef ARCA_SIGNER_PACKAGE_SIGNING_H_
#define ARCA_SIGNER_PACKAGE_SIGNING_H_

#include <optional>
#include <string>
#include <vector>

#include "base/file_system.h"
#include "base/status.h"
#include "format/package.h"
#include "signer/documents.h"
#include "signer/dsse.h"
#include "signer/key_source.h"

namespace arca::signer {

// EnvelopeAttachment serializes an envelope as an attachment of `role`.
format::Attachment EnvelopeAttachment(std::string_view role, const DsseEnvelope& envelope);

// SignStatement returns a one-signature DSSE envelope over the statement.
Result<DsseEnvelope> SignStatement(Signer& signer, const Statement& statement);

// SealAttachments is the format::AttachFn for a signed seal: one release
// envelope per signer, and with `provenance` one provenance envelope per
// signer (its base model is the manifest's parent).
format::AttachFn SealAttachments(std::vector<Signer*> signers, std::optional<ProvenanceInput> provenance);

struct LoadedEnvelope {
  format::Descriptor descriptor;
  DsseEnvelope envelope;
};

// LoadEnvelopes reads and parses every attachment of `role` (digest-checked
// by the layout reader). Errors name the layer.
Result<std::vector<LoadedEnvelope>> LoadEnvelopes(const format::LoadedPackage& pkg, std::string_view role);

struct SignReport {
  std::vector<std::string> added;    // "release by <keyid>", ...
  std::vector<std::string> skipped;  // already signed by that key
};

// SignPackage adds, for each signer that has not yet signed them, a release
// envelope and (when the package carries provenance) a provenance envelope
// over the same provenance statement. InvalidArgument when the package's
// provenance envelopes disagree about the statement.
Result<SignReport> SignPackage(FileSystem& fs, const format::PackageRef& ref, const std::vector<Signer*>& signers);

// CountersignPackage appends an auditor's countersignature (never touching
// the lab's envelopes).
Status CountersignPackage(FileSystem& fs, const format::PackageRef& ref, Signer& signer, const std::string& note,
                          UnixSeconds now);

// AttachPolicy attaches a signed policy envelope, replacing an older
// attached policy. InvalidArgument when it is unsigned, not a policy, or for
// another package (subject); FailedPrecondition when the attached policy's
// version is newer or equal with different content (rollback refused).
Result<std::uint64_t> AttachPolicy(FileSystem& fs, const format::PackageRef& ref, const DsseEnvelope& policy);

// PolicyEnvelopeStatement decodes a policy envelope's statement and policy.
Result<Policy> DecodePolicyEnvelope(const DsseEnvelope& envelope);

}  // namespace arca::signer

#endif  // ARCA_SIGNER_PACKAGE_SIGNING_H_
