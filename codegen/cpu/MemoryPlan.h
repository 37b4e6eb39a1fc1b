//===- MemoryPlan.h - placing buffers in one arena --------------*- C++ -*-===//
//
// Given each intermediate buffer's size and live range (the positions of
// its allocation and of its release in the fixed schedule), chooses an
// offset for each in one arena so that buffers alive at the same time never
// overlap. Best fit, trying two orders (largest first, earliest first) and
// keeping the smaller arena, as XLA's heap simulator does.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_CODEGEN_CPU_MEMORYPLAN_H
#define DLC_CODEGEN_CPU_MEMORYPLAN_H

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <vector>

namespace mlir {
class Operation;
namespace func {
class FuncOp;
} // namespace func
} // namespace mlir

namespace dlc {

/// The alignment of the arena and of every buffer in it (a cache line, and
/// enough for any vector load).
constexpr int64_t kArenaAlignment = 64;

/// The attributes dlc-plan-memory gives @main: the arena's bytes and the
/// intermediate buffers' bytes apart (for reports).
constexpr const char *kArenaBytesAttr = "dlc.arena_bytes";
constexpr const char *kIntermediateBytesAttr = "dlc.intermediate_bytes";

/// One buffer: `bytes` long, alive from schedule position `first` to `last`
/// (both included).
struct LiveRange {
  int64_t bytes;
  int64_t first, last;
};

struct ArenaPlan {
  std::vector<int64_t> offsets; ///< per buffer, in the order given
  int64_t size = 0;             ///< bytes of the arena
};

/// Every offset is a multiple of `alignment`; sizes are rounded up to it.
ArenaPlan planArena(llvm::ArrayRef<LiveRange> buffers, int64_t alignment = kArenaAlignment);

/// The plan dlc-plan-memory makes for one function on buffers (for
/// reporting; the pass applies it): every buffer it places, with its
/// allocation op, live range and offset.
struct FunctionMemoryPlan {
  struct Buffer {
    mlir::Operation *alloc;
    LiveRange range;
    int64_t offset;
  };
  std::vector<Buffer> buffers;
  int64_t arenaBytes = 0;
  int64_t separateBytes = 0; ///< the buffers apart, each rounded to kArenaAlignment
};
FunctionMemoryPlan planFunctionMemory(mlir::func::FuncOp function);

} // namespace dlc

#endif // DLC_CODEGEN_CPU_MEMORYPLAN_H
