#include "attest/internal/der.h"

#include <cstdio>

namespace arca::attest::internal {

Result<DerTlv> DerReader::Next() {
  if (in_.size() - pos_ < 2) return InvalidArgumentError("DER: truncated element header at offset " + std::to_string(pos_));
  DerTlv tlv;
  tlv.tag = in_[pos_++];
  if ((tlv.tag & 0x1f) == 0x1f) return InvalidArgumentError("DER: multi-byte tag at offset " + std::to_string(pos_ - 1));
  std::size_t len = in_[pos_++];
  if (len & 0x80) {
    std::size_t n = len & 0x7f;
    if (n == 0 || n > 4) return InvalidArgumentError("DER: indefinite or oversized length at offset " + std::to_string(pos_ - 1));
    if (in_.size() - pos_ < n) return InvalidArgumentError("DER: truncated length");
    if (in_[pos_] == 0) return InvalidArgumentError("DER: non-minimal length");
    len = 0;
    for (std::size_t i = 0; i < n; ++i) len = (len << 8) | in_[pos_++];
    if (len < 0x80) return InvalidArgumentError("DER: non-minimal length");
  }
  if (in_.size() - pos_ < len) {
    return InvalidArgumentError("DER: element at offset " + std::to_string(pos_) + " declares " + std::to_string(len) +
                                " bytes, " + std::to_string(in_.size() - pos_) + " remain");
  }
  tlv.value = in_.subspan(pos_, len);
  pos_ += len;
  return tlv;
}

Result<ByteSpan> DerReader::Expect(std::uint8_t tag, std::string_view what) {
  ARCA_ASSIGN_OR_RETURN(DerTlv tlv, Next());
  if (tlv.tag != tag) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "DER %.40s: expected tag 0x%02x, got 0x%02x", std::string(what).c_str(), tag, tlv.tag);
    return InvalidArgumentError(buf);
  }
  return tlv.value;
}

Result<std::string> DerOidToText(ByteSpan c) {
  if (c.empty() || (c.back() & 0x80)) return InvalidArgumentError("DER: malformed OBJECT IDENTIFIER");
  std::string out;
  std::uint64_t v = 0;
  bool first = true;
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (v == 0 && c[i] == 0x80) return InvalidArgumentError("DER: non-minimal OBJECT IDENTIFIER arc");
    if (v > (UINT64_MAX >> 7)) return InvalidArgumentError("DER: OBJECT IDENTIFIER arc too large");
    v = (v << 7) | (c[i] & 0x7f);
    if (c[i] & 0x80) continue;
    if (first) {
      std::uint64_t a = v < 80 ? v / 40 : 2;
      out = std::to_string(a) + "." + std::to_string(v - a * 40);
      first = false;
    } else {
      out += "." + std::to_string(v);
    }
    v = 0;
  }
  return out;
}

Result<std::uint32_t> DerSmallUint(ByteSpan c, std::string_view what) {
  std::string w(what);
  if (c.empty()) return InvalidArgumentError(w + ": empty INTEGER");
  if (c[0] & 0x80) return InvalidArgumentError(w + ": negative INTEGER");
  if (c.size() > 1 && c[0] == 0 && !(c[1] & 0x80)) return InvalidArgumentError(w + ": non-minimal INTEGER");
  std::size_t start = c[0] == 0 ? 1 : 0;
  if (c.size() - start > 4) return InvalidArgumentError(w + ": INTEGER above 2^32");
  std::uint32_t v = 0;
  for (std::size_t i = start; i < c.size(); ++i) v = (v << 8) | c[i];
  return v;
}

Bytes DerEncode(std::uint8_t tag, ByteSpan contents) {
  Bytes out{tag};
  std::size_t n = contents.size();
  if (n < 0x80) {
    out.push_back(std::uint8_t(n));
  } else {
    Bytes len;
    for (std::size_t m = n; m; m >>= 8) len.insert(len.begin(), std::uint8_t(m));
    out.push_back(std::uint8_t(0x80 | len.size()));
    out.insert(out.end(), len.begin(), len.end());
  }
  out.insert(out.end(), contents.begin(), contents.end());
  return out;
}

Bytes DerUnsignedInteger(ByteSpan magnitude) {
  std::size_t i = 0;
  while (i + 1 < magnitude.size() && magnitude[i] == 0) ++i;
  Bytes v;
  if (magnitude.empty()) v.push_back(0);
  else {
    if (magnitude[i] & 0x80) v.push_back(0);
    v.insert(v.end(), magnitude.begin() + i, magnitude.end());
  }
  return DerEncode(0x02, v);
}

Bytes RsaSpkiFromModulus(ByteSpan n, ByteSpan e) {
  static const std::uint8_t kAlg[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                      0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
  Bytes ints = DerUnsignedInteger(n);
  Bytes ei = DerUnsignedInteger(e);
  ints.insert(ints.end(), ei.begin(), ei.end());
  Bytes rsa_key = DerEncode(0x30, ints);
  Bytes bits{0x00};
  bits.insert(bits.end(), rsa_key.begin(), rsa_key.end());
  Bytes body(std::begin(kAlg), std::end(kAlg));
  Bytes bs = DerEncode(0x03, bits);
  body.insert(body.end(), bs.begin(), bs.end());
  return DerEncode(0x30, body);
}

}  // namespace arca::attest::internal
