//===- Model.h - a dlc module with its weights ------------------*- C++ -*-===//
//
// What a frontend hands to the compiler: the module (see Signature.h for the
// shape of its entry function) and the initial value of every parameter.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_IR_MODEL_H
#define DLC_IR_MODEL_H

#include "ir/HostTensor.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <string>
#include <utility>
#include <vector>

namespace dlc {

struct Model {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  /// Parameter values by name, in the order of the entry function's
  /// parameter arguments.
  std::vector<std::pair<std::string, HostTensor>> weights;
};

} // namespace dlc

#endif // DLC_IR_MODEL_H
