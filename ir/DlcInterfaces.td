//===- DlcInterfaces.td - interfaces of dlc ops -------------*- tablegen -*-===//
//
// The gradient rule of each differentiable op, kept with the op
// (implemented in ir/Gradients.cpp); passes/Autodiff.cpp chains them.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_INTERFACES_TD
#define DLC_INTERFACES_TD

include "mlir/IR/OpBase.td"

def Dlc_DifferentiableOpInterface : OpInterface<"DifferentiableOpInterface"> {
  let cppNamespace = "::dlc";
  let description = [{
    An op whose operands' gradients follow from its results' gradients
    (reverse mode): given dL/dresult for each result, builds dL/doperand
    for each operand with dlc ops at the builder's insertion point. An
    operand through which no gradient flows (a condition, an index, an
    integer) gets a null value.
  }];
  let methods = [
    InterfaceMethod<
      "Builds the gradients of the operands from those of the results "
      "(one per result, of the result's type); fails, with an error at the "
      "op, where the op's attributes have no rule (a max reduction).",
      "::mlir::FailureOr<::llvm::SmallVector<::mlir::Value>>", "gradients",
      (ins "::mlir::OpBuilder &":$builder, "::mlir::ValueRange":$resultGradients)>,
  ];
}

#endif // DLC_INTERFACES_TD
