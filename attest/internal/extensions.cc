#include "attest/internal/extensions.h"

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <cstdlib>

#include "attest/internal/der.h"
#include "attest/internal/x509.h"

namespace arca::attest::internal {

Result<VcekExtensions> ReadVcekExtensions(const X509* cert) {
  VcekExtensions v;
  int n = X509_get_ext_count(cert);
  for (int i = 0; i < n; ++i) {
    X509_EXTENSION* ext = X509_get_ext(cert, i);
    char oid[80];
    if (OBJ_obj2txt(oid, sizeof oid, X509_EXTENSION_get_object(ext), 1) <= 0) continue;
    std::string o(oid);
    const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
    ByteSpan value(ASN1_STRING_get0_data(data), std::size_t(ASN1_STRING_length(data)));
    const std::string prefix = "1.3.6.1.4.1.3704.1.";
    if (o.rfind(prefix, 0) != 0) continue;
    std::string sub = o.substr(prefix.size());
    auto integer = [&](int* out) -> Status {
      DerReader r(value);
      ARCA_ASSIGN_OR_RETURN(ByteSpan c, r.Expect(0x02, "VCEK extension " + o));
      if (!r.done()) return InvalidArgumentError("VCEK extension " + o + ": trailing bytes");
      ARCA_ASSIGN_OR_RETURN(std::uint32_t u, DerSmallUint(c, "VCEK extension " + o));
      if (u > 255) return InvalidArgumentError("VCEK extension " + o + ": SPL above 255");
      *out = int(u);
      v.has_tcb = true;
      return Status::Ok();
    };
    if (sub == "2") {
      DerReader r(value);
      auto t = r.Next();
      if (t.ok()) v.product_name = Printable(ToString(t->value));
    } else if (sub == "3.1") {
      ARCA_RETURN_IF_ERROR(integer(&v.bl));
    } else if (sub == "3.2") {
      ARCA_RETURN_IF_ERROR(integer(&v.tee));
    } else if (sub == "3.3") {
      ARCA_RETURN_IF_ERROR(integer(&v.snp));
    } else if (sub == "3.8") {
      ARCA_RETURN_IF_ERROR(integer(&v.ucode));
    } else if (sub == "3.9") {
      ARCA_RETURN_IF_ERROR(integer(&v.fmc));
    } else if (sub == "4") {
      // hwID is the raw 64-byte CHIP_ID, not wrapped in an OCTET STRING.
      v.hwid.assign(value.begin(), value.end());
      v.has_hwid = true;
    }
  }
  return v;
}

Result<PckExtensions> ReadPckExtensions(const X509* cert) {
  int idx = -1;
  for (int i = 0; i < X509_get_ext_count(cert); ++i) {
    char oid[80];
    if (OBJ_obj2txt(oid, sizeof oid, X509_EXTENSION_get_object(X509_get_ext(cert, i)), 1) > 0 &&
        std::string(oid) == "1.2.840.113741.1.13.1") {
      idx = i;
    }
  }
  if (idx < 0) return InvalidArgumentError("PCK certificate: no SGX extension 1.2.840.113741.1.13.1");
  const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(X509_get_ext(cert, idx));
  ByteSpan value(ASN1_STRING_get0_data(data), std::size_t(ASN1_STRING_length(data)));
  DerReader outer(value);
  ARCA_ASSIGN_OR_RETURN(ByteSpan seq, outer.Expect(0x30, "SGX extension"));
  PckExtensions x;
  x.comp_svn.fill(-1);
  DerReader items(seq);
  while (!items.done()) {
    ARCA_ASSIGN_OR_RETURN(ByteSpan item, items.Expect(0x30, "SGX extension item"));
    DerReader ir(item);
    ARCA_ASSIGN_OR_RETURN(ByteSpan oid_c, ir.Expect(0x06, "SGX extension OID"));
    ARCA_ASSIGN_OR_RETURN(std::string oid, DerOidToText(oid_c));
    ARCA_ASSIGN_OR_RETURN(DerTlv val, ir.Next());
    if (oid == "1.2.840.113741.1.13.1.2") {
      DerReader tr(val.value);
      while (!tr.done()) {
        ARCA_ASSIGN_OR_RETURN(ByteSpan t, tr.Expect(0x30, "SGX TCB item"));
        DerReader tir(t);
        ARCA_ASSIGN_OR_RETURN(ByteSpan toid_c, tir.Expect(0x06, "SGX TCB OID"));
        ARCA_ASSIGN_OR_RETURN(std::string toid, DerOidToText(toid_c));
        ARCA_ASSIGN_OR_RETURN(DerTlv tv, tir.Next());
        const std::string p = "1.2.840.113741.1.13.1.2.";
        if (toid.rfind(p, 0) != 0) continue;
        int n = std::atoi(toid.c_str() + p.size());
        if (n >= 1 && n <= 16) {
          ARCA_ASSIGN_OR_RETURN(std::uint32_t svn, DerSmallUint(tv.value, "PCK TCB component"));
          x.comp_svn[n - 1] = int(svn);
        } else if (n == 17) {
          ARCA_ASSIGN_OR_RETURN(std::uint32_t svn, DerSmallUint(tv.value, "PCK PCESVN"));
          x.pcesvn = int(svn);
        } else if (n == 18) {
          x.cpusvn.assign(tv.value.begin(), tv.value.end());
        }
      }
    } else if (oid == "1.2.840.113741.1.13.1.3") {
      x.pceid.assign(val.value.begin(), val.value.end());
    } else if (oid == "1.2.840.113741.1.13.1.4") {
      x.fmspc.assign(val.value.begin(), val.value.end());
    }
  }
  for (int i = 0; i < 16; ++i)
    if (x.comp_svn[i] < 0) return InvalidArgumentError("PCK certificate: SGX TCB component " + std::to_string(i + 1) + " missing");
  if (x.pcesvn < 0) return InvalidArgumentError("PCK certificate: PCESVN missing");
  if (x.fmspc.size() != 6) return InvalidArgumentError("PCK certificate: FMSPC expected 6 bytes, got " + std::to_string(x.fmspc.size()));
  return x;
}

}  // namespace arca::attest::internal
