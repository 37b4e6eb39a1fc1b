//===- Gemm.h - dense matrix products for the CPU ---------------*- C++ -*-===//
//
// Single-precision GEMM with packed B panels and register-tiled
// micro-kernels for AVX-512 (8×32) and AVX2 (6×16), chosen by the host
// CPU's features, split over the current ThreadPool. Generated code calls
// dlc_gemm_f32 (the name and argument order are fixed in
// codegen/cpu/KernelAbi.h).
//
//===----------------------------------------------------------------------===//

#ifndef DLC_RUNTIME_KERNELS_GEMM_H
#define DLC_RUNTIME_KERNELS_GEMM_H

#include "llvm/ADT/STLFunctionalExtras.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

namespace dlc {

struct GemmMicroKernel;
struct WinogradTiles;

/// What dlc_gemm_f32 and dlc_conv2d_f32 apply to each element of C after
/// the product (see codegen/cpu/KernelAbi.h), in this order: times
/// rowScale[i], plus rowShift[i], plus residual[i·ldr + j], clamped below
/// by lo and above by hi (a NaN element stays NaN; a NaN bound makes every
/// element NaN). Null pointers and false flags skip their terms. Row
/// indices are C's; `residual` is the current product's.
struct GemmEpilogue {
  const float *rowScale = nullptr, *rowShift = nullptr, *residual = nullptr;
  int64_t ldr = 0;
  bool clampMin = false, clampMax = false;
  float lo = 0, hi = 0;

  /// Applies the terms to rows [i0, i1) and columns [j0, j1) of C (row
  /// stride ldc), through `kernel`'s row copy where it has one; otherwise
  /// each term is a loop of its own over a row (in L1), so each vectorizes.
  void apply(const GemmMicroKernel &kernel, float *c, int64_t ldc, int64_t i0, int64_t i1,
             int64_t j0, int64_t j1) const;

  /// True when a bound is NaN.
  bool nanBound() const;

  /// The same terms for the block of C whose first element is (i0, j0):
  /// its row i is C's row i0 + i.
  GemmEpilogue from(int64_t i0, int64_t j0) const {
    GemmEpilogue shifted = *this;
    if (shifted.rowScale)
      shifted.rowScale += i0;
    if (shifted.rowShift)
      shifted.rowShift += i0;
    if (shifted.residual)
      shifted.residual += i0 * ldr + j0;
    return shifted;
  }
};

/// One micro-kernel: computes an mr×nr tile of C += A·B (C = A·B without
/// `accumulate`) from `rows` rows of A (row stride lda) and kc rows of nr
/// floats of B (row stride ldb: nr for a packed panel), updating the first
/// `rows`×`cols` elements of C. All nr columns of B are read, so a partial
/// tile must come from a padded panel.
struct GemmMicroKernel {
  const char *name;
  int mr, nr;
  void (*run)(int64_t kc, const float *a, int64_t lda, int rows, const float *b,
              int64_t ldb, float *c, int64_t ldc, int cols, bool accumulate);
  /// For products with few rows and a transposed B (dense layers at small
  /// batch): sums[q] = Σ_p row[p]·columns[q][p] for the four columns, each
  /// element of the row loaded once for all four. Null: a portable loop.
  void (*dot4)(int64_t k, const float *row, const float *const *columns, float *sums);
  /// For convolutions' patches: target[columns[r] + t] =
  /// source[offsets[r] + step·t] for t < lengths[r], each run r < runs
  /// (short runs of an image row), in order; step is 1 or 2 (a stride-2
  /// convolution's columns). It reads no element past a run's last and may
  /// write anything up to 16 floats past each run (the runs after it
  /// overwrite that). Null: a portable loop.
  void (*copyRuns)(const float *source, int step, const int64_t *offsets, const int32_t *columns,
                   const int32_t *lengths, int runs, float *target);
  /// For convolutions with few output channels, or few output pixels and
  /// a constant filter: the micro-kernel with A read in place from the
  /// images, A(i, p) = rows[i][offsets[p]] (row i a pixel's patch origin, p
  /// a patch element), for `rows` ≤ mr rows; all nr columns of C are
  /// written. Null: convolutions pack their patches.
  void (*runIndirect)(int64_t kc, const float *const *rows, const int64_t *offsets,
                      int rowCount, const float *b, int64_t ldb, float *c, int64_t ldc,
                      bool accumulate);
  /// target[j·ldt + i] = source[i·lds + j] for i < rows, j < cols, where
  /// cols is a multiple of 16: runIndirect's sums (pixels × channels) as
  /// channels × pixels, and its filter (channels × K) packed as K × nr.
  /// Each target row may be written up to the next multiple of 16 floats.
  /// Null: convolutions read the sums with strides and pack the filter
  /// element by element.
  void (*transpose)(const float *source, int64_t lds, int rows, int cols, float *target,
                    int64_t ldt);
  /// to[i·ldt + t] = (or +=, with `accumulate`) from[i·ldf + t] for i <
  /// rows, t < length, writing nothing else: the transposed sums' runs
  /// into an output row (a call of memcpy per run of 14-28 floats cost
  /// more than the copy). With `epilogue` (never one with a NaN bound),
  /// its terms for row i and column t are applied to each element on the
  /// way, as epilogue->apply(*this, to, ldt, 0, rows, 0, length) would after the
  /// copy (and the next `length` floats of each residual row are
  /// prefetched). `from` may be `to` (GemmEpilogue::apply applies its terms
  /// in place so). Null: a portable loop.
  void (*copyRows)(const float *from, int64_t ldf, float *to, int64_t ldt, int rows,
                   int64_t length, bool accumulate, const GemmEpilogue *epilogue);
  /// `run`, then `epilogue`'s terms (its row i the tile's row i; never a
  /// NaN bound) applied to the tile's sums in registers before their one
  /// store: a product's last block of k. Null: `run`, then
  /// GemmEpilogue::apply on the panel (a load and a store more per
  /// element, from L1).
  void (*runWithEpilogue)(int64_t kc, const float *a, int64_t lda, int rows, const float *b,
                          int64_t ldb, float *c, int64_t ldc, int cols, bool accumulate,
                          const GemmEpilogue *epilogue);
  /// Winograd F(2×2, 3×3)'s input transform of 16 tiles, a lane each (see
  /// Winograd.h): for each of `channels` channels c, the 16 values of each
  /// tile's Bᵀ·d·B go to v[ξ·xiStride + c·ldv + lane], ξ = 4·row + column.
  /// The tiles' 4×4 windows are read from input + c·inC (rows inH apart).
  /// Null, or winogradOutput null: 3×3 convolutions are implicit GEMMs.
  void (*winogradInput)(const WinogradTiles &tiles, const float *input, int64_t channels,
                        int64_t inC, int64_t inH, float *v, int64_t ldv, int64_t xiStride);
  /// Winograd F(2×2, 3×3)'s output transform of 16 tiles for `rows`
  /// output channels: channel r's products are m[ξ·xiStride + r·ldm +
  /// lane]; each tile's 2×2 outputs Aᵀ·M·A are written (added to the
  /// output's values with `accumulate`) to output + r·outC (rows outH
  /// apart), with `epilogue`'s terms (its row r channel r, its residual's
  /// rows ldr apart and residualH between image rows; never a NaN bound).
  void (*winogradOutput)(const WinogradTiles &tiles, const float *m, int64_t ldm,
                         int64_t xiStride, int rows, float *output, int64_t outC,
                         int64_t outH, bool accumulate, const GemmEpilogue *epilogue,
                         int64_t residualH);
  /// A row count below mr for which runIndirect sums only those rows (its
  /// cost theirs, not mr's), or 0: convolutions whose pixels come in whole
  /// groups of it (7×7 and 14×14 outputs for 7) use such tiles.
  int indirectShortRows;
  /// One output row of a convolution with few input channels (an image
  /// network's first layer): for x < width and c < channels,
  ///   out[c·outC + x] (+)= Σ_{p<k} filterT[p·ldf + c] · taps[p][stride·x]
  /// with `epilogue`'s terms (its row c channel c; never a NaN bound),
  /// where taps[p] is the input row of patch element p, shifted to its
  /// column, and filterT the filter transposed (k rows, its columns past
  /// `channels` zero up to a multiple of 8). stride is 1 or 2. Null:
  /// such convolutions run as implicit GEMMs.
  void (*convTaps)(int64_t k, const float *const *taps, int stride, const float *filterT,
                   int64_t ldf, int channels, int64_t width, float *out, int64_t outC,
                   bool accumulate, const GemmEpilogue *epilogue);
  /// runIndirect with one of the kernel's wider tiles, indirectWide[tile]
  /// (rows × nr, fewer loads per multiply-add than mr × nr): rowCount ≤
  /// rows rows, of whose nr columns the first `cols` (a multiple of 16)
  /// are summed and written. Null: runIndirect only.
  void (*runIndirectWide)(int tile, int64_t kc, const float *const *rows, const int64_t *offsets,
                          int rowCount, const float *b, int64_t ldb, float *c, int64_t ldc,
                          int cols, bool accumulate);
  struct IndirectTile {
    int rows, nr;
  };
  /// The wide tiles, the preferred first (rows 0 where there are fewer).
  IndirectTile indirectWide[2];
};

/// The micro-kernels this build has, best first; each is usable only where
/// `supported()` says so.
const GemmMicroKernel *avx512GemmKernel();
const GemmMicroKernel *avx2GemmKernel();
const GemmMicroKernel *portableGemmKernel();

/// The best micro-kernel for this CPU.
const GemmMicroKernel &hostGemmKernel();

/// C += A·B for row-major A (m×k) and C (m×n) with row strides lda and ldc;
/// B's element (p, j) is at b[p·bStrideK + j·bStrideN] (bStrideN = 1 for a
/// row-major B, bStrideK = 1 for a transposed one). With `transposedA`, A
/// is stored as k×m, its element (i, p) at a[p·lda + i]. Uses `kernel` (the
/// host's when null) and the current ThreadPool.
void gemmF32(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
             const float *b, int64_t bStrideK, int64_t bStrideN, float *c,
             int64_t ldc, const GemmMicroKernel *kernel = nullptr, bool transposedA = false);

/// dlc_conv2d_f32 (below) with the micro-kernel `kernel` (the host's when
/// null): convolutions with at most 128 output channels (256 with at least
/// 1024 output pixels), and those of a constant filter with at most 256
/// output pixels, read their patches in place when the kernel has
/// runIndirect, and pack them otherwise.
void conv2dF32(const GemmMicroKernel *kernel, int64_t images, int64_t channels,
               int64_t outChannels, int64_t kh, int64_t kw, int64_t ho, int64_t wo,
               int64_t sh, int64_t sw, int64_t dh, int64_t dw, const float *input,
               int64_t inN, int64_t inC, int64_t inH, int64_t inW, const float *filter,
               int64_t filterRowStride, float *output, int64_t outN, int64_t outC,
               int64_t outH, int64_t flags, const float *rowScale, const float *rowShift,
               const float *residual, int64_t residualN, int64_t residualC,
               int64_t residualH, int64_t minBits, int64_t maxBits);

/// The offsets from a patch's origin of a convolution's k = channels·kh·kw
/// patch elements (c, i, j), in that order: c·inC + i·dh·inH + j·dw·inW,
/// into `offsets` (k of them). A pointwise product's input channels are
/// the case kh = kw = 1.
void patchOffsets(int64_t k, int64_t kh, int64_t kw, int64_t dh, int64_t dw, int64_t inC,
                  int64_t inH, int64_t inW, int64_t *offsets);

/// Packed copies of weights used as B: packed on a product's first run and
/// kept, so later runs skip packing (ONNX Runtime prepacks weights the same
/// way). Each Executable owns one, current while it runs (like BufferPool);
/// without a current cache, weights are packed on every product.
class GemmPackCache {
public:
  GemmPackCache() = default;
  GemmPackCache(const GemmPackCache &) = delete;
  GemmPackCache &operator=(const GemmPackCache &) = delete;

  /// What a packing depends on: the weight's address and layout, the
  /// product's sizes and the micro-kernel's panel width.
  using Key = std::tuple<const float *, int64_t, int64_t, int64_t, int64_t, int>;

  /// The packing of `key` (`floats` floats), made by `pack` into a fresh
  /// 64-byte-aligned buffer the first time. Concurrent callers wait for
  /// the first one's packing.
  /// `source` is the memory packed from, `sourceBytes` long.
  const float *get(const Key &key, size_t floats, llvm::function_ref<void(float *)> pack,
                   const void *source = nullptr, size_t sourceBytes = 0);

  /// Bytes held by packings.
  size_t bytesHeld() const;

  /// Lets get() drop the pages of what it packed (madvise DONTNEED), for
  /// weights in a read-only file mapping: packed, the original is not read
  /// again by this product, and a page read again by anything else comes
  /// back from the file. Memory then holds one copy of such a weight, as
  /// ONNX Runtime's prepacking does.
  void dropPackedSources() { dropSources = true; }

  /// The cache of the Executable::run on this thread's stack, or null.
  static GemmPackCache *current();

  /// Makes `cache` this thread's current cache while in scope.
  class Scope {
  public:
    explicit Scope(GemmPackCache *cache);
    ~Scope();

  private:
    GemmPackCache *previous;
  };

private:
  struct Free {
    void operator()(float *p) const;
  };
  mutable std::mutex mutex;
  std::map<Key, std::unique_ptr<float, Free>> packings;
  size_t held = 0;
  bool dropSources = false;
};

} // namespace dlc

/// The entry point generated code calls; its arguments, flags and epilogue
/// are specified in codegen/cpu/KernelAbi.h (kGemmF32Kernel). The epilogue's
/// arguments default to none for C++ callers (tests, benchmarks).
extern "C" void dlc_gemm_f32(int64_t batch, int64_t m, int64_t n, int64_t k,
                             const float *a, int64_t aBatchStride, int64_t lda,
                             const float *b, int64_t bBatchStride, int64_t bStrideK,
                             int64_t bStrideN, float *c, int64_t cBatchStride,
                             int64_t ldc, int64_t flags, const float *rowScale = nullptr,
                             const float *rowShift = nullptr, const float *residual = nullptr,
                             int64_t residualBatchStride = 0, int64_t ldr = 0,
                             int64_t minBits = 0, int64_t maxBits = 0);

/// A float32 2-D convolution with one group, as an implicit GEMM (no
/// patches buffer); its arguments are specified in codegen/cpu/KernelAbi.h
/// (kConv2dF32Kernel). The epilogue is dlc_gemm_f32's, with output channels
/// as rows.
extern "C" void dlc_conv2d_f32(int64_t images, int64_t channels, int64_t outChannels,
                               int64_t kh, int64_t kw, int64_t ho, int64_t wo, int64_t sh,
                               int64_t sw, int64_t dh, int64_t dw, const float *input,
                               int64_t inN, int64_t inC, int64_t inH, int64_t inW,
                               const float *filter, int64_t filterRowStride, float *output,
                               int64_t outN, int64_t outC, int64_t outH, int64_t flags,
                               const float *rowScale = nullptr,
                               const float *rowShift = nullptr,
                               const float *residual = nullptr, int64_t residualN = 0,
                               int64_t residualC = 0, int64_t residualH = 0,
                               int64_t minBits = 0, int64_t maxBits = 0);

#endif // DLC_RUNTIME_KERNELS_GEMM_H
