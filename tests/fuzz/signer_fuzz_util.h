// Shared by the signer's fuzz targets: an invariant check that aborts, and a
// fixed Ed25519 key. tests/fuzz/make_signer_seed_corpus.py signs the seed
// documents with the same key (PKCS#8 of the same seed), so seeds carry
// signatures that verify and the fuzzer starts inside the verify path, not
// only at its first refusal. The key is public test material, not a secret.
#ifndef ARCA_TESTS_FUZZ_SIGNER_FUZZ_UTIL_H_
#define ARCA_TESTS_FUZZ_SIGNER_FUZZ_UTIL_H_

#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <memory>

#include "base/bytes.h"
#include "base/signature.h"
#include "base/status.h"
#include "base/time.h"
#include "signer/key_source.h"

namespace arca::fuzz {

// kFuzzKeySeed must match FUZZ_KEY_SEED in make_signer_seed_corpus.py.
inline constexpr std::uint8_t kFuzzKeySeedByte = 0xa7;

// kFuzzNow: expiry is judged at 2027-01-01T00:00:00Z (seeds expire later).
inline constexpr UnixSeconds kFuzzNow = 1798761600;

inline void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "signer fuzz invariant broken: %s\n", what);
    std::abort();
  }
}

// CheckError demands a refusal with one of `codes` and a message.
inline void CheckError(const Status& s, std::initializer_list<StatusCode> codes, const char* what) {
  bool known = false;
  for (StatusCode c : codes) known = known || s.code() == c;
  if (!known || s.message().empty()) {
    std::fprintf(stderr, "signer fuzz: %s: unexpected error %s\n", what, s.ToString().c_str());
    std::abort();
  }
}

// FuzzSigner is the fixed Ed25519 test key (thread-compatible, like every Signer).
inline signer::Signer& FuzzSigner() {
  static std::unique_ptr<signer::Signer> s =
      signer::MakeKeySigner(crypto::PrivateKey::FromRawEd25519Seed(Bytes(32, kFuzzKeySeedByte)).value());
  return *s;
}

}  // namespace arca::fuzz

#endif  // ARCA_TESTS_FUZZ_SIGNER_FUZZ_UTIL_H_
