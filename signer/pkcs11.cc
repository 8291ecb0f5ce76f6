// PKCS#11 signing keys and AES secret keys (signer/pkcs11_aes.h) named by
// RFC 7512 URIs, through one module loader.
//
// p11-kit parses the URI and matches module, slot and token descriptions; the
// module itself is dlopen()ed directly (not through p11-kit's proxy or its
// system-wide module config), so the URI or ARCA_PKCS11_MODULE alone decides
// which code is loaded. Each module is initialised once per process and
// finalised when the last signer, AES key or lookup using it is gone.
//
// PKCS#11 v2.40 base specification: §5.4 (C_Initialize/C_Finalize), §5.6
// (sessions and login), §5.7 (object search), §5.8-5.9 (encryption and
// decryption), §5.11 (signing), §5.14 (key generation); v2.40 Current
// Mechanisms, "AES-GCM", for CKM_AES_GCM/CK_GCM_PARAMS; v3.0 §2.3.10 for
// CKK_EC_EDWARDS/CKM_EDDSA.
#include <dlfcn.h>
#include <openssl/crypto.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/crypto.h"
#include "base/file_system.h"
#include "signer/key_source.h"
#include "signer/pkcs11_aes.h"

namespace arca::signer {
namespace {

constexpr char kDefaultModulePath[] = "/usr/lib/softhsm/libsofthsm2.so";
constexpr std::uint64_t kMaxPinFileBytes = 1024;
// A token could claim any attribute length; nothing we read is near this.
constexpr CK_ULONG kMaxAttributeBytes = 64 * 1024;

// ---------------------------------------------------------------------------
// CK_RV names and codes.

std::string RvName(CK_RV rv) {
  switch (rv) {
#define ARCA_RV_(name) \
  case name:           \
    return #name;
    ARCA_RV_(CKR_OK)
    ARCA_RV_(CKR_CANCEL)
    ARCA_RV_(CKR_HOST_MEMORY)
    ARCA_RV_(CKR_SLOT_ID_INVALID)
    ARCA_RV_(CKR_GENERAL_ERROR)
    ARCA_RV_(CKR_FUNCTION_FAILED)
    ARCA_RV_(CKR_ARGUMENTS_BAD)
    ARCA_RV_(CKR_CANT_LOCK)
    ARCA_RV_(CKR_ATTRIBUTE_SENSITIVE)
    ARCA_RV_(CKR_ATTRIBUTE_TYPE_INVALID)
    ARCA_RV_(CKR_ATTRIBUTE_VALUE_INVALID)
    ARCA_RV_(CKR_DATA_INVALID)
    ARCA_RV_(CKR_DATA_LEN_RANGE)
    ARCA_RV_(CKR_ENCRYPTED_DATA_INVALID)
    ARCA_RV_(CKR_ENCRYPTED_DATA_LEN_RANGE)
    ARCA_RV_(CKR_DEVICE_ERROR)
    ARCA_RV_(CKR_DEVICE_MEMORY)
    ARCA_RV_(CKR_DEVICE_REMOVED)
    ARCA_RV_(CKR_FUNCTION_CANCELED)
    ARCA_RV_(CKR_FUNCTION_NOT_SUPPORTED)
    ARCA_RV_(CKR_KEY_HANDLE_INVALID)
    ARCA_RV_(CKR_KEY_SIZE_RANGE)
    ARCA_RV_(CKR_KEY_TYPE_INCONSISTENT)
    ARCA_RV_(CKR_KEY_FUNCTION_NOT_PERMITTED)
    ARCA_RV_(CKR_MECHANISM_INVALID)
    ARCA_RV_(CKR_MECHANISM_PARAM_INVALID)
    ARCA_RV_(CKR_OBJECT_HANDLE_INVALID)
    ARCA_RV_(CKR_OPERATION_ACTIVE)
    ARCA_RV_(CKR_OPERATION_NOT_INITIALIZED)
    ARCA_RV_(CKR_PIN_INCORRECT)
    ARCA_RV_(CKR_PIN_INVALID)
    ARCA_RV_(CKR_PIN_LEN_RANGE)
    ARCA_RV_(CKR_PIN_EXPIRED)
    ARCA_RV_(CKR_PIN_LOCKED)
    ARCA_RV_(CKR_SESSION_CLOSED)
    ARCA_RV_(CKR_SESSION_COUNT)
    ARCA_RV_(CKR_SESSION_HANDLE_INVALID)
    ARCA_RV_(CKR_SESSION_PARALLEL_NOT_SUPPORTED)
    ARCA_RV_(CKR_SESSION_READ_ONLY)
    ARCA_RV_(CKR_SESSION_EXISTS)
    ARCA_RV_(CKR_SIGNATURE_INVALID)
    ARCA_RV_(CKR_SIGNATURE_LEN_RANGE)
    ARCA_RV_(CKR_TEMPLATE_INCOMPLETE)
    ARCA_RV_(CKR_TEMPLATE_INCONSISTENT)
    ARCA_RV_(CKR_TOKEN_NOT_PRESENT)
    ARCA_RV_(CKR_TOKEN_NOT_RECOGNIZED)
    ARCA_RV_(CKR_USER_ALREADY_LOGGED_IN)
    ARCA_RV_(CKR_USER_NOT_LOGGED_IN)
    ARCA_RV_(CKR_USER_PIN_NOT_INITIALIZED)
    ARCA_RV_(CKR_USER_TYPE_INVALID)
    ARCA_RV_(CKR_USER_ANOTHER_ALREADY_LOGGED_IN)
    ARCA_RV_(CKR_DOMAIN_PARAMS_INVALID)
    ARCA_RV_(CKR_CURVE_NOT_SUPPORTED)
    ARCA_RV_(CKR_BUFFER_TOO_SMALL)
    ARCA_RV_(CKR_CRYPTOKI_NOT_INITIALIZED)
    ARCA_RV_(CKR_CRYPTOKI_ALREADY_INITIALIZED)
    ARCA_RV_(CKR_FUNCTION_REJECTED)
#undef ARCA_RV_
    default: {
      char hex[2 + 2 * sizeof(CK_RV) + 1];
      std::snprintf(hex, sizeof hex, "0x%lx", static_cast<unsigned long>(rv));
      return std::string("CKR ") + hex;
    }
  }
}

// RvError turns a failed call into a Status: "<what>: CKR_NAME". The code
// says what the caller can do about it.
Status RvError(CK_RV rv, std::string_view what) {
  std::string m = std::string(what) + ": " + RvName(rv);
  switch (rv) {
    case CKR_PIN_INCORRECT:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
      return UnauthenticatedError(std::move(m));
    case CKR_PIN_EXPIRED:
    case CKR_PIN_LOCKED:
    case CKR_USER_PIN_NOT_INITIALIZED:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_USER_ANOTHER_ALREADY_LOGGED_IN:
    case CKR_KEY_FUNCTION_NOT_PERMITTED:
    case CKR_KEY_TYPE_INCONSISTENT:
    case CKR_MECHANISM_INVALID:
    case CKR_CURVE_NOT_SUPPORTED:
      return FailedPreconditionError(std::move(m));
    case CKR_DEVICE_ERROR:
    case CKR_DEVICE_MEMORY:
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_TOKEN_NOT_RECOGNIZED:
    case CKR_SESSION_CLOSED:
    case CKR_SESSION_COUNT:
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_FUNCTION_CANCELED:
    case CKR_CRYPTOKI_NOT_INITIALIZED:
      return UnavailableError(std::move(m));
    default:
      return InternalError(std::move(m));
  }
}

std::string KeyTypeName(CK_KEY_TYPE type) {
  switch (type) {
    case CKK_RSA: return "CKK_RSA";
    case CKK_DSA: return "CKK_DSA";
    case CKK_EC: return "CKK_EC";
    case CKK_EC_EDWARDS: return "CKK_EC_EDWARDS";
    default: {
      char hex[2 + 2 * sizeof(CK_KEY_TYPE) + 1];
      std::snprintf(hex, sizeof hex, "0x%lx", static_cast<unsigned long>(type));
      return std::string("CKK ") + hex;
    }
  }
}

// ---------------------------------------------------------------------------
// Modules: one dlopen + C_Initialize per library per process, reference
// counted, because PKCS#11 initialisation is process-wide (a second
// C_Initialize fails, and one C_Finalize would end every other user's
// sessions).

struct DlCloser {
  void operator()(void* handle) const { dlclose(handle); }
};
using DlHandle = std::unique_ptr<void, DlCloser>;

struct LoadedModule {
  DlHandle handle;
  CK_FUNCTION_LIST* fn = nullptr;
  bool we_initialized = false;  // false: someone else in the process did; never finalise
  int refs = 0;
};

// Registry is keyed by the dlopen handle, so two spellings of one library's
// path share one initialisation. Leaked on purpose: signers held in statics
// may be destroyed after any other static.
struct Registry {
  std::mutex mu;
  std::map<void*, LoadedModule> modules;
};
Registry& GetRegistry() {
  static Registry* registry = new Registry;
  return *registry;
}

// ModuleRef is one counted use of a loaded, initialised module. Move-only;
// the last ref finalises the module and drops the dlopen handle.
class ModuleRef {
 public:
  static Result<ModuleRef> Acquire(const std::string& path) {
    Registry& r = GetRegistry();
    std::lock_guard<std::mutex> lock(r.mu);
    // RTLD_NODELETE: the library stays mapped after the last dlclose. Modules
    // (SoftHSM among them) keep process-wide state such as OpenSSL engines
    // that does not survive being unmapped and mapped again, and leak
    // reports from unmapped code cannot be symbolised.
    DlHandle handle(dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE));
    if (!handle) {
      const char* err = dlerror();
      return UnavailableError("cannot load PKCS#11 module " + path + ": " + (err ? err : "dlopen failed"));
    }
    void* key = handle.get();
    auto it = r.modules.find(key);
    if (it != r.modules.end()) {
      ++it->second.refs;  // `handle` drops the extra dlopen reference
      return ModuleRef(key, it->second.fn);
    }
    dlerror();
    auto get_function_list = reinterpret_cast<CK_C_GetFunctionList>(dlsym(key, "C_GetFunctionList"));
    if (get_function_list == nullptr) {
      return UnavailableError(path + " is not a PKCS#11 module (no C_GetFunctionList)");
    }
    CK_FUNCTION_LIST* fn = nullptr;
    CK_RV rv = get_function_list(&fn);
    if (rv != CKR_OK || fn == nullptr) {
      return UnavailableError("C_GetFunctionList in " + path + " failed: " + RvName(rv));
    }
    CK_C_INITIALIZE_ARGS args{};
    args.flags = CKF_OS_LOCKING_OK;  // signers may live on different threads
    rv = fn->C_Initialize(&args);
    bool we_initialized = true;
    if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      we_initialized = false;  // another library in this process owns it
    } else if (rv != CKR_OK) {
      return UnavailableError("C_Initialize of PKCS#11 module " + path + " failed: " + RvName(rv));
    }
    LoadedModule& m = r.modules[key];
    m.handle = std::move(handle);
    m.fn = fn;
    m.we_initialized = we_initialized;
    m.refs = 1;
    return ModuleRef(key, fn);
  }

  ModuleRef(ModuleRef&& other) noexcept : key_(std::exchange(other.key_, nullptr)), fn_(other.fn_) {}
  ModuleRef& operator=(ModuleRef&& other) noexcept {
    if (this != &other) {
      Release();
      key_ = std::exchange(other.key_, nullptr);
      fn_ = other.fn_;
    }
    return *this;
  }
  ModuleRef(const ModuleRef&) = delete;
  ModuleRef& operator=(const ModuleRef&) = delete;
  ~ModuleRef() { Release(); }

  CK_FUNCTION_LIST* fn() const { return fn_; }

 private:
  ModuleRef(void* key, CK_FUNCTION_LIST* fn) : key_(key), fn_(fn) {}

  void Release() {
    if (key_ == nullptr) return;
    Registry& r = GetRegistry();
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.modules.find(key_);
    key_ = nullptr;
    if (it == r.modules.end() || --it->second.refs > 0) return;
    // Finalising under the lock: a concurrent Acquire must not initialise
    // the module between our decision and this call.
    if (it->second.we_initialized) it->second.fn->C_Finalize(nullptr);
    r.modules.erase(it);
  }

  void* key_ = nullptr;
  CK_FUNCTION_LIST* fn_ = nullptr;
};

// Session owns an open session; closing the last session on a token also
// logs the application out (v2.40 §5.6).
class Session {
 public:
  Session() = default;
  Session(CK_FUNCTION_LIST* fn, CK_SESSION_HANDLE handle) : fn_(fn), handle_(handle) {}
  Session(Session&& other) noexcept : fn_(std::exchange(other.fn_, nullptr)), handle_(other.handle_) {}
  Session& operator=(Session&& other) noexcept {
    if (this != &other) {
      Close();
      fn_ = std::exchange(other.fn_, nullptr);
      handle_ = other.handle_;
    }
    return *this;
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() { Close(); }

  CK_SESSION_HANDLE get() const { return handle_; }

 private:
  void Close() {
    if (fn_ != nullptr) fn_->C_CloseSession(handle_);
    fn_ = nullptr;
  }
  CK_FUNCTION_LIST* fn_ = nullptr;
  CK_SESSION_HANDLE handle_ = 0;
};

// ---------------------------------------------------------------------------
// URIs.

// WipeUriPin overwrites p11-kit's copy of pin-value before dropping it.
void WipeUriPin(P11KitUri* uri) {
  if (const char* pin = p11_kit_uri_get_pin_value(uri); pin != nullptr) {
    // p11-kit owns a heap copy it hands out as const; it is ours to wipe.
    OPENSSL_cleanse(const_cast<char*>(pin), std::strlen(pin));
  }
  p11_kit_uri_set_pin_value(uri, nullptr);
}

struct UriDeleter {
  void operator()(P11KitUri* uri) const {
    WipeUriPin(uri);
    p11_kit_uri_free(uri);
  }
};
using UriPtr = std::unique_ptr<P11KitUri, UriDeleter>;

// Target is a parsed URI with its secrets taken out: `uri` no longer holds a
// PIN, so `text` (its canonical form) may go into any message.
struct Target {
  UriPtr uri;
  std::string module_path;
  std::optional<SecretBytes> pin;
  std::string text;
};

// PinFilePath accepts "file:/abs/path", "file:///abs/path" and, as GnuTLS and
// OpenSC do, a bare absolute path.
Result<std::string> PinFilePath(std::string_view source) {
  std::string_view path = source;
  if (path.substr(0, 7) == "file://") {
    path.remove_prefix(7);
    if (path.substr(0, 9) == "localhost") path.remove_prefix(9);
  } else if (path.substr(0, 5) == "file:") {
    path.remove_prefix(5);
  }
  if (path.empty() || path[0] != '/') {
    return InvalidArgumentError("pin-source must be file:/ABSOLUTE/PATH (got \"" + std::string(source) + "\")");
  }
  return std::string(path);
}

Result<SecretBytes> ReadPinFile(const std::string& path) {
  auto read = ReadSecretFileBounded(FileSystem::Default(), path, kMaxPinFileBytes);
  if (!read.ok()) return read.status().WithContext("reading PKCS#11 pin-source");
  SecretBytes data = std::move(*read);
  std::size_t n = data.size();
  if (n > 0 && data.Expose()[n - 1] == '\n') --n;
  if (n > 0 && data.Expose()[n - 1] == '\r') --n;
  if (n == 0) return InvalidArgumentError("PKCS#11 pin-source " + path + " is empty");
  if (n == data.size()) return data;
  return SecretBytes::CopyFrom(data.Expose().first(n));  // `data` wipes itself
}

Result<Target> ParseTarget(const std::string& text) {
  Target t;
  t.uri.reset(p11_kit_uri_new());
  if (!t.uri) return InternalError("p11_kit_uri_new failed");
  // Never echo `text`: it may carry pin-value.
  int rc = p11_kit_uri_parse(text.c_str(), P11_KIT_URI_FOR_ANY, t.uri.get());
  if (rc != P11_KIT_URI_OK) {
    const char* why = p11_kit_uri_message(rc);
    return InvalidArgumentError(std::string("malformed PKCS#11 URI (RFC 7512): ") + (why ? why : "parse error"));
  }
  if (p11_kit_uri_any_unrecognized(t.uri.get())) {
    // p11-kit would then match nothing; say why instead of "not found".
    return InvalidArgumentError(
        "PKCS#11 URI has a path attribute or value this build does not recognise (RFC 7512 §2.3; "
        "module-name is not supported, use module-path)");
  }

  const char* pin_value = p11_kit_uri_get_pin_value(t.uri.get());
  const char* pin_source = p11_kit_uri_get_pin_source(t.uri.get());
  if (pin_value != nullptr && pin_source != nullptr) {
    return InvalidArgumentError("PKCS#11 URI has both pin-value and pin-source; give one");
  }
  if (pin_value != nullptr) {
    t.pin = SecretBytes::CopyFrom(AsBytes(pin_value));
    WipeUriPin(t.uri.get());
  } else if (pin_source != nullptr) {
    ARCA_ASSIGN_OR_RETURN(std::string path, PinFilePath(pin_source));
    ARCA_ASSIGN_OR_RETURN(t.pin, ReadPinFile(path));
    p11_kit_uri_set_pin_source(t.uri.get(), nullptr);
  }

  if (const char* module = p11_kit_uri_get_module_path(t.uri.get()); module != nullptr) {
    t.module_path = module;
  } else if (const char* env = std::getenv("ARCA_PKCS11_MODULE"); env != nullptr && *env != '\0') {
    t.module_path = env;
  } else {
    t.module_path = kDefaultModulePath;
  }
  if (t.module_path.empty()) return InvalidArgumentError("PKCS#11 URI has an empty module-path");

  char* formatted = nullptr;
  if (p11_kit_uri_format(t.uri.get(), P11_KIT_URI_FOR_ANY, &formatted) == P11_KIT_URI_OK && formatted != nullptr) {
    t.text = formatted;
  } else {
    t.text = "pkcs11:";
  }
  std::free(formatted);
  return t;
}

// ---------------------------------------------------------------------------
// Tokens, objects and attributes.

std::string_view TrimPadded(const unsigned char* field, std::size_t size) {
  std::string_view s(reinterpret_cast<const char*>(field), size);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.remove_suffix(1);
  return s;
}

struct Token {
  CK_SLOT_ID slot = 0;
  CK_TOKEN_INFO info{};
  std::string label;
};

// FindToken returns the one initialised token the URI's library, slot and
// token attributes match.
Result<Token> FindToken(CK_FUNCTION_LIST* fn, const Target& t) {
  CK_INFO module_info{};
  if (CK_RV rv = fn->C_GetInfo(&module_info); rv != CKR_OK) return RvError(rv, "C_GetInfo of " + t.module_path);
  if (!p11_kit_uri_match_module_info(t.uri.get(), &module_info)) {
    return NotFoundError("PKCS#11 module " + t.module_path + " does not match the library attributes of " + t.text);
  }
  CK_ULONG count = 0;
  if (CK_RV rv = fn->C_GetSlotList(CK_TRUE, nullptr, &count); rv != CKR_OK) {
    return RvError(rv, "C_GetSlotList of " + t.module_path);
  }
  std::vector<CK_SLOT_ID> slots(count);
  if (count > 0) {
    if (CK_RV rv = fn->C_GetSlotList(CK_TRUE, slots.data(), &count); rv != CKR_OK) {
      return RvError(rv, "C_GetSlotList of " + t.module_path);
    }
    slots.resize(count);
  }
  const CK_SLOT_ID wanted_slot = p11_kit_uri_get_slot_id(t.uri.get());
  std::vector<Token> matches;
  for (CK_SLOT_ID slot : slots) {
    if (wanted_slot != static_cast<CK_SLOT_ID>(-1) && slot != wanted_slot) continue;
    CK_SLOT_INFO slot_info{};
    if (fn->C_GetSlotInfo(slot, &slot_info) != CKR_OK) continue;
    if (!p11_kit_uri_match_slot_info(t.uri.get(), &slot_info)) continue;
    Token token;
    token.slot = slot;
    CK_RV rv = fn->C_GetTokenInfo(slot, &token.info);
    if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_TOKEN_NOT_RECOGNIZED) continue;
    if (rv != CKR_OK) return RvError(rv, "C_GetTokenInfo of " + t.module_path);
    // A blank token (SoftHSM always offers one) holds no keys and would make
    // every URI without token= ambiguous.
    if (!(token.info.flags & CKF_TOKEN_INITIALIZED)) continue;
    if (!p11_kit_uri_match_token_info(t.uri.get(), &token.info)) continue;
    token.label = std::string(TrimPadded(token.info.label, sizeof token.info.label));
    matches.push_back(std::move(token));
  }
  if (matches.empty()) {
    return NotFoundError("no initialised PKCS#11 token matches " + t.text + " in module " + t.module_path);
  }
  if (matches.size() > 1) {
    return FailedPreconditionError(std::to_string(matches.size()) + " PKCS#11 tokens match " + t.text + " in module " +
                                   t.module_path + "; add token=, serial= or slot-id= to the URI");
  }
  return std::move(matches.front());
}

Result<Session> OpenSession(CK_FUNCTION_LIST* fn, const Token& token, bool read_write) {
  CK_SESSION_HANDLE handle = 0;
  CK_FLAGS flags = CKF_SERIAL_SESSION | (read_write ? CKF_RW_SESSION : 0);
  CK_RV rv = fn->C_OpenSession(token.slot, flags, nullptr, nullptr, &handle);
  if (rv != CKR_OK) return RvError(rv, "C_OpenSession on token \"" + token.label + "\"");
  return Session(fn, handle);
}

// Login logs the session's application in as CKU_USER and wipes the PIN.
// Login state is per token and application (v2.40 §5.6): on a token another
// session of this process has unlocked, the new session is logged in already
// and no PIN is needed or checked (C_Login would answer
// CKR_USER_ALREADY_LOGGED_IN without looking at it).
Status Login(CK_FUNCTION_LIST* fn, const Session& session, const Token& token, std::optional<SecretBytes> pin,
             bool required) {
  CK_SESSION_INFO info{};
  if (CK_RV rv = fn->C_GetSessionInfo(session.get(), &info); rv != CKR_OK) {
    return RvError(rv, "C_GetSessionInfo on token \"" + token.label + "\"");
  }
  if (info.state == CKS_RO_USER_FUNCTIONS || info.state == CKS_RW_USER_FUNCTIONS) return Status::Ok();
  CK_RV rv;
  if (pin) {
    rv = fn->C_Login(session.get(), CKU_USER, pin->ExposeMutable().data(), pin->size());
    pin.reset();  // wiped now, whatever C_Login said
  } else if (token.info.flags & CKF_PROTECTED_AUTHENTICATION_PATH) {
    rv = fn->C_Login(session.get(), CKU_USER, nullptr, 0);  // PIN pad on the reader
  } else if (required && (token.info.flags & CKF_LOGIN_REQUIRED)) {
    return UnauthenticatedError("PKCS#11 token \"" + token.label +
                                "\" needs a PIN: add pin-source=file:/PATH (or pin-value=) to the URI");
  } else {
    return Status::Ok();
  }
  if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) return Status::Ok();
  return RvError(rv, "C_Login to PKCS#11 token \"" + token.label + "\"");
}

// FindObjects returns up to two handles matching `tmpl` (two is enough to
// tell "one" from "ambiguous").
Result<std::vector<CK_OBJECT_HANDLE>> FindObjects(CK_FUNCTION_LIST* fn, const Session& session,
                                                  std::vector<CK_ATTRIBUTE> tmpl) {
  CK_RV rv = fn->C_FindObjectsInit(session.get(), tmpl.data(), tmpl.size());
  if (rv != CKR_OK) return RvError(rv, "C_FindObjectsInit");
  struct Finaliser {
    CK_FUNCTION_LIST* fn;
    CK_SESSION_HANDLE s;
    ~Finaliser() { fn->C_FindObjectsFinal(s); }
  } finaliser{fn, session.get()};
  std::vector<CK_OBJECT_HANDLE> found(2);
  CK_ULONG n = 0;
  rv = fn->C_FindObjects(session.get(), found.data(), found.size(), &n);
  if (rv != CKR_OK) return RvError(rv, "C_FindObjects");
  found.resize(std::min<CK_ULONG>(n, found.size()));
  return found;
}

// GetAttribute reads one attribute; nullopt when the object does not have
// it or will not reveal it.
Result<std::optional<Bytes>> GetAttribute(CK_FUNCTION_LIST* fn, const Session& session, CK_OBJECT_HANDLE obj,
                                          CK_ATTRIBUTE_TYPE type) {
  CK_ATTRIBUTE a{type, nullptr, 0};
  CK_RV rv = fn->C_GetAttributeValue(session.get(), obj, &a, 1);
  if (rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_ATTRIBUTE_SENSITIVE || a.ulValueLen == CK_UNAVAILABLE_INFORMATION) {
    return std::optional<Bytes>();
  }
  if (rv != CKR_OK) return RvError(rv, "C_GetAttributeValue");
  if (a.ulValueLen > kMaxAttributeBytes) {
    return ResourceExhaustedError("PKCS#11 attribute is " + std::to_string(a.ulValueLen) + " bytes");
  }
  Bytes value(a.ulValueLen);
  a.pValue = value.data();
  rv = fn->C_GetAttributeValue(session.get(), obj, &a, 1);
  if (rv != CKR_OK) return RvError(rv, "C_GetAttributeValue");
  value.resize(a.ulValueLen);
  return std::optional<Bytes>(std::move(value));
}

Result<std::optional<CK_ULONG>> GetUlong(CK_FUNCTION_LIST* fn, const Session& session, CK_OBJECT_HANDLE obj,
                                         CK_ATTRIBUTE_TYPE type) {
  ARCA_ASSIGN_OR_RETURN(std::optional<Bytes> v, GetAttribute(fn, session, obj, type));
  if (!v) return std::optional<CK_ULONG>();
  if (v->size() != sizeof(CK_ULONG)) return InternalError("PKCS#11 attribute has a wrong size for a CK_ULONG");
  CK_ULONG out;
  std::memcpy(&out, v->data(), sizeof out);
  return std::optional<CK_ULONG>(out);
}

Result<std::optional<bool>> GetBool(CK_FUNCTION_LIST* fn, const Session& session, CK_OBJECT_HANDLE obj,
                                    CK_ATTRIBUTE_TYPE type) {
  ARCA_ASSIGN_OR_RETURN(std::optional<Bytes> v, GetAttribute(fn, session, obj, type));
  if (!v) return std::optional<bool>();
  if (v->size() != sizeof(CK_BBOOL)) return InternalError("PKCS#11 attribute has a wrong size for a CK_BBOOL");
  return std::optional<bool>((*v)[0] != CK_FALSE);
}

// ---------------------------------------------------------------------------
// Key types and public keys.

bool Equals(ByteSpan a, ByteSpan b) { return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin()); }

// CKA_EC_PARAMS values (DER): named-curve OIDs (RFC 5480 §2.1.1.1, RFC 8410
// §3) and, for Edwards keys, the PKCS#11 3.0 PrintableString form.
constexpr std::uint8_t kOidP256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
constexpr std::uint8_t kOidP384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
constexpr std::uint8_t kOidEd25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
constexpr std::uint8_t kNameEd25519[] = {0x13, 0x0c, 'e', 'd', 'w', 'a', 'r', 'd', 's', '2', '5', '5', '1', '9'};

// KeyTypeOf classifies a key object by CKA_KEY_TYPE and CKA_EC_PARAMS.
Result<crypto::KeyType> KeyTypeOf(CK_FUNCTION_LIST* fn, const Session& session, CK_OBJECT_HANDLE obj,
                                  const std::string& what) {
  ARCA_ASSIGN_OR_RETURN(std::optional<CK_ULONG> key_type, GetUlong(fn, session, obj, CKA_KEY_TYPE));
  if (!key_type) return InvalidArgumentError(what + " has no CKA_KEY_TYPE");
  ARCA_ASSIGN_OR_RETURN(std::optional<Bytes> params, GetAttribute(fn, session, obj, CKA_EC_PARAMS));
  if (*key_type == CKK_EC_EDWARDS) {
    // Absent parameters: the token has only one Edwards curve in practice,
    // and the 32-byte point checked later rules out Ed448's 57.
    if (!params || Equals(*params, kOidEd25519) || Equals(*params, kNameEd25519)) return crypto::KeyType::kEd25519;
    return InvalidArgumentError(what + " is an Edwards key on a curve other than Ed25519 (only Ed25519 is supported)");
  }
  if (*key_type == CKK_EC) {
    if (params && Equals(*params, kOidP256)) return crypto::KeyType::kEcdsaP256Sha256;
    if (params && Equals(*params, kOidP384)) return crypto::KeyType::kEcdsaP384Sha384;
    return InvalidArgumentError(what + " is an EC key on a curve other than P-256 or P-384 (or not a named curve)");
  }
  return InvalidArgumentError(what + " has key type " + KeyTypeName(*key_type) +
                              "; supported: Ed25519 (CKK_EC_EDWARDS), ECDSA P-256 or P-384 (CKK_EC)");
}

std::size_t RawPointSize(crypto::KeyType type) {
  switch (type) {
    case crypto::KeyType::kEd25519: return 32;
    case crypto::KeyType::kEcdsaP256Sha256: return 65;
    case crypto::KeyType::kEcdsaP384Sha384: return 97;
  }
  return 0;
}

// UnwrapEcPoint accepts CKA_EC_POINT as the specification's DER OCTET STRING
// or as the raw point some tokens return (for Ed25519 as well as EC). The
// two forms differ in length, so there is no guessing.
Result<Bytes> UnwrapEcPoint(ByteSpan v, crypto::KeyType type) {
  const std::size_t raw = RawPointSize(type);
  if (v.size() == raw) return Bytes(v.begin(), v.end());
  // DER: 0x04, definite length (short form, or 0x81 for 128..255), content.
  if (v.size() >= 2 && v[0] == 0x04) {
    std::size_t header = 2, len = v[1];
    if (v[1] == 0x81 && v.size() >= 3 && v[2] >= 0x80) {
      header = 3;
      len = v[2];
    } else if (v[1] >= 0x80) {
      len = SIZE_MAX;
    }
    if (len == raw && v.size() == header + raw) return Bytes(v.begin() + header, v.end());
  }
  return InvalidArgumentError("CKA_EC_POINT is " + std::to_string(v.size()) + " bytes, neither a " +
                              std::to_string(raw) + "-byte point nor a DER OCTET STRING holding one");
}

// PublicKeyOf builds the public key from an object's CKA_EC_POINT, or its
// CKA_PUBLIC_KEY_INFO (an SPKI) when it has no point. NotFound when it has
// neither (typical for private key objects).
Result<crypto::PublicKey> PublicKeyOf(CK_FUNCTION_LIST* fn, const Session& session, CK_OBJECT_HANDLE obj,
                                      crypto::KeyType type, const std::string& what) {
  ARCA_ASSIGN_OR_RETURN(std::optional<Bytes> point, GetAttribute(fn, session, obj, CKA_EC_POINT));
  if (point && !point->empty()) {
    auto raw = UnwrapEcPoint(*point, type);
    if (!raw.ok()) return raw.status().WithContext(what);
    auto key = type == crypto::KeyType::kEd25519 ? crypto::PublicKey::FromRawEd25519(*raw)
                                                 : crypto::PublicKey::FromEcPoint(type, *raw);
    if (!key.ok()) return key.status().WithContext(what);
    return std::move(*key);
  }
  ARCA_ASSIGN_OR_RETURN(std::optional<Bytes> spki, GetAttribute(fn, session, obj, CKA_PUBLIC_KEY_INFO));
  if (spki && !spki->empty()) {
    auto key = crypto::PublicKey::FromDer(*spki);
    if (!key.ok()) return key.status().WithContext(what + " CKA_PUBLIC_KEY_INFO");
    if (key->type() != type) {
      return InvalidArgumentError(what + " CKA_PUBLIC_KEY_INFO is a " + std::string(crypto::KeyTypeName(key->type())) +
                                  " key, not " + std::string(crypto::KeyTypeName(type)));
    }
    return std::move(*key);
  }
  return NotFoundError(what + " has neither CKA_EC_POINT nor CKA_PUBLIC_KEY_INFO");
}

// UriTemplate is the URI's object attributes (object=, id=, type=) with
// CKA_CLASS forced to `cls`. The attribute values point into `t.uri`.
std::vector<CK_ATTRIBUTE> UriTemplate(const Target& t, CK_OBJECT_CLASS* cls) {
  CK_ULONG n = 0;
  CK_ATTRIBUTE* attrs = p11_kit_uri_get_attributes(t.uri.get(), &n);
  std::vector<CK_ATTRIBUTE> tmpl;
  for (CK_ULONG i = 0; i < n; ++i) {
    if (attrs[i].type != CKA_CLASS) tmpl.push_back(attrs[i]);
  }
  tmpl.push_back({CKA_CLASS, cls, sizeof *cls});
  return tmpl;
}

// UriClass is the URI's type= as a CKA_CLASS, if given.
std::optional<CK_OBJECT_CLASS> UriClass(const Target& t) {
  CK_ATTRIBUTE* a = p11_kit_uri_get_attribute(t.uri.get(), CKA_CLASS);
  if (a == nullptr || a->pValue == nullptr || a->ulValueLen != sizeof(CK_OBJECT_CLASS)) return std::nullopt;
  CK_OBJECT_CLASS cls;
  std::memcpy(&cls, a->pValue, sizeof cls);
  return cls;
}

// PublicKeyForPrivate finds the key pair's public half: the public key
// object with the private key's CKA_ID (or, without an id, its label), else
// the private object's own public attributes.
Result<crypto::PublicKey> PublicKeyForPrivate(CK_FUNCTION_LIST* fn, const Session& session, CK_OBJECT_HANDLE priv,
                                              crypto::KeyType type, const std::string& what) {
  ARCA_ASSIGN_OR_RETURN(std::optional<Bytes> id, GetAttribute(fn, session, priv, CKA_ID));
  ARCA_ASSIGN_OR_RETURN(std::optional<Bytes> label, GetAttribute(fn, session, priv, CKA_LABEL));
  CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
  std::vector<CK_ATTRIBUTE> tmpl = {{CKA_CLASS, &cls, sizeof cls}};
  if (id && !id->empty()) {
    tmpl.push_back({CKA_ID, id->data(), id->size()});
  } else if (label && !label->empty()) {
    tmpl.push_back({CKA_LABEL, label->data(), label->size()});
  }
  std::vector<CK_OBJECT_HANDLE> found;
  if (tmpl.size() > 1) {
    ARCA_ASSIGN_OR_RETURN(found, FindObjects(fn, session, std::move(tmpl)));
  }
  if (found.size() > 1) {
    return FailedPreconditionError("several public key objects share the CKA_ID of " + what +
                                   "; cannot tell which is its public key");
  }
  if (found.size() == 1) {
    ARCA_ASSIGN_OR_RETURN(crypto::KeyType pub_type, KeyTypeOf(fn, session, found[0], "the public key of " + what));
    if (pub_type != type) {
      return FailedPreconditionError("the public key object with the CKA_ID of " + what + " is " +
                                     std::string(crypto::KeyTypeName(pub_type)) + ", the private key " +
                                     std::string(crypto::KeyTypeName(type)));
    }
    return PublicKeyOf(fn, session, found[0], type, "the public key of " + what);
  }
  auto own = PublicKeyOf(fn, session, priv, type, what);
  if (own.ok() || own.status().code() != StatusCode::kNotFound) return own;
  return NotFoundError("no public key object has the CKA_ID of " + what +
                       " and the private key object does not expose its public key");
}

// Connection is what both entry points need: a module ref, the token and an
// open session. Member order matters: the session closes before the module
// reference is released.
struct Connection {
  ModuleRef module;
  Token token;
  Session session;
  CK_FUNCTION_LIST* fn() const { return module.fn(); }
};

Result<Connection> Connect(const Target& t, bool read_write = false) {
  ARCA_ASSIGN_OR_RETURN(ModuleRef module, ModuleRef::Acquire(t.module_path));
  ARCA_ASSIGN_OR_RETURN(Token token, FindToken(module.fn(), t));
  ARCA_ASSIGN_OR_RETURN(Session session, OpenSession(module.fn(), token, read_write));
  return Connection{std::move(module), std::move(token), std::move(session)};
}

// ---------------------------------------------------------------------------
// The signer.

class Pkcs11Signer final : public Signer {
 public:
  Pkcs11Signer(Connection conn, CK_OBJECT_HANDLE key, crypto::PublicKey public_key, std::string what)
      : conn_(std::move(conn)), key_(key), public_key_(std::move(public_key)), what_(std::move(what)) {}

  const crypto::PublicKey& public_key() const override { return public_key_; }

  Result<Bytes> Sign(ByteSpan message) override {
    const crypto::KeyType type = public_key_.type();
    CK_MECHANISM mech{type == crypto::KeyType::kEd25519 ? CKM_EDDSA : CKM_ECDSA, nullptr, 0};
    // CKM_ECDSA signs a digest the host computes (v2.40 §2.3.6); CKM_EDDSA
    // without parameters is pure Ed25519 over the message.
    Bytes digest;
    ByteSpan input = message;
    if (type == crypto::KeyType::kEcdsaP256Sha256) {
      crypto::Sha256Digest d = crypto::Sha256::Hash(message);
      digest.assign(d.begin(), d.end());
      input = digest;
    } else if (type == crypto::KeyType::kEcdsaP384Sha384) {
      digest = crypto::Sha384(message);
      input = digest;
    }
    CK_FUNCTION_LIST* fn = conn_.fn();
    CK_RV rv = fn->C_SignInit(conn_.session.get(), &mech, key_);
    if (rv != CKR_OK) return RvError(rv, "C_SignInit with " + what_);
    // Large enough for every supported type, so C_Sign never answers
    // CKR_BUFFER_TOO_SMALL (which would leave the operation active).
    Bytes sig(256);
    CK_ULONG sig_len = sig.size();
    rv = fn->C_Sign(conn_.session.get(), const_cast<CK_BYTE*>(input.data()), input.size(), sig.data(), &sig_len);
    if (rv != CKR_OK) return RvError(rv, "C_Sign with " + what_);
    const std::size_t expected = type == crypto::KeyType::kEcdsaP384Sha384 ? 96 : 64;
    if (sig_len != expected) {
      return InternalError("C_Sign with " + what_ + " returned " + std::to_string(sig_len) + " bytes, expected " +
                           std::to_string(expected));
    }
    sig.resize(sig_len);
    if (type != crypto::KeyType::kEd25519) {
      ARCA_ASSIGN_OR_RETURN(sig, crypto::EcdsaRawToDer(type, sig));
    }
    // A token whose public key object belongs to another key would otherwise
    // hand out signatures nobody can verify.
    if (Status s = public_key_.Verify(message, sig); !s.ok()) {
      return FailedPreconditionError("the signature made with " + what_ + " does not verify under its public key " +
                                     public_key_.KeyId() + ": the token's public and private key objects do not match");
    }
    return sig;
  }

 private:
  Connection conn_;
  CK_OBJECT_HANDLE key_;
  crypto::PublicKey public_key_;
  std::string what_;
};

// FindOne turns a search result into exactly one handle.
Result<CK_OBJECT_HANDLE> FindOne(CK_FUNCTION_LIST* fn, const Connection& c, const Target& t, CK_OBJECT_CLASS cls,
                                 const char* kind) {
  ARCA_ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> found, FindObjects(fn, c.session, UriTemplate(t, &cls)));
  if (found.empty()) {
    return NotFoundError(std::string("no ") + kind + " object matches " + t.text + " on PKCS#11 token \"" +
                         c.token.label + "\"");
  }
  if (found.size() > 1) {
    return FailedPreconditionError(std::string("several ") + kind + " objects match " + t.text +
                                   " on PKCS#11 token \"" + c.token.label + "\"; add object= or id= to the URI");
  }
  return found[0];
}

}  // namespace

Result<std::unique_ptr<Signer>> OpenPkcs11Signer(const std::string& uri) {
  ARCA_ASSIGN_OR_RETURN(Target t, ParseTarget(uri));
  if (std::optional<CK_OBJECT_CLASS> cls = UriClass(t); cls && *cls != CKO_PRIVATE_KEY) {
    return InvalidArgumentError("PKCS#11 URI " + t.text + " names a non-private-key object; a signing key needs "
                                "type=private or no type");
  }
  ARCA_ASSIGN_OR_RETURN(Connection c, Connect(t));
  CK_FUNCTION_LIST* fn = c.fn();
  ARCA_RETURN_IF_ERROR(Login(fn, c.session, c.token, std::move(t.pin), /*required=*/true));
  ARCA_ASSIGN_OR_RETURN(CK_OBJECT_HANDLE key, FindOne(fn, c, t, CKO_PRIVATE_KEY, "private key"));
  const std::string what = "private key " + t.text + " on token \"" + c.token.label + "\"";
  ARCA_ASSIGN_OR_RETURN(crypto::KeyType type, KeyTypeOf(fn, c.session, key, what));
  ARCA_ASSIGN_OR_RETURN(std::optional<bool> can_sign, GetBool(fn, c.session, key, CKA_SIGN));
  if (can_sign && !*can_sign) return FailedPreconditionError(what + " does not allow signing (CKA_SIGN is false)");
  ARCA_ASSIGN_OR_RETURN(std::optional<bool> always_auth, GetBool(fn, c.session, key, CKA_ALWAYS_AUTHENTICATE));
  if (always_auth && *always_auth) {
    // It would need the PIN again for every signature; we wipe it after login.
    return FailedPreconditionError(what + " requires a PIN per signature (CKA_ALWAYS_AUTHENTICATE), "
                                          "which is not supported");
  }
  ARCA_ASSIGN_OR_RETURN(crypto::PublicKey public_key, PublicKeyForPrivate(fn, c.session, key, type, what));
  return std::unique_ptr<Signer>(std::make_unique<Pkcs11Signer>(std::move(c), key, std::move(public_key), what));
}

Result<crypto::PublicKey> OpenPkcs11PublicKey(const std::string& uri) {
  ARCA_ASSIGN_OR_RETURN(Target t, ParseTarget(uri));
  std::optional<CK_OBJECT_CLASS> uri_class = UriClass(t);
  if (uri_class && *uri_class != CKO_PUBLIC_KEY && *uri_class != CKO_PRIVATE_KEY) {
    return InvalidArgumentError("PKCS#11 URI " + t.text + " names neither a public nor a private key");
  }
  ARCA_ASSIGN_OR_RETURN(Connection c, Connect(t));
  CK_FUNCTION_LIST* fn = c.fn();
  const bool have_pin = t.pin.has_value();
  ARCA_RETURN_IF_ERROR(Login(fn, c.session, c.token, std::move(t.pin), /*required=*/false));

  // The public key object first: readable without a PIN on most tokens.
  CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
  ARCA_ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> found, FindObjects(fn, c.session, UriTemplate(t, &cls)));
  if (found.size() > 1) {
    return FailedPreconditionError("several public key objects match " + t.text + " on PKCS#11 token \"" +
                                   c.token.label + "\"; add object= or id= to the URI");
  }
  if (found.size() == 1) {
    const std::string what = "public key " + t.text + " on token \"" + c.token.label + "\"";
    ARCA_ASSIGN_OR_RETURN(crypto::KeyType type, KeyTypeOf(fn, c.session, found[0], what));
    return PublicKeyOf(fn, c.session, found[0], type, what);
  }
  // Else the private key's own public attributes (visible after login).
  auto key = FindOne(fn, c, t, CKO_PRIVATE_KEY, "public or private key");
  if (!key.ok()) {
    if (key.status().code() == StatusCode::kNotFound && !have_pin) {
      return NotFoundError(key.status().message() + " (private objects are visible only with a PIN)");
    }
    return key.status();
  }
  const std::string what = "private key " + t.text + " on token \"" + c.token.label + "\"";
  ARCA_ASSIGN_OR_RETURN(crypto::KeyType type, KeyTypeOf(fn, c.session, *key, what));
  return PublicKeyForPrivate(fn, c.session, *key, type, what);
}

// ---------------------------------------------------------------------------
// AES secret keys (signer/pkcs11_aes.h).

namespace {

constexpr std::size_t kGcmNonceSize = 12;

class Pkcs11AesKeyImpl final : public Pkcs11AesKey {
 public:
  Pkcs11AesKeyImpl(Connection conn, CK_OBJECT_HANDLE key, std::string what)
      : conn_(std::move(conn)), key_(key), what_(std::move(what)) {}

  Result<Bytes> GcmSeal(ByteSpan nonce, ByteSpan aad, ByteSpan plaintext) override {
    ARCA_RETURN_IF_ERROR(CheckNonce(nonce));
    std::lock_guard<std::mutex> lock(mu_);
    CK_GCM_PARAMS params = Params(nonce, aad);
    CK_MECHANISM mech{CKM_AES_GCM, &params, sizeof params};
    CK_FUNCTION_LIST* fn = conn_.fn();
    CK_RV rv = fn->C_EncryptInit(conn_.session.get(), &mech, key_);
    if (rv != CKR_OK) return RvError(rv, "C_EncryptInit (CKM_AES_GCM) with " + what_);
    // Sized for the result, so C_Encrypt never answers CKR_BUFFER_TOO_SMALL
    // (which would leave the operation active).
    Bytes out(plaintext.size() + kPkcs11GcmTagSize);
    CK_ULONG n = out.size();
    rv = fn->C_Encrypt(conn_.session.get(), const_cast<CK_BYTE*>(plaintext.data()), plaintext.size(), out.data(), &n);
    if (rv != CKR_OK) return RvError(rv, "C_Encrypt (CKM_AES_GCM) with " + what_);
    if (n != out.size()) {
      return InternalError("C_Encrypt (CKM_AES_GCM) with " + what_ + " returned " + std::to_string(n) +
                           " bytes, expected " + std::to_string(out.size()));
    }
    return out;
  }

  Status GcmOpen(ByteSpan nonce, ByteSpan aad, ByteSpan sealed, std::span<std::uint8_t> out) override {
    ARCA_RETURN_IF_ERROR(CheckNonce(nonce));
    if (sealed.size() < kPkcs11GcmTagSize || out.size() != sealed.size() - kPkcs11GcmTagSize) {
      return InvalidArgumentError("AES-GCM with " + what_ + ": " + std::to_string(sealed.size()) +
                                  " sealed bytes do not fit an output of " + std::to_string(out.size()));
    }
    std::lock_guard<std::mutex> lock(mu_);
    CK_GCM_PARAMS params = Params(nonce, aad);
    CK_MECHANISM mech{CKM_AES_GCM, &params, sizeof params};
    CK_FUNCTION_LIST* fn = conn_.fn();
    CK_RV rv = fn->C_DecryptInit(conn_.session.get(), &mech, key_);
    if (rv != CKR_OK) return RvError(rv, "C_DecryptInit (CKM_AES_GCM) with " + what_);
    // The module writes plaintext only after the tag verifies (GCM decrypt
    // is one-shot here), into a buffer that is wiped on every path.
    SecretBytes buffer(sealed.size());
    CK_ULONG n = buffer.size();
    rv = fn->C_Decrypt(conn_.session.get(), const_cast<CK_BYTE*>(sealed.data()), sealed.size(),
                       buffer.ExposeMutable().data(), &n);
    // A tag that does not verify: v2.40 leaves the code open; tokens answer
    // CKR_ENCRYPTED_DATA_INVALID, and SoftHSM 2.6 CKR_GENERAL_ERROR (its
    // EVP_DecryptFinal failing). Either way nothing was decrypted.
    if (rv == CKR_ENCRYPTED_DATA_INVALID || rv == CKR_ENCRYPTED_DATA_LEN_RANGE || rv == CKR_SIGNATURE_INVALID ||
        rv == CKR_GENERAL_ERROR || rv == CKR_FUNCTION_FAILED) {
      return UnauthenticatedError("AES-GCM tag does not verify under " + what_ + " (" + RvName(rv) + ")");
    }
    if (rv != CKR_OK) return RvError(rv, "C_Decrypt (CKM_AES_GCM) with " + what_);
    if (n != out.size()) {
      return InternalError("C_Decrypt (CKM_AES_GCM) with " + what_ + " returned " + std::to_string(n) +
                           " bytes, expected " + std::to_string(out.size()));
    }
    std::memcpy(out.data(), buffer.Expose().data(), n);
    return Status::Ok();
  }

  const std::string& description() const override { return what_; }

 private:
  Status CheckNonce(ByteSpan nonce) const {
    if (nonce.size() != kGcmNonceSize) {
      return InvalidArgumentError("AES-GCM with " + what_ + ": nonce must be 12 bytes, got " +
                                  std::to_string(nonce.size()));
    }
    return Status::Ok();
  }
  static CK_GCM_PARAMS Params(ByteSpan nonce, ByteSpan aad) {
    CK_GCM_PARAMS p{};
    p.iv_ptr = const_cast<CK_BYTE*>(nonce.data());
    p.iv_len = nonce.size();
    p.iv_bits = nonce.size() * 8;
    p.aad_ptr = const_cast<CK_BYTE*>(aad.data());
    p.aad_len = aad.size();
    p.tag_bits = kPkcs11GcmTagSize * 8;
    return p;
  }

  std::mutex mu_;
  Connection conn_;
  CK_OBJECT_HANDLE key_;
  std::string what_;
};

Status CheckSecretKeyUri(const Target& t) {
  if (std::optional<CK_OBJECT_CLASS> cls = UriClass(t); cls && *cls != CKO_SECRET_KEY) {
    return InvalidArgumentError("PKCS#11 URI " + t.text + " names a non-secret-key object; an AES key needs "
                                "type=secret-key or no type");
  }
  return Status::Ok();
}

Status RequireGcm(CK_FUNCTION_LIST* fn, const Token& token) {
  CK_MECHANISM_INFO info{};
  CK_RV rv = fn->C_GetMechanismInfo(token.slot, CKM_AES_GCM, &info);
  if (rv == CKR_MECHANISM_INVALID || (rv == CKR_OK && !((info.flags & CKF_ENCRYPT) && (info.flags & CKF_DECRYPT)))) {
    return FailedPreconditionError("PKCS#11 token \"" + token.label + "\" does not offer CKM_AES_GCM encryption");
  }
  if (rv != CKR_OK) return RvError(rv, "C_GetMechanismInfo(CKM_AES_GCM) on token \"" + token.label + "\"");
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Pkcs11AesKey>> OpenPkcs11AesKey(const std::string& uri) {
  ARCA_ASSIGN_OR_RETURN(Target t, ParseTarget(uri));
  ARCA_RETURN_IF_ERROR(CheckSecretKeyUri(t));
  ARCA_ASSIGN_OR_RETURN(Connection c, Connect(t));
  CK_FUNCTION_LIST* fn = c.fn();
  ARCA_RETURN_IF_ERROR(Login(fn, c.session, c.token, std::move(t.pin), /*required=*/true));
  ARCA_ASSIGN_OR_RETURN(CK_OBJECT_HANDLE key, FindOne(fn, c, t, CKO_SECRET_KEY, "secret key"));
  const std::string what = "secret key " + t.text + " on token \"" + c.token.label + "\"";
  ARCA_ASSIGN_OR_RETURN(std::optional<CK_ULONG> type, GetUlong(fn, c.session, key, CKA_KEY_TYPE));
  if (!type || *type != CKK_AES) {
    return FailedPreconditionError(what + " is not an AES key (CKA_KEY_TYPE " +
                                   (type ? KeyTypeName(*type) : std::string("absent")) + ")");
  }
  ARCA_ASSIGN_OR_RETURN(std::optional<CK_ULONG> len, GetUlong(fn, c.session, key, CKA_VALUE_LEN));
  if (!len || *len != 32) {
    return FailedPreconditionError(what + " is not AES-256 (CKA_VALUE_LEN " +
                                   (len ? std::to_string(*len) : std::string("absent")) + ", expected 32)");
  }
  for (auto [attr, name] : {std::pair{CKA_ENCRYPT, "CKA_ENCRYPT"}, std::pair{CKA_DECRYPT, "CKA_DECRYPT"}}) {
    ARCA_ASSIGN_OR_RETURN(std::optional<bool> allowed, GetBool(fn, c.session, key, attr));
    if (allowed && !*allowed) return FailedPreconditionError(what + " does not allow " + name);
  }
  ARCA_RETURN_IF_ERROR(RequireGcm(fn, c.token));
  return std::unique_ptr<Pkcs11AesKey>(std::make_unique<Pkcs11AesKeyImpl>(std::move(c), key, what));
}

Status CreatePkcs11AesKey(const std::string& uri) {
  ARCA_ASSIGN_OR_RETURN(Target t, ParseTarget(uri));
  ARCA_RETURN_IF_ERROR(CheckSecretKeyUri(t));
  CK_ATTRIBUTE* label = p11_kit_uri_get_attribute(t.uri.get(), CKA_LABEL);
  if (label == nullptr || label->pValue == nullptr || label->ulValueLen == 0) {
    return InvalidArgumentError("PKCS#11 URI " + t.text + " has no object= to label the new key with");
  }
  ARCA_ASSIGN_OR_RETURN(Connection c, Connect(t, /*read_write=*/true));
  CK_FUNCTION_LIST* fn = c.fn();
  ARCA_RETURN_IF_ERROR(Login(fn, c.session, c.token, std::move(t.pin), /*required=*/true));
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  ARCA_ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> existing, FindObjects(fn, c.session, UriTemplate(t, &cls)));
  if (!existing.empty()) {
    return AlreadyExistsError("a secret key matching " + t.text + " is already on PKCS#11 token \"" + c.token.label + "\"");
  }
  ARCA_RETURN_IF_ERROR(RequireGcm(fn, c.token));
  CK_KEY_TYPE type = CKK_AES;
  CK_ULONG len = 32;
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  std::vector<CK_ATTRIBUTE> tmpl = {
      {CKA_CLASS, &cls, sizeof cls},         {CKA_KEY_TYPE, &type, sizeof type},
      {CKA_VALUE_LEN, &len, sizeof len},     {CKA_TOKEN, &yes, sizeof yes},
      {CKA_PRIVATE, &yes, sizeof yes},       {CKA_SENSITIVE, &yes, sizeof yes},
      {CKA_EXTRACTABLE, &no, sizeof no},     {CKA_ENCRYPT, &yes, sizeof yes},
      {CKA_DECRYPT, &yes, sizeof yes},       {CKA_WRAP, &no, sizeof no},
      {CKA_UNWRAP, &no, sizeof no},          {CKA_SIGN, &no, sizeof no},
      {CKA_VERIFY, &no, sizeof no},          {CKA_LABEL, label->pValue, label->ulValueLen},
  };
  if (CK_ATTRIBUTE* id = p11_kit_uri_get_attribute(t.uri.get(), CKA_ID); id != nullptr && id->pValue != nullptr) {
    tmpl.push_back({CKA_ID, id->pValue, id->ulValueLen});
  }
  CK_MECHANISM mech{CKM_AES_KEY_GEN, nullptr, 0};
  CK_OBJECT_HANDLE handle = 0;
  CK_RV rv = fn->C_GenerateKey(c.session.get(), &mech, tmpl.data(), tmpl.size(), &handle);
  if (rv != CKR_OK) return RvError(rv, "C_GenerateKey (CKM_AES_KEY_GEN) on token \"" + c.token.label + "\"");
  return Status::Ok();
}

}  // namespace arca::signer
