//===- Artifact.h - the .dlc file: a compiled model on disk -----*- C++ -*-===//
//
// A .dlc artifact holds what is needed to run a model without its ONNX file:
// the dlc module as MLIR bytecode, the weights, and metadata (the dlc
// version that wrote it, the target, the signature). Native code is not in
// the file; loading compiles the module, or finds its code in the compile
// cache. The layout is described in docs/artifact.md.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_RUNTIME_ARTIFACT_H
#define DLC_RUNTIME_ARTIFACT_H

#include "ir/HostTensor.h"
#include "ir/Model.h"
#include "ir/Signature.h"

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace dlc {

/// The version of this dlc, as artifacts record it.
llvm::StringRef dlcVersion();

struct Artifact {
  /// The dlc version that wrote the artifact.
  std::string version;
  /// The target triple the module is meant for.
  std::string target;
  Signature signature;
  /// The dlc module (before lowering), as MLIR bytecode.
  std::string moduleBytecode;
  /// One weight per parameter of the signature, in its order.
  std::vector<HostTensor> weights;
  /// Whether the weights are pages of a read-only file mapping (readArtifact
  /// maps the file): such pages can be dropped and come back from the file
  /// unchanged when read again.
  bool weightsMapped = false;
};

/// Packs `model` (a module still in the dlc dialect) for this dlc and host.
llvm::Expected<Artifact> makeArtifact(const Model &model);

/// Writes `artifact` to `path` atomically: an existing file is replaced only
/// once the new one is complete.
llvm::Error writeArtifact(llvm::StringRef path, const Artifact &artifact);

/// Whether `path` starts like a dlc artifact (false when it cannot be read).
bool isArtifactFile(llvm::StringRef path);

/// Reads an artifact. Refuses, with a message naming `path`, a file that is
/// not a dlc artifact, is truncated or damaged (every section carries a
/// checksum), or was written by another dlc version. Weights are mapped,
/// not copied.
llvm::Expected<Artifact> readArtifact(llvm::StringRef path);

/// The artifact's module, parsed into `context` (which must have the dlc
/// dialect and the upstream dialects it uses registered).
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
parseArtifactModule(mlir::MLIRContext &context, const Artifact &artifact);

} // namespace dlc

#endif // DLC_RUNTIME_ARTIFACT_H
