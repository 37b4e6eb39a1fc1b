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
#include <memory>
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
  ///
  /// Thread t of n (the caller is 0, the workers 1 to n - 1) runs the
  /// t-th of n contiguous shares of the indices, in order, then takes
  /// what is left of the others' shares from their ends, one index at a
  /// time. So where a kernel's index i covers the i-th part of its output
  /// (pixel ranges, tiles, row blocks), each thread computes the same part
  /// of every layer and reads mostly what it wrote itself, from its own
  /// L2, rather than half of its input from the other core's; and a
  /// thread slowed down (a neighbour on the machine) still gets help.
  void parallelFor(int64_t count, llvm::function_ref<void(int64_t)> body);

  /// parallelFor with the indices handed out in increasing order to
  /// whichever thread asks next: index j starts only once every index
  /// below it has (forEachRowTask's takers of cut rows come last).
  void parallelForInOrder(int64_t count, llvm::function_ref<void(int64_t)> body);

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
  void run(int64_t count, llvm::function_ref<void(int64_t)> body, bool inOrder);
  void workerLoop(unsigned self);
  /// Runs the current job's indices as thread `self` (0 the caller).
  void runTasks(unsigned self);

  std::vector<std::thread> workers;
  std::mutex mutex;
  std::condition_variable wake, done;
  // The job being run: its body, its size, the next index to take (in
  // order) or each thread's share (otherwise), and how many threads are
  // still working on it.
  llvm::function_ref<void(int64_t)> body;
  int64_t count = 0;
  bool inOrder = false;
  std::atomic<int64_t> next{0};
  /// A thread's share of the indices not yet taken, [next, end), packed
  /// in one word (next in the high half) so that its owner taking from
  /// the front and another thread taking from the back never both get
  /// an index. A line each: the owners update theirs on every index.
  struct alignas(64) Share {
    std::atomic<uint64_t> bits{0};
  };
  std::unique_ptr<Share[]> shares;
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
