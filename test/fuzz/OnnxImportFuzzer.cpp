//===- OnnxImportFuzzer.cpp - libFuzzer target for the importer -*- C++ -*-===//
//
// Feeds arbitrary bytes to the ONNX importer as a model file. Any outcome
// but a crash, a hang or a sanitizer report is fine: the importer must turn
// every malformed model into an error. Build with -DDLC_FUZZ=ON and clang;
// see docs/testing.md for how to run it.
//
//===----------------------------------------------------------------------===//

#include "frontend/onnx/OnnxImporter.h"

#include "mlir/IR/MLIRContext.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // A fresh context per input, so that uniqued attributes do not pile up.
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
  // External data resolves against a folder that does not exist.
  auto model = dlc::importOnnxBuffer(context, bytes, "fuzz.onnx",
                                     "/nonexistent-dlc-fuzz-dir");
  if (!model)
    llvm::consumeError(model.takeError());
  return 0;
}
