// AES-256 secret keys on a PKCS#11 token, named by RFC 7512 URIs: the key
// broker's master key in an HSM (specs/key-release.md §2).
//
// The key never leaves the token: AES-256-GCM (CKM_AES_GCM with
// CK_GCM_PARAMS, PKCS#11 v2.40 Current Mechanisms, "AES-GCM") runs inside
// it, with a 96-bit nonce the caller chooses and a 128-bit tag. The module is loaded, initialised and shared
// exactly as for signing keys (signer/key_source.h, OpenPkcs11Signer): one
// loader per process for both.
//
// What this protects: a copy of what the key encrypted is useless without
// the token and its PIN. What it does not: anyone who can log in to the
// token can decrypt; the PIN in a URI is as secret as the file holding it.
#ifndef ARCA_SIGNER_PKCS11_AES_H_
#define ARCA_SIGNER_PKCS11_AES_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "base/bytes.h"
#include "base/status.h"

namespace arca::signer {

// kPkcs11GcmTagSize is the tag length the GCM operations use (bytes).
inline constexpr std::size_t kPkcs11GcmTagSize = 16;

// Pkcs11AesKey is an open AES-256 secret key object on a token. Thread-safe
// (operations on its one session are serialised).
class Pkcs11AesKey {
 public:
  virtual ~Pkcs11AesKey() = default;
  // GcmSeal returns ciphertext || 16-byte tag of `plaintext` under a
  // 12-byte `nonce` (never reuse one with this key) and `aad`.
  // InvalidArgument for a nonce of another size; Unavailable when the
  // token is gone; Internal on module failure.
  virtual Result<Bytes> GcmSeal(ByteSpan nonce, ByteSpan aad, ByteSpan plaintext) = 0;
  // GcmOpen checks the tag and writes the plaintext (sealed.size() - 16
  // bytes) to `out`, which must be exactly that size; nothing is written
  // when the tag does not verify (Unauthenticated). Other codes as GcmSeal.
  virtual Status GcmOpen(ByteSpan nonce, ByteSpan aad, ByteSpan sealed, std::span<std::uint8_t> out) = 0;
  // description is the URI without its PIN and the token label, for
  // messages.
  virtual const std::string& description() const = 0;
};

// OpenPkcs11AesKey finds the one secret key object the URI's path
// attributes match (token, object, id, type=secret-key or no type; module
// and PIN as OpenPkcs11Signer), logs in (a PIN is required when the token
// says so) and checks it is CKK_AES of 32 bytes (CKA_VALUE_LEN) allowing
// encryption and decryption, on a token that offers CKM_AES_GCM.
// Codes: InvalidArgument for a malformed URI or a URI naming another
// class; NotFound when no token or key matches; FailedPrecondition when
// several match, the key is not AES-256, forbids CKA_ENCRYPT/CKA_DECRYPT,
// or the token lacks CKM_AES_GCM; Unauthenticated for a wrong or missing
// PIN; Unavailable when the module cannot load or the token is gone.
// Messages never carry the PIN.
Result<std::unique_ptr<Pkcs11AesKey>> OpenPkcs11AesKey(const std::string& uri);

// CreatePkcs11AesKey generates an AES-256 key on the token
// (CKM_AES_KEY_GEN) labelled with the URI's object= (required) and with its
// id= if given: a token object, private, sensitive, never extractable,
// allowed to encrypt and decrypt only. AlreadyExists when a secret key
// with that label (and id) is there already; other codes as
// OpenPkcs11AesKey.
Status CreatePkcs11AesKey(const std::string& uri);

}  // namespace arca::signer

#endif  // ARCA_SIGNER_PKCS11_AES_H_
