//===- DlcDialect.cpp - the dlc dialect -------------------------*- C++ -*-===//
//
// Registers the dlc ops and materializes folded constants.
//
//===----------------------------------------------------------------------===//

#include "ir/DlcDialect.h"
#include "ir/DlcOps.h"

using namespace mlir;
using namespace dlc;

#include "ir/DlcOpsDialect.cpp.inc"

void DlcDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "ir/DlcOps.cpp.inc"
      >();
}

Operation *DlcDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                           Type type, Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return ConstantOp::create(builder, loc, type, elements);
}
