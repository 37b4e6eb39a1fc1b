//===- Signature.cpp - reading the entry function's signature ---*- C++ -*-===//

#include "ir/Signature.h"
#include "ir/HostTensor.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

using namespace dlc;

namespace {

llvm::Expected<TensorSpec> specOf(mlir::Type type, mlir::StringAttr name,
                                  llvm::StringRef what) {
  auto tensorType = mlir::dyn_cast<mlir::RankedTensorType>(type);
  if (!tensorType || !tensorType.hasStaticShape())
    return llvm::createStringError("%s '%s' is not a tensor with a static shape",
                                   what.str().c_str(), name.str().c_str());
  std::optional<DType> dtype = fromMlirType(tensorType.getElementType());
  if (!dtype)
    return llvm::createStringError("%s '%s' has an element type dlc cannot "
                                   "exchange",
                                   what.str().c_str(), name.str().c_str());
  return TensorSpec{name.str(), *dtype,
                    std::vector<int64_t>(tensorType.getShape().begin(),
                                         tensorType.getShape().end())};
}

} // namespace

llvm::Expected<Signature> dlc::readSignature(mlir::ModuleOp module) {
  auto main = module.lookupSymbol<mlir::func::FuncOp>(kEntryFunction);
  if (!main)
    return llvm::createStringError("the module has no entry function @%s",
                                   kEntryFunction);
  Signature signature;
  mlir::FunctionType type = main.getFunctionType();
  for (unsigned i = 0; i < type.getNumInputs(); ++i) {
    auto input = main.getArgAttrOfType<mlir::StringAttr>(i, kInputAttr);
    auto param = main.getArgAttrOfType<mlir::StringAttr>(i, kParamAttr);
    if (!input && !param)
      return llvm::createStringError(
          "argument %u of @main has neither a %s nor a %s name", i, kInputAttr,
          kParamAttr);
    if (input && !signature.params.empty())
      return llvm::createStringError(
          "input '%s' follows a parameter; inputs come first",
          input.str().c_str());
    auto spec = specOf(type.getInput(i), input ? input : param,
                       input ? "input" : "parameter");
    if (!spec)
      return spec.takeError();
    (input ? signature.inputs : signature.params).push_back(std::move(*spec));
  }
  for (unsigned i = 0; i < type.getNumResults(); ++i) {
    auto name = main.getResultAttrOfType<mlir::StringAttr>(i, kOutputAttr);
    if (!name)
      return llvm::createStringError("result %u of @main has no %s name", i,
                                     kOutputAttr);
    auto spec = specOf(type.getResult(i), name, "output");
    if (!spec)
      return spec.takeError();
    signature.outputs.push_back(std::move(*spec));
  }
  if (auto split = module->getAttrOfType<mlir::IntegerAttr>(kBatchSplitAttr)) {
    if (split.getInt() < 1)
      return llvm::createStringError("%s is %lld; it must be at least 1", kBatchSplitAttr,
                                     static_cast<long long>(split.getInt()));
    signature.samples = split.getInt();
    for (auto *specs : {&signature.inputs, &signature.outputs})
      for (TensorSpec &spec : *specs) {
        if (spec.shape.empty() || spec.shape[0] != 1)
          return llvm::createStringError(
              "'%s' has no dimension 0 of 1, but the module splits its batch (%s)",
              spec.name.c_str(), kBatchSplitAttr);
        spec.shape[0] = signature.samples;
      }
  }
  return signature;
}
