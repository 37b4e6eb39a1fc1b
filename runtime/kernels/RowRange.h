//===- RowRange.h - tasks whose last rows another thread may take -*- C++ -*-===//
//
// A kernel whose tasks are ranges of rows, each row cheap next to a task
// but a task dear to split up front (the fused expansion and depthwise
// convolution recompute the expanded rows above a range's first row), ends
// unevenly: the thread that took the last task runs it alone while the
// others wait. Here a task's owner takes its rows one at a time from a
// RowRange, and a thread with no task left cuts off the second half of the
// rows left to the range with the most and runs them itself (itself a
// range that others may cut in turn). Splits happen only at a kernel's end,
// where they pay.
//
// For the runtime's kernel sources only.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_RUNTIME_KERNELS_ROWRANGE_H
#define DLC_RUNTIME_KERNELS_ROWRANGE_H

#include "runtime/ThreadPool.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstdint>
#include <memory>
#include <utility>

namespace dlc {

/// Rows [next, end) not yet taken: its owner takes them from the front,
/// other threads cut them off from the back. Both ends live in one atomic
/// word, so a row is either taken or cut off, never both. Rows are below
/// 2^32.
class RowRange {
public:
  /// Rows [begin, end) (0 <= begin, end < 2^32), before other threads
  /// take or cut them (what the caller wrote before is visible to a thread
  /// that sees these rows).
  void reset(int64_t begin, int64_t end) {
    assert(begin >= 0 && end >= 0 && end < (int64_t(1) << 32) && "rows out of range");
    bits.store(pack(begin, std::max(begin, end)), std::memory_order_release);
  }

  /// The next row for the owner, in order; false once none is left.
  bool take(int64_t &row) {
    uint64_t old = bits.load();
    while (true) {
      const int64_t next = int64_t(old >> 32), end = int64_t(old & 0xffffffffu);
      if (next >= end)
        return false;
      if (bits.compare_exchange_weak(old, pack(next + 1, end))) {
        row = next;
        return true;
      }
    }
  }

  /// Rows not yet taken.
  int64_t left() const {
    const uint64_t now = bits.load();
    return int64_t(now & 0xffffffffu) - int64_t(now >> 32);
  }

  /// Cuts off the last half of the rows left, if that is at least
  /// `minRows`: they become [begin, end) for the caller.
  bool cut(int64_t minRows, int64_t &begin, int64_t &end) {
    uint64_t old = bits.load();
    while (true) {
      const int64_t next = int64_t(old >> 32), last = int64_t(old & 0xffffffffu);
      const int64_t share = (last - next) / 2;
      if (share < minRows || share <= 0)
        return false;
      if (bits.compare_exchange_weak(old, pack(next, last - share))) {
        begin = last - share;
        end = last;
        return true;
      }
    }
  }

private:
  static uint64_t pack(int64_t next, int64_t end) {
    return uint64_t(next) << 32 | uint64_t(end);
  }

  std::atomic<uint64_t> bits{0};
};

/// Runs tasks [0, count) on `pool` (inline without one, or with a single
/// thread): task t over rows rows(t) = {begin, end} by `run(t, range)`,
/// which takes its rows from `range` in order with RowRange::take and stops
/// when it fails. A thread with no task left then cuts rows (at least
/// `minRows`) off the range with the most left and runs them through
/// `run(t, range)` again, its range now those rows; it stops when no range
/// has 2 · minRows left. So `run` may be called several times per task,
/// each time with rows the other calls do not get.
template <typename Rows, typename Run>
void forEachRowTask(ThreadPool *pool, int64_t count, Rows rows, int64_t minRows, Run run) {
  struct alignas(64) Slot {
    RowRange range;
    int64_t task = 0;
  };
  if (count <= 0)
    return;
  // The calling thread's slots, grown as needed and kept: one per task,
  // then one per attempt to cut (8 per thread in all; past that, no more
  // cuts). A call made from inside one of this call's tasks on the same
  // thread (none today) runs its tasks in turn, as the pool would.
  thread_local std::unique_ptr<Slot[]> storage;
  thread_local int64_t capacity = 0;
  thread_local bool inUse = false;
  const int64_t threads = pool ? int64_t(pool->size()) : 1;
  if (threads == 1 || count == 1 || inUse) {
    for (int64_t t = 0; t < count; ++t) {
      Slot slot;
      const auto [begin, end] = rows(t);
      slot.range.reset(begin, end);
      run(t, slot.range);
    }
    return;
  }
  const int64_t slots = count + 8 * threads;
  if (capacity < slots) {
    storage.reset(new Slot[size_t(slots)]);
    capacity = slots;
  }
  Slot *const slot = storage.get();
  inUse = true;
  struct Release {
    ~Release() { inUse = false; }
  } release;
  for (int64_t t = 0; t < slots; ++t) {
    const auto [begin, end] = t < count ? rows(t) : std::pair<int64_t, int64_t>{0, 0};
    slot[t].task = t < count ? t : 0;
    slot[t].range.reset(begin, end);
  }
  std::atomic<int64_t> used{count};
  // Indices past the tasks come out once all tasks have started: each
  // makes its thread a taker of cut rows until none are worth cutting.
  pool->parallelForInOrder(count + threads, [&](int64_t index) {
    if (index < count) {
      run(index, slot[index].range);
      return;
    }
    while (true) {
      int64_t most = 0, from = -1;
      const int64_t seen = std::min(used.load(), slots);
      for (int64_t s = 0; s < seen; ++s)
        if (const int64_t left = slot[s].range.left(); left > most)
          most = left, from = s;
      if (from < 0 || most < 2 * minRows)
        return;
      const int64_t mine = used.fetch_add(1);
      if (mine >= slots)
        return;
      int64_t begin, end;
      if (!slot[from].range.cut(minRows, begin, end))
        continue; // taken meanwhile; this slot stays empty
      // The task is written before the range that makes the slot visible.
      slot[mine].task = slot[from].task;
      slot[mine].range.reset(begin, end);
      run(slot[mine].task, slot[mine].range);
    }
  });
}

} // namespace dlc

#endif // DLC_RUNTIME_KERNELS_ROWRANGE_H
