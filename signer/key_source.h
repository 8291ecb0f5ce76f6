// Where signing keys come from: a PKCS#8 PEM file or an HSM behind PKCS#11.
//
// Every signing command takes a "key reference": a file path, or a PKCS#11
// URI (RFC 7512, "pkcs11:token=...;object=...?pin-value=...") naming a
// private key on a token. Both yield a Signer, so the rest of the signer
// never knows where a key lives, and an HSM key never leaves the HSM.
//
// What this protects: a file key is read once, parsed into OpenSSL (which
// wipes it on free) and the PEM text is wiped; passphrases are wiped. What it
// does not: it does not decide whether a key is trusted (the namespace root
// does), and a PIN given in a URI is as secret as the file holding the URI.
#ifndef ARCA_SIGNER_KEY_SOURCE_H_
#define ARCA_SIGNER_KEY_SOURCE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/file_system.h"
#include "base/secret_bytes.h"
#include "base/signature.h"
#include "base/status.h"

namespace arca::signer {

// Signer signs messages with one private key. Signatures have the encoding
// crypto::PublicKey::Verify expects: 64 raw bytes for Ed25519, strict DER for
// ECDSA (an HSM's r || s is converted). Implementations are thread-compatible
// (one thread at a time), not thread-safe.
class Signer {
 public:
  virtual ~Signer() = default;
  // public_key is the verification key of this signer.
  virtual const crypto::PublicKey& public_key() const = 0;
  // Sign signs `message` (ECDSA hashes it with the key type's SHA-2).
  // Unavailable when a token is unreachable, Internal on library failure.
  virtual Result<Bytes> Sign(ByteSpan message) = 0;
  // KeyId is public_key().KeyId(): hex SHA-256 of the SPKI DER.
  std::string KeyId() const { return public_key().KeyId(); }
};

// IsPkcs11Uri says whether a key reference is a PKCS#11 URI ("pkcs11:").
bool IsPkcs11Uri(std::string_view key_ref);

// PassphraseFn supplies the passphrase of an encrypted PEM key (asked only
// when the file is encrypted); returning nullopt means none is available.
using PassphraseFn = std::function<std::optional<SecretBytes>(const std::string& key_ref)>;

// LoadSigner opens a key reference: a PKCS#11 URI goes to OpenPkcs11Signer,
// anything else is read as a PKCS#8 PEM file (at most crypto::kMaxPemBytes).
// Codes: NotFound for a missing file, InvalidArgument for a malformed key,
// Unauthenticated for a wrong passphrase, plus OpenPkcs11Signer's.
Result<std::unique_ptr<Signer>> LoadSigner(FileSystem& fs, const std::string& key_ref,
                                           const PassphraseFn& passphrase = {});

// FileSigner wraps an in-memory private key (used by LoadSigner and tests).
std::unique_ptr<Signer> MakeKeySigner(crypto::PrivateKey key);

// LoadPublicKey reads a verification key: a PEM SubjectPublicKeyInfo file, a
// PKCS#8 private key file (its public half), or a PKCS#11 URI (the public key
// object matching the URI). Codes as LoadSigner.
Result<crypto::PublicKey> LoadPublicKey(FileSystem& fs, const std::string& key_ref,
                                        const PassphraseFn& passphrase = {});

// OpenPkcs11Signer loads the PKCS#11 module named by the URI's
// "module-path" query attribute (default: $ARCA_PKCS11_MODULE, else
// /usr/lib/softhsm/libsofthsm2.so), finds the one token and the one private
// key the URI's path attributes match (token, manufacturer, serial, model,
// object, id, type=private), logs in with "pin-value" or "pin-source"
// (file:PATH) and returns a Signer whose public key is read from the token's
// matching public key object (or the private key's CKA_EC_POINT/public
// attributes). Supports CKK_EC_EDWARDS (Ed25519, CKM_EDDSA) and CKK_EC on
// P-256/P-384 (CKM_ECDSA over a host-side SHA-2 digest).
// Codes: InvalidArgument for a malformed URI or an unsupported key type;
// NotFound when no token or key matches (the message lists what was looked
// for, never the PIN); FailedPrecondition when several match;
// Unauthenticated for a wrong PIN; Unavailable when the module cannot load.
Result<std::unique_ptr<Signer>> OpenPkcs11Signer(const std::string& uri);

// OpenPkcs11PublicKey returns the public key the URI names, without a PIN
// when the token allows reading public objects. Codes as OpenPkcs11Signer.
Result<crypto::PublicKey> OpenPkcs11PublicKey(const std::string& uri);

}  // namespace arca::signer

#endif  // ARCA_SIGNER_KEY_SOURCE_H_
