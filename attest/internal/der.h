// A minimal strict DER reader and writer for the few structures attestation
// needs beyond OpenSSL's certificate parser: AMD VCEK extension values (an
// INTEGER or raw bytes), the Intel PCK SGX extension (a SEQUENCE of
// {OID, value} pairs), and RSA SubjectPublicKeyInfo built from a JWK.
//
// The reader accepts single-byte tags and definite lengths in minimal form
// only; anything else is InvalidArgument, so one value has one encoding.
#ifndef ARCA_ATTEST_INTERNAL_DER_H_
#define ARCA_ATTEST_INTERNAL_DER_H_

#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/status.h"

namespace arca::attest::internal {

// DerTlv is one parsed element: its tag byte and a view of its contents.
struct DerTlv {
  std::uint8_t tag = 0;
  ByteSpan value;
};

// DerReader walks a sequence of TLVs in `input` (which must outlive it).
class DerReader {
 public:
  explicit DerReader(ByteSpan input) : in_(input) {}
  // done is true when every byte was consumed.
  bool done() const { return pos_ == in_.size(); }
  // Next reads one element; InvalidArgument on truncation, long-form tags,
  // indefinite or non-minimal lengths.
  Result<DerTlv> Next();
  // Expect reads one element and requires its tag.
  Result<ByteSpan> Expect(std::uint8_t tag, std::string_view what);

 private:
  ByteSpan in_;
  std::size_t pos_ = 0;
};

// DerOidToText decodes OBJECT IDENTIFIER contents to dotted text
// ("1.3.6.1.4.1.3704.1.3.1"); InvalidArgument when malformed.
Result<std::string> DerOidToText(ByteSpan contents);

// DerSmallUint decodes INTEGER contents that must be a non-negative value
// below 2^32 (SVNs, product ids).
Result<std::uint32_t> DerSmallUint(ByteSpan contents, std::string_view what);

// DerEncode wraps `contents` in a TLV with `tag`.
Bytes DerEncode(std::uint8_t tag, ByteSpan contents);

// DerUnsignedInteger encodes a big-endian magnitude as a DER INTEGER
// (leading zeros stripped, a 0x00 added when the top bit is set).
Bytes DerUnsignedInteger(ByteSpan magnitude);

// RsaSpkiFromModulus builds an rsaEncryption SubjectPublicKeyInfo from the
// big-endian modulus and exponent.
Bytes RsaSpkiFromModulus(ByteSpan n, ByteSpan e);

}  // namespace arca::attest::internal

#endif  // ARCA_ATTEST_INTERNAL_DER_H_
