#include "tlog/merkle.h"

#include <algorithm>
#include <bit>
#include <string>

namespace arca::tlog {
namespace {

// Plan is a proof (or root) before any hash is read: each element is the
// fold, right to left, of a run of complete subtrees (RFC 9162 §2.1.1: the
// MTH of a range aligned on its own largest power of two is
// H(first, MTH(rest))).
using Plan = std::vector<std::vector<NodeId>>;

// RangeNodes decomposes leaves [begin, end) into complete subtrees, largest
// first. Callers pass ranges that start on a boundary of a power of two at
// least as large as end - begin, as every RFC 9162 subtree does.
std::vector<NodeId> RangeNodes(std::uint64_t begin, std::uint64_t end) {
  std::vector<NodeId> nodes;
  while (begin < end) {
    int level = 0;
    while (level < 63) {
      const std::uint64_t width = std::uint64_t{1} << (level + 1);
      if (begin % width != 0 || end - begin < width) break;
      ++level;
    }
    nodes.push_back(NodeId{static_cast<std::uint8_t>(level), begin >> level});
    begin += std::uint64_t{1} << level;
  }
  return nodes;
}

// LargestPowerOfTwoBelow is k with k < n <= 2k (n >= 2).
std::uint64_t LargestPowerOfTwoBelow(std::uint64_t n) { return std::bit_floor(n - 1); }

// PlanInclusion follows RFC 9162 §2.1.3.1 PATH(m, D[lo:hi]).
void PlanInclusion(std::uint64_t m, std::uint64_t lo, std::uint64_t hi, Plan& plan) {
  if (hi - lo <= 1) return;
  const std::uint64_t k = LargestPowerOfTwoBelow(hi - lo);
  if (m < lo + k) {
    PlanInclusion(m, lo, lo + k, plan);
    plan.push_back(RangeNodes(lo + k, hi));
  } else {
    PlanInclusion(m, lo + k, hi, plan);
    plan.push_back(RangeNodes(lo, lo + k));
  }
}

// PlanSubproof follows RFC 9162 §2.1.4.1 SUBPROOF(m, D[lo:hi], b), with m an
// absolute leaf count.
void PlanSubproof(std::uint64_t m, std::uint64_t lo, std::uint64_t hi, bool b, Plan& plan) {
  if (m == hi) {
    if (!b) plan.push_back(RangeNodes(lo, hi));
    return;
  }
  const std::uint64_t k = LargestPowerOfTwoBelow(hi - lo);
  if (m <= lo + k) {
    PlanSubproof(m, lo, lo + k, b, plan);
    plan.push_back(RangeNodes(lo + k, hi));
  } else {
    PlanSubproof(m, lo + k, hi, false, plan);
    plan.push_back(RangeNodes(lo, lo + k));
  }
}

// Execute reads every node of `plan` in one batch and folds each element.
Result<std::vector<Hash>> Execute(const HashReader& reader, const Plan& plan) {
  std::vector<NodeId> ids;
  for (const auto& element : plan) ids.insert(ids.end(), element.begin(), element.end());
  ARCA_ASSIGN_OR_RETURN(std::vector<Hash> hashes, reader.ReadHashes(ids));
  if (hashes.size() != ids.size()) {
    return InternalError("hash reader returned " + std::to_string(hashes.size()) + " hashes for " +
                         std::to_string(ids.size()) + " nodes");
  }
  std::vector<Hash> out;
  out.reserve(plan.size());
  std::size_t next = 0;
  for (const auto& element : plan) {
    const std::size_t first = next;
    next += element.size();
    Hash h = hashes[next - 1];
    for (std::size_t i = next - 1; i > first; --i) h = HashChildren(hashes[i - 1], h);
    out.push_back(h);
  }
  return out;
}

bool BytesEqual(ByteSpan a, const Hash& b) { return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin()); }

std::string Num(std::uint64_t v) { return std::to_string(v); }

}  // namespace

Hash HashLeaf(ByteSpan data) {
  crypto::Sha256 h;
  const std::uint8_t prefix = 0x00;
  h.Update(ByteSpan(&prefix, 1));
  h.Update(data);
  return h.Finish();
}

Hash HashChildren(const Hash& left, const Hash& right) {
  std::uint8_t buf[1 + 2 * kHashSize];
  buf[0] = 0x01;
  std::copy(left.begin(), left.end(), buf + 1);
  std::copy(right.begin(), right.end(), buf + 1 + kHashSize);
  return crypto::Sha256::Hash(ByteSpan(buf, sizeof(buf)));
}

Hash EmptyRoot() { return crypto::Sha256::Hash({}); }

Result<Hash> HashFromBytes(ByteSpan bytes, std::string_view what) {
  if (bytes.size() != kHashSize) {
    return InvalidArgumentError(std::string(what) + " is " + Num(bytes.size()) + " bytes, want 32");
  }
  Hash h;
  std::copy(bytes.begin(), bytes.end(), h.begin());
  return h;
}

Hash RootOfLeafHashes(std::span<const Hash> leaves) {
  if (leaves.empty()) return EmptyRoot();
  if (leaves.size() == 1) return leaves[0];
  const std::size_t k = LargestPowerOfTwoBelow(leaves.size());
  return HashChildren(RootOfLeafHashes(leaves.first(k)), RootOfLeafHashes(leaves.subspan(k)));
}

Result<Hash> TreeRoot(const HashReader& reader, std::uint64_t size) {
  if (size == 0) return EmptyRoot();
  Plan plan{RangeNodes(0, size)};
  ARCA_ASSIGN_OR_RETURN(std::vector<Hash> out, Execute(reader, plan));
  return out[0];
}

Result<std::vector<Hash>> InclusionProof(const HashReader& reader, std::uint64_t index, std::uint64_t size) {
  if (index >= size) {
    return InvalidArgumentError("inclusion proof: leaf index " + Num(index) + " is not below tree size " + Num(size));
  }
  Plan plan;
  PlanInclusion(index, 0, size, plan);
  return Execute(reader, plan);
}

Result<std::vector<Hash>> ConsistencyProof(const HashReader& reader, std::uint64_t size1, std::uint64_t size2) {
  if (size1 == 0 || size1 > size2) {
    return InvalidArgumentError("consistency proof: need 0 < size1 <= size2, got size1 " + Num(size1) + ", size2 " +
                                Num(size2));
  }
  Plan plan;
  PlanSubproof(size1, 0, size2, true, plan);
  return Execute(reader, plan);
}

Status VerifyInclusion(std::uint64_t index, std::uint64_t size, ByteSpan leaf_hash, std::span<const Hash> proof,
                       ByteSpan root) {
  if (leaf_hash.size() != kHashSize) {
    return InvalidArgumentError("inclusion: leaf hash is " + Num(leaf_hash.size()) + " bytes, want 32");
  }
  if (index >= size) {
    return InvalidArgumentError("inclusion: leaf index " + Num(index) + " is not below tree size " + Num(size));
  }
  if (proof.size() > kMaxProofHashes) {
    return InvalidArgumentError("inclusion: proof has " + Num(proof.size()) + " hashes, more than " +
                                Num(kMaxProofHashes));
  }
  const std::string where = " (leaf " + Num(index) + ", tree size " + Num(size) + ")";
  // RFC 9162 §2.1.3.2 steps 2-5.
  std::uint64_t fn = index;
  std::uint64_t sn = size - 1;
  Hash r;
  std::copy(leaf_hash.begin(), leaf_hash.end(), r.begin());
  for (const Hash& p : proof) {
    if (sn == 0) return UnauthenticatedError("inclusion: proof has more hashes than the path" + where);
    if ((fn & 1) != 0 || fn == sn) {
      r = HashChildren(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = HashChildren(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return UnauthenticatedError("inclusion: proof has fewer hashes than the path" + where);
  if (!BytesEqual(root, r)) return UnauthenticatedError("inclusion: proof does not lead to the root" + where);
  return Status::Ok();
}

Status VerifyConsistency(std::uint64_t size1, std::uint64_t size2, std::span<const Hash> proof, ByteSpan root1,
                         ByteSpan root2) {
  const std::string where = " (size " + Num(size1) + " to " + Num(size2) + ")";
  if (size1 > size2) return InvalidArgumentError("consistency: size1 is larger than size2" + where);
  if (size1 == 0) {
    return InvalidArgumentError("consistency: a proof from the empty tree proves nothing and is refused" + where);
  }
  if (proof.size() > kMaxProofHashes) {
    return InvalidArgumentError("consistency: proof has " + Num(proof.size()) + " hashes, more than " +
                                Num(kMaxProofHashes));
  }
  if (size1 == size2) {
    if (!proof.empty()) return UnauthenticatedError("consistency: proof between equal sizes must be empty" + where);
    if (root1.size() != root2.size() || !std::equal(root1.begin(), root1.end(), root2.begin())) {
      return UnauthenticatedError("consistency: roots of equal sizes differ" + where);
    }
    return Status::Ok();
  }
  // RFC 9162 §2.1.4.2.
  if (proof.empty()) return UnauthenticatedError("consistency: proof is empty" + where);
  std::vector<Hash> path;
  path.reserve(proof.size() + 1);
  if (std::has_single_bit(size1)) {
    if (root1.size() != kHashSize) return UnauthenticatedError("consistency: first root is not 32 bytes" + where);
    Hash h;
    std::copy(root1.begin(), root1.end(), h.begin());
    path.push_back(h);
  }
  path.insert(path.end(), proof.begin(), proof.end());
  std::uint64_t fn = size1 - 1;
  std::uint64_t sn = size2 - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0];
  Hash sr = path[0];
  for (std::size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return UnauthenticatedError("consistency: proof has more hashes than needed" + where);
    if ((fn & 1) != 0 || fn == sn) {
      fr = HashChildren(c, fr);
      sr = HashChildren(c, sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = HashChildren(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return UnauthenticatedError("consistency: proof has fewer hashes than needed" + where);
  if (!BytesEqual(root1, fr)) return UnauthenticatedError("consistency: proof does not lead to the first root" + where);
  if (!BytesEqual(root2, sr)) return UnauthenticatedError("consistency: proof does not lead to the second root" + where);
  return Status::Ok();
}

Result<CompactRange> CompactRange::FromFrontier(std::uint64_t size, std::vector<Hash> frontier) {
  if (static_cast<std::size_t>(std::popcount(size)) != frontier.size()) {
    return InvalidArgumentError("compact range: " + Num(frontier.size()) + " hashes for size " + Num(size) +
                                ", want " + Num(std::popcount(size)));
  }
  CompactRange r;
  r.size_ = size;
  r.frontier_ = std::move(frontier);
  return r;
}

Status CompactRange::Append(const Hash& leaf_hash, const NodeSink& sink) {
  if (size_ >= (std::uint64_t{1} << 63)) return ResourceExhaustedError("compact range: tree is full (2^63 leaves)");
  Hash h = leaf_hash;
  if (sink) sink(NodeId{0, size_}, h);
  // Each set low bit of the old size is a complete subtree of that level
  // waiting for a right sibling: merge until a clear bit.
  for (int level = 0; (size_ >> level) & 1; ++level) {
    h = HashChildren(frontier_.back(), h);
    frontier_.pop_back();
    if (sink) sink(NodeId{static_cast<std::uint8_t>(level + 1), size_ >> (level + 1)}, h);
  }
  frontier_.push_back(h);
  ++size_;
  return Status::Ok();
}

Hash CompactRange::Root() const {
  if (frontier_.empty()) return EmptyRoot();
  Hash h = frontier_.back();
  for (std::size_t i = frontier_.size() - 1; i > 0; --i) h = HashChildren(frontier_[i - 1], h);
  return h;
}

Result<std::uint64_t> MemoryTree::AppendLeaf(ByteSpan data) { return AppendLeafHash(HashLeaf(data)); }

Result<std::uint64_t> MemoryTree::AppendLeafHash(const Hash& leaf_hash) {
  const std::uint64_t index = range_.size();
  ARCA_RETURN_IF_ERROR(range_.Append(leaf_hash, [this](const NodeId& id, const Hash& h) {
    if (levels_.size() <= id.level) levels_.resize(id.level + 1);
    levels_[id.level].push_back(h);  // nodes of a level complete in index order
  }));
  return index;
}

Result<std::vector<Hash>> MemoryTree::ReadHashes(std::span<const NodeId> ids) const {
  std::vector<Hash> out;
  out.reserve(ids.size());
  for (const NodeId& id : ids) {
    if (id.level >= levels_.size() || id.index >= levels_[id.level].size()) {
      return NotFoundError("memory tree: no node at level " + Num(id.level) + " index " + Num(id.index) +
                           " in a tree of size " + Num(size()));
    }
    out.push_back(levels_[id.level][id.index]);
  }
  return out;
}

}  // namespace arca::tlog
