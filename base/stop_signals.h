// How Arca's daemons stop (arca-registry, its witness mode, arca-keybroker,
// arca-runtime serve): SIGINT and SIGTERM are blocked before any thread
// starts — threads inherit the mask — and taken synchronously on the main
// thread, so shutdown runs as ordinary code, never in a signal handler.
// SIGPIPE is ignored: a peer closing a socket is an error return, not death.
#ifndef ARCA_BASE_STOP_SIGNALS_H_
#define ARCA_BASE_STOP_SIGNALS_H_

#include <pthread.h>
#include <signal.h>
#include <time.h>

namespace arca {

class StopSignals {
 public:
  // Blocks SIGINT/SIGTERM in the calling thread; construct it before
  // starting any thread.
  StopSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    signal(SIGPIPE, SIG_IGN);
  }

  // Wait blocks until one arrives and returns it.
  int Wait() const {
    int sig = 0;
    sigwait(&set_, &sig);
    return sig;
  }

  // Poll waits at most `ms` milliseconds; the signal, or 0 if none came.
  int Poll(long ms) const {
    timespec wait{ms / 1000, (ms % 1000) * 1000000};
    int sig = sigtimedwait(&set_, nullptr, &wait);
    return sig > 0 ? sig : 0;
  }

  // Describe names a stop signal for the "…, stopping" log line.
  static const char* Describe(int sig) { return sig == SIGINT ? "interrupted" : "terminated"; }

 private:
  sigset_t set_;
};

}  // namespace arca

#endif  // ARCA_BASE_STOP_SIGNALS_H_
