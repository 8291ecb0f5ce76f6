// The simulated TEE's fixed test keys (PKCS#8 PEM). Public by design: see
// sim_keys.cc. Never use them for anything but simulated evidence.
#ifndef ARCA_ATTEST_INTERNAL_SIM_KEYS_H_
#define ARCA_ATTEST_INTERNAL_SIM_KEYS_H_

namespace arca::attest::internal {

extern const char kSimArkKeyPem[];  // simulated ARK (RSA-4096)
extern const char kSimAskKeyPem[];  // simulated ASK (RSA-4096)
extern const char kSimVcekKeyPem[];  // simulated VCEK (EC P-384)
extern const char kSimAsvkKeyPem[];  // simulated ASVK (RSA-4096)
extern const char kSimVlekKeyPem[];  // simulated VLEK (EC P-384)
extern const char kSimIntelRootKeyPem[];  // simulated Intel SGX Root CA (EC P-256)
extern const char kSimPckCaKeyPem[];  // simulated PCK Platform CA (EC P-256)
extern const char kSimPckKeyPem[];  // simulated PCK (EC P-256)
extern const char kSimTcbSigningKeyPem[];  // simulated TCB Signing (EC P-256)

}  // namespace arca::attest::internal

#endif  // ARCA_ATTEST_INTERNAL_SIM_KEYS_H_
