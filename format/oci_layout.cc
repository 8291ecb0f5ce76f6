#include "format/oci_layout.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace arca::format {
namespace {

constexpr std::uint64_t kMaxIndexBytes = 1 << 20;
constexpr std::uint64_t kMaxOciManifestBytes = 4 << 20;  // registries commonly cap manifests at 4 MiB

Json DescriptorToJson(const Descriptor& d) {
  Json j = {{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  return j;
}

Result<Descriptor> ParseDescriptor(const Json& j, const std::string& where) {
  if (!j.is_object()) return InvalidArgumentError(where + " must be an object");
  Descriptor d;
  ARCA_ASSIGN_OR_RETURN(d.media_type, RequireString(j, "mediaType", where));
  ARCA_ASSIGN_OR_RETURN(d.digest, RequireString(j, "digest", where));
  if (!IsValidDigest(d.digest)) return InvalidArgumentError(where + ".digest \"" + d.digest.substr(0, 80) + "\" is not sha256:<64 lower-case hex>");
  ARCA_ASSIGN_OR_RETURN(d.size, RequireUint(j, "size", where, 1ull << 50));
  if (j.contains("annotations")) {
    const Json& a = j["annotations"];
    if (!a.is_object()) return InvalidArgumentError(where + ".annotations must be an object");
    for (auto it = a.begin(); it != a.end(); ++it) {
      if (!it->is_string()) return InvalidArgumentError(where + ".annotations values must be strings");
      d.annotations[it.key()] = it->get<std::string>();
    }
  }
  return d;
}

class LayoutBlobWriter final : public BlobWriter {
 public:
  LayoutBlobWriter(FileSystem& fs, std::string blobs_dir, std::string temp_path, std::unique_ptr<WritableFile> f)
      : fs_(fs), blobs_dir_(std::move(blobs_dir)), temp_path_(std::move(temp_path)), file_(std::move(f)) {}
  ~LayoutBlobWriter() override {
    if (!finished_) (void)fs_.Remove(temp_path_);
  }
  Status Append(ByteSpan data) override {
    hash_.Update(data);
    size_ += data.size();
    return file_->Append(data);
  }
  std::uint64_t size() const override { return size_; }
  Result<Descriptor> Finish(std::string_view media_type) override {
    ARCA_RETURN_IF_ERROR(file_->Sync());
    ARCA_RETURN_IF_ERROR(file_->Close());
    Descriptor d;
    d.media_type = std::string(media_type);
    d.digest = "sha256:" + HexEncode(hash_.Finish());
    d.size = size_;
    ARCA_RETURN_IF_ERROR(fs_.Rename(temp_path_, JoinPath(blobs_dir_, d.digest.substr(7))));
    finished_ = true;
    return d;
  }

 private:
  FileSystem& fs_;
  std::string blobs_dir_;
  std::string temp_path_;
  std::unique_ptr<WritableFile> file_;
  crypto::Sha256 hash_;
  std::uint64_t size_ = 0;
  bool finished_ = false;
};

}  // namespace

namespace {
bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
}  // namespace

bool IsOciNameComponent(std::string_view c) {
  if (c.empty() || !IsLowerAlnum(c.front()) || !IsLowerAlnum(c.back())) return false;
  for (std::size_t i = 0; i < c.size();) {
    if (IsLowerAlnum(c[i])) {
      ++i;
      continue;
    }
    // A separator run: ".", "_", "__" or "-+"; it must be followed by alnum.
    std::size_t j = i;
    if (c[i] == '.') {
      j = i + 1;
    } else if (c[i] == '_') {
      j = i + 1;
      if (j < c.size() && c[j] == '_') ++j;
    } else if (c[i] == '-') {
      while (j < c.size() && c[j] == '-') ++j;
    } else {
      return false;
    }
    if (j >= c.size() || !IsLowerAlnum(c[j])) return false;
    i = j;
  }
  return true;
}

bool IsOciTag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  auto word = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; };
  if (!word(tag[0])) return false;
  for (char c : tag.substr(1)) {
    if (!word(c) && c != '.' && c != '-') return false;
  }
  return true;
}

bool IsValidDigest(std::string_view digest) {
  return digest.substr(0, 7) == "sha256:" && IsLowerHex(digest.substr(7), 64);
}

std::string DigestOf(ByteSpan data) { return "sha256:" + HexEncode(crypto::Sha256::Hash(data)); }

std::string SerializeOciManifest(const OciManifest& m) {
  Json layers = Json::array();
  for (const auto& l : m.layers) layers.push_back(DescriptorToJson(l));
  Json j = {{"schemaVersion", 2},
            {"mediaType", kOciManifestMediaType},
            {"artifactType", m.artifact_type},
            {"config", DescriptorToJson(m.config)},
            {"layers", std::move(layers)}};
  if (!m.annotations.empty()) j["annotations"] = m.annotations;
  // Canonical form is not required by OCI, but makes seals reproducible.
  return std::move(CanonicalJson(j)).value();
}

Result<OciManifest> ParseOciManifest(ByteSpan bytes) {
  JsonLimits limits;
  limits.max_bytes = kMaxOciManifestBytes;
  ARCA_ASSIGN_OR_RETURN(Json j, ParseJson(ToString(bytes), "OCI manifest", limits));
  if (!j.is_object()) return InvalidArgumentError("OCI manifest must be a JSON object");
  ARCA_ASSIGN_OR_RETURN(std::uint64_t schema, RequireUint(j, "schemaVersion", "OCI manifest"));
  if (schema != 2) return InvalidArgumentError("OCI manifest schemaVersion is " + std::to_string(schema) + ", expected 2");
  ARCA_ASSIGN_OR_RETURN(std::string media, RequireString(j, "mediaType", "OCI manifest"));
  if (media != kOciManifestMediaType) return InvalidArgumentError("OCI manifest mediaType is \"" + media.substr(0, 80) + "\", expected " + std::string(kOciManifestMediaType));
  OciManifest m;
  if (j.contains("artifactType")) {
    ARCA_ASSIGN_OR_RETURN(m.artifact_type, RequireString(j, "artifactType", "OCI manifest"));
  }
  ARCA_ASSIGN_OR_RETURN(const Json* config, RequireObject(j, "config", "OCI manifest"));
  ARCA_ASSIGN_OR_RETURN(m.config, ParseDescriptor(*config, "OCI manifest.config"));
  ARCA_ASSIGN_OR_RETURN(const Json* layers, RequireArray(j, "layers", "OCI manifest"));
  for (std::size_t i = 0; i < layers->size(); ++i) {
    ARCA_ASSIGN_OR_RETURN(Descriptor d, ParseDescriptor((*layers)[i], "OCI manifest.layers[" + std::to_string(i) + "]"));
    m.layers.push_back(std::move(d));
  }
  if (j.contains("annotations") && j["annotations"].is_object()) {
    for (auto it = j["annotations"].begin(); it != j["annotations"].end(); ++it) {
      if (it->is_string()) m.annotations[it.key()] = it->get<std::string>();
    }
  }
  return m;
}

Result<std::unique_ptr<OciLayoutWriter>> OciLayoutWriter::Create(FileSystem& fs, const std::string& final_dir) {
  if (fs.Stat(final_dir).ok()) return AlreadyExistsError(final_dir + " already exists; choose a new output directory");
  std::string temp = TempSiblingName(final_dir);
  ARCA_RETURN_IF_ERROR(fs.MakeDir(temp, 0755));
  std::unique_ptr<OciLayoutWriter> w(new OciLayoutWriter(fs, final_dir, temp));
  ARCA_RETURN_IF_ERROR(fs.MakeDir(JoinPath(temp, "blobs"), 0755));
  ARCA_RETURN_IF_ERROR(fs.MakeDir(JoinPath(temp, "blobs/sha256"), 0755));
  return w;
}

OciLayoutWriter::~OciLayoutWriter() {
  if (!committed_) (void)fs_.RemoveAll(temp_dir_);
}

Result<std::unique_ptr<BlobWriter>> OciLayoutWriter::NewBlob() {
  std::string blobs = JoinPath(temp_dir_, "blobs/sha256");
  std::string temp = TempSiblingName(JoinPath(blobs, "blob"));
  ARCA_ASSIGN_OR_RETURN(auto f, fs_.NewWritableFile(temp, 0644, /*exclusive=*/true));
  return std::unique_ptr<BlobWriter>(new LayoutBlobWriter(fs_, blobs, temp, std::move(f)));
}

Result<Descriptor> OciLayoutWriter::AddBlob(ByteSpan data, std::string_view media_type) {
  ARCA_ASSIGN_OR_RETURN(auto w, NewBlob());
  ARCA_RETURN_IF_ERROR(w->Append(data));
  return w->Finish(media_type);
}

Result<Descriptor> OciLayoutWriter::AddExistingBlob(const std::string& source_path, const Descriptor& desc) {
  std::string target = JoinPath(temp_dir_, "blobs/sha256/" + desc.digest.substr(7));
  if (fs_.Stat(target).ok()) return desc;
  if (fs_.Link(source_path, target).ok()) return desc;
  // Different file system: copy in slices and verify the digest on the way.
  ARCA_ASSIGN_OR_RETURN(auto src, fs_.OpenRead(source_path));
  ARCA_ASSIGN_OR_RETURN(auto w, NewBlob());
  Bytes buf(std::min<std::uint64_t>(src->size(), 8 << 20));
  for (std::uint64_t off = 0; off < src->size();) {
    std::size_t n = std::size_t(std::min<std::uint64_t>(buf.size(), src->size() - off));
    ARCA_RETURN_IF_ERROR(src->ReadAt(off, std::span(buf.data(), n)));
    ARCA_RETURN_IF_ERROR(w->Append(ByteSpan(buf.data(), n)));
    off += n;
  }
  ARCA_ASSIGN_OR_RETURN(Descriptor got, w->Finish(desc.media_type));
  if (got.digest != desc.digest) return UnauthenticatedError("blob " + source_path + " does not match its digest " + desc.digest);
  return desc;
}

Result<Descriptor> OciLayoutWriter::Commit(const OciManifest& manifest, const std::string& ref) {
  std::string manifest_json = SerializeOciManifest(manifest);
  ARCA_ASSIGN_OR_RETURN(Descriptor md, AddBlob(AsBytes(manifest_json), kOciManifestMediaType));
  Json entry = {{"mediaType", kOciManifestMediaType},
                {"digest", md.digest},
                {"size", md.size},
                {"artifactType", manifest.artifact_type},
                {"annotations", {{std::string(kRefNameAnnotation), ref}}}};
  Json index = {{"schemaVersion", 2}, {"mediaType", kOciIndexMediaType}, {"manifests", Json::array({entry})}};
  ARCA_ASSIGN_OR_RETURN(std::string index_json, CanonicalJson(index));
  ARCA_RETURN_IF_ERROR(WriteFileAtomic(fs_, JoinPath(temp_dir_, "index.json"), AsBytes(index_json), 0644));
  ARCA_RETURN_IF_ERROR(WriteFileAtomic(fs_, JoinPath(temp_dir_, "oci-layout"),
                                       AsBytes(R"({"imageLayoutVersion":"1.0.0"})"), 0644));
  ARCA_RETURN_IF_ERROR(fs_.SyncDir(JoinPath(temp_dir_, "blobs/sha256")));
  ARCA_RETURN_IF_ERROR(fs_.SyncDir(temp_dir_));
  if (fs_.Stat(final_dir_).ok()) return AlreadyExistsError(final_dir_ + " appeared while sealing; not replacing it");
  ARCA_RETURN_IF_ERROR(fs_.Rename(temp_dir_, final_dir_));
  committed_ = true;
  ARCA_RETURN_IF_ERROR(fs_.SyncDir(DirName(final_dir_)));
  md.annotations[std::string(kRefNameAnnotation)] = ref;
  return md;
}

Result<OciLayoutReader> OciLayoutReader::Open(FileSystem& fs, const std::string& dir, const std::string& ref) {
  OciLayoutReader r;
  r.fs_ = &fs;
  r.dir_ = dir;
  ARCA_ASSIGN_OR_RETURN(Bytes layout, ReadFileBounded(fs, JoinPath(dir, "oci-layout"), 4096));
  ARCA_ASSIGN_OR_RETURN(Json lj, ParseJson(ToString(layout), dir + "/oci-layout"));
  if (!lj.is_object() || !lj.contains("imageLayoutVersion") || lj["imageLayoutVersion"] != "1.0.0") {
    return InvalidArgumentError(dir + "/oci-layout does not declare imageLayoutVersion 1.0.0");
  }
  ARCA_ASSIGN_OR_RETURN(Bytes index_bytes, ReadFileBounded(fs, JoinPath(dir, "index.json"), kMaxIndexBytes));
  ARCA_ASSIGN_OR_RETURN(Json index, ParseJson(ToString(index_bytes), dir + "/index.json"));
  if (!index.is_object()) return InvalidArgumentError(dir + "/index.json must be a JSON object");
  ARCA_ASSIGN_OR_RETURN(std::uint64_t schema, RequireUint(index, "schemaVersion", "index.json"));
  if (schema != 2) return InvalidArgumentError("index.json schemaVersion is " + std::to_string(schema) + ", expected 2");
  ARCA_ASSIGN_OR_RETURN(const Json* manifests, RequireArray(index, "manifests", "index.json"));
  std::vector<Descriptor> candidates;
  std::string refs;
  for (std::size_t i = 0; i < manifests->size(); ++i) {
    ARCA_ASSIGN_OR_RETURN(Descriptor d, ParseDescriptor((*manifests)[i], "index.json.manifests[" + std::to_string(i) + "]"));
    if (d.media_type != kOciManifestMediaType) continue;
    auto it = d.annotations.find(std::string(kRefNameAnnotation));
    std::string name = it == d.annotations.end() ? "" : it->second;
    if (!refs.empty()) refs += ", ";
    refs += name.empty() ? "(unnamed)" : name;
    if (ref.empty() || name == ref) candidates.push_back(std::move(d));
  }
  if (candidates.empty()) {
    return NotFoundError(dir + "/index.json has no image manifest" + (ref.empty() ? "" : " named \"" + ref + "\"") +
                         (refs.empty() ? "" : " (it has: " + refs + ")"));
  }
  if (candidates.size() > 1) return InvalidArgumentError(dir + " holds several manifests (" + refs + "); name one as DIR:REF");
  r.manifest_desc_ = candidates.front();
  auto it = r.manifest_desc_.annotations.find(std::string(kRefNameAnnotation));
  if (it != r.manifest_desc_.annotations.end()) r.ref_ = it->second;
  ARCA_ASSIGN_OR_RETURN(Bytes mbytes, r.ReadBlob(r.manifest_desc_, kMaxOciManifestBytes));
  ARCA_ASSIGN_OR_RETURN(r.manifest_, ParseOciManifest(mbytes));
  return r;
}

std::string OciLayoutReader::BlobPath(const std::string& digest) const {
  return JoinPath(dir_, "blobs/sha256/" + digest.substr(7));
}

Result<Bytes> OciLayoutReader::ReadBlob(const Descriptor& desc, std::uint64_t max_bytes) const {
  if (!IsValidDigest(desc.digest)) return InvalidArgumentError("invalid digest \"" + desc.digest.substr(0, 80) + "\"");
  if (desc.size > max_bytes) {
    return ResourceExhaustedError("blob " + desc.digest + " declares " + std::to_string(desc.size) + " bytes, over the limit of " + std::to_string(max_bytes));
  }
  auto data = ReadFileBounded(*fs_, BlobPath(desc.digest), max_bytes);
  if (!data.ok()) return data.status().WithContext("blob " + desc.digest);
  if (data->size() != desc.size) {
    return CorruptionError("blob " + desc.digest + " is " + std::to_string(data->size()) + " bytes, its descriptor says " + std::to_string(desc.size));
  }
  std::string got = DigestOf(*data);
  if (got != desc.digest) return UnauthenticatedError("blob " + desc.digest + " does not match its digest (content hashes to " + got + ")");
  return data;
}

Result<std::unique_ptr<RandomAccessFile>> OciLayoutReader::OpenBlob(const Descriptor& desc) const {
  if (!IsValidDigest(desc.digest)) return InvalidArgumentError("invalid digest \"" + desc.digest.substr(0, 80) + "\"");
  auto f = fs_->OpenRead(BlobPath(desc.digest));
  if (!f.ok()) return f.status().WithContext("blob " + desc.digest);
  if ((*f)->size() != desc.size) {
    return CorruptionError("blob " + desc.digest + " is " + std::to_string((*f)->size()) + " bytes, its descriptor says " + std::to_string(desc.size) + " (truncated or extended)");
  }
  return f;
}

Result<Descriptor> AddBlobToLayout(FileSystem& fs, const std::string& dir, ByteSpan data, std::string_view media_type) {
  Descriptor d{std::string(media_type), DigestOf(data), data.size(), {}};
  std::string path = JoinPath(dir, "blobs/sha256/" + d.digest.substr(7));
  if (fs.Stat(path).ok()) return d;
  ARCA_RETURN_IF_ERROR(WriteFileAtomic(fs, path, data, 0644));
  return d;
}

Result<Descriptor> ReplaceManifest(FileSystem& fs, const OciLayoutReader& current, const OciManifest& next,
                                   const std::vector<std::string>& garbage) {
  const std::string& dir = current.dir();
  std::string manifest_json = SerializeOciManifest(next);
  ARCA_ASSIGN_OR_RETURN(Descriptor md, AddBlobToLayout(fs, dir, AsBytes(manifest_json), kOciManifestMediaType));

  // Re-read the index now, so an entry someone else changed since `current`
  // was loaded is noticed instead of overwritten.
  ARCA_ASSIGN_OR_RETURN(Bytes index_bytes, ReadFileBounded(fs, JoinPath(dir, "index.json"), kMaxIndexBytes));
  ARCA_ASSIGN_OR_RETURN(Json index, ParseJson(ToString(index_bytes), dir + "/index.json"));
  if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array()) {
    return InvalidArgumentError(dir + "/index.json has no manifests array");
  }
  const std::string& old_digest = current.manifest_descriptor().digest;
  bool replaced = false;
  std::vector<Descriptor> entries;
  for (Json& e : index["manifests"]) {
    ARCA_ASSIGN_OR_RETURN(Descriptor d, ParseDescriptor(e, dir + "/index.json.manifests[]"));
    auto ref_it = d.annotations.find(std::string(kRefNameAnnotation));
    std::string name = ref_it == d.annotations.end() ? "" : ref_it->second;
    if (!replaced && d.digest == old_digest && name == current.ref()) {
      e["digest"] = md.digest;
      e["size"] = md.size;
      d.digest = md.digest;
      d.size = md.size;
      replaced = true;
    }
    entries.push_back(std::move(d));
  }
  if (!replaced) {
    return FailedPreconditionError(dir + " changed while it was being updated (index.json no longer names " + old_digest +
                                   "); run the command again");
  }
  ARCA_ASSIGN_OR_RETURN(std::string index_json, CanonicalJson(index));
  ARCA_RETURN_IF_ERROR(WriteFileAtomic(fs, JoinPath(dir, "index.json"), AsBytes(index_json), 0644));

  // Collect what every remaining manifest references, then delete the
  // candidates nobody does. Failures here leave only unreferenced blobs.
  std::vector<std::string> candidates = garbage;
  candidates.push_back(old_digest);
  std::vector<std::string> live;
  for (const Descriptor& e : entries) {
    live.push_back(e.digest);
    if (e.media_type != kOciManifestMediaType) continue;
    auto bytes = current.ReadBlob(e, kMaxOciManifestBytes);
    if (!bytes.ok()) return Descriptor(md);  // cannot prove a blob dead: keep them all
    auto m = ParseOciManifest(*bytes);
    if (!m.ok()) return Descriptor(md);
    live.push_back(m->config.digest);
    for (const auto& l : m->layers) live.push_back(l.digest);
  }
  for (const std::string& g : candidates) {
    if (!IsValidDigest(g) || std::find(live.begin(), live.end(), g) != live.end()) continue;
    (void)fs.Remove(current.BlobPath(g));
  }
  (void)fs.SyncDir(JoinPath(dir, "blobs/sha256"));
  return md;
}

}  // namespace arca::format
