//===- Artifact.cpp - the .dlc file: a compiled model on disk ---*- C++ -*-===//
//
// Layout (little-endian; docs/artifact.md has the full description):
//
//   header   "DLCMODEL", u32 format version, u32 section count, u64 file size,
//            char[16] dlc version (NUL-padded)
//   table    per section: char[4] tag, u32 0, u64 offset, u64 size, u64
//            checksum (the xxh3 of the xxh3s of its 1 MiB blocks)
//   payloads each at a 64-byte-aligned offset: META, MLIR, WGHT
//
//===----------------------------------------------------------------------===//

#include "runtime/Artifact.h"

#include "ir/Diagnostics.h"
#include "runtime/MappedPages.h"

#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"
#include "llvm/TargetParser/Host.h"

#include <algorithm>
#include <cstring>
#include <functional>

using namespace dlc;

namespace {

constexpr llvm::StringLiteral kMagic = "DLCMODEL";
constexpr uint32_t kFormatVersion = 3;
constexpr uint64_t kHeaderSize = 40;
constexpr size_t kVersionSize = 16;
constexpr uint64_t kTableEntrySize = 32;
constexpr uint64_t kAlignment = 64;
constexpr size_t kNumDTypes = size_t(DType::u64) + 1;

/// Section checksums (format 3) are the xxh3 of the little-endian xxh3s of
/// the payload's blocks of this many bytes (the last one shorter): payloads
/// are hashed, written and checked a block at a time, so saving never
/// copies the weights whole, and the pages of a mapped artifact (or of
/// weights mapped from the compile cache) are let go as soon as they have
/// been read.
constexpr uint64_t kChecksumBlock = uint64_t(1) << 20;

/// Pages let go after a block may start this far before it: the page that
/// straddles two blocks goes with the second.
constexpr uint64_t kDropOverlap = uint64_t(1) << 16;

/// Lets go of the pages of bytes [from, to) at `base`, just read from a
/// read-only file mapping, and of the page they share with the bytes
/// before (which the previous block's drop kept).
void dropReadBlock(const char *base, uint64_t from, uint64_t to) {
  const uint64_t start = from - std::min(from, kDropOverlap);
  dropMappedPages(base + start, to - start);
}

class BlockChecksum {
public:
  void add(llvm::StringRef block) {
    char hash[sizeof(uint64_t)];
    llvm::support::endian::write64le(hash, llvm::xxh3_64bits(block));
    hashes.append(hash, sizeof(hash));
  }
  uint64_t value() const { return llvm::xxh3_64bits(hashes); }

private:
  std::string hashes;
};

/// Calls `visit` on each block of `bytes`.
void forEachBlock(llvm::StringRef bytes, llvm::function_ref<void(llvm::StringRef)> visit) {
  for (uint64_t start = 0; start < bytes.size(); start += kChecksumBlock)
    visit(bytes.substr(start, kChecksumBlock));
}

/// Calls `visit` on each block of the weights section: the weights at
/// `offsets`, zeros between them, `size` bytes in all. Pages of mapped
/// weights are let go once copied.
void forEachWeightsBlock(const Artifact &artifact, llvm::ArrayRef<uint64_t> offsets,
                         uint64_t size, llvm::function_ref<void(llvm::StringRef)> visit) {
  std::string block;
  size_t first = 0; // the first weight not wholly in earlier blocks
  for (uint64_t start = 0; start < size; start += kChecksumBlock) {
    const uint64_t end = std::min(size, start + kChecksumBlock);
    block.assign(end - start, '\0');
    for (size_t i = first; i < offsets.size() && offsets[i] < end; ++i) {
      const HostTensor &weight = artifact.weights[i];
      const char *data = static_cast<const char *>(weight.data());
      const uint64_t from = std::max(start, offsets[i]);
      const uint64_t to = std::min(end, offsets[i] + weight.byteSize());
      if (from >= to)
        continue;
      std::memcpy(block.data() + (from - start), data + (from - offsets[i]), to - from);
      if (artifact.weightsMapped)
        dropReadBlock(data, from - offsets[i], to - offsets[i]);
    }
    while (first < offsets.size() && offsets[first] + artifact.weights[first].byteSize() <= end)
      ++first;
    visit(block);
  }
}

uint64_t alignTo(uint64_t offset) {
  return (offset + kAlignment - 1) / kAlignment * kAlignment;
}

/// Appends little-endian fields to a byte string.
class ByteWriter {
public:
  void u8(uint8_t value) { bytes.push_back(char(value)); }
  void u32(uint32_t value) { fixed(value); }
  void u64(uint64_t value) { fixed(value); }
  void string(llvm::StringRef text) {
    u32(text.size());
    bytes += text;
  }
  void spec(const TensorSpec &spec) {
    string(spec.name);
    u8(uint8_t(spec.dtype));
    u32(spec.shape.size());
    for (int64_t dim : spec.shape)
      u64(uint64_t(dim));
  }
  std::string bytes;

private:
  template <typename T> void fixed(T value) {
    char buffer[sizeof(T)];
    llvm::support::endian::write<T, llvm::endianness::little>(buffer, value);
    bytes.append(buffer, sizeof(T));
  }
};

/// Reads what ByteWriter wrote; any read past the end sets `truncated` and
/// yields zeros, so callers check once at the end.
class ByteReader {
public:
  explicit ByteReader(llvm::StringRef bytes) : bytes(bytes) {}
  uint8_t u8() { return take(1) ? uint8_t(bytes[position - 1]) : 0; }
  uint32_t u32() { return fixed<uint32_t>(); }
  uint64_t u64() { return fixed<uint64_t>(); }
  std::string string() {
    uint32_t size = u32();
    if (!take(size))
      return "";
    return bytes.substr(position - size, size).str();
  }
  TensorSpec spec() {
    TensorSpec spec;
    spec.name = string();
    uint8_t dtype = u8();
    if (dtype >= kNumDTypes)
      invalid = true;
    spec.dtype = DType(dtype < kNumDTypes ? dtype : 0);
    uint32_t rank = u32();
    if (rank > 64)
      invalid = true;
    for (uint32_t i = 0; i < rank && !invalid && !truncated; ++i) {
      int64_t dim = int64_t(u64());
      if (dim < 0 || dim > (int64_t(1) << 40))
        invalid = true;
      spec.shape.push_back(dim);
    }
    return spec;
  }
  bool truncated = false;
  bool invalid = false;

private:
  bool take(uint64_t size) {
    if (truncated || size > bytes.size() - position) {
      truncated = true;
      return false;
    }
    position += size;
    return true;
  }
  template <typename T> T fixed() {
    if (!take(sizeof(T)))
      return 0;
    return llvm::support::endian::read<T, llvm::endianness::little>(
        bytes.data() + position - sizeof(T));
  }
  llvm::StringRef bytes;
  uint64_t position = 0;
};

llvm::Error artifactError(llvm::StringRef path, const llvm::Twine &problem) {
  return llvm::createStringError("%s: %s", path.str().c_str(), problem.str().c_str());
}

} // namespace

llvm::StringRef dlc::dlcVersion() { return DLC_VERSION; }

llvm::Expected<Artifact> dlc::makeArtifact(const Model &model) {
  if (!model.module)
    return llvm::createStringError("there is no module to pack");
  auto signature = readSignature(model.module.get());
  if (!signature)
    return signature.takeError();
  if (model.weights.size() != signature->params.size())
    return llvm::createStringError("the model has %zu parameters but %zu weights",
                                   signature->params.size(), model.weights.size());
  Artifact artifact;
  for (auto [spec, weight] : llvm::zip(signature->params, model.weights)) {
    const HostTensor &tensor = weight.second;
    if (weight.first != spec.name || tensor.dtype() != spec.dtype ||
        tensor.shape() != llvm::ArrayRef(spec.shape))
      return llvm::createStringError(
          "weight '%s' (%s) does not match parameter '%s' (%s[%s])",
          weight.first.c_str(), tensor.describe().c_str(), spec.name.c_str(),
          dtypeName(spec.dtype).str().c_str(), formatShape(spec.shape).c_str());
    artifact.weights.push_back(tensor);
  }
  llvm::raw_string_ostream os(artifact.moduleBytecode);
  if (mlir::failed(mlir::writeBytecodeToFile(model.module.get().getOperation(), os)))
    return llvm::createStringError("cannot write the module as MLIR bytecode");
  artifact.version = dlcVersion().str();
  artifact.target = llvm::sys::getProcessTriple();
  artifact.signature = std::move(*signature);
  return artifact;
}

llvm::Error dlc::writeArtifact(llvm::StringRef path, const Artifact &artifact) {
  // The weights section: each weight at an aligned offset, so that a mapped
  // artifact hands out aligned pointers.
  if (artifact.version.size() >= kVersionSize)
    return llvm::createStringError("version '%s' is too long for an artifact",
                                   artifact.version.c_str());
  ByteWriter meta;
  meta.string(artifact.target);
  meta.u32(artifact.signature.inputs.size());
  for (const TensorSpec &spec : artifact.signature.inputs)
    meta.spec(spec);
  meta.u32(artifact.signature.params.size());
  uint64_t weightsSize = 0;
  std::vector<uint64_t> weightOffsets;
  for (auto [spec, weight] : llvm::zip(artifact.signature.params, artifact.weights)) {
    meta.spec(spec);
    weightsSize = alignTo(weightsSize);
    meta.u64(weightsSize);
    weightOffsets.push_back(weightsSize);
    weightsSize += weight.byteSize();
  }
  meta.u32(artifact.signature.outputs.size());
  for (const TensorSpec &spec : artifact.signature.outputs)
    meta.spec(spec);
  meta.u64(uint64_t(artifact.signature.samples));

  struct Section {
    const char *tag;
    uint64_t size;
    std::function<void(llvm::function_ref<void(llvm::StringRef)>)> blocks;
  };
  auto bytesSection = [](const char *tag, llvm::StringRef bytes) {
    return Section{tag, bytes.size(), [bytes](auto visit) { forEachBlock(bytes, visit); }};
  };
  Section sections[] = {
      bytesSection("META", meta.bytes), bytesSection("MLIR", artifact.moduleBytecode),
      {"WGHT", weightsSize, [&](auto visit) {
         forEachWeightsBlock(artifact, weightOffsets, weightsSize, visit);
       }}};
  ByteWriter head;
  head.bytes += kMagic;
  head.u32(kFormatVersion);
  head.u32(std::size(sections));
  uint64_t fileSize = alignTo(kHeaderSize + kTableEntrySize * std::size(sections));
  std::vector<uint64_t> offsets;
  for (const Section &section : sections) {
    offsets.push_back(fileSize);
    fileSize = alignTo(fileSize + section.size);
  }
  head.u64(fileSize);
  head.bytes += artifact.version;
  head.bytes.resize(kHeaderSize, '\0');
  for (auto [section, sectionOffset] : llvm::zip(sections, offsets)) {
    BlockChecksum checksum;
    section.blocks([&](llvm::StringRef block) { checksum.add(block); });
    head.bytes += section.tag;
    head.u32(0);
    head.u64(sectionOffset);
    head.u64(section.size);
    head.u64(checksum.value());
  }
  return llvm::writeToOutput(path, [&](llvm::raw_ostream &os) {
    os << head.bytes;
    uint64_t written = head.bytes.size();
    for (auto [section, sectionOffset] : llvm::zip(sections, offsets)) {
      os.write_zeros(sectionOffset - written);
      section.blocks([&](llvm::StringRef block) { os << block; });
      written = sectionOffset + section.size;
    }
    os.write_zeros(fileSize - written);
    return llvm::Error::success();
  });
}

bool dlc::isArtifactFile(llvm::StringRef path) {
  auto file = llvm::MemoryBuffer::getFileSlice(path, kMagic.size(), 0);
  return file && (*file)->getBuffer() == kMagic;
}

llvm::Expected<Artifact> dlc::readArtifact(llvm::StringRef path) {
  auto file = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                          /*RequiresNullTerminator=*/false,
                                          /*IsVolatile=*/false, llvm::Align(kAlignment));
  if (!file)
    return artifactError(path, "cannot read: " + file.getError().message());
  // The weights point into the mapping; it lives as long as any of them.
  std::shared_ptr<llvm::MemoryBuffer> mapping = std::move(*file);
  llvm::StringRef bytes = mapping->getBuffer();

  if (!bytes.starts_with(kMagic))
    return artifactError(path, "not a dlc artifact (make one with `dlc compile`)");
  ByteReader head(bytes.drop_front(kMagic.size()));
  uint32_t format = head.u32();
  uint32_t numSections = head.u32();
  uint64_t fileSize = head.u64();
  std::string version(kVersionSize, '\0');
  for (char &c : version)
    c = char(head.u8());
  version.resize(std::strlen(version.c_str()));
  if (head.truncated)
    return artifactError(path, "the artifact is truncated");
  if (format != kFormatVersion)
    return artifactError(path, "artifact format " + llvm::Twine(format) +
                                   " is not the format this dlc reads (" +
                                   llvm::Twine(kFormatVersion) +
                                   "); compile the model again with `dlc compile`");
  // The version is checked before the checksums: an artifact from another
  // dlc gets the message that says what to do.
  if (version != dlcVersion())
    return artifactError(path, "written by dlc " + version + ", this is dlc " +
                                   dlcVersion() +
                                   "; compile the model again with `dlc compile`");
  if (fileSize != bytes.size())
    return artifactError(path, "the artifact is truncated or damaged: " +
                                   llvm::Twine(bytes.size()) + " bytes, " +
                                   llvm::Twine(fileSize) + " expected");
  llvm::StringMap<llvm::StringRef> sections;
  for (uint32_t i = 0; i < numSections && i < 16; ++i) {
    std::string tag(4, '\0');
    for (char &c : tag)
      c = char(head.u8());
    head.u32();
    uint64_t offset = head.u64(), size = head.u64(), checksum = head.u64();
    if (head.truncated || offset > bytes.size() || size > bytes.size() - offset)
      return artifactError(path, "the artifact is damaged: section " + tag +
                                     " lies outside the file");
    llvm::StringRef payload = bytes.substr(offset, size);
    // Checked a block at a time; the weights' pages are let go once
    // checked (they come back from the file when used).
    BlockChecksum computed;
    const bool dropChecked =
        tag == "WGHT" && mapping->getBufferKind() == llvm::MemoryBuffer::MemoryBuffer_MMap;
    uint64_t checked = 0;
    forEachBlock(payload, [&](llvm::StringRef block) {
      computed.add(block);
      if (dropChecked)
        dropReadBlock(payload.data(), checked, checked + block.size());
      checked += block.size();
    });
    if (computed.value() != checksum)
      return artifactError(path, "the artifact is damaged: section " + tag +
                                     " fails its checksum");
    sections[tag] = payload;
  }
  for (const char *tag : {"META", "MLIR", "WGHT"})
    if (!sections.count(tag))
      return artifactError(path, llvm::Twine("the artifact has no ") + tag + " section");

  Artifact artifact;
  artifact.version = version;
  ByteReader meta(sections["META"]);
  artifact.target = meta.string();
  std::vector<uint64_t> weightOffsets;
  for (uint32_t i = 0, e = meta.u32(); i < e && !meta.truncated && !meta.invalid; ++i)
    artifact.signature.inputs.push_back(meta.spec());
  for (uint32_t i = 0, e = meta.u32(); i < e && !meta.truncated && !meta.invalid; ++i) {
    artifact.signature.params.push_back(meta.spec());
    weightOffsets.push_back(meta.u64());
  }
  for (uint32_t i = 0, e = meta.u32(); i < e && !meta.truncated && !meta.invalid; ++i)
    artifact.signature.outputs.push_back(meta.spec());
  artifact.signature.samples = int64_t(meta.u64());
  if (meta.truncated || meta.invalid || artifact.signature.samples < 1)
    return artifactError(path, "the artifact's metadata is malformed");
  if (artifact.target != llvm::sys::getProcessTriple())
    return artifactError(path, "compiled for " + artifact.target + ", this host is " +
                                   llvm::sys::getProcessTriple());

  llvm::StringRef weights = sections["WGHT"];
  for (auto [spec, offset] : llvm::zip(artifact.signature.params, weightOffsets)) {
    uint64_t size = dtypeSize(spec.dtype);
    for (int64_t dim : spec.shape)
      size = llvm::SaturatingMultiply(size, uint64_t(dim));
    if (offset % kAlignment || offset > weights.size() || size > weights.size() - offset)
      return artifactError(path, "the artifact is damaged: weight '" + spec.name +
                                     "' lies outside the weights section");
    void *data = const_cast<char *>(weights.data() + offset);
    artifact.weights.push_back(HostTensor::view(spec.dtype, spec.shape, data, mapping));
  }
  artifact.moduleBytecode = sections["MLIR"].str();
  artifact.weightsMapped =
      mapping->getBufferKind() == llvm::MemoryBuffer::MemoryBuffer_MMap;
  return artifact;
}

llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
dlc::parseArtifactModule(mlir::MLIRContext &context, const Artifact &artifact) {
  DiagnosticCapture diagnostics(&context);
  auto module = mlir::parseSourceString<mlir::ModuleOp>(artifact.moduleBytecode,
                                                        mlir::ParserConfig(&context));
  if (!module)
    return diagnostics.takeError("cannot read the artifact's module");
  return module;
}
