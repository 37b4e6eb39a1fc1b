//===- InPlaceOutputs.cpp - outputs computed in their inputs' memory -*- C++ -*-===//
//
// The dlc-in-place-outputs pass (see Passes.td): an output that is the new
// value of the input of the same name (a training step's parameters and
// optimizer state) is computed in that input's buffer, when the order of
// the kernels allows it, and the module says which outputs those are.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/Buffers.h"
#include "codegen/cpu/KernelAbi.h"
#include "codegen/cpu/Passes.h"
#include "ir/Signature.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"

namespace dlc {
#define GEN_PASS_DEF_DLCINPLACEOUTPUTS
#include "codegen/cpu/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

/// The kernel that may compute `output` in the memory of `input`: the
/// elementwise generic that writes `output` whole and reads `input` only
/// at the element it writes, or null.
linalg::GenericOp inPlaceWriter(Operation *op, Value input, Value output) {
  auto generic = dyn_cast<linalg::GenericOp>(op);
  if (!generic || !generic.hasPureBufferSemantics() ||
      generic.getNumParallelLoops() != generic.getNumLoops())
    return {};
  OpOperand *written = nullptr;
  bool readsInput = false;
  for (OpOperand &operand : generic->getOpOperands()) {
    Value root = dlc::bufferRoot(operand.get());
    if (root != input && root != output)
      continue;
    // The argument itself (no view) at the iteration's own element.
    bool whole = operand.get() == root &&
                 generic.getMatchingIndexingMap(&operand).isIdentity();
    if (!whole)
      return {};
    if (generic.isDpsInit(&operand)) {
      // The old value of the output is not read: it is the input's.
      if (root != output || written || generic.payloadUsesValueFromOperand(&operand))
        return {};
      written = &operand;
    } else {
      if (root != input)
        return {};
      readsInput = true;
    }
  }
  return written && readsInput ? generic : linalg::GenericOp();
}

/// Rewrites `writer` to read the input through its output operand (which
/// then holds the input's values on entry) and returns the new generic:
/// the kernel takes the output's buffer once, so its arguments stay
/// distinct (see dlc-outline-kernels).
linalg::GenericOp readThroughOutput(linalg::GenericOp writer, Value input, Value output) {
  auto isInput = [&](BlockArgument argument) {
    return argument.getArgNumber() < writer.getNumDpsInputs() &&
           writer.getDpsInputOperand(argument.getArgNumber())->get() == input;
  };
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  for (OpOperand *operand : writer.getDpsInputOperands())
    if (operand->get() != input) {
      inputs.push_back(operand->get());
      maps.push_back(writer.getMatchingIndexingMap(operand));
    }
  for (OpOperand &operand : writer.getDpsInitsMutable())
    maps.push_back(writer.getMatchingIndexingMap(&operand));
  OpBuilder builder(writer);
  auto rewritten = linalg::GenericOp::create(
      builder, writer.getLoc(), TypeRange{}, inputs, writer.getDpsInits(), maps,
      writer.getIteratorTypesArray(), /*bodyBuild=*/nullptr,
      llvm::to_vector(writer->getDiscardableAttrs()));
  Block *oldBody = writer.getBody();
  SmallVector<Type> types;
  SmallVector<Location> locations;
  for (BlockArgument argument : oldBody->getArguments())
    if (!isInput(argument)) {
      types.push_back(argument.getType());
      locations.push_back(argument.getLoc());
    }
  Block *body = builder.createBlock(&rewritten.getRegion(), {}, types, locations);
  // The output's element (its block argument, unused so far) stands for
  // the input's.
  unsigned outputArgument = inputs.size();
  for (Value init : writer.getDpsInits()) {
    if (init == output)
      break;
    ++outputArgument;
  }
  IRMapping mapping;
  unsigned next = 0;
  for (BlockArgument argument : oldBody->getArguments())
    mapping.map(argument, isInput(argument) ? body->getArgument(outputArgument)
                                            : body->getArgument(next++));
  builder.setInsertionPointToStart(body);
  for (Operation &inner : oldBody->getOperations())
    builder.clone(inner, mapping);
  writer->erase();
  return rewritten;
}

struct InPlaceOutputsPass : public dlc::impl::DlcInPlaceOutputsBase<InPlaceOutputsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto entry = module.lookupSymbol<func::FuncOp>(dlc::kEntryFunction);
    if (!entry || entry.isExternal() || !entry.getBody().hasOneBlock())
      return;
    // The inputs by name, with their positions among the inputs; the
    // outputs with their positions among the outputs.
    llvm::StringMap<std::pair<BlockArgument, int64_t>> inputs;
    SmallVector<std::tuple<BlockArgument, int64_t, StringRef>> outputs;
    int64_t inputCount = 0;
    for (BlockArgument argument : entry.getArguments()) {
      unsigned i = argument.getArgNumber();
      if (auto name = entry.getArgAttrOfType<StringAttr>(i, dlc::kInputAttr))
        inputs.try_emplace(name.getValue(), argument, inputCount++);
      else if (auto name = entry.getArgAttrOfType<StringAttr>(i, dlc::kOutputAttr))
        outputs.emplace_back(argument, int64_t(outputs.size()), name.getValue());
    }
    Block &block = entry.getBody().front();
    DenseMap<Operation *, int64_t> position;
    for (auto [i, op] : llvm::enumerate(block))
      position[&op] = int64_t(i);
    // The ops that touch a buffer, by position ("touching" is using it or
    // a view of it, or taking its address, see dlc::usersInBlock).
    auto touching = [&](Value buffer) {
      SmallVector<std::pair<int64_t, Operation *>> ops;
      for (Operation *op : dlc::usersInBlock(buffer, &block))
        ops.push_back({position.lookup(op), op});
      llvm::sort(ops);
      return ops;
    };

    SmallVector<int64_t> table = {0};
    for (auto [output, outputPosition, name] : outputs) {
      auto found = inputs.find(name);
      if (found == inputs.end() || found->second.first.getType() != output.getType())
        continue;
      Value input = found->second.first;
      // The first op that touches the output must be its writer, and no op
      // after the writer may touch the input: before the writer, the
      // output's memory holds the input's values.
      auto ofOutput = touching(output), ofInput = touching(input);
      if (ofOutput.empty())
        continue;
      auto [at, first] = ofOutput.front();
      linalg::GenericOp writer = inPlaceWriter(first, input, output);
      if (!writer || ofInput.back().first > at)
        continue;
      linalg::GenericOp rewritten = readThroughOutput(writer, input, output);
      position[rewritten] = at;
      table.push_back(outputPosition);
      table.push_back(found->second.second);
      ++table[0];
    }
    if (table[0] == 0)
      return;
    // The table travels with the compiled code (and the compile cache):
    // [count, output, input, output, input, ...], positions in the
    // signature's outputs and inputs.
    OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
    auto type = MemRefType::get({int64_t(table.size())}, builder.getI64Type());
    auto values = DenseElementsAttr::get(
        RankedTensorType::get(type.getShape(), builder.getI64Type()), llvm::ArrayRef(table));
    memref::GlobalOp::create(builder, module.getLoc(), dlc::kInPlaceOutputsSymbol,
                             builder.getStringAttr("public"), type, values,
                             /*constant=*/true, /*alignment=*/nullptr);
  }
};

} // namespace
