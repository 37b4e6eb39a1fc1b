//===- MappedPages.h - letting go of pages of a file mapping ----*- C++ -*-===//
//
// Weights read from a .dlc artifact, or kept in the compile cache
// (CompileCache::mapPieces), are pages of a read-only file mapping. Once
// such pages have been read for a purpose that is over (packed for the
// GEMM, checksummed, written out), the process can let them go: they stop
// counting in its resident memory and come back from the file, unchanged,
// if anything reads them again.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_RUNTIME_MAPPEDPAGES_H
#define DLC_RUNTIME_MAPPEDPAGES_H

#include <cstddef>
#include <cstdint>
#include <sys/mman.h>
#include <unistd.h>

namespace dlc {

/// Drops the pages wholly inside [data, data + bytes), which must lie in a
/// read-only file mapping (only whole pages: a page shared with a
/// neighbour in use is kept).
inline void dropMappedPages(const void *data, size_t bytes) {
  static const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
  uintptr_t begin = (uintptr_t(data) + page - 1) / page * page;
  uintptr_t end = (uintptr_t(data) + bytes) / page * page;
  if (end > begin)
    madvise(reinterpret_cast<void *>(begin), end - begin, MADV_DONTNEED);
}

} // namespace dlc

#endif // DLC_RUNTIME_MAPPEDPAGES_H
