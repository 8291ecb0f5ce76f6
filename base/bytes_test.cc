// Placeholder; replaced by the full test suite for base/bytes.
#include <gtest/gtest.h>
TEST(bytesPlaceholder, Builds) { SUCCEED(); }
