// HttpForwarder between a real httplib front server and a real upstream on
// loopback: what passes, what is dropped, body bounds, rate limits, the
// reserved path prefix; TokenBucketLimiter with a fake clock.
#include "runtime/forwarder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <httplib.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "base/testing/status_matchers.h"

namespace arca::runtime {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

// --- TokenBucketLimiter --------------------------------------------------------

struct FakeClock {
  Clock::time_point now = Clock::time_point() + std::chrono::hours(1);
  TokenBucketLimiter::Clock fn() {
    return [this] { return now; };
  }
};

TEST(TokenBucketLimiterTest, AllowsTheBurstThenRefillsAtTheRate) {
  FakeClock clock;
  TokenBucketLimiter l(/*rate_per_s=*/0.5, /*burst=*/3, 100, clock.fn());
  EXPECT_EQ(l.Take("a"), std::nullopt);
  EXPECT_EQ(l.Take("a"), std::nullopt);
  EXPECT_EQ(l.Take("a"), std::nullopt);
  EXPECT_EQ(l.Take("a"), std::optional<std::uint32_t>(2));  // one token in 1 / 0.5 s
  EXPECT_EQ(l.Take("b"), std::nullopt) << "buckets are per key";
  clock.now += std::chrono::milliseconds(1000);
  EXPECT_EQ(l.Take("a"), std::optional<std::uint32_t>(1));  // half a token
  clock.now += std::chrono::milliseconds(1000);
  EXPECT_EQ(l.Take("a"), std::nullopt);
  EXPECT_EQ(l.Take("a"), std::optional<std::uint32_t>(2));
  clock.now += std::chrono::hours(1);  // refills to the burst, not beyond
  for (int i = 0; i < 3; ++i) EXPECT_EQ(l.Take("a"), std::nullopt);
  EXPECT_NE(l.Take("a"), std::nullopt);
}

TEST(TokenBucketLimiterTest, TableIsBoundedAndForgetsOnlyFullBuckets) {
  FakeClock clock;
  TokenBucketLimiter l(1, 2, /*max_keys=*/2, clock.fn());
  EXPECT_EQ(l.Take("a"), std::nullopt);
  EXPECT_EQ(l.Take("b"), std::nullopt);
  EXPECT_NE(l.Take("c"), std::nullopt) << "table full of active clients";
  clock.now += std::chrono::seconds(5);  // a and b are full again: forgettable
  EXPECT_EQ(l.Take("c"), std::nullopt);
  EXPECT_EQ(l.Take("c"), std::nullopt);
  EXPECT_NE(l.Take("c"), std::nullopt);
}

TEST(HopByHopTest, Names) {
  for (const char* h : {"Connection", "keep-alive", "TE", "Transfer-Encoding", "Upgrade", "Proxy-Authorization",
                        "Proxy-Authenticate", "Trailer"}) {
    EXPECT_TRUE(IsHopByHopHeader(h)) << h;
  }
  for (const char* h : {"Content-Type", "Authorization", "X-Request-Id", "Cookie"}) EXPECT_FALSE(IsHopByHopHeader(h)) << h;
}

// --- HttpForwarder -------------------------------------------------------------------

// Seen records what the upstream received.
struct Seen {
  std::mutex mu;
  std::string method, target, body;
  httplib::Headers headers;
  int count = 0;
};

class ForwarderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto record = [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard<std::mutex> l(seen_.mu);
        seen_.method = req.method;
        seen_.target = req.target;
        seen_.body = req.body;
        seen_.headers = req.headers;
        ++seen_.count;
      }
      res.status = req.path == "/created" ? 201 : 200;
      res.set_header("X-Engine", "yes");
      res.set_header("Proxy-Authenticate", "Basic");  // hop-by-hop: must not reach the client
      if (req.path == "/big") {
        res.set_content(std::string(4096, 'b'), "application/octet-stream");
      } else {
        res.set_content("answer to " + req.method + " " + req.body, "application/json");
      }
    };
    upstream_.Get(".*", record);
    upstream_.Post(".*", record);
    upstream_.Put(".*", record);
    upstream_.Patch(".*", record);
    upstream_.Delete(".*", record);
    upstream_.Options(".*", record);
    upstream_port_ = upstream_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(upstream_port_, 0);
    upstream_thread_ = std::thread([this] { upstream_.listen_after_bind(); });
    while (!upstream_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    options_.upstream_port = upstream_port_;
    options_.max_request_body_bytes = 1024;
    options_.max_response_body_bytes = 2048;
    options_.rate_per_s = 1000;
    options_.burst = 1000;
  }
  void TearDown() override {
    front_.stop();
    if (front_thread_.joinable()) front_thread_.join();
    forwarder_.reset();  // closes its keep-alive connections, or the upstream waits out their timeout
    upstream_.stop();
    if (upstream_thread_.joinable()) upstream_thread_.join();
  }

  // StartFront mounts a forwarder on a front server that also has its own
  // evidence route, registered after the forwarder on purpose.
  void StartFront() {
    auto f = HttpForwarder::Create(options_);
    ASSERT_THAT(f, IsOk());
    forwarder_ = std::move(*f);
    forwarder_->Mount(front_);
    front_.Get("/.well-known/arca/evidence", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("evidence", "text/plain");
    });
    front_port_ = front_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(front_port_, 0);
    front_thread_ = std::thread([this] { front_.listen_after_bind(); });
    while (!front_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  httplib::Client Front() { return httplib::Client("127.0.0.1", front_port_); }

  Seen seen_;
  httplib::Server upstream_, front_;
  std::thread upstream_thread_, front_thread_;
  int upstream_port_ = 0, front_port_ = 0;
  ForwarderOptions options_;
  std::unique_ptr<HttpForwarder> forwarder_;
};

TEST_F(ForwarderTest, PassesMethodTargetHeadersAndBody) {
  StartFront();
  auto c = Front();
  httplib::Headers h = {{"X-Request-Id", "r1"}, {"Authorization", "Bearer t"}, {"Connection", "X-Secret-Hop"},
                        {"X-Secret-Hop", "drop me"}, {"Keep-Alive", "timeout=5"}, {"TE", "trailers"}};
  auto r = c.Post("/created?x=1&y=%2F", h, "{\"q\":1}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "answer to POST {\"q\":1}");
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(r->get_header_value("X-Engine"), "yes");
  EXPECT_FALSE(r->has_header("Proxy-Authenticate"));
  std::lock_guard<std::mutex> l(seen_.mu);
  EXPECT_EQ(seen_.method, "POST");
  EXPECT_EQ(seen_.target, "/created?x=1&y=%2F");
  EXPECT_EQ(seen_.body, "{\"q\":1}");
  auto value = [&](const std::string& k) {
    auto it = seen_.headers.find(k);
    return it == seen_.headers.end() ? std::string("(absent)") : it->second;
  };
  EXPECT_EQ(value("X-Request-Id"), "r1");
  EXPECT_EQ(value("Authorization"), "Bearer t");
  EXPECT_EQ(value("Content-Type"), "application/json");
  EXPECT_EQ(value("X-Secret-Hop"), "(absent)") << "named in Connection: hop-by-hop";
  EXPECT_EQ(value("TE"), "(absent)");
  EXPECT_NE(value("Connection"), "X-Secret-Hop");
  // The upstream adds its own REMOTE_ADDR pseudo-header; a forwarded one would be a second.
  EXPECT_EQ(seen_.headers.count("REMOTE_ADDR"), 1u) << "httplib's pseudo-header was forwarded";
}

TEST_F(ForwarderTest, EveryMethodIsForwarded) {
  StartFront();
  auto c = Front();
  EXPECT_EQ(c.Get("/a")->body, "answer to GET ");
  EXPECT_EQ(c.Put("/a", "p", "text/plain")->body, "answer to PUT p");
  EXPECT_EQ(c.Patch("/a", "q", "text/plain")->body, "answer to PATCH q");
  EXPECT_EQ(c.Delete("/a")->body, "answer to DELETE ");
  EXPECT_EQ(c.Options("/a")->status, 200);
  std::lock_guard<std::mutex> l(seen_.mu);
  EXPECT_EQ(seen_.method, "OPTIONS");
  EXPECT_EQ(seen_.count, 5);
}

TEST_F(ForwarderTest, ReservedPathsAreNeverForwarded) {
  StartFront();
  auto c = Front();
  auto e = c.Get("/.well-known/arca/evidence");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->body, "evidence");
  auto other = c.Get("/.well-known/arca/other");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
  EXPECT_EQ(c.Post("/.well-known/arca/evidence", "x", "text/plain")->status, 404);
  std::lock_guard<std::mutex> l(seen_.mu);
  EXPECT_EQ(seen_.count, 0);
}

TEST_F(ForwarderTest, OversizedRequestBodyIs413AndNotForwarded) {
  StartFront();
  auto c = Front();
  c.set_keep_alive(true);
  auto r = c.Post("/a", std::string(1025, 'x'), "application/octet-stream");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  auto ok = c.Post("/a", std::string(1024, 'x'), "application/octet-stream");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  std::lock_guard<std::mutex> l(seen_.mu);
  EXPECT_EQ(seen_.count, 1);
}

TEST_F(ForwarderTest, OversizedChunkedRequestBodyIs413) {
  StartFront();
  auto c = Front();
  std::size_t sent = 0;
  auto r = c.Post(
      "/a",
      [&](std::size_t, httplib::DataSink& sink) {
        if (sent >= 4096) {
          sink.done();
          return true;
        }
        sink.write(std::string(512, 'z').data(), 512);
        sent += 512;
        return true;
      },
      "application/octet-stream");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  std::lock_guard<std::mutex> l(seen_.mu);
  EXPECT_EQ(seen_.count, 0);
}

TEST_F(ForwarderTest, OversizedResponseIs502) {
  StartFront();
  auto r = Front().Get("/big");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_THAT(r->body, HasSubstr("over 2048 bytes"));
}

TEST_F(ForwarderTest, RateLimitAnswers429WithRetryAfter) {
  FakeClock clock;
  options_.rate_per_s = 0.25;
  options_.burst = 2;
  options_.clock = clock.fn();
  StartFront();
  auto c = Front();
  c.set_keep_alive(true);  // a refused request's unread body must not poison the connection
  EXPECT_EQ(c.Get("/a")->status, 200);
  EXPECT_EQ(c.Post("/a", "x", "text/plain")->status, 200);
  auto limited = c.Post("/a", "y", "text/plain");
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->get_header_value("Retry-After"), "4");
  EXPECT_EQ(c.Get("/a")->status, 429);
  clock.now += std::chrono::seconds(4);
  EXPECT_EQ(c.Get("/a")->status, 200);
  std::lock_guard<std::mutex> l(seen_.mu);
  EXPECT_EQ(seen_.count, 3);
}

TEST_F(ForwarderTest, UnreachableEngineIs502) {
  options_.upstream_port = 1;  // nothing listens on tcp/1 here
  StartFront();
  auto r = Front().Get("/a");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_THAT(r->body, HasSubstr("engine unreachable"));
}

TEST_F(ForwarderTest, ManyConcurrentClientsGetTheirOwnAnswers) {
  StartFront();
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto c = Front();
      for (int i = 0; i < 10; ++i) {
        std::string body = std::to_string(t) + "-" + std::to_string(i);
        auto r = c.Post("/a", body, "text/plain");
        if (r && r->body == "answer to POST " + body) ++good;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good, 40);
}

TEST(HttpForwarderCreateTest, RefusesBadOptions) {
  ForwarderOptions o;
  EXPECT_THAT(HttpForwarder::Create(o), HasCodeAndMessage(StatusCode::kInvalidArgument, "port 0"));
  o.upstream_port = 8080;
  o.rate_per_s = 0;
  EXPECT_THAT(HttpForwarder::Create(o), HasCode(StatusCode::kInvalidArgument));
  o.rate_per_s = 1;
  o.max_request_body_bytes = 0;
  EXPECT_THAT(HttpForwarder::Create(o), HasCode(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace arca::runtime
