//===- TrainingSetup.h - a runtime Trainer from an ONNX model ---*- C++ -*-===//
//
// Internal glue shared by `dlc train`, the C++ API and the Python package:
// imports an ONNX model for a batch size, builds its training step and
// evaluation (frontend/builder/Training.h) and compiles them into a
// Trainer (runtime/Trainer.h).
//
//===----------------------------------------------------------------------===//

#ifndef DLC_API_TRAININGSETUP_H
#define DLC_API_TRAININGSETUP_H

#include "frontend/builder/Training.h"
#include "runtime/Trainer.h"

#include "llvm/ADT/StringMap.h"

#include <memory>
#include <string>
#include <vector>

namespace dlc {

struct TrainingOptions; // the public API's (include/dlc/dlc.h)

struct TrainingSetup {
  /// Every graph input's shape, its first dimension the batch size.
  llvm::StringMap<std::vector<int64_t>> shapes;
  TrainingGraphConfig graph;
  LearningRateSchedule schedule;
  /// Seeds the random numbers of training steps (Dropout's masks).
  uint64_t seed = 0;
  /// When set, the training step's dlc IR is written here (MLIR text, for
  /// dlc-opt and for reading) before it is compiled.
  std::string stepIrPath;
};

struct OnnxTrainer {
  std::unique_ptr<Trainer> trainer;
  std::vector<std::string> inputs; ///< the model's inputs, in the step's order
  std::vector<std::string> frozen;
  std::vector<std::string> buffers;
  int64_t trainableElements = 0;
};

/// The setup that the public API's options describe; fails on an unknown
/// loss, optimizer or schedule.
llvm::Expected<TrainingSetup> trainingSetupFrom(const TrainingOptions &options);

/// Imports `onnxPath` with `setup.shapes` twice (for the training step and
/// for evaluation: batch norm and dropout differ), builds and compiles its
/// training step and evaluation, and starts a session from the model's
/// initializers.
llvm::Expected<OnnxTrainer> createOnnxTrainer(llvm::StringRef onnxPath,
                                                              const TrainingSetup &setup);

} // namespace dlc

#endif // DLC_API_TRAININGSETUP_H
