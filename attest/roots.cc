#include "attest/roots.h"

#include <algorithm>
#include <filesystem>

#include "attest/internal/roots.h"
#include "base/crypto.h"
#include "base/file_system.h"

namespace arca::attest {
namespace {

Result<Root> MakeRoot(X509Ptr cert, bool builtin) {
  Root r;
  r.name = internal::CommonName(cert.get());
  EVP_PKEY* key = X509_get0_pubkey(cert.get());
  if (!key) return InvalidArgumentError("root " + r.name + ": no public key");
  r.vendor = EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "RSA-PSS") ? RootVendor::kAmd : RootVendor::kIntel;
  r.sha256_der_hex = HexEncode(crypto::Sha256::Hash(internal::CertDer(cert.get())));
  r.cert = std::move(cert);
  r.builtin = builtin;
  return r;
}

}  // namespace

Result<RootStore> RootStore::Pinned() {
  static const Result<RootStore> kPinned = []() -> Result<RootStore> {
    auto roots = std::make_shared<std::vector<Root>>();
    for (const auto& b : internal::BuiltinRoots()) {
      ARCA_ASSIGN_OR_RETURN(auto certs, internal::ParseCertificates(AsBytes(b.pem), b.name));
      if (certs.size() != 1) return InternalError(std::string("built-in root ") + b.name + ": expected one certificate");
      ARCA_ASSIGN_OR_RETURN(Root r, MakeRoot(std::move(certs[0]), true));
      if (r.sha256_der_hex != b.sha256_der_hex) {
        return InternalError(std::string("built-in root ") + b.name + ": SHA-256 expected " + b.sha256_der_hex +
                             ", got " + r.sha256_der_hex);
      }
      r.name = b.name;
      r.vendor = b.vendor;
      roots->push_back(std::move(r));
    }
    return RootStore(std::move(roots));
  }();
  return kPinned;
}

Result<RootStore> RootStore::FromCertificates(const std::vector<Bytes>& inputs) {
  auto roots = std::make_shared<std::vector<Root>>();
  for (const auto& in : inputs) {
    ARCA_ASSIGN_OR_RETURN(auto certs, internal::ParseCertificates(in, "root certificate"));
    for (auto& c : certs) {
      ARCA_ASSIGN_OR_RETURN(Root r, MakeRoot(std::move(c), false));
      roots->push_back(std::move(r));
    }
  }
  if (roots->empty()) return InvalidArgumentError("roots: no certificate given");
  return RootStore(std::move(roots));
}

Result<RootStore> RootStore::FromDirectory(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return NotFoundError("--roots " + dir + ": not a directory");
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::string ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".pem" || ext == ".crt" || ext == ".der")) files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) return NotFoundError("--roots " + dir + ": no *.pem, *.crt or *.der file");
  std::vector<Bytes> inputs;
  auto& fs = FileSystem::Default();
  for (const auto& f : files) {
    ARCA_ASSIGN_OR_RETURN(Bytes b, ReadFileBounded(fs, f, 1 << 20));
    inputs.push_back(std::move(b));
  }
  return FromCertificates(inputs);
}

std::vector<internal::Anchor> RootStore::Anchors(RootVendor vendor) const {
  std::vector<internal::Anchor> out;
  for (const auto& r : *roots_)
    if (r.vendor == vendor) out.push_back({r.cert.get(), r.name});
  return out;
}

}  // namespace arca::attest
