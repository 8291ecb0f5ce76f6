// PKCS#11 signing (RFC 7512 URIs). Being implemented; until then every call
// reports Unimplemented-as-Unavailable so file keys work meanwhile.
#include "signer/key_source.h"

namespace arca::signer {

Result<std::unique_ptr<Signer>> OpenPkcs11Signer(const std::string& uri) {
  return UnavailableError("PKCS#11 keys are not supported by this build yet");
}

Result<crypto::PublicKey> OpenPkcs11PublicKey(const std::string& uri) {
  return UnavailableError("PKCS#11 keys are not supported by this build yet");
}

}  // namespace arca::signer
