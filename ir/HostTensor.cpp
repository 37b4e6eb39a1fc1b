//===- HostTensor.cpp - host tensors and element types ----------*- C++ -*-===//

#include "ir/HostTensor.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <cstring>
#include <numeric>

using namespace dlc;

llvm::StringRef dlc::dtypeName(DType dtype) {
  switch (dtype) {
  case DType::f32: return "float32";
  case DType::f64: return "float64";
  case DType::f16: return "float16";
  case DType::bf16: return "bfloat16";
  case DType::i1: return "bool";
  case DType::i8: return "int8";
  case DType::i16: return "int16";
  case DType::i32: return "int32";
  case DType::i64: return "int64";
  case DType::u8: return "uint8";
  case DType::u16: return "uint16";
  case DType::u32: return "uint32";
  case DType::u64: return "uint64";
  }
  llvm_unreachable("unknown dtype");
}

size_t dlc::dtypeSize(DType dtype) {
  switch (dtype) {
  case DType::f64: case DType::i64: case DType::u64: return 8;
  case DType::f32: case DType::i32: case DType::u32: return 4;
  case DType::f16: case DType::bf16: case DType::i16: case DType::u16: return 2;
  case DType::i1: case DType::i8: case DType::u8: return 1;
  }
  llvm_unreachable("unknown dtype");
}

mlir::Type dlc::toMlirType(mlir::MLIRContext &context, DType dtype) {
  mlir::Builder b(&context);
  switch (dtype) {
  case DType::f32: return b.getF32Type();
  case DType::f64: return b.getF64Type();
  case DType::f16: return b.getF16Type();
  case DType::bf16: return b.getBF16Type();
  case DType::i1: return b.getI1Type();
  case DType::i8: return b.getI8Type();
  case DType::i16: return b.getI16Type();
  case DType::i32: return b.getI32Type();
  case DType::i64: return b.getI64Type();
  case DType::u8: return b.getIntegerType(8, /*isSigned=*/false);
  case DType::u16: return b.getIntegerType(16, /*isSigned=*/false);
  case DType::u32: return b.getIntegerType(32, /*isSigned=*/false);
  case DType::u64: return b.getIntegerType(64, /*isSigned=*/false);
  }
  llvm_unreachable("unknown dtype");
}

std::optional<DType> dlc::fromMlirType(mlir::Type type) {
  if (type.isF32()) return DType::f32;
  if (type.isF64()) return DType::f64;
  if (type.isF16()) return DType::f16;
  if (type.isBF16()) return DType::bf16;
  if (type.isSignlessInteger(1)) return DType::i1;
  if (type.isSignlessInteger(8)) return DType::i8;
  if (type.isSignlessInteger(16)) return DType::i16;
  if (type.isSignlessInteger(32)) return DType::i32;
  if (type.isSignlessInteger(64)) return DType::i64;
  if (type.isUnsignedInteger(8)) return DType::u8;
  if (type.isUnsignedInteger(16)) return DType::u16;
  if (type.isUnsignedInteger(32)) return DType::u32;
  if (type.isUnsignedInteger(64)) return DType::u64;
  return std::nullopt;
}

std::string dlc::formatShape(llvm::ArrayRef<int64_t> shape) {
  if (shape.empty())
    return "scalar";
  std::string text;
  llvm::raw_string_ostream os(text);
  llvm::interleave(shape, os, "x");
  return text;
}

HostTensor::HostTensor(DType dtype, llvm::ArrayRef<int64_t> shape)
    : elementType(dtype), dims(shape.begin(), shape.end()) {
  // Round up so that aligned_alloc gets a multiple of the alignment, and
  // never ask for zero bytes.
  size_t bytes = (std::max<size_t>(byteSize(), 1) + 63) / 64 * 64;
  void *memory = std::aligned_alloc(64, bytes);
  if (!memory)
    llvm::report_bad_alloc_error("cannot allocate a host tensor");
  std::memset(memory, 0, bytes);
  storage = std::shared_ptr<void>(memory, std::free);
}

HostTensor HostTensor::view(DType dtype, llvm::ArrayRef<int64_t> shape,
                             void *data, std::shared_ptr<void> owner) {
  HostTensor tensor;
  tensor.elementType = dtype;
  tensor.dims.assign(shape.begin(), shape.end());
  // Aliasing constructor: shares ownership of `owner`, points at `data`.
  tensor.storage = std::shared_ptr<void>(std::move(owner), data);
  return tensor;
}

HostTensor HostTensor::fromFloats(llvm::ArrayRef<int64_t> shape,
                                  llvm::ArrayRef<float> values) {
  HostTensor tensor(DType::f32, shape);
  assert(static_cast<int64_t>(values.size()) == tensor.numElements() &&
         "one value per element");
  std::memcpy(tensor.data(), values.data(), values.size() * sizeof(float));
  return tensor;
}

int64_t HostTensor::numElements() const {
  return std::accumulate(dims.begin(), dims.end(), int64_t{1},
                         std::multiplies<int64_t>());
}

double HostTensor::elementAsDouble(int64_t index) const {
  const char *at = static_cast<const char *>(data()) + index * dtypeSize(elementType);
  auto load = [at](auto value) {
    std::memcpy(&value, at, sizeof(value));
    return value;
  };
  switch (elementType) {
  case DType::f32: return load(float());
  case DType::f64: return load(double());
  case DType::f16:
  case DType::bf16: {
    llvm::APFloat value(elementType == DType::f16 ? llvm::APFloat::IEEEhalf()
                                                  : llvm::APFloat::BFloat(),
                        llvm::APInt(16, load(uint16_t())));
    return value.convertToDouble();
  }
  case DType::i1: return load(uint8_t()) != 0;
  case DType::i8: return load(int8_t());
  case DType::i16: return load(int16_t());
  case DType::i32: return load(int32_t());
  case DType::i64: return static_cast<double>(load(int64_t()));
  case DType::u8: return load(uint8_t());
  case DType::u16: return load(uint16_t());
  case DType::u32: return load(uint32_t());
  case DType::u64: return static_cast<double>(load(uint64_t()));
  }
  llvm_unreachable("unknown dtype");
}

HostTensor HostTensor::clone() const {
  HostTensor copy(elementType, dims);
  if (storage)
    std::memcpy(copy.data(), data(), byteSize());
  return copy;
}

std::string HostTensor::describe() const {
  return (dtypeName(elementType) + "[" + formatShape(dims) + "]").str();
}
