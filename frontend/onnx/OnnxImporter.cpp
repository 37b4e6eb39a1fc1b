//===- OnnxImporter.cpp - ONNX models into the dlc dialect ------*- C++ -*-===//
//
// Loading and checking the model, reading tensors (inline and external
// data), and walking the graph node by node through the converter table.
//
//===----------------------------------------------------------------------===//

#include "frontend/onnx/OnnxImporter.h"
#include "frontend/builder/Training.h"
#include "frontend/onnx/NodeImporter.h"
#include "frontend/onnx/SampleSplit.h"
#include "ir/Signature.h"

#include "mlir/IR/Matchers.h"
#include "onnx/defs/parser.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Regex.h"

#include <cstdlib>
#include <cstring>
#include <unistd.h>

using namespace dlc;
using namespace dlc::onnx_import;
using namespace mlir;

//===----------------------------------------------------------------------===//
// Tensors
//===----------------------------------------------------------------------===//

mlir::Type onnx_import::elementTypeOf(MLIRContext &context, int onnxType) {
  Builder b(&context);
  switch (onnxType) {
  case onnx::TensorProto::FLOAT: return b.getF32Type();
  case onnx::TensorProto::DOUBLE: return b.getF64Type();
  case onnx::TensorProto::FLOAT16: return b.getF16Type();
  case onnx::TensorProto::BFLOAT16: return b.getBF16Type();
  case onnx::TensorProto::BOOL: return b.getI1Type();
  case onnx::TensorProto::INT8: return b.getI8Type();
  case onnx::TensorProto::INT16: return b.getI16Type();
  case onnx::TensorProto::INT32: return b.getI32Type();
  case onnx::TensorProto::INT64: return b.getI64Type();
  case onnx::TensorProto::UINT8: return b.getIntegerType(8, false);
  case onnx::TensorProto::UINT16: return b.getIntegerType(16, false);
  case onnx::TensorProto::UINT32: return b.getIntegerType(32, false);
  case onnx::TensorProto::UINT64: return b.getIntegerType(64, false);
  default: return {};
  }
}

namespace {

/// The most elements of one tensor read from a file (16 GiB of float32).
constexpr uint64_t kMaxImportedElements = uint64_t(1) << 32;

std::optional<DType> dtypeOf(int onnxType) {
  switch (onnxType) {
  case onnx::TensorProto::FLOAT: return DType::f32;
  case onnx::TensorProto::DOUBLE: return DType::f64;
  case onnx::TensorProto::FLOAT16: return DType::f16;
  case onnx::TensorProto::BFLOAT16: return DType::bf16;
  case onnx::TensorProto::BOOL: return DType::i1;
  case onnx::TensorProto::INT8: return DType::i8;
  case onnx::TensorProto::INT16: return DType::i16;
  case onnx::TensorProto::INT32: return DType::i32;
  case onnx::TensorProto::INT64: return DType::i64;
  case onnx::TensorProto::UINT8: return DType::u8;
  case onnx::TensorProto::UINT16: return DType::u16;
  case onnx::TensorProto::UINT32: return DType::u32;
  case onnx::TensorProto::UINT64: return DType::u64;
  default: return std::nullopt;
  }
}

std::string onnxTypeName(int onnxType) {
  if (onnx::TensorProto_DataType_IsValid(onnxType))
    return onnx::TensorProto_DataType_Name(
        static_cast<onnx::TensorProto_DataType>(onnxType));
  return "type " + std::to_string(onnxType);
}

/// Copies typed repeated fields into `tensor`, narrowing as ONNX stores them
/// (int32_data holds every type up to 32 bits, float16 as bit patterns).
template <typename Field>
llvm::Error copyField(const Field &field, HostTensor &tensor) {
  if (field.size() != tensor.numElements())
    return llvm::createStringError("tensor holds %d values for %lld elements",
                                   field.size(),
                                   static_cast<long long>(tensor.numElements()));
  char *out = static_cast<char *>(tensor.data());
  size_t size = dtypeSize(tensor.dtype());
  for (int i = 0; i < field.size(); ++i) {
    auto value = field.Get(i);
    switch (tensor.dtype()) {
    case DType::f32: { float v = value; std::memcpy(out + i * size, &v, size); break; }
    case DType::f64: { double v = value; std::memcpy(out + i * size, &v, size); break; }
    case DType::i64: case DType::u64: {
      int64_t v = static_cast<int64_t>(value); std::memcpy(out + i * size, &v, size); break; }
    default: {
      // Integers, bools and 16-bit floats: the low bytes of the value.
      uint64_t v = static_cast<uint64_t>(static_cast<int64_t>(value));
      std::memcpy(out + i * size, &v, size);
      break;
    }
    }
  }
  return llvm::Error::success();
}

} // namespace

namespace {

/// What a TensorProto claims to hold, checked against the data it has.
struct TensorLayout {
  DType dtype;
  std::vector<int64_t> shape;
  size_t bytes;
};

llvm::Expected<TensorLayout> layoutOf(const onnx::TensorProto &proto) {
  std::optional<DType> dtype = dtypeOf(proto.data_type());
  if (!dtype)
    return llvm::createStringError(
        "tensor '%s' has data type %s, which dlc does not support (it supports "
        "float, double, float16, bfloat16, bool, int8/16/32/64, uint8/16/32/64)",
        proto.name().c_str(), onnxTypeName(proto.data_type()).c_str());
  std::vector<int64_t> shape(proto.dims().begin(), proto.dims().end());
  for (int64_t d : shape)
    if (d < 0)
      return llvm::createStringError("tensor '%s' has a negative dimension",
                                     proto.name().c_str());
  // Check the size the dimensions claim against the data that is there
  // before allocating anything: a corrupt file must not make us allocate
  // terabytes.
  uint64_t count = 1;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(count, static_cast<uint64_t>(d), &count) ||
        count > kMaxImportedElements)
      return llvm::createStringError(
          "tensor '%s' of shape %s is larger than dlc imports (%llu elements)",
          proto.name().c_str(), formatShape(shape).c_str(),
          static_cast<unsigned long long>(kMaxImportedElements));
  size_t bytes = count * dtypeSize(*dtype);
  if (proto.data_location() != onnx::TensorProto::EXTERNAL) {
    size_t available = proto.has_raw_data() ? proto.raw_data().size()
                       : *dtype == DType::f32 ? proto.float_data_size() * 4
                       : *dtype == DType::f64 ? proto.double_data_size() * 8
                       : *dtype == DType::i64 ? proto.int64_data_size() * 8
                       : (*dtype == DType::u32 || *dtype == DType::u64)
                           ? proto.uint64_data_size() * dtypeSize(*dtype)
                           : proto.int32_data_size() * dtypeSize(*dtype);
    if (available != bytes)
      return llvm::createStringError(
          "tensor '%s' of shape %s needs %zu bytes of data but holds %zu",
          proto.name().c_str(), formatShape(shape).c_str(), bytes, available);
  }
  return TensorLayout{*dtype, std::move(shape), bytes};
}

} // namespace

llvm::Expected<HostTensor>
onnx_import::tensorFromProto(const onnx::TensorProto &proto,
                             llvm::StringRef directory) {
  auto layout = layoutOf(proto);
  if (!layout)
    return layout.takeError();
  DType dtype = layout->dtype;
  size_t bytes = layout->bytes;
  HostTensor tensor(dtype, layout->shape);

  if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string location;
    uint64_t offset = 0;
    std::optional<uint64_t> length;
    for (const auto &entry : proto.external_data()) {
      if (entry.key() == "location")
        location = entry.value();
      else if (entry.key() == "offset")
        offset = std::strtoull(entry.value().c_str(), nullptr, 10);
      else if (entry.key() == "length")
        length = std::strtoull(entry.value().c_str(), nullptr, 10);
    }
    if (location.empty() || llvm::sys::path::is_absolute(location) ||
        llvm::StringRef(location).contains(".."))
      return llvm::createStringError(
          "tensor '%s' has external data at '%s'; the location must be a "
          "relative path inside the model's folder",
          proto.name().c_str(), location.c_str());
    llvm::SmallString<256> path(directory);
    llvm::sys::path::append(path, location);
    auto file = llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
    if (!file)
      return llvm::createStringError("cannot read external data '%s' of tensor "
                                     "'%s': %s",
                                     path.c_str(), proto.name().c_str(),
                                     file.getError().message().c_str());
    uint64_t available = (*file)->getBufferSize();
    if (length && *length != bytes)
      return llvm::createStringError("external data of tensor '%s' has length "
                                     "%llu, expected %zu bytes",
                                     proto.name().c_str(),
                                     static_cast<unsigned long long>(*length), bytes);
    if (offset > available || available - offset < bytes)
      return llvm::createStringError("external data file '%s' is too short for "
                                     "tensor '%s' (%zu bytes at offset %llu)",
                                     path.c_str(), proto.name().c_str(), bytes,
                                     static_cast<unsigned long long>(offset));
    std::memcpy(tensor.data(), (*file)->getBufferStart() + offset, bytes);
    return tensor;
  }
  if (proto.has_raw_data()) {
    if (proto.raw_data().size() != bytes)
      return llvm::createStringError("tensor '%s' has %zu bytes of raw data, "
                                     "expected %zu",
                                     proto.name().c_str(),
                                     proto.raw_data().size(), bytes);
    std::memcpy(tensor.data(), proto.raw_data().data(), bytes);
    return tensor;
  }
  llvm::Error error = llvm::Error::success();
  switch (dtype) {
  case DType::f32: error = copyField(proto.float_data(), tensor); break;
  case DType::f64: error = copyField(proto.double_data(), tensor); break;
  case DType::i64: error = copyField(proto.int64_data(), tensor); break;
  case DType::u32: case DType::u64: error = copyField(proto.uint64_data(), tensor); break;
  default: error = copyField(proto.int32_data(), tensor); break;
  }
  if (error)
    return llvm::createStringError("tensor '%s': %s", proto.name().c_str(),
                                   llvm::toString(std::move(error)).c_str());
  return tensor;
}

llvm::Expected<HostTensor>
onnx_import::takeTensorFromProto(onnx::TensorProto &proto, llvm::StringRef directory) {
  if (!proto.has_raw_data() || proto.data_location() == onnx::TensorProto::EXTERNAL)
    return tensorFromProto(proto, directory);
  auto layout = layoutOf(proto);
  if (!layout)
    return layout.takeError();
  // The tensor is a view of the proto's string, which it now owns.
  auto data = std::shared_ptr<std::string>(proto.release_raw_data());
  if (reinterpret_cast<uintptr_t>(data->data()) % dtypeSize(layout->dtype) != 0) {
    HostTensor tensor(layout->dtype, layout->shape);
    std::memcpy(tensor.data(), data->data(), layout->bytes);
    return tensor;
  }
  return HostTensor::view(layout->dtype, layout->shape, data->data(), data);
}

llvm::Expected<std::pair<std::string, HostTensor>>
dlc::readOnnxTensorFile(llvm::StringRef path) {
  auto file = llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
  if (!file)
    return llvm::createStringError("cannot read '%s': %s", path.str().c_str(),
                                   file.getError().message().c_str());
  onnx::TensorProto proto;
  if (!proto.ParseFromArray((*file)->getBufferStart(),
                            static_cast<int>((*file)->getBufferSize())))
    return llvm::createStringError("'%s' is not an ONNX TensorProto",
                                   path.str().c_str());
  auto tensor = tensorFromProto(proto, llvm::sys::path::parent_path(path));
  if (!tensor)
    return llvm::createStringError("%s: %s", path.str().c_str(),
                                   llvm::toString(tensor.takeError()).c_str());
  return std::make_pair(proto.name(), std::move(*tensor));
}

//===----------------------------------------------------------------------===//
// NodeImporter
//===----------------------------------------------------------------------===//

Tensor NodeImporter::randomUniform(llvm::ArrayRef<int64_t> shape) {
  if (!training) {
    fail("internal: random numbers asked for outside a training step");
    return {};
  }
  return g.input(kRandomInputPrefix + std::to_string(training->randomInputs++), shape);
}

bool NodeImporter::updateInitializer(size_t i, Tensor value) {
  if (!training || !value || !weightOf(input(i).value()) || i >= size_t(node.input_size()))
    return false;
  training->updates.emplace_back(node.input(i), value);
  return true;
}

Tensor NodeImporter::required(size_t i) {
  Tensor t = input(i);
  if (!t.valid())
    fail("input " + llvm::Twine(i) + " is required");
  return t;
}

void NodeImporter::setOutput(size_t i, Tensor value) {
  if (outputs.size() <= i)
    outputs.resize(i + 1);
  outputs[i] = value;
}

const onnx::AttributeProto *NodeImporter::attr(llvm::StringRef name) const {
  for (const auto &attribute : node.attribute())
    if (attribute.name() == name)
      return &attribute;
  return nullptr;
}

int64_t NodeImporter::intAttr(llvm::StringRef name, int64_t fallback) const {
  const auto *a = attr(name);
  return a && a->type() == onnx::AttributeProto::INT ? a->i() : fallback;
}

float NodeImporter::floatAttr(llvm::StringRef name, float fallback) const {
  const auto *a = attr(name);
  return a && a->type() == onnx::AttributeProto::FLOAT ? a->f() : fallback;
}

std::string NodeImporter::stringAttr(llvm::StringRef name,
                                     llvm::StringRef fallback) const {
  const auto *a = attr(name);
  return a && a->type() == onnx::AttributeProto::STRING ? a->s() : fallback.str();
}

llvm::SmallVector<int64_t> NodeImporter::intsAttr(llvm::StringRef name) const {
  const auto *a = attr(name);
  if (!a)
    return {};
  return llvm::SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

llvm::SmallVector<float> NodeImporter::floatsAttr(llvm::StringRef name) const {
  const auto *a = attr(name);
  if (!a)
    return {};
  return llvm::SmallVector<float>(a->floats().begin(), a->floats().end());
}

std::optional<HostTensor> NodeImporter::tensorAttr(llvm::StringRef name) {
  const auto *a = attr(name);
  if (!a || a->type() != onnx::AttributeProto::TENSOR)
    return std::nullopt;
  auto tensor = tensorFromProto(a->t(), directory);
  if (!tensor) {
    fail("attribute '" + name + "': " + llvm::toString(tensor.takeError()));
    return std::nullopt;
  }
  return std::move(*tensor);
}

bool NodeImporter::fail(const llvm::Twine &message) {
  g.fail(message);
  return false;
}

std::optional<int64_t> NodeImporter::axis(int64_t value, int64_t rank,
                                          llvm::StringRef what) {
  int64_t normalized = value < 0 ? value + rank : value;
  if (normalized < 0 || normalized >= rank) {
    fail(what + " " + llvm::Twine(value) + " is out of range for rank " +
         llvm::Twine(rank));
    return std::nullopt;
  }
  return normalized;
}

std::optional<DenseElementsAttr> NodeImporter::constantAttr(size_t i,
                                                            llvm::StringRef role) {
  Tensor t = input(i);
  if (!t.valid()) {
    fail("the " + role + " (input " + llvm::Twine(i) + ") is missing");
    return std::nullopt;
  }
  DenseElementsAttr attr;
  if (matchPattern(t.value(), m_Constant(&attr)))
    return attr;
  if (const HostTensor *weight = weightOf(t.value())) {
    // An initializer used as a compile-time value (a shape, scales...).
    return GraphBuilder::elementsAttr(g.context(), *weight);
  }
  std::string inputName = static_cast<int>(i) < node.input_size() ? node.input(i) : "";
  fail("the " + role + " '" + inputName +
       "' must be known when compiling; dlc compiles static shapes. Make it "
       "a constant or initializer, or bind the graph input with "
       "--constant-input " + inputName + "=FILE");
  return std::nullopt;
}

std::optional<llvm::SmallVector<int64_t>>
NodeImporter::constantInts(size_t i, llvm::StringRef role) {
  auto attr = constantAttr(i, role);
  if (!attr)
    return std::nullopt;
  llvm::SmallVector<int64_t> values;
  if (isa<FloatType>(attr->getElementType())) {
    for (APFloat v : attr->getValues<APFloat>()) {
      double d = v.convertToDouble();
      if (!(d > -0x1p62 && d < 0x1p62)) {
        fail("the " + role + " holds " + std::to_string(d) + ", not an integer in range");
        return std::nullopt;
      }
      values.push_back(static_cast<int64_t>(d));
    }
  } else {
    bool isUnsigned = attr->getElementType().isUnsignedInteger();
    for (APInt v : attr->getValues<APInt>())
      values.push_back(isUnsigned || v.getBitWidth() == 1 ? v.getZExtValue()
                                                          : v.getSExtValue());
  }
  return values;
}

std::optional<llvm::SmallVector<double>>
NodeImporter::constantFloats(size_t i, llvm::StringRef role) {
  auto attr = constantAttr(i, role);
  if (!attr)
    return std::nullopt;
  llvm::SmallVector<double> values;
  if (isa<FloatType>(attr->getElementType())) {
    for (APFloat v : attr->getValues<APFloat>())
      values.push_back(v.convertToDouble());
  } else {
    for (APInt v : attr->getValues<APInt>())
      values.push_back(static_cast<double>(v.getSExtValue()));
  }
  return values;
}

const ConverterTable &onnx_import::converters() {
  static const ConverterTable table = [] {
    ConverterTable t;
    registerElementwiseConverters(t);
    registerShapeConverters(t);
    registerNeuralNetConverters(t);
    registerReductionConverters(t);
    registerResizeConverters(t);
    registerMiscConverters(t);
    return t;
  }();
  return table;
}

const ConverterTable &onnx_import::trainingConverters() {
  static const ConverterTable table = [] {
    ConverterTable t;
    registerTrainingConverters(t);
    return t;
  }();
  return table;
}

namespace {
/// The ops of `table`, sorted.
std::vector<std::string> sortedOps(const ConverterTable &table) {
  std::vector<std::string> names;
  for (const auto &entry : table)
    names.push_back(entry.getKey().str());
  llvm::sort(names);
  return names;
}
} // namespace

std::vector<std::string> dlc::supportedOnnxOps() { return sortedOps(converters()); }

//===----------------------------------------------------------------------===//
// The graph walk
//===----------------------------------------------------------------------===//

namespace {

/// A batch is split into samples only while the weights of its dense
/// layers (Gemm, MatMul by a weight) take at most this many bytes.
constexpr int64_t kSplitMaxDenseWeightBytes = int64_t(32) << 20;

class GraphImporter {
public:
  GraphImporter(MLIRContext &context, llvm::StringRef name,
                llvm::StringRef directory, const OnnxImportOptions &options)
      : context(context), name(name), directory(directory), options(options),
        g(context) {}

  /// Imports `model`; the weights take over its raw data, which it loses.
  llvm::Expected<Model> run(onnx::ModelProto &model);

  /// Whether run() imported (or tried to import) one sample of the batch:
  /// after a failure, the model is to be imported again whole.
  bool triedSampleSplit() const { return splitBatch > 0; }

private:
  llvm::Error error(const llvm::Twine &message) {
    return llvm::createStringError(name + ": " + message);
  }
  llvm::Error importInputs(onnx::GraphProto &graph);
  llvm::Error importNode(const onnx::NodeProto &node, int64_t opset);
  /// The batch to import one sample of (OnnxImportOptions::splitBatch), or 0.
  int64_t sampleSplitBatch(const onnx::GraphProto &graph) const;
  /// The opset the model imports for `node`'s domain.
  int64_t opsetOf(const onnx::NodeProto &node, int64_t defaultOpset) const {
    auto it = domainOpsets.find(node.domain());
    return it == domainOpsets.end() ? defaultOpset : it->second;
  }

  MLIRContext &context;
  std::string name;
  std::string directory;
  const OnnxImportOptions &options;
  GraphBuilder g;
  llvm::StringMap<Tensor> values;
  llvm::DenseMap<Value, HostTensor> weights;
  llvm::StringMap<int64_t> domainOpsets;
  TrainingImport training;
  /// With a batch split: its batch, the tensors batched in dimension 0,
  /// and the bytes of the weights that dense layers multiply samples by.
  int64_t splitBatch = 0;
  llvm::StringSet<> batched;
  int64_t denseWeightBytes = 0;
};

std::string describeNode(const onnx::NodeProto &node, int64_t opset) {
  // Unnamed nodes go by their first output, which every node has.
  std::string name = !node.name().empty() ? node.name()
                     : node.output_size() ? "output " + node.output(0)
                                          : node.op_type();
  std::string text = "node '" + name + "' (" + node.op_type();
  if (!node.domain().empty() && node.domain() != "ai.onnx")
    text += ", domain '" + node.domain() + "'";
  return text + ", opset " + std::to_string(opset) + ")";
}

llvm::Error GraphImporter::importInputs(onnx::GraphProto &graph) {
  llvm::StringSet<> initializerNames;
  for (const auto &initializer : graph.initializer())
    initializerNames.insert(initializer.name());

  for (const auto &input : graph.input()) {
    if (initializerNames.contains(input.name()))
      continue; // Old models list initializers among the inputs.
    g.setLocation(input.name());
    auto bound = options.constantInputs.find(input.name());
    if (bound != options.constantInputs.end()) {
      values[input.name()] = g.constant(bound->second);
      continue;
    }
    if (!input.type().has_tensor_type())
      return error("graph input '" + input.name() +
                   "' is not a tensor (sequences, maps and optionals are not "
                   "supported)");
    const auto &tensorType = input.type().tensor_type();
    Type elementType = elementTypeOf(context, tensorType.elem_type());
    std::optional<DType> dtype = elementType ? fromMlirType(elementType) : std::nullopt;
    if (!dtype)
      return error("graph input '" + input.name() + "' has element type " +
                   onnxTypeName(tensorType.elem_type()) +
                   ", which dlc does not support");
    std::vector<int64_t> shape;
    auto fixed = options.shapes.find(input.name());
    if (fixed != options.shapes.end()) {
      shape = fixed->second;
      if (tensorType.has_shape() &&
          tensorType.shape().dim_size() != static_cast<int>(shape.size()))
        return error("--shape " + input.name() + " gives " +
                     llvm::Twine(shape.size()) + " dimensions, but the input has " +
                     llvm::Twine(tensorType.shape().dim_size()));
    } else {
      if (!tensorType.has_shape())
        return error("graph input '" + input.name() +
                     "' has no shape; give one with --shape " + input.name() +
                     "=D1xD2x...");
      for (int d = 0; d < tensorType.shape().dim_size(); ++d) {
        const auto &dim = tensorType.shape().dim(d);
        if (!dim.has_dim_value() || dim.dim_value() < 0)
          return error("graph input '" + input.name() + "' has a symbolic "
                       "dimension '" + dim.dim_param() + "' (dimension " +
                       llvm::Twine(d) + "); fix it with --shape " +
                       input.name() + "=D1xD2x...");
        shape.push_back(dim.dim_value());
      }
    }
    if (splitBatch) {
      shape[0] = 1; // one sample (sampleSplitBatch checked the shapes)
      batched.insert(input.name());
    }
    values[input.name()] = g.input(input.name(), shape, *dtype);
  }

  for (auto &initializer : *graph.mutable_initializer()) {
    g.setLocation(initializer.name());
    // Taken, not copied: the model's protobuf and the weights never both
    // hold the data (BERT-base: 434 MB once, not twice).
    auto tensor = takeTensorFromProto(initializer, directory);
    if (!tensor)
      return error(llvm::toString(tensor.takeError()));
    // Float initializers are the weights; integer and boolean ones (shapes,
    // indices, masks) are constants that take part in folding.
    bool isWeight = tensor->dtype() == DType::f32 || tensor->dtype() == DType::f64 ||
                    tensor->dtype() == DType::f16 || tensor->dtype() == DType::bf16;
    if (isWeight) {
      Tensor param = g.parameter(initializer.name(), *tensor);
      weights[param.value()] = *tensor;
      values[initializer.name()] = param;
    } else {
      values[initializer.name()] = g.constant(*tensor);
    }
  }
  return llvm::Error::success();
}

llvm::Error GraphImporter::importNode(const onnx::NodeProto &node, int64_t opset) {
  g.setLocation(node.name().empty() ? node.op_type() : node.name());
  bool defaultDomain = node.domain().empty() || node.domain() == "ai.onnx";
  bool trainingDomain = node.domain() == kTrainingDomain;
  // The node's own domain's opset (the training domain has its own).
  opset = opsetOf(node, opset);
  const ConverterTable &table = trainingDomain ? trainingConverters() : converters();
  auto converter = table.find(node.op_type());
  if (!(defaultDomain || trainingDomain) || converter == table.end()) {
    return error(describeNode(node, opset) + ": unsupported operator; dlc "
                 "supports these ONNX operators of the default domain: " +
                 llvm::join(sortedOps(converters()), ", ") + "; and of " + kTrainingDomain +
                 ": " + llvm::join(sortedOps(trainingConverters()), ", "));
  }
  for (const auto &attribute : node.attribute())
    if (attribute.type() == onnx::AttributeProto::GRAPH ||
        attribute.type() == onnx::AttributeProto::GRAPHS)
      return error(describeNode(node, opset) +
                   ": subgraphs (control flow) are not supported");

  std::vector<Tensor> inputs;
  for (const std::string &input : node.input()) {
    if (input.empty()) {
      inputs.emplace_back();
      continue;
    }
    auto it = values.find(input);
    if (it == values.end())
      return error(describeNode(node, opset) + ": input '" + input +
                   "' is not produced by any earlier node or graph input");
    inputs.push_back(it->second);
  }
  NodeImporter importer(
      g, node, opset, std::move(inputs),
      [this](Value v) -> const HostTensor * {
        auto it = weights.find(v);
        return it == weights.end() ? nullptr : &it->second;
      },
      [this](StringRef name) { return values.lookup(name); }, directory);
  importer.mode = options.mode;
  if (options.mode == OnnxImportMode::training)
    importer.training = &training;
  converter->second(importer);
  if (g.failed()) {
    auto model = g.finish(); // Takes the recorded error.
    return error(describeNode(node, opset) + ": " +
                 llvm::toString(model.takeError()));
  }
  for (int i = 0; i < node.output_size(); ++i) {
    if (node.output(i).empty())
      continue;
    const auto &results = importer.results();
    if (i >= static_cast<int>(results.size()) || !results[i].valid())
      return error(describeNode(node, opset) + ": output " + llvm::Twine(i) +
                   " ('" + node.output(i) + "') is not supported");
    values[node.output(i)] = results[i];
  }
  if (splitBatch) {
    std::vector<Tensor> inputTensors;
    bool anyBatched = false;
    for (const std::string &input : node.input()) {
      inputTensors.push_back(input.empty() ? Tensor() : values.lookup(input));
      anyBatched |= !input.empty() && batched.contains(input);
    }
    std::string refusal = sampleSplitRefusal(
        node, opset, inputTensors, importer.results(),
        [this](llvm::StringRef name) { return batched.contains(name); });
    if (!refusal.empty())
      return error(describeNode(node, opset) + " mixes a batch's samples: " + refusal);
    if (anyBatched)
      for (const std::string &output : node.output())
        if (!output.empty())
          batched.insert(output);
    // A dense layer's weights are read once per sample when split (a
    // matrix-vector product each), once per batch otherwise.
    if (anyBatched && (node.op_type() == "Gemm" || node.op_type() == "MatMul") &&
        inputTensors.size() > 1 && inputTensors[1].valid() && !batched.contains(node.input(1))) {
      int64_t elements = 1;
      for (int64_t dim : inputTensors[1].shape())
        elements *= dim;
      denseWeightBytes += elements * int64_t(inputTensors[1].type().getElementTypeBitWidth() / 8);
    }
  }
  return llvm::Error::success();
}

int64_t GraphImporter::sampleSplitBatch(const onnx::GraphProto &graph) const {
  const char *environment = std::getenv("DLC_BATCH_SPLIT");
  if (options.mode != OnnxImportMode::inference || !options.splitBatch ||
      (environment && std::strcmp(environment, "0") == 0))
    return 0;
  // Convolutions: where one sample's tensors fit in cache and a batch's do
  // not (a dense network's samples would each read all its weights).
  // DLC_BATCH_SPLIT=1 splits any model that keeps its samples apart.
  const bool forced = environment && std::strcmp(environment, "1") == 0;
  if (!forced && llvm::none_of(graph.node(), [](const onnx::NodeProto &node) {
        return node.op_type() == "Conv";
      }))
    return 0;
  llvm::StringSet<> initializers;
  for (const auto &initializer : graph.initializer())
    initializers.insert(initializer.name());
  int64_t batch = 0;
  for (const auto &input : graph.input()) {
    if (initializers.contains(input.name()))
      continue;
    if (options.constantInputs.count(input.name()))
      return 0;
    int64_t first = -1;
    auto fixed = options.shapes.find(input.name());
    if (fixed != options.shapes.end()) {
      if (!fixed->second.empty())
        first = fixed->second[0];
    } else if (input.type().has_tensor_type() && input.type().tensor_type().has_shape() &&
               input.type().tensor_type().shape().dim_size() > 0 &&
               input.type().tensor_type().shape().dim(0).has_dim_value()) {
      first = input.type().tensor_type().shape().dim(0).dim_value();
    }
    if (first < 2 || (batch && first != batch))
      return 0;
    batch = first;
  }
  return batch;
}

llvm::Expected<Model> GraphImporter::run(onnx::ModelProto &model) {
  if (!model.has_graph())
    return error("the model has no graph");
  int64_t opset = -1;
  for (const auto &import : model.opset_import()) {
    domainOpsets[import.domain()] = import.version();
    if (import.domain().empty() || import.domain() == "ai.onnx")
      opset = import.version();
  }
  if (opset < 0)
    opset = 1; // Very old models imply opset 1 of the default domain.
  if (opset > 25)
    return error("the model uses opset " + llvm::Twine(opset) +
                 " of the default domain; dlc supports opsets 1 to 25");
  onnx::GraphProto &graph = *model.mutable_graph();
  splitBatch = sampleSplitBatch(graph);
  if (llvm::Error e = importInputs(graph))
    return std::move(e);
  for (const auto &node : graph.node())
    if (llvm::Error e = importNode(node, opset))
      return std::move(e);
  // Dense layers with large weights (VGG's 490 MB) would read them once per
  // sample: the batch is imported whole. (ResNet-50's 8 MB and
  // MobileNetV2's 5 MB split.)
  if (splitBatch && denseWeightBytes > kSplitMaxDenseWeightBytes)
    return error("the dense layers' weights (" + llvm::Twine(denseWeightBytes >> 20) +
                 " MB) would be read once per sample of the batch");
  if (graph.output_size() == 0)
    return error("the graph has no outputs");
  g.setLocation("");
  for (const auto &output : graph.output()) {
    auto it = values.find(output.name());
    if (it == values.end())
      return error("graph output '" + output.name() + "' is not produced by any node");
    if (splitBatch && !batched.contains(output.name()))
      return error("graph output '" + output.name() + "' does not depend on the batch");
    g.output(output.name(), it->second);
  }
  for (auto &[initializer, value] : training.updates)
    g.output(kUpdateOutputPrefix + initializer, value);
  auto result = g.finish();
  if (!result)
    return error(llvm::toString(result.takeError()));
  if (splitBatch)
    result->module->getOperation()->setAttr(
        kBatchSplitAttr, mlir::IntegerAttr::get(mlir::IntegerType::get(&context, 64), splitBatch));
  return result;
}

} // namespace

namespace {
/// Imports `model` with `options`. When the import tried one sample of the
/// batch and failed, `again` imports the batch whole (with splitBatch
/// off), from a fresh parse: the first import took the weights out of the
/// protobuf.
llvm::Expected<Model>
importOrWhole(MLIRContext &context, llvm::StringRef name, llvm::StringRef directory,
              const OnnxImportOptions &options, onnx::ModelProto &model,
              llvm::function_ref<llvm::Expected<Model>(const OnnxImportOptions &)> again) {
  GraphImporter importer(context, name, directory, options);
  auto imported = importer.run(model);
  if (imported || !importer.triedSampleSplit())
    return imported;
  llvm::consumeError(imported.takeError());
  OnnxImportOptions whole = options;
  whole.splitBatch = false;
  return again(whole);
}
} // namespace

llvm::Expected<Model> dlc::importOnnxBuffer(MLIRContext &context,
                                            llvm::StringRef bytes,
                                            llvm::StringRef name,
                                            llvm::StringRef directory,
                                            const OnnxImportOptions &options) {
  if (bytes.empty())
    return llvm::createStringError("%s: the file is empty", name.str().c_str());
  onnx::ModelProto model;
  if (bytes.size() > INT32_MAX ||
      !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return llvm::createStringError("%s: not an ONNX model (the protobuf does "
                                   "not parse; is the file truncated?)",
                                   name.str().c_str());
  return importOrWhole(context, name, directory, options, model,
                       [&](const OnnxImportOptions &whole) {
                         return importOnnxBuffer(context, bytes, name, directory, whole);
                       });
}

llvm::Expected<onnx::ModelProto> dlc::onnx_import::loadModel(llvm::StringRef path) {
  onnx::ModelProto model;
  if (path.ends_with(".onnxtxt") || path.ends_with(".txt")) {
    auto file = llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
    if (!file)
      return llvm::createStringError("cannot read '%s': %s", path.str().c_str(),
                                     file.getError().message().c_str());
    std::string text = (*file)->getBuffer().str(); // The parser keeps a pointer.
    onnx::OnnxParser parser(text.c_str());
    auto status = parser.Parse(model);
    if (!status.IsOK())
      return llvm::createStringError("%s: cannot parse ONNX text: %s",
                                     path.str().c_str(),
                                     status.ErrorMessage().c_str());
    return model;
  }
  // Parsed from the file in blocks, not from a copy of it in memory: the
  // protobuf then holds the only copy of the weights (which the importer
  // takes over).
  int descriptor;
  if (std::error_code error = llvm::sys::fs::openFileForRead(path, descriptor))
    return llvm::createStringError("cannot read '%s': %s", path.str().c_str(),
                                   error.message().c_str());
  llvm::sys::fs::file_status status;
  std::error_code statError = llvm::sys::fs::status(descriptor, status);
  uint64_t size = statError ? 0 : status.getSize();
  bool parsed = !statError && size > 0 && size <= INT32_MAX &&
                model.ParseFromFileDescriptor(descriptor);
  ::close(descriptor);
  if (statError)
    return llvm::createStringError("cannot read '%s': %s", path.str().c_str(),
                                   statError.message().c_str());
  if (size == 0)
    return llvm::createStringError("%s: the file is empty", path.str().c_str());
  if (!parsed)
    return llvm::createStringError("%s: not an ONNX model (the protobuf does "
                                   "not parse; is the file truncated?)",
                                   path.str().c_str());
  return model;
}

llvm::Expected<Model> dlc::importOnnxFile(MLIRContext &context,
                                          llvm::StringRef path,
                                          const OnnxImportOptions &options) {
  auto model = loadModel(path);
  if (!model)
    return model.takeError();
  return importOrWhole(context, path, llvm::sys::path::parent_path(path), options, *model,
                       [&](const OnnxImportOptions &whole) {
                         return importOnnxFile(context, path, whole);
                       });
}

llvm::Expected<std::vector<std::string>> dlc::onnxInputNames(llvm::StringRef path) {
  auto model = loadModel(path);
  if (!model)
    return model.takeError();
  llvm::StringSet<> initializers;
  for (const auto &initializer : model->graph().initializer())
    initializers.insert(initializer.name());
  std::vector<std::string> names;
  for (const auto &input : model->graph().input())
    if (!initializers.contains(input.name()))
      names.push_back(input.name());
  return names;
}

llvm::Expected<Model> dlc::importOnnxForInputs(MLIRContext &context,
                                               llvm::StringRef path,
                                               const NamedTensors &inputs,
                                               std::vector<std::string> &bound) {
  OnnxImportOptions options;
  for (const auto &[name, tensor] : inputs)
    options.shapes[name] = std::vector<int64_t>(tensor.shape().begin(), tensor.shape().end());
  auto given = [&](llvm::StringRef name) -> const HostTensor * {
    for (const auto &[inputName, tensor] : inputs)
      if (inputName == name)
        return &tensor;
    return nullptr;
  };
  llvm::Regex wantsBinding("--constant-input ([^ =]+)=FILE");
  while (true) {
    auto model = importOnnxFile(context, path, options);
    if (model)
      return model;
    std::string message = llvm::toString(model.takeError());
    llvm::SmallVector<llvm::StringRef> match;
    if (!wantsBinding.match(message, &match))
      return llvm::createStringError(message);
    const HostTensor *value = given(match[1]);
    if (value && !options.constantInputs.count(match[1])) {
      options.constantInputs[match[1]] = *value;
      bound.push_back(match[1].str());
      continue;
    }
    // The shape is computed from graph inputs: bind every given integer
    // input once (the shape-like ones).
    bool any = false;
    for (const auto &[name, tensor] : inputs) {
      bool isFloat = tensor.dtype() == DType::f32 || tensor.dtype() == DType::f64 ||
                     tensor.dtype() == DType::f16 || tensor.dtype() == DType::bf16;
      if (!isFloat && !options.constantInputs.count(name)) {
        options.constantInputs[name] = tensor;
        bound.push_back(name);
        any = true;
      }
    }
    if (!any)
      return llvm::createStringError(message);
  }
}
