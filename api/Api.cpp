//===- Api.cpp - dlc's public C++ API ---------------------------*- C++ -*-===//
//
// The public API (include/dlc/dlc.h) over the ONNX importer and the runtime:
// translates between its standard-library types and dlc's own, and turns
// llvm::Error into dlc::Error.
//
//===----------------------------------------------------------------------===//

#include "dlc/dlc.h"
#include "api/TrainingSetup.h"
#include "frontend/onnx/OnnxImporter.h"
#include "runtime/Artifact.h"
#include "runtime/CompilerProcess.h"
#include "runtime/Executable.h"

#include "mlir/IR/MLIRContext.h"

#include <algorithm>
#include <cstring>

namespace dlc {

// The public element types mirror DType one for one, in the same order.
static_assert(int(ElementType::Float32) == int(DType::f32) &&
              int(ElementType::Float64) == int(DType::f64) &&
              int(ElementType::Float16) == int(DType::f16) &&
              int(ElementType::BFloat16) == int(DType::bf16) &&
              int(ElementType::Bool) == int(DType::i1) &&
              int(ElementType::Int8) == int(DType::i8) &&
              int(ElementType::Int16) == int(DType::i16) &&
              int(ElementType::Int32) == int(DType::i32) &&
              int(ElementType::Int64) == int(DType::i64) &&
              int(ElementType::UInt8) == int(DType::u8) &&
              int(ElementType::UInt16) == int(DType::u16) &&
              int(ElementType::UInt32) == int(DType::u32) &&
              int(ElementType::UInt64) == int(DType::u64));

namespace {

DType toDType(ElementType type) { return DType(int(type)); }
ElementType toElementType(DType dtype) { return ElementType(int(dtype)); }

template <typename T> T orThrow(llvm::Expected<T> value) {
  if (!value)
    throw Error(llvm::toString(value.takeError()));
  return std::move(*value);
}

std::vector<TensorInfo> infos(const std::vector<TensorSpec> &specs) {
  std::vector<TensorInfo> result;
  for (const TensorSpec &spec : specs)
    result.push_back({spec.name, toElementType(spec.dtype), spec.shape});
  return result;
}

} // namespace

/// Moves arrays across the boundary without copying their bytes.
struct ArrayAccess {
  static HostTensor toHost(const Array &array) {
    return HostTensor::view(toDType(array.elementType), array.dims, array.storage.get(),
                            array.storage);
  }
  static Array fromHost(HostTensor tensor) {
    Array array;
    array.elementType = toElementType(tensor.dtype());
    array.dims.assign(tensor.shape().begin(), tensor.shape().end());
    auto keep = std::make_shared<HostTensor>(std::move(tensor));
    array.storage = std::shared_ptr<void>(keep, keep->data());
    return array;
  }
};

const char *elementTypeName(ElementType type) {
  return dtypeName(toDType(type)).data();
}

size_t elementSize(ElementType type) { return dtypeSize(toDType(type)); }

Array::Array() : dims{0} {}

Array::Array(ElementType type, std::vector<int64_t> shape)
    : elementType(type), dims(std::move(shape)) {
  int64_t bytes = int64_t(elementSize(type));
  for (int64_t dim : dims)
    if (dim < 0 || __builtin_mul_overflow(bytes, dim, &bytes) || bytes > (int64_t(1) << 40))
      throw Error("cannot allocate an array of shape [" + formatShape(dims) + "]");
  // HostTensor allocates aligned, zero-filled memory.
  *this = ArrayAccess::fromHost(HostTensor(toDType(type), dims));
}

Array Array::view(ElementType type, std::vector<int64_t> shape, void *data) {
  Array array;
  array.elementType = type;
  array.dims = std::move(shape);
  array.storage = std::shared_ptr<void>(data, [](void *) {});
  return array;
}

int64_t Array::numElements() const {
  int64_t count = 1;
  for (int64_t dim : dims)
    count *= dim;
  return count;
}

void *Array::checked(size_t size) {
  if (size != elementSize(elementType))
    throw Error(std::string("cannot read ") + elementTypeName(elementType) +
                " elements as a type of " + std::to_string(size) + " bytes");
  return data();
}

struct CompiledModel::State {
  std::unique_ptr<Executable> executable;
  std::vector<TensorInfo> inputs, outputs;
};

CompiledModel::CompiledModel(std::unique_ptr<State> state) : state(std::move(state)) {
  const Signature &signature = this->state->executable->signature();
  this->state->inputs = infos(signature.inputs);
  this->state->outputs = infos(signature.outputs);
}

CompiledModel::CompiledModel(CompiledModel &&) noexcept = default;
CompiledModel &CompiledModel::operator=(CompiledModel &&) noexcept = default;
CompiledModel::~CompiledModel() = default;

CompiledModel CompiledModel::compile(const std::string &onnxPath,
                                     const CompileOptions &options) {
  if (!options.inProcess)
    if (auto executable = orThrow(tryCompileInChildProcess(onnxPath, options.shapes))) {
      auto state = std::make_unique<State>();
      state->executable = std::move(executable);
      return CompiledModel(std::move(state));
    }
  OnnxImportOptions importOptions;
  for (const auto &[name, shape] : options.shapes)
    importOptions.shapes[name] = shape;
  mlir::MLIRContext context;
  Model model = orThrow(importOnnxFile(context, onnxPath, importOptions));
  auto state = std::make_unique<State>();
  state->executable = orThrow(Executable::compile(model));
  return CompiledModel(std::move(state));
}

CompiledModel CompiledModel::load(const std::string &artifactPath) {
  auto state = std::make_unique<State>();
  state->executable = orThrow(Executable::loadFile(artifactPath));
  return CompiledModel(std::move(state));
}

void CompiledModel::save(const std::string &artifactPath) const {
  if (llvm::Error error = writeArtifact(artifactPath, state->executable->artifact()))
    throw Error(llvm::toString(std::move(error)));
}

const std::vector<TensorInfo> &CompiledModel::inputs() const { return state->inputs; }
const std::vector<TensorInfo> &CompiledModel::outputs() const { return state->outputs; }

bool CompiledModel::loadedFromCache() const {
  return state->executable->compileReport().cacheHit;
}

void CompiledModel::setThreads(unsigned threads) { state->executable->setThreads(threads); }

unsigned CompiledModel::threads() const { return state->executable->threads(); }

std::map<std::string, Array>
CompiledModel::run(const std::map<std::string, Array> &inputs) const {
  NamedTensors named;
  for (const auto &[name, array] : inputs)
    named.emplace_back(name, ArrayAccess::toHost(array));
  NamedTensors outputs = orThrow(state->executable->run(named));
  std::map<std::string, Array> result;
  for (auto &[name, tensor] : outputs)
    result.emplace(name, ArrayAccess::fromHost(std::move(tensor)));
  return result;
}

//===----------------------------------------------------------------------===//
// TrainingSession
//===----------------------------------------------------------------------===//

struct TrainingSession::State {
  OnnxTrainer created;
  std::string onnxPath;

  /// The model's inputs, in the step's order, from arrays by name.
  std::vector<HostTensor> inputsOf(const std::map<std::string, Array> &arrays) const {
    std::vector<HostTensor> inputs;
    for (const std::string &name : created.inputs) {
      auto found = arrays.find(name);
      if (found == arrays.end())
        throw Error("no array for the model's input '" + name + "'");
      inputs.push_back(ArrayAccess::toHost(found->second));
    }
    if (arrays.size() != inputs.size())
      for (const auto &[name, array] : arrays)
        if (std::find(created.inputs.begin(), created.inputs.end(), name) ==
            created.inputs.end())
          throw Error("the model has no input '" + name + "'");
    return inputs;
  }
};

TrainingSession::TrainingSession(std::unique_ptr<State> state) : state(std::move(state)) {}
TrainingSession::TrainingSession(TrainingSession &&) noexcept = default;
TrainingSession &TrainingSession::operator=(TrainingSession &&) noexcept = default;
TrainingSession::~TrainingSession() = default;

TrainingSession TrainingSession::create(const std::string &onnxPath,
                                        const TrainingOptions &options) {
  TrainingSetup setup = orThrow(trainingSetupFrom(options));
  auto state = std::make_unique<State>();
  state->created = orThrow(createOnnxTrainer(onnxPath, setup));
  state->onnxPath = onnxPath;
  return TrainingSession(std::move(state));
}

StepReport TrainingSession::step(const std::map<std::string, Array> &inputs,
                                 const Array &labels) {
  StepResult result =
      orThrow(state->created.trainer->step(state->inputsOf(inputs), ArrayAccess::toHost(labels)));
  return {result.loss, result.gradientNorm, result.learningRate};
}

EvaluationReport TrainingSession::evaluate(const std::map<std::string, Array> &inputs,
                                           const Array &labels) {
  Evaluation result = orThrow(
      state->created.trainer->evaluate(state->inputsOf(inputs), ArrayAccess::toHost(labels)));
  return {result.loss, result.accuracy, result.samples};
}

Array TrainingSession::predict(const std::map<std::string, Array> &inputs) {
  return ArrayAccess::fromHost(orThrow(state->created.trainer->predict(state->inputsOf(inputs))));
}

std::map<std::string, Array> TrainingSession::parameters() const {
  std::map<std::string, Array> result;
  for (auto &[name, tensor] : state->created.trainer->weights())
    result.emplace(name, ArrayAccess::fromHost(tensor));
  return result;
}

int64_t TrainingSession::steps() const { return state->created.trainer->steps(); }
int64_t TrainingSession::batchSize() const { return state->created.trainer->batchSize(); }

void TrainingSession::save(const std::string &checkpointPath) const {
  if (llvm::Error error = state->created.trainer->save(checkpointPath))
    throw Error(llvm::toString(std::move(error)));
}

void TrainingSession::load(const std::string &checkpointPath) {
  orThrow(state->created.trainer->load(checkpointPath));
}

void TrainingSession::exportOnnx(const std::string &onnxPath) const {
  orThrow(exportOnnxWithWeights(state->onnxPath, state->created.trainer->weights(),
                                onnxPath));
}

void TrainingSession::setThreads(unsigned threads) {
  state->created.trainer->setThreads(threads);
}

} // namespace dlc
