//===- Executable.cpp - a compiled model, ready to run ----------*- C++ -*-===//

#include "runtime/Executable.h"
#include "codegen/cpu/KernelAbi.h"
#include "codegen/cpu/Passes.h"
#include "codegen/cpu/MemoryPlan.h"
#include "runtime/BufferPool.h"
#include "runtime/KernelProfile.h"
#include "runtime/ThreadPool.h"
#include "runtime/kernels/Depthwise.h"
#include "runtime/kernels/ExpandDepthwise.h"
#include "runtime/kernels/Gemm.h"
#include "runtime/kernels/Pool.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <atomic>
#include <chrono>
#include <cstring>
#include <cstdio>

using namespace dlc;

namespace {

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

/// Checks that `tensor` matches `spec` exactly.
llvm::Error checkTensor(const HostTensor &tensor, const TensorSpec &spec,
                        llvm::StringRef what) {
  if (tensor.dtype() != spec.dtype || tensor.shape() != llvm::ArrayRef(spec.shape))
    return llvm::createStringError(
        "%s '%s' must be %s[%s], got %s", what.str().c_str(), spec.name.c_str(),
        dtypeName(spec.dtype).str().c_str(), formatShape(spec.shape).c_str(),
        tensor.describe().c_str());
  return llvm::Error::success();
}

/// Moves the weights of an artifact made in memory (a model compiled from
/// ONNX or built in C++) into a read-only mapping of a file in `cache`, as
/// if they had been read from a .dlc: the pages of a weight packed for the
/// GEMM can then be dropped (GemmPackCache::dropPackedSources), so memory
/// holds the packed copy alone, as ONNX Runtime's prepacking does, and
/// whatever reads the weight again gets it back from the file. (BERT-base
/// from ONNX held its 440 MB of weights beside 350 MB of packed copies.)
/// Models with less than kMinMappedWeights of weights, or no cache to keep
/// the file in, keep their weights where they are.
void mapWeightsThroughCache(Artifact &artifact, const CompileCache &cache) {
  constexpr size_t kMinMappedWeights = size_t(1) << 20;
  size_t bytes = 0;
  for (const HostTensor &weight : artifact.weights)
    bytes += weight.byteSize();
  if (artifact.weightsMapped || bytes < kMinMappedWeights)
    return;
  std::vector<llvm::StringRef> pieces;
  for (const HostTensor &weight : artifact.weights)
    pieces.emplace_back(static_cast<const char *>(weight.data()), weight.byteSize());
  std::optional<CompileCache::MappedPieces> mapped = cache.mapPieces(pieces);
  if (!mapped)
    return;
  char *start = const_cast<char *>(mapped->mapping->getBufferStart());
  for (auto [weight, offset] : llvm::zip(artifact.weights, mapped->offsets))
    weight = HostTensor::view(weight.dtype(), weight.shape(), start + offset, mapped->mapping);
  artifact.weightsMapped = true;
}

} // namespace

std::string CompileReport::summary() const {
  char text[128];
  if (cacheHit)
    std::snprintf(text, sizeof(text), "cached, linking %.3f s", linking);
  else
    std::snprintf(text, sizeof(text), "lowering %.3f s, codegen %.3f s, linking %.3f s",
                  lowering, codegen, linking);
  return text;
}

std::string CompileReport::memorySummary() const {
  if (!intermediateBytes)
    return "";
  char text[128];
  std::snprintf(text, sizeof(text), "intermediates in a %.1f MB arena (%.1f MB apart)",
                arenaBytes / 1e6, intermediateBytes / 1e6);
  return text;
}

std::string CompileReport::toJson() const {
  llvm::json::Object object{{"lowering_s", lowering},
                            {"codegen_s", codegen},
                            {"linking_s", linking},
                            {"cache_hit", cacheHit},
                            {"arena_bytes", arenaBytes},
                            {"intermediate_bytes", intermediateBytes},
                            {"compiler_peak_bytes", compilerPeakBytes}};
  std::string text;
  llvm::raw_string_ostream(text) << llvm::json::Value(std::move(object));
  return text;
}

llvm::Expected<CompileReport> CompileReport::fromJson(llvm::StringRef text) {
  auto value = llvm::json::parse(text);
  if (!value)
    return value.takeError();
  CompileReport report;
  llvm::json::Path::Root root("compile report");
  llvm::json::ObjectMapper map(*value, root);
  if (!map || !map.map("lowering_s", report.lowering) ||
      !map.map("codegen_s", report.codegen) || !map.map("linking_s", report.linking) ||
      !map.map("cache_hit", report.cacheHit) || !map.map("arena_bytes", report.arenaBytes) ||
      !map.map("intermediate_bytes", report.intermediateBytes) ||
      !map.map("compiler_peak_bytes", report.compilerPeakBytes))
    return root.getError();
  return report;
}

/// For each output of `signature`, the input it is computed in place of
/// (or -1), from the table the compiler left in `code` (KernelAbi.h).
static llvm::Expected<std::vector<int64_t>> inPlaceTable(JitModule &code,
                                                         const Signature &signature) {
  std::vector<int64_t> inputOf(signature.outputs.size(), -1);
  const auto *table = static_cast<const int64_t *>(code.lookupGlobal(kInPlaceOutputsSymbol));
  if (!table)
    return inputOf;
  const int64_t count = table[0];
  if (count < 0 || count > int64_t(inputOf.size()))
    return llvm::createStringError(
        "the compiled code lists %lld outputs computed in place; the model has %zu outputs",
        (long long)count, inputOf.size());
  for (int64_t i = 0; i < count; ++i) {
    int64_t output = table[1 + 2 * i], input = table[2 + 2 * i];
    bool valid = output >= 0 && output < int64_t(inputOf.size()) && input >= 0 &&
                 input < int64_t(signature.inputs.size()) && inputOf[output] == -1 &&
                 signature.outputs[output].dtype == signature.inputs[input].dtype &&
                 signature.outputs[output].shape == signature.inputs[input].shape;
    if (!valid)
      return llvm::createStringError(
          "the compiled code's table of outputs computed in place does not fit the model's "
          "signature (entry %lld: output %lld, input %lld)",
          (long long)i, (long long)output, (long long)input);
    inputOf[output] = input;
  }
  return inputOf;
}

Executable::Executable(Artifact artifact, std::unique_ptr<JitModule> code,
                       JitModule::PackedFunction entry, CompileReport times)
    : packed(std::move(artifact)), code(std::move(code)), entry(entry),
      pool(std::make_unique<ThreadPool>()), bufferPool(std::make_unique<BufferPool>()),
      packCache(std::make_unique<GemmPackCache>()),
      times(times) {}

void Executable::setThreads(unsigned threads) {
  if (threads == 0)
    threads = ThreadPool::availableCores();
  if (pool && pool->size() == threads)
    return; // the pool it has (its workers stay warm)
  pool = std::make_unique<ThreadPool>(threads);
}

unsigned Executable::threads() const { return pool->size(); }

template <typename Count>
Count Executable::sumOverBufferPools(Count (BufferPool::*count)() const) const {
  std::lock_guard<std::mutex> lock(sampleBufferPoolsMutex);
  Count total = ((*bufferPool).*count)();
  for (const auto &samplePool : sampleBufferPools)
    total += ((*samplePool).*count)();
  return total;
}

size_t Executable::pooledBytes() const { return sumOverBufferPools(&BufferPool::bytesHeld); }

uint64_t Executable::systemAllocations() const {
  return sumOverBufferPools(&BufferPool::systemAllocations);
}

Executable::~Executable() = default;

llvm::Expected<std::unique_ptr<Executable>>
Executable::compile(const Model &model, const CompileCache &cache, Weights weights) {
  auto artifact = makeArtifact(model);
  if (!artifact)
    return artifact.takeError();
  return load(std::move(*artifact), cache, weights);
}

llvm::Expected<std::unique_ptr<Executable>>
Executable::loadFile(llvm::StringRef path, const CompileCache &cache) {
  auto artifact = readArtifact(path);
  if (!artifact)
    return artifact.takeError();
  return load(std::move(*artifact), cache);
}

llvm::Expected<std::unique_ptr<Executable>>
Executable::load(Artifact artifact, const CompileCache &cache, Weights weights) {
  if (artifact.weights.size() != artifact.signature.params.size())
    return llvm::createStringError("the model has %zu parameters but %zu weights",
                                   artifact.signature.params.size(),
                                   artifact.weights.size());
  for (auto [tensor, spec] : llvm::zip(artifact.weights, artifact.signature.params))
    if (llvm::Error error = checkTensor(tensor, spec, "weight"))
      return std::move(error);

  CompileReport times;
  std::string key = CompileCache::keyFor(artifact.moduleBytecode);
  std::optional<std::string> object = cache.lookup(key);
  times.cacheHit = object.has_value();
  if (!object) {
    auto start = std::chrono::steady_clock::now();
    mlir::DialectRegistry registry;
    registerCpuCodegenDialects(registry);
    mlir::MLIRContext context(registry);
    auto module = parseArtifactModule(context, artifact);
    if (!module)
      return module.takeError();
    if (llvm::Error error = lowerForCpu(**module, CpuStage::LLVMDialect))
      return std::move(error);
    times.lowering = secondsSince(start);
    if (auto entry = (*module)->lookupSymbol(kEntryFunction)) {
      if (auto arena = entry->getAttrOfType<mlir::IntegerAttr>(kArenaBytesAttr))
        times.arenaBytes = arena.getInt();
      if (auto apart = entry->getAttrOfType<mlir::IntegerAttr>(kIntermediateBytesAttr))
        times.intermediateBytes = apart.getInt();
    }
    start = std::chrono::steady_clock::now();
    auto compiled = compileToObject(**module);
    if (!compiled)
      return compiled.takeError();
    times.codegen = secondsSince(start);
    object = std::move(*compiled);
    // A cache that cannot be written (read-only home, full disk) costs the
    // next load a compilation, nothing more.
    llvm::consumeError(cache.store(key, *object));
  }
  auto start = std::chrono::steady_clock::now();
  // The kernels generated code calls (codegen/cpu/KernelAbi.h).
  JitModule::Symbol kernels[] = {
      {kGemmF32Kernel, reinterpret_cast<void *>(&dlc_gemm_f32)},
      {kConv2dF32Kernel, reinterpret_cast<void *>(&dlc_conv2d_f32)},
      {kDepthwiseConv2dF32Kernel, reinterpret_cast<void *>(&dlc_depthwise_conv2d_f32)},
      {kExpandDepthwiseF32Kernel, reinterpret_cast<void *>(&dlc_expand_depthwise_f32)},
      {kConvDepthwiseF32Kernel, reinterpret_cast<void *>(&dlc_conv_depthwise_f32)},
      {kMaxPool2x2F32Kernel, reinterpret_cast<void *>(&dlc_max_pool2x2_f32)},
      {kMaxPoolF32Kernel, reinterpret_cast<void *>(&dlc_max_pool_f32)},
      {kMaxPool2x2ScatterF32Kernel, reinterpret_cast<void *>(&dlc_max_pool2x2_scatter_f32)},
      {kParallelFor, reinterpret_cast<void *>(&dlc_parallel_for)},
      // Intermediate buffers come from the executable's BufferPool.
      {"malloc", reinterpret_cast<void *>(&dlc_malloc)},
      {"free", reinterpret_cast<void *>(&dlc_free)}};
  auto code = JitModule::load(*object, kernels);
  if (!code)
    return code.takeError();
  auto entry = (*code)->lookup(kEntryFunction);
  if (!entry)
    return entry.takeError();
  times.linking = secondsSince(start);
  auto inPlace = inPlaceTable(**code, artifact.signature);
  if (!inPlace)
    return inPlace.takeError();
  if (weights == Weights::MapThroughCache)
    mapWeightsThroughCache(artifact, cache);
  bool mapped = artifact.weightsMapped;
  auto executable = std::unique_ptr<Executable>(
      new Executable(std::move(artifact), std::move(*code), *entry, times));
  executable->inPlace = std::move(*inPlace);
  if (mapped)
    executable->packCache->dropPackedSources();
  return executable;
}

llvm::Expected<std::vector<HostTensor>>
Executable::run(llvm::ArrayRef<HostTensor> inputs) {
  std::vector<HostTensor> outputs;
  for (const TensorSpec &spec : packed.signature.outputs)
    outputs.emplace_back(spec.dtype, spec.shape);
  if (llvm::Error error = runInto(inputs, outputs))
    return std::move(error);
  return outputs;
}

llvm::Error Executable::runInto(llvm::ArrayRef<HostTensor> inputs,
                                llvm::MutableArrayRef<HostTensor> outputs) {
  if (inputs.size() != packed.signature.inputs.size())
    return llvm::createStringError("the model takes %zu inputs, got %zu",
                                   packed.signature.inputs.size(), inputs.size());
  if (outputs.size() != packed.signature.outputs.size())
    return llvm::createStringError("the model has %zu outputs, got buffers for %zu",
                                   packed.signature.outputs.size(), outputs.size());
  std::vector<void *> pointers;
  for (auto [tensor, spec] : llvm::zip(inputs, packed.signature.inputs)) {
    if (llvm::Error error = checkTensor(tensor, spec, "input"))
      return error;
    // The generated code never writes to its inputs.
    pointers.push_back(const_cast<void *>(tensor.data()));
  }
  for (HostTensor &weight : packed.weights)
    pointers.push_back(weight.data());
  for (auto [k, tensor, spec] : llvm::enumerate(outputs, packed.signature.outputs)) {
    if (llvm::Error error = checkTensor(tensor, spec, "output"))
      return error;
    // An output may share memory only with the input it is computed in
    // place of; given apart from it, it starts as a copy of it.
    for (auto [i, input] : llvm::enumerate(inputs))
      if (tensor.byteSize() && input.data() == tensor.data() && inPlace[k] != int64_t(i))
        return llvm::createStringError(
            "output '%s' is given the memory of input '%s'; the compiled code does not "
            "compute it in place of that input",
            spec.name.c_str(), packed.signature.inputs[i].name.c_str());
    pointers.push_back(tensor.data());
  }
  for (auto [k, input] : llvm::enumerate(inPlace))
    if (input >= 0 && outputs[k].data() != inputs[input].data())
      std::memcpy(outputs[k].data(), inputs[input].data(), outputs[k].byteSize());
  // Kernels split their work over this executable's threads; intermediate
  // buffers are recycled from its previous runs.
  if (packed.signature.samples > 1) {
    runSamples(inputs, outputs, pointers);
    return llvm::Error::success();
  }
  ThreadPool::Scope scope(pool.get());
  BufferPool::Scope buffers(bufferPool.get());
  GemmPackCache::Scope packings(packCache.get());
  entry(pointers.data());
  return llvm::Error::success();
}

void Executable::runSamples(llvm::ArrayRef<HostTensor> inputs,
                            llvm::MutableArrayRef<HostTensor> outputs,
                            std::vector<void *> pointers) {
  // Each thread takes the next sample until none is left, and runs it
  // alone (its kernels single-threaded) with intermediate buffers of its
  // own; the weights' packings are shared.
  const int64_t samples = packed.signature.samples;
  const int64_t workers = std::min<int64_t>(pool ? pool->size() : 1, samples);
  // The workers' pools, grown under the lock (runs may come from several
  // threads; a BufferPool itself is thread-safe).
  std::vector<BufferPool *> workerBuffers;
  {
    std::lock_guard<std::mutex> lock(sampleBufferPoolsMutex);
    while (int64_t(sampleBufferPools.size()) < workers)
      sampleBufferPools.push_back(std::make_unique<BufferPool>());
    for (int64_t worker = 0; worker < workers; ++worker)
      workerBuffers.push_back(sampleBufferPools[worker].get());
  }
  const size_t firstOutput = inputs.size() + packed.weights.size();
  KernelProfile *profile = KernelProfile::current();
  std::atomic<int64_t> next{0};
  auto work = [&](int64_t worker) {
    ThreadPool::Scope alone(nullptr);
    BufferPool::Scope buffers(workerBuffers[worker]);
    GemmPackCache::Scope packings(packCache.get());
    KernelProfile::Scope profiling(profile);
    std::vector<void *> arguments = pointers;
    for (int64_t sample; (sample = next++) < samples;) {
      for (auto [i, input] : llvm::enumerate(inputs))
        arguments[i] = const_cast<char *>(static_cast<const char *>(input.data())) +
                       sample * (input.byteSize() / samples);
      for (auto [k, output] : llvm::enumerate(outputs))
        arguments[firstOutput + k] =
            static_cast<char *>(output.data()) + sample * (output.byteSize() / samples);
      entry(arguments.data());
    }
  };
  if (workers > 1)
    pool->parallelFor(workers, work);
  else
    work(0);
}

llvm::Expected<NamedTensors> Executable::run(const NamedTensors &inputs) {
  llvm::StringMap<const HostTensor *> byName;
  for (const auto &[name, tensor] : inputs) {
    bool known = llvm::any_of(packed.signature.inputs, [&, &name = name](const TensorSpec &s) {
      return s.name == name;
    });
    if (!known) {
      std::string expected;
      for (const TensorSpec &spec : packed.signature.inputs)
        expected += (expected.empty() ? "'" : ", '") + spec.name + "'";
      return llvm::createStringError("the model has no input '%s' (its inputs: %s)",
                                     name.c_str(), expected.c_str());
    }
    if (!byName.try_emplace(name, &tensor).second)
      return llvm::createStringError("input '%s' is given twice", name.c_str());
  }
  std::vector<HostTensor> ordered;
  for (const TensorSpec &spec : packed.signature.inputs) {
    auto it = byName.find(spec.name);
    if (it == byName.end())
      return llvm::createStringError("input '%s' (%s[%s]) is missing",
                                     spec.name.c_str(),
                                     dtypeName(spec.dtype).str().c_str(),
                                     formatShape(spec.shape).c_str());
    ordered.push_back(*it->second);
  }
  auto outputs = run(ordered);
  if (!outputs)
    return outputs.takeError();
  NamedTensors named;
  for (auto [spec, tensor] : llvm::zip(packed.signature.outputs, *outputs))
    named.emplace_back(spec.name, std::move(tensor));
  return named;
}
