// RunOrderedPipeline: produce items on one thread, transform them on N
// worker threads, consume the results in production order on the calling
// thread, with at most `max_in_flight` items alive at once (bounded memory
// whatever the input size). The first error stops every stage and is
// returned; items still queued are dropped (their destructors run, so
// SecretBytes and buffers are wiped/freed).
#ifndef ARCA_FORMAT_INTERNAL_ORDERED_PIPELINE_H_
#define ARCA_FORMAT_INTERNAL_ORDERED_PIPELINE_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/status.h"

namespace arca::format::internal {

template <typename In, typename Out>
struct PipelineStages {
  // produce returns the next item, std::nullopt at the end, or an error.
  std::function<Result<std::optional<In>>()> produce;
  // work transforms one item; called concurrently on worker threads. The
  // worker index (0..workers-1) lets callers keep per-thread state.
  std::function<Result<Out>(In&, std::size_t worker)> work;
  // consume receives results strictly in production order.
  std::function<Status(Out&)> consume;
};

template <typename In, typename Out>
Status RunOrderedPipeline(PipelineStages<In, Out> stages, std::size_t workers, std::size_t max_in_flight) {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<std::uint64_t, In>> queue;
  std::map<std::uint64_t, Out> done;
  std::uint64_t produced = 0, consumed = 0;
  bool producer_finished = false;
  Status error;  // first error wins
  auto fail = [&](Status s) {
    std::lock_guard<std::mutex> l(mu);
    if (error.ok()) error = std::move(s);
    cv.notify_all();
  };

  std::thread producer([&] {
    for (;;) {
      {
        std::unique_lock<std::mutex> l(mu);
        cv.wait(l, [&] { return !error.ok() || produced - consumed < max_in_flight; });
        if (!error.ok()) break;
      }
      auto item = stages.produce();
      if (!item.ok()) { fail(item.status()); break; }
      std::lock_guard<std::mutex> l(mu);
      if (!item->has_value()) break;
      queue.emplace_back(produced++, std::move(**item));
      cv.notify_all();
    }
    std::lock_guard<std::mutex> l(mu);
    producer_finished = true;
    cv.notify_all();
  });

  std::vector<std::thread> pool;
  for (std::size_t w = 0; w < workers; ++w) {
    pool.emplace_back([&, w] {
      for (;;) {
        std::pair<std::uint64_t, In> job;
        {
          std::unique_lock<std::mutex> l(mu);
          cv.wait(l, [&] { return !error.ok() || !queue.empty() || producer_finished; });
          if (!error.ok() || queue.empty()) return;
          job = std::move(queue.front());
          queue.pop_front();
        }
        auto out = stages.work(job.second, w);
        if (!out.ok()) { fail(out.status()); return; }
        std::lock_guard<std::mutex> l(mu);
        done.emplace(job.first, std::move(*out));
        cv.notify_all();
      }
    });
  }

  for (;;) {
    std::optional<Out> next;
    {
      std::unique_lock<std::mutex> l(mu);
      cv.wait(l, [&] {
        return !error.ok() || done.count(consumed) > 0 || (producer_finished && consumed == produced);
      });
      if (!error.ok() || (producer_finished && consumed == produced && done.count(consumed) == 0)) break;
      auto it = done.find(consumed);
      next.emplace(std::move(it->second));
      done.erase(it);
    }
    Status s = stages.consume(*next);
    std::lock_guard<std::mutex> l(mu);
    ++consumed;
    cv.notify_all();
    if (!s.ok()) {
      if (error.ok()) error = std::move(s);
      break;
    }
  }
  {
    std::lock_guard<std::mutex> l(mu);
    if (error.ok() && !(producer_finished && consumed == produced)) error = InternalError("pipeline stopped early");
    if (!error.ok()) cv.notify_all();
  }
  producer.join();
  for (auto& t : pool) t.join();
  return error;
}

}  // namespace arca::format::internal

#endif  // ARCA_FORMAT_INTERNAL_ORDERED_PIPELINE_H_
