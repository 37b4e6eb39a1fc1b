//===- Executable.h - a compiled model, ready to run ------------*- C++ -*-===//
//
// An Executable owns the native code of one model and its weights, and runs
// it on host tensors. Inputs are checked against the model's signature
// before anything runs. Its native code comes from the compile cache when
// the same module was compiled before on this host by this dlc.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_RUNTIME_EXECUTABLE_H
#define DLC_RUNTIME_EXECUTABLE_H

#include "codegen/cpu/Jit.h"
#include "ir/HostTensor.h"
#include "ir/Model.h"
#include "ir/Signature.h"
#include "runtime/Artifact.h"
#include "runtime/CompileCache.h"

#include "llvm/Support/Error.h"

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace dlc {

class BufferPool;
class GemmPackCache;
class ThreadPool;

/// How an executable got its native code: the time of each stage, in
/// seconds, whether the cache served it, and the memory plan.
struct CompileReport {
  double lowering = 0; ///< dlc → LLVM dialect (0 on a cache hit)
  double codegen = 0;  ///< LLVM IR → optimized object (0 on a cache hit)
  double linking = 0;  ///< loading the object into the process
  bool cacheHit = false;
  /// The memory plan of @main (dlc-plan-memory), known when compiled here
  /// (0 on a cache hit): the arena, and what its buffers would take apart.
  int64_t arenaBytes = 0;
  int64_t intermediateBytes = 0;
  /// The peak resident memory of the `dlc compile` process that compiled
  /// the code, when a child did (runtime/CompilerProcess.h); else 0.
  int64_t compilerPeakBytes = 0;

  /// "lowering 0.120 s, codegen 0.410 s, linking 0.004 s", or "cached,
  /// linking 0.004 s".
  std::string summary() const;
  /// "intermediates in a 14.5 MB arena (116.7 MB apart)", or "" when the
  /// plan is not known (a cache hit).
  std::string memorySummary() const;

  /// The report as one JSON object (what `dlc compile --report` writes),
  /// and back; fromJson names what is missing or of the wrong type.
  std::string toJson() const;
  static llvm::Expected<CompileReport> fromJson(llvm::StringRef text);
};

class Executable {
public:
  ~Executable();

  /// How load() treats weights that are not mapped from a file (a model
  /// compiled from memory): kept in a file of the cache and mapped
  /// (CompileCache::mapPieces), so that packing them can drop their pages,
  /// or left where they are: `dlc compile`, which only writes them into an
  /// artifact, spares the cache a copy (BERT-base: 434 MB).
  enum class Weights { MapThroughCache, AsGiven };

  /// Compiles `model` (a module in the dlc dialect and its weights) for the
  /// host CPU.
  static llvm::Expected<std::unique_ptr<Executable>>
  compile(const Model &model, const CompileCache &cache = CompileCache::fromEnvironment(),
          Weights weights = Weights::MapThroughCache);

  /// Makes `artifact` ready to run: native code from `cache`, or compiled
  /// (and then cached) when the cache has none.
  static llvm::Expected<std::unique_ptr<Executable>>
  load(Artifact artifact, const CompileCache &cache = CompileCache::fromEnvironment(),
       Weights weights = Weights::MapThroughCache);

  /// readArtifact(path), then load().
  static llvm::Expected<std::unique_ptr<Executable>>
  loadFile(llvm::StringRef path,
           const CompileCache &cache = CompileCache::fromEnvironment());

  const Signature &signature() const { return packed.signature; }

  /// For each output, the position of the input whose memory it may be
  /// given (its new value, computed in place: a training step's parameters
  /// and optimizer state, see dlc-in-place-outputs), or -1. runInto copies
  /// the input into such an output when the caller passes separate memory.
  llvm::ArrayRef<int64_t> inPlaceInputs() const { return inPlace; }
  const CompileReport &compileReport() const { return times; }
  /// Replaces the report, for code that another process compiled
  /// (runtime/CompilerProcess.h).
  void setCompileReport(const CompileReport &report) { times = report; }
  /// The model as a .dlc artifact holds it (writeArtifact saves it).
  const Artifact &artifact() const { return packed; }

  /// Runs the model on `inputs`, given in the signature's order; returns the
  /// outputs in the signature's order.
  llvm::Expected<std::vector<HostTensor>> run(llvm::ArrayRef<HostTensor> inputs);

  /// Runs the model on `inputs`, writing its outputs into `outputs` (in the
  /// signature's order, of its types and shapes, sharing no memory with the
  /// inputs): a caller that runs repeatedly keeps its output buffers.
  llvm::Error runInto(llvm::ArrayRef<HostTensor> inputs,
                      llvm::MutableArrayRef<HostTensor> outputs);

  /// Runs the model on named inputs (any order, each input exactly once).
  llvm::Expected<NamedTensors> run(const NamedTensors &inputs);

  /// How many threads runs use (0: one per available core, the default).
  /// Not while a run is in progress: the pool it uses is replaced.
  void setThreads(unsigned threads);
  unsigned threads() const;

  /// Bytes of intermediate buffers held for reuse between runs (the peak
  /// of the runs so far), and how many came from the system allocator.
  size_t pooledBytes() const;
  uint64_t systemAllocations() const;

private:
  Executable(Artifact artifact, std::unique_ptr<JitModule> code,
             JitModule::PackedFunction entry, CompileReport times);

  /// `count` of the run's buffer pool plus those of runSamples's threads.
  template <typename Count>
  Count sumOverBufferPools(Count (BufferPool::*count)() const) const;

  /// runInto for a model whose entry computes one sample
  /// (Signature::samples > 1): the samples spread over the pool's threads.
  /// `pointers` are the entry's arguments for the whole tensors.
  void runSamples(llvm::ArrayRef<HostTensor> inputs, llvm::MutableArrayRef<HostTensor> outputs,
                  std::vector<void *> pointers);

  Artifact packed;
  std::unique_ptr<JitModule> code;
  JitModule::PackedFunction entry; // @main, resolved once
  std::unique_ptr<ThreadPool> pool;
  std::unique_ptr<BufferPool> bufferPool;
  /// Intermediate buffers of runSamples's threads, one pool each; the
  /// mutex guards the vector (runs may come from several threads).
  std::vector<std::unique_ptr<BufferPool>> sampleBufferPools;
  mutable std::mutex sampleBufferPoolsMutex;
  /// Weights packed for the GEMM on the first run, kept for the next.
  std::unique_ptr<GemmPackCache> packCache;
  CompileReport times;
  std::vector<int64_t> inPlace;
};

} // namespace dlc

#endif // DLC_RUNTIME_EXECUTABLE_H
