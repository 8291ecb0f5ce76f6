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
// /usr/lib/softhsm/libsofthsm2.so; "module-name" is not supported), finds
// the one initialised token and the one private key the URI's path
// attributes match (library-*, slot-*, token, manufacturer, serial, model,
// object, id, type=private), logs in with "pin-value" or "pin-source"
// (file:/PATH, file:///PATH or /PATH; one trailing newline is dropped; the
// PIN is wiped right after C_Login) and returns a Signer whose public key is
// read from the token's public key object with the private key's CKA_ID (or,
// without one, its label), else from the private key's own CKA_EC_POINT or
// CKA_PUBLIC_KEY_INFO. Supports CKK_EC_EDWARDS (Ed25519, CKM_EDDSA) and
// CKK_EC on P-256/P-384 (CKM_ECDSA over a host-side SHA-2 digest).
// module-path loads and runs that library: a URI must be as trusted as a
// command line.
// Each module is C_Initialize()d once per process and C_Finalize()d when the
// last signer or lookup using it is gone (never when another library in the
// process initialised it); several signers may be open at once, on one token
// or several. Login state is per token and process (PKCS#11 v2.40 §5.6):
// while one signer holds a session, a second key on the same token opens
// without a PIN (one given is not checked).
// Codes: InvalidArgument for a malformed URI, an unknown path attribute, a
// pin-source that is not a file or an unsupported key type; NotFound when no
// token or key matches or the key has no public key (the message gives the
// URI without its PIN and the token label, never the PIN), or the pin-source
// file is missing; FailedPrecondition when several tokens or keys match, the
// key may not sign (CKA_SIGN false) or needs a PIN per signature
// (CKA_ALWAYS_AUTHENTICATE), or the PIN is locked; Unauthenticated for a
// wrong or missing PIN; Unavailable when the module cannot load or
// initialise or the token is gone. Errors name the CK_RV (CKR_PIN_INCORRECT).
// The returned Signer's Sign verifies each signature under public_key()
// before returning it: FailedPrecondition when it does not verify (the
// token's public and private key objects do not belong together);
// Unavailable when the session or token is gone (open the key again).
// Thread-safe; the Signer is thread-compatible like every Signer.
Result<std::unique_ptr<Signer>> OpenPkcs11Signer(const std::string& uri);

// OpenPkcs11PublicKey returns the public key the URI names: a public key
// object matching its path attributes (type=private is read as "this key
// pair"), without a PIN when the token allows reading public objects; with a
// PIN it can fall back to the private key's public attributes. Codes as
// OpenPkcs11Signer.
Result<crypto::PublicKey> OpenPkcs11PublicKey(const std::string& uri);

}  // namespace arca::signer

#endif  // ARCA_SIGNER_KEY_SOURCE_H_
