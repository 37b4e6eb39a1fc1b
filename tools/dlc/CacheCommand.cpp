//===- CacheCommand.cpp - `dlc cache` ---------------------------*- C++ -*-===//
//
// Shows what the compile cache holds (native code, and the weights of models
// compiled from ONNX, which are as big as the models) and clears it.
//
//===----------------------------------------------------------------------===//

#include "tools/dlc/Commands.h"
#include "runtime/CompileCache.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;
using namespace dlc;
using dlc::tool::fail;

cl::SubCommand dlc::tool::cacheCommand(
    "cache", "Show what the compile cache holds, or clear it");

namespace {

cl::opt<bool> clearCache("clear",
                         cl::desc("Remove the cache's files (objects and weights; "
                                  "nothing else in the directory)"),
                         cl::sub(dlc::tool::cacheCommand), cl::cat(dlc::tool::dlcCategory));

std::string megabytes(uint64_t bytes) { return formatv("{0:f1} MB", bytes / 1e6).str(); }

} // namespace

int dlc::tool::runCacheCommand() {
  CompileCache cache = CompileCache::fromEnvironment();
  if (!cache.enabled()) {
    outs() << "caching is off (DLC_CACHE_DIR is empty or \"off\", or there is no HOME)\n";
    return 0;
  }
  if (clearCache) {
    auto removed = cache.clear();
    if (!removed)
      return fail(cacheCommand, removed.takeError());
    outs() << formatv("{0}: removed {1} files (objects, weights, unfinished writes), {2}\n",
                      cache.directory(), removed->objects + removed->weightFiles,
                      megabytes(removed->objectBytes + removed->weightBytes));
    return 0;
  }
  auto usage = cache.usage();
  if (!usage)
    return fail(cacheCommand, usage.takeError());
  outs() << "compile cache: " << cache.directory()
         << " (DLC_CACHE_DIR sets it; DLC_CACHE_DIR=off turns it off)\n"
         << formatv("  native code: {0} objects, {1}\n", usage->objects,
                    megabytes(usage->objectBytes))
         << formatv("  weights of models compiled from ONNX or C++: {0} files, {1}\n",
                    usage->weightFiles, megabytes(usage->weightBytes))
         << "dlc never prunes it; 'dlc cache --clear' (or deleting the folder) is always "
            "safe: what is missing is compiled or written again.\n";
  return 0;
}
