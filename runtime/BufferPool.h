//===- BufferPool.h - recycled buffers for generated code -------*- C++ -*-===//
//
// Generated code allocates its intermediate buffers with malloc and frees
// them after their last use. The JIT binds those calls to dlc_malloc and
// dlc_free, which take buffers from the running Executable's BufferPool:
// a freed buffer is kept, keyed by size, and handed out again to the next
// allocation of that size. Every run of a model allocates the same sizes in
// the same order, so from the second run on nothing reaches the system
// allocator and no page is faulted in or cleared again. The pool holds the
// peak of a run, as an arena planned ahead of time would.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_RUNTIME_BUFFERPOOL_H
#define DLC_RUNTIME_BUFFERPOOL_H

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace dlc {

class BufferPool {
public:
  BufferPool() = default;
  ~BufferPool();
  BufferPool(const BufferPool &) = delete;
  BufferPool &operator=(const BufferPool &) = delete;

  /// A 64-byte-aligned buffer of at least `bytes` bytes.
  void *allocate(size_t bytes);
  /// Takes back a buffer from allocate(); false when it is not this pool's.
  bool release(void *buffer);

  /// Bytes the pool holds, in use or kept for reuse.
  size_t bytesHeld() const;
  /// How many allocations the system allocator served.
  uint64_t systemAllocations() const;

  /// The pool of the Executable::run on this thread's stack, or null.
  static BufferPool *current();

  /// Makes `pool` this thread's current pool while in scope.
  class Scope {
  public:
    explicit Scope(BufferPool *pool);
    ~Scope();

  private:
    BufferPool *previous;
  };

private:
  mutable std::mutex mutex;
  std::unordered_map<size_t, std::vector<void *>> idle; // by rounded size
  std::unordered_map<void *, size_t> inUse;
  size_t held = 0;
  uint64_t fromSystem = 0;
};

/// A 64-byte-aligned buffer of at least `bytes` for std::free.
/// From 2 MB on, where rounding up to whole 2 MB pages wastes at most an
/// eighth, it is aligned to 2 MB and backed by transparent huge pages where
/// the kernel allows (madvise): kernels that stride through big buffers
/// (GEMM packing, im2col) then miss the TLB far less.
void *allocateLarge(size_t bytes);

} // namespace dlc

/// What generated code calls for malloc and free (bound by the JIT): the
/// current BufferPool's buffers, or the system allocator outside a run.
extern "C" void *dlc_malloc(size_t bytes);
extern "C" void dlc_free(void *buffer);

#endif // DLC_RUNTIME_BUFFERPOOL_H
