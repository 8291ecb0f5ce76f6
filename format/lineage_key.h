// LineageKey: the 256-bit secret of one model lineage, and every key Arca
// derives from it (specs/format.md §4).
//
// A lineage key never leaves the lab (and, later, the lab's key broker). From
// it come: the chunk-id key (chunk ids are keyed hashes, so a registry cannot
// test guesses about content), the gear-table key (chunk boundaries are not
// predictable without it), the manifest MAC key, the synthetic-nonce key and
// one AES-256-GCM key per chunk id. Holding one chunk key reveals nothing
// about other chunks or the lineage key (HKDF-Expand outputs are independent
// PRF outputs). The public lineage id is a PRF output too: it identifies the
// key without revealing it.
#ifndef ARCA_FORMAT_LINEAGE_KEY_H_
#define ARCA_FORMAT_LINEAGE_KEY_H_

#include <array>
#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/crypto.h"
#include "base/file_system.h"
#include "base/secret_bytes.h"
#include "base/status.h"

namespace arca::format {

inline constexpr std::size_t kLineageKeySize = 32;
inline constexpr std::size_t kChunkIdSize = 32;
using ChunkId = std::array<std::uint8_t, kChunkIdSize>;

class LineageKey {
 public:
  // Generate makes a fresh random key.
  static LineageKey Generate();
  // FromBytes wraps 32 secret bytes; InvalidArgument on another length.
  static Result<LineageKey> FromBytes(ByteSpan key);
  // Load reads a key file ("arca-lineage-key-v1 <64 hex>\n"); InvalidArgument
  // when malformed (the message never contains key bytes).
  static Result<LineageKey> Load(FileSystem& fs, const std::string& path);
  // SaveNew writes a key file with mode 0600, refusing (AlreadyExists) to
  // overwrite an existing file.
  Status SaveNew(FileSystem& fs, const std::string& path) const;

  LineageKey(LineageKey&&) = default;
  LineageKey& operator=(LineageKey&&) = default;

  // LineageId is the public 128-bit identifier of this key, as hex.
  const std::string& LineageId() const { return lineage_id_; }

  // ChunkIdOf returns HMAC-SHA256(chunk-id key, plaintext).
  ChunkId ChunkIdOf(ByteSpan plaintext) const;
  // ChunkKey derives the AES-256-GCM key of one chunk id.
  SecretBytes ChunkKey(const ChunkId& id) const;
  // SyntheticNonce is the first 12 bytes of HMAC(nonce key, id || encoding ||
  // encoded bytes): a key/nonce pair repeats only for identical input.
  std::array<std::uint8_t, crypto::kAesGcmNonceSize> SyntheticNonce(const ChunkId& id, std::uint8_t encoding,
                                                                    ByteSpan encoded) const;
  // ManifestMac is HMAC-SHA256(manifest MAC key, canonical manifest bytes).
  crypto::Sha256Digest ManifestMac(ByteSpan canonical_manifest) const;
  // ChunkKeyPrk is the HKDF PRK chunk keys are derived from (DeriveChunkKey).
  // The key broker stores it, encrypted, to release per-chunk keys; it is
  // as powerful as the lineage key itself.
  const SecretBytes& ChunkKeyPrk() const { return prk_; }
  // GearKey keys the chunker's gear table.
  ByteSpan GearKey() const { return gear_key_.Expose(); }

 private:
  LineageKey() = default;
  void Derive(ByteSpan key);

  SecretBytes raw_;
  SecretBytes prk_;
  SecretBytes id_key_;
  SecretBytes gear_key_;
  SecretBytes mac_key_;
  SecretBytes nonce_key_;
  std::string lineage_id_;
};

// ChunkKeyFromPrk is ChunkKey for holders of a per-lineage PRK only; exposed
// for the key broker, which releases per-chunk keys, never the lineage key.
SecretBytes DeriveChunkKey(ByteSpan prk, const ChunkId& id);

}  // namespace arca::format

#endif  // ARCA_FORMAT_LINEAGE_KEY_H_
