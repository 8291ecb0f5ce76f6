#include "base/time.h"

#include <cstdio>
#include <ctime>

namespace arca {

UnixSeconds NowUnixSeconds() { return static_cast<UnixSeconds>(std::time(nullptr)); }

Result<UnixSeconds> ParseRfc3339(std::string_view s, std::string_view what) {
  auto bad = [&] {
    return InvalidArgumentError(std::string(what) + ": expected RFC 3339 UTC time like 2025-06-01T00:00:00Z, got \"" +
                                std::string(s.substr(0, 40)) + "\"");
  };
  if (s.size() < 20) return bad();
  auto digits = [&](std::size_t pos, std::size_t n, int* out) {
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
  };
  int y, mo, d, h, mi, se;
  if (!digits(0, 4, &y) || s[4] != '-' || !digits(5, 2, &mo) || s[7] != '-' || !digits(8, 2, &d) ||
      (s[10] != 'T' && s[10] != 't') || !digits(11, 2, &h) || s[13] != ':' || !digits(14, 2, &mi) || s[16] != ':' ||
      !digits(17, 2, &se)) {
    return bad();
  }
  std::size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == start) return bad();
  }
  std::string_view zone = s.substr(pos);
  if (zone != "Z" && zone != "z" && zone != "+00:00") return bad();
  // One text per instant: no 31 February (which would silently become 3
  // March) and no leap second 60 (which would become the next minute).
  static constexpr int kDaysInMonth[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || se > 59) return bad();
  if (d < 1 || d > kDaysInMonth[mo - 1] + (mo == 2 && leap ? 1 : 0)) return bad();
  // Days from civil (Howard Hinnant's algorithm), no dependence on TZ.
  int yy = y - (mo <= 2);
  int era = (yy >= 0 ? yy : yy - 399) / 400;
  unsigned yoe = unsigned(yy - era * 400);
  unsigned doy = unsigned((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1);
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  std::int64_t days = std::int64_t(era) * 146097 + std::int64_t(doe) - 719468;
  return days * 86400 + h * 3600 + mi * 60 + se;
}

Result<UnixSeconds> ParseDateOrTime(std::string_view text, std::string_view what) {
  if (text.size() == 10) return ParseRfc3339(std::string(text) + "T00:00:00Z", what);
  return ParseRfc3339(text, what);
}

std::string FormatRfc3339(UnixSeconds t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  // Four-digit years always: strftime's %Y writes year 25 as "25", which
  // ParseRfc3339 (rightly) refuses, so a time would not survive a round trip.
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

}  // namespace arca
