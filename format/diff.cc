#include "format/diff.h"

#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace arca::format {
namespace {

std::string IdKey(const ChunkId& id) { return std::string(reinterpret_cast<const char*>(id.data()), id.size()); }

// Chunks of `f` (indexes into m.chunks) overlapping [begin, end) of the file.
std::vector<std::uint32_t> ChunksIn(const Manifest& m, const FileEntry& f, std::uint64_t begin, std::uint64_t end) {
  std::vector<std::uint32_t> out;
  std::uint64_t pos = 0;
  for (std::uint32_t c : f.chunks) {
    std::uint64_t next = pos + m.chunks[c].size;
    if (next > begin && pos < end) out.push_back(c);
    if (next >= end) break;
    pos = next;
  }
  return out;
}

}  // namespace

const char* ChangeKindName(ChangeKind k) {
  switch (k) {
    case ChangeKind::kUnchanged: return "unchanged";
    case ChangeKind::kChanged: return "changed";
    case ChangeKind::kAdded: return "added";
    case ChangeKind::kRemoved: return "removed";
  }
  return "unknown";
}

ManifestDiff DiffManifests(const Manifest& a, const Manifest& b) {
  ManifestDiff d;
  d.same_lineage = a.lineage_id == b.lineage_id;
  std::unordered_set<std::string> a_ids;
  if (d.same_lineage) {
    for (const auto& c : a.chunks) a_ids.insert(IdKey(c.id));
  }
  std::set<std::string> a_packs;
  for (const auto& p : a.packs) a_packs.insert(p.digest);
  for (const auto& p : b.packs) {
    d.pack_bytes_b += p.size;
    if (!a_packs.count(p.digest)) d.update_pack_bytes += p.size;
  }
  // Records B needs and A lacks, each counted once across the whole diff
  // (a chunk repeated in B, or a base shared by many deltas, costs once).
  std::vector<bool> counted(b.chunks.size(), false);
  auto cost = [&](const std::vector<std::uint32_t>& chunks, std::uint64_t* delta_chunks) {
    std::uint64_t bytes = 0;
    for (std::uint32_t c : chunks) {
      for (std::uint32_t k : DeltaChain(b, c)) {
        if (counted[k]) continue;
        counted[k] = true;
        d.record_bytes_needed += b.chunks[k].length;
        if (a_ids.count(IdKey(b.chunks[k].id))) continue;
        bytes += b.chunks[k].length;
        if (delta_chunks && b.chunks[k].base) ++*delta_chunks;
      }
    }
    return bytes;
  };
  std::map<std::string, const FileEntry*> a_files;
  for (const auto& f : a.files) a_files[f.path] = &f;
  for (const auto& fb : b.files) {
    d.plaintext_bytes_b += fb.size;
    FileDiff fd;
    fd.path = fb.path;
    fd.size_b = fb.size;
    auto it = a_files.find(fb.path);
    const FileEntry* fa = it == a_files.end() ? nullptr : it->second;
    if (fa) {
      fd.size_a = fa->size;
      fd.kind = fa->sha256 == fb.sha256 ? ChangeKind::kUnchanged : ChangeKind::kChanged;
    } else {
      fd.kind = ChangeKind::kAdded;
    }
    std::map<std::string, const TensorInfo*> a_tensors;
    if (fa) {
      for (const auto& t : fa->tensors) a_tensors[t.name] = &t;
    }
    std::set<std::string> b_names;
    for (const auto& t : fb.tensors) {
      b_names.insert(t.name);
      TensorDiff td;
      td.name = t.name;
      td.dtype = t.dtype;
      td.shape = t.shape;
      td.bytes = t.end - t.begin;
      std::vector<std::uint32_t> cb = ChunksIn(b, fb, t.begin, t.end);
      td.update_bytes = cost(cb, &td.delta_chunks);
      auto at = a_tensors.find(t.name);
      if (at == a_tensors.end()) {
        td.kind = ChangeKind::kAdded;
      } else {
        const TensorInfo& ta = *at->second;
        td.reshaped = ta.dtype != t.dtype || ta.shape != t.shape;
        bool same = !td.reshaped && d.same_lineage;
        if (same) {
          std::vector<std::uint32_t> ca = ChunksIn(a, *fa, ta.begin, ta.end);
          same = ca.size() == cb.size();
          for (std::size_t k = 0; same && k < ca.size(); ++k) same = a.chunks[ca[k]].id == b.chunks[cb[k]].id;
        }
        td.kind = same ? ChangeKind::kUnchanged : ChangeKind::kChanged;
      }
      if (td.kind == ChangeKind::kUnchanged) {
        ++fd.tensors_unchanged;
      } else {
        fd.tensors.push_back(std::move(td));
      }
    }
    if (fa) {
      for (const auto& t : fa->tensors) {
        if (b_names.count(t.name)) continue;
        TensorDiff td;
        td.name = t.name;
        td.kind = ChangeKind::kRemoved;
        td.dtype = t.dtype;
        td.shape = t.shape;
        td.bytes = t.end - t.begin;
        fd.tensors.push_back(std::move(td));
      }
    }
    // The file's other bytes (headers, padding, non-tensor files).
    fd.update_bytes = cost(fb.chunks, nullptr);
    for (const auto& td : fd.tensors) fd.update_bytes += td.update_bytes;
    d.update_record_bytes += fd.update_bytes;
    d.files.push_back(std::move(fd));
  }
  std::set<std::string> b_paths;
  for (const auto& fb : b.files) b_paths.insert(fb.path);
  for (const auto& fa : a.files) {
    if (b_paths.count(fa.path)) continue;
    FileDiff fd;
    fd.path = fa.path;
    fd.kind = ChangeKind::kRemoved;
    fd.size_a = fa.size;
    d.files.push_back(std::move(fd));
  }
  return d;
}

}  // namespace arca::format
