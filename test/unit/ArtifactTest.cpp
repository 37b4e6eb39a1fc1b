//===- ArtifactTest.cpp - .dlc artifacts, the compile cache, the API -*- C++ -*-===//

#include "dlc/dlc.h"
#include "frontend/builder/Examples.h"
#include "runtime/Artifact.h"
#include "runtime/CompileCache.h"
#include "runtime/Executable.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include "gtest/gtest.h"

#include <cstring>
#include <fstream>
#include <sys/statfs.h>

using namespace dlc;

namespace {

class ArtifactTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("dlc-artifact-test", dir));
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }
  std::string path(llvm::StringRef name) const {
    llvm::SmallString<128> result(dir);
    llvm::sys::path::append(result, name);
    return std::string(result);
  }
  Model mlp() {
    MlpConfig config;
    config.batch = 3;
    config.widths = {12, 7, 5};
    auto model = buildMlp(context, config);
    EXPECT_TRUE(bool(model)) << llvm::toString(model.takeError());
    return std::move(*model);
  }
  mlir::MLIRContext context;
  llvm::SmallString<128> dir;
};

HostTensor ramp(llvm::ArrayRef<int64_t> shape) {
  HostTensor tensor(DType::f32, shape);
  for (int64_t i = 0; i < tensor.numElements(); ++i)
    tensor.dataAs<float>()[i] = float(i % 11) / 11.0f - 0.4f;
  return tensor;
}

TEST_F(ArtifactTest, RoundTripKeepsSignatureWeightsAndOutputs) {
  Model model = mlp();
  CompileCache cache(path("cache"));
  auto compiled = Executable::compile(model, cache);
  ASSERT_TRUE(bool(compiled)) << llvm::toString(compiled.takeError());
  EXPECT_FALSE((*compiled)->compileReport().cacheHit);
  ASSERT_FALSE(bool(writeArtifact(path("m.dlc"), (*compiled)->artifact())));
  EXPECT_TRUE(isArtifactFile(path("m.dlc")));

  auto read = readArtifact(path("m.dlc"));
  ASSERT_TRUE(bool(read)) << llvm::toString(read.takeError());
  EXPECT_EQ(read->version, dlcVersion());
  const Signature &signature = (*compiled)->signature();
  ASSERT_EQ(read->signature.params.size(), signature.params.size());
  EXPECT_EQ(read->signature.inputs[0].name, "x");
  EXPECT_EQ(read->signature.inputs[0].shape, (std::vector<int64_t>{3, 12}));
  for (size_t i = 0; i < read->weights.size(); ++i) {
    const HostTensor &weight = read->weights[i];
    const HostTensor &original = model.weights[i].second;
    EXPECT_EQ(read->signature.params[i].name, model.weights[i].first);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(weight.data()) % 64, 0u);
    ASSERT_EQ(weight.byteSize(), original.byteSize());
    EXPECT_EQ(std::memcmp(weight.data(), original.data(), weight.byteSize()), 0);
  }

  auto loaded = Executable::load(std::move(*read), cache);
  ASSERT_TRUE(bool(loaded)) << llvm::toString(loaded.takeError());
  EXPECT_TRUE((*loaded)->compileReport().cacheHit);
  HostTensor x = ramp({3, 12});
  auto first = (*compiled)->run({x});
  auto second = (*loaded)->run({x});
  ASSERT_TRUE(first && second);
  ASSERT_EQ((*first)[0].byteSize(), (*second)[0].byteSize());
  EXPECT_EQ(std::memcmp((*first)[0].data(), (*second)[0].data(), (*first)[0].byteSize()), 0);
}

TEST_F(ArtifactTest, CacheRejectsDamagedEntries) {
  CompileCache cache(path("cache"));
  std::string key = CompileCache::keyFor("module bytes");
  EXPECT_EQ(key.size(), 64u);
  EXPECT_NE(key, CompileCache::keyFor("module bytez"));
  EXPECT_EQ(key, CompileCache::keyFor("module bytes"));
  EXPECT_FALSE(cache.lookup(key));
  ASSERT_FALSE(bool(cache.store(key, "object code")));
  EXPECT_EQ(cache.lookup(key).value_or(""), "object code");

  // Flip one byte of the stored object: the entry is refused and removed.
  std::string entry = path("cache/" + key + ".o");
  {
    std::fstream file(entry, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(2);
    file.put('X');
  }
  EXPECT_FALSE(cache.lookup(key));
  EXPECT_FALSE(llvm::sys::fs::exists(entry));

  CompileCache off("");
  EXPECT_FALSE(off.enabled());
  EXPECT_FALSE(bool(off.store(key, "object code")));
  EXPECT_FALSE(off.lookup(key));
}

TEST_F(ArtifactTest, CacheMapsPiecesOnceAndChecksThem) {
  CompileCache cache(path("cache"));
  std::string big(40000, '\0');
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = char(i * 7);
  std::vector<llvm::StringRef> pieces = {"first piece", "", big, "last"};
  auto expectHolds = [&](const CompileCache::MappedPieces &mapped) {
    ASSERT_EQ(mapped.offsets.size(), pieces.size());
    llvm::StringRef bytes = mapped.mapping->getBuffer();
    for (auto [piece, offset] : llvm::zip(pieces, mapped.offsets)) {
      EXPECT_EQ(offset % 64, 0u);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(bytes.data() + offset) % 64, 0u);
      EXPECT_EQ(bytes.substr(offset, piece.size()), piece);
    }
  };
  auto mapped = cache.mapPieces(pieces);
  ASSERT_TRUE(mapped);
  expectHolds(*mapped);
  EXPECT_EQ(mapped->mapping->getBufferKind(), llvm::MemoryBuffer::MemoryBuffer_MMap);

  // One file, named by the contents, found again and not rewritten.
  std::vector<std::string> files;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(path("cache"), ec), end; it != end && !ec;
       it.increment(ec))
    files.push_back(it->path());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_TRUE(llvm::StringRef(files[0]).ends_with(".bin")) << files[0];
  llvm::sys::fs::UniqueID before, after;
  ASSERT_FALSE(llvm::sys::fs::getUniqueID(files[0], before));
  auto again = cache.mapPieces(pieces);
  ASSERT_TRUE(again);
  expectHolds(*again);
  ASSERT_FALSE(llvm::sys::fs::getUniqueID(files[0], after));
  EXPECT_EQ(before, after);

  // Other contents get another file.
  std::vector<llvm::StringRef> other = {"first piecf", "", big, "last"};
  auto different = cache.mapPieces(other);
  ASSERT_TRUE(different);
  EXPECT_EQ(different->mapping->getBuffer().substr(0, 11), "first piecf");

  // A damaged file is written again, as a new file: mappings of the old
  // one are left as they were.
  mapped.reset();
  again.reset();
  {
    std::fstream file(files[0], std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(200);
    file.put('X');
  }
  auto repaired = cache.mapPieces(pieces);
  ASSERT_TRUE(repaired);
  expectHolds(*repaired);
  ASSERT_FALSE(llvm::sys::fs::getUniqueID(files[0], after));
  EXPECT_NE(before, after);

  EXPECT_FALSE(CompileCache("").mapPieces(pieces));
  // A cache in memory (tmpfs, where /dev/shm usually is) maps nothing: the
  // file would take memory all the same.
  struct statfs shm;
  if (statfs("/dev/shm", &shm) == 0 && static_cast<unsigned long>(shm.f_type) == 0x01021994) {
    llvm::SmallString<128> inMemory;
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("/dev/shm/dlc-artifact-test", inMemory));
    EXPECT_FALSE(CompileCache(std::string(inMemory)).mapPieces(pieces));
    llvm::sys::fs::remove_directories(inMemory);
  }
  EXPECT_FALSE(cache.mapPieces({"", ""}));
}

TEST_F(ArtifactTest, CacheCountsAndClearsOnlyItsOwnFiles) {
  CompileCache cache(path("cache"));
  auto empty = cache.usage();
  ASSERT_TRUE(bool(empty)) << llvm::toString(empty.takeError());
  EXPECT_EQ(empty->objects + empty->weightFiles, 0u);

  ASSERT_FALSE(bool(cache.store(CompileCache::keyFor("module"), "object code")));
  std::string weights(70000, 'w');
  ASSERT_TRUE(cache.mapPieces({weights}));
  std::ofstream(path("cache/notes.txt")) << "not dlc's";
  std::ofstream(path("cache/weights-x.bin.temp-stream-abc123")) << "half written";
  auto used = cache.usage();
  ASSERT_TRUE(bool(used)) << llvm::toString(used.takeError());
  EXPECT_EQ(used->objects, 1u);
  EXPECT_EQ(used->objectBytes, std::string("object code").size() + sizeof(uint64_t));
  EXPECT_EQ(used->weightFiles, 1u);
  EXPECT_EQ(used->weightBytes, weights.size());

  auto removed = cache.clear();
  ASSERT_TRUE(bool(removed)) << llvm::toString(removed.takeError());
  EXPECT_EQ(removed->objects, 2u); // the object and the temporary
  EXPECT_EQ(removed->weightFiles, 1u);
  auto after = cache.usage();
  ASSERT_TRUE(bool(after));
  EXPECT_EQ(after->objects + after->weightFiles, 0u);
  EXPECT_TRUE(llvm::sys::fs::exists(path("cache/notes.txt")));
  EXPECT_FALSE(llvm::sys::fs::exists(path("cache/weights-x.bin.temp-stream-abc123")));
}

TEST_F(ArtifactTest, LargeWeightsAreMappedFromTheCacheAndSurvivePacking) {
  // 1 MiB of weights and 64 rows: the product packs its weight, and the
  // packed weight's pages are dropped from the mapping.
  MlpConfig config;
  config.batch = 64;
  config.widths = {256, 1024, 16};
  auto model = buildMlp(context, config);
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  auto inMemory = Executable::compile(*model, CompileCache(""));
  auto mapped = Executable::compile(*model, CompileCache(path("cache")));
  ASSERT_TRUE(inMemory && mapped);
  EXPECT_FALSE((*inMemory)->artifact().weightsMapped);
  ASSERT_TRUE((*mapped)->artifact().weightsMapped);
  for (auto [weight, original] : llvm::zip((*mapped)->artifact().weights, model->weights)) {
    EXPECT_NE(weight.data(), original.second.data());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(weight.data()) % 64, 0u);
  }

  HostTensor x = ramp({64, 256});
  for (int run = 0; run < 2; ++run) {
    auto expected = (*inMemory)->run({x});
    auto actual = (*mapped)->run({x});
    ASSERT_TRUE(expected && actual);
    ASSERT_EQ((*expected)[0].byteSize(), (*actual)[0].byteSize());
    EXPECT_EQ(std::memcmp((*expected)[0].data(), (*actual)[0].data(),
                          (*expected)[0].byteSize()),
              0)
        << "run " << run;
  }
  // Saved after the runs, the artifact still has every weight as built.
  ASSERT_FALSE(bool(writeArtifact(path("m.dlc"), (*mapped)->artifact())));
  auto read = readArtifact(path("m.dlc"));
  ASSERT_TRUE(bool(read)) << llvm::toString(read.takeError());
  for (auto [weight, original] : llvm::zip(read->weights, model->weights)) {
    ASSERT_EQ(weight.byteSize(), original.second.byteSize());
    EXPECT_EQ(std::memcmp(weight.data(), original.second.data(), weight.byteSize()), 0)
        << original.first;
  }

  // Its weights span two checksum blocks: a byte changed in the second
  // one is caught too.
  uint64_t size = 0;
  ASSERT_FALSE(llvm::sys::fs::file_size(path("m.dlc"), size));
  ASSERT_GT(size, uint64_t(1) << 20);
  {
    std::fstream file(path("m.dlc"), std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(std::streamoff(size - 100));
    char byte = char(file.get());
    file.seekp(std::streamoff(size - 100));
    file.put(char(byte ^ 1));
  }
  auto damaged = readArtifact(path("m.dlc"));
  ASSERT_FALSE(bool(damaged));
  std::string message = llvm::toString(damaged.takeError());
  EXPECT_NE(message.find("section WGHT fails its checksum"), std::string::npos) << message;

  // Small models keep their weights in memory.
  auto small = Executable::compile(mlp(), CompileCache(path("cache")));
  ASSERT_TRUE(bool(small));
  EXPECT_FALSE((*small)->artifact().weightsMapped);
}

TEST_F(ArtifactTest, NonArtifactsAreRefusedByName) {
  std::ofstream(path("text.dlc")) << "hello";
  auto read = readArtifact(path("text.dlc"));
  ASSERT_FALSE(bool(read));
  std::string message = llvm::toString(read.takeError());
  EXPECT_NE(message.find("text.dlc: not a dlc artifact"), std::string::npos) << message;
  EXPECT_FALSE(isArtifactFile(path("absent.dlc")));
}

TEST(PublicApi, ArraysCheckTheirTypeAndSize) {
  dlc::Array array(dlc::ElementType::Int32, {2, 3});
  EXPECT_EQ(array.numElements(), 6);
  EXPECT_EQ(array.byteSize(), 24u);
  EXPECT_EQ(array.as<int32_t>()[5], 0);
  EXPECT_THROW(array.as<double>(), dlc::Error);
  EXPECT_THROW(dlc::Array(dlc::ElementType::Float32, {-1}), dlc::Error);
  EXPECT_THROW(dlc::Array(dlc::ElementType::Float64, {1 << 30, 1 << 30}), dlc::Error);
  float values[4] = {1, 2, 3, 4};
  dlc::Array view = dlc::Array::view(dlc::ElementType::Float32, {4}, values);
  EXPECT_EQ(view.data(), values);
  EXPECT_STREQ(dlc::elementTypeName(dlc::ElementType::BFloat16), "bfloat16");
  EXPECT_THROW(dlc::CompiledModel::load("/nonexistent/model.dlc"), dlc::Error);
}

} // namespace
