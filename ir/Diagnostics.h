//===- Diagnostics.h - MLIR diagnostics as llvm::Error ----------*- C++ -*-===//
//
// Collects the diagnostics MLIR emits while a step runs, so that the step can
// fail with an llvm::Error that carries every message and its location.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_IR_DIAGNOSTICS_H
#define DLC_IR_DIAGNOSTICS_H

#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/Error.h"

#include <string>

namespace dlc {

class DiagnosticCapture {
public:
  explicit DiagnosticCapture(mlir::MLIRContext *context);

  /// An error whose message is `what` followed by every captured diagnostic,
  /// one per line as "LOCATION: error: MESSAGE".
  llvm::Error takeError(llvm::StringRef what);

private:
  std::string messages;
  mlir::ScopedDiagnosticHandler handler;
};

/// Prints a location the way users know their nodes: "'fc1' (file:3:7)".
std::string describeLocation(mlir::Location loc);

} // namespace dlc

#endif // DLC_IR_DIAGNOSTICS_H
