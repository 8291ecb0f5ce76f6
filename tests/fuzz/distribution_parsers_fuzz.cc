// Fuzz target: the registry client's parsers of untrusted text. The first
// byte picks one: a reference (from the command line or a store), an upload
// Range header, an OCI error body, credentials.json, an upload record. Each
// must fail with InvalidArgument/ResourceExhausted or yield values that hold
// the grammar's promises (a repository with a namespace, a digest that is
// valid, a location that is http(s)). Aborts when a property is broken.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/bytes.h"
#include "base/status.h"
#include "distribution/config.h"
#include "distribution/registry_client.h"
#include "format/oci_layout.h"

namespace {

void Require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "distribution parser invariant broken: %s\n", what);
    std::abort();
  }
}

bool ParseError(const arca::Status& s) {
  return s.code() == arca::StatusCode::kInvalidArgument || s.code() == arca::StatusCode::kResourceExhausted;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace arca;
  using namespace arca::distribution;
  if (size == 0) return 0;
  const std::uint8_t which = data[0] % 5;
  ByteSpan body(data + 1, size - 1);
  std::string text = ToString(body);
  switch (which) {
    case 0: {
      auto r = ParseReference(text);
      if (!r.ok()) {
        Require(ParseError(r.status()), "ParseReference error code");
        return 0;
      }
      Require(r->tag.empty() != r->digest.empty(), "exactly one of tag and digest");
      Require(r->digest.empty() || format::IsValidDigest(r->digest), "digest accepted but invalid");
      Require(r->repository.find('/') != std::string::npos, "repository without a namespace");
      Require(r->repository.find("..") == std::string::npos, "path traversal in a repository");
      auto again = ParseReference(r->ToString());
      Require(again.ok() && again->ToString() == r->ToString(), "ToString does not round-trip");
      break;
    }
    case 1: {
      auto n = ParseRangeHeader(text);
      if (n.ok()) Require(*n >= 1, "a range holds at least one byte");
      else Require(ParseError(n.status()), "ParseRangeHeader error code");
      break;
    }
    case 2: {
      auto errors = ParseOciErrors(body);
      Require(errors.size() <= 16, "error list bounded");
      for (const auto& e : errors) Require(e.code.size() <= 512 && e.message.size() <= 512 && e.detail.size() <= 512, "strings bounded");
      break;
    }
    case 3: {
      auto c = ParseCredentials(body);
      if (!c.ok()) Require(ParseError(c.status()), "ParseCredentials error code");
      else for (const auto& [k, v] : *c) Require(!v.empty() && v.find(' ') == std::string::npos, "token shape");
      break;
    }
    case 4: {
      auto u = ParseUploadRecord(body);
      if (!u.ok()) {
        Require(ParseError(u.status()), "ParseUploadRecord error code");
      } else {
        Require(format::IsValidDigest(u->digest), "record digest");
        Require(u->location.rfind("http://", 0) == 0 || u->location.rfind("https://", 0) == 0, "record location scheme");
      }
      break;
    }
  }
  return 0;
}
