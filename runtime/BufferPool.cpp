//===- BufferPool.cpp - recycled buffers for generated code -----*- C++ -*-===//

#include "runtime/BufferPool.h"

#include <cstdlib>
#include <sys/mman.h>

using namespace dlc;

namespace {
thread_local BufferPool *currentPool = nullptr;

size_t roundedSize(size_t bytes) { return (std::max<size_t>(bytes, 1) + 63) / 64 * 64; }
} // namespace

BufferPool::~BufferPool() {
  for (auto &[size, buffers] : idle)
    for (void *buffer : buffers)
      std::free(buffer);
  // Buffers still in use belong to a run that never freed them; the
  // generated code frees everything it allocates, so there are none.
  for (auto &[buffer, size] : inUse)
    std::free(buffer);
}

void *dlc::allocateLarge(size_t bytes) {
  bytes = roundedSize(bytes); // aligned_alloc takes whole multiples of the alignment
  constexpr size_t kHugePage = size_t(2) << 20;
  size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  // A huge page is resident whole: round up only where little is wasted
  // (a 2.4 MB weight packing would take 4 MB).
  if (bytes < kHugePage || rounded - bytes > bytes / 8)
    return std::aligned_alloc(64, bytes);
  void *buffer = std::aligned_alloc(kHugePage, rounded);
  if (buffer)
    madvise(buffer, rounded, MADV_HUGEPAGE);
  return buffer;
}

void *BufferPool::allocate(size_t bytes) {
  size_t size = roundedSize(bytes);
  std::lock_guard<std::mutex> lock(mutex);
  void *buffer = nullptr;
  auto it = idle.find(size);
  if (it != idle.end() && !it->second.empty()) {
    buffer = it->second.back();
    it->second.pop_back();
  } else {
    buffer = allocateLarge(size);
    if (!buffer)
      return nullptr;
    held += size;
    ++fromSystem;
  }
  inUse.emplace(buffer, size);
  return buffer;
}

bool BufferPool::release(void *buffer) {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = inUse.find(buffer);
  if (it == inUse.end())
    return false;
  idle[it->second].push_back(buffer);
  inUse.erase(it);
  return true;
}

size_t BufferPool::bytesHeld() const {
  std::lock_guard<std::mutex> lock(mutex);
  return held;
}

uint64_t BufferPool::systemAllocations() const {
  std::lock_guard<std::mutex> lock(mutex);
  return fromSystem;
}

BufferPool *BufferPool::current() { return currentPool; }

BufferPool::Scope::Scope(BufferPool *pool) : previous(currentPool) { currentPool = pool; }

BufferPool::Scope::~Scope() { currentPool = previous; }

extern "C" void *dlc_malloc(size_t bytes) {
  if (BufferPool *pool = BufferPool::current())
    return pool->allocate(bytes);
  return std::malloc(bytes);
}

extern "C" void dlc_free(void *buffer) {
  if (!buffer)
    return;
  if (BufferPool *pool = BufferPool::current(); pool && pool->release(buffer))
    return;
  std::free(buffer);
}
