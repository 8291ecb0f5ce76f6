// PKCS#11 keys against a real SoftHSM2 token created for this test run.
//
// The suite makes a throwaway token in a temporary directory (SOFTHSM2_CONF
// points SoftHSM at it), imports freshly generated Ed25519, P-256 and P-384
// keys with softhsm2-util, generates more on the token through the PKCS#11
// API (SoftHSM returns CKA_EC_POINT of an imported Ed25519 key raw, of a
// generated one DER-wrapped: both forms must work), then opens them through
// RFC 7512 URIs.
#include <dlfcn.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <p11-kit/pkcs11.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include "base/bytes.h"
#include "base/file_system.h"
#include "base/signature.h"
#include "base/testing/status_matchers.h"
#include "signer/key_source.h"
#include "signer/pkcs11_aes.h"

// Sanitizer builds: SoftHSM itself leaks (see the file). The slow unwinder
// lets allocation stacks reach past libcrypto (built without frame pointers)
// into SoftHSM, where the suppression matches. Defined here rather than in
// the ctest ENVIRONMENT so running the binary directly behaves the same;
// LSAN_OPTIONS from the environment still override it.
extern "C" const char* __lsan_default_options() {
  return "fast_unwind_on_malloc=0:suppressions=" ARCA_SOURCE_DIR "/tests/lsan.supp";
}

namespace arca::signer {
namespace {

using crypto::KeyType;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSoftHsmModule[] = "/usr/lib/softhsm/libsofthsm2.so";
constexpr char kPin[] = "1234";

// AES-256-GCM known answer: McGrew and Viega, "The Galois/Counter Mode of
// Operation (GCM)", Appendix B, Test Case 16 (96-bit IV, with AAD).
constexpr char kGcmKatKey[] = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
constexpr char kGcmKatIv[] = "cafebabefacedbaddecaf888";
constexpr char kGcmKatPlaintext[] =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657"
    "ba637b39";
constexpr char kGcmKatAad[] = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
constexpr char kGcmKatSealed[] =  // C || T
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0a"
    "bcc9f66276fc6ece0f4e1768cddf8853bb2d551b";

std::optional<std::string> FindInPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

// RunCommand runs a shell command, returning "" on success or its output on failure.
std::string RunCommand(const std::string& dir, const std::string& command) {
  const std::string log = dir + "/command.log";
  int rc = std::system((command + " >" + log + " 2>&1").c_str());
  if (rc == 0) return "";
  std::ifstream in(log);
  std::stringstream out;
  out << in.rdbuf();
  return "`" + command + "` failed (" + std::to_string(rc) + "): " + out.str();
}

// WriteScratch writes a 0600 file in the test's directory; no fsync, it is
// thrown away with the directory.
bool WriteScratch(const std::string& path, ByteSpan data) {
  auto file = FileSystem::Default().NewWritableFile(path, 0600, /*exclusive=*/true);
  return file.ok() && (*file)->Append(data).ok() && (*file)->Close().ok();
}

// ScopedEnv sets (or unsets, with nullopt) a variable and restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// TokenAdmin drives SoftHSM directly, as another library in the process
// would: it initialises the module itself and logs in on its own session.
class TokenAdmin {
 public:
  // Open returns "" or what failed.
  std::string Open() {
    // Never dlclosed: SoftHSM must stay mapped for the signer's later loads.
    void* handle = ::dlopen(kSoftHsmModule, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (handle == nullptr) return std::string("dlopen: ") + ::dlerror();
    auto get = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle, "C_GetFunctionList"));
    if (get == nullptr || get(&fn_) != CKR_OK) return "C_GetFunctionList failed";
    if (CK_RV rv = fn_->C_Initialize(nullptr); rv != CKR_OK) return "C_Initialize: " + std::to_string(rv);
    initialized_ = true;
    CK_ULONG n = 8;
    CK_SLOT_ID slots[8];
    if (fn_->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK) return "C_GetSlotList failed";
    for (CK_ULONG i = 0; i < n; ++i) {
      CK_TOKEN_INFO info{};
      if (fn_->C_GetTokenInfo(slots[i], &info) != CKR_OK) continue;
      if (std::string(reinterpret_cast<char*>(info.label), 9) != "arca-test") continue;
      if (fn_->C_OpenSession(slots[i], CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &session_) != CKR_OK) {
        return "C_OpenSession failed";
      }
      CK_UTF8CHAR pin[] = {'1', '2', '3', '4'};
      if (CK_RV rv = fn_->C_Login(session_, CKU_USER, pin, sizeof pin); rv != CKR_OK) {
        return "C_Login: " + std::to_string(rv);
      }
      return "";
    }
    return "token arca-test not found";
  }

  ~TokenAdmin() {
    if (initialized_) fn_->C_Finalize(nullptr);
  }

  bool SessionAlive() {
    CK_SESSION_INFO info{};
    return fn_->C_GetSessionInfo(session_, &info) == CKR_OK;
  }

  // GenerateEd25519 makes a key pair on the token; with `public_on_token`
  // false the public half is a session object that vanishes at C_Finalize.
  std::string GenerateEd25519(const std::string& label, CK_BYTE id, bool public_on_token) {
    CK_MECHANISM mech{CKM_EC_EDWARDS_KEY_PAIR_GEN, nullptr, 0};
    CK_BYTE params[] = {0x06, 0x03, 0x2b, 0x65, 0x70};  // 1.3.101.112
    CK_BBOOL yes = CK_TRUE, pub_token = public_on_token ? CK_TRUE : CK_FALSE;
    std::string l = label;
    CK_ATTRIBUTE pub[] = {
        {CKA_TOKEN, &pub_token, sizeof pub_token}, {CKA_EC_PARAMS, params, sizeof params},
        {CKA_VERIFY, &yes, sizeof yes},           {CKA_LABEL, l.data(), l.size()},
        {CKA_ID, &id, 1},
    };
    CK_ATTRIBUTE priv[] = {
        {CKA_TOKEN, &yes, sizeof yes},     {CKA_PRIVATE, &yes, sizeof yes}, {CKA_SENSITIVE, &yes, sizeof yes},
        {CKA_SIGN, &yes, sizeof yes},      {CKA_LABEL, l.data(), l.size()}, {CKA_ID, &id, 1},
    };
    CK_OBJECT_HANDLE pub_handle, priv_handle;
    CK_RV rv = fn_->C_GenerateKeyPair(session_, &mech, pub, std::size(pub), priv, std::size(priv), &pub_handle,
                                      &priv_handle);
    return rv == CKR_OK ? "" : "C_GenerateKeyPair: " + std::to_string(rv);
  }

  // CreateEd25519Public stores a public key object with `id` holding an
  // unrelated key, as a token with mixed-up objects would.
  std::string CreateEd25519Public(const std::string& label, CK_BYTE id, ByteSpan raw) {
    CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
    CK_KEY_TYPE type = CKK_EC_EDWARDS;
    CK_BYTE params[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
    Bytes point = {0x04, static_cast<std::uint8_t>(raw.size())};
    point.insert(point.end(), raw.begin(), raw.end());
    CK_BBOOL yes = CK_TRUE;
    std::string l = label;
    CK_ATTRIBUTE attrs[] = {
        {CKA_CLASS, &cls, sizeof cls},          {CKA_KEY_TYPE, &type, sizeof type},
        {CKA_TOKEN, &yes, sizeof yes},          {CKA_EC_PARAMS, params, sizeof params},
        {CKA_EC_POINT, point.data(), point.size()}, {CKA_LABEL, l.data(), l.size()},
        {CKA_ID, &id, 1},
    };
    CK_OBJECT_HANDLE handle;
    CK_RV rv = fn_->C_CreateObject(session_, attrs, std::size(attrs), &handle);
    return rv == CKR_OK ? "" : "C_CreateObject: " + std::to_string(rv);
  }

  // GenerateAes makes an AES key of `bytes` on the token (CKM_AES_KEY_GEN).
  std::string GenerateAes(const std::string& label, CK_ULONG bytes) {
    CK_MECHANISM mech{CKM_AES_KEY_GEN, nullptr, 0};
    CK_BBOOL yes = CK_TRUE;
    std::string l = label;
    CK_ATTRIBUTE attrs[] = {
        {CKA_TOKEN, &yes, sizeof yes},       {CKA_PRIVATE, &yes, sizeof yes}, {CKA_SENSITIVE, &yes, sizeof yes},
        {CKA_ENCRYPT, &yes, sizeof yes},     {CKA_DECRYPT, &yes, sizeof yes}, {CKA_VALUE_LEN, &bytes, sizeof bytes},
        {CKA_LABEL, l.data(), l.size()},
    };
    CK_OBJECT_HANDLE handle;
    CK_RV rv = fn_->C_GenerateKey(session_, &mech, attrs, std::size(attrs), &handle);
    return rv == CKR_OK ? "" : "C_GenerateKey: " + std::to_string(rv);
  }

  // CreateAes stores an AES key with a known value (for a known-answer test).
  std::string CreateAes(const std::string& label, ByteSpan value) {
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_AES;
    CK_BBOOL yes = CK_TRUE;
    std::string l = label;
    Bytes v(value.begin(), value.end());
    CK_ATTRIBUTE attrs[] = {
        {CKA_CLASS, &cls, sizeof cls},   {CKA_KEY_TYPE, &type, sizeof type}, {CKA_TOKEN, &yes, sizeof yes},
        {CKA_PRIVATE, &yes, sizeof yes}, {CKA_ENCRYPT, &yes, sizeof yes},   {CKA_DECRYPT, &yes, sizeof yes},
        {CKA_VALUE, v.data(), v.size()}, {CKA_LABEL, l.data(), l.size()},
    };
    CK_OBJECT_HANDLE handle;
    CK_RV rv = fn_->C_CreateObject(session_, attrs, std::size(attrs), &handle);
    return rv == CKR_OK ? "" : "C_CreateObject (AES): " + std::to_string(rv);
  }

 private:
  CK_FUNCTION_LIST* fn_ = nullptr;
  CK_SESSION_HANDLE session_ = 0;
  bool initialized_ = false;
};

class Pkcs11Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { setup_error_ = MakeToken(); }

  static void TearDownTestSuite() {
    if (!dir_.empty()) (void)FileSystem::Default().RemoveAll(dir_);
  }

  void SetUp() override {
    if (!setup_error_.empty()) FAIL() << setup_error_;
  }

  static std::string MakeToken() {
    std::optional<std::string> util = FindInPath("softhsm2-util");
    if (!util || ::access(kSoftHsmModule, R_OK) != 0) {
      return "SoftHSM2 is not installed (softhsm2-util or " + std::string(kSoftHsmModule) +
             " missing): run scripts/setup.sh --test";
    }
    char tmpl[] = "/tmp/arca-pkcs11-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return "mkdtemp failed";
    dir_ = tmpl;
    FileSystem& fs = FileSystem::Default();
    if (!fs.MakeDir(dir_ + "/tokens", 0700).ok()) return "cannot make " + dir_ + "/tokens";
    const std::string conf = "directories.tokendir = " + dir_ +
                             "/tokens\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n";
    if (!WriteScratch(dir_ + "/softhsm2.conf", AsBytes(conf))) return "cannot write softhsm2.conf";
    // Before any module load: SoftHSM reads it in C_Initialize.
    ::setenv("SOFTHSM2_CONF", (dir_ + "/softhsm2.conf").c_str(), 1);
    ::unsetenv("ARCA_PKCS11_MODULE");

    const std::string init = *util + " --init-token --free --label arca-test --pin " + kPin + " --so-pin 5678";
    if (std::string e = RunCommand(dir_, init); !e.empty()) return e;
    struct Import {
      const char* label;
      const char* id;
      KeyType type;
      std::string* key_id;
    } imports[] = {
        {"ed", "01", KeyType::kEd25519, &ed_key_id_},
        {"p256", "02", KeyType::kEcdsaP256Sha256, &p256_key_id_},
        {"p384", "03", KeyType::kEcdsaP384Sha384, &p384_key_id_},
    };
    for (const Import& im : imports) {
      auto key = crypto::PrivateKey::Generate(im.type);
      if (!key.ok()) return key.status().ToString();
      auto pem = key->ToPem();
      if (!pem.ok()) return pem.status().ToString();
      const std::string pem_path = dir_ + "/" + im.label + im.id + ".pem";
      if (!WriteScratch(pem_path, pem->Expose())) return "cannot write " + pem_path;
      if (std::string e = RunCommand(dir_, *util + " --import " + pem_path + " --token arca-test --label " + im.label +
                                        " --id " + im.id + " --pin " + kPin);
          !e.empty()) {
        return e;
      }
      (void)fs.Remove(pem_path);
      *im.key_id = key->public_key().KeyId();
    }
    // Keys made on the token itself, finalised before any test loads SoftHSM.
    TokenAdmin admin;
    if (std::string e = admin.Open(); !e.empty()) return e;
    if (std::string e = admin.GenerateEd25519("ed-gen", 0x20, true); !e.empty()) return e;
    if (std::string e = admin.GenerateEd25519("dup", 0x10, true); !e.empty()) return e;
    if (std::string e = admin.GenerateEd25519("dup", 0x11, true); !e.empty()) return e;
    if (std::string e = admin.GenerateEd25519("no-public", 0x21, false); !e.empty()) return e;
    if (std::string e = admin.GenerateEd25519("mismatch", 0x22, false); !e.empty()) return e;
    auto other = crypto::PrivateKey::Generate(KeyType::kEd25519);
    if (!other.ok()) return other.status().ToString();
    if (std::string e = admin.CreateEd25519Public("mismatch", 0x22, other->public_key().RawBytes()); !e.empty()) {
      return e;
    }
    mismatch_public_key_id_ = other->public_key().KeyId();
    if (std::string e = admin.GenerateAes("master", 32); !e.empty()) return e;
    if (std::string e = admin.GenerateAes("aes128", 16); !e.empty()) return e;
    if (std::string e = admin.CreateAes("gcm-kat", *HexDecode(kGcmKatKey)); !e.empty()) return e;

    pin_file_ = dir_ + "/user.pin";
    if (!WriteScratch(pin_file_, AsBytes(std::string(kPin) + "\n"))) return "cannot write pin file";
    return "";
  }

  static std::string SignerUri(const std::string& object) {
    return "pkcs11:token=arca-test;object=" + object + "?pin-value=" + kPin;
  }

  static void ExpectSignsAndVerifies(const std::string& uri, KeyType type, const std::string& key_id) {
    auto signer = OpenPkcs11Signer(uri);
    ASSERT_THAT(signer, IsOk());
    EXPECT_EQ((*signer)->public_key().type(), type);
    EXPECT_EQ((*signer)->KeyId(), key_id);
    const std::string message = "arca manifest digest";
    auto sig = (*signer)->Sign(AsBytes(message));
    ASSERT_THAT(sig, IsOk());
    EXPECT_THAT((*signer)->public_key().Verify(AsBytes(message), *sig), IsOk());
    EXPECT_THAT((*signer)->public_key().Verify(AsBytes("arca manifest digesT"), *sig),
                HasCode(StatusCode::kUnauthenticated));
    if (type == KeyType::kEd25519) {
      EXPECT_EQ(sig->size(), 64u);
    } else {
      EXPECT_THAT(crypto::EcdsaDerToRaw(type, *sig), IsOk());  // strict DER
    }
    // A second signature on the same session.
    auto again = (*signer)->Sign(AsBytes(message));
    ASSERT_THAT(again, IsOk());
    EXPECT_THAT((*signer)->public_key().Verify(AsBytes(message), *again), IsOk());
  }

  static inline std::string setup_error_;
  static inline std::string dir_;
  static inline std::string pin_file_;
  static inline std::string ed_key_id_;
  static inline std::string p256_key_id_;
  static inline std::string p384_key_id_;
  static inline std::string mismatch_public_key_id_;
};

TEST_F(Pkcs11Test, SignsAndVerifiesEd25519) {
  ExpectSignsAndVerifies(SignerUri("ed"), KeyType::kEd25519, ed_key_id_);
}

TEST_F(Pkcs11Test, SignsAndVerifiesP256) {
  ExpectSignsAndVerifies(SignerUri("p256"), KeyType::kEcdsaP256Sha256, p256_key_id_);
}

TEST_F(Pkcs11Test, SignsAndVerifiesP384) {
  ExpectSignsAndVerifies(SignerUri("p384"), KeyType::kEcdsaP384Sha384, p384_key_id_);
}

TEST_F(Pkcs11Test, SignsWithKeyGeneratedOnToken) {
  // Its CKA_EC_POINT is a DER OCTET STRING, unlike the imported keys'.
  auto pub = OpenPkcs11PublicKey("pkcs11:token=arca-test;object=ed-gen");
  ASSERT_THAT(pub, IsOk());
  ExpectSignsAndVerifies(SignerUri("ed-gen"), KeyType::kEd25519, pub->KeyId());
}

TEST_F(Pkcs11Test, MismatchedPublicObjectFailsAtFirstSignature) {
  auto signer = OpenPkcs11Signer(SignerUri("mismatch"));
  ASSERT_THAT(signer, IsOk());
  EXPECT_EQ((*signer)->KeyId(), mismatch_public_key_id_);
  EXPECT_THAT((*signer)->Sign(AsBytes("message")),
              HasCodeAndMessage(StatusCode::kFailedPrecondition, "do not match"));
}

TEST_F(Pkcs11Test, PrivateKeyWithoutPublicKeyIsNotFound) {
  EXPECT_THAT(OpenPkcs11Signer(SignerUri("no-public")),
              HasCodeAndMessage(StatusCode::kNotFound, "does not expose its public key"));
  EXPECT_THAT(OpenPkcs11PublicKey("pkcs11:token=arca-test;object=no-public"),
              HasCodeAndMessage(StatusCode::kNotFound, "visible only with a PIN"));
}

TEST_F(Pkcs11Test, SharesModuleInitialisedByAnotherLibrary) {
  TokenAdmin other;
  ASSERT_EQ(other.Open(), "");
  {
    auto signer = OpenPkcs11Signer(SignerUri("ed"));
    ASSERT_THAT(signer, IsOk());
    auto sig = (*signer)->Sign(AsBytes("shared"));
    ASSERT_THAT(sig, IsOk());
    EXPECT_THAT((*signer)->public_key().Verify(AsBytes("shared"), *sig), IsOk());
  }
  // The signer did not C_Finalize a module it had not initialised.
  EXPECT_TRUE(other.SessionAlive());
}

TEST_F(Pkcs11Test, FindsKeyById) {
  ExpectSignsAndVerifies("pkcs11:token=arca-test;id=%02;type=private?pin-value=1234", KeyType::kEcdsaP256Sha256,
                         p256_key_id_);
}

TEST_F(Pkcs11Test, SkipsTheBlankTokenWhenNoTokenIsNamed) {
  // SoftHSM always offers an uninitialised token beside arca-test.
  ExpectSignsAndVerifies("pkcs11:object=ed?pin-value=1234", KeyType::kEd25519, ed_key_id_);
}

TEST_F(Pkcs11Test, PublicKeyWithoutPinEqualsImportedKey) {
  auto ed = OpenPkcs11PublicKey("pkcs11:token=arca-test;object=ed");
  ASSERT_THAT(ed, IsOk());
  EXPECT_EQ(ed->type(), KeyType::kEd25519);
  EXPECT_EQ(ed->KeyId(), ed_key_id_);
  auto p256 = OpenPkcs11PublicKey("pkcs11:token=arca-test;object=p256;type=public");
  ASSERT_THAT(p256, IsOk());
  EXPECT_EQ(p256->KeyId(), p256_key_id_);
  auto p384 = OpenPkcs11PublicKey("pkcs11:token=arca-test;id=%03");
  ASSERT_THAT(p384, IsOk());
  EXPECT_EQ(p384->KeyId(), p384_key_id_);
}

TEST_F(Pkcs11Test, PublicKeyOfSignerUriEqualsSignersKey) {
  // The signer's own URI (type=private, with a PIN) names the same key.
  const std::string uri = "pkcs11:token=arca-test;object=ed;type=private?pin-value=1234";
  auto pub = OpenPkcs11PublicKey(uri);
  ASSERT_THAT(pub, IsOk());
  auto signer = OpenPkcs11Signer(uri);
  ASSERT_THAT(signer, IsOk());
  EXPECT_EQ(pub->KeyId(), (*signer)->KeyId());
  EXPECT_EQ(pub->KeyId(), ed_key_id_);
}

TEST_F(Pkcs11Test, WrongPinIsUnauthenticatedAndNotEchoed) {
  const std::string wrong_pin = "98765-not-the-pin";
  auto signer = OpenPkcs11Signer("pkcs11:token=arca-test;object=ed?pin-value=" + wrong_pin);
  EXPECT_THAT(signer, HasCodeAndMessage(StatusCode::kUnauthenticated, "CKR_PIN_INCORRECT"));
  EXPECT_THAT(signer.status().message(), Not(HasSubstr(wrong_pin)));
  EXPECT_THAT(signer.status().message(), HasSubstr("arca-test"));
}

TEST_F(Pkcs11Test, WrongPinFromFileIsUnauthenticatedAndNotEchoed) {
  const std::string wrong_pin = "55555-not-the-pin";
  const std::string path = dir_ + "/wrong.pin";
  ASSERT_TRUE(WriteScratch(path, AsBytes(wrong_pin)));
  auto signer = OpenPkcs11Signer("pkcs11:token=arca-test;object=ed?pin-source=file:" + path);
  EXPECT_THAT(signer, HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(signer.status().message(), Not(HasSubstr(wrong_pin)));
}

TEST_F(Pkcs11Test, MissingPinIsUnauthenticated) {
  EXPECT_THAT(OpenPkcs11Signer("pkcs11:token=arca-test;object=ed"),
              HasCodeAndMessage(StatusCode::kUnauthenticated, "needs a PIN"));
}

TEST_F(Pkcs11Test, UnknownObjectIsNotFound) {
  auto signer = OpenPkcs11Signer(SignerUri("no-such-key"));
  EXPECT_THAT(signer, HasCodeAndMessage(StatusCode::kNotFound, "object=no-such-key"));
  EXPECT_THAT(signer.status().message(), HasSubstr("arca-test"));
  EXPECT_THAT(signer.status().message(), Not(HasSubstr(kPin)));
  EXPECT_THAT(OpenPkcs11PublicKey("pkcs11:token=arca-test;object=no-such-key"),
              HasCodeAndMessage(StatusCode::kNotFound, "object=no-such-key"));
}

TEST_F(Pkcs11Test, UnknownTokenIsNotFound) {
  auto signer = OpenPkcs11Signer("pkcs11:token=no-such-token;object=ed?pin-value=1234");
  EXPECT_THAT(signer, HasCodeAndMessage(StatusCode::kNotFound, "token=no-such-token"));
  EXPECT_THAT(signer.status().message(), HasSubstr(kSoftHsmModule));
  EXPECT_THAT(OpenPkcs11Signer("pkcs11:token=arca-test;serial=0000000000000000;object=ed?pin-value=1234"),
              HasCode(StatusCode::kNotFound));
}

TEST_F(Pkcs11Test, AmbiguousObjectIsFailedPrecondition) {
  EXPECT_THAT(OpenPkcs11Signer(SignerUri("dup")), HasCodeAndMessage(StatusCode::kFailedPrecondition, "object=dup"));
  EXPECT_THAT(OpenPkcs11PublicKey("pkcs11:token=arca-test;object=dup"), HasCode(StatusCode::kFailedPrecondition));
  // Either one, named by id, is fine.
  EXPECT_THAT(OpenPkcs11Signer("pkcs11:token=arca-test;object=dup;id=%11?pin-value=1234"), IsOk());
}

TEST_F(Pkcs11Test, MalformedUriIsInvalidArgument) {
  EXPECT_THAT(OpenPkcs11Signer("pkcs11:token=arca-test;object=%zz?pin-value=1234"),
              HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(OpenPkcs11Signer("pkcs11:token=arca-test;colour=blue"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(OpenPkcs11Signer("pkcs11:token=arca-test;type=bogus"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(OpenPkcs11Signer("pkcs12:token=arca-test"), HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(OpenPkcs11PublicKey("pkcs11:object=%"), HasCode(StatusCode::kInvalidArgument));
}

TEST_F(Pkcs11Test, MalformedUriDoesNotEchoPin) {
  const std::string pin = "31337-secret";
  auto signer = OpenPkcs11Signer("pkcs11:token=arca-test;object=%zz?pin-value=" + pin);
  EXPECT_THAT(signer, HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(signer.status().message(), Not(HasSubstr(pin)));
}

TEST_F(Pkcs11Test, ConflictingOrUnsupportedPinSourceIsInvalidArgument) {
  EXPECT_THAT(OpenPkcs11Signer("pkcs11:token=arca-test;object=ed?pin-value=1234&pin-source=file:" + pin_file_),
              HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(OpenPkcs11Signer("pkcs11:token=arca-test;object=ed?pin-source=https://example.com/pin"),
              HasCode(StatusCode::kInvalidArgument));
  EXPECT_THAT(OpenPkcs11Signer("pkcs11:token=arca-test;object=ed?pin-source=file:relative/pin"),
              HasCode(StatusCode::kInvalidArgument));
}

TEST_F(Pkcs11Test, PublicObjectUriIsNotASigningKey) {
  EXPECT_THAT(OpenPkcs11Signer("pkcs11:token=arca-test;object=ed;type=public?pin-value=1234"),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "type=private"));
}

TEST_F(Pkcs11Test, MissingModuleIsUnavailable) {
  EXPECT_THAT(OpenPkcs11Signer(SignerUri("ed") + "&module-path=/nonexistent/libnope.so"),
              HasCodeAndMessage(StatusCode::kUnavailable, "/nonexistent/libnope.so"));
  EXPECT_THAT(OpenPkcs11PublicKey("pkcs11:object=ed?module-path=/nonexistent/libnope.so"),
              HasCode(StatusCode::kUnavailable));
}

TEST_F(Pkcs11Test, LibraryWithoutPkcs11IsUnavailable) {
  EXPECT_THAT(OpenPkcs11Signer(SignerUri("ed") + "&module-path=libm.so.6"),
              HasCodeAndMessage(StatusCode::kUnavailable, "not a PKCS#11 module"));
}

TEST_F(Pkcs11Test, ModuleComesFromEnvironmentUnlessUriNamesOne) {
  ScopedEnv env("ARCA_PKCS11_MODULE", "/nonexistent/from-env.so");
  EXPECT_THAT(OpenPkcs11Signer(SignerUri("ed")), HasCodeAndMessage(StatusCode::kUnavailable, "from-env.so"));
  ExpectSignsAndVerifies(SignerUri("ed") + "&module-path=" + kSoftHsmModule, KeyType::kEd25519, ed_key_id_);
}

TEST_F(Pkcs11Test, PinSourceFileWorks) {
  ExpectSignsAndVerifies("pkcs11:token=arca-test;object=p256?pin-source=file:" + pin_file_,
                         KeyType::kEcdsaP256Sha256, p256_key_id_);
  ExpectSignsAndVerifies("pkcs11:token=arca-test;object=ed?pin-source=file://" + pin_file_, KeyType::kEd25519,
                         ed_key_id_);
}

TEST_F(Pkcs11Test, MissingPinSourceFileIsNotFound) {
  EXPECT_THAT(OpenPkcs11Signer("pkcs11:token=arca-test;object=ed?pin-source=file:" + dir_ + "/no-such.pin"),
              HasCodeAndMessage(StatusCode::kNotFound, "pin-source"));
}

TEST_F(Pkcs11Test, SeveralSignersInOneProcess) {
  // One module initialisation shared by both; each has its own session.
  auto ed = OpenPkcs11Signer(SignerUri("ed"));
  auto p256 = OpenPkcs11Signer(SignerUri("p256"));
  ASSERT_THAT(ed, IsOk());
  ASSERT_THAT(p256, IsOk());
  auto public_key = OpenPkcs11PublicKey("pkcs11:token=arca-test;object=p384");
  ASSERT_THAT(public_key, IsOk());
  const ByteSpan message = AsBytes("two keys, one command");
  for (auto* signer : {ed->get(), p256->get()}) {
    auto sig = signer->Sign(message);
    ASSERT_THAT(sig, IsOk());
    EXPECT_THAT(signer->public_key().Verify(message, *sig), IsOk());
  }
  // Dropping one leaves the other working (its session and login survive).
  ed->reset();
  auto sig = (*p256)->Sign(message);
  ASSERT_THAT(sig, IsOk());
  EXPECT_THAT((*p256)->public_key().Verify(message, *sig), IsOk());
  p256->reset();
  // After the last one is gone the module was finalised; it opens again.
  ExpectSignsAndVerifies(SignerUri("p384"), KeyType::kEcdsaP384Sha384, p384_key_id_);
}

TEST_F(Pkcs11Test, SecondKeyOnUnlockedTokenNeedsNoPin) {
  // Login is per token and process (PKCS#11 v2.40 §5.6), as documented.
  auto ed = OpenPkcs11Signer(SignerUri("ed"));
  ASSERT_THAT(ed, IsOk());
  auto p256 = OpenPkcs11Signer("pkcs11:token=arca-test;object=p256");
  ASSERT_THAT(p256, IsOk());
  ed->reset();
  auto sig = (*p256)->Sign(AsBytes("still logged in"));
  ASSERT_THAT(sig, IsOk());
  EXPECT_THAT((*p256)->public_key().Verify(AsBytes("still logged in"), *sig), IsOk());
  p256->reset();
  // With every session closed the token is locked again.
  EXPECT_THAT(OpenPkcs11Signer("pkcs11:token=arca-test;object=p256"), HasCode(StatusCode::kUnauthenticated));
}

TEST_F(Pkcs11Test, LoadSignerDispatchesPkcs11Uri) {
  auto signer = LoadSigner(FileSystem::Default(), SignerUri("ed"));
  ASSERT_THAT(signer, IsOk());
  EXPECT_EQ((*signer)->KeyId(), ed_key_id_);
  auto sig = (*signer)->Sign(AsBytes("via LoadSigner"));
  ASSERT_THAT(sig, IsOk());
  EXPECT_THAT((*signer)->public_key().Verify(AsBytes("via LoadSigner"), *sig), IsOk());
  EXPECT_THAT(LoadSigner(FileSystem::Default(), SignerUri("no-such-key")), HasCode(StatusCode::kNotFound));
}

TEST_F(Pkcs11Test, LoadPublicKeyDispatchesPkcs11Uri) {
  auto key = LoadPublicKey(FileSystem::Default(), "pkcs11:token=arca-test;object=p256");
  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(key->KeyId(), p256_key_id_);
  EXPECT_THAT(LoadPublicKey(FileSystem::Default(), "pkcs11:token=arca-test;object=no-such-key"),
              HasCode(StatusCode::kNotFound));
}

// --- AES secret keys (signer/pkcs11_aes.h)

TEST_F(Pkcs11Test, AesGcmMatchesTheGcmSpecificationTestCase16) {
  auto key = OpenPkcs11AesKey(SignerUri("gcm-kat"));
  ASSERT_THAT(key, IsOk());
  Bytes iv = *HexDecode(kGcmKatIv), aad = *HexDecode(kGcmKatAad), plaintext = *HexDecode(kGcmKatPlaintext);
  auto sealed = (*key)->GcmSeal(iv, aad, plaintext);
  ASSERT_THAT(sealed, IsOk());
  EXPECT_EQ(HexEncode(*sealed), kGcmKatSealed);
  Bytes opened(plaintext.size());
  ASSERT_THAT((*key)->GcmOpen(iv, aad, *HexDecode(kGcmKatSealed), opened), IsOk());
  EXPECT_EQ(opened, plaintext);
}

TEST_F(Pkcs11Test, AesGcmRefusesEveryFlippedByteAndOtherAad) {
  auto key = OpenPkcs11AesKey(SignerUri("master"));
  ASSERT_THAT(key, IsOk());
  Bytes nonce(12, 0x42), secret(32, 0x5a);
  const std::string aad = "arca-broker-lineage-v1";
  auto sealed = (*key)->GcmSeal(nonce, AsBytes(aad), secret);
  ASSERT_THAT(sealed, IsOk());
  ASSERT_EQ(sealed->size(), 48u);
  EXPECT_NE(Bytes(sealed->begin(), sealed->begin() + 32), secret);
  for (std::size_t i = 0; i < sealed->size(); ++i) {
    Bytes bad = *sealed;
    bad[i] ^= 0x01;
    Bytes out(32, 0xee);
    EXPECT_THAT((*key)->GcmOpen(nonce, AsBytes(aad), bad, out), HasCode(StatusCode::kUnauthenticated)) << i;
    EXPECT_EQ(out, Bytes(32, 0xee)) << "plaintext written for a bad tag, byte " << i;
  }
  Bytes out(32);
  EXPECT_THAT((*key)->GcmOpen(nonce, AsBytes("arca-broker-lineage-v2"), *sealed, out),
              HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT((*key)->GcmOpen(Bytes(12, 0x43), AsBytes(aad), *sealed, out), HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT((*key)->GcmSeal(Bytes(16), AsBytes(aad), secret).status(), HasCode(StatusCode::kInvalidArgument));
  ASSERT_THAT((*key)->GcmOpen(nonce, AsBytes(aad), *sealed, out), IsOk());
  EXPECT_EQ(out, secret);
}

TEST_F(Pkcs11Test, AesKeyOfAnotherSizeIsRefused) {
  EXPECT_THAT(OpenPkcs11AesKey(SignerUri("aes128")).status(),
              HasCodeAndMessage(StatusCode::kFailedPrecondition, "not AES-256"));
}

TEST_F(Pkcs11Test, SigningKeyIsNoAesKey) {
  EXPECT_THAT(OpenPkcs11AesKey(SignerUri("ed")).status(), HasCode(StatusCode::kNotFound));
  EXPECT_THAT(OpenPkcs11AesKey("pkcs11:token=arca-test;object=master;type=private?pin-value=1234").status(),
              HasCode(StatusCode::kInvalidArgument));
}

TEST_F(Pkcs11Test, AesKeyWithWrongPinIsUnauthenticatedAndNotEchoed) {
  auto key = OpenPkcs11AesKey("pkcs11:token=arca-test;object=master?pin-value=9999");
  EXPECT_THAT(key.status(), HasCode(StatusCode::kUnauthenticated));
  EXPECT_THAT(key.status().message(), Not(HasSubstr("9999")));
}

TEST_F(Pkcs11Test, CreatesAnAes256KeyOnceAndUsesIt) {
  const std::string uri = "pkcs11:token=arca-test;object=made-by-arca?pin-value=1234";
  ASSERT_THAT(CreatePkcs11AesKey(uri), IsOk());
  EXPECT_THAT(CreatePkcs11AesKey(uri), HasCode(StatusCode::kAlreadyExists));
  EXPECT_THAT(CreatePkcs11AesKey("pkcs11:token=arca-test?pin-value=1234"), HasCode(StatusCode::kInvalidArgument));
  auto key = OpenPkcs11AesKey(uri);
  ASSERT_THAT(key, IsOk());
  Bytes nonce(12, 7), secret(32, 9), out(32);
  auto sealed = (*key)->GcmSeal(nonce, {}, secret);
  ASSERT_THAT(sealed, IsOk());
  ASSERT_THAT((*key)->GcmOpen(nonce, {}, *sealed, out), IsOk());
  EXPECT_EQ(out, secret);
  // Another AES-256 key on the same token does not open it.
  auto other = OpenPkcs11AesKey(SignerUri("master"));
  ASSERT_THAT(other, IsOk());
  EXPECT_THAT((*other)->GcmOpen(nonce, {}, *sealed, out), HasCode(StatusCode::kUnauthenticated));
}

}  // namespace
}  // namespace arca::signer
