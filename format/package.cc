#include "format/package.h"

#include <limits.h>
#include <stdlib.h>

#include <algorithm>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include <openssl/crypto.h>

#include "base/crypto.h"
#include "format/chunk_codec.h"
#include "format/chunker.h"
#include "format/internal/buffer_pool.h"
#include "format/internal/ordered_pipeline.h"
#include "format/tensor_header.h"

namespace arca::format {
namespace {

std::size_t WorkerCount(std::size_t requested) {
  if (requested > 0) return requested;
  return std::max<std::size_t>(1, std::thread::hardware_concurrency());
}

std::string IdKey(const ChunkId& id) { return std::string(reinterpret_cast<const char*>(id.data()), id.size()); }

Result<std::string> RealPath(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return NotFoundError("cannot resolve " + path + ": " + std::strerror(errno));
  return std::string(buf);
}

bool IsInside(const std::string& root, const std::string& path) {
  return path.size() > root.size() && path.compare(0, root.size(), root) == 0 && path[root.size()] == '/';
}

struct SourceFile {
  std::string rel;       // path inside the model, '/'-separated
  std::string read_path; // what to open (a symlink's resolved target)
  std::uint64_t size = 0;
  std::uint32_t mode = 0644;
};

// CollectFiles walks the model directory in sorted order. Symlinks are
// followed only when they resolve to a regular file inside the tree;
// anything else that is not a regular file or directory is refused.
Status CollectFiles(FileSystem& fs, const std::string& root_real, const std::string& dir, const std::string& rel_dir,
                    std::vector<SourceFile>* out) {
  ARCA_ASSIGN_OR_RETURN(auto names, fs.ListDir(dir));
  for (const auto& name : names) {
    std::string path = JoinPath(dir, name);
    std::string rel = rel_dir.empty() ? name : rel_dir + "/" + name;
    ARCA_RETURN_IF_ERROR(ValidateRelativePath(rel).WithContext("refusing model file"));
    ARCA_ASSIGN_OR_RETURN(FileInfo info, fs.Stat(path));
    if (info.type == FileType::kDirectory) {
      ARCA_RETURN_IF_ERROR(CollectFiles(fs, root_real, path, rel, out));
    } else if (info.type == FileType::kRegular) {
      out->push_back(SourceFile{rel, path, info.size, info.mode & 0777});
    } else if (info.type == FileType::kSymlink) {
      auto target = RealPath(path);
      if (!target.ok() || !IsInside(root_real, *target)) {
        return InvalidArgumentError("refusing symlink " + rel + ": it points outside the model directory");
      }
      ARCA_ASSIGN_OR_RETURN(FileInfo tinfo, fs.Stat(*target));
      if (tinfo.type != FileType::kRegular) {
        return InvalidArgumentError("refusing symlink " + rel + ": it does not point to a regular file");
      }
      out->push_back(SourceFile{rel, *target, tinfo.size, tinfo.mode & 0777});
    } else {
      return InvalidArgumentError("refusing " + rel + ": not a regular file, directory or symlink (device, FIFO or socket)");
    }
  }
  return Status::Ok();
}

struct SealTask {
  std::uint32_t file = 0;
  bool empty_file = false;
  bool float16 = false;
  bool float32 = false;
  std::int64_t base = -1;  // the parent's aligned chunk (index in its manifest), or -1
  Bytes plain;
};

// InheritedCuts: a tensor region of the new version whose tensor the parent
// has with the same name, dtype and shape is cut where the parent cut it
// (§5.4), so every chunk lines up with one parent chunk (its delta base).
struct InheritedCuts {
  std::vector<std::uint64_t> lengths;
  std::vector<std::uint32_t> parent_chunks;
};

struct SealResult {
  std::uint32_t file = 0;
  bool empty_file = false;
  ChunkId id{};
  std::uint64_t size = 0;
  bool in_parent = false;
  ChunkEncoding encoding = ChunkEncoding::kRaw;
  std::int64_t base = -1;  // delta base: index in the parent's manifest
  Bytes record;
};

// Reader streams one file region by region and cuts chunks.
class ChunkProducer {
 public:
  ChunkProducer(FileSystem& fs, const std::vector<SourceFile>& files, std::vector<std::vector<Region>> regions,
                std::vector<std::vector<InheritedCuts>> inherited, const GearChunker& chunker, std::vector<std::string>* digests,
                internal::BufferPool* pool)
      : fs_(fs), files_(files), regions_(std::move(regions)), inherited_(std::move(inherited)), chunker_(chunker),
        digests_(digests), pool_(pool), buf_(2 * chunker.params().max_size) {}

  Result<std::optional<SealTask>> Next() {
    for (;;) {
      if (file_ >= files_.size()) return std::optional<SealTask>();
      const SourceFile& sf = files_[file_];
      if (!open_) {
        if (sf.size == 0) {
          (*digests_)[file_] = HexEncode(crypto::Sha256::Hash({}));
          SealTask t;
          t.file = std::uint32_t(file_++);
          t.empty_file = true;
          return std::optional<SealTask>(std::move(t));
        }
        auto f = fs_.OpenRead(sf.read_path);
        if (!f.ok()) return f.status().WithContext("reading model file " + sf.rel);
        file_handle_ = std::move(*f);
        open_ = true;
        region_ = 0;
        cut_ = 0;
        pos_ = 0;
        buf_start_ = 0;
        buf_len_ = 0;
        hash_.emplace();
      }
      const auto& regions = regions_[file_];
      if (region_ >= regions.size() || pos_ >= sf.size) {
        (*digests_)[file_] = HexEncode(hash_->Finish());
        hash_.reset();
        file_handle_.reset();
        open_ = false;
        ++file_;
        continue;
      }
      const Region& r = regions[region_];
      if (pos_ >= r.end) {
        ++region_;
        cut_ = 0;
        continue;
      }
      std::uint64_t want = std::min<std::uint64_t>(chunker_.params().max_size, r.end - pos_);
      Status s = Fill(want);
      if (!s.ok()) return s.WithContext("reading model file " + sf.rel + " at offset " + std::to_string(pos_));
      ByteSpan window(buf_.data() + (pos_ - buf_start_), std::size_t(want));
      const InheritedCuts* ic = region_ < inherited_[file_].size() ? &inherited_[file_][region_] : nullptr;
      std::int64_t base = -1;
      std::size_t cut;
      if (ic != nullptr && cut_ < ic->lengths.size()) {
        cut = std::size_t(ic->lengths[cut_]);  // sums to the region length (checked when planned)
        base = ic->parent_chunks[cut_++];
      } else {
        cut = chunker_.FindCut(window, r.element_bytes);
      }
      SealTask t;
      t.base = base;
      t.file = std::uint32_t(file_);
      t.float16 = r.float16;
      t.float32 = r.float32;
      t.plain = pool_->Take();
      t.plain.assign(window.begin(), window.begin() + std::ptrdiff_t(cut));
      hash_->Update(t.plain);
      pos_ += cut;
      return std::optional<SealTask>(std::move(t));
    }
  }

 private:
  // Fill makes [pos_, pos_ + want) resident in buf_.
  Status Fill(std::uint64_t want) {
    if (pos_ + want <= buf_start_ + buf_len_) return Status::Ok();
    std::size_t keep_from = std::size_t(pos_ - buf_start_);
    std::memmove(buf_.data(), buf_.data() + keep_from, buf_len_ - keep_from);
    buf_len_ -= keep_from;
    buf_start_ = pos_;
    std::uint64_t file_left = file_handle_->size() - (buf_start_ + buf_len_);
    std::size_t n = std::size_t(std::min<std::uint64_t>(buf_.size() - buf_len_, file_left));
    ARCA_RETURN_IF_ERROR(file_handle_->ReadAt(buf_start_ + buf_len_, std::span(buf_.data() + buf_len_, n)));
    buf_len_ += n;
    if (pos_ + want > buf_start_ + buf_len_) return CorruptionError("file shrank while sealing");
    return Status::Ok();
  }

  FileSystem& fs_;
  const std::vector<SourceFile>& files_;
  std::vector<std::vector<Region>> regions_;
  std::vector<std::vector<InheritedCuts>> inherited_;  // per file, per region (may be shorter)
  const GearChunker& chunker_;
  std::vector<std::string>* digests_;
  internal::BufferPool* pool_;
  Bytes buf_;
  std::size_t file_ = 0;
  bool open_ = false;
  std::unique_ptr<RandomAccessFile> file_handle_;
  std::size_t region_ = 0;
  std::size_t cut_ = 0;  // next inherited cut in the region
  std::uint64_t pos_ = 0;
  std::uint64_t buf_start_ = 0;
  std::size_t buf_len_ = 0;
  std::optional<crypto::Sha256> hash_;
};

// PlanInheritedCuts finds, for each tensor region of `file`, the parent
// tensor of the same name, dtype and shape (same path preferred) and, when
// the parent's chunks tile it exactly, returns their lengths as the region's
// cuts (§5.4). Regions without such a tensor get no cuts (content-defined).
std::vector<InheritedCuts> PlanInheritedCuts(const Manifest& parent, const FileEntry& file, const std::vector<Region>& regions) {
  std::vector<InheritedCuts> out(regions.size());
  // Parent tensors by name; same path first.
  struct Where {
    const FileEntry* file;
    const TensorInfo* tensor;
  };
  std::unordered_map<std::string, std::vector<Where>> by_name;
  for (const auto& pf : parent.files) {
    for (const auto& t : pf.tensors) by_name[t.name].push_back(Where{&pf, &t});
  }
  for (const auto& t : file.tensors) {
    auto it = by_name.find(t.name);
    if (it == by_name.end() || t.end <= t.begin) continue;
    const Where* match = nullptr;
    for (const auto& w : it->second) {
      if (w.tensor->dtype != t.dtype || w.tensor->shape != t.shape || w.tensor->end - w.tensor->begin != t.end - t.begin) continue;
      if (match == nullptr || (w.file->path == file.path && match->file->path != file.path)) match = &w;
    }
    if (match == nullptr) continue;
    std::size_t ri = 0;
    while (ri < regions.size() && regions[ri].begin != t.begin) ++ri;
    if (ri == regions.size() || regions[ri].end != t.end) continue;
    // The parent chunks covering [begin, end) of its file, exactly.
    InheritedCuts cuts;
    std::uint64_t pos = 0;
    bool ok = true;
    for (std::uint32_t c : match->file->chunks) {
      const std::uint64_t size = parent.chunks[c].size;
      const std::uint64_t end = pos + size;
      if (end > match->tensor->begin && pos < match->tensor->end) {
        if (pos < match->tensor->begin || end > match->tensor->end) {
          ok = false;  // a chunk straddles the tensor's edge: no alignment
          break;
        }
        cuts.lengths.push_back(size);
        cuts.parent_chunks.push_back(c);
      }
      pos = end;
      if (pos >= match->tensor->end) break;
    }
    std::uint64_t sum = 0;
    for (std::uint64_t l : cuts.lengths) sum += l;
    if (ok && sum == t.end - t.begin) out[ri] = std::move(cuts);
  }
  return out;
}

}  // namespace

Status DecodeChunkChain(const Manifest& m, const std::vector<std::unique_ptr<RandomAccessFile>>& packs, std::uint32_t index,
                        const ChunkKeyFn& key_of, ChunkDecoder& decoder, Bytes* out) {
  std::vector<std::uint32_t> chain = DeltaChain(m, index);
  if (chain.size() > kMaxDeltaChain + 1) {
    return CorruptionError("chunk " + HexEncode(ByteSpan(m.chunks[index].id.data(), 8)) + "…: delta chain longer than " +
                           std::to_string(kMaxDeltaChain) + " hops");
  }
  Bytes record, encoded, next;
  for (std::size_t i = chain.size(); i-- > 0;) {
    const ChunkRef& c = m.chunks[chain[i]];
    std::string where = "chunk " + HexEncode(ByteSpan(c.id.data(), 8)) + "… (pack " + m.packs[c.pack].digest.substr(0, 19) +
                        "… offset " + std::to_string(c.offset) + ")";
    record.resize(std::size_t(c.length));
    ARCA_RETURN_IF_ERROR(packs[c.pack]->ReadAt(c.offset, record).WithContext(where));
    Result<SecretBytes> ck = key_of(c.id);
    if (!ck.ok()) return Status(ck.status().code(), where + ": no key: " + ck.status().message());
    if (!OpenRecord(ck->Expose(), c.id, c.encoding, c.size, record, &encoded).ok()) {
      return UnauthenticatedError(where + ": record does not authenticate (changed bytes, or a record moved from another chunk)");
    }
    next.resize(std::size_t(c.size));
    Status ds = c.base ? decoder.DecodeDelta(encoded, m.chunks[*c.base].id, *out, next) : decoder.Decode(c.encoding, encoded, next);
    if (!ds.ok()) return ds.WithContext(where);
    std::swap(*out, next);
  }
  return Status::Ok();
}

PackageRef ParsePackageRef(const std::string& text) {
  auto slash = text.find_last_of('/');
  auto colon = text.find_last_of(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash) && colon + 1 < text.size()) {
    return {text.substr(0, colon), text.substr(colon + 1)};
  }
  return {text, ""};
}

std::string AttachmentRole(const Descriptor& attachment) {
  auto it = attachment.annotations.find(std::string(kAttachmentRoleAnnotation));
  return it == attachment.annotations.end() ? "" : it->second;
}

namespace {

Status ValidateAttachmentRole(std::string_view role, const std::string& where) {
  bool ok = !role.empty() && role.size() <= 32 && role[0] >= 'a' && role[0] <= 'z';
  for (char c : role) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  if (!ok) {
    return InvalidArgumentError(where + ": attachment role \"" + std::string(role.substr(0, 40)) +
                                "\" is not [a-z][a-z0-9-]{0,31} (annotation " + std::string(kAttachmentRoleAnnotation) + ")");
  }
  return Status::Ok();
}

Descriptor AttachmentDescriptor(const Attachment& a) {
  Descriptor d{std::string(kDsseEnvelopeMediaType), DigestOf(a.data), a.data.size(), {}};
  d.annotations[std::string(kAttachmentRoleAnnotation)] = a.role;
  return d;
}

Status ValidateNewAttachments(const std::vector<Attachment>& add) {
  for (const auto& a : add) {
    ARCA_RETURN_IF_ERROR(ValidateAttachmentRole(a.role, "new attachment"));
    if (a.data.size() > kMaxAttachmentBytes) {
      return InvalidArgumentError("a " + a.role + " attachment of " + std::to_string(a.data.size()) +
                                  " bytes is over the limit of " + std::to_string(kMaxAttachmentBytes));
    }
  }
  return Status::Ok();
}

}  // namespace

Status UpdateAttachments(FileSystem& fs, const LoadedPackage& pkg, const std::vector<Attachment>& add,
                         const std::vector<std::string>& remove) {
  ARCA_RETURN_IF_ERROR(ValidateNewAttachments(add));
  OciManifest next = pkg.layout.manifest();
  std::vector<std::string> garbage;
  std::erase_if(next.layers, [&](const Descriptor& l) {
    bool drop = l.media_type == kDsseEnvelopeMediaType && std::find(remove.begin(), remove.end(), l.digest) != remove.end();
    if (drop) garbage.push_back(l.digest);
    return drop;
  });
  for (const auto& a : add) {
    Descriptor d = AttachmentDescriptor(a);
    bool present = std::any_of(next.layers.begin(), next.layers.end(), [&](const Descriptor& l) { return l.digest == d.digest; });
    if (present) continue;  // the same document twice adds nothing
    ARCA_RETURN_IF_ERROR(AddBlobToLayout(fs, pkg.layout.dir(), a.data, kDsseEnvelopeMediaType).status());
    next.layers.push_back(std::move(d));
  }
  std::size_t attachments = next.layers.size() - 1 - pkg.manifest.packs.size();
  if (attachments > kMaxAttachments) {
    return ResourceExhaustedError("the package would have " + std::to_string(attachments) + " attachments, over the limit of " +
                                  std::to_string(kMaxAttachments));
  }
  return ReplaceManifest(fs, pkg.layout, next, garbage).status();
}

Result<LoadedPackage> LoadPackage(FileSystem& fs, const PackageRef& ref) {
  ARCA_ASSIGN_OR_RETURN(OciLayoutReader layout, OciLayoutReader::Open(fs, ref.dir, ref.ref));
  const OciManifest& om = layout.manifest();
  if (om.artifact_type != kArtifactType) {
    return InvalidArgumentError(ref.dir + " is not an Arca package: artifactType is \"" + om.artifact_type.substr(0, 80) +
                                "\", expected " + std::string(kArtifactType));
  }
  if (om.layers.empty() || om.layers[0].media_type != kManifestMediaType) {
    return InvalidArgumentError(ref.dir + ": the first layer of the OCI manifest must be the Arca manifest (" +
                                std::string(kManifestMediaType) + ")");
  }
  ManifestLimits limits;
  ARCA_ASSIGN_OR_RETURN(Bytes mbytes, layout.ReadBlob(om.layers[0], limits.max_bytes));
  auto parsed = ParseManifest(mbytes, limits);
  if (!parsed.ok()) return parsed.status().WithContext("Arca manifest " + om.layers[0].digest);
  Manifest m = std::move(*parsed);
  ARCA_ASSIGN_OR_RETURN(std::string canonical, SerializeManifest(m));
  if (canonical != ToString(mbytes)) {
    return CorruptionError("Arca manifest " + om.layers[0].digest + " is not in canonical JSON form (RFC 8785)");
  }
  if (om.layers.size() < m.packs.size() + 1) {
    return CorruptionError("OCI manifest lists " + std::to_string(om.layers.size() - 1) + " layers after the Arca manifest, fewer than its " +
                           std::to_string(m.packs.size()) + " packs");
  }
  for (std::size_t i = 0; i < m.packs.size(); ++i) {
    const Descriptor& l = om.layers[i + 1];
    if (l.digest != m.packs[i].digest || l.size != m.packs[i].size || l.media_type != kPackMediaType) {
      return CorruptionError("OCI layer " + std::to_string(i + 1) + " (" + l.digest + ") does not match pack " +
                             std::to_string(i) + " of the Arca manifest (" + m.packs[i].digest + ")");
    }
  }
  std::vector<Descriptor> attachments(om.layers.begin() + 1 + std::ptrdiff_t(m.packs.size()), om.layers.end());
  if (attachments.size() > kMaxAttachments) {
    return ResourceExhaustedError(ref.dir + " has " + std::to_string(attachments.size()) + " attachments, over the limit of " +
                                  std::to_string(kMaxAttachments));
  }
  for (std::size_t i = 0; i < attachments.size(); ++i) {
    const Descriptor& a = attachments[i];
    std::string where = "OCI layer " + std::to_string(i + 1 + m.packs.size()) + " (" + a.digest + ")";
    if (a.media_type != kDsseEnvelopeMediaType) {
      return CorruptionError(where + " after the packs has media type \"" + a.media_type.substr(0, 80) + "\", expected " +
                             std::string(kDsseEnvelopeMediaType));
    }
    ARCA_RETURN_IF_ERROR(ValidateAttachmentRole(AttachmentRole(a), where));
    if (a.size > kMaxAttachmentBytes) {
      return ResourceExhaustedError(where + " is " + std::to_string(a.size) + " bytes, over the attachment limit of " +
                                    std::to_string(kMaxAttachmentBytes));
    }
  }
  Descriptor manifest_blob = om.layers[0];  // copy before `layout` (which owns om) moves
  return LoadedPackage{std::move(layout), std::move(m), std::move(manifest_blob), std::move(attachments)};
}

Result<SealReport> Seal(FileSystem& fs, const std::string& model_dir, const std::string& out_dir, const LineageKey& key,
                        const SealOptions& options) {
  ARCA_RETURN_IF_ERROR(ValidateName(options.name));
  ARCA_RETURN_IF_ERROR(ValidateVersion(options.version));
  ChunkingParams chunking = options.chunking;

  // The parent must be of this lineage (its MAC verifies under our key);
  // reusing its chunks is then safe: same ids, same keys.
  std::unordered_map<std::string, std::uint32_t> parent_chunks;  // id -> index in the parent's manifest
  std::optional<LoadedPackage> parent;
  if (options.parent) {
    auto loaded = LoadPackage(fs, *options.parent);
    if (!loaded.ok()) return loaded.status().WithContext("parent " + options.parent->dir);
    parent.emplace(std::move(*loaded));
    Status s = VerifyManifestKey(parent->manifest, key);
    if (!s.ok()) return s.WithContext("parent " + options.parent->dir);
    chunking = parent->manifest.chunking;
    for (std::size_t i = 0; i < parent->manifest.chunks.size(); ++i) {
      parent_chunks.emplace(IdKey(parent->manifest.chunks[i].id), std::uint32_t(i));
    }
  }
  ARCA_RETURN_IF_ERROR(ValidateChunkingParams(chunking));

  auto root_info = fs.Stat(model_dir);
  if (!root_info.ok() || root_info->type != FileType::kDirectory) {
    return InvalidArgumentError(model_dir + " is not a directory");
  }
  ARCA_ASSIGN_OR_RETURN(std::string root_real, RealPath(model_dir));
  std::vector<SourceFile> files;
  ARCA_RETURN_IF_ERROR(CollectFiles(fs, root_real, model_dir, "", &files));
  if (files.empty()) return InvalidArgumentError(model_dir + " contains no files to seal");

  Manifest m;
  m.name = options.name;
  m.version = options.version;
  m.lineage_id = key.LineageId();
  m.chunking = chunking;
  if (parent) m.parent = parent->manifest_blob.digest;
  std::vector<std::vector<Region>> regions(files.size());
  std::vector<std::vector<InheritedCuts>> inherited(files.size());
  std::uint64_t total_bytes = 0;
  for (std::size_t i = 0; i < files.size(); ++i) {
    FileEntry e;
    e.path = files[i].rel;
    e.size = files[i].size;
    e.mode = files[i].mode;
    total_bytes += e.size;
    TensorFileFormat fmt;
    if (e.size > 0 && LooksLikeTensorFile(e.path, &fmt)) {
      ARCA_ASSIGN_OR_RETURN(auto f, fs.OpenRead(files[i].read_path));
      auto header = ReadTensorHeader(*f, fmt, e.path);
      if (!header.ok()) return header.status().WithContext("refusing to seal " + e.path);
      for (const auto& t : header->tensors) {
        for (std::uint64_t d : t.shape) {
          if (d > kMaxManifestInteger) {
            return InvalidArgumentError("refusing to seal " + e.path + ": tensor \"" + t.name.substr(0, 128) +
                                        "\" has a dimension above 2^53, which the manifest cannot record");
          }
        }
      }
      e.tensor_format = fmt;
      e.tensors = header->tensors;
      regions[i] = PlanRegions(e.size, &*header);
      if (parent) inherited[i] = PlanInheritedCuts(parent->manifest, e, regions[i]);
    } else {
      regions[i] = PlanRegions(e.size, nullptr);
    }
    m.files.push_back(std::move(e));
  }

  ARCA_ASSIGN_OR_RETURN(auto writer, OciLayoutWriter::Create(fs, out_dir));
  GearChunker chunker(key.GearKey(), chunking);
  std::vector<std::string> digests(files.size());
  const std::size_t workers = WorkerCount(options.threads);
  const std::size_t in_flight = 4 * workers + 4;
  internal::BufferPool plain_pool(in_flight + workers), record_pool(in_flight + workers);
  ChunkProducer producer(fs, files, std::move(regions), std::move(inherited), chunker, &digests, &plain_pool);
  std::vector<ChunkEncoder> encoders(workers);
  std::vector<Bytes> encoded_bufs(workers);  // per worker, reused
  // Delta encoding (§6.1) needs the parent's plaintext of the aligned chunk.
  std::vector<std::unique_ptr<RandomAccessFile>> parent_packs;
  std::vector<std::uint64_t> parent_chain_bytes;  // record bytes a fresh install fetches for each parent chunk
  if (parent) {
    const Manifest& pm = parent->manifest;
    for (const auto& p : pm.packs) {
      auto f = parent->layout.OpenBlob(Descriptor{std::string(kPackMediaType), p.digest, p.size, {}});
      if (!f.ok()) return f.status().WithContext("parent " + options.parent->dir);
      parent_packs.push_back(std::move(*f));
    }
    for (std::uint32_t i = 0; i < pm.chunks.size(); ++i) {
      std::uint64_t bytes = 0;
      for (std::uint32_t k : DeltaChain(pm, i)) bytes += pm.chunks[k].length;
      parent_chain_bytes.push_back(bytes);
    }
  }
  std::vector<ChunkDecoder> parent_decoders(parent ? workers : 0);
  std::vector<Bytes> base_bufs(parent ? workers : 0), delta_bufs(parent ? workers : 0);
  ChunkKeyFn key_of = [&key](const ChunkId& id) -> Result<SecretBytes> { return key.ChunkKey(id); };

  SealReport report;
  std::unordered_map<std::string, std::uint32_t> chunk_index;  // id -> index in m.chunks
  std::map<std::string, std::uint32_t> pack_index;              // digest -> index in m.packs
  std::vector<std::pair<std::string, Descriptor>> inherited_packs;  // parent blob path, descriptor
  std::unique_ptr<BlobWriter> pack;
  std::uint32_t pack_slot = 0;
  std::uint64_t done_bytes = 0;

  auto finish_pack = [&]() -> Status {
    if (!pack) return Status::Ok();
    ARCA_ASSIGN_OR_RETURN(Descriptor d, pack->Finish(kPackMediaType));
    m.packs[pack_slot].digest = d.digest;
    m.packs[pack_slot].size = d.size;
    report.stored_bytes += d.size;
    pack.reset();
    return Status::Ok();
  };

  // adopt lists a parent chunk (and, first, its delta bases) in the new
  // manifest, with its pack inherited; returns its index. Idempotent.
  std::function<std::uint32_t(std::uint32_t)> adopt = [&](std::uint32_t pidx) -> std::uint32_t {
    const ChunkRef& pc = parent->manifest.chunks[pidx];
    std::string k = IdKey(pc.id);
    if (auto it = chunk_index.find(k); it != chunk_index.end()) return it->second;
    ChunkRef ref = pc;
    if (pc.base) ref.base = adopt(*pc.base);
    const PackRef& p = parent->manifest.packs[pc.pack];
    auto [it, added] = pack_index.emplace(p.digest, std::uint32_t(m.packs.size()));
    if (added) {
      m.packs.push_back(PackRef{p.digest, p.size, true});
      inherited_packs.emplace_back(parent->layout.BlobPath(p.digest), Descriptor{std::string(kPackMediaType), p.digest, p.size, {}});
    }
    ref.pack = it->second;
    std::uint32_t idx = std::uint32_t(m.chunks.size());
    m.chunks.push_back(ref);
    chunk_index.emplace(std::move(k), idx);
    return idx;
  };

  internal::PipelineStages<SealTask, SealResult> stages;
  stages.produce = [&]() { return producer.Next(); };
  stages.work = [&](SealTask& t, std::size_t w) -> Result<SealResult> {
    SealResult r;
    r.file = t.file;
    r.empty_file = t.empty_file;
    if (t.empty_file) return r;
    r.size = t.plain.size();
    r.id = key.ChunkIdOf(t.plain);
    if (!parent_chunks.count(IdKey(r.id))) {
      Bytes* encoded = &encoded_bufs[w];
      r.encoding = encoders[w].Encode(
          t.plain, t.float16 ? FloatWidth::k16 : t.float32 ? FloatWidth::k32 : FloatWidth::kNone, encoded);
      if (t.base >= 0 && t.float16 && options.delta) {
        // A delta replaces the whole encoding when it is smaller and the
        // chain stays within its bounds (§6.1): at most kMaxDeltaChain hops,
        // and a fresh install fetching the chain pays at most twice this
        // chunk's own record.
        // The aligned parent chunk is tried first; when its own chain is
        // too costly, the whole chunk at the root of that chain (the same
        // tensor range in an older version), so a series of dense
        // fine-tunes stays one hop from a whole chunk.
        const Manifest& pm = parent->manifest;
        const std::uint64_t own = encoded->size() + kRecordOverhead;
        const std::vector<std::uint32_t> chain = DeltaChain(pm, std::uint32_t(t.base));
        for (std::uint32_t cand : {chain.front(), chain.back()}) {
          if (DeltaChain(pm, cand).size() > kMaxDeltaChain || pm.chunks[cand].size != t.plain.size() ||
              parent_chain_bytes[cand] + kRecordOverhead >= 2 * own) {
            continue;
          }
          ARCA_RETURN_IF_ERROR(DecodeChunkChain(pm, parent_packs, cand, key_of, parent_decoders[w], &base_bufs[w])
                                   .WithContext("decoding the parent's chunk for a delta"));
          Bytes& delta = delta_bufs[w];
          if (encoders[w].EncodeDelta(t.plain, base_bufs[w], pm.chunks[cand].id, &delta) && delta.size() < encoded->size() &&
              parent_chain_bytes[cand] + delta.size() + kRecordOverhead <= 2 * own) {
            r.encoding = ChunkEncoding::kDelta;
            r.base = cand;
            encoded = &delta;
            break;
          }
          if (chain.size() == 1) break;
        }
      }
      r.record = record_pool.Take();
      SealRecord(key, r.id, r.encoding, r.size, *encoded, &r.record);
    } else {
      r.in_parent = true;
    }
    plain_pool.Give(std::move(t.plain));
    return r;
  };
  stages.consume = [&](SealResult& r) -> Status {
    if (r.empty_file) return Status::Ok();
    FileEntry& fe = m.files[r.file];
    ++report.chunks_total;
    done_bytes += r.size;
    if (options.progress) options.progress(Progress{done_bytes, total_bytes});
    std::string k = IdKey(r.id);
    auto seen = chunk_index.find(k);
    if (seen != chunk_index.end()) {
      fe.chunks.push_back(seen->second);
      ++report.chunks_deduplicated;
      return Status::Ok();
    }
    if (r.in_parent) {
      fe.chunks.push_back(adopt(parent_chunks.at(k)));
      ++report.chunks_from_parent;
      return Status::Ok();
    }
    ChunkRef ref;
    {
      if (!pack) {
        ARCA_ASSIGN_OR_RETURN(pack, writer->NewBlob());
        pack_slot = std::uint32_t(m.packs.size());
        m.packs.push_back(PackRef{});
      }
      ref.id = r.id;
      ref.pack = pack_slot;
      ref.offset = pack->size();
      ref.length = r.record.size();
      ref.size = r.size;
      ref.encoding = r.encoding;
      if (r.base >= 0) {
        ref.base = adopt(std::uint32_t(r.base));
        ++report.chunks_delta;
      }
      ARCA_RETURN_IF_ERROR(pack->Append(r.record));
      record_pool.Give(std::move(r.record));
      ++report.chunks_new;
      if (pack->size() >= options.pack_target_bytes) ARCA_RETURN_IF_ERROR(finish_pack());
    }
    std::uint32_t idx = std::uint32_t(m.chunks.size());
    m.chunks.push_back(ref);
    chunk_index.emplace(std::move(k), idx);
    fe.chunks.push_back(idx);
    return Status::Ok();
  };
  ARCA_RETURN_IF_ERROR(internal::RunOrderedPipeline(std::move(stages), workers, in_flight));
  ARCA_RETURN_IF_ERROR(finish_pack());
  for (std::size_t i = 0; i < files.size(); ++i) m.files[i].sha256 = digests[i];
  for (const auto& [path, desc] : inherited_packs) {
    auto s = writer->AddExistingBlob(path, desc);
    if (!s.ok()) return s.status().WithContext("copying parent pack");
  }

  ARCA_ASSIGN_OR_RETURN(m.mac, ComputeManifestMac(m, key));
  ARCA_ASSIGN_OR_RETURN(std::string manifest_json, SerializeManifest(m));
  ARCA_ASSIGN_OR_RETURN(Descriptor manifest_desc, writer->AddBlob(AsBytes(manifest_json), kManifestMediaType));
  ARCA_ASSIGN_OR_RETURN(Descriptor config, writer->AddBlob(AsBytes("{}"), kOciEmptyMediaType));
  OciManifest om;
  om.artifact_type = std::string(kArtifactType);
  om.config = config;
  om.layers.push_back(manifest_desc);
  for (const auto& p : m.packs) om.layers.push_back(Descriptor{std::string(kPackMediaType), p.digest, p.size, {}});
  if (options.attach) {
    ARCA_ASSIGN_OR_RETURN(std::vector<Attachment> attachments, options.attach(m, manifest_desc.digest));
    ARCA_RETURN_IF_ERROR(ValidateNewAttachments(attachments));
    for (const auto& a : attachments) {
      ARCA_RETURN_IF_ERROR(writer->AddBlob(a.data, kDsseEnvelopeMediaType).status());
      om.layers.push_back(AttachmentDescriptor(a));
    }
  }
  om.annotations["dev.arca.name"] = m.name;
  om.annotations["dev.arca.version"] = m.version;
  om.annotations["org.opencontainers.image.version"] = m.version;
  ARCA_ASSIGN_OR_RETURN(Descriptor om_desc, writer->Commit(om, m.version));

  report.manifest_digest = manifest_desc.digest;
  report.oci_manifest_digest = om_desc.digest;
  report.plaintext_bytes = total_bytes;
  report.manifest = std::move(m);
  return report;
}

namespace {

struct OpenTask {
  std::uint32_t file = 0;
  std::int64_t chunk = -1;  // -1: an empty file
  std::size_t ordinal = 0;  // position of the chunk in its file
  std::uint64_t offset = 0;  // of the chunk in its file
  bool first = false;
  bool last = false;
  Bytes record;
};

struct OpenResult {
  OpenResult() = default;
  OpenResult(OpenResult&&) = default;
  OpenResult& operator=(OpenResult&&) = default;
  // Results dropped by a failing pipeline still hold plaintext.
  ~OpenResult() { OPENSSL_cleanse(plain.data(), plain.size()); }
  std::uint32_t file = 0;
  bool first = false;
  bool last = false;
  Bytes plain;                       // the plaintext, or empty when decoded into `direct`
  std::span<std::uint8_t> direct;    // the sink's memory the plaintext was decoded into
};

// BackgroundWriter creates and appends output files on its own thread, in
// the order jobs arrive. Open's in-order consumer then only hashes: SHA-256
// of each file is inherently serial and was, with write(2) beside it, the
// bottleneck of open (measured: consumer busy 0.36 s of 0.53 s per 256 MiB).
class BackgroundWriter {
 public:
  struct Job {
    std::string path;
    std::uint32_t mode = 0644;
    bool first = false;
    bool last = false;
    Bytes data;
  };

  BackgroundWriter(FileSystem& fs, internal::BufferPool& pool, std::size_t max_queued)
      : fs_(fs), pool_(pool), max_queued_(max_queued), thread_([this] { Run(); }) {}
  ~BackgroundWriter() { (void)Finish(); }

  // Push queues a job (blocking while the queue is full) and returns the
  // writer's first error so far, if any.
  Status Push(Job job) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return queue_.size() < max_queued_ || !status_.ok(); });
    if (!status_.ok()) return status_;
    queue_.push_back(std::move(job));
    cv_.notify_all();
    return Status::Ok();
  }

  // Finish waits until every queued job is written and returns the first
  // error. Idempotent.
  Status Finish() {
    {
      std::lock_guard<std::mutex> l(mu_);
      closing_ = true;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
    return status_;
  }

 private:
  void Run() {
    std::unique_ptr<WritableFile> out;
    for (;;) {
      Job job;
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [&] { return !queue_.empty() || closing_; });
        if (queue_.empty()) return;
        job = std::move(queue_.front());
        queue_.pop_front();
        cv_.notify_all();
        if (!status_.ok()) continue;  // drain after an error
      }
      Status s = [&]() -> Status {
        if (job.first) {
          ARCA_ASSIGN_OR_RETURN(out, fs_.NewWritableFile(job.path, job.mode, /*exclusive=*/true));
        }
        if (!job.data.empty()) ARCA_RETURN_IF_ERROR(out->Append(job.data));
        if (job.last) {
          ARCA_RETURN_IF_ERROR(out->Sync());
          ARCA_RETURN_IF_ERROR(out->Close());
          out.reset();
        }
        return Status::Ok();
      }();
      pool_.Give(std::move(job.data));
      if (!s.ok()) {
        std::lock_guard<std::mutex> l(mu_);
        status_ = s;
        cv_.notify_all();
      }
    }
  }

  FileSystem& fs_;
  internal::BufferPool& pool_;
  const std::size_t max_queued_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool closing_ = false;
  Status status_;
  std::thread thread_;  // last: starts after the members it uses exist
};

std::string ChunkWhere(const Manifest& m, std::uint32_t file, std::int64_t chunk, std::size_t k) {
  const ChunkRef& c = m.chunks[std::size_t(chunk)];
  return "chunk " + HexEncode(ByteSpan(c.id.data(), 8)) + "… (#" + std::to_string(k) + " of " + m.files[file].path +
         ", pack " + m.packs[c.pack].digest.substr(0, 19) + "… offset " + std::to_string(c.offset) + ")";
}

// OpenEmitFn receives verified plaintext in manifest order: `first` opens
// file `f`, `last` closes it (called only after the file's SHA-256 matched).
// `view` is the chunk's plaintext; `owned`, when not null, is the pooled
// buffer holding it, which may be moved from (what is left returns to the
// pool).
using OpenEmitFn = std::function<Status(std::uint32_t file, bool first, bool last, ByteSpan view, Bytes* owned)>;
// DirectMemoryFn returns a file's destination memory (OpenToSink's fast
// path: chunks are decoded straight into it, on the workers).
using DirectMemoryFn = std::function<std::span<std::uint8_t>(std::uint32_t file)>;

// RunOpenPipeline is the pipeline shared by Open and OpenToSink: read each
// record (producer), get its key, verify its tag and decode it (workers),
// hash each file in order and hand the plaintext to `emit` (the calling
// thread). Every chunk tag and every file digest is checked here, whatever
// the caller does with the plaintext.
Status RunOpenPipeline(const LoadedPackage& pkg, const ChunkKeyFn& chunk_key, const OpenOptions& options,
                       internal::BufferPool& plain_pool, const OpenEmitFn& emit, const DirectMemoryFn& direct,
                       OpenReport* report) {
  const Manifest& m = pkg.manifest;
  std::vector<std::unique_ptr<RandomAccessFile>> packs;
  for (const auto& p : m.packs) {
    ARCA_ASSIGN_OR_RETURN(auto f, pkg.layout.OpenBlob(Descriptor{std::string(kPackMediaType), p.digest, p.size, {}}));
    packs.push_back(std::move(f));
  }
  std::size_t file = 0, k = 0;
  std::uint64_t offset = 0;
  const std::size_t workers = WorkerCount(options.threads);
  const std::size_t in_flight = 4 * workers + 4;
  internal::BufferPool record_pool(in_flight + workers);
  std::vector<Bytes> encoded_bufs(workers);  // decrypted, still-encoded plaintext: wiped below
  internal::PipelineStages<OpenTask, OpenResult> stages;
  stages.produce = [&]() -> Result<std::optional<OpenTask>> {
    while (file < m.files.size()) {
      const FileEntry& f = m.files[file];
      OpenTask t;
      t.file = std::uint32_t(file);
      if (f.chunks.empty()) {
        t.first = t.last = true;
        ++file;
        return std::optional<OpenTask>(std::move(t));
      }
      t.chunk = f.chunks[k];
      t.ordinal = k;
      t.first = k == 0;
      t.last = k + 1 == f.chunks.size();
      const ChunkRef& c = m.chunks[std::size_t(t.chunk)];
      t.offset = offset;
      offset += c.size;
      t.record = record_pool.Take();
      t.record.resize(std::size_t(c.length));
      Status rs = packs[c.pack]->ReadAt(c.offset, t.record);
      if (!rs.ok()) return rs.WithContext(ChunkWhere(m, t.file, t.chunk, k));
      if (++k == f.chunks.size()) {
        k = 0;
        offset = 0;
        ++file;
      }
      return std::optional<OpenTask>(std::move(t));
    }
    return std::optional<OpenTask>();
  };
  std::vector<ChunkDecoder> decoders(workers);
  std::vector<Bytes> base_bufs(workers);  // delta bases' plaintext: wiped below
  stages.work = [&](OpenTask& t, std::size_t w) -> Result<OpenResult> {
    OpenResult r;
    r.file = t.file;
    r.first = t.first;
    r.last = t.last;
    if (t.chunk < 0) return r;
    const ChunkRef& c = m.chunks[std::size_t(t.chunk)];
    Result<SecretBytes> ck = chunk_key(c.id);
    if (!ck.ok()) {
      return Status(ck.status().code(), ChunkWhere(m, t.file, t.chunk, t.ordinal) + ": no key: " + ck.status().message());
    }
    if (ck->size() != kChunkKeySize) {
      return InvalidArgumentError(ChunkWhere(m, t.file, t.chunk, t.ordinal) + ": chunk key is " +
                                  std::to_string(ck->size()) + " bytes, expected " + std::to_string(kChunkKeySize));
    }
    Bytes& encoded = encoded_bufs[w];
    Status os = OpenRecord(ck->Expose(), c.id, c.encoding, c.size, t.record, &encoded);
    record_pool.Give(std::move(t.record));
    if (!os.ok()) {
      return UnauthenticatedError(ChunkWhere(m, t.file, t.chunk, t.ordinal) +
                                  ": record does not authenticate (wrong key, changed bytes, or a record moved from "
                                  "another chunk)");
    }
    std::span<std::uint8_t> out;
    if (direct) {
      // Only verified plaintext reaches the sink's memory: the tag has passed.
      std::span<std::uint8_t> mem = direct(t.file);
      if (t.offset > mem.size() || c.size > mem.size() - t.offset) {
        return CorruptionError(ChunkWhere(m, t.file, t.chunk, t.ordinal) + ": chunk ends past the file's size");
      }
      r.direct = out = mem.subspan(std::size_t(t.offset), std::size_t(c.size));
    } else {
      r.plain = plain_pool.Take();
      r.plain.resize(std::size_t(c.size));
      out = r.plain;
    }
    Status ds;
    if (c.base) {
      // A delta (§6.1): its base chain is in this package's packs, and its
      // keys are among those a release for this version carries.
      Status bs = DecodeChunkChain(m, packs, *c.base, chunk_key, decoders[w], &base_bufs[w]);
      if (!bs.ok()) return bs.WithContext("delta base of " + ChunkWhere(m, t.file, t.chunk, t.ordinal));
      ds = decoders[w].DecodeDelta(encoded, m.chunks[*c.base].id, base_bufs[w], out);
    } else {
      ds = decoders[w].Decode(c.encoding, encoded, out);
    }
    if (!ds.ok()) return ds.WithContext(ChunkWhere(m, t.file, t.chunk, t.ordinal));
    return r;
  };
  std::optional<crypto::Sha256> hash;
  std::uint64_t done = 0;
  stages.consume = [&](OpenResult& r) -> Status {
    const FileEntry& f = m.files[r.file];
    if (r.first) hash.emplace();
    const ByteSpan view = r.direct.empty() ? ByteSpan(r.plain) : ByteSpan(r.direct);
    if (!view.empty()) {
      hash->Update(view);
      done += view.size();
      ++report->chunks;
      if (options.progress) options.progress(Progress{done, 0});
    }
    if (r.last) {
      std::string got = HexEncode(hash->Finish());
      hash.reset();
      if (got != f.sha256) {
        return UnauthenticatedError("file " + f.path + ": plaintext SHA-256 is " + got + ", the manifest says " + f.sha256);
      }
      ++report->files;
      report->plaintext_bytes += f.size;
    }
    Status s = emit(r.file, r.first, r.last, view, r.direct.empty() ? &r.plain : nullptr);
    if (r.plain.capacity() > 0) plain_pool.Give(std::move(r.plain));  // not when `emit` took it
    return s;
  };
  Status s = internal::RunOrderedPipeline(std::move(stages), workers, in_flight);
  for (auto& b : encoded_bufs) OPENSSL_cleanse(b.data(), b.size());
  for (auto& b : base_bufs) OPENSSL_cleanse(b.data(), b.size());
  return s;
}

}  // namespace

Result<OpenReport> Open(FileSystem& fs, const PackageRef& pkg_ref, const LineageKey& key, const std::string& out_dir,
                        const OpenOptions& options) {
  if (fs.Stat(out_dir).ok()) return AlreadyExistsError(out_dir + " already exists; choose a new output directory");
  ARCA_ASSIGN_OR_RETURN(LoadedPackage pkg, LoadPackage(fs, pkg_ref));
  const Manifest& m = pkg.manifest;
  ARCA_RETURN_IF_ERROR(VerifyManifestKey(m, key));

  std::string temp = TempSiblingName(out_dir);
  ARCA_RETURN_IF_ERROR(fs.MakeDir(temp, 0755));
  std::set<std::string> dirs;
  OpenReport report;
  Status s = [&]() -> Status {
    for (const auto& f : m.files) {
      for (std::size_t pos = f.path.find('/'); pos != std::string::npos; pos = f.path.find('/', pos + 1)) {
        std::string d = f.path.substr(0, pos);
        if (dirs.insert(d).second) ARCA_RETURN_IF_ERROR(fs.MakeDir(JoinPath(temp, d), 0755));
      }
    }
    const std::size_t in_flight = 4 * WorkerCount(options.threads) + 4;
    // `arca open` writes plaintext to disk by design, so buffers are not
    // wiped per chunk; the pools wipe what they hold when they are destroyed.
    internal::BufferPool plain_pool(in_flight + WorkerCount(options.threads));
    BackgroundWriter writer(fs, plain_pool, in_flight);
    ChunkKeyFn lineage_chunk_key = [&key](const ChunkId& id) -> Result<SecretBytes> { return key.ChunkKey(id); };
    OpenEmitFn emit = [&](std::uint32_t file, bool first, bool last, ByteSpan, Bytes* owned) -> Status {
      const FileEntry& f = m.files[file];
      return writer.Push(BackgroundWriter::Job{JoinPath(temp, f.path), f.mode, first, last, std::move(*owned)});
    };
    Status pipeline = RunOpenPipeline(pkg, lineage_chunk_key, options, plain_pool, emit, nullptr, &report);
    Status written = writer.Finish();  // every file synced and closed, or the first write error
    ARCA_RETURN_IF_ERROR(pipeline);
    ARCA_RETURN_IF_ERROR(written);
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) ARCA_RETURN_IF_ERROR(fs.SyncDir(JoinPath(temp, *it)));
    ARCA_RETURN_IF_ERROR(fs.SyncDir(temp));
    if (fs.Stat(out_dir).ok()) return AlreadyExistsError(out_dir + " appeared while opening; not replacing it");
    ARCA_RETURN_IF_ERROR(fs.Rename(temp, out_dir));
    return fs.SyncDir(DirName(out_dir));
  }();
  if (!s.ok()) {
    (void)fs.RemoveAll(temp);
    return s;
  }
  return report;
}

Result<OpenReport> OpenToSink(const LoadedPackage& pkg, const std::string& expected_manifest_digest,
                              const ChunkKeyFn& chunk_key, PlaintextSink& sink, const OpenOptions& options) {
  // The per-chunk-key path cannot check the manifest MAC (that needs the
  // lineage key): the manifest is trusted because its digest is the one the
  // caller verified signatures for (specs/format.md §10.2).
  if (expected_manifest_digest.empty() || pkg.manifest_blob.digest != expected_manifest_digest) {
    return UnauthenticatedError("package manifest is " + pkg.manifest_blob.digest + ", expected " +
                                (expected_manifest_digest.empty() ? "(none given)" : expected_manifest_digest));
  }
  const Manifest& m = pkg.manifest;
  const std::size_t workers = WorkerCount(options.threads);
  internal::BufferPool plain_pool(4 * workers + 4 + workers);
  OpenReport report;
  OpenEmitFn emit = [&](std::uint32_t file, bool first, bool last, ByteSpan view, Bytes*) -> Status {
    const FileEntry& f = m.files[file];
    if (first) ARCA_RETURN_IF_ERROR(sink.BeginFile(f));
    if (!view.empty()) ARCA_RETURN_IF_ERROR(sink.Append(view));
    if (last) ARCA_RETURN_IF_ERROR(sink.EndFile(f));
    return Status::Ok();
  };
  Result<bool> prepared = sink.PrepareFiles(m.files);
  if (!prepared.ok()) {
    sink.Abort();
    return prepared.status();
  }
  DirectMemoryFn direct;
  if (*prepared) direct = [&sink](std::uint32_t file) { return sink.FileMemory(file); };
  Status s = RunOpenPipeline(pkg, chunk_key, options, plain_pool, emit, direct, &report);
  if (!s.ok()) {
    sink.Abort();
    return s;
  }
  return report;
}

}  // namespace arca::format
