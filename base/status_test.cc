// Placeholder; replaced by the full test suite for base/status.
#include <gtest/gtest.h>
TEST(statusPlaceholder, Builds) { SUCCEED(); }
