//===- CompileCache.cpp - compiled objects kept on disk ---------*- C++ -*-===//

#include "runtime/CompileCache.h"
#include "codegen/cpu/Jit.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

using namespace dlc;

namespace {

/// Each entry ends with the xxh3 hash of the object before it, so a damaged
/// or truncated entry is never handed to the linker.
constexpr size_t kTrailerSize = sizeof(uint64_t);

/// Pieces of a mapPieces file start at multiples of this: a mapped weight
/// is as aligned as a host tensor (ir/HostTensor.h).
constexpr uint64_t kPieceAlignment = 64;

/// Whether the file open as `fd` is `size` bytes long and holds `pieces`
/// at `offsets`. Read with pread, not mapped: the pages stay out of this
/// process's resident set.
bool fileHolds(int fd, uint64_t size, llvm::ArrayRef<llvm::StringRef> pieces,
               llvm::ArrayRef<uint64_t> offsets) {
  struct stat status;
  if (fstat(fd, &status) != 0 || uint64_t(status.st_size) != size)
    return false;
  std::vector<char> buffer(size_t(1) << 20);
  for (auto [piece, offset] : llvm::zip(pieces, offsets)) {
    for (uint64_t done = 0; done < piece.size();) {
      size_t want = std::min<uint64_t>(buffer.size(), piece.size() - done);
      ssize_t got = pread(fd, buffer.data(), want, off_t(offset + done));
      if (got <= 0 || std::memcmp(buffer.data(), piece.data() + done, size_t(got)) != 0)
        return false;
      done += uint64_t(got);
    }
  }
  return true;
}

/// Whether `directory` is on a file system held in memory (tmpfs,
/// ramfs): a file there takes memory all the same, so mapping it instead
/// of keeping its contents on the heap would only hide them from the
/// process's resident set.
bool isInMemory(const std::string &directory) {
  constexpr unsigned long kTmpfs = 0x01021994, kRamfs = 0x858458f6;
  struct statfs fs;
  return statfs(directory.c_str(), &fs) != 0 || static_cast<unsigned long>(fs.f_type) == kTmpfs ||
         static_cast<unsigned long>(fs.f_type) == kRamfs;
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

std::optional<CompileCache::MappedPieces>
CompileCache::mapPieces(llvm::ArrayRef<llvm::StringRef> pieces) const {
  if (!enabled())
    return std::nullopt;
  MappedPieces mapped;
  // Named by the pieces' sizes and hashes; a file of that name that holds
  // anything else (a collision, a damaged file) is written again.
  llvm::SHA256 hash;
  hash.update("dlc mapped pieces v1");
  uint64_t size = 0;
  for (llvm::StringRef piece : pieces) {
    size = llvm::alignTo(size, kPieceAlignment);
    mapped.offsets.push_back(size);
    size += piece.size();
    hash.update(std::to_string(piece.size()) + ":" +
                llvm::utohexstr(llvm::xxh3_64bits(piece)) + ";");
  }
  if (size == 0 || llvm::sys::fs::create_directories(dir) || isInMemory(dir))
    return std::nullopt;
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, "weights-" + llvm::toHex(hash.final(), true) + ".bin");

  auto mapIfItHolds = [&]() -> bool {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return false;
    bool holds = fileHolds(fd, size, pieces, mapped.offsets);
    if (holds) {
      // The checked file itself (not whatever the name may point to now).
      auto mapping = llvm::MemoryBuffer::getOpenFile(
          llvm::sys::fs::convertFDToNativeFile(fd), path, size,
          /*RequiresNullTerminator=*/false, /*IsVolatile=*/false, llvm::Align(kPieceAlignment));
      if (mapping && (*mapping)->getBufferKind() == llvm::MemoryBuffer::MemoryBuffer_MMap)
        mapped.mapping = std::move(*mapping);
    }
    close(fd);
    return mapped.mapping != nullptr;
  };
  if (mapIfItHolds())
    return mapped;
  llvm::Error written = llvm::writeToOutput(path, [&](llvm::raw_ostream &os) {
    uint64_t end = 0;
    for (auto [piece, offset] : llvm::zip(pieces, mapped.offsets)) {
      os.write_zeros(offset - end);
      os << piece;
      end = offset + piece.size();
    }
    return llvm::Error::success();
  });
  if (written) {
    llvm::consumeError(std::move(written));
    return std::nullopt;
  }
  if (mapIfItHolds())
    return mapped;
  return std::nullopt;
}

/// Whether the file at `path` was last modified more than an hour ago.
static bool olderThanAnHour(llvm::StringRef path) {
  llvm::sys::fs::file_status status;
  if (llvm::sys::fs::status(path, status))
    return false;
  return std::chrono::system_clock::now() - status.getLastModificationTime() >
         std::chrono::hours(1);
}

llvm::Expected<CompileCache::Usage>
CompileCache::forEachFile(bool temporaries,
                          llvm::function_ref<void(llvm::StringRef path)> visit) const {
  Usage usage;
  if (!enabled() || !llvm::sys::fs::is_directory(dir))
    return usage;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec)) {
    llvm::StringRef name = llvm::sys::path::filename(it->path());
    // writeToOutput's temporaries are NAME.temp-stream-XXXXXX; a child
    // compiler's files (compile-XXXXXXXX.*, runtime/CompilerProcess.h) are
    // left over when their parent was killed, and taken for leftovers only
    // after an hour, so that a compile in flight keeps its own.
    bool temporary = name.contains(".temp-stream-") ||
                     (name.starts_with("compile-") && olderThanAnHour(it->path()));
    bool object = !temporary && name.ends_with(".o") && name.size() == 64 + 2;
    bool weights = !temporary && name.starts_with("weights-") && name.ends_with(".bin");
    if (!object && !weights && !(temporaries && temporary))
      continue;
    uint64_t bytes = 0;
    if (llvm::sys::fs::file_size(it->path(), bytes))
      continue; // gone meanwhile
    if (weights) {
      ++usage.weightFiles;
      usage.weightBytes += bytes;
    } else {
      ++usage.objects;
      usage.objectBytes += bytes;
    }
    visit(it->path());
  }
  if (ec)
    return llvm::createStringError("cannot list the cache directory '%s': %s", dir.c_str(),
                                   ec.message().c_str());
  return usage;
}

llvm::Expected<CompileCache::Usage> CompileCache::usage() const {
  return forEachFile(/*temporaries=*/false, [](llvm::StringRef) {});
}

llvm::Expected<CompileCache::Usage> CompileCache::clear() const {
  std::vector<std::string> paths;
  auto found = forEachFile(/*temporaries=*/true,
                           [&](llvm::StringRef path) { paths.push_back(path.str()); });
  if (!found)
    return found.takeError();
  for (const std::string &path : paths)
    if (std::error_code ec = llvm::sys::fs::remove(path))
      return llvm::createStringError("cannot remove '%s': %s", path.c_str(),
                                     ec.message().c_str());
  return found;
}
