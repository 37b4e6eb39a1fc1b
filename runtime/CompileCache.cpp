//===- CompileCache.cpp - compiled objects kept on disk ---------*- C++ -*-===//

#include "runtime/CompileCache.h"
#include "codegen/cpu/Jit.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <dlfcn.h>
#include <mutex>

using namespace dlc;

namespace {

/// Each entry ends with the xxh3 hash of the object before it, so a damaged
/// or truncated entry is never handed to the linker.
constexpr size_t kTrailerSize = sizeof(uint64_t);

/// A hash of the binary that holds this code (the dlc tool, the Python
/// module...): the lowering that produced a cached object is part of its
/// key. Hashing a few tens of megabytes with xxh3 takes milliseconds, once
/// per process.
std::string compilerBuildId() {
  static std::once_flag once;
  static std::string id;
  std::call_once(once, [] {
    std::string path = "/proc/self/exe";
    Dl_info info;
    if (dladdr(reinterpret_cast<void *>(&compilerBuildId), &info) && info.dli_fname &&
        llvm::StringRef(info.dli_fname).contains('/') &&
        llvm::sys::fs::exists(info.dli_fname))
      path = info.dli_fname;
    auto binary = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                              /*RequiresNullTerminator=*/false);
    // Without the binary, fall back to a key that changes with every run:
    // the cache then never serves stale code, it only stops helping.
    id = binary ? llvm::utohexstr(llvm::xxh3_64bits((*binary)->getBuffer()))
                : "unknown-" + std::to_string(llvm::sys::Process::getProcessId());
  });
  return id;
}

} // namespace

CompileCache CompileCache::fromEnvironment() {
  if (const char *dir = std::getenv("DLC_CACHE_DIR"))
    return CompileCache(llvm::StringRef(dir) == "off" ? "" : dir);
  llvm::SmallString<256> path;
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    path = xdg;
  else if (const char *home = std::getenv("HOME"); home && *home)
    llvm::sys::path::append(path, home, ".cache");
  else
    return CompileCache("");
  llvm::sys::path::append(path, "dlc");
  return CompileCache(std::string(path));
}

std::string CompileCache::keyFor(llvm::StringRef moduleBytecode) {
  llvm::SHA256 hash;
  // Each part is length-prefixed so that no two key inputs collide.
  auto add = [&hash](llvm::StringRef part) {
    std::string length = std::to_string(part.size()) + ":";
    hash.update(length);
    hash.update(part);
  };
  add("dlc object cache v1");
  add(compilerBuildId());
  add(hostTargetKey());
  add(moduleBytecode);
  return llvm::toHex(hash.final(), /*LowerCase=*/true);
}

std::string CompileCache::pathFor(llvm::StringRef key) const {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, key + ".o");
  return std::string(path);
}

std::optional<std::string> CompileCache::lookup(llvm::StringRef key) const {
  if (!enabled())
    return std::nullopt;
  std::string path = pathFor(key);
  auto entry = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                           /*RequiresNullTerminator=*/false);
  if (!entry)
    return std::nullopt;
  llvm::StringRef bytes = (*entry)->getBuffer();
  if (bytes.size() > kTrailerSize) {
    llvm::StringRef object = bytes.drop_back(kTrailerSize);
    uint64_t stored = llvm::support::endian::read64le(bytes.end() - kTrailerSize);
    if (stored == llvm::xxh3_64bits(object))
      return object.str();
  }
  llvm::sys::fs::remove(path);
  return std::nullopt;
}

llvm::Error CompileCache::store(llvm::StringRef key, llvm::StringRef object) const {
  if (!enabled())
    return llvm::Error::success();
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return llvm::createStringError("cannot create the cache directory '%s': %s",
                                   dir.c_str(), ec.message().c_str());
  return llvm::writeToOutput(pathFor(key), [&](llvm::raw_ostream &os) {
    char trailer[kTrailerSize];
    llvm::support::endian::write64le(trailer, llvm::xxh3_64bits(object));
    os << object;
    os.write(trailer, kTrailerSize);
    return llvm::Error::success();
  });
}
