//===- DlcOps.h - the dlc operations ----------------------------*- C++ -*-===//
//
// Declares the op classes generated from DlcOps.td.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_IR_DLCOPS_H
#define DLC_IR_DLCOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "ir/DlcDialect.h"
#include "ir/DlcEnums.h.inc"
#include "ir/DlcInterfaces.h.inc"

#define GET_OP_CLASSES
#include "ir/DlcOps.h.inc"

namespace dlc {

/// Whether `value` is copied into the interior of a spatially padded tensor
/// by one of its users (the padding of a convolution or pooling that reads
/// it, or a pad): code that computes it can write that interior in place.
bool feedsSpatialPadding(mlir::Value value);

/// Whether `op` is a convolution (dlc.conv or dlc.fused_conv) that reads
/// its input's zero padding without its being stored: a float32 2-D
/// depthwise one without input dilation, whose CPU kernel checks the
/// bounds. (Its input needs no padded copy.)
bool padsImplicitly(mlir::Operation *op);

} // namespace dlc

#endif // DLC_IR_DLCOPS_H
