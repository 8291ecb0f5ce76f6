#include "tlog/note.h"

#include <algorithm>
#include <cstring>

#include "base/crypto.h"
#include "tlog/text.h"

namespace arca::tlog {
namespace {

constexpr std::string_view kEmDashSpace = "\xE2\x80\x94 ";  // U+2014, U+0020
constexpr std::size_t kEd25519Size = 32;
constexpr std::size_t kEd25519SigSize = 64;
constexpr std::string_view kPrivateKeyPrefix = "PRIVATE+KEY+";

std::string Num(std::uint64_t v) { return std::to_string(v); }

// DecodeUtf8 reads one code point at s[i]; returns its length or 0 when the
// bytes are not shortest-form UTF-8 of a scalar value (RFC 3629 §4).
std::size_t DecodeUtf8(std::string_view s, std::size_t i, std::uint32_t* cp) {
  const auto b = [&](std::size_t k) { return static_cast<std::uint8_t>(s[i + k]); };
  const std::uint8_t c = b(0);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  std::size_t n;
  std::uint32_t v, min;
  if ((c & 0xE0) == 0xC0) {
    n = 2, v = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3, v = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4, v = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    v = (v << 6) | (b(k) & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return n;
}

// IsUnicodeSpace is the Unicode White_Space property.
bool IsUnicodeSpace(std::uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

// CheckText: valid UTF-8, no control characters other than newline.
Status CheckText(std::string_view s, std::string_view what) {
  for (std::size_t i = 0; i < s.size();) {
    std::uint32_t cp = 0;
    const std::size_t n = DecodeUtf8(s, i, &cp);
    if (n == 0) return InvalidArgumentError(std::string(what) + ": invalid UTF-8 at byte " + Num(i));
    if (cp < 0x20 && cp != '\n') {
      return InvalidArgumentError(std::string(what) + ": control character at byte " + Num(i));
    }
    i += n;
  }
  return Status::Ok();
}

std::string KeyIdHex(std::uint32_t id) {
  const std::uint8_t be[4] = {std::uint8_t(id >> 24), std::uint8_t(id >> 16), std::uint8_t(id >> 8), std::uint8_t(id)};
  return HexEncode(ByteSpan(be, 4));
}

Result<std::uint32_t> ParseKeyIdHex(std::string_view hex, std::string_view what) {
  if (!IsLowerHex(hex, 8)) return InvalidArgumentError(std::string(what) + ": key ID is not 8 lower-case hex digits");
  auto b = HexDecode(hex);
  if (!b.ok()) return b.status();
  return std::uint32_t((*b)[0]) << 24 | std::uint32_t((*b)[1]) << 16 | std::uint32_t((*b)[2]) << 8 | (*b)[3];
}

Result<NoteSignatureType> TypeFromByte(std::uint8_t b, std::string_view what) {
  switch (b) {
    case 0x01: return NoteSignatureType::kEd25519;
    case 0x04: return NoteSignatureType::kCosignatureV1;
    default:
      return InvalidArgumentError(std::string(what) + ": signature type 0x" + HexEncode(ByteSpan(&b, 1)) +
                                  " is not supported (0x01 Ed25519, 0x04 cosignature v1)");
  }
}

std::string Describe(const std::string& name, std::uint32_t key_id) { return name + "+" + KeyIdHex(key_id); }

}  // namespace

bool IsValidKeyName(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size();) {
    std::uint32_t cp = 0;
    const std::size_t n = DecodeUtf8(name, i, &cp);
    if (n == 0 || cp < 0x20 || cp == 0x7F || cp == '+' || IsUnicodeSpace(cp)) return false;
    i += n;
  }
  return true;
}

Result<Note> ParseNote(std::string_view message, const NoteLimits& limits) {
  if (message.size() > limits.max_bytes) {
    return ResourceExhaustedError("note: " + Num(message.size()) + " bytes, more than the limit of " +
                                  Num(limits.max_bytes));
  }
  ARCA_RETURN_IF_ERROR(CheckText(message, "note"));
  if (message.empty() || message.back() != '\n') return InvalidArgumentError("note: does not end in a newline");
  // The text ends at the last blank line (signed-note §Format).
  const std::size_t split = message.rfind("\n\n");
  if (split == std::string_view::npos) return InvalidArgumentError("note: no blank line before the signatures");
  Note note;
  note.text = std::string(message.substr(0, split + 1));
  const std::size_t text_lines = std::count(note.text.begin(), note.text.end(), '\n');
  if (text_lines > limits.max_text_lines) {
    return ResourceExhaustedError("note: text has " + Num(text_lines) + " lines, more than the limit of " +
                                  Num(limits.max_text_lines));
  }
  std::string_view rest = message.substr(split + 2);
  if (rest.empty()) return InvalidArgumentError("note: no signature lines");
  std::size_t line_no = text_lines + 2;
  while (!rest.empty()) {
    const std::size_t nl = rest.find('\n');  // present: the note ends in '\n'
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    const std::string where = "note line " + Num(line_no++);
    if (note.signatures.size() == limits.max_signatures) {
      return ResourceExhaustedError("note: more than " + Num(limits.max_signatures) + " signatures");
    }
    if (line.substr(0, kEmDashSpace.size()) != kEmDashSpace) {
      return InvalidArgumentError(where + ": signature line does not start with an em dash and a space");
    }
    line.remove_prefix(kEmDashSpace.size());
    const std::size_t space = line.find(' ');
    if (space == std::string_view::npos) return InvalidArgumentError(where + ": no space after the key name");
    const std::string_view name = line.substr(0, space);
    if (!IsValidKeyName(name)) return InvalidArgumentError(where + ": invalid key name");
    ARCA_ASSIGN_OR_RETURN(Bytes sig, DecodeCanonicalBase64(line.substr(space + 1), where + " signature"));
    if (sig.size() < 5) return InvalidArgumentError(where + ": signature shorter than a key ID and one byte");
    NoteSignature s;
    s.name = std::string(name);
    s.key_id = std::uint32_t(sig[0]) << 24 | std::uint32_t(sig[1]) << 16 | std::uint32_t(sig[2]) << 8 | sig[3];
    s.signature.assign(sig.begin() + 4, sig.end());
    note.signatures.push_back(std::move(s));
  }
  return note;
}

Result<std::string> SerializeNote(const Note& note, const NoteLimits& limits) {
  std::string out = note.text;
  out += '\n';
  for (const NoteSignature& s : note.signatures) {
    Bytes sig = {std::uint8_t(s.key_id >> 24), std::uint8_t(s.key_id >> 16), std::uint8_t(s.key_id >> 8),
                 std::uint8_t(s.key_id)};
    sig.insert(sig.end(), s.signature.begin(), s.signature.end());
    out += kEmDashSpace;
    out += s.name;
    out += ' ';
    out += Base64Encode(sig);
    out += '\n';
  }
  // The serialized form must parse back to exactly this note: a text that
  // ends in a blank line or holds a "\n\n— ..." tail would not.
  ARCA_ASSIGN_OR_RETURN(Note back, ParseNote(out, limits));
  if (back.text != note.text || back.signatures != note.signatures) {
    return InvalidArgumentError("note: text or signatures would not parse back unchanged");
  }
  return out;
}

std::uint32_t NoteKeyId(std::string_view name, NoteSignatureType type, ByteSpan public_key) {
  crypto::Sha256 h;
  h.Update(AsBytes(name));
  const std::uint8_t sep[2] = {0x0A, static_cast<std::uint8_t>(type)};
  h.Update(ByteSpan(sep, 2));
  h.Update(public_key);
  const auto d = h.Finish();
  return std::uint32_t(d[0]) << 24 | std::uint32_t(d[1]) << 16 | std::uint32_t(d[2]) << 8 | d[3];
}

std::string CosignatureV1Message(std::string_view checkpoint_text, std::uint64_t timestamp) {
  std::string m = "cosignature/v1\ntime " + Num(timestamp) + "\n";
  m += checkpoint_text;
  return m;
}

Result<NoteVerifier> NoteVerifier::Parse(std::string_view vkey) {
  const std::size_t p1 = vkey.find('+');
  const std::size_t p2 = p1 == std::string_view::npos ? p1 : vkey.find('+', p1 + 1);
  if (p2 == std::string_view::npos) {  // the base64 key itself may hold '+'
    return InvalidArgumentError("verifier key: want <name>+<key ID>+<key>");
  }
  const std::string_view name = vkey.substr(0, p1);
  if (!IsValidKeyName(name)) return InvalidArgumentError("verifier key: invalid key name");
  ARCA_ASSIGN_OR_RETURN(std::uint32_t id, ParseKeyIdHex(vkey.substr(p1 + 1, p2 - p1 - 1), "verifier key"));
  ARCA_ASSIGN_OR_RETURN(Bytes key, DecodeCanonicalBase64(vkey.substr(p2 + 1), "verifier key"));
  if (key.empty()) return InvalidArgumentError("verifier key: empty key");
  ARCA_ASSIGN_OR_RETURN(NoteSignatureType type, TypeFromByte(key[0], "verifier key " + std::string(name)));
  if (key.size() != 1 + kEd25519Size) {
    return InvalidArgumentError("verifier key " + std::string(name) + ": Ed25519 key is " + Num(key.size() - 1) +
                                " bytes, want 32");
  }
  ARCA_ASSIGN_OR_RETURN(crypto::PublicKey pk, crypto::PublicKey::FromRawEd25519(ByteSpan(key).subspan(1)));
  if (NoteKeyId(name, type, pk.RawBytes()) != id) {
    return InvalidArgumentError("verifier key " + std::string(name) + ": key ID " + KeyIdHex(id) +
                                " does not match the key");
  }
  return NoteVerifier(std::string(name), type, std::move(pk), id);
}

Result<NoteVerifier> NoteVerifier::FromPublicKey(std::string_view name, NoteSignatureType type,
                                                 const crypto::PublicKey& key) {
  if (!IsValidKeyName(name)) return InvalidArgumentError("verifier key: invalid key name");
  if (key.type() != crypto::KeyType::kEd25519) {
    return InvalidArgumentError("verifier key " + std::string(name) + ": only Ed25519 keys are supported");
  }
  return NoteVerifier(std::string(name), type, key, NoteKeyId(name, type, key.RawBytes()));
}

std::string NoteVerifier::ToString() const {
  Bytes k{static_cast<std::uint8_t>(type_)};
  k.insert(k.end(), key_.RawBytes().begin(), key_.RawBytes().end());
  return name_ + "+" + KeyIdHex(key_id_) + "+" + Base64Encode(k);
}

Result<VerifiedSignature> NoteVerifier::Verify(std::string_view text, ByteSpan signature) const {
  const std::string who = Describe(name_, key_id_);
  VerifiedSignature v{name_, key_id_, type_, std::nullopt};
  if (type_ == NoteSignatureType::kEd25519) {
    if (signature.size() != kEd25519SigSize) {
      return UnauthenticatedError("bad-signature: signature by " + who + " is " + Num(signature.size()) +
                                  " bytes, want 64");
    }
    if (!key_.Verify(AsBytes(text), signature).ok()) {
      return UnauthenticatedError("bad-signature: signature by " + who + " does not verify");
    }
    return v;
  }
  // tlog-cosignature v1: struct { u64 timestamp; u8 signature[64]; }.
  if (signature.size() != 8 + kEd25519SigSize) {
    return UnauthenticatedError("bad-signature: cosignature by " + who + " is " + Num(signature.size()) +
                                " bytes, want 72");
  }
  std::uint64_t t = 0;
  for (int i = 0; i < 8; ++i) t = (t << 8) | signature[i];
  if (t > kMaxCosignatureTime) return UnauthenticatedError("bad-signature: cosignature by " + who + " has a time past 2^63");
  const std::string msg = CosignatureV1Message(text, t);
  if (!key_.Verify(AsBytes(msg), signature.subspan(8)).ok()) {
    return UnauthenticatedError("bad-signature: cosignature by " + who + " does not verify");
  }
  v.timestamp = static_cast<UnixSeconds>(t);
  return v;
}

Result<NoteSigner> NoteSigner::FromSeed(std::string_view name, NoteSignatureType type, ByteSpan seed) {
  if (seed.size() != kEd25519Size) return InvalidArgumentError("signer key: seed is not 32 bytes");
  ARCA_ASSIGN_OR_RETURN(crypto::PrivateKey key, crypto::PrivateKey::FromRawEd25519Seed(seed));
  ARCA_ASSIGN_OR_RETURN(NoteVerifier verifier, NoteVerifier::FromPublicKey(name, type, key.public_key()));
  return NoteSigner(SecretBytes::CopyFrom(seed), std::move(key), std::move(verifier));
}

Result<NoteSigner> NoteSigner::Generate(std::string_view name, NoteSignatureType type) {
  SecretBytes seed(kEd25519Size);
  crypto::RandomBytes(seed.ExposeMutable());
  return FromSeed(name, type, seed.Expose());
}

Result<NoteSigner> NoteSigner::Parse(std::string_view skey) {
  if (skey.substr(0, kPrivateKeyPrefix.size()) != kPrivateKeyPrefix) {
    return InvalidArgumentError("signer key: does not start with PRIVATE+KEY+");
  }
  std::string_view rest = skey.substr(kPrivateKeyPrefix.size());
  const std::size_t p1 = rest.find('+');
  const std::size_t p2 = p1 == std::string_view::npos ? p1 : rest.find('+', p1 + 1);
  if (p2 == std::string_view::npos) {  // the base64 key itself may hold '+'
    return InvalidArgumentError("signer key: want PRIVATE+KEY+<name>+<key ID>+<key>");
  }
  const std::string_view name = rest.substr(0, p1);
  if (!IsValidKeyName(name)) return InvalidArgumentError("signer key: invalid key name");
  ARCA_ASSIGN_OR_RETURN(std::uint32_t id, ParseKeyIdHex(rest.substr(p1 + 1, p2 - p1 - 1), "signer key"));
  auto decoded = Base64Decode(rest.substr(p2 + 1));
  if (!decoded.ok()) return InvalidArgumentError("signer key " + std::string(name) + ": key is not base64");
  SecretBytes key = SecretBytes::CopyFrom(*decoded);
  std::fill(decoded->begin(), decoded->end(), 0);
  if (key.size() != 1 + kEd25519Size) {
    return InvalidArgumentError("signer key " + std::string(name) + ": key is not a type byte and a 32-byte seed");
  }
  ARCA_ASSIGN_OR_RETURN(NoteSignatureType type, TypeFromByte(key.Expose()[0], "signer key " + std::string(name)));
  ARCA_ASSIGN_OR_RETURN(NoteSigner signer, FromSeed(name, type, key.Expose().subspan(1)));
  if (signer.verifier().key_id() != id) {
    return InvalidArgumentError("signer key " + std::string(name) + ": key ID " + KeyIdHex(id) +
                                " does not match the key");
  }
  if (std::string_view(reinterpret_cast<const char*>(signer.ToSecretString().Expose().data()),
                       signer.ToSecretString().size()) != skey) {
    return InvalidArgumentError("signer key " + std::string(name) + ": not canonical standard padded base64");
  }
  return signer;
}

SecretBytes NoteSigner::ToSecretString() const {
  const std::string head = std::string(kPrivateKeyPrefix) + verifier_.name() + "+" + KeyIdHex(verifier_.key_id()) + "+";
  SecretBytes raw(1 + kEd25519Size);
  raw.ExposeMutable()[0] = static_cast<std::uint8_t>(verifier_.type());
  std::copy(seed_.Expose().begin(), seed_.Expose().end(), raw.ExposeMutable().begin() + 1);
  std::string b64 = Base64Encode(raw.Expose());
  SecretBytes out(head.size() + b64.size());
  std::memcpy(out.ExposeMutable().data(), head.data(), head.size());
  std::memcpy(out.ExposeMutable().data() + head.size(), b64.data(), b64.size());
  std::fill(b64.begin(), b64.end(), '\0');
  return out;
}

Result<NoteSignature> NoteSigner::Sign(std::string_view text) const {
  if (verifier_.type() != NoteSignatureType::kEd25519) {
    return FailedPreconditionError("signer " + verifier_.name() + " is a cosignature key; use Cosign");
  }
  ARCA_ASSIGN_OR_RETURN(Bytes sig, key_.Sign(AsBytes(text)));
  return NoteSignature{verifier_.name(), verifier_.key_id(), std::move(sig)};
}

Result<NoteSignature> NoteSigner::Cosign(std::string_view checkpoint_text, std::uint64_t timestamp) const {
  if (verifier_.type() != NoteSignatureType::kCosignatureV1) {
    return FailedPreconditionError("signer " + verifier_.name() + " is not a cosignature key");
  }
  if (timestamp > kMaxCosignatureTime) return InvalidArgumentError("cosignature: time past 2^63");
  ARCA_ASSIGN_OR_RETURN(Bytes sig, key_.Sign(AsBytes(CosignatureV1Message(checkpoint_text, timestamp))));
  Bytes out(8);
  for (int i = 0; i < 8; ++i) out[i] = std::uint8_t(timestamp >> (56 - 8 * i));
  out.insert(out.end(), sig.begin(), sig.end());
  return NoteSignature{verifier_.name(), verifier_.key_id(), std::move(out)};
}

Result<NoteVerification> VerifyNote(const Note& note, std::span<const NoteVerifier> known) {
  NoteVerification result;
  for (const NoteSignature& s : note.signatures) {
    const auto it = std::find_if(known.begin(), known.end(), [&](const NoteVerifier& v) {
      return v.name() == s.name && v.key_id() == s.key_id;
    });
    if (it == known.end()) {
      ++result.unknown;
      continue;
    }
    for (const VerifiedSignature& seen : result.verified) {
      if (seen.name == s.name && seen.key_id == s.key_id) {
        return InvalidArgumentError("note: two signatures by " + Describe(s.name, s.key_id));
      }
    }
    ARCA_ASSIGN_OR_RETURN(VerifiedSignature v, it->Verify(note.text, s.signature));
    result.verified.push_back(std::move(v));
  }
  if (result.verified.empty()) {
    return UnauthenticatedError("unknown-key: no signature from a trusted key (" + Num(result.unknown) +
                                " from unknown keys)");
  }
  return result;
}

Result<NoteVerification> OpenNote(std::string_view message, std::span<const NoteVerifier> known,
                                  const NoteLimits& limits) {
  ARCA_ASSIGN_OR_RETURN(Note note, ParseNote(message, limits));
  return VerifyNote(note, known);
}

Result<NoteVerifier> ReadVerifierKeyFile(FileSystem& fs, const std::string& path, NoteSignatureType type) {
  auto bytes = ReadFileBounded(fs, path, 4096);
  if (!bytes.ok()) return bytes.status().WithContext(path);
  std::string text(bytes->begin(), bytes->end());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  auto key = NoteVerifier::Parse(text);
  if (!key.ok()) return key.status().WithContext(path);
  if (key->type() != type) {
    return InvalidArgumentError(path + (type == NoteSignatureType::kEd25519
                                            ? " is not a log key (type 0x01, 'arca-registry log key' prints one)"
                                            : " is not a witness key (type 0x04, 'arca-registry witness key' prints one)"));
  }
  return key;
}

}  // namespace arca::tlog
