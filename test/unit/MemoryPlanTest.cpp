//===- MemoryPlanTest.cpp - planArena on hand-built live ranges -*- C++ -*-===//

#include "codegen/cpu/MemoryPlan.h"

#include "gtest/gtest.h"

#include <random>

using namespace dlc;

namespace {

/// No two buffers alive at the same time share a byte, and every buffer is
/// inside the arena at an aligned offset.
void expectValid(const std::vector<LiveRange> &buffers, const ArenaPlan &plan,
                 int64_t alignment) {
  ASSERT_EQ(plan.offsets.size(), buffers.size());
  for (size_t i = 0; i < buffers.size(); ++i) {
    EXPECT_EQ(plan.offsets[i] % alignment, 0);
    EXPECT_LE(plan.offsets[i] + buffers[i].bytes, plan.size);
    for (size_t j = i + 1; j < buffers.size(); ++j) {
      bool together = buffers[i].first <= buffers[j].last && buffers[j].first <= buffers[i].last;
      bool apart = plan.offsets[i] + buffers[i].bytes <= plan.offsets[j] ||
                   plan.offsets[j] + buffers[j].bytes <= plan.offsets[i];
      EXPECT_TRUE(!together || apart) << "buffers " << i << " and " << j << " overlap";
    }
  }
}

TEST(MemoryPlanTest, ExactArenaSizes) {
  // Never alive together: one slot, as big as the biggest.
  std::vector<LiveRange> sequential = {{100, 0, 1}, {300, 2, 3}, {200, 4, 5}};
  EXPECT_EQ(planArena(sequential, 1).size, 300);
  // All alive together: the sum, each rounded up to the alignment.
  std::vector<LiveRange> together = {{100, 0, 9}, {300, 1, 9}, {200, 2, 9}};
  EXPECT_EQ(planArena(together, 1).size, 600);
  EXPECT_EQ(planArena(together, 64).size, 128 + 320 + 256);
  // A chain where each buffer lives until the next is made: two slots.
  std::vector<LiveRange> chain = {{256, 0, 1}, {256, 1, 2}, {256, 2, 3}, {256, 3, 4}};
  EXPECT_EQ(planArena(chain, 64).size, 512);
  // A large buffer alive throughout and small ones that come and go: the
  // small ones share one slot beside it.
  std::vector<LiveRange> resident = {{1000, 0, 10}, {10, 1, 2}, {10, 3, 4}, {10, 5, 6}};
  ArenaPlan plan = planArena(resident, 1);
  EXPECT_EQ(plan.size, 1010);
  expectValid(resident, plan, 1);
  // The chain of dlc-plan-memory's lit test: 3072 bytes.
  std::vector<LiveRange> growShrink = {{1024, 0, 3}, {2048, 2, 5}, {1024, 4, 6}};
  EXPECT_EQ(planArena(growShrink, 64).size, 3072);
  EXPECT_EQ(planArena({}, 64).size, 0);
}

TEST(MemoryPlanTest, RandomPlansAreValidAndNoWorseThanApart) {
  std::mt19937 rng(11);
  for (int round = 0; round < 200; ++round) {
    std::vector<LiveRange> buffers;
    int64_t apart = 0;
    int count = 1 + int(rng() % 30);
    for (int i = 0; i < count; ++i) {
      int64_t first = rng() % 40, length = rng() % 10;
      int64_t bytes = 1 + rng() % 5000;
      buffers.push_back({bytes, first, first + length});
      apart += (bytes + 63) / 64 * 64;
    }
    ArenaPlan plan = planArena(buffers, 64);
    expectValid(buffers, plan, 64);
    EXPECT_LE(plan.size, apart);
  }
}

} // namespace
