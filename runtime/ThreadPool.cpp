//===- ThreadPool.cpp - the runtime's worker threads ------------*- C++ -*-===//

#include "runtime/ThreadPool.h"

#include <algorithm>
#include <chrono>

#include <sched.h>

using namespace dlc;

namespace {
thread_local ThreadPool *currentPool = nullptr;
/// Set while a thread runs tasks of a job: a parallelFor from inside one
/// (a kernel calling a kernel) runs inline instead of waiting on itself.
thread_local bool insideJob = false;

/// How long a thread spins for the next job or for the end of a job before
/// it blocks: longer than the serial stretches between a run's parallel
/// kernels. On a virtual machine a blocked worker's CPU may be given away,
/// and waking it again took milliseconds at times: with 200 µs, ResNet-50
/// at batch 1 ran in 53 ms or in 90 ms from one process to the next.
constexpr std::chrono::microseconds kSpin(2000);

/// Takes an index from `share`: the first left (its owner) or the last
/// (another thread). False once none is left.
bool take(std::atomic<uint64_t> &share, bool owner, int64_t &index) {
  uint64_t old = share.load(std::memory_order_relaxed);
  while (true) {
    const uint64_t next = old >> 32, end = old & 0xffffffffu;
    if (next >= end)
      return false;
    const uint64_t now = owner ? (next + 1) << 32 | end : next << 32 | (end - 1);
    if (share.compare_exchange_weak(old, now, std::memory_order_relaxed)) {
      index = int64_t(owner ? next : end - 1);
      return true;
    }
  }
}

void relax() {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#endif
}

/// Spins until `ready()` or kSpin has passed; returns ready().
template <typename Ready> bool spinUntil(Ready ready) {
  auto deadline = std::chrono::steady_clock::now() + kSpin;
  while (!ready()) {
    for (int i = 0; i < 64; ++i)
      relax();
    if (std::chrono::steady_clock::now() > deadline)
      return ready();
  }
  return true;
}
} // namespace

unsigned ThreadPool::availableCores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

ThreadPool::ThreadPool(unsigned threads) {
  if (threads == 0)
    threads = availableCores();
  shares.reset(new Share[threads]);
  for (unsigned i = 1; i < threads; ++i)
    workers.emplace_back([this, i] { workerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stopping = true;
  }
  wake.notify_all();
  for (std::thread &worker : workers)
    worker.join();
}

ThreadPool *ThreadPool::current() { return currentPool; }

ThreadPool::Scope::Scope(ThreadPool *pool) : previous(currentPool) {
  currentPool = pool;
}

ThreadPool::Scope::~Scope() { currentPool = previous; }

void ThreadPool::runTasks(unsigned self) {
  // Indices are handed out one at a time: kernels make each index a block
  // of work large enough that the atomic operation does not matter.
  if (inOrder) {
    for (int64_t i = next.fetch_add(1); i < count; i = next.fetch_add(1))
      body(i);
    return;
  }
  // The thread's own share from the front, then the others' from the back.
  const unsigned threads = size();
  for (unsigned o = 0; o < threads; ++o) {
    std::atomic<uint64_t> &share = shares[(self + o) % threads].bits;
    for (int64_t i; take(share, /*owner=*/o == 0, i);)
      body(i);
  }
}

void ThreadPool::workerLoop(unsigned self) {
  insideJob = true;
  uint64_t seen = 0;
  while (true) {
    auto ready = [&] { return stopping.load() || generation.load() != seen; };
    if (!spinUntil(ready)) {
      std::unique_lock<std::mutex> lock(mutex);
      wake.wait(lock, ready);
    }
    if (stopping)
      return;
    seen = generation.load();
    runTasks(self);
    if (busy.fetch_sub(1) == 1) {
      std::lock_guard<std::mutex> lock(mutex);
      done.notify_one();
    }
  }
}

void ThreadPool::parallelFor(int64_t items, llvm::function_ref<void(int64_t)> work) {
  run(items, work, /*inOrder=*/false);
}

void ThreadPool::parallelForInOrder(int64_t items, llvm::function_ref<void(int64_t)> work) {
  run(items, work, /*inOrder=*/true);
}

void ThreadPool::run(int64_t items, llvm::function_ref<void(int64_t)> work, bool ordered) {
  if (items <= 0)
    return;
  if (workers.empty() || items == 1 || insideJob) {
    for (int64_t i = 0; i < items; ++i)
      work(i);
    return;
  }
  std::lock_guard<std::mutex> one(submit);
  {
    std::lock_guard<std::mutex> lock(mutex);
    body = work;
    count = items;
    // (Shares count in 32 bits; no kernel has 2^32 tasks.)
    inOrder = ordered || items >= (int64_t(1) << 32);
    next.store(0);
    const unsigned threads = size();
    for (unsigned t = 0; !inOrder && t < threads; ++t)
      shares[t].bits.store(uint64_t(items * t / threads) << 32 |
                               uint64_t(items * (t + 1) / threads),
                           std::memory_order_relaxed);
    busy.store(unsigned(workers.size()) + 1);
    generation.fetch_add(1);
  }
  wake.notify_all();
  insideJob = true;
  runTasks(0);
  insideJob = false;
  if (busy.fetch_sub(1) != 1 && !spinUntil([&] { return busy.load() == 0; })) {
    std::unique_lock<std::mutex> lock(mutex);
    done.wait(lock, [&] { return busy.load() == 0; });
  }
}

void ThreadPool::parallelRanges(int64_t lo, int64_t hi,
                                llvm::function_ref<void(int64_t, int64_t)> body) {
  const int64_t range = hi - lo;
  if (size() == 1 || range < 2) {
    body(lo, hi);
    return;
  }
  const int64_t pieces = std::min<int64_t>(range, 4 * int64_t(size()));
  parallelFor(pieces, [&](int64_t piece) {
    body(lo + range * piece / pieces, lo + range * (piece + 1) / pieces);
  });
}

extern "C" void dlc_parallel_for(void (*task)(void **args, int64_t begin, int64_t end),
                                 void **args, int64_t lo, int64_t hi) {
  // Each piece stays a contiguous block of the kernel's output.
  if (dlc::ThreadPool *pool = dlc::ThreadPool::current())
    pool->parallelRanges(lo, hi, [&](int64_t begin, int64_t end) { task(args, begin, end); });
  else
    task(args, lo, hi);
}
