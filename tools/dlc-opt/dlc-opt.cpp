//===- dlc-opt.cpp - the dlc pass driver ------------------------*- C++ -*-===//
//
// mlir-opt with the dlc dialect and passes: every upstream dialect and pass is
// available too, so a lit test can run any part of dlc's pipelines.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/Passes.h"
#include "ir/DlcDialect.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  dlc::registerCpuPasses();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  dlc::registerCpuCodegenDialects(registry);
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "dlc optimizer driver: runs dlc and MLIR passes\n", registry));
}
