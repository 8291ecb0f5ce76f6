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

Result<RootStore> RootStore::FromCertificates(const std::vector<Bytes>& inputs, const std::vector<Bytes>& tpm_inputs) {
  auto roots = std::make_shared<std::vector<Root>>();
  for (const auto* list : {&inputs, &tpm_inputs}) {
    for (const auto& in : *list) {
      ARCA_ASSIGN_OR_RETURN(auto certs, internal::ParseCertificates(in, "root certificate"));
      for (auto& c : certs) {
        ARCA_ASSIGN_OR_RETURN(Root r, MakeRoot(std::move(c), false));
        if (list == &tpm_inputs) r.vendor = RootVendor::kTpm;
        roots->push_back(std::move(r));
      }
    }
  }
  if (roots->empty()) return InvalidArgumentError("roots: no certificate given");
  return RootStore(std::move(roots));
}

namespace {

Result<std::vector<Bytes>> ReadCertificateFiles(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::string ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".pem" || ext == ".crt" || ext == ".der")) files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  std::vector<Bytes> inputs;
  auto& fs = FileSystem::Default();
  for (const auto& f : files) {
    ARCA_ASSIGN_OR_RETURN(Bytes b, ReadFileBounded(fs, f, 1 << 20));
    inputs.push_back(std::move(b));
  }
  return inputs;
}

}  // namespace

Result<RootStore> RootStore::FromDirectory(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return NotFoundError("--roots " + dir + ": not a directory");
  ARCA_ASSIGN_OR_RETURN(std::vector<Bytes> inputs, ReadCertificateFiles(dir));
  std::vector<Bytes> tpm_inputs;
  const std::string tpm_dir = dir + "/tpm";
  if (std::filesystem::is_directory(tpm_dir, ec)) {
    ARCA_ASSIGN_OR_RETURN(tpm_inputs, ReadCertificateFiles(tpm_dir));
  }
  if (inputs.empty() && tpm_inputs.empty()) {
    return NotFoundError("--roots " + dir + ": no *.pem, *.crt or *.der file (nor in " + tpm_dir + ")");
  }
  return FromCertificates(inputs, tpm_inputs);
}

RootStore RootStore::Union(const RootStore& a, const RootStore& b) {
  auto roots = std::make_shared<std::vector<Root>>();
  for (const RootStore* store : {&a, &b}) {
    for (const Root& r : store->roots()) {
      X509_up_ref(r.cert.get());
      roots->push_back(Root{r.name, r.vendor, X509Ptr(r.cert.get()), r.sha256_der_hex, r.builtin});
    }
  }
  return RootStore(std::move(roots));
}

std::vector<internal::Anchor> RootStore::Anchors(RootVendor vendor) const {
  std::vector<internal::Anchor> out;
  for (const auto& r : *roots_)
    if (r.vendor == vendor) out.push_back({r.cert.get(), r.name});
  return out;
}

}  // namespace arca::attest
