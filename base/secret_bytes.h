// SecretBytes: an owned buffer for key material.
//
// Protects against secrets lingering in freed heap memory (wiped with
// OPENSSL_cleanse on destruction and on reassignment) and against accidental
// copies or logging (move-only, no stream operator, no implicit conversion).
// It does not protect against swapping or core dumps of live memory; the
// runtime adds mlock/MADV_DONTDUMP for that. The only accessor for the raw
// bytes is `Expose()`, so every use of a secret can be found with grep.
#ifndef ARCA_BASE_SECRET_BYTES_H_
#define ARCA_BASE_SECRET_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <span>

namespace arca {

class SecretBytes {
 public:
  SecretBytes() = default;
  // Creates a zero-filled secret of `size` bytes.
  explicit SecretBytes(std::size_t size);
  // Copies `data` into a new secret. The caller wipes its own copy.
  static SecretBytes CopyFrom(std::span<const std::uint8_t> data);

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Expose returns the raw bytes. Greppable on purpose: each call site is a
  // place a secret leaves its box.
  std::span<const std::uint8_t> Expose() const { return {data_, size_}; }
  std::span<std::uint8_t> ExposeMutable() { return {data_, size_}; }

  // Clone makes an independent copy (explicit, never implicit).
  SecretBytes Clone() const { return CopyFrom(Expose()); }

 private:
  void Wipe();
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace arca

#endif  // ARCA_BASE_SECRET_BYTES_H_
