// SNP certificate table (configfs-tsm auxblob): round trip of the simulated
// certificates, the GUID byte order, and bad input by field.
#include "attest/snp_cert_table.h"

#include <gtest/gtest.h>

#include "attest/sim.h"
#include "base/testing/status_matchers.h"

namespace arca::attest {
namespace {

std::vector<SnpCertEntry> Entries() {
  auto b = SimSnpEvidence({});
  EXPECT_TRUE(b.ok());
  return {{kSnpGuidVcek, "vcek", b->certificates[0]},
          {kSnpGuidAsk, "ask", b->certificates[1]},
          {kSnpGuidArk, "ark", b->certificates[2]}};
}

TEST(SnpCertTable, RoundTrips) {
  auto entries = Entries();
  auto table = SerializeSnpCertTable(entries);
  ASSERT_TRUE(table.ok());
  auto back = ParseSnpCertTable(*table);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*back)[i].guid, entries[i].guid);
    EXPECT_EQ((*back)[i].kind, entries[i].kind);
    EXPECT_EQ((*back)[i].der, entries[i].der);
  }
}

TEST(SnpCertTable, GuidFirstThreeFieldsAreLittleEndian) {
  auto table = SerializeSnpCertTable({{kSnpGuidVcek, "vcek", Bytes{1, 2, 3}}});
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(HexEncode(ByteSpan(*table).first(16)), "8d75da6364e66445adc5f4b93be8accd");
}

TEST(SnpCertTable, EmptyInputIsAnEmptyTable) {
  auto t = ParseSnpCertTable({});
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->empty());
}

TEST(SnpCertTable, RefusesMissingTerminator) {
  // One entry pointing right behind itself, and no zero entry.
  auto table = *SerializeSnpCertTable({{kSnpGuidVcek, "vcek", Bytes{1, 2, 3}}});
  Bytes cut(table.begin(), table.begin() + 24);
  StoreLe32(cut.data() + 16, 24);
  cut.insert(cut.end(), {1, 2, 3});
  EXPECT_THAT(ParseSnpCertTable(cut).status(),
              HasCodeAndMessage(StatusCode::kInvalidArgument, "entry 1: expected 24 bytes at offset 24"));
}

TEST(SnpCertTable, RefusesRangeOutsideTable) {
  auto table = *SerializeSnpCertTable({{kSnpGuidVcek, "vcek", Bytes{1, 2, 3}}});
  StoreLe32(table.data() + 20, 4);  // length one past the end
  EXPECT_THAT(ParseSnpCertTable(table).status(), HasCodeAndMessage(StatusCode::kInvalidArgument, "entry 0: offset 48 length 4"));
}

TEST(SnpCertTable, RefusesOffsetInsideEntryArray) {
  auto table = *SerializeSnpCertTable({{kSnpGuidVcek, "vcek", Bytes{1, 2, 3}}});
  StoreLe32(table.data() + 16, 0);
  EXPECT_THAT(ParseSnpCertTable(table).status(), HasCodeAndMessage(StatusCode::kInvalidArgument, "entry array end"));
}

TEST(SnpCertTable, RefusesOverlapAndDuplicates) {
  auto table = *SerializeSnpCertTable({{kSnpGuidVcek, "vcek", Bytes{1, 2, 3}}, {kSnpGuidAsk, "ask", Bytes{4, 5, 6}}});
  Bytes overlap = table;
  StoreLe32(overlap.data() + 24 + 16, LoadLe32(overlap.data() + 16));
  EXPECT_THAT(ParseSnpCertTable(overlap).status(), HasCodeAndMessage(StatusCode::kInvalidArgument, "overlap"));
  Bytes dup = table;
  std::copy(dup.begin(), dup.begin() + 16, dup.begin() + 24);
  EXPECT_THAT(ParseSnpCertTable(dup).status(), HasCodeAndMessage(StatusCode::kInvalidArgument, "duplicate GUID"));
}

TEST(SnpCertTable, RefusesOversize) {
  Bytes big(kMaxSnpCertTableBytes + 1, 0);
  EXPECT_THAT(ParseSnpCertTable(big).status(), HasCode(StatusCode::kResourceExhausted));
}

}  // namespace
}  // namespace arca::attest
