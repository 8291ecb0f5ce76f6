#include "base/secret_bytes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <type_traits>
#include <utility>

#include "base/bytes.h"

namespace arca {
namespace {

Bytes Copy(std::span<const std::uint8_t> s) { return Bytes(s.begin(), s.end()); }

static_assert(!std::is_copy_constructible_v<SecretBytes>, "secrets must not be copied implicitly");
static_assert(!std::is_copy_assignable_v<SecretBytes>, "secrets must not be copied implicitly");
static_assert(std::is_nothrow_move_constructible_v<SecretBytes>);
static_assert(std::is_nothrow_move_assignable_v<SecretBytes>);

TEST(SecretBytesTest, DefaultIsEmpty) {
  SecretBytes s;
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.size(), 0u);
  EXPECT_TRUE(s.Expose().empty());
}

TEST(SecretBytesTest, SizedConstructorZeroFills) {
  SecretBytes s(32);
  EXPECT_EQ(s.size(), 32u);
  EXPECT_FALSE(s.empty());
  EXPECT_TRUE(std::all_of(s.Expose().begin(), s.Expose().end(), [](std::uint8_t b) { return b == 0; }));
}

TEST(SecretBytesTest, SizedConstructorWithZeroIsEmpty) {
  SecretBytes s(0);
  EXPECT_TRUE(s.empty());
}

TEST(SecretBytesTest, CopyFromCopiesBytes) {
  Bytes key = {1, 2, 3, 4, 5};
  SecretBytes s = SecretBytes::CopyFrom(key);
  EXPECT_EQ(Copy(s.Expose()), key);
  EXPECT_NE(s.Expose().data(), key.data());
}

TEST(SecretBytesTest, CopyFromIsIndependentOfSource) {
  Bytes key = {9, 9, 9};
  SecretBytes s = SecretBytes::CopyFrom(key);
  key[0] = 0;
  EXPECT_EQ(Copy(s.Expose()), (Bytes{9, 9, 9}));
}

TEST(SecretBytesTest, CopyFromEmpty) {
  SecretBytes s = SecretBytes::CopyFrom({});
  EXPECT_TRUE(s.empty());
}

TEST(SecretBytesTest, MoveConstructionLeavesSourceEmpty) {
  SecretBytes a = SecretBytes::CopyFrom(Bytes{1, 2, 3});
  const std::uint8_t* data = a.Expose().data();
  SecretBytes b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_EQ(a.Expose().data(), nullptr);
  EXPECT_EQ(b.Expose().data(), data);  // moved, not copied
  EXPECT_EQ(Copy(b.Expose()), (Bytes{1, 2, 3}));
}

TEST(SecretBytesTest, MoveAssignmentLeavesSourceEmpty) {
  SecretBytes a = SecretBytes::CopyFrom(Bytes{1, 2, 3});
  SecretBytes b = SecretBytes::CopyFrom(Bytes{7, 7});
  b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(Copy(b.Expose()), (Bytes{1, 2, 3}));
}

TEST(SecretBytesTest, SelfMoveAssignmentKeepsValue) {
  SecretBytes a = SecretBytes::CopyFrom(Bytes{4, 5});
  SecretBytes& alias = a;
  a = std::move(alias);
  EXPECT_EQ(Copy(a.Expose()), (Bytes{4, 5}));
}

TEST(SecretBytesTest, MovedFromCanBeReassigned) {
  SecretBytes a = SecretBytes::CopyFrom(Bytes{1});
  SecretBytes b(std::move(a));
  a = SecretBytes::CopyFrom(Bytes{2, 2});  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(Copy(a.Expose()), (Bytes{2, 2}));
  EXPECT_EQ(Copy(b.Expose()), (Bytes{1}));
}

TEST(SecretBytesTest, CloneIsIndependent) {
  SecretBytes a = SecretBytes::CopyFrom(Bytes{1, 2, 3});
  SecretBytes b = a.Clone();
  EXPECT_EQ(Copy(b.Expose()), (Bytes{1, 2, 3}));
  EXPECT_NE(a.Expose().data(), b.Expose().data());
  a.ExposeMutable()[0] = 0xff;
  EXPECT_EQ(b.Expose()[0], 1);
  b.ExposeMutable()[1] = 0xee;
  EXPECT_EQ(a.Expose()[1], 2);
}

TEST(SecretBytesTest, CloneOfEmptyIsEmpty) {
  SecretBytes a;
  EXPECT_TRUE(a.Clone().empty());
}

TEST(SecretBytesTest, ExposeMutableWritesThrough) {
  SecretBytes s(2);
  s.ExposeMutable()[1] = 0x42;
  EXPECT_EQ(Copy(s.Expose()), (Bytes{0, 0x42}));
}

}  // namespace
}  // namespace arca
