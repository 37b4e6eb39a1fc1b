//===- Signature.h - a model's named inputs, parameters, outputs -*- C++ -*-===//
//
// A dlc model is a module with one entry function, `@main`. Its arguments are
// the inputs followed by the parameters (weights), each named by an argument
// attribute; its results are the named outputs:
//
//   func.func @main(%x: tensor<4x8xf32> {dlc.input = "x"},
//                   %w: tensor<8x2xf32> {dlc.param = "fc.weight"})
//       -> (tensor<4x2xf32> {dlc.output = "y"})
//
//===----------------------------------------------------------------------===//

#ifndef DLC_IR_SIGNATURE_H
#define DLC_IR_SIGNATURE_H

#include "ir/DType.h"

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace mlir {
class ModuleOp;
} // namespace mlir

namespace dlc {

/// The names of the attributes that mark the entry function's arguments and
/// results, and the entry function's name.
constexpr const char *kInputAttr = "dlc.input";
constexpr const char *kParamAttr = "dlc.param";
constexpr const char *kOutputAttr = "dlc.output";
constexpr const char *kEntryFunction = "main";
/// The module attribute of a model whose entry function computes one
/// sample of a batch of this size (see Signature::samples).
constexpr const char *kBatchSplitAttr = "dlc.batch_split";

/// One named tensor of the signature.
struct TensorSpec {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
};

struct Signature {
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> params;
  std::vector<TensorSpec> outputs;
  /// How many samples a run computes, one entry call each: above 1 for a
  /// model imported with its batch split (kBatchSplitAttr), whose entry
  /// function takes and returns dimension 0 of 1. The inputs and outputs
  /// above are the batch's, as callers pass them.
  int64_t samples = 1;
};

/// Reads the signature of `module`'s entry function; fails with a message
/// when there is no `@main`, an argument or result is unnamed, inputs do not
/// precede parameters, or a type is not a static tensor of a known dtype.
/// With kBatchSplitAttr, inputs and outputs get the batch in dimension 0
/// (each must have 1 there).
llvm::Expected<Signature> readSignature(mlir::ModuleOp module);

} // namespace dlc

#endif // DLC_IR_SIGNATURE_H
