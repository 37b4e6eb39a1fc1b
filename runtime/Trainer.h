//===- Trainer.h - compiled training steps, run and saved -------*- C++ -*-===//
//
// A Trainer (what the public API's TrainingSession wraps, as CompiledModel
// wraps Executable) owns the compiled step and evaluation functions of one
// training run (built by frontend/builder/Training.h), the trainable
// parameters and the optimizer state, and the step counter. Each step feeds
// the current parameters and state in and keeps the updated ones that come
// out. Checkpoints are .npz archives (np.load reads them), written
// atomically, with a checksum that tells a damaged file from a good one.
//
//   auto trainer = Trainer::create(step, evaluation, layout, initial, schedule);
//   auto result = (*trainer)->step({x}, labels);      // result->loss
//   (*trainer)->save("run/step-00000100.npz");
//
//===----------------------------------------------------------------------===//

#ifndef DLC_RUNTIME_TRAINER_H
#define DLC_RUNTIME_TRAINER_H

#include "runtime/Executable.h"

#include <memory>
#include <string>
#include <vector>

namespace dlc {

/// The learning rate at each step (counted from 1): a constant, step decay
/// or cosine decay, after an optional linear warm-up.
struct LearningRateSchedule {
  enum class Kind { constant, step, cosine };
  Kind kind = Kind::constant;
  double base = 1e-3;
  /// Linear warm-up: step t ≤ warmupSteps gets base · t / warmupSteps.
  int64_t warmupSteps = 0;
  /// Step decay: base · gamma^⌊(t - 1) / stepSize⌋.
  int64_t stepSize = 1;
  double gamma = 0.1;
  /// Cosine decay from base to `minimum` over `totalSteps` (after warm-up).
  int64_t totalSteps = 1;
  double minimum = 0;

  double at(int64_t step) const;
  /// "constant", "step:SIZE[:GAMMA]" or "cosine[:MINIMUM]"; the cosine
  /// schedule's length is set by the caller, who knows the run's length.
  static llvm::Expected<LearningRateSchedule> parse(llvm::StringRef text, double base);
  /// "cosine from 0.001 to 0 over 300 steps, 20 warm-up steps".
  std::string describe() const;
};

/// Where the step's and the evaluation's arguments are (see
/// TrainingGraphs in frontend/builder/Training.h for their order).
struct TrainingLayout {
  size_t numInputs = 0;                ///< the model's data inputs
  /// Shapes of the step's random inputs (Dropout's), filled each step with
  /// uniform float32 numbers in [0, 1) drawn from `seed` and the step number.
  std::vector<std::vector<int64_t>> randomInputs;
  uint64_t seed = 0;
  std::vector<std::string> trainable;  ///< parameter names
  std::vector<std::string> stateSlots; ///< optimizer state per parameter
  std::vector<std::string> buffers;    ///< updated, not trained (batch norm's)
  bool reportsGradientNorm = false;
  /// The prediction is [N, C] scores and labels name classes (indices, or
  /// probabilities whose argmax is the class): evaluation reports accuracy.
  bool classification = false;
};

struct StepResult {
  float loss = 0;
  float gradientNorm = 0; ///< before clipping; 0 unless clipping
  double learningRate = 0;
};

struct Evaluation {
  double loss = 0;     ///< mean over the samples, summed in float64
  double accuracy = 0; ///< fraction of samples whose argmax is the label
  int64_t samples = 0;
};

class Trainer {
public:
  /// Compiles `step` and `evaluation` (their weights are the frozen
  /// parameters) and starts from `initialParameters` (the trainable ones,
  /// in the layout's order) and `initialBuffers` with zero optimizer state.
  static llvm::Expected<std::unique_ptr<Trainer>>
  create(const Model &step, const Model &evaluation, TrainingLayout layout,
         std::vector<HostTensor> initialParameters, std::vector<HostTensor> initialBuffers,
         LearningRateSchedule schedule,
         const CompileCache &cache = CompileCache::fromEnvironment());

  /// One optimizer step on one batch: `inputs` in the model's input order,
  /// each of the compiled batch size.
  llvm::Expected<StepResult> step(llvm::ArrayRef<HostTensor> inputs, const HostTensor &labels);

  /// The loss (and accuracy, for classification) over whole data sets whose
  /// first dimension counts samples, in batches of the compiled size; a
  /// last, short batch is padded and only its real rows count.
  llvm::Expected<Evaluation> evaluate(llvm::ArrayRef<HostTensor> inputs,
                                      const HostTensor &labels);

  /// The model's outputs for one batch of the compiled size.
  llvm::Expected<HostTensor> predict(llvm::ArrayRef<HostTensor> inputs);

  int64_t batchSize() const { return batch; }
  /// Steps taken so far (restored by load()).
  int64_t steps() const { return stepCount; }
  const TrainingLayout &layout() const { return places; }
  const LearningRateSchedule &schedule() const { return rates; }
  void setSchedule(LearningRateSchedule schedule) { rates = schedule; }
  /// The trainable parameters, by name, as they are now.
  NamedTensors parameters() const;
  /// The parameters and the buffers: every weight that training changes.
  NamedTensors weights() const;
  const Signature &stepSignature() const { return stepCode->signature(); }
  /// The type and shape of one batch's labels.
  const TensorSpec &labelSpec() const {
    return stepCode->signature().inputs[places.numInputs + places.randomInputs.size()];
  }
  const Executable &stepExecutable() const { return *stepCode; }
  void setThreads(unsigned threads);

  /// Writes a checkpoint: parameters ("param/NAME"), optimizer state
  /// ("state/SLOT/NAME"), buffers ("buffer/NAME"), the step count and `extra` entries (a caller's
  /// own, "meta/" names are reserved), with a checksum, atomically.
  llvm::Error save(llvm::StringRef path, const NamedTensors &extra = {}) const;
  /// Restores parameters, state and step count from a checkpoint written by
  /// save(); returns its extra entries. Fails, changing nothing, when the
  /// file is damaged (checksum) or does not fit this session (names,
  /// shapes).
  llvm::Expected<NamedTensors> load(llvm::StringRef path);

private:
  Trainer() = default;
  /// The checkpoint entry of each parameter, state slot and buffer, in the
  /// order of params, state, buffers.
  std::vector<std::string> checkpointNames() const;

  std::unique_ptr<Executable> stepCode, evaluationCode;
  TrainingLayout places;
  LearningRateSchedule rates;
  int64_t batch = 0;
  int64_t stepCount = 0;
  std::vector<HostTensor> params;
  std::vector<HostTensor> state; ///< slot-major, as the step takes it
  std::vector<HostTensor> buffers;
  /// The previous step's parameters, state and buffers, by the step's
  /// output positions: the next step writes into them.
  std::vector<HostTensor> spare;
};

/// Reads a checkpoint that Trainer::save wrote, checking its
/// checksum; returns its entries ("param/NAME", "state/SLOT/NAME", "meta/step"
/// and the caller's), the checksum removed.
llvm::Expected<NamedTensors> readCheckpoint(llvm::StringRef path);

/// The weights in a checkpoint's entries (parameters and buffers), by
/// initializer name: what `dlc export` writes into the ONNX model.
NamedTensors checkpointWeights(const NamedTensors &entries);

/// Rows `rows` of `tensor` (its first dimension counts samples), in a
/// tensor of at least `padTo` rows; rows past those given are zero.
HostTensor gatherRows(const HostTensor &tensor, llvm::ArrayRef<int64_t> rows,
                      int64_t padTo = 0);

/// The checksum a checkpoint carries: over every entry's name, type, shape
/// and bytes, in order.
uint64_t checkpointChecksum(const NamedTensors &entries);

} // namespace dlc

#endif // DLC_RUNTIME_TRAINER_H
