//===- Training.h - training steps built around an inference model -*- C++ -*-===//
//
// buildTrainingGraphs turns an inference model (an imported ONNX model, or
// one built with GraphBuilder) into the two functions a training run needs:
//
//  - the step: the model inlined, the loss against the labels, reverse-mode
//    gradients of the trainable parameters, optional clipping by global
//    norm, and the optimizer update, all one function that the compiler
//    fuses and plans at once;
//  - the evaluation: the model with its trainable parameters as inputs, so
//    one compiled function serves every state of the weights, and the loss
//    of each sample.
//
// Trainable parameters and optimizer state are arguments and results of the
// step, not weights baked into it: the runtime feeds each step's results
// into the next (runtime/Trainer.h). Frozen parameters stay weights.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_FRONTEND_BUILDER_TRAINING_H
#define DLC_FRONTEND_BUILDER_TRAINING_H

#include "ir/DType.h"
#include "ir/Model.h"

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace mlir {
class MLIRContext;
} // namespace mlir

namespace dlc {

/// Names that mark a training-step model's extra inputs and outputs (the
/// ONNX importer's training mode makes them): inputs of uniform random
/// numbers that the runtime fills anew each step (Dropout's), and outputs
/// that give a parameter its next value (BatchNormalization's running
/// statistics). Such parameters are buffers: updated, not trained.
constexpr const char *kRandomInputPrefix = "dlc.random:";
constexpr const char *kUpdateOutputPrefix = "dlc.update:";

enum class LossKind { meanSquaredError, l1, softmaxCrossEntropy, binaryCrossEntropyWithLogits };
enum class OptimizerKind { sgd, adam, adamw, adagrad, rmsprop };

/// "mse", "l1", "softmax_cross_entropy", "bce_with_logits"; fails listing them.
llvm::Expected<LossKind> parseLossKind(llvm::StringRef name);
/// "sgd", "adam", "adamw", "adagrad", "rmsprop"; fails listing them.
llvm::Expected<OptimizerKind> parseOptimizerKind(llvm::StringRef name);
const char *lossKindName(LossKind kind);
const char *optimizerKindName(OptimizerKind kind);

/// An optimizer and its hyperparameters, PyTorch's defaults unless set. The
/// learning rate is not here: the step takes it as an input, so a schedule
/// can change it from step to step.
struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::sgd;
  double momentum = 0;    ///< SGD
  bool nesterov = false;  ///< SGD
  double weightDecay = 0; ///< L2 on the gradient; AdamW decays the parameter
  double beta1 = 0.9, beta2 = 0.999; ///< Adam, AdamW
  double alpha = 0.99;    ///< RMSProp's smoothing
  /// Adam/AdamW/RMSProp 1e-8, Adagrad 1e-10 when negative.
  double epsilon = -1;
  /// Clip the gradients to this global L2 norm (0: no clipping).
  double clipNorm = 0;

  /// The per-parameter state the optimizer keeps, by slot name: "velocity"
  /// (SGD with momentum), "m" and "v" (Adam), "sum" (Adagrad),
  /// "square_avg" (RMSProp); none for plain SGD.
  std::vector<std::string> stateSlots() const;
};

struct TrainingGraphConfig {
  LossKind loss = LossKind::softmaxCrossEntropy;
  double labelSmoothing = 0; ///< softmax cross-entropy only
  OptimizerConfig optimizer;
  /// The model output that the loss compares with the labels; empty: the
  /// first output.
  std::string prediction;
  /// Float parameters whose name matches this regular expression (searched
  /// anywhere in the name, LLVM's POSIX extended syntax) stay fixed; empty:
  /// every float parameter trains.
  std::string freeze;
  /// The labels' element type. For softmax cross-entropy an integer type
  /// means class indices of shape [N]; otherwise labels have the
  /// prediction's shape.
  DType labelType = DType::i64;
};

/// The functions of one training run, built from one model.
///
/// The step's inputs, in order: the model's inputs, its random inputs
/// (uniform in [0, 1), new each step), "labels", "learning_rate" and "step"
/// (0-d float32; the step counts from 1), the trainable parameters, the
/// optimizer state slot by slot (each slot for every trainable parameter, in
/// their order), then the buffers. Its outputs: "loss" (0-d, the batch
/// mean), "gradient_norm" when clipping, the updated parameters, the updated
/// state, the updated buffers, in the same orders.
///
/// The evaluation's inputs: the model's inputs, "labels", the trainable
/// parameters, then the buffers; its outputs: the prediction and "loss", one
/// per sample (the runtime pads a last, short batch and counts only its real
/// rows).
struct TrainingGraphs {
  Model step;
  Model evaluation;
  std::vector<std::string> inputs;                           ///< the model's inputs
  std::vector<std::pair<std::string, HostTensor>> trainable; ///< initial values
  /// Parameters the step updates without training them (batch norm's
  /// running statistics), with their initial values.
  std::vector<std::pair<std::string, HostTensor>> buffers;
  std::vector<std::string> frozen;
  /// The shapes of the step's random inputs (float32).
  std::vector<std::vector<int64_t>> randomInputs;
  std::vector<std::string> stateSlots;
  bool reportsGradientNorm = false;
};

/// Builds the step from `training` (the model as a training step computes
/// it: the ONNX importer's training mode, whose random inputs and update
/// outputs are named by the prefixes above) and the evaluation from
/// `evaluation` (the same model as inference computes it). Fails when no
/// float parameter is left to train, the prediction is not a float output,
/// the loss does not fit the prediction, or an op between the parameters
/// and the loss has no gradient rule (naming it).
llvm::Expected<TrainingGraphs> buildTrainingGraphs(mlir::MLIRContext &context,
                                                   const Model &training,
                                                   const Model &evaluation,
                                                   const TrainingGraphConfig &config);
/// The same, for a model that computes the same in training and inference.
llvm::Expected<TrainingGraphs> buildTrainingGraphs(mlir::MLIRContext &context,
                                                   const Model &model,
                                                   const TrainingGraphConfig &config);

} // namespace dlc

#endif // DLC_FRONTEND_BUILDER_TRAINING_H
