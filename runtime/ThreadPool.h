//===- ThreadPool.h - the runtime's worker threads --------------*- C++ -*-===//
//
// A fixed set of worker threads that kernels split their outer loops over.
// Each Executable owns one pool; run() makes it the calling thread's current
// pool for the duration of the call, and kernels find it through
// ThreadPool::current(), so generated code needs no extra argument and two
// executables running in two threads never share workers.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_RUNTIME_THREADPOOL_H
#define DLC_RUNTIME_THREADPOOL_H

#include "llvm/ADT/STLFunctionalExtras.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace dlc {

class ThreadPool {
public:
  /// A pool that runs work on `threads` threads: the caller and
  /// `threads - 1` workers. 0 means one per available core.
  explicit ThreadPool(unsigned threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  unsigned size() const { return unsigned(workers.size()) + 1; }

  /// Calls `body(i)` for every i in [0, count), spread over the pool's
  /// threads, and returns when all calls have returned. A parallelFor made
  /// from inside a job (a kernel calling a kernel) runs inline.
  void parallelFor(int64_t count, llvm::function_ref<void(int64_t)> body);

  /// Calls `body(begin, end)` on contiguous pieces that cover [lo, hi), a
  /// few per thread (uneven ranges, 3 channels on 2 threads, still
  /// balance), spread over the pool's threads.
  void parallelRanges(int64_t lo, int64_t hi,
                      llvm::function_ref<void(int64_t, int64_t)> body);

  /// The pool of the Executable::run on this thread's stack, or null.
  static ThreadPool *current();

  /// Makes `pool` the current pool of this thread while in scope.
  class Scope {
  public:
    explicit Scope(ThreadPool *pool);
    ~Scope();

  private:
    ThreadPool *previous;
  };

  /// The number of cores this process may run on.
  static unsigned availableCores();

private:
  void workerLoop();
  void runTasks();

  std::vector<std::thread> workers;
  std::mutex mutex;
  std::condition_variable wake, done;
  // The job being run: its body, its size, the next index to take, and
  // how many threads are still working on it.
  llvm::function_ref<void(int64_t)> body;
  int64_t count = 0;
  std::atomic<int64_t> next{0};
  std::atomic<unsigned> busy{0};
  // Bumped for every job; workers spin on it for a short while before
  // sleeping, so back-to-back jobs (one per kernel) do not pay a wake-up.
  std::atomic<uint64_t> generation{0};
  std::atomic<bool> stopping{false};
  std::mutex submit; // one parallelFor at a time
};

} // namespace dlc

/// Runs `task(args, begin, end)` on ranges that cover [lo, hi), spread over
/// the current pool's threads (inline without one). Generated code calls
/// it for the kernels that dlc-parallel-kernels split (KernelAbi.h).
extern "C" void dlc_parallel_for(void (*task)(void **args, int64_t begin, int64_t end),
                                 void **args, int64_t lo, int64_t hi);

#endif // DLC_RUNTIME_THREADPOOL_H
