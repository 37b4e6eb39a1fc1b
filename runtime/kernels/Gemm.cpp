//===- Gemm.cpp - dense matrix products for the CPU -------------*- C++ -*-===//
//
// The blocked GEMM driver around the micro-kernels:
//
//   pack B into panels of nr columns (zero-padded), per block of KC rows,
//   in parallel
//   in parallel over tasks of (up to MC rows of A) × (up to NC columns of C):
//     for each block of KC rows of B:
//       for each panel in the columns:        the panel stays in L1
//         for each group of mr rows:          A streams from L2
//           micro-kernel: C[mr × nr] += A[mr × kc] · panel[kc × nr]
//           (in the last block, the epilogue applied to the tile's sums
//           in registers, where the micro-kernel can; otherwise on the
//           panel's columns after it)
//
// A product on one thread with a single short block of k packs its
// panels in groups that fill half of L1 and runs each row tile over a
// group, so that a wide C is written in long runs.
//
// A is read in place (its rows are broadcast element by element), so only
// B is copied, and only when enough rows of A reuse it; a product with few
// rows (a small batch) reads B in place, and one with few rows and a
// transposed B is dot products (gemvTransposed), or, with up to 128 rows
// and a B that is not a cached weight (a training batch through a dense
// layer), Cᵀ = Bᵀ·Aᵀ with only A packed (gemmSwapped). A weight's packing
// is kept in the executable's GemmPackCache; other packings go to a buffer
// per calling thread, reused. Two synchronizations per product: packing
// (none once a weight is packed), products.
//
// Convolutions (dlc_conv2d_f32, at the end) use the same micro-kernels as
// an implicit GEMM: the patches are packed panel by panel straight from
// the images, so no im2col buffer exists.
//
//===----------------------------------------------------------------------===//

#include "runtime/kernels/Gemm.h"
#include "codegen/cpu/KernelAbi.h"
#include "runtime/BufferPool.h"
#include "runtime/KernelProfile.h"
#include "runtime/MappedPages.h"
#include "runtime/ThreadPool.h"
#include "runtime/kernels/KernelUtil.h"
#include "runtime/kernels/Winograd.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

using namespace dlc;

namespace {

constexpr int64_t KC = 256; // rows of B per block: a panel of it fits L1
// Rows of A per task at most: its block (128 KB) fits L2. (96 until
// 2026-11-27: BERT's products have 128 rows, which made tasks of 96 and 32
// rows that each read their columns of the weight from memory, twice in
// all; with one task of 128 BERT at batch 1 was 3% faster, batch 8 and the
// CNNs unchanged.)
constexpr int64_t MC = 128;
constexpr int64_t NC = 256; // columns of C per task at most
constexpr int64_t kL1Bytes = 32 << 10; // L1 data cache per core (shared/PERF.md)
/// Below this many rows of A, B is read in place: each panel would serve
/// too few micro-tiles to pay for copying it. (Packing panels inside each
/// task instead was measured slower at every size.)
constexpr int64_t kPackRows = 32;
/// Products with a transposed B that is not a packed weight and at most
/// this many rows run as Cᵀ = Bᵀ·Aᵀ (gemmSwapped), packing A, not B.
constexpr int64_t kSwapMaxRows = 128;
/// The largest micro-kernel tile (mr·nr floats) gemmSwapped keeps on its stack.
constexpr int64_t kSwapMaxTile = 64 * 64;
/// Convolutions with at most this many output channels read their patches
/// in place (runIndirect) instead of packing them: their packed patches
/// would serve too few rows of the filter to pay for the copy. (64 until
/// 2026-11-26: ResNet-50's 128-channel 3×3 layers measured 1-3% faster
/// for the whole model this way, 32 and 256 slower.)
constexpr int64_t kConvIndirectMaxChannels = 128;
/// And so do those with up to this many output channels and at least this
/// many output pixels (ResNet-50's 256-channel 3×3 layers from batch 8 on:
/// the model 2.2-3.1% faster at batches 8 and 32; at batch 1, 196 pixels,
/// 3% slower).
constexpr int64_t kConvIndirectWideMaxChannels = 256, kConvIndirectWideMinPixels = 1024;
/// Rows of K per step of the sums where pixels are the kernel's rows (the
/// two paths above): a group of pixels reads a line of each row (64 B)
/// and the filter chunk nr floats of it, so 64 rows take 12 KB of L1,
/// where a block of KC took 48 KB, all of an Intel core's L1 and more
/// than Zen 4's (ResNet-50 on an Intel Xeon, in-process A/B against KC:
/// batch 1 one thread 0.907, two 0.926, batch 8 0.921; MobileNetV2 0.948;
/// 128 rows: 0.930 on one thread, 32: 0.974; against 64, 96 rows 0.992
/// and 48 rows 1.025 on two; not measured on Zen 4).
constexpr int64_t kIndirectKC = 64;
/// A convolution of a weight reads its patches in place, its filter packed
/// once per executable, up to this many output pixels.
constexpr int64_t kConvCachedFilterMaxPixels = 256;
/// On several threads, a pointwise product whose pixels that path would
/// split between the threads runs through gemmBlocked instead from this
/// many pixels on (see dlc_gemm_f32).
constexpr int64_t kGemmBlockedMinSplitPixels = 128;
/// Convolutions with at most this many input channels (an image's red,
/// green and blue, or a gray level) and patch elements are summed tap by
/// tap from the input rows where the kernel can (GemmMicroKernel::convTaps).
/// MobileNetV2's first layer (3 channels, 3×3, K = 27) took 0.68-0.74 of
/// the implicit GEMM's time that way; ResNet-50's (7×7, K = 147) took
/// 1.17-1.20 of it: its long sums amortize the GEMM's copies to the output,
/// and the taps' stride-2 loads cost a permutation each.
constexpr int64_t kConvTapsMaxChannels = 4, kConvTapsMaxTaps = 32;
/// GemmPackCache keys' bStrideN for a convolution's transposed filter (a
/// GEMM packing's is a stride, never negative; Winograd's is -1).
constexpr int64_t kConvFilterKeyTag = -2;
/// Products with fewer multiply-adds run on one thread: waking the others
/// costs more than it saves.
constexpr int64_t kParallelMinWork = int64_t(1) << 21;
/// Below this many multiply-adds, a product with a row-major B that is not
/// a cached weight packs B within its tasks (gemmBlocked).
constexpr int64_t kSmallProductWork = int64_t(1) << 24;
/// Products with few rows are bound by reading B: two threads read it
/// faster than one from a smaller size on (a 1024×1024 dense layer at batch
/// 1: 0.157 -> 0.086 ms for the MLP of the benchmark).
constexpr int64_t kGemvParallelMinWork = int64_t(1) << 17;

/// The scalar fallback, for CPUs without AVX2 and FMA.
void portableKernel(int64_t kc, const float *a, int64_t lda, int rows, const float *b,
                    int64_t ldb, float *c, int64_t ldc, int cols, bool accumulate) {
  constexpr int MR = 4, NR = 8;
  float acc[MR][NR] = {};
  for (int64_t p = 0; p < kc; ++p)
    for (int i = 0; i < rows; ++i) {
      float ai = a[i * lda + p];
      for (int j = 0; j < NR; ++j)
        acc[i][j] += ai * b[p * ldb + j];
    }
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j)
      c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];
}

const GemmMicroKernel portable = {"portable 4x8", 4, 8, portableKernel, nullptr, nullptr, nullptr};

/// What a thread's scratch buffer holds, each in a buffer of its own since
/// one product may need several: all of B's panels, a transposed A copied
/// to rows, or the panel a task packs for itself (packInTasks).
enum class Scratch { Panels, RowsOfA, TaskPanel };

/// A 64-byte-aligned scratch buffer per thread and use, grown as needed and
/// never shrunk, so steady-state runs allocate nothing.
float *packingBuffer(size_t floats, Scratch use = Scratch::Panels) {
  struct Buffer {
    std::unique_ptr<float, decltype(&std::free)> data{nullptr, &std::free};
    size_t capacity = 0;
  };
  thread_local Buffer buffers[3];
  Buffer &buffer = buffers[int(use)];
  if (floats > buffer.capacity) {
    buffer.data.reset(static_cast<float *>(allocateLarge(floats * sizeof(float))));
    buffer.capacity = buffer.data ? floats : 0;
  }
  return buffer.data.get();
}

/// Prefetches part `part` of `parts` of the `floats` floats at `next` into
/// L2: the chunk of a packed operand that the caller reads after the one
/// it works on, spread over the caller's tiles. (A weight, packed once per
/// executable, comes from memory on every run of a batch-1 model; the
/// hardware prefetcher runs only a few lines ahead of the first tile that
/// reads a chunk, which then stalls on most of them. For gemmBlocked's
/// packed weights, BERT's and the MLP's, it made no difference beyond the
/// noise.)
inline void prefetchPart(const float *next, int64_t floats, int64_t part, int64_t parts) {
  for (int64_t e = part * floats / parts / 16 * 16, end = (part + 1) * floats / parts; e < end;
       e += 16)
    __builtin_prefetch(next + e, /*read*/ 0, /*L2*/ 2);
}

/// Copies kc rows of B's columns [column, column + nr) into `panel`, padding
/// columns past n with zeros. B's element (p, j) is at p·strideK + j·strideN.
void packPanel(const float *b, int64_t strideK, int64_t strideN, int64_t kc,
               int64_t n, int64_t column, int nr, float *panel) {
  int64_t width = std::min<int64_t>(nr, n - column);
  if (strideN == 1) {
    for (int64_t p = 0; p < kc; ++p) {
      float *target = panel + p * nr;
      std::memcpy(target, b + p * strideK + column, width * sizeof(float));
      std::fill(target + width, target + nr, 0.0f);
    }
    return;
  }
  // A transposed B: read each of its rows (a column of the panel) in order.
  for (int64_t jj = 0; jj < width; ++jj) {
    const float *source = b + (column + jj) * strideN;
    for (int64_t p = 0; p < kc; ++p)
      panel[p * nr + jj] = source[p * strideK];
  }
  for (int64_t p = 0; p < kc; ++p)
    std::fill(panel + p * nr + width, panel + p * nr + nr, 0.0f);
}

/// C += A·B with few rows and a transposed B (each column of B contiguous,
/// as a dense layer's weights are): one dot product per element of C,
/// reading B once in order. Such products are bound by memory, not by FMAs.
void gemvTransposed(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                    const float *bT, int64_t ldbT, float *c, int64_t ldc, ThreadPool *pool,
                    bool overwrite, const GemmMicroKernel &kernel, const GemmEpilogue *epilogue) {
  constexpr int64_t kColumnsPerTask = 64;
  forEachTask(pool, (n + kColumnsPerTask - 1) / kColumnsPerTask, [&](int64_t task) {
    int64_t jEnd = std::min(n, (task + 1) * kColumnsPerTask);
    int64_t j = task * kColumnsPerTask;
    if (kernel.dot4) {
      for (; j < jEnd; j += 4) {
        int columns = int(std::min<int64_t>(4, jEnd - j));
        // A partial group reads its last column again and drops the sums.
        const float *column[4];
        for (int q = 0; q < 4; ++q)
          column[q] = bT + (j + std::min(q, columns - 1)) * ldbT;
        for (int64_t i = 0; i < m; ++i) {
          float sums[4];
          kernel.dot4(k, a + i * lda, column, sums);
          for (int q = 0; q < columns; ++q) {
            float &out = c[i * ldc + j + q];
            out = overwrite ? sums[q] : out + sums[q];
          }
        }
      }
      if (epilogue)
        epilogue->apply(kernel, c, ldc, 0, m, task * kColumnsPerTask, jEnd);
      return;
    }
    const int64_t jBegin = j;
    for (; j < jEnd; ++j) {
      const float *column = bT + j * ldbT;
      for (int64_t i = 0; i < m; ++i) {
        const float *row = a + i * lda;
        // Independent partial sums, so the compiler vectorizes the loop.
        constexpr int kLanes = 16;
        float lanes[kLanes] = {};
        int64_t p = 0;
        for (; p + kLanes <= k; p += kLanes)
          for (int l = 0; l < kLanes; ++l)
            lanes[l] += row[p + l] * column[p + l];
        float sum = 0;
        for (; p < k; ++p)
          sum += row[p] * column[p];
        for (float lane : lanes)
          sum += lane;
        c[i * ldc + j] = overwrite ? sum : c[i * ldc + j] + sum;
      }
    }
    if (epilogue)
      epilogue->apply(kernel, c, ldc, 0, m, jBegin, jEnd);
  });
}

/// C += A·B with a transposed B (each column of B contiguous: a dense
/// layer's weights) that is not a packed weight, and few rows (a training
/// batch): computed as Cᵀ = Bᵀ·Aᵀ. Bᵀ's rows are B's columns, so the
/// micro-kernel reads them in place as its left operand, and only Aᵀ (m
/// columns, small) is packed, once: packing B would copy all of it on
/// every call, about as costly as the product. Each mr × nr tile of Cᵀ is
/// summed over all of k at once (Aᵀ's panels stay in L2) and written into
/// C transposed.
void gemmSwapped(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                 const float *bT, int64_t ldbT, float *c, int64_t ldc,
                 const GemmMicroKernel &kernel, ThreadPool *pool, bool overwrite,
                 const GemmEpilogue *epilogue) {
  const int mr = kernel.mr, nr = kernel.nr;
  const int64_t panels = (m + nr - 1) / nr;
  // Aᵀ as panels of nr of its columns (rows of A), k × nr each, zero-padded.
  float *packed = packingBuffer(size_t(panels * k * nr));
  forEachTask(pool, panels, [&](int64_t panel) {
    float *target = packed + panel * k * nr;
    const int64_t rows = std::min<int64_t>(nr, m - panel * nr);
    for (int64_t ii = 0; ii < rows; ++ii) {
      const float *row = a + (panel * nr + ii) * lda;
      for (int64_t p = 0; p < k; ++p)
        target[p * nr + ii] = row[p];
    }
    for (int64_t p = 0; p < k; ++p)
      std::fill(target + p * nr + rows, target + p * nr + nr, 0.0f);
  });
  // Tasks: groups of mr columns of C (rows of Cᵀ), several per thread.
  const unsigned threads = pool ? pool->size() : 1;
  int64_t groupsPerTask = std::max<int64_t>(1, (n + mr - 1) / mr / (8 * threads));
  const int64_t columnsPerTask = groupsPerTask * mr;
  forEachTask(pool, (n + columnsPerTask - 1) / columnsPerTask, [&](int64_t task) {
    const int64_t j0 = task * columnsPerTask, jEnd = std::min(n, j0 + columnsPerTask);
    alignas(64) float tile[kSwapMaxTile];
    for (int64_t j = j0; j < jEnd; j += mr) {
      const int rows = int(std::min<int64_t>(mr, jEnd - j));
      for (int64_t panel = 0; panel < panels; ++panel) {
        kernel.run(k, bT + j * ldbT, ldbT, rows, packed + panel * k * nr, nr, tile, nr, nr,
                   /*accumulate=*/false);
        const int64_t i0 = panel * nr, width = std::min<int64_t>(nr, m - i0);
        for (int64_t ii = 0; ii < width; ++ii) {
          float *out = c + (i0 + ii) * ldc + j;
          for (int r = 0; r < rows; ++r)
            out[r] = overwrite ? tile[r * nr + ii] : out[r] + tile[r * nr + ii];
        }
      }
    }
    if (epilogue)
      epilogue->apply(kernel, c, ldc, 0, m, j0, jEnd);
  });
}

void gemmBlocked(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                 const float *b, int64_t bStrideK, int64_t bStrideN, float *c, int64_t ldc,
                 const GemmMicroKernel &kernel, ThreadPool *pool,
                 GemmPackCache *cache = nullptr, bool overwrite = false,
                 const GemmEpilogue *epilogue = nullptr, bool transposedA = false) {
  // A transposed A (k×m, a weight gradient's Xᵀ) is copied to rows first:
  // with k small (a batch), the copy costs little, and the kernel then
  // reads each 8-row block of A as one contiguous run. (Reading it in
  // place, or packing it per task, was measured slower: 2.5% of the MLP's
  // training step.)
  if (transposedA) {
    // Rows padded to 16 floats: the kernel's transpose writes whole vectors.
    const int64_t ldr = kernel.transpose ? (k + 15) / 16 * 16 : k;
    float *rows = packingBuffer(size_t(m * ldr), Scratch::RowsOfA);
    constexpr int64_t kRowsPerTask = 64;
    forEachTask(m * k < kParallelMinWork ? nullptr : pool, (m + kRowsPerTask - 1) / kRowsPerTask,
            [&](int64_t task) {
              int64_t i0 = task * kRowsPerTask, i1 = std::min(m, i0 + kRowsPerTask);
              int64_t whole = kernel.transpose ? (i1 - i0) / 16 * 16 : 0;
              if (whole)
                kernel.transpose(a + i0, lda, int(k), int(whole), rows + i0 * ldr, ldr);
              for (int64_t p = 0; p < k; ++p)
                for (int64_t i = i0 + whole; i < i1; ++i)
                  rows[i * ldr + p] = a[p * lda + i];
            });
    a = rows;
    lda = ldr;
  }
  if (m < kPackRows && bStrideK == 1 && bStrideN != 1)
    return gemvTransposed(m, n, k, a, lda, b, bStrideN, c, ldc,
                          m * n * k < kGemvParallelMinWork ? nullptr : pool, overwrite, kernel,
                          epilogue);
  if (m <= kSwapMaxRows && bStrideK == 1 && bStrideN != 1 && !cache &&
      kernel.mr * kernel.nr <= kSwapMaxTile)
    return gemmSwapped(m, n, k, a, lda, b, bStrideN, c, ldc, kernel,
                       m * n * k < kParallelMinWork ? nullptr : pool, overwrite, epilogue);
  if (m * n * k < kParallelMinWork)
    pool = nullptr;
  const int mr = kernel.mr, nr = kernel.nr;
  const int64_t panels = (n + nr - 1) / nr;
  const int64_t kBlocks = (k + KC - 1) / KC;
  const bool partialLast = n % nr != 0;

  // B is packed whole, once, before any product (unless packInTasks,
  // below): panel by panel within each block of KC rows. Without packing,
  // only the partial last panel is copied (the kernel reads nr columns).
  // A transposed B is always packed: the kernel reads rows of nr floats.
  const bool pack = m >= kPackRows || bStrideN != 1;
  const int64_t packedPanels = pack ? panels : partialLast ? 1 : 0;
  const size_t packedFloats = size_t(k) * packedPanels * nr;
  auto packedAt = [&](float *packed, int64_t block, int64_t slot) {
    return packed + (block * KC * packedPanels + slot * std::min(KC, k - block * KC)) * nr;
  };
  auto packInto = [&](float *packed) {
    forEachTask(pool, kBlocks * packedPanels, [&](int64_t task) {
      int64_t block = task / packedPanels, slot = task % packedPanels;
      int64_t panel = pack ? slot : panels - 1;
      packPanel(b + block * KC * bStrideK, bStrideK, bStrideN, std::min(KC, k - block * KC),
                n, panel * nr, nr, packedAt(packed, block, slot));
    });
  };
  // Split C into tasks of rows × columns, finer until each thread has
  // several (the last ones balance the load).
  int64_t rowsPerTask = std::min<int64_t>(MC, (m + mr - 1) / mr * mr);
  int64_t panelsPerTask = std::min<int64_t>(panels, std::max<int64_t>(1, NC / nr));
  unsigned threads = pool ? pool->size() : 1;
  auto tasks = [&] {
    return ((m + rowsPerTask - 1) / rowsPerTask) *
           ((panels + panelsPerTask - 1) / panelsPerTask);
  };
  // A small product (a 1×1 convolution of a late layer at batch 1: ~2-15
  // million multiply-adds): two tasks per thread, each packing its own
  // panels of B (those of a task's columns again for each block of rows),
  // so one dispatch instead of a packing pass and then the product, whose
  // tasks were ~1 µs each. MobileNetV2 at batch 1: 11% faster.
  // (Its blocks of rows are final: the split below runs only otherwise.)
  const int64_t smallRowBlocks = (m + rowsPerTask - 1) / rowsPerTask;
  const bool smallProduct = pack && !cache && bStrideN == 1 && m * n * k < kSmallProductWork &&
                            smallRowBlocks * panels >= 2 * int64_t(threads);
  if (smallProduct)
    panelsPerTask = std::max<int64_t>(1, smallRowBlocks * panels / (2 * int64_t(threads)));
  while (!smallProduct && threads > 1 && tasks() < 8 * int64_t(threads)) {
    if (panelsPerTask > 1)
      panelsPerTask = (panelsPerTask + 1) / 2;
    else if (rowsPerTask > mr)
      rowsPerTask = std::max<int64_t>(mr, (rowsPerTask / 2 + mr - 1) / mr * mr);
    else
      break;
  }
  // The split as it stands: blocks of rows × blocks of columns of tasks.
  const int64_t rowBlocks = (m + rowsPerTask - 1) / rowsPerTask;
  const int64_t columnTasks = (panels + panelsPerTask - 1) / panelsPerTask;
  // With one row of tasks (few rows of A), each task packs its own panels
  // of a row-major B as it goes: each panel is packed once either way, and
  // stays in cache for the task's row tiles instead of going out to memory
  // and coming back (the MLP's training step: 4% faster; 64×4096×1024:
  // 6-13%). Small products do too (above).
  const bool packInTasks =
      pack && !cache && bStrideN == 1 && (m <= rowsPerTask || smallProduct);
  // A weight is packed once per executable; anything else on every product.
  const float *packed = nullptr;
  if (pack && cache) {
    size_t sourceBytes = size_t((k - 1) * bStrideK + (n - 1) * bStrideN + 1) * sizeof(float);
    packed = cache->get({b, k, n, bStrideK, bStrideN, nr}, packedFloats, packInto, b,
                        sourceBytes);
  }
  // Without a cache, or when it could not allocate: a packing of our own.
  if (!packed && packedPanels && !packInTasks) {
    float *scratch = packingBuffer(packedFloats);
    packInto(scratch);
    packed = scratch;
  }


  // The last block's tiles apply the epilogue before they store, where
  // the kernel can: MobileNetV2's GEMMs spent 8% of its batch-1 run in the
  // pass over each panel that applied it after.
  const bool epilogueInTiles = epilogue && kernel.runWithEpilogue && !epilogue->nanBound();
  // With all of K in one block (the products of 1×1 convolutions), a
  // tile's sums take too few steps to hide the misses on its rows of C and
  // of the residual, which the tile writes and reads once: they are
  // prefetched before it sums. (ResNet-50's 64 → 256 products at 56²
  // write 3 MB and read as much, rows 12 KB apart, up to 128 rows a task:
  // more streams than the hardware prefetcher follows. At batch 1 ResNet-50
  // 3-4.5% and MobileNetV2 2-4% faster, at batch 32 no change beyond the
  // noise; with several blocks, where C stays in cache between them, the
  // MLP's products were 2-3% slower.)
  const bool prefetchTiles = kBlocks == 1;
  auto prefetchRows = [&](const float *first, int64_t stride, int rows, int cols) {
    for (int r = 0; r < rows; ++r) {
      const float *row = first + r * stride;
      __builtin_prefetch(row, /*read*/ 0, /*all levels*/ 3);
      __builtin_prefetch(row + cols - 1, 0, 3);
      if (cols > 16)
        __builtin_prefetch(row + 16, 0, 3);
    }
  };
  // The tile of C at (i, j): kc rows of the panel (rows `stride` apart)
  // times A's rows from column p0, the epilogue in the kernel's registers
  // in the last block where it can.
  auto tile = [&](int64_t i, int64_t j, int64_t p0, int64_t kc, int rows, int cols,
                  const float *panel, int64_t stride, bool accumulate, bool last) {
    if (prefetchTiles)
      prefetchRows(c + i * ldc + j, ldc, rows, cols);
    if (last && epilogueInTiles) {
      const GemmEpilogue terms = epilogue->from(i, j);
      if (prefetchTiles && terms.residual)
        prefetchRows(terms.residual, terms.ldr, rows, cols);
      kernel.runWithEpilogue(kc, a + i * lda + p0, lda, rows, panel, stride, c + i * ldc + j,
                             ldc, cols, accumulate, &terms);
    } else {
      kernel.run(kc, a + i * lda + p0, lda, rows, panel, stride, c + i * ldc + j, ldc, cols,
                 accumulate);
    }
  };
  // One short block of k (a 1×1 convolution with few input channels), on
  // one thread (a batch's images, a product each): each task's panels are
  // packed a group at a time, as many as fill half of L1, and each row
  // tile sweeps the group, so that C is written in runs of a group's
  // columns per row instead of 32 floats of every row of the task in turn
  // (a C of 96 × 12544 written panel by panel missed on every row: 55% of
  // peak against 65%). Split between threads (batch 1), the same order
  // measured 1-2% slower on MobileNetV2.
  const int64_t group =
      kBlocks == 1 && packInTasks && !pool ? kL1Bytes / 2 / int64_t(k * nr * sizeof(float)) : 1;
  // On one thread with B packed whole in one block of k (a batch's
  // products, one per thread: ResNet-50's 1×1 convolutions from batch 2),
  // a task's row tiles each sweep its panels, so that C and the residual
  // go by in runs of the task's columns rather than 32 floats of each row
  // in turn: those products 2-3% faster each (`dlc bench --profile`,
  // ResNet-50 at batch 8), others unchanged.
  const bool rowMajor =
      !pool && kBlocks == 1 && pack && !packInTasks && epilogueInTiles == bool(epilogue);
  // On several threads the tasks are numbered column block first, so that
  // each thread's share of them (ThreadPool::parallelFor gives thread t
  // the t-th share) is a range of C's columns over all its rows: each
  // column of B is read by one thread only. A weight's panels (BERT) then
  // come from memory once, not once per thread, and a convolution's
  // pixels are read by the thread that wrote them in the layer before
  // (which wrote all channels of its pixels the same way). In-process A/B
  // on an Intel Xeon, two threads, per-round medians new/old: BERT at
  // batch 8 0.851, 1.001, 0.934, 0.922 (batch 1 has one block of rows:
  // unchanged); ResNet-50 at batch 1 0.983, 0.985, 0.980 (null runs
  // 1.011, 1.010); MobileNetV2 0.985; a chain of 256 ↔ 64 1×1
  // convolutions at 56² 0.959; the MLP at batch 32 (one block of rows)
  // 1.006.
  const bool columnFirst = threads > 1;
  forEachTask(pool, rowBlocks * columnTasks, [&](int64_t task) {
    int64_t i0 = (columnFirst ? task % rowBlocks : task / columnTasks) * rowsPerTask;
    int64_t iEnd = std::min(m, i0 + rowsPerTask);
    int64_t firstPanel = (columnFirst ? task / rowBlocks : task % columnTasks) * panelsPerTask;
    int64_t lastPanel = std::min(panels, firstPanel + panelsPerTask);
    // Rows [i0, iEnd) of panels [first, first + count), all of k in one
    // block, row tile by row tile (panel q at panelOf(q), rows nr apart),
    // then the epilogue if the tiles did not apply it.
    auto sweep = [&](int64_t first, int64_t count, auto panelOf) {
      for (int64_t i = i0; i < iEnd; i += mr)
        for (int64_t q = 0; q < count; ++q) {
          const int64_t j = (first + q) * nr;
          tile(i, j, 0, k, int(std::min<int64_t>(mr, iEnd - i)),
               int(std::min<int64_t>(nr, n - j)), panelOf(q), nr, !overwrite, /*last=*/true);
        }
      if (epilogue && !epilogueInTiles)
        epilogue->apply(kernel, c, ldc, i0, iEnd, first * nr, std::min(n, (first + count) * nr));
    };
    if (group > 1) {
      float *panelsOf = packingBuffer(size_t(k * nr * group), Scratch::TaskPanel);
      for (int64_t first = firstPanel; first < lastPanel; first += group) {
        const int64_t count = std::min(group, lastPanel - first);
        for (int64_t q = 0; q < count; ++q)
          packPanel(b, bStrideK, bStrideN, k, n, (first + q) * nr, nr, panelsOf + q * k * nr);
        sweep(first, count, [&](int64_t q) { return panelsOf + q * k * nr; });
      }
      return;
    }
    if (rowMajor) {
      sweep(firstPanel, lastPanel - firstPanel, [&](int64_t q) {
        return packedAt(const_cast<float *>(packed), 0, firstPanel + q);
      });
      return;
    }
    float *own = packInTasks ? packingBuffer(size_t(KC * nr), Scratch::TaskPanel) : nullptr;
    for (int64_t block = 0; block < kBlocks; ++block) {
      int64_t p0 = block * KC, kc = std::min(KC, k - p0);
      for (int64_t panel = firstPanel; panel < lastPanel; ++panel) {
        int64_t j = panel * nr;
        int cols = int(std::min<int64_t>(nr, n - j));
        const float *panelData = b + p0 * bStrideK + j;
        int64_t panelStride = bStrideK;
        if (packInTasks) {
          packPanel(b + p0 * bStrideK, bStrideK, bStrideN, kc, n, j, nr, own);
          panelData = own;
          panelStride = nr;
        } else if (pack || (partialLast && panel == panels - 1)) {
          panelData = packedAt(const_cast<float *>(packed), block, pack ? panel : 0);
          panelStride = nr;
        }
        const bool last = block == kBlocks - 1;
        for (int64_t i = i0; i < iEnd; i += mr)
          tile(i, j, p0, kc, int(std::min<int64_t>(mr, iEnd - i)), cols, panelData, panelStride,
               /*accumulate=*/!overwrite || block > 0, last);
        // Otherwise the panel's columns are final after the last block,
        // and still in L1: the epilogue costs no pass over memory.
        if (epilogue && last && !epilogueInTiles)
          epilogue->apply(kernel, c, ldc, i0, iEnd, j, j + cols);
      }
    }
  });
}

} // namespace

bool dlc::GemmEpilogue::nanBound() const {
  // A NaN bound makes every element NaN, as max and min do.
  return (clampMin && std::isnan(lo)) || (clampMax && std::isnan(hi));
}

void dlc::GemmEpilogue::apply(const GemmMicroKernel &kernel, float *c, int64_t ldc, int64_t i0,
                              int64_t i1, int64_t j0, int64_t j1) const {
  // The kernel's row copy applies the terms in place, a vector at a time
  // (this function is compiled for the baseline instruction set).
  if (kernel.copyRows && !nanBound()) {
    const GemmEpilogue rows = from(i0, j0);
    float *first = c + i0 * ldc + j0;
    kernel.copyRows(first, ldc, first, ldc, int(i1 - i0), j1 - j0, false, &rows);
    return;
  }
  // Locals, not members: a store into C could otherwise alias them, and
  // the loops would reload them per element instead of vectorizing.
  const int64_t width = j1 - j0;
  const float *const scales = rowScale, *const shifts = rowShift, *const residuals = residual;
  const int64_t residualStride = ldr;
  const bool withMin = clampMin, withMax = clampMax;
  const float low = lo, high = hi;
  const bool nanBound = this->nanBound();
  for (int64_t i = i0; i < i1; ++i) {
    float *__restrict row = c + i * ldc + j0;
    if (scales) {
      const float scale = scales[i];
      for (int64_t j = 0; j < width; ++j)
        row[j] *= scale;
    }
    if (shifts) {
      const float shift = shifts[i];
      for (int64_t j = 0; j < width; ++j)
        row[j] += shift;
    }
    if (residuals) {
      const float *__restrict r = residuals + i * residualStride + j0;
      for (int64_t j = 0; j < width; ++j)
        row[j] += r[j];
      // The residual comes from memory, row by row: ask for the next
      // panel's part of this row now, so it is in cache by then.
      for (int64_t j = width; j < 2 * width; j += 16)
        __builtin_prefetch(r + j);
    }
    if (nanBound) {
      std::fill(row, row + width, std::numeric_limits<float>::quiet_NaN());
      continue;
    }
    // `v < low ? low : v` keeps a NaN v.
    if (withMin)
      for (int64_t j = 0; j < width; ++j)
        row[j] = row[j] < low ? low : row[j];
    if (withMax)
      for (int64_t j = 0; j < width; ++j)
        row[j] = row[j] > high ? high : row[j];
  }
}

namespace {
thread_local GemmPackCache *currentPackCache = nullptr;
} // namespace

void GemmPackCache::Free::operator()(float *p) const { std::free(p); }

const float *GemmPackCache::get(const Key &key, size_t floats,
                                llvm::function_ref<void(float *)> pack,
                                const void *source, size_t sourceBytes) {
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto found = packings.find(key);
    if (found != packings.end())
      return found->second.get();
  }
  // Packed without the lock: packing may use the thread pool, whose
  // workers may be waiting for this lock (a batched product's). Two first
  // runs at once may both pack; the first to finish is kept. A packing is
  // published only whole.
  size_t bytes = floats * sizeof(float);
  std::unique_ptr<float, Free> buffer(static_cast<float *>(allocateLarge(bytes)));
  if (!buffer)
    return nullptr;
  pack(buffer.get());
  std::lock_guard<std::mutex> lock(mutex);
  auto [entry, inserted] = packings.try_emplace(key, std::move(buffer));
  if (!inserted)
    return entry->second.get();
  held += bytes;
  if (dropSources && source)
    dropMappedPages(source, sourceBytes);
  return entry->second.get();
}

size_t GemmPackCache::bytesHeld() const {
  std::lock_guard<std::mutex> lock(mutex);
  return held;
}

GemmPackCache *GemmPackCache::current() { return currentPackCache; }

GemmPackCache::Scope::Scope(GemmPackCache *cache) : previous(currentPackCache) {
  currentPackCache = cache;
}

GemmPackCache::Scope::~Scope() { currentPackCache = previous; }

const GemmMicroKernel *dlc::portableGemmKernel() { return &portable; }

const GemmMicroKernel &dlc::hostGemmKernel() {
  static const GemmMicroKernel *best = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma"))
      return avx512GemmKernel();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
      return avx2GemmKernel();
    return portableGemmKernel();
  }();
  return *best;
}

void dlc::patchOffsets(int64_t k, int64_t kh, int64_t kw, int64_t dh, int64_t dw, int64_t inC,
                       int64_t inH, int64_t inW, int64_t *offsets) {
  for (int64_t p = 0, c = 0, i = 0, j = 0; p < k; ++p) {
    offsets[p] = c * inC + i * dh * inH + j * dw * inW;
    if (++j == kw) {
      j = 0;
      if (++i == kh)
        i = 0, ++c;
    }
  }
}

void dlc::gemmF32(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                  const float *b, int64_t bStrideK, int64_t bStrideN, float *c,
                  int64_t ldc, const GemmMicroKernel *kernel, bool transposedA) {
  if (m <= 0 || n <= 0 || k <= 0)
    return;
  gemmBlocked(m, n, k, a, lda, b, bStrideK, bStrideN, c, ldc,
              kernel ? *kernel : hostGemmKernel(), ThreadPool::current(), nullptr, false,
              nullptr, transposedA);
}

/// Whether a product with a constant filter (or A) and `pixels` columns
/// runs with the pixels as the micro-kernel's rows, the filter transposed
/// once into the cache (see dlc::conv2dF32).
static bool pixelRowsApply(const GemmMicroKernel &kernel, int64_t pixels) {
  return kernel.runIndirect && kernel.transpose && kernel.nr % 16 == 0 &&
         pixels <= kConvCachedFilterMaxPixels;
}

/// The kernel's wide tile (GemmMicroKernel::indirectWide) in which the
/// pixel-rows path sums `pixels` pixels of `channels` output channels:
/// the first whose groups of rows hold at most a 32nd more rows than
/// pixels (6 rows: 196 pixels take 198; 7: 49 take 49), or -1: groups of
/// mr rows (runIndirect). Up to nr channels, too: a wide tile there
/// sums no more columns than the kernel's own and fewer rows (a training
/// CNN's input gradient, 32 channels: 20-65% slower with 6 × 32 tiles).
static int wideTileFor(const GemmMicroKernel &kernel, int64_t pixels, int64_t channels) {
  if (!kernel.runIndirectWide || channels <= kernel.nr)
    return -1;
  for (int tile = 0; tile < 2; ++tile) {
    const int64_t rows = kernel.indirectWide[tile].rows;
    if (rows > 0 && ((pixels + rows - 1) / rows * rows - pixels) * 32 <= pixels)
      return tile;
  }
  return -1;
}

/// Whether that path gives each thread a range of pixels (the filter, the
/// smaller operand, read by all) rather than a part of the filter: no
/// more output channels than pixels.
static bool pixelRowsSplitPixels(int64_t channels, int64_t pixels) { return channels <= pixels; }

extern "C" void dlc_gemm_f32(int64_t batch, int64_t m, int64_t n, int64_t k,
                             const float *a, int64_t aBatchStride, int64_t lda,
                             const float *b, int64_t bBatchStride, int64_t bStrideK,
                             int64_t bStrideN, float *c, int64_t cBatchStride,
                             int64_t ldc, int64_t flags, const float *rowScale,
                             const float *rowShift, const float *residual,
                             int64_t residualBatchStride, int64_t ldr, int64_t minBits,
                             int64_t maxBits) {
  if (m <= 0 || n <= 0)
    return;
  KernelProfile::Timer timer(
      "gemm", [&] { return llvm::formatv("{0} x ({1}x{3} · {3}x{2})", batch, m, n, k).str(); },
      2.0 * double(batch) * double(m) * double(n) * double(k));
  const bool overwrite = flags & kGemmOverwriteC;
  const bool transposedA = flags & kGemmTransposedA;
  const bool clampMin = flags & kGemmClampMin, clampMax = flags & kGemmClampMax;
  const bool hasEpilogue = rowScale || rowShift || residual || clampMin || clampMax;
  // The epilogue of product i (its residual is the i-th).
  auto epilogueOf = [&](int64_t i) {
    GemmEpilogue epilogue{rowScale,
                          rowShift,
                          residual ? residual + i * residualBatchStride : nullptr,
                          ldr,
                          clampMin,
                          clampMax,
                          floatFromBits(minBits),
                          floatFromBits(maxBits)};
    return epilogue;
  };
  if (k <= 0) {
    // An empty sum: C stays, or becomes zero.
    for (int64_t i = 0; i < batch; ++i) {
      float *ci = c + i * cBatchStride;
      if (overwrite)
        for (int64_t r = 0; r < m; ++r)
          std::fill(ci + r * ldc, ci + r * ldc + n, 0.0f);
      if (hasEpilogue)
        epilogueOf(i).apply(hostGemmKernel(), ci, ldc, 0, m, 0, n);
    }
    return;
  }
  const GemmMicroKernel &kernel = hostGemmKernel();
  // A pointwise convolution's product with few columns (a late layer at
  // batch 1, or a sample of a split batch) and its filter as A: the
  // convolutions' pixel-rows path, as a 1×1 convolution of the batch's
  // images, A packed once for the executable. The columns then fill no
  // vectors (49 would take 56 of the panels), and the filter streams from
  // memory as contiguous panels rather than as eight rows of broadcasts.
  // (Alone, hot in cache, 196-column products were 0.89-1.04 this way; in
  // the models, with the weights coming from memory, ResNet-50 was 1.5-5%
  // faster with them here too, MobileNetV2 0.6-0.8%.)
  // Except where that path would split the pixels between threads (fewer
  // output channels than pixels, at least 128 of them: MobileNetV2's 14²
  // projections at batch 1): there gemmBlocked's tasks, panels of 32
  // pixels that pack their own columns of B, scale better to the second
  // thread. MobileNetV2 at batch 1 on two threads about 1.5% faster
  // (six in-process A/Bs, per-round medians 0.982-0.991, where null runs
  // gave 1.003-1.017), a chain of 384 ↔ 64 1×1 convolutions at 14² 8%;
  // on one thread the pixel-rows path stays (with gemmBlocked MobileNetV2
  // was 2% slower there).
  ThreadPool *pool = ThreadPool::current();
  const bool splitsPixels = pool && pool->size() > 1 && pixelRowsSplitPixels(m, batch * n) &&
                            batch * n >= kGemmBlockedMinSplitPixels;
  if ((flags & kGemmConstantA) && !transposedA && aBatchStride == 0 && !splitsPixels &&
      GemmPackCache::current() && pixelRowsApply(kernel, batch * n)) {
    timer.rename("gemm (pixel rows)");
    const int64_t convFlags = (flags & (kGemmOverwriteC | kGemmClampMin | kGemmClampMax)) |
                              kConvConstantFilter;
    conv2dF32(&kernel, batch, k, m, 1, 1, 1, n, 1, 1, 1, 1, b, bBatchStride, bStrideK,
              n * bStrideN, bStrideN, a, lda, c, cBatchStride, ldc, n, convFlags, rowScale,
              rowShift, residual, residualBatchStride, ldr, n, minBits, maxBits);
    return;
  }
  GemmPackCache *cache = flags & kGemmConstantB ? GemmPackCache::current() : nullptr;
  // Many small products (attention heads): one product per thread at a
  // time. Few large ones: each product is split over the threads.
  if (pool && batch >= int64_t(pool->size())) {
    pool->parallelFor(batch, [&](int64_t i) {
      GemmEpilogue epilogue = epilogueOf(i);
      gemmBlocked(m, n, k, a + i * aBatchStride, lda, b + i * bBatchStride, bStrideK, bStrideN,
                  c + i * cBatchStride, ldc, kernel, nullptr, cache, overwrite,
                  hasEpilogue ? &epilogue : nullptr, transposedA);
    });
    return;
  }
  for (int64_t i = 0; i < batch; ++i) {
    GemmEpilogue epilogue = epilogueOf(i);
    gemmBlocked(m, n, k, a + i * aBatchStride, lda, b + i * bBatchStride, bStrideK, bStrideN,
                c + i * cBatchStride, ldc, kernel, pool, cache, overwrite,
                hasEpilogue ? &epilogue : nullptr, transposedA);
  }
}

//===----------------------------------------------------------------------===//
// Convolutions as implicit GEMMs
//===----------------------------------------------------------------------===//
//
// out[b, o, y, x] = Σ_{c,i,j} filter[o, (c,i,j)] · in[b, c, y·sh + i·dh, x·sw + j·dw]
//
// is the product C = A·B with A the filter ([O, C·KH·KW], read in place),
// B the patches ([C·KH·KW, N·HO·WO]) and C the output, whose columns are
// the output pixels of all images, one after another. B is never built:
// each panel of nr columns is packed straight from the images, KC rows at a
// time, into a buffer that stays in L1, and the panel's mr × nr tiles
// accumulate in a block of C per thread, written out (with the epilogue)
// once the panel's sums are complete. So a convolution costs one
// synchronization and no patches buffer, and one whose output pixels are
// few (a filter's gradient: 3×3 outputs, 14×14 windows) still fills whole
// panels, from several images.

namespace {

/// The output pixels of one panel, as runs of consecutive columns that lie
/// in one output row of one image: for each, its first column within the
/// panel, its length, the offset of its first patch's origin in the input,
/// and its image and output row.
struct PixelRuns {
  llvm::SmallVector<int32_t, 8> column, length;
  llvm::SmallVector<int64_t, 8> origin, image, row, x;

  /// The runs of columns [first, first + count) of the product (the output
  /// pixels of all images, in order).
  void split(int64_t first, int64_t count, int64_t ho, int64_t wo, int64_t sh, int64_t sw,
             int64_t inN, int64_t inH, int64_t inW) {
    column.clear(), length.clear(), origin.clear(), image.clear(), row.clear(), x.clear();
    const int64_t perImage = ho * wo;
    for (int64_t at = 0; at < count;) {
      int64_t pixel = first + at;
      int64_t b = pixel / perImage, within = pixel % perImage;
      int64_t y = within / wo, x0 = within % wo;
      int64_t run = std::min(wo - x0, count - at);
      column.push_back(int32_t(at));
      length.push_back(int32_t(run));
      origin.push_back(b * inN + y * sh * inH + x0 * sw * inW);
      image.push_back(b), row.push_back(y), x.push_back(x0);
      at += run;
    }
  }
  int size() const { return int(column.size()); }
};

/// Packs rows [p0, p0 + kc) of the patches' panel described by `runs`
/// (nr columns, `width` of them real) into `target`. Row p is the patch
/// element (c, i, j) = (p / (kh·kw), p / kw % kh, p % kw).
void packPatches(const float *input, const PixelRuns &runs, int64_t p0, int64_t kc,
                 int64_t kh, int64_t kw, int64_t dh, int64_t dw, int64_t inC, int64_t inH,
                 int64_t inW, int64_t sw, int64_t width, int nr, const GemmMicroKernel &kernel,
                 float *target) {
  int64_t c = p0 / (kh * kw), i = p0 / kw % kh, j = p0 % kw;
  const int64_t step = sw * inW;
  for (int64_t p = 0; p < kc; ++p, target += nr) {
    const int64_t element = c * inC + i * dh * inH + j * dw * inW;
    // The kernel's vector copies for steps of 1 and 2 (a stride-2 1×1
    // convolution of 256 → 512 channels at 56² → 28², in-process A/B
    // against this scalar loop: 4.4% faster on one thread, 6.2% on two).
    if ((step == 1 || step == 2) && kernel.copyRuns) {
      kernel.copyRuns(input + element, int(step), runs.origin.data(), runs.column.data(),
                      runs.length.data(), runs.size(), target);
    } else {
      for (int r = 0; r < runs.size(); ++r) {
        const float *from = input + runs.origin[r] + element;
        float *to = target + runs.column[r];
        for (int64_t t = 0; t < runs.length[r]; ++t)
          to[t] = from[t * step];
      }
    }
    for (int64_t t = width; t < nr; ++t)
      target[t] = 0.0f;
    if (++j == kw) {
      j = 0;
      if (++i == kh)
        i = 0, ++c;
    }
  }
}

} // namespace


void dlc::conv2dF32(const GemmMicroKernel *micro, int64_t images, int64_t channels,
                   int64_t outChannels, int64_t kh, int64_t kw, int64_t ho, int64_t wo,
                   int64_t sh, int64_t sw, int64_t dh, int64_t dw, const float *input,
                   int64_t inN, int64_t inC, int64_t inH, int64_t inW, const float *filter,
                   int64_t filterRowStride, float *output, int64_t outN, int64_t outC,
                   int64_t outH, int64_t flags, const float *rowScale, const float *rowShift,
                   const float *residual, int64_t residualN, int64_t residualC,
                   int64_t residualH, int64_t minBits, int64_t maxBits) {
  const int64_t m = outChannels, k = channels * kh * kw, n = images * ho * wo;
  if (m <= 0 || n <= 0)
    return;
  KernelProfile::Timer timer(
      "conv2d",
      [&] {
        return llvm::formatv("{0}x{1} -> {2}x{3}x{4}, {5}x{6} stride {7}x{8}", images, channels,
                             outChannels, ho, wo, kh, kw, sh, sw)
            .str();
      },
      2.0 * double(m) * double(n) * double(k));
  const bool overwrite = flags & kGemmOverwriteC;
  const bool hasEpilogue = rowScale || rowShift || residual || (flags & kGemmClampMin) ||
                           (flags & kGemmClampMax);

  const GemmMicroKernel &kernel = micro ? *micro : hostGemmKernel();
  const int mr = kernel.mr, nr = kernel.nr;
  const int64_t kBlocks = (k + KC - 1) / KC;
  ThreadPool *pool = m * n * std::max<int64_t>(k, 1) < kParallelMinWork ? nullptr
                                                                        : ThreadPool::current();
  const int64_t threads = pool ? pool->size() : 1;

  // Writes the sums of output channels [i0, iEnd) for the pixels of
  // `runs` out, run by run, then the epilogue on them. The sum of channel
  // i at the run's column j is block[(i - i0)·channelStride + j·columnStride].
  const GemmEpilogue epilogue{rowScale,
                              rowShift,
                              residual,
                              residualC,
                              bool(flags & kGemmClampMin),
                              bool(flags & kGemmClampMax),
                              floatFromBits(minBits),
                              floatFromBits(maxBits)};
  // A 3×3 stride-1 convolution of a weight: Winograd's F(2×2, 3×3), with
  // the filter's transform kept in the executable's cache.
  GemmPackCache *cache = flags & kConvConstantFilter ? GemmPackCache::current() : nullptr;
  if (cache && !epilogue.nanBound() &&
      winogradApplies(kernel, images, channels, outChannels, kh, kw, ho, wo, sh, sw, dh, dw,
                      inN, inC, inH, inW, outN, outH, residualN, residualH) &&
      conv2dWinogradF32(kernel, *cache, images, channels, outChannels, ho, wo, input, inN, inC,
                        inH, filter, filterRowStride, output, outN, outC, outH, overwrite,
                        hasEpilogue ? &epilogue : nullptr, residualN, residualH)) {
    timer.rename("conv2d (Winograd)");
    return;
  }
  // The kernel's copy applies the epilogue as it writes (a pass of its own
  // over runs of 14-28 floats cost ~4% of a small CNN's training step).
  const bool epilogueInCopy = hasEpilogue && !epilogue.nanBound();
  auto writeOut = [&](const PixelRuns &runs, const float *block, int64_t channelStride,
                      int64_t columnStride, int64_t i0, int64_t iEnd) {
    for (int r = 0; r < runs.size(); ++r) {
      const int64_t length = runs.length[r], x = runs.x[r];
      float *image = output + runs.image[r] * outN + runs.row[r] * outH;
      // The epilogue of this run (its residual's row, from channel 0).
      GemmEpilogue here = epilogue;
      if (residual)
        here.residual = residual + runs.image[r] * residualN + runs.row[r] * residualH;
      if (columnStride == 1 && kernel.copyRows) {
        // The same terms, from the run's first channel and column.
        const GemmEpilogue rows = here.from(i0, x);
        kernel.copyRows(block + runs.column[r], channelStride, image + i0 * outC + x, outC,
                        int(iEnd - i0), length, !overwrite, epilogueInCopy ? &rows : nullptr);
        if (epilogueInCopy)
          continue;
      } else {
        for (int64_t i = i0; i < iEnd; ++i) {
          const float *from = block + (i - i0) * channelStride + runs.column[r] * columnStride;
          float *to = image + i * outC + x;
          if (overwrite)
            for (int64_t t = 0; t < length; ++t)
              to[t] = from[t * columnStride];
          else
            for (int64_t t = 0; t < length; ++t)
              to[t] += from[t * columnStride];
        }
      }
      if (hasEpilogue)
        here.apply(kernel, image, outC, i0, iEnd, x, x + length);
    }
  };
  // Runs `tasks` tasks on the pool. Task t sums blocks [kbBegin, kbEnd)
  // of K into a block of C of `blockFloats` floats (`sum(t, kbBegin,
  // kbEnd, block)`; a null block: the task's own scratch, which it
  // returns), then writes it out (`write(t, block)`). With fewer tasks
  // than threads (a filter's gradient: few output pixels, long sums), each
  // task's sum is split into parts with blocks of their own, added up and
  // written at the end.
  auto runTasks = [&](int64_t tasks, size_t blockFloats, auto &&sum, auto &&write) {
    const int64_t parts = tasks < threads ? std::min<int64_t>(threads, kBlocks) : 1;
    const int64_t blocksPerPart = (kBlocks + parts - 1) / parts;
    // The parts' blocks: the calling thread's, grown as needed and kept.
    thread_local std::vector<float> partialSums;
    if (parts > 1)
      partialSums.resize(std::max(partialSums.size(), size_t(tasks * parts) * blockFloats));
    float *const partials = partialSums.data();
    forEachTask(pool, tasks * parts, [&](int64_t index) {
      const int64_t task = index / parts, part = index % parts;
      const int64_t kbBegin = part * blocksPerPart,
                    kbEnd = std::min(kBlocks, kbBegin + blocksPerPart);
      float *block = sum(task, kbBegin, kbEnd, parts > 1 ? partials + index * blockFloats
                                                         : nullptr);
      if (parts == 1)
        write(task, block);
    });
    for (int64_t task = 0; parts > 1 && task < tasks; ++task) {
      float *total = partials + task * parts * blockFloats;
      for (int64_t part = 1; part < parts; ++part) {
        const float *add = total + part * blockFloats;
        for (size_t e = 0; e < blockFloats; ++e)
          total[e] += add[e];
      }
      write(task, total);
    }
  };

  // Few input channels and short patches (an image network's first layer:
  // 3 channels, K of 27 for MobileNetV2's 3×3 filter), rows of 16 output
  // pixels or more: each output row is summed from the input rows
  // tap by tap, eight channels' sums of up to 48 pixels in registers over
  // all of K, and stored with the epilogue (the kernel's convTaps). As an
  // implicit GEMM with pixel rows, such a short K left a tile's sums
  // little time beside the transpositions and copies that take them to
  // the output: MobileNetV2's first layer ran at a third of the FMA peak.
  if (kernel.convTaps && channels <= kConvTapsMaxChannels && k <= kConvTapsMaxTaps &&
      (sw == 1 || sw == 2) && inW == 1 && wo >= 16 && !epilogue.nanBound()) {
    timer.rename("conv2d (taps)");
    // The filter transposed, K × ldf, its columns past m zero.
    const int64_t ldf = (m + 7) / 8 * 8;
    thread_local std::vector<float> transposedFilter;
    transposedFilter.assign(size_t(k * ldf), 0.0f);
    for (int64_t o = 0; o < m; ++o)
      for (int64_t p = 0; p < k; ++p)
        transposedFilter[p * ldf + o] = filter[o * filterRowStride + p];
    const float *filterT = transposedFilter.data();
    // Where patch element (c, i, j) lies from an output row's first
    // patch origin.
    thread_local std::vector<int64_t> tapOffsets;
    tapOffsets.resize(size_t(k));
    patchOffsets(k, kh, kw, dh, dw, inC, inH, inW, tapOffsets.data());
    const int64_t *offsetOf = tapOffsets.data();
    const int64_t rows = images * ho;
    const int64_t rowsPerTask = std::max<int64_t>(1, rows / (8 * threads));
    forEachTask(pool, (rows + rowsPerTask - 1) / rowsPerTask, [&](int64_t task) {
      thread_local std::vector<const float *> taps;
      taps.resize(size_t(k));
      for (int64_t row = task * rowsPerTask, end = std::min(rows, row + rowsPerTask); row < end;
           ++row) {
        const int64_t b = row / ho, y = row % ho;
        const float *origin = input + b * inN + y * sh * inH;
        for (int64_t p = 0; p < k; ++p)
          taps[p] = origin + offsetOf[p];
        GemmEpilogue terms = epilogue;
        if (residual)
          terms.residual = residual + b * residualN + y * residualH;
        kernel.convTaps(k, taps.data(), int(sw), filterT, ldf, int(m), wo,
                        output + b * outN + y * outH, outC, !overwrite,
                        hasEpilogue ? &terms : nullptr);
      }
    });
    return;
  }

  // A weight's filter (a constant one) is packed for the pixel-rows path
  // below once per executable, so that path pays for any number of output
  // channels where the pixels are few: no patches are packed (the
  // other path packs a panel's again for every block of channels), and
  // the output channels, not the pixels, fill the vectors (49 pixels are
  // 56 columns of the other path's panels).
  const bool cachedFilter = cache && pixelRowsApply(kernel, n);
  if (kernel.runIndirect &&
      (cachedFilter || m <= kConvIndirectMaxChannels ||
       (m <= kConvIndirectWideMaxChannels && n >= kConvIndirectWideMinPixels))) {
    // Few output channels (or a cached filter): the pixels are the
    // micro-kernel's rows, read in place from the images through an
    // offset per patch element (runIndirect), and the filter, transposed,
    // is the packed operand: one packing of O × K floats per call (none
    // once cached) instead of the patches (K per pixel). A task is a
    // range of pixels and a range of channel panels; its block of C is
    // [pixels × its channels].
    // The offset of each patch element (c, i, j) from a patch's origin.
    thread_local std::vector<int64_t> offsets;
    offsets.resize(size_t(k));
    patchOffsets(k, kh, kw, dh, dw, inC, inH, inW, offsets.data());
    // (A thread_local is each thread's own: the tasks use this pointer.)
    const int64_t *const offsetTable = offsets.data();
    // The sums run in the kernel's wide tiles where one fits the pixels
    // (fewer loads per multiply-add). On an Intel Xeon, in-process A/B
    // against the 8 × 32 tiles, per-round medians new/old, with a cached
    // filter: ResNet-50 at batch 1 0.969 and 1.005 on one thread, 0.973 on
    // two (6 × 64 for 196 pixels alone: 0.936-0.993 on one, 0.972 and
    // 0.983 on two; adding 7 × 48 for 49 pixels: 0.954 on one, 0.995 on
    // two; 7 × 48 for 196 pixels too was no better, 1.019 and 0.994);
    // MobileNetV2 0.950 and 0.983; a chain of 1024 ↔ 256 1×1 convolutions
    // at 14², 0.86-0.90 on one thread, 0.95 on two. Then for filters
    // packed per call too (ResNet-50's 56² and 28² layers with 64 or 128
    // output channels): ResNet-50 0.990, 0.978 and 0.914 on one thread,
    // 0.993, 0.948 and 0.981 on two, 0.879 at batch 8; MobileNetV2 0.999,
    // 0.989, 1.002, at batch 8 0.989.
    const int wideTile = wideTileFor(kernel, n, m);
    const int nr = wideTile >= 0 ? kernel.indirectWide[wideTile].nr : kernel.nr;
    // The filter transposed into panels of nr channels (K × nr each,
    // zero-padded), packed by the pool in chunks of KC rows.
    const int64_t channelPanels = (m + nr - 1) / nr, width = channelPanels * nr;
    auto packFilter = [&](float *packedFilter) {
      forEachTask(pool, channelPanels * kBlocks, [&](int64_t chunk) {
        const int64_t panel = chunk / kBlocks, pEnd = std::min(k, chunk % kBlocks * KC + KC);
        int64_t p0 = chunk % kBlocks * KC;
        float *target = packedFilter + panel * k * nr;
        if (kernel.transpose && nr % 16 == 0) {
          // Whole vectors of 16 rows of K by the kernel's transpose (the
          // panel's channels past m read as zeros up to a multiple of 16,
          // and are zeroed here past that); the rest below.
          const int64_t vectorEnd = p0 + (pEnd - p0) / 16 * 16;
          const int64_t channels = std::min<int64_t>(nr, m - panel * nr);
          if (vectorEnd > p0) {
            kernel.transpose(filter + panel * nr * filterRowStride + p0, filterRowStride,
                             int(channels), int(vectorEnd - p0), target + p0 * nr, nr);
            for (int64_t p = p0, written = (channels + 15) / 16 * 16; p < vectorEnd; ++p)
              std::fill(target + p * nr + written, target + (p + 1) * nr, 0.0f);
          }
          p0 = vectorEnd;
        }
        for (int64_t jj = 0; jj < nr; ++jj) {
          const int64_t channel = panel * nr + jj;
          if (channel >= m) {
            for (int64_t p = p0; p < pEnd; ++p)
              target[p * nr + jj] = 0.0f;
            continue;
          }
          const float *row = filter + channel * filterRowStride;
          for (int64_t p = p0; p < pEnd; ++p)
            target[p * nr + jj] = row[p];
        }
      });
    };
    const float *packedFilter = nullptr;
    if (cachedFilter)
      packedFilter = cache->get({filter, k, m, filterRowStride, kConvFilterKeyTag, nr},
                                size_t(width * k), packFilter, filter,
                                size_t(((m - 1) * filterRowStride + k) * sizeof(float)));
    if (!packedFilter) {
      // Not a weight, or the cache could not allocate: packed per call.
      thread_local std::vector<float> filterT;
      filterT.resize(std::max(filterT.size(), size_t(width * k)));
      packFilter(filterT.data());
      packedFilter = filterT.data();
    }
    // Pixels come in groups of the wide tile's rows, or of the kernel's,
    // or of its short tile's where they are whole groups of those and not
    // of mr (7×7 outputs).
    const int group = wideTile >= 0 ? kernel.indirectWide[wideTile].rows
                      : kernel.indirectShortRows && n % mr != 0 && n % kernel.indirectShortRows == 0
                          ? kernel.indirectShortRows
                          : mr;
    // Pixels per task: several tasks per thread, at most 128 (the block of
    // C, 128 × width floats, stays in L2).
    // With fewer groups than two per thread (a first layer's filter
    // gradient: 3×3 pixels, sums over a whole batch), one task takes
    // them all and runTasks splits its sum instead: tasks of a group each
    // would stream the whole filter once per group, one of them for a
    // single pixel.
    // A cached filter's task is a range of channel panels and a range of
    // pixels. The smaller operand is the one read by every thread: with
    // fewer output channels than pixels (MobileNetV2's projections), each
    // thread takes a range of pixels, the part of the input it wrote
    // itself in the layer before (ThreadPool::parallelFor gives thread t
    // the t-th share of the tasks, here its pixel range's), and reads the
    // small filter; otherwise a task has all the pixels (at most
    // kConvCachedFilterMaxPixels) and the threads split the filter, which
    // at batch 1 comes from memory. (Until 2026-11-27 pixels were split
    // at 128 for any filter: a 196-pixel layer's two halves each read the
    // 1 MB filters of ResNet-50, each row serving 98 pixels, not 196.
    // Whole, on an Intel Xeon, in-process A/B: ResNet-50 at batch 1 0.953
    // and 0.938 on two threads, 0.870 on one; MobileNetV2 0.891.) Either
    // way split further only as far as keeps the threads evenly busy: a
    // multiple of them, or at least four tasks each (160 channels, 49
    // pixels: two tasks of 28 and 21 pixels per panel, not five of 49 for
    // two threads).
    const int64_t groups = (n + group - 1) / group, maxPixels = 128 / group * group;
    int64_t pixelsPerTask, panelsPerTask = channelPanels;
    if (cachedFilter) {
      int64_t split = pixelRowsSplitPixels(m, n) ? std::min(threads, groups) : 1;
      while (split < groups && split * channelPanels < 4 * threads &&
             split * channelPanels % threads != 0)
        ++split;
      pixelsPerTask = (groups + split - 1) / split * group;
      // Many panels: several a task, so that a short sum (K = 160) pays
      // for a task's setup and write, still a multiple of the threads.
      panelsPerTask = 1;
      for (int64_t p = std::max<int64_t>(1, channelPanels / (4 * threads)); p > 1; --p)
        if ((channelPanels + p - 1) / p * split % threads == 0) {
          panelsPerTask = p;
          break;
        }
    } else {
      pixelsPerTask = groups < 2 * threads && groups * group <= 128
                          ? groups * group
                          : std::clamp<int64_t>((n / (4 * threads) + group - 1) / group * group,
                                                group, maxPixels);
    }
    const int64_t pixelTasks = (n + pixelsPerTask - 1) / pixelsPerTask;
    const int64_t channelTasks = (channelPanels + panelsPerTask - 1) / panelsPerTask;
    const int64_t taskWidth = panelsPerTask * nr;
    const size_t blockFloats = size_t(pixelsPerTask * taskWidth);
    // Task t's pixel range and channel panels: a range's panels follow
    // one another, so that a thread's share of the tasks is one range
    // of pixels, or a few (the part of the input it wrote), where there
    // are several.
    auto pixelTaskOf = [&](int64_t task) { return task / channelTasks; };
    auto channelTaskOf = [&](int64_t task) { return task % channelTasks; };
    auto runsOf = [&](int64_t task, PixelRuns &runs) {
      const int64_t first = pixelTaskOf(task) * pixelsPerTask;
      runs.split(first, std::min(pixelsPerTask, n - first), ho, wo, sh, sw, inN, inH, inW);
    };
    // The task's channel panels [first, end).
    auto panelsOf = [&](int64_t task) {
      const int64_t first = channelTaskOf(task) * panelsPerTask;
      return std::make_pair(first, std::min(channelPanels, first + panelsPerTask));
    };
    auto sum = [&](int64_t task, int64_t kbBegin, int64_t kbEnd, float *block) {
      thread_local PixelRuns runs;
      runsOf(task, runs);
      const auto [panel0, panelEnd] = panelsOf(task);
      // Each pixel's patch origin, in order (the runs are consecutive).
      thread_local std::vector<const float *> rows;
      rows.clear();
      for (int r = 0; r < runs.size(); ++r)
        for (int64_t t = 0; t < runs.length[r]; ++t)
          rows.push_back(input + runs.origin[r] + t * sw * inW);
      const int64_t count = int64_t(rows.size());
      if (!block)
        block = packingBuffer(blockFloats);
      if (kbBegin >= kbEnd)
        std::fill(block, block + blockFloats, 0.0f);
      // While a panel's chunk of the filter is summed with the pixels'
      // groups, the chunk the task reads next (the next panel's, or the
      // first panel's of the next block of K) is prefetched, a part before
      // each group (ResNet-50's 2048 × 512 filter for 49 pixels: its first
      // group stalled on each chunk; the model about 4% faster at batch 1).
      const int64_t groupCount = (count + group - 1) / group;
      // The task's rows of K, [kStart, kEnd), in steps of kIndirectKC.
      const int64_t kStart = kbBegin * KC, kEnd = std::min(k, kbEnd * KC);
      for (int64_t p0 = kStart; p0 < kEnd; p0 += kIndirectKC) {
        const int64_t kc = std::min(kIndirectKC, kEnd - p0);
        for (int64_t panel = panel0; panel < panelEnd; ++panel) {
          // (A filter packed in this call is in cache already.)
          const float *next = nullptr;
          int64_t nextFloats = 0;
          if (cachedFilter && panel + 1 < panelEnd)
            next = packedFilter + ((panel + 1) * k + p0) * nr, nextFloats = kc * nr;
          else if (cachedFilter && p0 + kc < kEnd)
            next = packedFilter + (panel0 * k + p0 + kc) * nr,
            nextFloats = std::min(kIndirectKC, kEnd - p0 - kc) * nr;
          for (int64_t g = 0; g < count; g += group) {
            prefetchPart(next, nextFloats, g / group, groupCount);
            const int rowCount = int(std::min<int64_t>(group, count - g));
            const float *filterChunk = packedFilter + (panel * k + p0) * nr;
            float *tile = block + g * taskWidth + (panel - panel0) * nr;
            if (wideTile >= 0)
              kernel.runIndirectWide(wideTile, kc, rows.data() + g, offsetTable + p0, rowCount,
                                     filterChunk, nr, tile, taskWidth,
                                     int(std::min<int64_t>(nr, (m - panel * nr + 15) / 16 * 16)),
                                     /*accumulate=*/p0 > kStart);
            else
              kernel.runIndirect(kc, rows.data() + g, offsetTable + p0, rowCount, filterChunk, nr,
                                 tile, taskWidth, /*accumulate=*/p0 > kStart);
          }
        }
      }
      return block;
    };
    // The block turned channels × pixels first where the kernel can
    // (whole vectors), so that each run is written by contiguous copies,
    // not by reads `taskWidth` floats apart.
    const int64_t transposedStride = (pixelsPerTask + 15) / 16 * 16;
    auto write = [&](int64_t task, const float *block) {
      thread_local PixelRuns runs;
      runsOf(task, runs);
      const auto [panel0, panelEnd] = panelsOf(task);
      const int64_t i0 = panel0 * nr, iEnd = std::min(m, panelEnd * nr);
      if (!kernel.transpose || taskWidth % 16 != 0) {
        writeOut(runs, block, 1, taskWidth, i0, iEnd);
        return;
      }
      thread_local std::vector<float> transposed;
      transposed.resize(std::max(transposed.size(), size_t(taskWidth * transposedStride)));
      const int64_t count = std::min(pixelsPerTask, n - pixelTaskOf(task) * pixelsPerTask);
      kernel.transpose(block, taskWidth, int(count), int(taskWidth), transposed.data(),
                       transposedStride);
      writeOut(runs, transposed.data(), transposedStride, 1, i0, iEnd);
    };
    runTasks(pixelTasks * channelTasks, blockFloats, sum, write);
    return;
  }

  // Otherwise a task is one panel of nr output pixels and all output
  // channels: its patches are packed once, and its block of C (m × nr)
  // stays in L2. (Tasks of several panels and at most MC rows, as
  // gemmBlocked splits C, measured slower: every row block packs the
  // patches again.) With fewer panels than 4 per thread (a late layer at
  // batch 1), the rows are split too, down to 4·mr.
  const int64_t panels = (n + nr - 1) / nr;
  int64_t rowsPerTask = (m + mr - 1) / mr * mr;
  auto rowTasks = [&] { return (m + rowsPerTask - 1) / rowsPerTask; };
  while (threads > 1 && panels * rowTasks() < 4 * threads && rowsPerTask / 2 >= 4 * mr)
    rowsPerTask = (rowsPerTask / 2 + mr - 1) / mr * mr;
  const size_t blockFloats = size_t(rowsPerTask * nr);
  // Task t: its panel, and its rows [i0, iEnd).
  struct TaskRange {
    int64_t panel, i0, iEnd;
  };
  auto rangeOf = [&](int64_t task) {
    int64_t i0 = task % rowTasks() * rowsPerTask;
    return TaskRange{task / rowTasks(), i0, std::min(m, i0 + rowsPerTask)};
  };
  auto runsOf = [&](const TaskRange &range, PixelRuns &runs) {
    runs.split(range.panel * nr, std::min<int64_t>(nr, n - range.panel * nr), ho, wo, sh, sw,
               inN, inH, inW);
  };
  auto sum = [&](int64_t task, int64_t kbBegin, int64_t kbEnd, float *block) {
    const TaskRange range = rangeOf(task);
    thread_local PixelRuns runs;
    runsOf(range, runs);
    // The panel (KC × nr, then 16 floats that copyRuns may write past its
    // last row) and, without a split sum, the task's block of C.
    float *packed = packingBuffer(size_t(KC * nr + 16) + blockFloats);
    if (!block)
      block = packed + KC * nr + 16;
    if (kbBegin >= kbEnd)
      std::fill(block, block + blockFloats, 0.0f);
    // The panel's pixels: the kernel sums only the columns a last, partial
    // panel needs (writeOut copies no others).
    const int width = int(std::min<int64_t>(nr, n - range.panel * nr));
    for (int64_t kb = kbBegin; kb < kbEnd; ++kb) {
      const int64_t p0 = kb * KC, kc = std::min(KC, k - p0);
      packPatches(input, runs, p0, kc, kh, kw, dh, dw, inC, inH, inW, sw, width, nr, kernel,
                  packed);
      for (int64_t i = range.i0; i < range.iEnd; i += mr)
        kernel.run(kc, filter + i * filterRowStride + p0, filterRowStride,
                   int(std::min<int64_t>(mr, range.iEnd - i)), packed, nr,
                   block + (i - range.i0) * nr, nr, width, /*accumulate=*/kb > kbBegin);
    }
    return block;
  };
  auto write = [&](int64_t task, const float *block) {
    const TaskRange range = rangeOf(task);
    thread_local PixelRuns runs;
    runsOf(range, runs);
    writeOut(runs, block, nr, 1, range.i0, range.iEnd);
  };
  runTasks(panels * rowTasks(), blockFloats, sum, write);
}

extern "C" void dlc_conv2d_f32(int64_t images, int64_t channels, int64_t outChannels,
                               int64_t kh, int64_t kw, int64_t ho, int64_t wo, int64_t sh,
                               int64_t sw, int64_t dh, int64_t dw, const float *input,
                               int64_t inN, int64_t inC, int64_t inH, int64_t inW,
                               const float *filter, int64_t filterRowStride, float *output,
                               int64_t outN, int64_t outC, int64_t outH, int64_t flags,
                               const float *rowScale, const float *rowShift,
                               const float *residual, int64_t residualN, int64_t residualC,
                               int64_t residualH, int64_t minBits, int64_t maxBits) {
  conv2dF32(nullptr, images, channels, outChannels, kh, kw, ho, wo, sh, sw, dh, dw, input, inN,
            inC, inH, inW, filter, filterRowStride, output, outN, outC, outH, flags, rowScale,
            rowShift, residual, residualN, residualC, residualH, minBits, maxBits);
}
