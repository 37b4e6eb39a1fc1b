//===- CompileCache.h - compiled objects kept on disk -----------*- C++ -*-===//
//
// Native code for a module is cached on disk under a key that hashes the
// module (MLIR bytecode), the host CPU (triple, name, features, LLVM
// version) and the build of the compiler itself, so a second load of the
// same model skips lowering and code generation and a rebuilt dlc never
// picks up code from an older one.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_RUNTIME_COMPILECACHE_H
#define DLC_RUNTIME_COMPILECACHE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llvm {
class MemoryBuffer;
} // namespace llvm

namespace dlc {

/// A hash of the sources of dlc's code generator and runtime and of the C++
/// compiler's flags, the same in every program of one build (defined in the
/// source runtime/BuildId.cmake generates): the lowering that produced a
/// cached object is part of its key.
std::string compilerBuildId();

class CompileCache {
public:
  /// A cache in `directory` (created when first written); an empty
  /// directory turns caching off.
  explicit CompileCache(std::string directory) : dir(std::move(directory)) {}

  /// The cache the environment names: $DLC_CACHE_DIR (empty or "off" turns
  /// caching off), else $XDG_CACHE_HOME/dlc, else $HOME/.cache/dlc.
  static CompileCache fromEnvironment();

  bool enabled() const { return !dir.empty(); }
  const std::string &directory() const { return dir; }

  /// The key of the code for a module with `moduleBytecode` on this host,
  /// built by this compiler: 64 hexadecimal digits.
  static std::string keyFor(llvm::StringRef moduleBytecode);

  /// The object stored under `key`, or nothing when there is none or it is
  /// damaged (a damaged entry is removed).
  std::optional<std::string> lookup(llvm::StringRef key) const;

  /// Stores `object` under `key`, atomically: a concurrent reader sees the
  /// whole entry or none.
  llvm::Error store(llvm::StringRef key, llvm::StringRef object) const;

  /// A read-only file mapping of `pieces`, each at a 64-byte-aligned
  /// offset (`offsets`), from a file in the cache named by their contents:
  /// written the first time, then found again and checked byte for byte
  /// against `pieces` (read, not mapped, so the check costs no resident
  /// memory). Nothing when caching is off, the cache is on a file system
  /// in memory (tmpfs: the file would take memory all the same), the file
  /// cannot be written, or it is too small for LLVM to map (under four
  /// pages). Executable::load keeps the weights of models compiled from
  /// ONNX this way, so that their packed copies need not sit beside them.
  struct MappedPieces {
    std::shared_ptr<llvm::MemoryBuffer> mapping;
    std::vector<uint64_t> offsets;
  };
  std::optional<MappedPieces> mapPieces(llvm::ArrayRef<llvm::StringRef> pieces) const;

  /// What the cache holds: its objects (`KEY.o`) and mapPieces's files
  /// (`weights-KEY.bin`), how many and their bytes. Other files in the
  /// directory are not dlc's and are not counted.
  struct Usage {
    uint64_t objects = 0, objectBytes = 0;
    uint64_t weightFiles = 0, weightBytes = 0;
  };
  /// Usage now (all zeros for a cache not yet written).
  llvm::Expected<Usage> usage() const;
  /// Removes the cache's files (objects, weights, and temporaries that a
  /// killed writer or a child compiler's killed parent left, counted with
  /// the objects), nothing else; returns
  /// what was removed. Safe while other processes use the cache: a mapped
  /// file stays readable until unmapped, and a missing object is compiled
  /// again.
  llvm::Expected<Usage> clear() const;

private:
  std::string pathFor(llvm::StringRef key) const;
  /// Visits the cache's own files (what usage() counts, and with
  /// `temporaries` the leftovers of interrupted writes).
  llvm::Expected<Usage>
  forEachFile(bool temporaries,
              llvm::function_ref<void(llvm::StringRef path)> visit) const;
  std::string dir;
};

} // namespace dlc

#endif // DLC_RUNTIME_COMPILECACHE_H
