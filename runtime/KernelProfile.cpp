//===- KernelProfile.cpp - time spent in the runtime's kernels --*- C++ -*-===//

#include "runtime/KernelProfile.h"

#include <algorithm>

using namespace dlc;

namespace {
thread_local KernelProfile *currentProfile = nullptr;
} // namespace

void KernelProfile::add(llvm::StringRef kernel, llvm::StringRef shape, double seconds,
                        double flops) {
  std::lock_guard<std::mutex> lock(mutex);
  Entry &entry = table[{kernel.str(), shape.str()}];
  if (entry.calls == 0) {
    entry.kernel = kernel.str();
    entry.shape = shape.str();
  }
  ++entry.calls;
  entry.seconds += seconds;
  entry.flops += flops;
}

std::vector<KernelProfile::Entry> KernelProfile::entries() const {
  std::vector<Entry> sorted;
  {
    std::lock_guard<std::mutex> lock(mutex);
    for (const auto &[key, entry] : table)
      sorted.push_back(entry);
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Entry &a, const Entry &b) { return a.seconds > b.seconds; });
  return sorted;
}

KernelProfile *KernelProfile::current() { return currentProfile; }

KernelProfile::Scope::Scope(KernelProfile *profile) : previous(currentProfile) {
  currentProfile = profile;
}

KernelProfile::Scope::~Scope() { currentProfile = previous; }
