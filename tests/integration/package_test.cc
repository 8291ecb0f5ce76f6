// End-to-end tests of Seal / Open on real directories: a round trip is
// bit-exact and deterministic, a parent's chunks are reused, and every kind of
// damage to a sealed package is refused with the right code and a useful
// message, leaving no output (or temporary) directory behind.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/file_system.h"
#include "base/json.h"
#include "base/testing/status_matchers.h"
#include "format/manifest.h"
#include "format/oci_layout.h"
#include "format/package.h"
#include "format/testing/synthetic_weights.h"

namespace arca::format {
namespace {

using test_data::Bf16Weights;

namespace stdfs = std::filesystem;

// --- Files and trees --------------------------------------------------------

Bytes ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteAll(const std::string& path, ByteSpan data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  ASSERT_TRUE(out.good()) << path;
  out.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size()));
  ASSERT_TRUE(out.good()) << path;
}
void WriteAll(const std::string& path, std::string_view text) { WriteAll(path, AsBytes(text)); }

void FlipByte(const std::string& path, std::uint64_t offset) {
  Bytes data = ReadAll(path);
  ASSERT_LT(offset, data.size()) << path;
  data[offset] ^= 0x01;
  WriteAll(path, data);
}

struct TreeEntry {
  bool is_dir = false;
  unsigned perms = 0;
  Bytes content;
  bool operator==(const TreeEntry&) const = default;
};

// Tree maps every relative path under `root` to its type, permissions and
// content (symlinks are not followed; the trees compared have none).
std::map<std::string, TreeEntry> Tree(const std::string& root) {
  std::map<std::string, TreeEntry> out;
  for (const auto& e : stdfs::recursive_directory_iterator(root)) {
    TreeEntry t;
    t.is_dir = e.is_directory();
    // Directory modes are not part of the format (only files carry a mode).
    t.perms = t.is_dir ? 0 : unsigned(e.symlink_status().permissions()) & 0777;
    if (!t.is_dir) t.content = ReadAll(e.path());
    out[stdfs::relative(e.path(), root).string()] = std::move(t);
  }
  return out;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/arca-pkgtest-XXXXXX";
    char* p = ::mkdtemp(tmpl);
    if (p == nullptr) std::abort();
    path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    stdfs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// --- A synthetic model ------------------------------------------------------

Bytes F32(std::size_t count, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(1.0f, 0.1f);
  Bytes out(count * 4);
  for (std::size_t i = 0; i < count; ++i) {
    float f = dist(rng);
    std::memcpy(out.data() + 4 * i, &f, 4);
  }
  return out;
}

struct TensorSpec {
  std::string name;
  std::string dtype;
  std::vector<std::uint64_t> shape;
  Bytes data;
};

// Safetensors writes the format by hand: u64 LE header length, a JSON header
// (padded with spaces to a multiple of 8), then the tensor data.
Bytes Safetensors(const std::vector<TensorSpec>& tensors) {
  Json header = Json::object();
  header["__metadata__"] = {{"format", "pt"}};
  std::uint64_t offset = 0;
  for (const auto& t : tensors) {
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.data.size()}}};
    offset += t.data.size();
  }
  std::string h = header.dump();
  while (h.size() % 8) h += ' ';
  std::uint8_t len[8];
  StoreLe64(len, h.size());
  std::string out(reinterpret_cast<const char*>(len), 8);
  out += h;
  for (const auto& t : tensors) out += ToString(t.data);
  return Bytes(out.begin(), out.end());
}

std::vector<TensorSpec> ModelTensors(std::uint32_t attn_seed = 2) {
  return {
      {"embed.weight", "BF16", {512, 256}, Bf16Weights(512 * 256, 1)},
      {"layers.0.attn.weight", "BF16", {256, 256}, Bf16Weights(256 * 256, attn_seed)},
      {"layers.0.norm.weight", "F32", {256}, F32(256, 3)},
      {"lm_head.weight", "BF16", {300, 256}, Bf16Weights(300 * 256, 4)},
  };
}

std::string ConfigJson() {
  std::string s = "{\n  \"architectures\": [\"TinyForCausalLM\"],\n  \"hidden_size\": 256,\n";
  for (int i = 0; i < 40; ++i) s += "  \"extra_" + std::to_string(i) + "\": " + std::to_string(i * 37) + ",\n";
  return s + "  \"vocab_size\": 512\n}\n";
}

std::string TokenizerText() {
  std::string s;
  for (int i = 0; i < 3000; ++i) s += "token_" + std::to_string(i) + " " + std::to_string(i % 97) + "\n";
  return s;
}

ChunkingParams TestChunking() { return ChunkingParams{1024, 4096, 16384}; }

void WriteModel(const std::string& dir, std::uint32_t attn_seed = 2) {
  stdfs::create_directories(dir + "/nested/dir");
  WriteAll(dir + "/model.safetensors", Safetensors(ModelTensors(attn_seed)));
  WriteAll(dir + "/config.json", ConfigJson());
  WriteAll(dir + "/nested/dir/tokenizer.txt", TokenizerText());
  WriteAll(dir + "/nested/empty.bin", "");
  ::chmod((dir + "/config.json").c_str(), 0600);
  ::chmod((dir + "/model.safetensors").c_str(), 0644);
  ::chmod((dir + "/nested/dir/tokenizer.txt").c_str(), 0640);
  ::chmod((dir + "/nested/empty.bin").c_str(), 0644);
}

// --- Fault injection --------------------------------------------------------

class FaultyWritableFile final : public WritableFile {
 public:
  FaultyWritableFile(std::unique_ptr<WritableFile> base, std::function<bool()> fail_now)
      : base_(std::move(base)), fail_now_(std::move(fail_now)) {}
  Status Append(ByteSpan data) override {
    if (fail_now_()) return UnavailableError("injected fault: write failed");
    return base_->Append(data);
  }
  Status Sync() override { return base_->Sync(); }
  Status Close() override { return base_->Close(); }

 private:
  std::unique_ptr<WritableFile> base_;
  std::function<bool()> fail_now_;
};

// FaultyFileSystem forwards to the POSIX file system but fails the Nth
// Append (counting from 1, across all files), and optionally every Rename to
// one path.
class FaultyFileSystem final : public FileSystem {
 public:
  explicit FaultyFileSystem(int fail_append_n) : fail_append_n_(fail_append_n) {}
  void FailRenameTo(std::string path) { fail_rename_to_ = std::move(path); }
  int appends() const { return appends_; }

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path, std::uint32_t mode,
                                                        bool exclusive) override {
    ARCA_ASSIGN_OR_RETURN(auto f, base_.NewWritableFile(path, mode, exclusive));
    return std::unique_ptr<WritableFile>(
        new FaultyWritableFile(std::move(f), [this] { return ++appends_ == fail_append_n_; }));
  }
  Result<std::unique_ptr<RandomAccessFile>> OpenRead(const std::string& path) override { return base_.OpenRead(path); }
  Result<FileInfo> Stat(const std::string& path) override { return base_.Stat(path); }
  Result<std::vector<std::string>> ListDir(const std::string& path) override { return base_.ListDir(path); }
  Status MakeDir(const std::string& path, std::uint32_t mode) override { return base_.MakeDir(path, mode); }
  Status Rename(const std::string& from, const std::string& to) override {
    if (!fail_rename_to_.empty() && to == fail_rename_to_) return UnavailableError("injected fault: rename failed");
    return base_.Rename(from, to);
  }
  Status Link(const std::string& from, const std::string& to) override { return base_.Link(from, to); }
  Status SyncDir(const std::string& path) override { return base_.SyncDir(path); }
  Status Remove(const std::string& path) override { return base_.Remove(path); }
  Status RemoveAll(const std::string& path) override { return base_.RemoveAll(path); }

 private:
  FileSystem& base_ = FileSystem::Default();
  const int fail_append_n_;
  std::atomic<int> appends_{0};
  std::string fail_rename_to_;
};

// --- Fixture ----------------------------------------------------------------

class PackageTest : public ::testing::Test {
 protected:
  PackageTest()
      : key_(LineageKey::FromBytes(Bytes(32, 0x5a)).value()),
        other_key_(LineageKey::FromBytes(Bytes(32, 0xa5)).value()),
        model_(tmp_.path() + "/model"),
        out_(tmp_.path() + "/out") {
    WriteModel(model_);
    options_.name = "acme/tiny-llm";
    options_.version = "1.0";
    options_.chunking = TestChunking();
    options_.pack_target_bytes = 64 * 1024;  // several packs
    options_.threads = 2;
  }

  FileSystem& fs() { return FileSystem::Default(); }

  // SealNew seals the model into a fresh package directory and returns it.
  std::string SealNew(const std::string& name = "pkg") {
    std::string dir = tmp_.path() + "/" + name;
    auto r = Seal(fs(), model_, dir, key_, options_);
    EXPECT_THAT(r, IsOk());
    if (r.ok()) report_ = *r;
    return dir;
  }

  Result<OpenReport> OpenTo(const std::string& pkg, const std::string& out, const LineageKey& key) {
    return Open(fs(), PackageRef{pkg, ""}, key, out);
  }

  // ExpectNoTemps: no temporary sibling ".<base>.tmp-*" of `dir` exists.
  void ExpectNoTemps(const std::string& dir) {
    const std::string prefix = "." + BaseName(dir) + ".tmp-";
    for (const auto& e : stdfs::directory_iterator(DirName(dir))) {
      EXPECT_FALSE(e.path().filename().string().starts_with(prefix)) << e.path() << " was left behind";
    }
  }
  // ExpectNothingAt: neither `dir` nor a temporary sibling exists.
  void ExpectNothingAt(const std::string& dir) {
    EXPECT_FALSE(stdfs::exists(stdfs::symlink_status(dir))) << dir << " was left behind";
    ExpectNoTemps(dir);
  }

  // ExpectOpenRefused opens `pkg` with the right key and expects `code` with
  // `message` in the error, and no output directory.
  void ExpectOpenRefused(const std::string& pkg, StatusCode code, const std::string& message) {
    EXPECT_THAT(OpenTo(pkg, out_, key_), HasCodeAndMessage(code, message));
    ExpectNothingAt(out_);
  }

  std::string BlobPath(const std::string& pkg, const std::string& digest) {
    return pkg + "/blobs/sha256/" + digest.substr(7);
  }
  LoadedPackage Load(const std::string& pkg) { return LoadPackage(fs(), PackageRef{pkg, ""}).value(); }
  std::string PackPath(const std::string& pkg, std::size_t i) { return BlobPath(pkg, Load(pkg).manifest.packs[i].digest); }

  std::string WriteBlob(const std::string& pkg, ByteSpan data) {
    std::string digest = DigestOf(data);
    WriteAll(BlobPath(pkg, digest), data);
    return digest;
  }

  // RewriteOciManifest stores `om` as a new blob and points index.json at
  // it, so the layout's digests stay consistent.
  void RewriteOciManifest(const std::string& pkg, const OciManifest& om) {
    std::string text = SerializeOciManifest(om);
    std::string digest = WriteBlob(pkg, AsBytes(text));
    Json index = Json::parse(ToString(ReadAll(pkg + "/index.json")));
    index["manifests"][0]["digest"] = digest;
    index["manifests"][0]["size"] = text.size();
    WriteAll(pkg + "/index.json", CanonicalJson(index).value());
  }

  // RewriteArcaManifest replaces the Arca manifest blob with `text` and
  // re-hashes the OCI manifest and index: only the MAC (or the manifest's own
  // validation) can catch the edit.
  void RewriteArcaManifest(const std::string& pkg, const std::string& text) {
    OciManifest om = OciLayoutReader::Open(fs(), pkg).value().manifest();
    om.layers[0].digest = WriteBlob(pkg, AsBytes(text));
    om.layers[0].size = text.size();
    RewriteOciManifest(pkg, om);
  }
  void EditArcaManifest(const std::string& pkg, const std::function<void(Manifest&)>& edit) {
    Manifest m = Load(pkg).manifest;
    edit(m);
    RewriteArcaManifest(pkg, SerializeManifest(m).value());
  }
  void EditArcaManifestJson(const std::string& pkg, const std::function<void(Json&)>& edit) {
    Json j = Json::parse(ToString(ReadAll(BlobPath(pkg, Load(pkg).manifest_blob.digest))));
    edit(j);
    RewriteArcaManifest(pkg, CanonicalJson(j).value());
  }

  static std::size_t FileIndex(const Manifest& m, const std::string& path) {
    for (std::size_t i = 0; i < m.files.size(); ++i) {
      if (m.files[i].path == path) return i;
    }
    ADD_FAILURE() << "no file " << path;
    return 0;
  }

  TempDir tmp_;
  LineageKey key_;
  LineageKey other_key_;
  std::string model_;
  std::string out_;
  SealOptions options_;
  SealReport report_;
};

// --- Round trip -------------------------------------------------------------

TEST_F(PackageTest, RoundTripIsBitExact) {
  std::uint64_t last_done = 0, last_total = 0;
  options_.progress = [&](const Progress& p) {
    EXPECT_GE(p.done_bytes, last_done);
    last_done = p.done_bytes;
    last_total = p.total_bytes;
  };
  std::string pkg = SealNew();
  auto opened = OpenTo(pkg, out_, key_);
  ASSERT_THAT(opened, IsOk());
  EXPECT_EQ(Tree(out_), Tree(model_));
  EXPECT_EQ(opened->files, 4u);
  EXPECT_EQ(opened->plaintext_bytes, report_.plaintext_bytes);
  EXPECT_EQ(opened->chunks, report_.chunks_total);
  EXPECT_EQ(last_done, report_.plaintext_bytes);
  EXPECT_EQ(last_total, report_.plaintext_bytes);
  ExpectNoTemps(out_);
  ExpectNoTemps(pkg);
}

TEST_F(PackageTest, SealReportAndManifestDescribeTheModel) {
  std::string pkg = SealNew();
  const Manifest& m = report_.manifest;
  EXPECT_EQ(m.name, "acme/tiny-llm");
  EXPECT_EQ(m.version, "1.0");
  EXPECT_EQ(m.lineage_id, key_.LineageId());
  EXPECT_FALSE(m.parent.has_value());
  EXPECT_GT(m.packs.size(), 1u);
  EXPECT_GT(report_.chunks_new, 20u);
  EXPECT_EQ(report_.chunks_from_parent, 0u);
  EXPECT_LT(report_.stored_bytes, report_.plaintext_bytes);  // bf16 and text compress
  const FileEntry& st = m.files[FileIndex(m, "model.safetensors")];
  ASSERT_TRUE(st.tensor_format.has_value());
  EXPECT_EQ(st.tensors.size(), 4u);
  EXPECT_EQ(m.files[FileIndex(m, "config.json")].mode, 0600u);
  EXPECT_TRUE(m.files[FileIndex(m, "nested/empty.bin")].chunks.empty());
  bool bg2 = false, zstd = false;
  for (const auto& c : m.chunks) {
    bg2 |= c.encoding == ChunkEncoding::kBg2;
    zstd |= c.encoding == ChunkEncoding::kZstd;
  }
  EXPECT_TRUE(bg2);
  EXPECT_TRUE(zstd);
  // The package on disk says the same, and is readable without the key.
  LoadedPackage loaded = Load(pkg);
  EXPECT_EQ(SerializeManifest(loaded.manifest).value(), SerializeManifest(m).value());
  EXPECT_EQ(loaded.manifest_blob.digest, report_.manifest_digest);
  EXPECT_EQ(loaded.layout.manifest_descriptor().digest, report_.oci_manifest_digest);
  EXPECT_EQ(loaded.layout.ref(), "1.0");
  ExpectNoTemps(pkg);
}

TEST_F(PackageTest, F32TensorSealsAsBg4AndOpensBitExact) {
  // An F32 tensor of N(0, 0.02) weights (192 KiB) beside a bf16 one: its
  // chunks are byte-grouped in four planes (bg4, specs/format.md §6).
  const std::size_t count = 48 * 1024;
  Bytes f32(count * 4);
  std::mt19937 rng(77);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  for (std::size_t i = 0; i < count; ++i) {
    float f = dist(rng);
    std::memcpy(f32.data() + 4 * i, &f, 4);
  }
  WriteAll(model_ + "/model.safetensors",
           Safetensors({{"embed.weight", "BF16", {512, 256}, Bf16Weights(512 * 256, 1)},
                        {"head.weight", "F32", {192, 256}, f32}}));
  std::string pkg = SealNew();
  const Manifest& m = report_.manifest;
  std::uint64_t bg4_plain = 0, bg4_stored = 0;
  bool bg2 = false;
  for (const auto& c : m.chunks) {
    bg2 |= c.encoding == ChunkEncoding::kBg2;
    if (c.encoding != ChunkEncoding::kBg4) continue;
    bg4_plain += c.size;
    bg4_stored += c.length - kRecordOverhead;
  }
  EXPECT_TRUE(bg2);
  // Every chunk of the F32 tensor but at most a short last one is bg4, and
  // nothing else is.
  EXPECT_LE(bg4_plain, f32.size());
  EXPECT_GE(bg4_plain + TestChunking().max_size, f32.size());
  EXPECT_LT(bg4_stored * 10, bg4_plain * 9);
  std::printf("F32 tensor sealed as bg4: %llu of %llu bytes stored (%.4f)\n", (unsigned long long)bg4_stored,
              (unsigned long long)bg4_plain, double(bg4_stored) / double(bg4_plain));
  ASSERT_THAT(OpenTo(pkg, out_, key_), IsOk());
  EXPECT_EQ(Tree(out_), Tree(model_));
  EXPECT_EQ(ReadAll(out_ + "/model.safetensors"), ReadAll(model_ + "/model.safetensors"));
}

TEST_F(PackageTest, SealIsDeterministic) {
  options_.threads = 1;
  std::string a = SealNew("a");
  SealReport ra = report_;
  options_.threads = 4;
  std::string b = SealNew("b");
  EXPECT_EQ(report_.manifest_digest, ra.manifest_digest);
  EXPECT_EQ(report_.oci_manifest_digest, ra.oci_manifest_digest);
  auto ta = Tree(a), tb = Tree(b);
  EXPECT_EQ(ta.size(), tb.size());
  EXPECT_TRUE(ta == tb) << "two seals of the same model differ";
}

TEST_F(PackageTest, DifferentLineagesShareNothing) {
  std::string a = SealNew("a");
  SealReport ra = report_;
  auto r = Seal(fs(), model_, tmp_.path() + "/b", other_key_, options_);
  ASSERT_THAT(r, IsOk());
  std::set<std::string> ids;
  for (const auto& c : ra.manifest.chunks) ids.insert(HexEncode(c.id));
  for (const auto& c : r->manifest.chunks) EXPECT_EQ(ids.count(HexEncode(c.id)), 0u);
  for (const auto& p : r->manifest.packs) EXPECT_FALSE(stdfs::exists(BlobPath(a, p.digest)));
}

TEST_F(PackageTest, ParentChunksAreReused) {
  std::string v1 = SealNew("v1");
  SealReport r1 = report_;
  // Version 2 retrains one tensor and edits the config.
  WriteModel(model_, /*attn_seed=*/99);
  WriteAll(model_ + "/config.json", ConfigJson() + "\n");
  options_.version = "1.1";
  options_.parent = PackageRef{v1, ""};
  std::string v2 = SealNew("v2");
  EXPECT_GT(report_.chunks_from_parent, 0u);
  EXPECT_GT(report_.chunks_new, 0u);
  EXPECT_LT(report_.stored_bytes, r1.stored_bytes / 2);
  ASSERT_TRUE(report_.manifest.parent.has_value());
  EXPECT_EQ(*report_.manifest.parent, r1.manifest_digest);
  bool inherited = false;
  for (const auto& p : report_.manifest.packs) inherited |= p.from_parent;
  EXPECT_TRUE(inherited);
  // v2 opens on its own to the edited model; v1 still opens to the original.
  ASSERT_THAT(OpenTo(v2, out_, key_), IsOk());
  EXPECT_EQ(Tree(out_), Tree(model_));
  WriteModel(tmp_.path() + "/model-v1");
  ASSERT_THAT(OpenTo(v1, tmp_.path() + "/out-v1", key_), IsOk());
  EXPECT_EQ(Tree(tmp_.path() + "/out-v1"), Tree(tmp_.path() + "/model-v1"));
}

// --- Delta chunks (specs/format.md §6.1) ------------------------------------

// WriteDenseFineTune rewrites the model's weights with every bf16 tensor
// nudged `generations` times (seeds 100, 101, …).
void WriteDenseFineTune(const std::string& dir, int generations) {
  std::vector<TensorSpec> tensors = ModelTensors();
  for (auto& t : tensors) {
    if (t.dtype != "BF16") continue;
    for (int g = 0; g < generations; ++g) t.data = test_data::NudgedBf16(t.data, 0.0005f, std::uint32_t(100 + g));
  }
  WriteAll(dir + "/model.safetensors", Safetensors(tensors));
}

std::size_t CountDeltas(const Manifest& m) {
  std::size_t n = 0;
  for (const auto& c : m.chunks) n += c.encoding == ChunkEncoding::kDelta;
  return n;
}

TEST_F(PackageTest, DenseFineTuneIsStoredAsDeltasAndOpensBitExact) {
  std::string v1 = SealNew("v1");
  SealReport r1 = report_;
  WriteDenseFineTune(model_, 1);
  options_.version = "1.1";
  options_.parent = PackageRef{v1, ""};
  std::string v2 = SealNew("v2");
  EXPECT_GT(report_.chunks_delta, 0u);
  EXPECT_EQ(report_.chunks_delta, CountDeltas(report_.manifest));
  // bf16 tensors are most of the model: deltas store well under what v1 did.
  EXPECT_LT(report_.stored_bytes * 10, r1.stored_bytes * 7);
  ASSERT_THAT(OpenTo(v2, out_, key_), IsOk());
  EXPECT_EQ(Tree(out_), Tree(model_));
  // Every base is listed in v2 (with its pack inherited), so keys for them
  // are part of a release: more ids than the files' own chunks.
  const Manifest& m = report_.manifest;
  std::set<std::uint32_t> used;
  for (const auto& f : m.files) used.insert(f.chunks.begin(), f.chunks.end());
  EXPECT_EQ(ChunkIdsToRelease(m).size(), used.size() + report_.chunks_delta);
  EXPECT_EQ(ChunkIdsToRelease(m).size(), m.chunks.size());
}

TEST_F(PackageTest, DeltaCutsFollowTheParent) {
  std::string v1 = SealNew("v1");
  Manifest m1 = report_.manifest;
  WriteDenseFineTune(model_, 1);
  options_.version = "1.1";
  options_.parent = PackageRef{v1, ""};
  SealNew("v2");
  const Manifest& m2 = report_.manifest;
  std::size_t f1 = FileIndex(m1, "model.safetensors"), f2 = FileIndex(m2, "model.safetensors");
  ASSERT_EQ(m1.files[f1].chunks.size(), m2.files[f2].chunks.size());
  for (std::size_t k = 0; k < m1.files[f1].chunks.size(); ++k) {
    EXPECT_EQ(m1.chunks[m1.files[f1].chunks[k]].size, m2.chunks[m2.files[f2].chunks[k]].size) << k;
  }
}

TEST_F(PackageTest, SuccessiveDenseFineTunesStayOneHopFromAWholeChunk) {
  std::string prev = SealNew("v1");
  for (int g = 1; g <= 3; ++g) {
    WriteDenseFineTune(model_, g);
    options_.version = "1." + std::to_string(g);
    options_.parent = PackageRef{prev, ""};
    prev = SealNew("v" + std::to_string(g + 1));
    EXPECT_GT(report_.chunks_delta, 0u) << g;
    for (std::uint32_t i = 0; i < report_.manifest.chunks.size(); ++i) {
      EXPECT_LE(DeltaChain(report_.manifest, i).size(), 2u);
    }
    std::string out = tmp_.path() + "/out" + std::to_string(g);
    ASSERT_THAT(OpenTo(prev, out, key_), IsOk());
    EXPECT_EQ(Tree(out), Tree(model_));
  }
}

TEST_F(PackageTest, NoDeltaOptionStoresChunksWhole) {
  std::string v1 = SealNew("v1");
  WriteDenseFineTune(model_, 1);
  options_.version = "1.1";
  options_.parent = PackageRef{v1, ""};
  options_.delta = false;
  std::string v2 = SealNew("v2");
  EXPECT_EQ(report_.chunks_delta, 0u);
  EXPECT_EQ(CountDeltas(report_.manifest), 0u);
  ASSERT_THAT(OpenTo(v2, out_, key_), IsOk());
}

TEST_F(PackageTest, DeltaWhoseBasePackIsMissingIsRefused) {
  std::string v1 = SealNew("v1");
  WriteDenseFineTune(model_, 1);
  options_.version = "1.1";
  options_.parent = PackageRef{v1, ""};
  std::string v2 = SealNew("v2");
  std::size_t inherited = 0;
  while (!report_.manifest.packs[inherited].from_parent) ++inherited;
  stdfs::remove(PackPath(v2, inherited));
  ExpectOpenRefused(v2, StatusCode::kNotFound, "");
}

TEST_F(PackageTest, DeltaAgainstAnotherBaseIsRefused) {
  std::string v1 = SealNew("v1");
  WriteDenseFineTune(model_, 1);
  options_.version = "1.1";
  options_.parent = PackageRef{v1, ""};
  std::string v2 = SealNew("v2");
  // Point a delta at another whole chunk of the same size and re-MAC (a
  // sealer bug or a forger holding the key): decoding refuses the base.
  EditArcaManifest(v2, [&](Manifest& m) {
    for (auto& c : m.chunks) {
      if (!c.base) continue;
      for (std::uint32_t j = 0; j < m.chunks.size(); ++j) {
        if (j != *c.base && !m.chunks[j].base && m.chunks[j].size == c.size) {
          c.base = j;
          m.mac = ComputeManifestMac(m, key_).value();
          return;
        }
      }
    }
    ADD_FAILURE() << "no delta with another same-size candidate base";
  });
  ExpectOpenRefused(v2, StatusCode::kCorruption, "encoded against base");
}

TEST_F(PackageTest, DeltaWithDamagedBaseRecordIsRefused) {
  std::string v1 = SealNew("v1");
  WriteDenseFineTune(model_, 1);
  options_.version = "1.1";
  options_.parent = PackageRef{v1, ""};
  std::string v2 = SealNew("v2");
  const Manifest& m = report_.manifest;
  const ChunkRef* base = nullptr;
  for (const auto& c : m.chunks) {
    if (c.base) base = &m.chunks[*c.base];
  }
  ASSERT_NE(base, nullptr);
  // Copy the inherited pack (it may be a hard link to v1's) and damage it.
  std::string path = PackPath(v2, base->pack);
  Bytes pack = ReadAll(path);
  stdfs::remove(path);
  pack[base->offset + 20] ^= 1;
  WriteAll(path, pack);
  ExpectOpenRefused(v2, StatusCode::kUnauthenticated, "record does not authenticate");
}

TEST_F(PackageTest, ParentOfAnotherLineageIsUnauthenticated) {
  std::string v1 = SealNew("v1");
  options_.version = "1.1";
  options_.parent = PackageRef{v1, ""};
  const std::string v2 = tmp_.path() + "/v2";
  EXPECT_THAT(Seal(fs(), model_, v2, other_key_, options_),
              HasCodeAndMessage(StatusCode::kUnauthenticated, "wrong lineage key"));
  ExpectNothingAt(v2);
}

TEST_F(PackageTest, TamperedParentIsRefused) {
  std::string v1 = SealNew("v1");
  EditArcaManifest(v1, [](Manifest& m) { std::swap(m.chunks[0].offset, m.chunks[1].offset); });
  options_.version = "1.1";
  options_.parent = PackageRef{v1, ""};
  const std::string v2 = tmp_.path() + "/v2";
  EXPECT_THAT(Seal(fs(), model_, v2, key_, options_), HasCode(StatusCode::kUnauthenticated));
  ExpectNothingAt(v2);
}

// --- Open refusals: keys and blobs -----------------------------------------

TEST_F(PackageTest, OpenWithWrongKeyIsRefused) {
  std::string pkg = SealNew();
  EXPECT_THAT(OpenTo(pkg, out_, other_key_), HasCodeAndMessage(StatusCode::kUnauthenticated, "wrong lineage key"));
  ExpectNothingAt(out_);
}

TEST_F(PackageTest, FlippedPackByteIsRefused) {
  std::string pkg = SealNew();
  std::string pack = PackPath(pkg, 0);
  FlipByte(pack, stdfs::file_size(pack) / 2);
  ExpectOpenRefused(pkg, StatusCode::kUnauthenticated, "record does not authenticate");
}

TEST_F(PackageTest, FlippedNonceAndTagBytesAreRefused) {
  std::string pkg = SealNew();
  std::string last = PackPath(pkg, Load(pkg).manifest.packs.size() - 1);
  FlipByte(last, 0);  // first record's nonce
  ExpectOpenRefused(pkg, StatusCode::kUnauthenticated, "record does not authenticate");
  FlipByte(last, 0);
  FlipByte(last, stdfs::file_size(last) - 1);  // last record's tag
  ExpectOpenRefused(pkg, StatusCode::kUnauthenticated, "record does not authenticate");
}

TEST_F(PackageTest, FlippedPackByteErrorNamesTheChunk) {
  std::string pkg = SealNew();
  std::string pack = PackPath(pkg, 0);
  FlipByte(pack, stdfs::file_size(pack) / 2);
  auto r = OpenTo(pkg, out_, key_);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("chunk "));
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("offset"));
  ExpectNothingAt(out_);
}

TEST_F(PackageTest, FlippedArcaManifestByteIsRefused) {
  std::string pkg = SealNew();
  std::string blob = BlobPath(pkg, report_.manifest_digest);
  FlipByte(blob, stdfs::file_size(blob) / 2);
  ExpectOpenRefused(pkg, StatusCode::kUnauthenticated, "does not match its digest");
}

TEST_F(PackageTest, FlippedOciManifestByteIsRefused) {
  std::string pkg = SealNew();
  std::string blob = BlobPath(pkg, report_.oci_manifest_digest);
  FlipByte(blob, stdfs::file_size(blob) / 2);
  ExpectOpenRefused(pkg, StatusCode::kUnauthenticated, "does not match its digest");
}

TEST_F(PackageTest, IndexPointingToAbsentDigestIsRefused) {
  std::string pkg = SealNew();
  std::string text = ToString(ReadAll(pkg + "/index.json"));
  std::string hex = report_.oci_manifest_digest.substr(7);
  std::string other = hex;
  other[10] = other[10] == '0' ? '1' : '0';
  text.replace(text.find(hex), hex.size(), other);
  WriteAll(pkg + "/index.json", text);
  ExpectOpenRefused(pkg, StatusCode::kNotFound, "blob sha256:" + other);
}

TEST_F(PackageTest, IndexPointingToSubstitutedBlobIsRefused) {
  // The index names a digest whose file holds other bytes (an attacker who
  // can write the directory but cannot find a SHA-256 preimage).
  std::string pkg = SealNew();
  OciManifest om = Load(pkg).layout.manifest();
  om.annotations["evil"] = "1";
  std::string real_digest = DigestOf(AsBytes(SerializeOciManifest(om)));
  RewriteOciManifest(pkg, om);
  // Put the original manifest's bytes under the new name.
  WriteAll(BlobPath(pkg, real_digest), ReadAll(BlobPath(pkg, report_.oci_manifest_digest)));
  Json index = Json::parse(ToString(ReadAll(pkg + "/index.json")));
  index["manifests"][0]["size"] = stdfs::file_size(BlobPath(pkg, real_digest));
  WriteAll(pkg + "/index.json", index.dump());
  ExpectOpenRefused(pkg, StatusCode::kUnauthenticated, "does not match its digest");
}

TEST_F(PackageTest, IndexPointingToAnotherBlobIsRefused) {
  // The index names the Arca manifest (digest and size consistent) as if it
  // were the OCI image manifest.
  std::string pkg = SealNew();
  Json index = Json::parse(ToString(ReadAll(pkg + "/index.json")));
  index["manifests"][0]["digest"] = report_.manifest_digest;
  index["manifests"][0]["size"] = stdfs::file_size(BlobPath(pkg, report_.manifest_digest));
  WriteAll(pkg + "/index.json", index.dump());
  ExpectOpenRefused(pkg, StatusCode::kInvalidArgument, "OCI manifest");
}

TEST_F(PackageTest, IndexWithWrongSizeIsRefused) {
  std::string pkg = SealNew();
  Json index = Json::parse(ToString(ReadAll(pkg + "/index.json")));
  index["manifests"][0]["size"] = index["manifests"][0]["size"].get<std::uint64_t>() - 1;
  WriteAll(pkg + "/index.json", index.dump());
  ExpectOpenRefused(pkg, StatusCode::kCorruption, "its descriptor says");
}

TEST_F(PackageTest, IndexWithHostileDigestIsRefused) {
  std::string pkg = SealNew();
  Json index = Json::parse(ToString(ReadAll(pkg + "/index.json")));
  index["manifests"][0]["digest"] = "sha256:../../../../etc/passwd";
  WriteAll(pkg + "/index.json", index.dump());
  ExpectOpenRefused(pkg, StatusCode::kInvalidArgument, "index.json.manifests[0].digest");
}

TEST_F(PackageTest, FlippedOciLayoutIsRefused) {
  std::string pkg = SealNew();
  std::string text = ToString(ReadAll(pkg + "/oci-layout"));
  text.replace(text.find("1.0.0"), 5, "1.0.1");
  WriteAll(pkg + "/oci-layout", text);
  ExpectOpenRefused(pkg, StatusCode::kInvalidArgument, "imageLayoutVersion");
}

TEST_F(PackageTest, CorruptOciLayoutJsonIsRefused) {
  std::string pkg = SealNew();
  FlipByte(pkg + "/oci-layout", 0);  // '{' -> 'z'
  ExpectOpenRefused(pkg, StatusCode::kInvalidArgument, "oci-layout");
}

TEST_F(PackageTest, MissingOciLayoutIsRefused) {
  std::string pkg = SealNew();
  stdfs::remove(pkg + "/oci-layout");
  ExpectOpenRefused(pkg, StatusCode::kNotFound, "oci-layout");
}

TEST_F(PackageTest, MissingIndexIsRefused) {
  std::string pkg = SealNew();
  stdfs::remove(pkg + "/index.json");
  ExpectOpenRefused(pkg, StatusCode::kNotFound, "index.json");
}

TEST_F(PackageTest, OversizedIndexIsRefused) {
  std::string pkg = SealNew();
  std::string text = ToString(ReadAll(pkg + "/index.json"));
  text += std::string((1 << 20) + 1 - text.size() + 1, ' ');
  WriteAll(pkg + "/index.json", text);
  ExpectOpenRefused(pkg, StatusCode::kResourceExhausted, "index.json");
}

TEST_F(PackageTest, TruncatedPackIsRefused) {
  std::string pkg = SealNew();
  std::string pack = PackPath(pkg, 0);
  stdfs::resize_file(pack, stdfs::file_size(pack) - 1);
  ExpectOpenRefused(pkg, StatusCode::kCorruption, "truncated or extended");
}

TEST_F(PackageTest, ExtendedPackIsRefused) {
  std::string pkg = SealNew();
  std::string pack = PackPath(pkg, 1);
  stdfs::resize_file(pack, stdfs::file_size(pack) + 1);
  ExpectOpenRefused(pkg, StatusCode::kCorruption, "truncated or extended");
}

TEST_F(PackageTest, MissingPackIsRefused) {
  std::string pkg = SealNew();
  std::string digest = Load(pkg).manifest.packs.back().digest;
  stdfs::remove(BlobPath(pkg, digest));
  ExpectOpenRefused(pkg, StatusCode::kNotFound, "blob " + digest);
}

TEST_F(PackageTest, PackReplacedBySymlinkIsRefused) {
  std::string pkg = SealNew();
  std::string pack = PackPath(pkg, 0);
  stdfs::rename(pack, tmp_.path() + "/moved-pack");
  stdfs::create_symlink(tmp_.path() + "/moved-pack", pack);
  auto r = OpenTo(pkg, out_, key_);
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr(Load(pkg).manifest.packs[0].digest));
  ExpectNothingAt(out_);
}

TEST_F(PackageTest, MissingArcaManifestBlobIsRefused) {
  std::string pkg = SealNew();
  stdfs::remove(BlobPath(pkg, report_.manifest_digest));
  ExpectOpenRefused(pkg, StatusCode::kNotFound, "blob " + report_.manifest_digest);
}

TEST_F(PackageTest, MissingOciManifestBlobIsRefused) {
  std::string pkg = SealNew();
  stdfs::remove(BlobPath(pkg, report_.oci_manifest_digest));
  ExpectOpenRefused(pkg, StatusCode::kNotFound, "blob " + report_.oci_manifest_digest);
}

// --- OpenToSink: per-chunk keys into a caller's sink ------------------------

// MemorySink records what OpenToSink hands it, and in which order.
class MemorySink : public PlaintextSink {
 public:
  Status BeginFile(const FileEntry& f) override {
    events.push_back("begin " + f.path);
    current = f.path;
    files[current];
    return Status::Ok();
  }
  Status Append(ByteSpan data) override {
    files[current].insert(files[current].end(), data.begin(), data.end());
    return Status::Ok();
  }
  Status EndFile(const FileEntry& f) override {
    events.push_back("end " + f.path);
    complete.insert(f.path);
    return Status::Ok();
  }
  void Abort() override {
    ++aborts;
    files.clear();
    complete.clear();
  }
  std::map<std::string, Bytes> files;
  std::set<std::string> complete;
  std::vector<std::string> events;
  std::string current;
  int aborts = 0;
};

class OpenToSinkTest : public PackageTest {
 protected:
  // KeysOf returns a ChunkKeyFn handing out `key`'s chunk keys (what a
  // broker releases), counting the calls.
  ChunkKeyFn KeysOf(const LineageKey& key) {
    return [this, &key](const ChunkId& id) -> Result<SecretBytes> {
      ++key_calls_;
      return key.ChunkKey(id);
    };
  }
  Result<OpenReport> OpenSink(const std::string& pkg, const ChunkKeyFn& keys, MemorySink& sink) {
    LoadedPackage loaded = Load(pkg);
    return OpenToSink(loaded, loaded.manifest_blob.digest, keys, sink, OpenOptions{2, {}});
  }
  std::atomic<int> key_calls_{0};
};

TEST_F(OpenToSinkTest, ContentEqualsOpen) {
  std::string pkg = SealNew();
  MemorySink sink;
  auto r = OpenSink(pkg, KeysOf(key_), sink);
  ASSERT_THAT(r, IsOk());
  ASSERT_THAT(OpenTo(pkg, out_, key_), IsOk());
  std::map<std::string, Bytes> want;
  for (const auto& [path, entry] : Tree(out_)) {
    if (!entry.is_dir) want[path] = entry.content;
  }
  EXPECT_EQ(sink.files, want);
  EXPECT_EQ(sink.complete.size(), 4u);
  EXPECT_EQ(sink.aborts, 0);
  EXPECT_EQ(r->files, 4u);
  EXPECT_EQ(r->chunks, report_.chunks_total);
  EXPECT_EQ(std::uint64_t(key_calls_), report_.chunks_total);  // one key per chunk reference
  // Manifest order, each file begun and ended once.
  const Manifest& m = Load(pkg).manifest;
  std::vector<std::string> order;
  for (const auto& f : m.files) {
    order.push_back("begin " + f.path);
    order.push_back("end " + f.path);
  }
  EXPECT_EQ(sink.events, order);
}

// DirectSink takes the fast path: chunks are decoded into its own memory.
class DirectSink : public MemorySink {
 public:
  Result<bool> PrepareFiles(const std::vector<FileEntry>& all) override {
    for (const auto& f : all) memory.emplace_back(f.size, 0xee);
    return true;
  }
  std::span<std::uint8_t> FileMemory(std::size_t i) override { return memory[i]; }
  Status BeginFile(const FileEntry& f) override {
    ++index;
    return MemorySink::BeginFile(f);
  }
  Status Append(ByteSpan data) override {
    const std::uint8_t* base = memory[std::size_t(index)].data();
    if (data.data() < base || data.data() + data.size() > base + memory[std::size_t(index)].size()) ++foreign_appends;
    return MemorySink::Append(data);
  }
  std::vector<Bytes> memory;
  int index = -1;
  int foreign_appends = 0;
};

TEST_F(OpenToSinkTest, DirectMemoryFastPathGivesTheSameContent) {
  std::string pkg = SealNew();
  DirectSink sink;
  ASSERT_THAT(OpenSink(pkg, KeysOf(key_), sink), IsOk());
  ASSERT_THAT(OpenTo(pkg, out_, key_), IsOk());
  const Manifest& m = Load(pkg).manifest;
  ASSERT_EQ(sink.memory.size(), m.files.size());
  for (std::size_t i = 0; i < m.files.size(); ++i) {
    EXPECT_EQ(sink.memory[i], ReadAll(out_ + "/" + m.files[i].path)) << m.files[i].path;
    EXPECT_EQ(sink.files[m.files[i].path], sink.memory[i]) << "Append saw other bytes than were decoded in place";
  }
  EXPECT_EQ(sink.foreign_appends, 0) << "Append got pooled buffers on the fast path";
}

TEST_F(OpenToSinkTest, DirectMemoryFastPathRefusesAFlippedByte) {
  std::string pkg = SealNew();
  std::string pack = PackPath(pkg, 0);
  FlipByte(pack, stdfs::file_size(pack) / 2);
  DirectSink sink;
  EXPECT_THAT(OpenSink(pkg, KeysOf(key_), sink), HasCodeAndMessage(StatusCode::kUnauthenticated, "record does not authenticate"));
  EXPECT_EQ(sink.aborts, 1);
}

TEST_F(OpenToSinkTest, ManifestDigestOtherThanTheVerifiedOneIsRefusedBeforeAnyKey) {
  std::string pkg = SealNew();
  LoadedPackage loaded = Load(pkg);
  MemorySink sink;
  EXPECT_THAT(OpenToSink(loaded, "", KeysOf(key_), sink), HasCodeAndMessage(StatusCode::kUnauthenticated, "(none given)"));
  EXPECT_THAT(OpenToSink(loaded, report_.oci_manifest_digest, KeysOf(key_), sink),
              HasCodeAndMessage(StatusCode::kUnauthenticated, "expected " + report_.oci_manifest_digest));
  EXPECT_EQ(key_calls_, 0);
  EXPECT_TRUE(sink.events.empty());
}

TEST_F(OpenToSinkTest, MissingKeyNamesTheChunk) {
  std::string pkg = SealNew();
  const Manifest& m = Load(pkg).manifest;
  const ChunkId missing = m.chunks[m.files[FileIndex(m, "model.safetensors")].chunks[1]].id;
  MemorySink sink;
  auto keys = [&](const ChunkId& id) -> Result<SecretBytes> {
    if (id == missing) return NotFoundError("the broker released no key for it");
    return key_.ChunkKey(id);
  };
  auto r = OpenSink(pkg, keys, sink);
  EXPECT_THAT(r, HasCodeAndMessage(StatusCode::kNotFound, "chunk " + HexEncode(ByteSpan(missing.data(), 8))));
  EXPECT_THAT(r, HasCodeAndMessage(StatusCode::kNotFound, "of model.safetensors"));
  EXPECT_THAT(r, HasCodeAndMessage(StatusCode::kNotFound, "no key: the broker released no key for it"));
  EXPECT_EQ(sink.aborts, 1);
  EXPECT_TRUE(sink.files.empty());
}

TEST_F(OpenToSinkTest, WrongKeysAreRefused) {
  std::string pkg = SealNew();
  MemorySink sink;
  EXPECT_THAT(OpenSink(pkg, KeysOf(other_key_), sink),
              HasCodeAndMessage(StatusCode::kUnauthenticated, "record does not authenticate"));
  EXPECT_EQ(sink.aborts, 1);
  EXPECT_TRUE(sink.complete.empty());
}

TEST_F(OpenToSinkTest, KeyOfTheWrongSizeIsRefused) {
  std::string pkg = SealNew();
  MemorySink sink;
  auto keys = [](const ChunkId&) -> Result<SecretBytes> { return SecretBytes(16); };
  EXPECT_THAT(OpenSink(pkg, keys, sink), HasCodeAndMessage(StatusCode::kInvalidArgument, "chunk key is 16 bytes"));
  EXPECT_EQ(sink.aborts, 1);
}

TEST_F(OpenToSinkTest, FlippedPackByteIsRefusedNamingTheChunk) {
  std::string pkg = SealNew();
  std::string pack = PackPath(pkg, 0);
  FlipByte(pack, stdfs::file_size(pack) / 2);
  MemorySink sink;
  auto r = OpenSink(pkg, KeysOf(key_), sink);
  EXPECT_THAT(r, HasCodeAndMessage(StatusCode::kUnauthenticated, "record does not authenticate"));
  EXPECT_THAT(r, HasCodeAndMessage(StatusCode::kUnauthenticated, "chunk "));
  EXPECT_EQ(sink.aborts, 1);
  EXPECT_TRUE(sink.files.empty());
}

// Without the lineage key the manifest MAC cannot be checked, so a manifest
// edited consistently (and passed in as the verified digest) still meets the
// per-file digests: this is what the signature over the digest must stop.
TEST_F(OpenToSinkTest, FileDigestIsCheckedWithoutTheMac) {
  std::string pkg = SealNew();
  EditArcaManifest(pkg, [&](Manifest& m) { m.files[FileIndex(m, "config.json")].sha256 = std::string(64, '0'); });
  MemorySink sink;
  auto r = OpenSink(pkg, KeysOf(key_), sink);
  EXPECT_THAT(r, HasCodeAndMessage(StatusCode::kUnauthenticated, "file config.json: plaintext SHA-256"));
  EXPECT_EQ(sink.aborts, 1);
  EXPECT_TRUE(sink.complete.empty());
}

TEST_F(OpenToSinkTest, SinkErrorStopsTheOpen) {
  std::string pkg = SealNew();
  struct FailingSink : MemorySink {
    Status Append(ByteSpan) override { return ResourceExhaustedError("sink is full"); }
  } sink;
  EXPECT_THAT(OpenSink(pkg, KeysOf(key_), sink), HasCodeAndMessage(StatusCode::kResourceExhausted, "sink is full"));
  EXPECT_EQ(sink.aborts, 1);
}

// --- Open refusals: consistently re-hashed edits ----------------------------

TEST_F(PackageTest, ReorderedChunksAreRefused) {
  std::string pkg = SealNew();
  EditArcaManifest(pkg, [](Manifest& m) {
    auto& chunks = m.files[FileIndex(m, "model.safetensors")].chunks;
    ASSERT_NE(chunks[1], chunks[2]);
    std::swap(chunks[1], chunks[2]);
  });
  ExpectOpenRefused(pkg, StatusCode::kUnauthenticated, "manifest MAC does not verify");
}

TEST_F(PackageTest, DroppedChunkIsRefused) {
  std::string pkg = SealNew();
  EditArcaManifest(pkg, [](Manifest& m) {
    auto& chunks = m.files[FileIndex(m, "model.safetensors")].chunks;
    chunks.erase(chunks.begin() + 3);
  });
  ExpectOpenRefused(pkg, StatusCode::kCorruption, "chunks add up to");
}

TEST_F(PackageTest, DroppedChunkWithAdjustedSizeIsRefused) {
  std::string pkg = SealNew();
  EditArcaManifest(pkg, [](Manifest& m) {
    FileEntry& f = m.files[FileIndex(m, "model.safetensors")];
    f.size -= m.chunks[f.chunks[3]].size;
    f.chunks.erase(f.chunks.begin() + 3);
    f.tensors.clear();
    f.tensor_format.reset();
  });
  ExpectOpenRefused(pkg, StatusCode::kUnauthenticated, "manifest MAC does not verify");
}

TEST_F(PackageTest, DuplicatedChunkIsRefused) {
  std::string pkg = SealNew();
  EditArcaManifest(pkg, [](Manifest& m) {
    FileEntry& f = m.files[FileIndex(m, "nested/dir/tokenizer.txt")];
    f.chunks.insert(f.chunks.begin(), f.chunks[0]);
    f.size += m.chunks[f.chunks[0]].size;
  });
  ExpectOpenRefused(pkg, StatusCode::kUnauthenticated, "manifest MAC does not verify");
}

TEST_F(PackageTest, TruncatedChunkListIsRefused) {
  std::string pkg = SealNew();
  EditArcaManifest(pkg, [](Manifest& m) {
    FileEntry& f = m.files[FileIndex(m, "config.json")];
    f.chunks.clear();
    f.size = 0;
  });
  ExpectOpenRefused(pkg, StatusCode::kUnauthenticated, "manifest MAC does not verify");
}

TEST_F(PackageTest, ChangedFileModeIsRefused) {
  std::string pkg = SealNew();
  EditArcaManifest(pkg, [](Manifest& m) { m.files[FileIndex(m, "config.json")].mode = 0777; });
  ExpectOpenRefused(pkg, StatusCode::kUnauthenticated, "manifest MAC does not verify");
}

TEST_F(PackageTest, RenamedFileIsRefused) {
  std::string pkg = SealNew();
  EditArcaManifest(pkg, [](Manifest& m) { m.files[FileIndex(m, "config.json")].path = "config.py"; });
  ExpectOpenRefused(pkg, StatusCode::kUnauthenticated, "manifest MAC does not verify");
}

TEST_F(PackageTest, ManifestNamingAbsentChunkIsRefused) {
  std::string pkg = SealNew();
  EditArcaManifestJson(pkg, [](Json& j) {
    std::size_t n = j["chunks"].size();
    j["files"][0]["chunks"][0] = n;
  });
  ExpectOpenRefused(pkg, StatusCode::kCorruption, "does not name a chunk");
}

TEST_F(PackageTest, ManifestNamingAbsentPackIsRefused) {
  // Only the Arca manifest names the new pack: the OCI layers disagree.
  std::string pkg = SealNew();
  const std::string absent = "sha256:" + std::string(64, 'd');
  EditArcaManifest(pkg, [&](Manifest& m) { m.packs[0].digest = absent; });
  ExpectOpenRefused(pkg, StatusCode::kCorruption, "does not match pack 0");
}

TEST_F(PackageTest, ManifestAndLayersNamingAbsentPackIsRefused) {
  // Both manifests name the absent pack consistently: the MAC catches it
  // before any pack is opened.
  std::string pkg = SealNew();
  const std::string absent = "sha256:" + std::string(64, 'd');
  EditArcaManifest(pkg, [&](Manifest& m) { m.packs[0].digest = absent; });
  OciManifest om = OciLayoutReader::Open(fs(), pkg).value().manifest();
  om.layers[1].digest = absent;
  RewriteOciManifest(pkg, om);
  ExpectOpenRefused(pkg, StatusCode::kUnauthenticated, "manifest MAC does not verify");
}

TEST_F(PackageTest, ChunkPointingIntoAnotherRecordIsRefused) {
  std::string pkg = SealNew();
  EditArcaManifest(pkg, [](Manifest& m) { std::swap(m.chunks[0].offset, m.chunks[1].offset); });
  ExpectOpenRefused(pkg, StatusCode::kUnauthenticated, "manifest MAC does not verify");
}

TEST_F(PackageTest, NonCanonicalManifestIsRefused) {
  std::string pkg = SealNew();
  Json j = Json::parse(ToString(ReadAll(BlobPath(pkg, report_.manifest_digest))));
  RewriteArcaManifest(pkg, j.dump(1));
  ExpectOpenRefused(pkg, StatusCode::kCorruption, "canonical");
}

TEST_F(PackageTest, OciLayerDroppedIsRefused) {
  std::string pkg = SealNew();
  OciManifest om = Load(pkg).layout.manifest();
  om.layers.pop_back();
  RewriteOciManifest(pkg, om);
  ExpectOpenRefused(pkg, StatusCode::kCorruption, "fewer than its");
}

TEST_F(PackageTest, OciLayersReorderedAreRefused) {
  std::string pkg = SealNew();
  OciManifest om = Load(pkg).layout.manifest();
  ASSERT_GE(om.layers.size(), 3u);
  std::swap(om.layers[1], om.layers[2]);
  RewriteOciManifest(pkg, om);
  ExpectOpenRefused(pkg, StatusCode::kCorruption, "does not match pack 0");
}

TEST_F(PackageTest, OciLayerWithWrongMediaTypeIsRefused) {
  std::string pkg = SealNew();
  OciManifest om = Load(pkg).layout.manifest();
  om.layers[1].media_type = "application/vnd.oci.image.layer.v1.tar";
  RewriteOciManifest(pkg, om);
  ExpectOpenRefused(pkg, StatusCode::kCorruption, "OCI layer 1");
}

TEST_F(PackageTest, OciExtraLayerIsRefused) {
  std::string pkg = SealNew();
  OciManifest om = Load(pkg).layout.manifest();
  om.layers.push_back(om.layers.back());
  RewriteOciManifest(pkg, om);
  ExpectOpenRefused(pkg, StatusCode::kCorruption, "after the packs has media type");
}

TEST_F(PackageTest, OciManifestOfAnotherArtifactIsRefused) {
  std::string pkg = SealNew();
  OciManifest om = Load(pkg).layout.manifest();
  om.artifact_type = "application/vnd.example.other";
  RewriteOciManifest(pkg, om);
  ExpectOpenRefused(pkg, StatusCode::kInvalidArgument, "not an Arca package");
}

TEST_F(PackageTest, OciManifestWithoutArcaLayerIsRefused) {
  std::string pkg = SealNew();
  OciManifest om = Load(pkg).layout.manifest();
  om.layers.erase(om.layers.begin());
  RewriteOciManifest(pkg, om);
  ExpectOpenRefused(pkg, StatusCode::kInvalidArgument, "first layer");
}

TEST_F(PackageTest, UnknownRefIsRefused) {
  std::string pkg = SealNew();
  EXPECT_THAT(Open(fs(), PackageRef{pkg, "2.0"}, key_, out_), HasCodeAndMessage(StatusCode::kNotFound, "it has: 1.0"));
  ExpectNothingAt(out_);
  ASSERT_THAT(Open(fs(), ParsePackageRef(pkg + ":1.0"), key_, out_), IsOk());
}

TEST_F(PackageTest, OpenIntoExistingDirectoryIsRefused) {
  std::string pkg = SealNew();
  stdfs::create_directory(out_);
  WriteAll(out_ + "/keep", "precious");
  EXPECT_THAT(OpenTo(pkg, out_, key_), HasCodeAndMessage(StatusCode::kAlreadyExists, "already exists"));
  auto tree = Tree(out_);
  ASSERT_EQ(tree.size(), 1u);
  EXPECT_EQ(ToString(tree["keep"].content), "precious");
}

TEST_F(PackageTest, OpenOverExistingFileIsRefused) {
  std::string pkg = SealNew();
  WriteAll(out_, "precious");
  EXPECT_THAT(OpenTo(pkg, out_, key_), HasCode(StatusCode::kAlreadyExists));
  EXPECT_EQ(ToString(ReadAll(out_)), "precious");
}

// --- Seal refusals ----------------------------------------------------------

TEST_F(PackageTest, SymlinkOutsideTreeIsRefused) {
  WriteAll(tmp_.path() + "/secret.txt", "not part of the model");
  stdfs::create_symlink(tmp_.path() + "/secret.txt", model_ + "/link.txt");
  EXPECT_THAT(Seal(fs(), model_, out_, key_, options_),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "refusing symlink link.txt: it points outside"));
  ExpectNothingAt(out_);
}

TEST_F(PackageTest, RelativeSymlinkEscapingTreeIsRefused) {
  WriteAll(tmp_.path() + "/secret.txt", "not part of the model");
  stdfs::create_symlink("../../secret.txt", model_ + "/nested/escape");
  EXPECT_THAT(Seal(fs(), model_, out_, key_, options_), HasCodeAndMessage(StatusCode::kInvalidArgument, "points outside"));
  ExpectNothingAt(out_);
}

TEST_F(PackageTest, DanglingSymlinkIsRefused) {
  stdfs::create_symlink(model_ + "/does-not-exist", model_ + "/dangling");
  EXPECT_THAT(Seal(fs(), model_, out_, key_, options_),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "refusing symlink dangling"));
  ExpectNothingAt(out_);
}

TEST_F(PackageTest, SymlinkToDirectoryIsRefused) {
  stdfs::create_directory_symlink(model_ + "/nested/dir", model_ + "/dirlink");
  EXPECT_THAT(Seal(fs(), model_, out_, key_, options_),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "does not point to a regular file"));
  ExpectNothingAt(out_);
}

TEST_F(PackageTest, SymlinkInsideTreeIsSealedAsItsTarget) {
  stdfs::create_symlink("nested/dir/tokenizer.txt", model_ + "/tokenizer.txt");
  ASSERT_THAT(Seal(fs(), model_, tmp_.path() + "/pkg", key_, options_), IsOk());
  ASSERT_THAT(OpenTo(tmp_.path() + "/pkg", out_, key_), IsOk());
  EXPECT_FALSE(stdfs::is_symlink(out_ + "/tokenizer.txt"));
  EXPECT_EQ(ReadAll(out_ + "/tokenizer.txt"), ReadAll(model_ + "/nested/dir/tokenizer.txt"));
}

TEST_F(PackageTest, FifoIsRefused) {
  ASSERT_EQ(::mkfifo((model_ + "/nested/pipe").c_str(), 0600), 0);
  EXPECT_THAT(Seal(fs(), model_, out_, key_, options_),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "refusing nested/pipe"));
  ExpectNothingAt(out_);
}

TEST_F(PackageTest, SymlinkToFifoIsRefused) {
  // "a-link" sorts before "fifos", so the walk meets the link first.
  stdfs::create_directory(model_ + "/fifos");
  ASSERT_EQ(::mkfifo((model_ + "/fifos/real").c_str(), 0600), 0);
  stdfs::create_symlink("fifos/real", model_ + "/a-link");
  EXPECT_THAT(Seal(fs(), model_, out_, key_, options_),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "refusing symlink a-link: it does not point to a regular file"));
  ExpectNothingAt(out_);
}

TEST_F(PackageTest, HostileFileNameIsRefused) {
  WriteAll(model_ + "/bad\nname", "x");
  EXPECT_THAT(Seal(fs(), model_, out_, key_, options_),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "control character"));
  ExpectNothingAt(out_);
}

TEST_F(PackageTest, BackslashFileNameIsRefused) {
  WriteAll(model_ + "/bad\\name", "x");
  EXPECT_THAT(Seal(fs(), model_, out_, key_, options_), HasCodeAndMessage(StatusCode::kInvalidArgument, "backslash"));
  ExpectNothingAt(out_);
}

TEST_F(PackageTest, MalformedSafetensorsIsRefused) {
  Bytes broken(8);
  StoreLe64(broken.data(), 16);
  for (char c : std::string_view("{not json}      ")) broken.push_back(std::uint8_t(c));
  WriteAll(model_ + "/broken.safetensors", broken);
  EXPECT_THAT(Seal(fs(), model_, out_, key_, options_),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "refusing to seal broken.safetensors"));
  ExpectNothingAt(out_);
}

TEST_F(PackageTest, TensorShapeBeyondJsonRangeIsRefused) {
  // A valid safetensors file (the zero dimension makes the tensor empty)
  // whose other dimension no canonical JSON manifest can carry.
  WriteAll(model_ + "/odd.safetensors",
           Safetensors({{"empty", "BF16", {0, 1ull << 60}, {}}, {"w", "BF16", {4}, Bf16Weights(4, 5)}}));
  EXPECT_THAT(Seal(fs(), model_, out_, key_, options_),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "odd.safetensors"));
  ExpectNothingAt(out_);
}

TEST_F(PackageTest, SealOutputExistsIsRefused) {
  stdfs::create_directory(out_);
  WriteAll(out_ + "/keep", "precious");
  EXPECT_THAT(Seal(fs(), model_, out_, key_, options_), HasCodeAndMessage(StatusCode::kAlreadyExists, "already exists"));
  auto tree = Tree(out_);
  ASSERT_EQ(tree.size(), 1u);
  EXPECT_EQ(ToString(tree["keep"].content), "precious");
  ExpectNothingAt(tmp_.path() + "/pkg");
}

TEST_F(PackageTest, SealBadNameIsRefused) {
  for (const char* name : {"", "noslash", "Acme/Model", "acme/../x", "acme/x y"}) {
    options_.name = name;
    EXPECT_THAT(Seal(fs(), model_, out_, key_, options_), HasCodeAndMessage(StatusCode::kInvalidArgument, "name")) << name;
    ExpectNothingAt(out_);
  }
}

TEST_F(PackageTest, SealBadVersionIsRefused) {
  for (const char* version : {"", "-1", ".1", "1/2", "1 2", "v:1"}) {
    options_.version = version;
    EXPECT_THAT(Seal(fs(), model_, out_, key_, options_), HasCodeAndMessage(StatusCode::kInvalidArgument, "version"))
        << version;
    ExpectNothingAt(out_);
  }
}

TEST_F(PackageTest, SealBadChunkingIsRefused) {
  options_.chunking.avg_size = 4000;
  EXPECT_THAT(Seal(fs(), model_, out_, key_, options_), HasCodeAndMessage(StatusCode::kInvalidArgument, "power of two"));
  ExpectNothingAt(out_);
}

TEST_F(PackageTest, SealEmptyModelDirIsRefused) {
  const std::string empty = tmp_.path() + "/empty";
  stdfs::create_directories(empty + "/only/dirs");
  EXPECT_THAT(Seal(fs(), empty, out_, key_, options_), HasCodeAndMessage(StatusCode::kInvalidArgument, "contains no files"));
  ExpectNothingAt(out_);
}

TEST_F(PackageTest, SealMissingModelDirIsRefused) {
  EXPECT_THAT(Seal(fs(), tmp_.path() + "/nope", out_, key_, options_),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "is not a directory"));
  ExpectNothingAt(out_);
}

TEST_F(PackageTest, SealModelFileInsteadOfDirIsRefused) {
  EXPECT_THAT(Seal(fs(), model_ + "/config.json", out_, key_, options_),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "is not a directory"));
  ExpectNothingAt(out_);
}

// --- Fault injection --------------------------------------------------------

class OpenFaultTest : public PackageTest, public ::testing::WithParamInterface<int> {};

TEST_P(OpenFaultTest, FailedAppendLeavesNothing) {
  std::string pkg = SealNew();
  FaultyFileSystem faulty(GetParam());
  EXPECT_THAT(Open(faulty, PackageRef{pkg, ""}, key_, out_), HasCodeAndMessage(StatusCode::kUnavailable, "injected fault"));
  EXPECT_GE(faulty.appends(), GetParam());
  ExpectNothingAt(out_);
}

INSTANTIATE_TEST_SUITE_P(NthAppend, OpenFaultTest, ::testing::Values(1, 2, 5));

class SealFaultTest : public PackageTest, public ::testing::WithParamInterface<int> {};

TEST_P(SealFaultTest, FailedAppendLeavesNothing) {
  FaultyFileSystem faulty(GetParam());
  EXPECT_THAT(Seal(faulty, model_, out_, key_, options_), HasCodeAndMessage(StatusCode::kUnavailable, "injected fault"));
  EXPECT_GE(faulty.appends(), GetParam());
  ExpectNothingAt(out_);
}

INSTANTIATE_TEST_SUITE_P(NthAppend, SealFaultTest, ::testing::Values(1, 3));

TEST_F(PackageTest, SealFailingLastAppendLeavesNothing) {
  // Count the appends of a clean seal, then fail the very last one (the
  // oci-layout file, written just before the directory is renamed).
  FaultyFileSystem counter(-1);
  ASSERT_THAT(Seal(counter, model_, tmp_.path() + "/probe", key_, options_), IsOk());
  FaultyFileSystem faulty(counter.appends());
  EXPECT_THAT(Seal(faulty, model_, out_, key_, options_), HasCode(StatusCode::kUnavailable));
  ExpectNothingAt(out_);
}

TEST_F(PackageTest, OpenFailingLastAppendLeavesNothing) {
  std::string pkg = SealNew();
  FaultyFileSystem counter(-1);
  ASSERT_THAT(Open(counter, PackageRef{pkg, ""}, key_, tmp_.path() + "/probe"), IsOk());
  FaultyFileSystem faulty(counter.appends());
  EXPECT_THAT(Open(faulty, PackageRef{pkg, ""}, key_, out_), HasCode(StatusCode::kUnavailable));
  ExpectNothingAt(out_);
}

TEST_F(PackageTest, SealFailingFinalRenameLeavesNothing) {
  FaultyFileSystem faulty(-1);
  faulty.FailRenameTo(out_);
  EXPECT_THAT(Seal(faulty, model_, out_, key_, options_), HasCode(StatusCode::kUnavailable));
  ExpectNothingAt(out_);
}

TEST_F(PackageTest, OpenFailingFinalRenameLeavesNothing) {
  std::string pkg = SealNew();
  FaultyFileSystem faulty(-1);
  faulty.FailRenameTo(out_);
  EXPECT_THAT(Open(faulty, PackageRef{pkg, ""}, key_, out_), HasCode(StatusCode::kUnavailable));
  ExpectNothingAt(out_);
}

TEST_F(PackageTest, SealWithParentFailingAppendLeavesNothing) {
  std::string v1 = SealNew("v1");
  WriteModel(model_, 99);
  options_.version = "1.1";
  options_.parent = PackageRef{v1, ""};
  FaultyFileSystem faulty(2);
  EXPECT_THAT(Seal(faulty, model_, out_, key_, options_), HasCode(StatusCode::kUnavailable));
  ExpectNothingAt(out_);
  // The parent is untouched and still opens.
  EXPECT_THAT(OpenTo(v1, tmp_.path() + "/out-v1", key_), IsOk());
}


// --- Attachments (signatures, provenance, policy live as layers after the packs)

Attachment MakeAttachment(std::string role, std::string_view text) { return Attachment{std::move(role), Bytes(text.begin(), text.end())}; }

std::size_t CountBlobs(const std::string& pkg) {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(pkg + "/blobs/sha256")) n += e.is_regular_file();
  return n;
}

TEST_F(PackageTest, SealAttachesDocumentsGivenTheManifestDigest) {
  std::string seen_digest;
  options_.attach = [&](const Manifest& m, const std::string& digest) -> Result<std::vector<Attachment>> {
    seen_digest = digest;
    return std::vector<Attachment>{MakeAttachment("release", "{\"a\":1}"), MakeAttachment("provenance", "{\"b\":2}")};
  };
  std::string pkg = SealNew();
  LoadedPackage p = Load(pkg);
  EXPECT_EQ(seen_digest, p.manifest_blob.digest);
  ASSERT_EQ(p.attachments.size(), 2u);
  EXPECT_EQ(AttachmentRole(p.attachments[0]), "release");
  EXPECT_EQ(AttachmentRole(p.attachments[1]), "provenance");
  EXPECT_EQ(ToString(p.layout.ReadBlob(p.attachments[1], kMaxAttachmentBytes).value()), "{\"b\":2}");
  EXPECT_THAT(Open(fs(), PackageRef{pkg, ""}, key_, out_), IsOk());
}

TEST_F(PackageTest, AttachFailureLeavesNoPackage) {
  options_.attach = [&](const Manifest&, const std::string&) -> Result<std::vector<Attachment>> {
    return UnauthenticatedError("signing failed");
  };
  std::string dir = tmp_.path() + "/pkg";
  EXPECT_THAT(Seal(fs(), model_, dir, key_, options_), HasCode(StatusCode::kUnauthenticated));
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST_F(PackageTest, UpdateAttachmentsAddsAndRemovesWithoutTouchingTheManifest) {
  std::string pkg = SealNew();
  LoadedPackage before = Load(pkg);
  std::size_t blobs_before = CountBlobs(pkg);
  ASSERT_THAT(UpdateAttachments(fs(), before, {MakeAttachment("release", "one"), MakeAttachment("release", "two")}), IsOk());
  LoadedPackage mid = Load(pkg);
  EXPECT_EQ(mid.manifest_blob.digest, before.manifest_blob.digest);
  ASSERT_EQ(mid.attachments.size(), 2u);
  // Two attachment blobs added; the old OCI manifest replaced by the new one.
  EXPECT_EQ(CountBlobs(pkg), blobs_before + 2);

  ASSERT_THAT(UpdateAttachments(fs(), mid, {}, {mid.attachments[0].digest}), IsOk());
  LoadedPackage after = Load(pkg);
  ASSERT_EQ(after.attachments.size(), 1u);
  EXPECT_EQ(ToString(after.layout.ReadBlob(after.attachments[0], 100).value()), "two");
  // The removed document's blob is gone, so nothing unreferenced lingers.
  EXPECT_EQ(CountBlobs(pkg), blobs_before + 1);
  EXPECT_THAT(Open(fs(), PackageRef{pkg, ""}, key_, out_), IsOk());
}

TEST_F(PackageTest, UpdateAttachmentsIgnoresADuplicate) {
  std::string pkg = SealNew();
  ASSERT_THAT(UpdateAttachments(fs(), Load(pkg), {MakeAttachment("release", "same")}), IsOk());
  ASSERT_THAT(UpdateAttachments(fs(), Load(pkg), {MakeAttachment("release", "same")}), IsOk());
  EXPECT_EQ(Load(pkg).attachments.size(), 1u);
}

TEST_F(PackageTest, UpdateAttachmentsRefusesAStaleView) {
  std::string pkg = SealNew();
  LoadedPackage stale = Load(pkg);
  ASSERT_THAT(UpdateAttachments(fs(), Load(pkg), {MakeAttachment("release", "first")}), IsOk());
  EXPECT_THAT(UpdateAttachments(fs(), stale, {MakeAttachment("release", "second")}),
              HasCodeAndMessage(StatusCode::kFailedPrecondition, "changed while"));
  EXPECT_EQ(Load(pkg).attachments.size(), 1u);
}

TEST_F(PackageTest, UpdateAttachmentsRefusesABadRole) {
  std::string pkg = SealNew();
  EXPECT_THAT(UpdateAttachments(fs(), Load(pkg), {MakeAttachment("Release!", "x")}),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "attachment role"));
  EXPECT_THAT(UpdateAttachments(fs(), Load(pkg), {MakeAttachment("", "x")}), HasCode(StatusCode::kInvalidArgument));
}

TEST_F(PackageTest, UpdateAttachmentsRefusesAnOversizeDocument) {
  std::string pkg = SealNew();
  Attachment big{"release", Bytes(kMaxAttachmentBytes + 1, '{')};
  EXPECT_THAT(UpdateAttachments(fs(), Load(pkg), {big}), HasCodeAndMessage(StatusCode::kInvalidArgument, "over the limit"));
}

TEST_F(PackageTest, AttachmentLayerWithoutRoleIsRefused) {
  std::string pkg = SealNew();
  ASSERT_THAT(UpdateAttachments(fs(), Load(pkg), {MakeAttachment("release", "doc")}), IsOk());
  OciManifest om = Load(pkg).layout.manifest();
  om.layers.back().annotations.clear();
  RewriteOciManifest(pkg, om);
  EXPECT_THAT(LoadPackage(fs(), PackageRef{pkg, ""}), HasCodeAndMessage(StatusCode::kInvalidArgument, "attachment role"));
}

TEST_F(PackageTest, AttachmentLayerOverTheLimitIsRefused) {
  std::string pkg = SealNew();
  ASSERT_THAT(UpdateAttachments(fs(), Load(pkg), {MakeAttachment("release", "doc")}), IsOk());
  OciManifest om = Load(pkg).layout.manifest();
  om.layers.back().size = kMaxAttachmentBytes + 1;
  RewriteOciManifest(pkg, om);
  EXPECT_THAT(LoadPackage(fs(), PackageRef{pkg, ""}), HasCode(StatusCode::kResourceExhausted));
}

}  // namespace
}  // namespace arca::format

namespace arca::format {
namespace {

// A runtime opening a delta version holds only what a broker released for
// it: ChunkIdsToRelease's keys. Those suffice (bases included); the files'
// own chunk keys alone do not, and the refusal names a missing key.
TEST_F(OpenToSinkTest, DeltaVersionOpensWithExactlyTheReleasedKeys) {
  std::string v1 = SealNew("v1");
  WriteDenseFineTune(model_, 1);
  options_.version = "1.1";
  options_.parent = PackageRef{v1, ""};
  std::string v2 = SealNew("v2");
  ASSERT_GT(report_.chunks_delta, 0u);
  const Manifest& m = report_.manifest;
  std::map<ChunkId, SecretBytes> released;
  for (const auto& id : ChunkIdsToRelease(m)) released.emplace(id, key_.ChunkKey(id));
  auto from = [](const std::map<ChunkId, SecretBytes>& keys) {
    return [&keys](const ChunkId& id) -> Result<SecretBytes> {
      auto it = keys.find(id);
      if (it == keys.end()) return NotFoundError("not released");
      return it->second.Clone();
    };
  };
  MemorySink sink;
  ASSERT_THAT(OpenSink(v2, from(released), sink), IsOk());
  ASSERT_THAT(OpenTo(v2, out_, key_), IsOk());
  for (const auto& [path, entry] : Tree(out_)) {
    if (!entry.is_dir) EXPECT_EQ(sink.files[path], entry.content) << path;
  }
  std::map<ChunkId, SecretBytes> own;
  for (const auto& f : m.files) {
    for (auto c : f.chunks) own.emplace(m.chunks[c].id, key_.ChunkKey(m.chunks[c].id));
  }
  ASSERT_LT(own.size(), released.size());
  MemorySink partial;
  EXPECT_THAT(OpenSink(v2, from(own), partial), HasCodeAndMessage(StatusCode::kNotFound, "no key"));
  EXPECT_EQ(partial.aborts, 1);
}

}  // namespace
}  // namespace arca::format
