//===- Winograd.cpp - 3×3 convolutions by Winograd's F(2×2, 3×3) -*- C++ -*-===//
//
// The driver around the micro-kernel's transforms (GemmAvx512.cpp):
//
//   the filter's transform U (16 matrices K × C) is made once and kept in
//   the executable's GemmPackCache
//   for each wave of blocks of 32 tiles (the wave's V fits in L2):
//     in parallel over blocks: V = Bᵀ·d·B for every channel, as 16
//       panels of C × 32 per block: the micro-kernel's packed B
//     in parallel over blocks (or, with few, all of them) × ranges of
//     output channels:
//       for each group of 8 output channels, for each of the task's blocks:
//         M[ξ] (8 × 32) = U_ξ[8 rows] · V_ξ for ξ < 16     M stays in L1
//         Y = Aᵀ·M·A for the block's two groups of 16 tiles, with the
//         epilogue, written to the output
//
// Tiles are numbered over the images' 2×2 output tiles in order (image,
// tile row, tile column), so a group of 16 may span tile rows and images:
// the transforms take it as runs of tiles along one tile row
// (WinogradTiles), each window row and output row of a run one stretch of
// memory.
//
//===----------------------------------------------------------------------===//

#include "runtime/kernels/Winograd.h"
#include "runtime/ThreadPool.h"
#include "runtime/kernels/Gemm.h"
#include "runtime/kernels/KernelUtil.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

using namespace dlc;

namespace {

constexpr int64_t kLanes = 16;           // tiles per transform call
constexpr int64_t kBlockTiles = 32;      // tiles per block: the kernel's panel
constexpr int64_t kXi = 16;              // elements of a 4×4 transform
constexpr int64_t kKc = 256; // channels per micro-kernel call: gemmBlocked's KC
constexpr int64_t kWaveBytes = 1 << 20;  // V of a wave's blocks, per thread
/// GemmPackCache keys' bStrideN for a filter's Winograd transform (a GEMM
/// packing's is a stride, never negative).
constexpr int64_t kWinogradKeyTag = -1;

/// U[ξ][k][c] = (G·g·Gᵀ)[ξ] for filter g[k][c] (3×3), with
/// G = [[1, 0, 0], [½, ½, ½], [½, -½, ½], [0, 0, 1]].
void transformFilter(const float *filter, int64_t rowStride, int64_t channels,
                     int64_t outChannels, float *u) {
  const int64_t matrix = outChannels * channels;
  for (int64_t k = 0; k < outChannels; ++k)
    for (int64_t c = 0; c < channels; ++c) {
      const float *g = filter + k * rowStride + c * 9;
      float t[4][3]; // G·g
      for (int j = 0; j < 3; ++j) {
        t[0][j] = g[j];
        t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
        t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
        t[3][j] = g[6 + j];
      }
      float *at = u + k * channels + c;
      for (int i = 0; i < 4; ++i) {
        at[(4 * i + 0) * matrix] = t[i][0];
        at[(4 * i + 1) * matrix] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
        at[(4 * i + 2) * matrix] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
        at[(4 * i + 3) * matrix] = t[i][2];
      }
    }
}

/// A group of 16 tiles and where its first tile's elements are in the
/// input, the output and the residual (its runs' offsets count from
/// there).
struct Group {
  WinogradTiles tiles;
  int64_t input, output, residual;
};

/// The tile grid of a convolution's output: `across` × `down` tiles per
/// image, `count` in all.
struct TileGrid {
  int64_t ho, wo, across, down, count;
  TileGrid(int64_t images, int64_t ho, int64_t wo)
      : ho(ho), wo(wo), across((wo + 1) / 2), down((ho + 1) / 2),
        count(images * across * down) {}

  /// Tiles [first, first + 16) (those below `count`) as runs; `strides`
  /// are each tensor's (input, output, residual) image and row strides.
  Group group(int64_t first, const int64_t (&strides)[3][2]) const {
    Group result{};
    WinogradTiles &tiles = result.tiles;
    int64_t *const bases[3] = {&result.input, &result.output, &result.residual};
    WinogradTiles::Run *run = nullptr;
    int64_t x0 = 0; // the run's first tile's column
    for (int q = 0; q < kLanes && first + q < count; ++q) {
      const int64_t tile = first + q, image = tile / (across * down);
      const int64_t y = tile / across % down * 2, x = tile % across * 2;
      int64_t at[3];
      for (int t = 0; t < 3; ++t) {
        at[t] = image * strides[t][0] + y * strides[t][1] + x;
        if (q == 0)
          *bases[t] = at[t];
      }
      tiles.lanes |= uint16_t(1u << q);
      // A new run at the start of a tile row (or of the group).
      if (q == 0 || x == 0) {
        run = &tiles.runs[tiles.runCount++];
        // Offsets from the first tile fit 32 bits (winogradApplies checks).
        run->input = int32_t(at[0] - result.input);
        run->output = int32_t(at[1] - result.output);
        run->residual = int32_t(at[2] - result.residual);
        run->first = uint8_t(q);
        // The window is rows y..y+3 of an input ho + 2 rows high.
        for (int r = 0; r < 4; ++r)
          run->inputRows |= uint8_t(y + r < ho + 2 ? 1 << r : 0);
        run->outputRow1 = y + 1 < ho;
        x0 = x;
      }
      ++run->count;
      // The input is wo + 2 floats wide, the output wo.
      run->inputFloats = uint8_t(std::min<int64_t>(x + 4, wo + 2) - x0);
      run->outputFloats = uint8_t(std::min<int64_t>(x + 2, wo) - x0);
    }
    return result;
  }
};

} // namespace

bool dlc::winogradApplies(const GemmMicroKernel &kernel, int64_t images, int64_t channels,
                          int64_t outChannels, int64_t kh, int64_t kw, int64_t ho, int64_t wo,
                          int64_t sh, int64_t sw, int64_t dh, int64_t dw, int64_t inN,
                          int64_t inC, int64_t inH, int64_t inW, int64_t outN, int64_t outH,
                          int64_t residualN, int64_t residualH) {
  if (!kernel.winogradInput || !kernel.winogradOutput || kh != 3 || kw != 3 || sh != 1 ||
      sw != 1 || dh != 1 || dw != 1 || inW != 1 || kernel.nr != kBlockTiles)
    return false;
  // Few channels: the transforms cost as much as the products save. Fewer
  // tiles than a panel (ResNet-50's 7×7 layers at batch 1: 16): the
  // filter's transform, 16/9 of the filter, streams from memory for few
  // products. With the first transforms (gathers and scatters) those
  // layers ran 14% slower than the implicit GEMM; with today's, ResNet-50
  // at batch 1 with them against without was 0.965-1.022 over six A/B
  // runs: no gain, for 20 MiB more memory (their transforms).
  const int64_t tiles = images * ((ho + 1) / 2) * ((wo + 1) / 2);
  if (channels < 32 || outChannels < 32 || tiles < kBlockTiles)
    return false;
  // A group of 16 tiles spans at most two images: lanes' offsets from
  // the first (plus a window's 3 rows and columns) must fit 32 bits.
  constexpr int64_t limit = std::numeric_limits<int32_t>::max();
  auto fits = [&](int64_t n, int64_t h) {
    return n >= 0 && h >= 0 && n + (ho + 3) * h + wo + 3 < limit;
  };
  return images > 0 && fits(inN, inH) && fits(outN, outH) && fits(residualN, residualH);
}

bool dlc::conv2dWinogradF32(const GemmMicroKernel &kernel, GemmPackCache &cache,
                            int64_t images, int64_t channels, int64_t outChannels, int64_t ho,
                            int64_t wo, const float *input, int64_t inN, int64_t inC,
                            int64_t inH, const float *filter, int64_t filterRowStride,
                            float *output, int64_t outN, int64_t outC, int64_t outH,
                            bool overwrite, const GemmEpilogue *epilogue, int64_t residualN,
                            int64_t residualH) {
  const int64_t C = channels, K = outChannels;
  const size_t uFloats = size_t(kXi * K * C);
  const float *u = cache.get(
      {filter, C, K, filterRowStride, kWinogradKeyTag, 0}, uFloats,
      [&](float *target) { transformFilter(filter, filterRowStride, C, K, target); }, filter,
      size_t(((K - 1) * filterRowStride + C * 9) * sizeof(float)));
  if (!u)
    return false;
  const int64_t matrix = K * C; // floats between U's matrices

  ThreadPool *pool = ThreadPool::current();
  const int64_t threads = pool ? pool->size() : 1;

  const TileGrid grid(images, ho, wo);
  const int64_t blocks = (grid.count + kBlockTiles - 1) / kBlockTiles;
  // A block's V: 16 panels of C × 32, each a cache line more than that
  // apart: the input transform stores a row of all 16 per channel, and
  // panels a multiple of 4 KiB apart put those in one set of L1 (a chain
  // of 64-channel 56×56 layers, 1 thread: 19.2 against 17.9 ms).
  const int64_t panelStride = C * kBlockTiles + 16;
  const int64_t blockFloats = kXi * panelStride;
  const int64_t waveBlocks = std::clamp<int64_t>(
      kWaveBytes * threads / (blockFloats * int64_t(sizeof(float))), 1, blocks);
  // (Blocks start on cache lines: threads write neighbouring blocks.)
  thread_local std::vector<float> waveV;
  waveV.resize(std::max(waveV.size(), size_t(waveBlocks * blockFloats + 16)));
  float *const v = reinterpret_cast<float *>((reinterpret_cast<uintptr_t>(waveV.data()) + 63) &
                                             ~uintptr_t(63));
  thread_local std::vector<Group> waveGroups;
  waveGroups.resize(std::max(waveGroups.size(), size_t(waveBlocks * 2)));
  Group *const groups = waveGroups.data();
  const int64_t strides[3][2] = {{inN, inH}, {outN, outH}, {residualN, residualH}};

  const GemmEpilogue none{};
  const GemmEpilogue &terms = epilogue ? *epilogue : none;
  for (int64_t wave = 0; wave < blocks; wave += waveBlocks) {
    const int64_t count = std::min(waveBlocks, blocks - wave);
    // The input transform, a block (two groups of 16 tiles) per task: the
    // groups' halves of each panel row share cache lines.
    forEachTask(pool, count, [&](int64_t block) {
      for (int64_t g = 2 * block; g < 2 * block + 2; ++g) {
        groups[g] = grid.group((wave * 2 + g) * kLanes, strides);
        if (groups[g].tiles.lanes)
          kernel.winogradInput(groups[g].tiles, input + groups[g].input, C, inC, inH,
                               v + block * blockFloats + g % 2 * kLanes, kBlockTiles,
                               panelStride);
      }
    });
    // The products and the output transform. With fewer blocks than two
    // per thread (a late layer at batch 1), each task takes a range of
    // output channels of all the blocks, so that U, which comes from
    // memory, is read once (the second block's rows from L2); otherwise a
    // task is a block and all output channels.
    const bool allBlocks = count < 2 * threads;
    const int64_t blockSets = allBlocks ? 1 : count, blocksPerTask = allBlocks ? count : 1;
    const int64_t parts = std::min<int64_t>(
        (K + 7) / 8, std::max<int64_t>(1, (2 * threads + blockSets - 1) / blockSets));
    const int64_t rowsPerPart = ((K + parts - 1) / parts + 7) / 8 * 8;
    forEachTask(pool, blockSets * parts, [&](int64_t task) {
      const int64_t firstBlock = task / parts * blocksPerTask, k0 = task % parts * rowsPerPart;
      const int64_t k1 = std::min(K, k0 + rowsPerPart);
      alignas(64) float m[kXi * 8 * kBlockTiles];
      for (int64_t i = k0; i < k1; i += 8) {
        const int rows = int(std::min<int64_t>(8, k1 - i));
        for (int64_t block = firstBlock; block < firstBlock + blocksPerTask; ++block) {
          const float *vb = v + block * blockFloats;
          const int64_t first = (wave + block) * kBlockTiles;
          const int cols = int(std::min<int64_t>(kBlockTiles, grid.count - first));
          const bool lastBlock = block + 1 == firstBlock + blocksPerTask;
          for (int64_t xi = 0; xi < kXi; ++xi) {
            // The next group's rows of this matrix of U (8 rows of C
            // floats), which come from memory in runs too short for the
            // hardware's prefetchers: asked for a group ahead, from the
            // last block (the first block of the next group reads them).
            const int64_t nextI = i + 8;
            if (lastBlock && nextI < k1) {
              const float *next = u + xi * matrix + nextI * C;
              const int64_t bytes =
                  std::min<int64_t>(8, k1 - nextI) * C * int64_t(sizeof(float));
              for (int64_t line = 0; line < bytes; line += 64)
                __builtin_prefetch(reinterpret_cast<const char *>(next) + line);
            }
            for (int64_t p0 = 0; p0 < C; p0 += kKc)
              kernel.run(std::min(kKc, C - p0), u + xi * matrix + i * C + p0, C, rows,
                         vb + xi * panelStride + p0 * kBlockTiles, kBlockTiles,
                         m + xi * 8 * kBlockTiles, kBlockTiles, cols, /*accumulate=*/p0 > 0);
          }
          for (int64_t half = 0; half < 2; ++half) {
            const Group &group = groups[block * 2 + half];
            if (!group.tiles.lanes)
              continue;
            // Rows from channel i; the residual from the group's first tile.
            const GemmEpilogue here = terms.from(i, group.residual);
            kernel.winogradOutput(group.tiles, m + half * kLanes, kBlockTiles, 8 * kBlockTiles,
                                  rows, output + group.output + i * outC, outC, outH,
                                  !overwrite, epilogue ? &here : nullptr, residualH);
          }
        }
      }
    });
  }
  return true;
}
