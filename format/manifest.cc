#include "format/manifest.h"

#include <algorithm>
#include <set>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "base/json.h"
#include "format/oci_layout.h"

namespace arca::format {
namespace {

std::string At(std::string_view base, std::size_t i) { return std::string(base) + "[" + std::to_string(i) + "]"; }

std::string_view TensorFormatName(TensorFileFormat f) {
  return f == TensorFileFormat::kGguf ? "gguf" : "safetensors";
}

Json TensorsToJson(const FileEntry& f) {
  Json list = Json::array();
  for (const auto& t : f.tensors) {
    list.push_back({{"name", t.name}, {"dtype", t.dtype}, {"shape", t.shape}, {"begin", t.begin}, {"end", t.end}});
  }
  return {{"format", TensorFormatName(*f.tensor_format)}, {"list", std::move(list)}};
}

Result<std::vector<TensorInfo>> ParseTensors(const Json& obj, const FileEntry& file, std::string_view where,
                                             const ManifestLimits& limits, TensorFileFormat* format) {
  ARCA_RETURN_IF_ERROR(RejectUnknownFields(obj, {"format", "list"}, where));
  ARCA_ASSIGN_OR_RETURN(std::string fmt, RequireString(obj, "format", where));
  if (fmt == "safetensors") *format = TensorFileFormat::kSafetensors;
  else if (fmt == "gguf") *format = TensorFileFormat::kGguf;
  else return InvalidArgumentError(std::string(where) + ".format \"" + fmt.substr(0, 32) + "\" is not safetensors or gguf");
  ARCA_ASSIGN_OR_RETURN(const Json* list, RequireArray(obj, "list", where));
  if (list->size() > limits.max_tensors_per_file) {
    return ResourceExhaustedError(std::string(where) + " lists " + std::to_string(list->size()) + " tensors, over the limit");
  }
  std::vector<TensorInfo> out;
  out.reserve(list->size());
  std::uint64_t prev_end = 0;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const Json& t = (*list)[i];
    std::string w = At(std::string(where) + ".list", i);
    if (!t.is_object()) return InvalidArgumentError(w + " must be an object");
    ARCA_RETURN_IF_ERROR(RejectUnknownFields(t, {"name", "dtype", "shape", "begin", "end"}, w));
    TensorInfo info;
    ARCA_ASSIGN_OR_RETURN(info.name, RequireString(t, "name", w));
    ARCA_ASSIGN_OR_RETURN(info.dtype, RequireString(t, "dtype", w));
    ARCA_ASSIGN_OR_RETURN(info.begin, RequireUint(t, "begin", w, file.size));
    ARCA_ASSIGN_OR_RETURN(info.end, RequireUint(t, "end", w, file.size));
    if (info.end < info.begin || info.begin < prev_end) return CorruptionError(w + " range is reversed or overlaps the previous tensor");
    prev_end = info.end;
    ARCA_ASSIGN_OR_RETURN(const Json* shape, RequireArray(t, "shape", w));
    if (shape->size() > 16) return InvalidArgumentError(w + ".shape has more than 16 dimensions");
    std::uint64_t params = 1;
    for (std::size_t d = 0; d < shape->size(); ++d) {
      const Json& dim = (*shape)[d];
      if (!dim.is_number_unsigned()) return InvalidArgumentError(At(w + ".shape", d) + " must be a non-negative integer");
      std::uint64_t v = dim.get<std::uint64_t>();
      // A zero dimension keeps the product small, so bound each dimension:
      // a larger one would parse but never re-serialize canonically.
      if (v > kMaxManifestInteger) return InvalidArgumentError(At(w + ".shape", d) + " is above 2^53");
      if (v != 0 && params > UINT64_MAX / v) return InvalidArgumentError(w + ".shape product overflows");
      params *= v;
      info.shape.push_back(v);
    }
    info.parameters = params;
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace

std::vector<std::uint32_t> DeltaChain(const Manifest& m, std::uint32_t index) {
  std::vector<std::uint32_t> chain{index};
  while (m.chunks[chain.back()].base && chain.size() <= kMaxDeltaChain + 1) chain.push_back(*m.chunks[chain.back()].base);
  return chain;
}

std::vector<ChunkId> ChunkIdsToRelease(const Manifest& m) {
  std::vector<bool> need(m.chunks.size(), false);
  for (const auto& f : m.files) {
    for (std::uint32_t c : f.chunks) {
      for (std::uint32_t k : DeltaChain(m, c)) need[k] = true;
    }
  }
  std::vector<ChunkId> ids;
  for (std::size_t i = 0; i < m.chunks.size(); ++i) {
    if (need[i]) ids.push_back(m.chunks[i].id);
  }
  return ids;
}

Status ValidateRelativePath(std::string_view path) {
  auto bad = [&](const std::string& why) {
    return InvalidArgumentError("path \"" + std::string(path.substr(0, 128)) + "\" " + why);
  };
  if (path.empty()) return bad("is empty");
  if (path.size() > 4096) return bad("is longer than 4096 bytes");
  if (path.front() == '/') return bad("is absolute");
  for (unsigned char c : path) {
    if (c < 0x20 || c == 0x7f) return bad("contains a control character");
    if (c == '\\') return bad("contains a backslash");
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view comp = path.substr(start, end - start);
    if (comp.empty()) return bad("has an empty component");
    if (comp == "." || comp == "..") return bad("has a \"" + std::string(comp) + "\" component");
    if (comp.size() > 255) return bad("has a component longer than 255 bytes");
    start = end + 1;
  }
  return Status::Ok();
}

Status ValidateName(std::string_view name) {
  auto bad = [&](const std::string& why) {
    return InvalidArgumentError("name \"" + std::string(name.substr(0, 128)) + "\" " + why +
                                " (expected namespace/model: lower-case letters, digits, '.', '_', '-')");
  };
  if (name.empty() || name.size() > 255) return bad("is empty or longer than 255 bytes");
  if (name.find('/') == std::string_view::npos) return bad("has no namespace");
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view comp = name.substr(start, end - start);
    if (comp.empty()) return bad("has an empty component");
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (!alnum(comp.front()) || !alnum(comp.back())) return bad("has a component that does not start and end with a letter or digit");
    for (char c : comp) {
      if (!alnum(c) && c != '.' && c != '_' && c != '-') return bad("has an invalid character");
    }
    start = end + 1;
  }
  return Status::Ok();
}

Status ValidateVersion(std::string_view v) {
  auto ok_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  };
  if (v.empty() || v.size() > 128 || v.front() == '.' || v.front() == '-' ||
      !std::all_of(v.begin(), v.end(), ok_char)) {
    return InvalidArgumentError("version \"" + std::string(v.substr(0, 128)) +
                                "\" is not a valid tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})");
  }
  return Status::Ok();
}

Result<std::string> SerializeManifest(const Manifest& m, bool include_mac) {
  Json packs = Json::array();
  for (const auto& p : m.packs) {
    Json j = {{"digest", p.digest}, {"size", p.size}};
    if (p.from_parent) j["fromParent"] = true;
    packs.push_back(std::move(j));
  }
  Json chunks = Json::array();
  for (const auto& c : m.chunks) {
    Json j = {{"id", HexEncode(c.id)},
              {"pack", c.pack},
              {"offset", c.offset},
              {"length", c.length},
              {"size", c.size},
              {"encoding", EncodingName(c.encoding)}};
    if (c.base) j["base"] = *c.base;
    chunks.push_back(std::move(j));
  }
  Json files = Json::array();
  for (const auto& f : m.files) {
    Json j = {{"path", f.path}, {"size", f.size}, {"mode", f.mode}, {"sha256", f.sha256}, {"chunks", f.chunks}};
    if (f.tensor_format) j["tensors"] = TensorsToJson(f);
    files.push_back(std::move(j));
  }
  Json doc = {
      {"mediaType", kManifestMediaType},
      {"formatVersion", kFormatVersion},
      {"name", m.name},
      {"version", m.version},
      {"lineageId", m.lineage_id},
      {"chunking",
       {{"algorithm", kChunkingAlgorithm},
        {"minSize", m.chunking.min_size},
        {"avgSize", m.chunking.avg_size},
        {"maxSize", m.chunking.max_size}}},
      {"packs", std::move(packs)},
      {"chunks", std::move(chunks)},
      {"files", std::move(files)},
  };
  if (m.parent) doc["parent"] = *m.parent;
  if (include_mac) doc["mac"] = m.mac;
  return CanonicalJson(doc);
}

Result<Manifest> ParseManifest(ByteSpan bytes, const ManifestLimits& limits) {
  JsonLimits jl;
  jl.max_bytes = limits.max_bytes;
  jl.max_depth = 8;
  ARCA_ASSIGN_OR_RETURN(Json doc, ParseJson(ToString(bytes), "manifest", jl));
  if (!doc.is_object()) return InvalidArgumentError("manifest must be a JSON object");
  const std::string_view w = "manifest";
  ARCA_RETURN_IF_ERROR(RejectUnknownFields(
      doc, {"mediaType", "formatVersion", "name", "version", "lineageId", "parent", "chunking", "packs", "chunks", "files", "mac"}, w));
  ARCA_ASSIGN_OR_RETURN(std::string media, RequireString(doc, "mediaType", w));
  if (media != kManifestMediaType) return InvalidArgumentError("manifest.mediaType is \"" + media.substr(0, 64) + "\", expected " + std::string(kManifestMediaType));
  ARCA_ASSIGN_OR_RETURN(std::uint64_t fv, RequireUint(doc, "formatVersion", w));
  if (fv != kFormatVersion) return InvalidArgumentError("manifest.formatVersion " + std::to_string(fv) + " is not supported (this build reads version 1)");

  Manifest m;
  ARCA_ASSIGN_OR_RETURN(m.name, RequireString(doc, "name", w));
  ARCA_RETURN_IF_ERROR(ValidateName(m.name).WithContext("manifest.name"));
  ARCA_ASSIGN_OR_RETURN(m.version, RequireString(doc, "version", w));
  ARCA_RETURN_IF_ERROR(ValidateVersion(m.version).WithContext("manifest.version"));
  ARCA_ASSIGN_OR_RETURN(m.lineage_id, RequireString(doc, "lineageId", w));
  if (!IsLowerHex(m.lineage_id, 32)) return InvalidArgumentError("manifest.lineageId must be 32 lower-case hex digits");
  if (doc.contains("parent")) {
    ARCA_ASSIGN_OR_RETURN(std::string parent, RequireString(doc, "parent", w));
    if (!IsValidDigest(parent)) return InvalidArgumentError("manifest.parent must be sha256:<64 hex>");
    m.parent = parent;
  }
  ARCA_ASSIGN_OR_RETURN(m.mac, RequireString(doc, "mac", w));
  if (!IsLowerHex(m.mac, 64)) return InvalidArgumentError("manifest.mac must be 64 lower-case hex digits");

  ARCA_ASSIGN_OR_RETURN(const Json* chunking, RequireObject(doc, "chunking", w));
  ARCA_RETURN_IF_ERROR(RejectUnknownFields(*chunking, {"algorithm", "minSize", "avgSize", "maxSize"}, "manifest.chunking"));
  ARCA_ASSIGN_OR_RETURN(std::string algo, RequireString(*chunking, "algorithm", "manifest.chunking"));
  if (algo != kChunkingAlgorithm) return InvalidArgumentError("manifest.chunking.algorithm \"" + algo.substr(0, 32) + "\" is not " + std::string(kChunkingAlgorithm));
  ARCA_ASSIGN_OR_RETURN(m.chunking.min_size, RequireUint(*chunking, "minSize", "manifest.chunking"));
  ARCA_ASSIGN_OR_RETURN(m.chunking.avg_size, RequireUint(*chunking, "avgSize", "manifest.chunking"));
  ARCA_ASSIGN_OR_RETURN(m.chunking.max_size, RequireUint(*chunking, "maxSize", "manifest.chunking"));
  ARCA_RETURN_IF_ERROR(ValidateChunkingParams(m.chunking).WithContext("manifest.chunking"));

  ARCA_ASSIGN_OR_RETURN(const Json* packs, RequireArray(doc, "packs", w));
  if (packs->size() > limits.max_packs) return ResourceExhaustedError("manifest lists " + std::to_string(packs->size()) + " packs, over the limit");
  std::set<std::string> pack_digests;
  for (std::size_t i = 0; i < packs->size(); ++i) {
    const Json& p = (*packs)[i];
    std::string pw = At("manifest.packs", i);
    if (!p.is_object()) return InvalidArgumentError(pw + " must be an object");
    ARCA_RETURN_IF_ERROR(RejectUnknownFields(p, {"digest", "size", "fromParent"}, pw));
    PackRef ref;
    ARCA_ASSIGN_OR_RETURN(ref.digest, RequireString(p, "digest", pw));
    if (!IsValidDigest(ref.digest)) return InvalidArgumentError(pw + ".digest must be sha256:<64 hex>");
    if (!pack_digests.insert(ref.digest).second) return InvalidArgumentError(pw + " repeats pack " + ref.digest);
    ARCA_ASSIGN_OR_RETURN(ref.size, RequireUint(p, "size", pw, 1ull << 40));
    if (p.contains("fromParent")) {
      if (!p["fromParent"].is_boolean() || !p["fromParent"].get<bool>()) return InvalidArgumentError(pw + ".fromParent must be true when present");
      ref.from_parent = true;
    }
    m.packs.push_back(std::move(ref));
  }

  ARCA_ASSIGN_OR_RETURN(const Json* chunks, RequireArray(doc, "chunks", w));
  if (chunks->size() > limits.max_chunks) return ResourceExhaustedError("manifest lists " + std::to_string(chunks->size()) + " chunks, over the limit");
  m.chunks.reserve(chunks->size());
  std::unordered_set<std::string> ids;
  for (std::size_t i = 0; i < chunks->size(); ++i) {
    const Json& c = (*chunks)[i];
    std::string cw = At("manifest.chunks", i);
    if (!c.is_object()) return InvalidArgumentError(cw + " must be an object");
    ARCA_RETURN_IF_ERROR(RejectUnknownFields(c, {"id", "pack", "offset", "length", "size", "encoding", "base"}, cw));
    ChunkRef ref;
    ARCA_ASSIGN_OR_RETURN(std::string id, RequireString(c, "id", cw));
    if (!IsLowerHex(id, 64)) return InvalidArgumentError(cw + ".id must be 64 lower-case hex digits");
    if (!ids.insert(id).second) return InvalidArgumentError(cw + " repeats chunk id " + id);
    auto raw = HexDecode(id);
    std::copy(raw->begin(), raw->end(), ref.id.begin());
    if (m.packs.empty()) return CorruptionError(cw + " refers to a pack but the manifest lists none");
    ARCA_ASSIGN_OR_RETURN(std::uint64_t pack, RequireUint(c, "pack", cw, m.packs.size() - 1));
    ref.pack = std::uint32_t(pack);
    ARCA_ASSIGN_OR_RETURN(ref.size, RequireUint(c, "size", cw, m.chunking.max_size));
    if (ref.size == 0) return InvalidArgumentError(cw + ".size must be positive");
    ARCA_ASSIGN_OR_RETURN(ref.length, RequireUint(c, "length", cw, ref.size + kRecordOverhead));
    if (ref.length < kRecordOverhead) return InvalidArgumentError(cw + ".length is shorter than a record's nonce and tag");
    const std::uint64_t pack_size = m.packs[ref.pack].size;
    ARCA_ASSIGN_OR_RETURN(ref.offset, RequireUint(c, "offset", cw, pack_size));
    if (ref.length > pack_size - ref.offset) {
      return CorruptionError(cw + " record [" + std::to_string(ref.offset) + ", +" + std::to_string(ref.length) +
                             ") lies outside pack " + m.packs[ref.pack].digest + " of " + std::to_string(pack_size) + " bytes");
    }
    ARCA_ASSIGN_OR_RETURN(std::string enc, RequireString(c, "encoding", cw));
    ARCA_ASSIGN_OR_RETURN(ref.encoding, ParseEncoding(enc));
    if (ref.encoding == ChunkEncoding::kRaw && ref.length != ref.size + kRecordOverhead) {
      return CorruptionError(cw + " is raw but its record length does not match its size");
    }
    if (c.contains("base")) {
      ARCA_ASSIGN_OR_RETURN(std::uint64_t base, RequireUint(c, "base", cw, chunks->size() - 1));
      ref.base = std::uint32_t(base);
    }
    if ((ref.encoding == ChunkEncoding::kDelta) != ref.base.has_value()) {
      return CorruptionError(cw + (ref.base ? " has a base but is not a delta chunk" : " is a delta chunk without a base"));
    }
    m.chunks.push_back(ref);
  }
  // Delta bases (§6.1): same size, whole 16-bit elements, chains bounded
  // (a cycle is a chain longer than any bound).
  for (std::size_t i = 0; i < m.chunks.size(); ++i) {
    const ChunkRef& c = m.chunks[i];
    if (!c.base) continue;
    std::string cw = At("manifest.chunks", i);
    const ChunkRef& b = m.chunks[*c.base];
    if (*c.base == i) return CorruptionError(cw + " is its own delta base");
    if (b.size != c.size || c.size % 2 != 0) {
      return CorruptionError(cw + " is a delta of " + std::to_string(c.size) + " bytes against base chunk " + std::to_string(*c.base) +
                             " of " + std::to_string(b.size) + " bytes (a delta needs a base of the same, even size)");
    }
    std::size_t hops = 0;
    for (std::size_t k = i; m.chunks[k].base; k = *m.chunks[k].base) {
      if (++hops > kMaxDeltaChain) {
        return CorruptionError(cw + ": delta chain longer than " + std::to_string(kMaxDeltaChain) + " hops (or a cycle)");
      }
    }
  }

  ARCA_ASSIGN_OR_RETURN(const Json* files, RequireArray(doc, "files", w));
  if (files->size() > limits.max_files) return ResourceExhaustedError("manifest lists " + std::to_string(files->size()) + " files, over the limit");
  std::set<std::string> paths;
  std::uint64_t total_refs = 0;
  for (std::size_t i = 0; i < files->size(); ++i) {
    const Json& f = (*files)[i];
    std::string fw = At("manifest.files", i);
    if (!f.is_object()) return InvalidArgumentError(fw + " must be an object");
    ARCA_RETURN_IF_ERROR(RejectUnknownFields(f, {"path", "size", "mode", "sha256", "chunks", "tensors"}, fw));
    FileEntry e;
    ARCA_ASSIGN_OR_RETURN(e.path, RequireString(f, "path", fw));
    ARCA_RETURN_IF_ERROR(ValidateRelativePath(e.path).WithContext(fw));
    if (!paths.insert(e.path).second) return InvalidArgumentError(fw + " repeats path \"" + e.path.substr(0, 128) + "\"");
    ARCA_ASSIGN_OR_RETURN(e.size, RequireUint(f, "size", fw, 1ull << 50));
    ARCA_ASSIGN_OR_RETURN(std::uint64_t mode, RequireUint(f, "mode", fw, 0777));
    e.mode = std::uint32_t(mode);
    ARCA_ASSIGN_OR_RETURN(e.sha256, RequireString(f, "sha256", fw));
    if (!IsLowerHex(e.sha256, 64)) return InvalidArgumentError(fw + ".sha256 must be 64 lower-case hex digits");
    ARCA_ASSIGN_OR_RETURN(const Json* list, RequireArray(f, "chunks", fw));
    total_refs += list->size();
    if (total_refs > limits.max_chunks) return ResourceExhaustedError("manifest's files refer to more than " + std::to_string(limits.max_chunks) + " chunks");
    std::uint64_t sum = 0;
    e.chunks.reserve(list->size());
    for (std::size_t k = 0; k < list->size(); ++k) {
      const Json& idx = (*list)[k];
      if (!idx.is_number_unsigned() || idx.get<std::uint64_t>() >= m.chunks.size()) {
        return CorruptionError(At(fw + ".chunks", k) + " does not name a chunk of this manifest");
      }
      std::uint32_t c = std::uint32_t(idx.get<std::uint64_t>());
      e.chunks.push_back(c);
      sum += m.chunks[c].size;  // each <= 64 MiB and count bounded: no overflow
    }
    if (sum != e.size) {
      return CorruptionError(fw + " (\"" + e.path.substr(0, 128) + "\") is " + std::to_string(e.size) +
                             " bytes but its chunks add up to " + std::to_string(sum));
    }
    if (f.contains("tensors")) {
      const Json& t = f["tensors"];
      if (!t.is_object()) return InvalidArgumentError(fw + ".tensors must be an object");
      TensorFileFormat fmt;
      ARCA_ASSIGN_OR_RETURN(e.tensors, ParseTensors(t, e, fw + ".tensors", limits, &fmt));
      e.tensor_format = fmt;
    }
    m.files.push_back(std::move(e));
  }
  // A file must not also be a directory of another file ("a" and "a/b").
  for (const auto& p : paths) {
    auto it = paths.lower_bound(p + "/");
    if (it != paths.end() && it->compare(0, p.size() + 1, p + "/") == 0) {
      return InvalidArgumentError("manifest has both file \"" + p.substr(0, 128) + "\" and \"" + it->substr(0, 128) + "\" below it");
    }
  }
  return m;
}

Result<std::string> ComputeManifestMac(const Manifest& m, const LineageKey& key) {
  ARCA_ASSIGN_OR_RETURN(std::string canonical, SerializeManifest(m, /*include_mac=*/false));
  return HexEncode(key.ManifestMac(AsBytes(canonical)));
}

Status VerifyManifestKey(const Manifest& m, const LineageKey& key) {
  if (m.lineage_id != key.LineageId()) {
    return UnauthenticatedError("wrong lineage key: the package was sealed under lineage key id " + m.lineage_id +
                                ", the given key has id " + key.LineageId());
  }
  ARCA_ASSIGN_OR_RETURN(std::string canonical, SerializeManifest(m, /*include_mac=*/false));
  auto mac = key.ManifestMac(AsBytes(canonical));
  auto want = HexDecode(m.mac);
  if (!want.ok() || !ConstantTimeEquals(mac, *want)) {
    return UnauthenticatedError("manifest MAC does not verify under the lineage key: the manifest was modified");
  }
  return Status::Ok();
}

}  // namespace arca::format
