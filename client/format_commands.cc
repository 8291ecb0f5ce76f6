#include "client/format_commands.h"

#include <cstdio>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>

#include "base/file_system.h"
#include "client/output.h"
#include "client/sign_commands.h"
#include "distribution/store.h"
#include "format/diff.h"
#include "format/lineage_key.h"
#include "format/package.h"

namespace arca::client {
namespace {

struct Options {
  std::string output;
  std::string model;
  std::string package;
  std::string name;
  std::string version;
  std::string key_path;
  std::string parent;
  std::string other;  // arca diff: the second package
  bool no_delta = false;
  std::string chunk_avg = "1M";
  std::string pack_size = "64M";
  std::size_t threads = 0;
  bool json = false;
  SealSigning signing;
};

Json InspectJson(const format::LoadedPackage& pkg) {
  const format::Manifest& m = pkg.manifest;
  std::uint64_t plaintext = 0, refs = 0;
  Json files = Json::array();
  for (const auto& f : m.files) {
    plaintext += f.size;
    refs += f.chunks.size();
    Json jf = {{"path", f.path}, {"size", f.size}, {"mode", f.mode}, {"sha256", f.sha256}, {"chunks", f.chunks.size()}};
    if (f.tensor_format) {
      std::map<std::string, std::uint64_t> dtypes;
      std::uint64_t params = 0;
      for (const auto& t : f.tensors) {
        ++dtypes[t.dtype];
        params += t.parameters;
      }
      jf["tensors"] = {{"format", *f.tensor_format == format::TensorFileFormat::kGguf ? "gguf" : "safetensors"},
                       {"count", f.tensors.size()},
                       {"dtypes", dtypes},
                       {"parameters", params}};
    }
    files.push_back(std::move(jf));
  }
  std::uint64_t stored_new = 0, stored_inherited = 0, packs_inherited = 0;
  for (const auto& p : m.packs) {
    if (p.from_parent) {
      stored_inherited += p.size;
      ++packs_inherited;
    } else {
      stored_new += p.size;
    }
  }
  std::uint64_t shared = 0;
  std::map<std::string, std::uint64_t> encodings;
  std::uint64_t stored_chunk_bytes = 0, unique_plain = 0;
  for (const auto& c : m.chunks) {
    if (m.packs[c.pack].from_parent) ++shared;
    ++encodings[std::string(format::EncodingName(c.encoding))];
    stored_chunk_bytes += c.length;
    unique_plain += c.size;
  }
  Json j = {
      {"name", m.name},
      {"version", m.version},
      {"manifestDigest", pkg.manifest_blob.digest},
      {"ociManifestDigest", pkg.layout.manifest_descriptor().digest},
      {"lineageId", m.lineage_id},
      {"parent", m.parent ? Json(*m.parent) : Json(nullptr)},
      {"chunking", {{"algorithm", format::kChunkingAlgorithm}, {"minSize", m.chunking.min_size}, {"avgSize", m.chunking.avg_size}, {"maxSize", m.chunking.max_size}}},
      {"files", std::move(files)},
      {"plaintextBytes", plaintext},
      {"chunks", {{"unique", m.chunks.size()}, {"references", refs}, {"sharedWithParent", shared}, {"encodings", encodings}}},
      {"packs", {{"count", m.packs.size()}, {"inheritedFromParent", packs_inherited}}},
      {"storedBytes", {{"newPacks", stored_new}, {"inheritedPacks", stored_inherited}, {"chunkRecords", stored_chunk_bytes}}},
      {"storedToPlaintextRatio", Json(nullptr)},
  };
  // Ratio of this version's own bytes to its unique plaintext, as a string
  // so the JSON stays integer-only where canonical forms matter.
  if (unique_plain > 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f", double(stored_chunk_bytes) / double(unique_plain));
    j["storedToPlaintextRatio"] = std::string(buf);
  }
  return j;
}

void PrintInspect(const Json& j) {
  std::printf("package    %s %s\n", j["name"].get<std::string>().c_str(), j["version"].get<std::string>().c_str());
  std::printf("manifest   %s\n", j["manifestDigest"].get<std::string>().c_str());
  std::printf("lineage    %s\n", j["lineageId"].get<std::string>().c_str());
  std::printf("parent     %s\n", j["parent"].is_null() ? "none" : j["parent"].get<std::string>().c_str());
  const Json& c = j["chunking"];
  std::printf("chunking   %s, min %s, avg %s, max %s\n", c["algorithm"].get<std::string>().c_str(),
              HumanBytes(c["minSize"]).c_str(), HumanBytes(c["avgSize"]).c_str(), HumanBytes(c["maxSize"]).c_str());
  std::printf("files      %zu, %s plaintext\n", j["files"].size(), HumanBytes(j["plaintextBytes"]).c_str());
  for (const auto& f : j["files"]) {
    std::printf("  %-40s %10s  %3llu chunks", f["path"].get<std::string>().c_str(), HumanBytes(f["size"]).c_str(),
                static_cast<unsigned long long>(f["chunks"].get<std::uint64_t>()));
    if (f.contains("tensors")) {
      const Json& t = f["tensors"];
      std::string dt;
      for (auto it = t["dtypes"].begin(); it != t["dtypes"].end(); ++it) {
        if (!dt.empty()) dt += ", ";
        dt += it.key() + " x" + std::to_string(it->get<std::uint64_t>());
      }
      std::printf("  %s: %llu tensors (%s), %llu parameters", t["format"].get<std::string>().c_str(),
                  static_cast<unsigned long long>(t["count"].get<std::uint64_t>()), dt.c_str(),
                  static_cast<unsigned long long>(t["parameters"].get<std::uint64_t>()));
    }
    std::printf("\n");
  }
  const Json& ch = j["chunks"];
  std::string enc;
  for (auto it = ch["encodings"].begin(); it != ch["encodings"].end(); ++it) {
    if (!enc.empty()) enc += ", ";
    enc += it.key() + " " + std::to_string(it->get<std::uint64_t>());
  }
  std::printf("chunks     %llu unique, %llu references, %llu shared with parent (%s)\n",
              static_cast<unsigned long long>(ch["unique"].get<std::uint64_t>()),
              static_cast<unsigned long long>(ch["references"].get<std::uint64_t>()),
              static_cast<unsigned long long>(ch["sharedWithParent"].get<std::uint64_t>()), enc.c_str());
  std::printf("packs      %llu (%llu inherited from parent)\n", static_cast<unsigned long long>(j["packs"]["count"].get<std::uint64_t>()),
              static_cast<unsigned long long>(j["packs"]["inheritedFromParent"].get<std::uint64_t>()));
  std::printf("stored     %s in new packs, %s inherited; stored/plaintext %s\n",
              HumanBytes(j["storedBytes"]["newPacks"]).c_str(), HumanBytes(j["storedBytes"]["inheritedPacks"]).c_str(),
              j["storedToPlaintextRatio"].is_null() ? "-" : j["storedToPlaintextRatio"].get<std::string>().c_str());
}

std::string ShapeText(const std::vector<std::uint64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int DiffCmd(const Options& o) {
  FileSystem& fs = FileSystem::Default();
  auto a = format::LoadPackage(fs, distribution::ResolveStoreRef(fs, o.package));
  if (!a.ok()) return ReportError(a.status().WithContext(o.package), o.json);
  auto b = format::LoadPackage(fs, distribution::ResolveStoreRef(fs, o.other));
  if (!b.ok()) return ReportError(b.status().WithContext(o.other), o.json);
  format::ManifestDiff d = format::DiffManifests(a->manifest, b->manifest);
  const std::string an = a->manifest.name + ":" + a->manifest.version, bn = b->manifest.name + ":" + b->manifest.version;
  if (o.json) {
    Json files = Json::array();
    for (const auto& f : d.files) {
      Json tensors = Json::array();
      for (const auto& t : f.tensors) {
        tensors.push_back({{"name", t.name}, {"change", format::ChangeKindName(t.kind)}, {"dtype", t.dtype}, {"shape", t.shape},
                           {"reshaped", t.reshaped}, {"bytes", t.bytes}, {"updateBytes", t.update_bytes}, {"deltaChunks", t.delta_chunks}});
      }
      files.push_back({{"path", f.path}, {"change", format::ChangeKindName(f.kind)}, {"sizeA", f.size_a}, {"sizeB", f.size_b},
                       {"updateBytes", f.update_bytes}, {"tensors", tensors}, {"tensorsUnchanged", f.tensors_unchanged}});
    }
    PrintJson({{"a", {{"name", a->manifest.name}, {"version", a->manifest.version}, {"manifestDigest", a->manifest_blob.digest}}},
               {"b", {{"name", b->manifest.name}, {"version", b->manifest.version}, {"manifestDigest", b->manifest_blob.digest}}},
               {"sameLineage", d.same_lineage},
               {"plaintextBytesB", d.plaintext_bytes_b},
               {"recordBytesNeeded", d.record_bytes_needed},
               {"updateRecordBytes", d.update_record_bytes},
               {"packBytesB", d.pack_bytes_b},
               {"updatePackBytes", d.update_pack_bytes},
               {"files", files}});
    return 0;
  }
  std::printf("diff %s -> %s%s\n", an.c_str(), bn.c_str(), d.same_lineage ? "" : " (different lineages: nothing is shared)");
  auto pct = [&](std::uint64_t n) { return d.plaintext_bytes_b ? 100.0 * double(n) / double(d.plaintext_bytes_b) : 0.0; };
  std::printf("update     %s: the chunk records %s lacks, what arca pull fetches (%.2f%% of %s plaintext)\n",
              HumanBytes(d.update_record_bytes).c_str(), an.c_str(), pct(d.update_record_bytes), HumanBytes(d.plaintext_bytes_b).c_str());
  std::printf("packs      %s of %s in packs %s does not list (a whole-blob copy, e.g. skopeo, fetches these)\n",
              HumanBytes(d.update_pack_bytes).c_str(), HumanBytes(d.pack_bytes_b).c_str(), an.c_str());
  const char kMark[] = {' ', '~', '+', '-'};
  for (const auto& f : d.files) {
    std::printf("%c %-40s %10s -> %-10s update %s", kMark[int(f.kind)], f.path.c_str(), HumanBytes(f.size_a).c_str(),
                HumanBytes(f.size_b).c_str(), HumanBytes(f.update_bytes).c_str());
    if (!f.tensors.empty() || f.tensors_unchanged) {
      std::printf("  (%zu tensors differ, %llu unchanged)", f.tensors.size(), static_cast<unsigned long long>(f.tensors_unchanged));
    }
    std::printf("\n");
    for (const auto& t : f.tensors) {
      std::string note;
      if (t.delta_chunks) note.append(" (").append(std::to_string(t.delta_chunks)).append(" chunks as deltas)");
      if (t.reshaped) note.append(" dtype/shape changed");
      std::printf("    %c %-44s %-5s %-16s %10s  update %s%s\n", kMark[int(t.kind)], t.name.c_str(), t.dtype.c_str(),
                  ShapeText(t.shape).c_str(), HumanBytes(t.bytes).c_str(), HumanBytes(t.update_bytes).c_str(), note.c_str());
    }
  }
  return 0;
}

int LineageKeyNew(const Options& o) {
  format::LineageKey key = format::LineageKey::Generate();
  Status s = key.SaveNew(FileSystem::Default(), o.output);
  if (!s.ok()) return ReportError(s, o.json);
  if (o.json) PrintJson({{"path", o.output}, {"lineageId", key.LineageId()}});
  else std::printf("wrote lineage key %s (mode 0600), lineage id %s\nkeep it secret: anyone holding it can decrypt every version of the lineage\n", o.output.c_str(), key.LineageId().c_str());
  return 0;
}

int SealCmd(const Options& o) {
  FileSystem& fs = FileSystem::Default();
  auto key = format::LineageKey::Load(fs, o.key_path);
  if (!key.ok()) return ReportError(key.status(), o.json);
  format::SealOptions so;
  so.name = o.name;
  so.version = o.version;
  so.threads = o.threads;
  so.delta = !o.no_delta;
  auto avg = ParseSize(o.chunk_avg);
  auto pack = ParseSize(o.pack_size);
  if (!avg.ok()) return ReportError(avg.status().WithContext("--chunk-avg"), o.json);
  if (!pack.ok()) return ReportError(pack.status().WithContext("--pack-size"), o.json);
  so.chunking = format::ChunkingParams{*avg / 4, *avg, *avg * 4};
  so.pack_target_bytes = *pack;
  std::string parent_name;
  if (!o.parent.empty()) {
    so.parent = distribution::ResolveStoreRef(FileSystem::Default(), o.parent);
    auto parent = format::LoadPackage(fs, *so.parent);
    if (parent.ok()) parent_name = parent->manifest.name + ":" + parent->manifest.version;
  }
  std::vector<std::unique_ptr<signer::Signer>> signers;
  auto hook = SealSigningHook(o.signing, parent_name, &signers);
  if (!hook.ok()) return ReportError(hook.status(), o.json);
  so.attach = *hook;
  ProgressPrinter progress("sealing");
  so.progress = progress.Callback();
  auto r = format::Seal(fs, o.model, o.output, *key, so);
  if (!r.ok()) return ReportError(r.status(), o.json);
  std::vector<std::string> signer_ids;
  for (const auto& s : signers) signer_ids.push_back(s->KeyId());
  if (o.json) {
    PrintJson({{"package", o.output},
               {"name", r->manifest.name},
               {"version", r->manifest.version},
               {"manifestDigest", r->manifest_digest},
               {"ociManifestDigest", r->oci_manifest_digest},
               {"plaintextBytes", r->plaintext_bytes},
               {"storedBytes", r->stored_bytes},
               {"signedBy", signer_ids},
               {"chunks", {{"references", r->chunks_total}, {"new", r->chunks_new}, {"delta", r->chunks_delta}, {"fromParent", r->chunks_from_parent}, {"deduplicated", r->chunks_deduplicated}}}});
  } else {
    std::printf("sealed %s %s into %s\n", r->manifest.name.c_str(), r->manifest.version.c_str(), o.output.c_str());
    std::printf("  manifest %s\n", r->manifest_digest.c_str());
    for (const auto& id : signer_ids) std::printf("  signed by %s\n", id.c_str());
    std::printf("  %s plaintext -> %s in new packs (%.3f); %llu chunks: %llu new (%llu as deltas), %llu from parent, %llu repeated\n",
                HumanBytes(r->plaintext_bytes).c_str(), HumanBytes(r->stored_bytes).c_str(),
                r->plaintext_bytes ? double(r->stored_bytes) / double(r->plaintext_bytes) : 0.0,
                static_cast<unsigned long long>(r->chunks_total), static_cast<unsigned long long>(r->chunks_new),
                static_cast<unsigned long long>(r->chunks_delta),
                static_cast<unsigned long long>(r->chunks_from_parent), static_cast<unsigned long long>(r->chunks_deduplicated));
  }
  return 0;
}

int InspectCmd(const Options& o) {
  auto pkg = format::LoadPackage(FileSystem::Default(), distribution::ResolveStoreRef(FileSystem::Default(), o.package));
  if (!pkg.ok()) return ReportError(pkg.status(), o.json);
  Json j = InspectJson(*pkg);
  if (o.json) PrintJson(j);
  else PrintInspect(j);
  return 0;
}

int OpenCmd(const Options& o) {
  FileSystem& fs = FileSystem::Default();
  auto key = format::LineageKey::Load(fs, o.key_path);
  if (!key.ok()) return ReportError(key.status(), o.json);
  ProgressPrinter progress("opening");
  format::OpenOptions oo;
  oo.threads = o.threads;
  oo.progress = progress.Callback();
  auto r = format::Open(fs, distribution::ResolveStoreRef(fs, o.package), *key, o.output, oo);
  if (!r.ok()) return ReportError(r.status(), o.json);
  if (o.json) {
    PrintJson({{"output", o.output}, {"files", r->files}, {"plaintextBytes", r->plaintext_bytes}, {"chunks", r->chunks}, {"verified", true}});
  } else {
    std::printf("opened %llu files (%s) into %s; every chunk and file digest verified\n",
                static_cast<unsigned long long>(r->files), HumanBytes(r->plaintext_bytes).c_str(), o.output.c_str());
  }
  return 0;
}

}  // namespace

void AddFormatCommands(CLI::App& app, Command* run) {
  auto o = std::make_shared<Options>();

  auto* lk = app.add_subcommand("lineage-key", "Manage lineage keys (the secret of one model family)");
  lk->require_subcommand(1);
  auto* lk_new = lk->add_subcommand("new", "Create a new random 256-bit lineage key file (mode 0600; never overwrites)");
  lk_new->add_option("-o,--output", o->output, "Key file to create")->required();
  lk_new->add_flag("--json", o->json, "Print the result as JSON");
  lk_new->callback([run, o] { *run = [o] { return LineageKeyNew(*o); }; });

  auto* seal = app.add_subcommand("seal", "Seal a model directory into an encrypted OCI-layout package");
  seal->add_option("model", o->model, "Model directory")->required();
  seal->add_option("-o,--output", o->output, "Package directory to create (must not exist)")->required();
  seal->add_option("--name", o->name, "Lineage name, namespace/model (e.g. acme/med-llm)")->required();
  seal->add_option("--version", o->version, "Version tag (e.g. 1.2)")->required();
  seal->add_option("--lineage-key", o->key_path, "Lineage key file (arca lineage-key new)")->required();
  seal->add_option("--parent", o->parent, "Parent package DIR[:REF]; chunks it already has are referenced, not stored again");
  seal->add_flag("--no-delta", o->no_delta,
                 "With --parent: store changed chunks whole, never as deltas (a full copy for fresh installs)");
  seal->add_option("--chunk-avg", o->chunk_avg, "Average chunk size, a power of two (min = avg/4, max = avg*4)")->capture_default_str();
  seal->add_option("--pack-size", o->pack_size, "Target pack size")->capture_default_str();
  seal->add_option("--threads", o->threads, "Worker threads (0 = all cores)");
  AddSealSigningFlags(seal, &o->signing);
  seal->add_flag("--json", o->json, "Print the result as JSON");
  seal->callback([run, o] { *run = [o] { return SealCmd(*o); }; });

  auto* diff = app.add_subcommand("diff", "What changed between two packages, per file and per tensor, and what an update costs (no keys)");
  diff->add_option("a", o->package, "Installed package DIR[:REF] (or STORE:name:tag)")->required();
  diff->add_option("b", o->other, "New package DIR[:REF] (or STORE:name:tag)")->required();
  diff->add_flag("--json", o->json, "Print the result as JSON");
  diff->callback([run, o] { *run = [o] { return DiffCmd(*o); }; });

  auto* inspect = app.add_subcommand("inspect", "Describe a sealed package without any key");
  inspect->add_option("package", o->package, "Package DIR[:REF]")->required();
  inspect->add_flag("--json", o->json, "Print the result as JSON");
  inspect->callback([run, o] { *run = [o] { return InspectCmd(*o); }; });

  auto* open = app.add_subcommand("open", "Decrypt a package with its lineage key into a new directory, verifying every byte");
  open->add_option("package", o->package, "Package DIR[:REF]")->required();
  open->add_option("--lineage-key", o->key_path, "Lineage key file")->required();
  open->add_option("-o,--output", o->output, "Directory to create (must not exist; appears only when fully verified)")->required();
  open->add_option("--threads", o->threads, "Worker threads (0 = all cores)");
  open->add_flag("--json", o->json, "Print the result as JSON");
  open->callback([run, o] { *run = [o] { return OpenCmd(*o); }; });
}

}  // namespace arca::client
