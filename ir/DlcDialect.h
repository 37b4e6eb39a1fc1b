//===- DlcDialect.h - the dlc dialect ---------------------------*- C++ -*-===//
//
// Declares the dlc dialect class generated from DlcDialect.td.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_IR_DLCDIALECT_H
#define DLC_IR_DLCDIALECT_H

#include "mlir/IR/Dialect.h"

#include "ir/DlcOpsDialect.h.inc"

#endif // DLC_IR_DLCDIALECT_H
