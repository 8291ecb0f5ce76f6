#include "registry-server/blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/crypto.h"
#include "format/oci_layout.h"

namespace arca::registry {
namespace {

Status Errno(const std::string& what, const std::string& path) { return ErrnoStatus(what, path, errno); }

Status MkdirP(const std::string& path) {
  if (::mkdir(path.c_str(), 0750) != 0 && errno != EEXIST) return Errno("creating", path);
  return Status::Ok();
}

Status SyncDirPath(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("opening", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("syncing", dir);
  return Status::Ok();
}


}  // namespace

std::string NewUploadId() {
  std::uint8_t raw[16];
  crypto::RandomBytes(raw);
  return HexEncode(raw);
}

Result<std::unique_ptr<BlobStore>> BlobStore::Create(const std::string& root) {
  for (const std::string& d : {root, root + "/blobs", root + "/blobs/sha256", root + "/uploads", root + "/tmp"}) {
    ARCA_RETURN_IF_ERROR(MkdirP(d));
  }
  return std::unique_ptr<BlobStore>(new BlobStore(root));
}

std::string BlobStore::BlobPath(const std::string& digest) const {
  std::string hex = digest.substr(7);
  return root_ + "/blobs/sha256/" + hex.substr(0, 2) + "/" + hex;
}

std::string BlobStore::UploadPath(const std::string& id) const { return root_ + "/uploads/" + id; }

Result<std::unique_ptr<RandomAccessFile>> BlobStore::Open(const std::string& digest) const {
  if (!format::IsValidDigest(digest)) return InvalidArgumentError("invalid digest");
  return FileSystem::Default().OpenRead(BlobPath(digest));
}

Result<std::uint64_t> BlobStore::Size(const std::string& digest) const {
  struct stat st;
  if (::stat(BlobPath(digest).c_str(), &st) != 0) return Errno("blob", digest);
  return std::uint64_t(st.st_size);
}

Status BlobStore::NewUpload(const std::string& id) {
  int fd = ::open(UploadPath(id).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) return Errno("creating upload", id);
  ::close(fd);
  return Status::Ok();
}

Result<std::uint64_t> BlobStore::UploadSize(const std::string& id) const {
  struct stat st;
  if (::stat(UploadPath(id).c_str(), &st) != 0) return Errno("upload", id);
  return std::uint64_t(st.st_size);
}

Result<std::unique_ptr<WritableFile>> BlobStore::AppendUpload(const std::string& id) {
  return FileSystem::Default().OpenAppend(UploadPath(id), 0640);
}

Result<std::string> BlobStore::HashUpload(const std::string& id) const {
  ARCA_ASSIGN_OR_RETURN(auto f, FileSystem::Default().OpenRead(UploadPath(id)));
  crypto::Sha256 h;
  Bytes buf(1 << 20);
  for (std::uint64_t off = 0; off < f->size();) {
    std::size_t n = std::size_t(std::min<std::uint64_t>(buf.size(), f->size() - off));
    ARCA_RETURN_IF_ERROR(f->ReadAt(off, std::span<std::uint8_t>(buf.data(), n)));
    h.Update(ByteSpan(buf.data(), n));
    off += n;
  }
  return "sha256:" + HexEncode(h.Finish());
}

Status BlobStore::PlaceUpload(const std::string& id, const std::string& digest) {
  std::string final_path = BlobPath(digest);
  std::string dir = final_path.substr(0, final_path.rfind('/'));
  ARCA_RETURN_IF_ERROR(MkdirP(dir));
  struct stat st;
  if (::stat(final_path.c_str(), &st) == 0) {
    // Already stored: content addressing makes the bytes identical.
    return DeleteUpload(id);
  }
  if (::rename(UploadPath(id).c_str(), final_path.c_str()) != 0) return Errno("storing blob", digest);
  return SyncDirPath(dir);
}

Status BlobStore::DeleteUpload(const std::string& id) {
  if (::unlink(UploadPath(id).c_str()) != 0 && errno != ENOENT) return Errno("removing upload", id);
  return Status::Ok();
}

Result<std::string> BlobStore::WriteBlob(ByteSpan data, const std::string& staging_id) {
  std::string digest = format::DigestOf(data);
  ARCA_RETURN_IF_ERROR(NewUpload(staging_id));
  ARCA_ASSIGN_OR_RETURN(auto a, AppendUpload(staging_id));
  Status s = a->Append(data);
  if (s.ok()) s = a->Sync();
  if (s.ok()) s = a->Close();
  if (!s.ok()) {
    (void)DeleteUpload(staging_id);
    return s;
  }
  return digest;
}

Result<std::uint64_t> BlobStore::Delete(const std::string& digest) {
  std::string path = BlobPath(digest);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return std::uint64_t(0);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Errno("deleting blob", digest);
  return std::uint64_t(st.st_size);
}

}  // namespace arca::registry
