#include "distribution/transfer.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/crypto.h"
#include "base/json.h"
#include "base/time.h"
#include "distribution/store.h"
#include "format/manifest.h"
#include "format/oci_layout.h"
#include "signer/verify.h"

namespace arca::distribution {
namespace {

using format::Descriptor;

// Byte counters shared by workers; progress calls are serialised.
class Counters {
 public:
  Counters(format::ProgressFn fn, std::uint64_t total) : fn_(std::move(fn)), total_(total) {}
  void Add(std::uint64_t n) {
    std::uint64_t done = done_.fetch_add(n) + n;
    if (!fn_) return;
    std::lock_guard<std::mutex> l(mu_);
    fn_(format::Progress{done, total_});
  }
  std::uint64_t done() const { return done_.load(); }

 private:
  format::ProgressFn fn_;
  std::uint64_t total_;
  std::atomic<std::uint64_t> done_{0};
  std::mutex mu_;
};

// RunParallel runs job(i, client) for every i < n on at most `threads`
// workers, each with its own RegistryClient (one connection each). The
// first failure stops new jobs, sets `cancel` (running transfers check it
// in their sinks) and is returned.
Status RunParallel(std::size_t n, std::size_t threads, const RegistryClient& proto, std::atomic<bool>& cancel,
                   const std::function<Status(std::size_t, RegistryClient&)>& job) {
  if (n == 0) return Status::Ok();
  threads = std::max<std::size_t>(1, std::min(threads, n));
  std::atomic<std::size_t> next{0};
  std::mutex mu;
  Status first;
  auto fail = [&](const Status& s) {
    std::lock_guard<std::mutex> l(mu);
    if (first.ok()) first = s;
    cancel = true;
  };
  auto worker = [&] {
    auto client = proto.Clone();
    if (!client.ok()) return fail(client.status());
    while (!cancel) {
      std::size_t i = next.fetch_add(1);
      if (i >= n) return;
      Status s = job(i, **client);
      if (!s.ok()) return fail(s);
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  return first;
}

Status Cancelled() { return UnavailableError("cancelled after another transfer failed"); }

// --- push

Status UploadBlob(FileSystem& fs, const Paths& paths, RegistryClient& c, const Reference& ref, const Descriptor& desc,
                  const std::string& path, const TransferOptions& options, Counters& counters, std::atomic<std::uint64_t>& sent,
                  std::atomic<bool>& cancel) {
  ARCA_ASSIGN_OR_RETURN(auto file, fs.OpenRead(path));
  if (file->size() != desc.size) {
    return CorruptionError("blob " + desc.digest + " is " + std::to_string(file->size()) + " bytes, its descriptor says " +
                           std::to_string(desc.size));
  }
  UploadRecord record{ref.registry, ref.repository, desc.digest, "", 0};
  std::string location;
  std::uint64_t offset = 0;
  if (auto saved = LoadUploadRecord(fs, paths, ref.registry, ref.repository, desc.digest)) {
    auto st = c.GetUploadStatus(saved->location);
    if (st.ok() && st->offset_known && st->offset <= desc.size) {
      location = st->location;
      offset = st->offset;
      counters.Add(offset);  // already there: count it as done for progress
    } else if (!st.ok() && st.status().code() != StatusCode::kNotFound && st.status().code() != StatusCode::kInvalidArgument) {
      return st.status();
    }
  }
  if (location.empty()) {
    ARCA_ASSIGN_OR_RETURN(location, c.StartUpload(ref.repository));
    offset = 0;
  }
  record.location = location;
  record.offset = offset;
  ARCA_RETURN_IF_ERROR(SaveUploadRecord(fs, paths, record));
  Bytes buf(std::size_t(std::min<std::uint64_t>(options.chunk_bytes, std::max<std::uint64_t>(desc.size, 1))));
  while (offset < desc.size) {
    if (cancel) return Cancelled();
    std::size_t n = std::size_t(std::min<std::uint64_t>(buf.size(), desc.size - offset));
    ARCA_RETURN_IF_ERROR(file->ReadAt(offset, std::span(buf.data(), n)));
    ARCA_ASSIGN_OR_RETURN(location, c.UploadChunk(location, offset, ByteSpan(buf.data(), n)));
    offset += n;
    sent += n;
    counters.Add(n);
    record.location = location;
    record.offset = offset;
    ARCA_RETURN_IF_ERROR(SaveUploadRecord(fs, paths, record));
  }
  Status fin = c.FinishUpload(location, desc.digest);
  // Whatever the answer, this session is finished: a rerun starts afresh.
  ForgetUploadRecord(fs, paths, record);
  return fin;
}

// --- pull

// Staging is a throw-away OCI layout under the store's .tmp/ holding the
// image manifest and the small blobs, for signer::VerifyPackage.
class Staging {
 public:
  Staging(FileSystem& fs, std::string dir) : fs_(fs), dir_(std::move(dir)) {}
  ~Staging() { (void)fs_.RemoveAll(dir_); }
  const std::string& dir() const { return dir_; }

 private:
  FileSystem& fs_;
  std::string dir_;
};

Status DownloadPack(FileSystem& fs, Store& store, RegistryClient& c, const Reference& ref, const Descriptor& desc,
                    Counters& progress, std::atomic<std::uint64_t>& wire_bytes, std::atomic<bool>& cancel) {
  std::string hex = desc.digest.substr(7);
  std::string partial = JoinPath(store.TempDir(), hex + ".partial");
  crypto::Sha256 hash;
  std::uint64_t have = 0;
  std::unique_ptr<WritableFile> out;

  // Resume: hash what an earlier run left, then ask for the rest.
  auto st = fs.Stat(partial);
  if (st.ok() && st->type == FileType::kRegular && st->size <= desc.size) {
    auto app = fs.OpenAppend(partial, 0644);
    auto in = fs.OpenRead(partial);
    if (app.ok() && in.ok()) {
      Bytes buf(std::size_t(std::min<std::uint64_t>(st->size, 8 << 20)));
      for (std::uint64_t off = 0; off < st->size;) {
        std::size_t n = std::size_t(std::min<std::uint64_t>(buf.size(), st->size - off));
        ARCA_RETURN_IF_ERROR(in.value()->ReadAt(off, std::span(buf.data(), n)));
        hash.Update(ByteSpan(buf.data(), n));
        off += n;
      }
      have = st->size;
      out = std::move(*app);
      progress.Add(have);
    }
  }
  auto restart = [&]() -> Status {
    hash = crypto::Sha256();
    have = 0;
    out.reset();
    ARCA_ASSIGN_OR_RETURN(out, fs.NewWritableFile(partial, 0644, /*exclusive=*/false));
    return Status::Ok();
  };
  if (!out) ARCA_RETURN_IF_ERROR(restart());

  if (have < desc.size) {
    std::uint64_t asked = have;
    Status got = c.GetBlob(
        ref.repository, desc.digest, asked,
        [&](std::uint64_t start) -> Status {
          if (start == 0 && asked > 0) return restart();  // the registry ignored Range
          return Status::Ok();
        },
        [&](ByteSpan data) -> Status {
          if (cancel) return Cancelled();
          if (have + data.size() > desc.size) {
            return UnauthenticatedError("blob " + desc.digest + " from " + ref.registry + " is longer than the " +
                                        std::to_string(desc.size) + " bytes the manifest declares");
          }
          ARCA_RETURN_IF_ERROR(out->Append(data));
          hash.Update(data);
          have += data.size();
          wire_bytes += data.size();
          progress.Add(data.size());
          return Status::Ok();
        });
    if (!got.ok()) {
      if (got.code() == StatusCode::kUnauthenticated && got.message().find("longer than") != std::string::npos) {
        out.reset();
        (void)fs.Remove(partial);
      }
      return got.WithContext("downloading pack " + desc.digest);
    }
  }
  if (have != desc.size) {
    return UnavailableError("pack " + desc.digest + " ended after " + std::to_string(have) + " of " + std::to_string(desc.size) +
                            " bytes; run the pull again to resume");
  }
  std::string digest = "sha256:" + HexEncode(hash.Finish());
  if (digest != desc.digest) {
    out.reset();
    (void)fs.Remove(partial);
    return UnauthenticatedError("blob " + desc.digest + " served by " + ref.registry + " does not match its digest (its bytes hash to " +
                                digest + "); deleted it, nothing installed");
  }
  ARCA_RETURN_IF_ERROR(out->Sync());
  ARCA_RETURN_IF_ERROR(out->Close());
  return store.InstallFile(partial, desc.digest);
}

// --- chunk-level pulls

struct LocalRecord {
  std::string path;  // a pack blob in the store
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};
using LocalRecords = std::unordered_map<std::string, LocalRecord>;  // chunk id bytes -> where

std::string IdKey(const format::ChunkId& id) { return std::string(reinterpret_cast<const char*>(id.data()), id.size()); }

// IndexLocalRecords maps the chunk ids of every installed version of
// `lineage_id` to their records in packs the store holds. Entries that do
// not read or parse are skipped: this is only an optimisation, and every
// byte reused is checked by the new pack's digest.
LocalRecords IndexLocalRecords(Store& store, const std::string& lineage_id) {
  LocalRecords out;
  auto entries = store.List();
  if (!entries.ok()) return out;
  std::set<std::string> seen;
  for (const auto& e : *entries) {
    if (!e.complete || !seen.insert(e.manifest.digest).second) continue;
    auto ob = store.ReadBlob(e.manifest, kMaxManifestDownloadBytes);
    if (!ob.ok()) continue;
    auto om = format::ParseOciManifest(*ob);
    if (!om.ok() || om->layers.empty() || om->layers[0].media_type != format::kManifestMediaType) continue;
    format::ManifestLimits limits;
    auto mb = store.ReadBlob(om->layers[0], limits.max_bytes);
    if (!mb.ok()) continue;
    auto m = format::ParseManifest(*mb, limits);
    if (!m.ok() || m->lineage_id != lineage_id) continue;
    for (const auto& c : m->chunks) {
      const format::PackRef& p = m->packs[c.pack];
      out.emplace(IdKey(c.id), LocalRecord{store.BlobPath(p.digest), c.offset, c.length});
    }
  }
  return out;
}

// AssemblePack builds pack `desc` from records the store already has and
// Range reads of the rest, hashing as it goes. Returns false (nothing
// installed, nothing left behind) when there is nothing to reuse, the
// registry ignores Range, or the result does not hash to the digest: the
// caller then downloads the pack whole.
Result<bool> AssemblePack(FileSystem& fs, Store& store, RegistryClient& c, const Reference& ref, const Descriptor& desc,
                          std::vector<format::ChunkRef> records, const LocalRecords& local, Counters& progress,
                          std::atomic<std::uint64_t>& wire_bytes, std::atomic<std::uint64_t>& reused,
                          std::atomic<bool>& cancel) {
  struct Segment {
    std::uint64_t begin, end;
    const LocalRecord* from = nullptr;  // null: fetch from the registry
  };
  std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) { return a.offset < b.offset; });
  std::vector<Segment> plan;
  auto remote = [&](std::uint64_t b, std::uint64_t e) {
    if (e <= b) return;
    if (!plan.empty() && plan.back().from == nullptr && plan.back().end == b) {
      plan.back().end = e;
    } else {
      plan.push_back(Segment{b, e, nullptr});
    }
  };
  std::uint64_t pos = 0, reusable = 0;
  for (const auto& r : records) {
    if (r.offset < pos || r.offset + r.length > desc.size) return false;  // overlapping records: not ours to optimise
    remote(pos, r.offset);
    auto it = local.find(IdKey(r.id));
    if (it != local.end() && it->second.length == r.length) {
      plan.push_back(Segment{r.offset, r.offset + r.length, &it->second});
      reusable += r.length;
    } else {
      remote(r.offset, r.offset + r.length);
    }
    pos = r.offset + r.length;
  }
  remote(pos, desc.size);
  if (reusable == 0) return false;

  std::string partial = JoinPath(store.TempDir(), desc.digest.substr(7) + ".assembling");
  ARCA_ASSIGN_OR_RETURN(auto out, fs.NewWritableFile(partial, 0644, /*exclusive=*/false));
  crypto::Sha256 hash;
  std::map<std::string, std::unique_ptr<RandomAccessFile>> open_files;
  Bytes buf(8 << 20);
  bool ignored_range = false;
  std::uint64_t got_wire = 0, got_reused = 0;
  Status s = [&]() -> Status {
    for (const auto& seg : plan) {
      if (cancel) return Cancelled();
      if (seg.from) {
        auto& f = open_files[seg.from->path];
        if (!f) {
          ARCA_ASSIGN_OR_RETURN(f, fs.OpenRead(seg.from->path));
        }
        for (std::uint64_t off = 0; off < seg.end - seg.begin;) {
          std::size_t n = std::size_t(std::min<std::uint64_t>(buf.size(), seg.end - seg.begin - off));
          ARCA_RETURN_IF_ERROR(f->ReadAt(seg.from->offset + off, std::span(buf.data(), n)));
          ARCA_RETURN_IF_ERROR(out->Append(ByteSpan(buf.data(), n)));
          hash.Update(ByteSpan(buf.data(), n));
          off += n;
        }
        got_reused += seg.end - seg.begin;
        progress.Add(seg.end - seg.begin);
        continue;
      }
      std::uint64_t have = 0;
      const std::uint64_t want = seg.end - seg.begin;
      Status g = c.GetBlob(
          ref.repository, desc.digest, seg.begin,
          [&](std::uint64_t start) -> Status {
            if (start != seg.begin) {
              ignored_range = true;
              return UnavailableError("the registry ignored a Range request");
            }
            return Status::Ok();
          },
          [&](ByteSpan data) -> Status {
            if (cancel) return Cancelled();
            if (have + data.size() > want) {
              ignored_range = true;
              return UnavailableError("the registry sent more than the range asked for");
            }
            ARCA_RETURN_IF_ERROR(out->Append(data));
            hash.Update(data);
            have += data.size();
            got_wire += data.size();
            progress.Add(data.size());
            return Status::Ok();
          },
          seg.end);
      if (ignored_range) return Status::Ok();
      ARCA_RETURN_IF_ERROR(g.WithContext("reading bytes " + std::to_string(seg.begin) + "-" + std::to_string(seg.end - 1) +
                                         " of pack " + desc.digest));
      if (have != want) {
        return UnavailableError("pack " + desc.digest + ": range " + std::to_string(seg.begin) + "-" + std::to_string(seg.end - 1) +
                                " ended after " + std::to_string(have) + " bytes; run the pull again");
      }
    }
    return Status::Ok();
  }();
  wire_bytes += got_wire;
  if (!s.ok() || ignored_range) {
    out.reset();
    (void)fs.Remove(partial);
    if (!s.ok()) return s;
    return false;
  }
  std::string digest = "sha256:" + HexEncode(hash.Finish());
  if (digest != desc.digest) {
    out.reset();
    (void)fs.Remove(partial);
    return false;  // a reused record differed (another encoder?) or the registry lied: fetch it whole
  }
  ARCA_RETURN_IF_ERROR(out->Sync());
  ARCA_RETURN_IF_ERROR(out->Close());
  ARCA_RETURN_IF_ERROR(store.InstallFile(partial, desc.digest));
  reused += got_reused;
  return true;
}

}  // namespace

Result<PushReport> Push(FileSystem& fs, const Paths& paths, const format::PackageRef& package, const Reference& ref,
                        const ClientOptions& client_options, const TransferOptions& options) {
  ARCA_ASSIGN_OR_RETURN(format::LoadedPackage pkg, format::LoadPackage(fs, package));
  if (pkg.manifest.name != ref.repository) {
    return InvalidArgumentError("package " + package.dir + " is " + pkg.manifest.name + ":" + pkg.manifest.version +
                                "; push it to a reference whose repository is " + pkg.manifest.name + ", not " + ref.repository);
  }
  const Descriptor& md = pkg.layout.manifest_descriptor();
  ARCA_ASSIGN_OR_RETURN(Bytes manifest_bytes, pkg.layout.ReadBlob(md, kMaxManifestDownloadBytes));
  if (!ref.digest.empty() && ref.digest != md.digest) {
    return InvalidArgumentError("the package's manifest is " + md.digest + ", the reference names " + ref.digest);
  }
  std::vector<Descriptor> blobs;
  std::set<std::string> seen;
  auto add = [&](const Descriptor& d) {
    if (seen.insert(d.digest).second) blobs.push_back(d);
  };
  add(pkg.layout.manifest().config);
  for (const auto& l : pkg.layout.manifest().layers) add(l);
  std::uint64_t total = 0;
  for (const auto& b : blobs) total += b.size;

  ARCA_ASSIGN_OR_RETURN(auto client, RegistryClient::Create(client_options));
  Counters counters(options.progress, total);
  std::atomic<bool> cancel{false};
  std::atomic<std::uint64_t> uploaded{0}, skipped{0}, sent{0};
  Status s = RunParallel(blobs.size(), options.threads, *client, cancel, [&](std::size_t i, RegistryClient& c) -> Status {
    const Descriptor& d = blobs[i];
    ARCA_ASSIGN_OR_RETURN(bool exists, c.BlobExists(ref.repository, d.digest));
    if (exists) {
      ++skipped;
      counters.Add(d.size);
      return Status::Ok();
    }
    ARCA_RETURN_IF_ERROR(UploadBlob(fs, paths, c, ref, d, pkg.layout.BlobPath(d.digest), options, counters, sent, cancel)
                             .WithContext("uploading blob " + d.digest));
    ++uploaded;
    return Status::Ok();
  });
  ARCA_RETURN_IF_ERROR(s);
  ARCA_ASSIGN_OR_RETURN(std::string served, client->PutManifest(ref.repository, ref.Identifier(), format::kOciManifestMediaType,
                                                                manifest_bytes));
  if (!served.empty() && served != md.digest) {
    return CorruptionError("registry " + ref.registry + " stored the manifest as " + served + ", but its bytes hash to " + md.digest);
  }
  PushReport r;
  r.reference = ref.ToString();
  r.digest = md.digest;
  r.blobs_uploaded = uploaded;
  r.blobs_skipped = skipped;
  r.bytes_uploaded = sent;
  return r;
}

Result<PullReport> Pull(FileSystem& fs, const Reference& ref, const std::string& store_dir, const signer::SignedRoot& trusted,
                        const ClientOptions& client_options, const TransferOptions& options, Verdict* verdict) {
  if (trusted.root.namespace_name != ref.namespace_name()) {
    return FailedPreconditionError("the trusted root is for namespace \"" + trusted.root.namespace_name + "\", the reference is in \"" +
                                   ref.namespace_name() + "\"");
  }
  ARCA_ASSIGN_OR_RETURN(auto client, RegistryClient::Create(client_options));
  PullReport report;
  report.reference = ref.ToString();

  // 1. The manifest: bounded, hashed, compared with what we asked for.
  ARCA_ASSIGN_OR_RETURN(auto got, client->GetManifest(ref.repository, ref.Identifier(), format::kOciManifestMediaType,
                                                      kMaxManifestDownloadBytes));
  std::string digest = format::DigestOf(got.bytes);
  if (!ref.digest.empty() && digest != ref.digest) {
    return UnauthenticatedError("registry " + ref.registry + " served a manifest for " + ref.LocalName() + " whose bytes hash to " +
                                digest + " (refused: wrong digest)");
  }
  if (!got.digest_header.empty() && got.digest_header != digest) {
    return UnauthenticatedError("registry " + ref.registry + " says the manifest of " + ref.LocalName() + " is " + got.digest_header +
                                " but its bytes hash to " + digest + " (refused)");
  }
  report.digest = digest;
  report.bytes_downloaded += got.bytes.size();
  auto om = format::ParseOciManifest(got.bytes);
  if (!om.ok()) return om.status().WithContext("manifest of " + ref.ToString());
  if (om->artifact_type != format::kArtifactType) {
    return InvalidArgumentError(ref.ToString() + " is not an Arca package (artifactType \"" + om->artifact_type.substr(0, 80) + "\")");
  }
  if (om->layers.empty() || om->layers[0].media_type != format::kManifestMediaType) {
    return InvalidArgumentError(ref.ToString() + ": the first layer is not an Arca manifest");
  }
  // 2. Classify layers; every small one has a bound.
  std::vector<Descriptor> small{om->config};
  std::vector<Descriptor> packs;
  if (om->config.size > kMaxConfigBytes) return ResourceExhaustedError("config blob of " + ref.ToString() + " is over " + std::to_string(kMaxConfigBytes) + " bytes");
  format::ManifestLimits limits;
  if (om->layers[0].size > limits.max_bytes) return ResourceExhaustedError("Arca manifest of " + ref.ToString() + " is over the limit");
  small.push_back(om->layers[0]);
  std::size_t attachments = 0;
  for (std::size_t i = 1; i < om->layers.size(); ++i) {
    const Descriptor& l = om->layers[i];
    if (l.media_type == format::kPackMediaType) {
      packs.push_back(l);
    } else if (l.media_type == format::kDsseEnvelopeMediaType) {
      if (l.size > format::kMaxAttachmentBytes || ++attachments > format::kMaxAttachments) {
        return ResourceExhaustedError("attachment " + l.digest + " of " + ref.ToString() + " is over the attachment limits");
      }
      small.push_back(l);
    } else {
      return InvalidArgumentError("layer " + std::to_string(i) + " of " + ref.ToString() + " has unknown media type \"" +
                                  l.media_type.substr(0, 80) + "\"");
    }
  }
  report.bytes_total = got.bytes.size();
  for (const auto& d : small) report.bytes_total += d.size;
  for (const auto& d : packs) report.bytes_total += d.size;

  // 3. The store, held against gc for the whole pull.
  ARCA_ASSIGN_OR_RETURN(Store store, Store::Open(fs, store_dir, /*create=*/true));
  ARCA_ASSIGN_OR_RETURN(StoreLock pull_lock, store.LockForPull());
  Staging staging(fs, TempSiblingName(JoinPath(store.TempDir(), "stage")));
  ARCA_RETURN_IF_ERROR(fs.MakeDir(staging.dir(), 0755));
  ARCA_RETURN_IF_ERROR(fs.MakeDir(JoinPath(staging.dir(), "blobs"), 0755));
  ARCA_RETURN_IF_ERROR(fs.MakeDir(JoinPath(staging.dir(), "blobs/sha256"), 0755));

  // 4. Small blobs (config, Arca manifest, signatures), each hashed.
  std::vector<Bytes> small_bytes(small.size());
  std::set<std::string> staged;
  for (std::size_t i = 0; i < small.size(); ++i) {
    const Descriptor& d = small[i];
    if (store.HasBlob(d)) {
      auto b = store.ReadBlob(d, d.size);
      if (b.ok()) {
        small_bytes[i] = std::move(*b);
        ++report.blobs_present;
      }
    }
    if (d.size == 0 && d.digest != format::DigestOf({})) {
      return UnauthenticatedError("blob " + d.digest + " of " + ref.ToString() + " declares 0 bytes but is not the empty blob");
    }
    if (small_bytes[i].empty() && d.size > 0) {
      Bytes data;
      Status s = client->GetBlob(
          ref.repository, d.digest, 0, [&](std::uint64_t) { data.clear(); return Status::Ok(); },
          [&](ByteSpan chunk) -> Status {
            if (data.size() + chunk.size() > d.size) {
              return UnauthenticatedError("blob " + d.digest + " from " + ref.registry + " is longer than the " + std::to_string(d.size) +
                                          " bytes the manifest declares");
            }
            data.insert(data.end(), chunk.begin(), chunk.end());
            return Status::Ok();
          });
      ARCA_RETURN_IF_ERROR(s.WithContext("downloading " + d.digest));
      report.bytes_downloaded += data.size();
      std::string h = format::DigestOf(data);
      if (data.size() != d.size || h != d.digest) {
        return UnauthenticatedError("blob " + d.digest + " served by " + ref.registry + " does not match its digest (" +
                                    std::to_string(data.size()) + " bytes hashing to " + h + "); nothing installed");
      }
      small_bytes[i] = std::move(data);
      ++report.blobs_downloaded;
    }
    if (staged.insert(d.digest).second) {
      ARCA_RETURN_IF_ERROR(format::AddBlobToLayout(fs, staging.dir(), small_bytes[i], d.media_type).status());
    }
  }
  ARCA_ASSIGN_OR_RETURN(Descriptor mdesc, format::AddBlobToLayout(fs, staging.dir(), got.bytes, format::kOciManifestMediaType));
  {
    Json entry = {{"mediaType", format::kOciManifestMediaType}, {"digest", mdesc.digest}, {"size", mdesc.size}};
    Json index = {{"schemaVersion", 2}, {"mediaType", format::kOciIndexMediaType}, {"manifests", Json::array({entry})}};
    ARCA_ASSIGN_OR_RETURN(std::string text, CanonicalJson(index));
    ARCA_RETURN_IF_ERROR(WriteFileAtomic(fs, JoinPath(staging.dir(), "index.json"), AsBytes(text), 0644));
    ARCA_RETURN_IF_ERROR(WriteFileAtomic(fs, JoinPath(staging.dir(), "oci-layout"), AsBytes(R"({"imageLayoutVersion":"1.0.0"})"), 0644));
  }

  // 5. Verify signatures, threshold, root chain, provenance and policy
  //    before a single pack byte is fetched.
  signer::VerifyOptions vo;
  vo.now = NowUnixSeconds();
  vo.metadata_only = true;
  Verdict v = signer::VerifyPackage(fs, format::PackageRef{staging.dir(), ""}, trusted, vo);
  if (verdict) *verdict = v;
  if (!v.ok()) return v.status().WithContext("refusing " + ref.ToString());
  report.name = v.claims.value("name", "");
  report.version = v.claims.value("version", "");
  if (report.name != ref.repository) {
    return UnauthenticatedError("refusing " + ref.ToString() + ": the registry served package " + report.name + ":" + report.version +
                                " under repository " + ref.repository + " (substitution)");
  }

  // 6. Packs the store lacks, in parallel, hashed while streaming.
  std::vector<Descriptor> missing;
  std::set<std::string> want;
  for (const auto& p : packs) {
    if (!want.insert(p.digest).second) continue;
    if (store.HasBlob(p)) {
      ++report.blobs_present;
    } else {
      missing.push_back(p);
    }
  }
  std::uint64_t missing_bytes = 0;
  for (const auto& p : missing) missing_bytes += p.size;
  Counters progress(options.progress, missing_bytes);
  std::atomic<std::uint64_t> wire{0}, reused{0}, assembled{0};
  std::atomic<bool> cancel{false};
  // Records of the missing packs that installed versions already hold.
  std::optional<format::Manifest> arca_manifest;
  LocalRecords local;
  if (!missing.empty()) {
    auto parsed = format::ParseManifest(small_bytes[1]);
    if (parsed.ok()) {
      arca_manifest = std::move(*parsed);
      local = IndexLocalRecords(store, arca_manifest->lineage_id);
    }
  }
  Status s = RunParallel(missing.size(), options.threads, *client, cancel, [&](std::size_t i, RegistryClient& c) -> Status {
    if (arca_manifest && !local.empty()) {
      std::vector<format::ChunkRef> records;
      for (std::size_t p = 0; p < arca_manifest->packs.size(); ++p) {
        if (arca_manifest->packs[p].digest != missing[i].digest) continue;
        for (const auto& ch : arca_manifest->chunks) {
          if (ch.pack == p) records.push_back(ch);
        }
      }
      ARCA_ASSIGN_OR_RETURN(bool done, AssemblePack(fs, store, c, ref, missing[i], std::move(records), local, progress, wire, reused, cancel));
      if (done) {
        ++assembled;
        return Status::Ok();
      }
    }
    return DownloadPack(fs, store, c, ref, missing[i], progress, wire, cancel);
  });
  report.bytes_downloaded += wire.load();
  report.bytes_reused = reused.load();
  report.packs_assembled = assembled.load();
  ARCA_RETURN_IF_ERROR(s);
  report.blobs_downloaded += missing.size();
  ARCA_RETURN_IF_ERROR(store.SyncBlobs());

  // 7. Small blobs, then the manifest, then the index entry (atomically).
  staged.clear();
  for (std::size_t i = 0; i < small.size(); ++i) {
    if (!staged.insert(small[i].digest).second || store.HasBlob(small[i])) continue;
    ARCA_RETURN_IF_ERROR(store.PutBlob(small_bytes[i], small[i].media_type).status());
  }
  ARCA_RETURN_IF_ERROR(store.PutBlob(got.bytes, format::kOciManifestMediaType).status());
  report.ref_name = ref.LocalName();
  std::string source = ref.registry + "/" + ref.repository + (ref.digest.empty() ? ":" + ref.tag : "") + "@" + digest;
  ARCA_RETURN_IF_ERROR(store.SetEntry(report.ref_name, mdesc, format::kArtifactType, source));
  return report;
}

}  // namespace arca::distribution
