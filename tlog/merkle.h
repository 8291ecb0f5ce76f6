// RFC 9162 Merkle trees: hashing, roots, inclusion and consistency proofs.
//
// What this protects: a verified inclusion proof shows that a leaf hash is at
// a given index of the tree whose root is given; a verified consistency proof
// shows that the tree of size1 is a prefix of the tree of size2. Together with
// a signed root (a checkpoint) they let a client detect a log that drops,
// reorders or rewrites entries.
//
// What it does not protect: a root is only as good as the signature and the
// gossip around it (see checkpoint.h and proof.h); this file proves nothing
// about a root it is handed. Proof *generation* reads hashes from a
// HashReader it trusts; a wrong hash yields a proof that fails to verify,
// never a false acceptance on the verifier's side.
//
// Spec: RFC 9162 §2.1 (https://www.rfc-editor.org/rfc/rfc9162#section-2.1):
// leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right), the
// empty tree's root is SHA-256(""). Verification follows §2.1.3.2 and
// §2.1.4.2 step by step, plus two input checks of transparency-dev/merkle
// (a leaf hash must be 32 bytes; a consistency proof from size 0 is refused).
//
// All functions are thread-safe; MemoryTree is not safe for concurrent
// appends (readers may share a const one).
#ifndef ARCA_TLOG_MERKLE_H_
#define ARCA_TLOG_MERKLE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/crypto.h"
#include "base/status.h"

namespace arca::tlog {

inline constexpr std::size_t kHashSize = 32;
using Hash = crypto::Sha256Digest;

// kMaxProofHashes bounds every proof this library parses or verifies: a tree
// of fewer than 2^64 leaves needs at most 64 inclusion hashes and at most
// 2 * 64 consistency hashes.
inline constexpr std::size_t kMaxProofHashes = 128;

// HashLeaf is RFC 9162 §2.1.1 MTH of one entry: SHA-256(0x00 || data).
Hash HashLeaf(ByteSpan data);

// HashChildren is SHA-256(0x01 || left || right).
Hash HashChildren(const Hash& left, const Hash& right);

// EmptyRoot is the root of the empty tree, SHA-256("").
Hash EmptyRoot();

// HashFromBytes takes exactly 32 bytes; InvalidArgument naming `what`
// otherwise.
Result<Hash> HashFromBytes(ByteSpan bytes, std::string_view what);

// RootOfLeafHashes computes MTH over `leaves` directly by the RFC's
// recursion (reference implementation; O(n) time, O(log n) stack).
Hash RootOfLeafHashes(std::span<const Hash> leaves);

// NodeId names a complete subtree: the hash of leaves
// [index << level, (index + 1) << level). Level 0 is the leaf hashes.
struct NodeId {
  std::uint8_t level = 0;
  std::uint64_t index = 0;
  friend bool operator==(const NodeId&, const NodeId&) = default;
};

// HashReader is where proof generation reads complete-subtree hashes from:
// memory (MemoryTree), a database, or tiles (tiles.h). Implementations must
// be safe to call from one thread at a time at least; they say more.
class HashReader {
 public:
  virtual ~HashReader() = default;
  // ReadHashes returns the hash of each of `ids`, in order. NotFound when a
  // node does not exist (yet); other codes as the backing store reports.
  [[nodiscard]] virtual Result<std::vector<Hash>> ReadHashes(std::span<const NodeId> ids) const = 0;
};

// TreeRoot returns the root of the first `size` leaves, reading at most
// log2(size) + 1 hashes. Errors from the reader pass through.
Result<Hash> TreeRoot(const HashReader& reader, std::uint64_t size);

// InclusionProof returns the RFC 9162 §2.1.3.1 audit path for leaf `index`
// in the tree of `size` leaves (leaf's sibling first). InvalidArgument when
// index >= size; reader errors pass through. O(log size) hashes read.
Result<std::vector<Hash>> InclusionProof(const HashReader& reader, std::uint64_t index, std::uint64_t size);

// ConsistencyProof returns the RFC 9162 §2.1.4.1 proof that the tree of
// size1 is a prefix of the tree of size2. InvalidArgument unless
// 0 < size1 <= size2; an empty proof for size1 == size2.
Result<std::vector<Hash>> ConsistencyProof(const HashReader& reader, std::uint64_t size1, std::uint64_t size2);

// VerifyInclusion checks an audit path (RFC 9162 §2.1.3.2). `root` is
// compared as bytes. Codes: InvalidArgument when leaf_hash is not 32 bytes,
// index >= size or the proof exceeds kMaxProofHashes; Unauthenticated when
// the path is too long or too short for (index, size) or does not lead to
// `root`. Messages start with "inclusion:".
Status VerifyInclusion(std::uint64_t index, std::uint64_t size, ByteSpan leaf_hash,
                       std::span<const Hash> proof, ByteSpan root);

// VerifyConsistency checks a consistency proof (RFC 9162 §2.1.4.2). Roots
// are compared as bytes. Codes: InvalidArgument when size1 > size2, size1 is
// 0 (a proof from the empty tree proves nothing and is refused) or the
// proof exceeds kMaxProofHashes; Unauthenticated when the proof is empty
// where it must not be, non-empty where it must be, has the wrong length,
// or does not lead to both roots. Messages start with "consistency:".
Status VerifyConsistency(std::uint64_t size1, std::uint64_t size2, std::span<const Hash> proof,
                         ByteSpan root1, ByteSpan root2);

// NodeSink receives each complete subtree as an append completes it (leaf
// first, then each parent), so a store can persist exactly those nodes.
using NodeSink = std::function<void(const NodeId&, const Hash&)>;

// CompactRange is the frontier of an append-only tree: one hash per set bit
// of size (largest subtree first). Append is O(log n) hashes and Root is
// O(log n); it holds O(log n) memory. Not thread-safe.
class CompactRange {
 public:
  CompactRange() = default;

  // FromFrontier restores a range saved with size() and frontier().
  // InvalidArgument when the hash count is not popcount(size).
  static Result<CompactRange> FromFrontier(std::uint64_t size, std::vector<Hash> frontier);

  // Append adds one leaf hash and reports each completed node to `sink`
  // (when set). Fails with ResourceExhausted at 2^63 leaves.
  Status Append(const Hash& leaf_hash, const NodeSink& sink = nullptr);

  // Root is the tree's root (EmptyRoot() for size 0).
  Hash Root() const;

  std::uint64_t size() const { return size_; }
  const std::vector<Hash>& frontier() const { return frontier_; }

 private:
  std::uint64_t size_ = 0;
  std::vector<Hash> frontier_;
};

// MemoryTree keeps every complete-subtree hash in memory (2n hashes for n
// leaves) and serves them as a HashReader. Appends are O(log n). Not
// thread-safe for appends; const methods may run concurrently.
class MemoryTree : public HashReader {
 public:
  // AppendLeaf hashes `data` as a leaf, appends it and returns its index.
  Result<std::uint64_t> AppendLeaf(ByteSpan data);
  // AppendLeafHash appends a precomputed leaf hash and returns its index.
  Result<std::uint64_t> AppendLeafHash(const Hash& leaf_hash);

  std::uint64_t size() const { return range_.size(); }
  // Root is the current root in O(log n).
  Hash Root() const { return range_.Root(); }

  Result<std::vector<Hash>> ReadHashes(std::span<const NodeId> ids) const override;

 private:
  std::vector<std::vector<Hash>> levels_;
  CompactRange range_;
};

}  // namespace arca::tlog

#endif  // ARCA_TLOG_MERKLE_H_
