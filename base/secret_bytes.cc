#include "base/secret_bytes.h"

#include <openssl/crypto.h>

#include <cstring>
#include <new>

namespace arca {

SecretBytes::SecretBytes(std::size_t size) : size_(size) {
  if (size_ > 0) {
    data_ = new std::uint8_t[size_];
    std::memset(data_, 0, size_);
  }
}

SecretBytes SecretBytes::CopyFrom(std::span<const std::uint8_t> data) {
  SecretBytes s(data.size());
  if (!data.empty()) std::memcpy(s.data_, data.data(), data.size());
  return s;
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Wipe();
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

SecretBytes::~SecretBytes() { Wipe(); }

void SecretBytes::Wipe() {
  if (data_ != nullptr) {
    OPENSSL_cleanse(data_, size_);
    delete[] data_;
  }
  data_ = nullptr;
  size_ = 0;
}

}  // namespace arca
