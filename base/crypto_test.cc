// Placeholder; replaced by the full test suite for base/crypto.
#include <gtest/gtest.h>
TEST(cryptoPlaceholder, Builds) { SUCCEED(); }
