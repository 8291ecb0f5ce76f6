#include "signer/key_source.h"

#include <openssl/crypto.h>

#include <string_view>
#include <utility>

namespace arca::signer {
namespace {

class KeySigner final : public Signer {
 public:
  explicit KeySigner(crypto::PrivateKey key) : key_(std::move(key)) {}
  const crypto::PublicKey& public_key() const override { return key_.public_key(); }
  Result<Bytes> Sign(ByteSpan message) override { return key_.Sign(message); }

 private:
  crypto::PrivateKey key_;
};

std::string_view AsText(const SecretBytes& s) {
  return {reinterpret_cast<const char*>(s.Expose().data()), s.size()};
}

bool IsEncryptedPem(std::string_view pem) { return pem.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != pem.npos; }

Result<crypto::PrivateKey> LoadPrivateKeyFile(FileSystem& fs, const std::string& path, const PassphraseFn& passphrase) {
  ARCA_ASSIGN_OR_RETURN(SecretBytes pem, ReadSecretFileBounded(fs, path, crypto::kMaxPemBytes));
  std::optional<SecretBytes> pass;
  if (IsEncryptedPem(AsText(pem))) {
    if (passphrase) pass = passphrase(path);
    if (!pass) {
      return InvalidArgumentError(path + " is an encrypted key and no passphrase was given (set ARCA_KEY_PASSPHRASE_FILE "
                                  "or use a terminal)");
    }
  }
  auto key = pass ? crypto::PrivateKey::FromPem(AsText(pem), AsText(*pass)) : crypto::PrivateKey::FromPem(AsText(pem));
  if (!key.ok()) return key.status().WithContext(path);
  return std::move(*key);
}

}  // namespace

bool IsPkcs11Uri(std::string_view key_ref) { return key_ref.substr(0, 7) == "pkcs11:"; }

std::unique_ptr<Signer> MakeKeySigner(crypto::PrivateKey key) { return std::make_unique<KeySigner>(std::move(key)); }

Result<std::unique_ptr<Signer>> LoadSigner(FileSystem& fs, const std::string& key_ref, const PassphraseFn& passphrase) {
  if (IsPkcs11Uri(key_ref)) return OpenPkcs11Signer(key_ref);
  ARCA_ASSIGN_OR_RETURN(crypto::PrivateKey key, LoadPrivateKeyFile(fs, key_ref, passphrase));
  return MakeKeySigner(std::move(key));
}

Result<crypto::PublicKey> LoadPublicKey(FileSystem& fs, const std::string& key_ref, const PassphraseFn& passphrase) {
  if (IsPkcs11Uri(key_ref)) return OpenPkcs11PublicKey(key_ref);
  ARCA_ASSIGN_OR_RETURN(Bytes pem, ReadFileBounded(fs, key_ref, crypto::kMaxPemBytes));
  std::string_view text(reinterpret_cast<const char*>(pem.data()), pem.size());
  if (text.find("-----BEGIN PUBLIC KEY-----") != text.npos) {
    auto key = crypto::PublicKey::FromPem(text);
    if (!key.ok()) return key.status().WithContext(key_ref);
    return std::move(*key);
  }
  // A private key file: wipe the copy we just read, then load it properly.
  OPENSSL_cleanse(pem.data(), pem.size());
  ARCA_ASSIGN_OR_RETURN(crypto::PrivateKey key, LoadPrivateKeyFile(fs, key_ref, passphrase));
  return key.public_key();
}

}  // namespace arca::signer
