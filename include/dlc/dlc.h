//===- dlc/dlc.h - dlc's public C++ API -------------------------*- C++ -*-===//
//
// Compile an ONNX model (or load a .dlc artifact) and run it on named
// arrays. This header needs only the C++ standard library; link the `dlc::api`
// CMake target (DlcApi). Every failure throws dlc::Error with dlc's message.
//
//   dlc::CompileOptions options;
//   options.shapes["x"] = {8, 784};      // fixes the symbolic batch size
//   dlc::CompiledModel model = dlc::CompiledModel::compile("mlp.onnx", options);
//   dlc::Array x(dlc::ElementType::Float32, {8, 784});
//   std::map<std::string, dlc::Array> outputs = model.run({{"x", x}});
//   model.save("mlp.dlc");   // dlc::CompiledModel::load("mlp.dlc") later
//
// Training compiles one whole step (forward, loss, gradients, optimizer
// update) for a batch size:
//
//   dlc::TrainingOptions training;
//   training.shapes["x"] = {64, 784};
//   training.optimizer = "adam";
//   dlc::TrainingSession session = dlc::TrainingSession::create("mlp.onnx", training);
//   float loss = session.step({{"x", batch}}, labels).loss;
//   session.save("step-100.npz");             // a checkpoint; load() resumes
//   session.exportOnnx("trained.onnx");       // the trained weights in ONNX
//
//===----------------------------------------------------------------------===//

#ifndef DLC_DLC_H
#define DLC_DLC_H

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace dlc {

/// What dlc calls fail with; the message says what went wrong and where.
class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Element types, named as NumPy names them by elementTypeName().
enum class ElementType {
  Float32, Float64, Float16, BFloat16, Bool,
  Int8, Int16, Int32, Int64, UInt8, UInt16, UInt32, UInt64,
};

/// "float32", "int64", "bool"...
const char *elementTypeName(ElementType type);
/// Bytes per element (a bool takes one byte).
size_t elementSize(ElementType type);

/// A dense, row-major n-dimensional array in host memory. Copies share the
/// bytes; an array either owns them or views memory its creator keeps alive.
class Array {
public:
  /// An empty float32 array, of shape [0].
  Array();
  /// A zero-filled array that owns its bytes.
  Array(ElementType type, std::vector<int64_t> shape);
  /// An array over `data`, which must stay alive and unchanged while the
  /// array (or a copy) is in use, aligned to the element size. No copy.
  static Array view(ElementType type, std::vector<int64_t> shape, void *data);

  ElementType type() const { return elementType; }
  const std::vector<int64_t> &shape() const { return dims; }
  int64_t numElements() const;
  size_t byteSize() const { return size_t(numElements()) * elementSize(elementType); }
  void *data() { return storage.get(); }
  const void *data() const { return storage.get(); }
  /// The elements as T; throws when T's size is not the element size.
  template <typename T> T *as() { return static_cast<T *>(checked(sizeof(T))); }
  template <typename T> const T *as() const {
    return static_cast<const T *>(const_cast<Array *>(this)->checked(sizeof(T)));
  }

private:
  friend struct ArrayAccess;
  void *checked(size_t size);
  ElementType elementType = ElementType::Float32;
  std::vector<int64_t> dims;
  std::shared_ptr<void> storage;
};

/// A named input or output of a model.
struct TensorInfo {
  std::string name;
  ElementType type;
  std::vector<int64_t> shape;
};

struct CompileOptions {
  /// Fixes inputs' shapes, symbolic dimensions included: {"x", {8, 784}}.
  std::map<std::string, std::vector<int64_t>> shapes;
  /// Compile in this process. By default the compiler runs in a child
  /// process (the `dlc` program this build made, or $DLC_COMPILER) and this
  /// one loads what it wrote, so the compiler's memory (30-60 MiB of MLIR and
  /// LLVM for a small model) is never this process's and a compiler crash
  /// is an Error here; where no `dlc` program is found, it compiles here.
  bool inProcess = false;
};

/// A model compiled to native code for this CPU. Native code is cached on
/// disk ($DLC_CACHE_DIR, default ~/.cache/dlc), so compiling or loading the
/// same model again takes milliseconds.
class CompiledModel {
public:
  /// Imports an ONNX file (binary or textual) and compiles it.
  static CompiledModel compile(const std::string &onnxPath,
                               const CompileOptions &options = {});
  /// Loads a .dlc artifact written by save() or `dlc compile`.
  static CompiledModel load(const std::string &artifactPath);

  CompiledModel(CompiledModel &&) noexcept;
  CompiledModel &operator=(CompiledModel &&) noexcept;
  ~CompiledModel();

  /// Writes the model as a .dlc artifact (atomically).
  void save(const std::string &artifactPath) const;

  const std::vector<TensorInfo> &inputs() const;
  const std::vector<TensorInfo> &outputs() const;
  /// Whether the native code came from the compile cache.
  bool loadedFromCache() const;

  /// Threads the kernels use: one per available core unless set (0 means
  /// that default again). Not while a run is in progress: a different
  /// count replaces the thread pool that runs use.
  void setThreads(unsigned threads);
  unsigned threads() const;

  /// Runs the model; every input exactly once, with its exact type and
  /// shape. Inputs are read in place, not copied. Safe to call from several
  /// threads at once.
  std::map<std::string, Array> run(const std::map<std::string, Array> &inputs) const;

private:
  struct State;
  explicit CompiledModel(std::unique_ptr<State> state);
  std::unique_ptr<State> state;
};

/// How TrainingSession::create builds the training step. The defaults are
/// PyTorch's.
struct TrainingOptions {
  /// Every model input's shape; the first dimension is the batch size.
  std::map<std::string, std::vector<int64_t>> shapes;
  /// "softmax_cross_entropy", "mse", "l1" or "bce_with_logits".
  std::string loss = "softmax_cross_entropy";
  double labelSmoothing = 0;
  /// Int64 class indices for softmax cross-entropy; otherwise Float32
  /// targets of the prediction's shape (or probabilities).
  ElementType labelType = ElementType::Int64;
  /// "adam", "adamw", "sgd", "adagrad" or "rmsprop".
  std::string optimizer = "adam";
  double learningRate = 1e-3;
  /// "constant", "step:SIZE[:GAMMA]" or "cosine[:MINIMUM]" (over
  /// `totalSteps`), after `warmupSteps` of linear warm-up.
  std::string schedule = "constant";
  int64_t warmupSteps = 0;
  int64_t totalSteps = 0;
  double momentum = 0; ///< SGD
  bool nesterov = false;
  double weightDecay = 0; ///< L2; decoupled for AdamW
  double clipNorm = 0;    ///< clip gradients to this global norm (0: off)
  /// Parameters whose names match this regular expression stay fixed.
  std::string freeze;
  /// The model output the loss compares with the labels ("": the first).
  std::string prediction;
  /// Seeds Dropout's masks (drawn anew each step from the seed and step).
  uint64_t seed = 0;
};

struct StepReport {
  float loss = 0;         ///< the batch's mean loss, before the update
  float gradientNorm = 0; ///< before clipping (0 unless clipping)
  double learningRate = 0;
};

struct EvaluationReport {
  double loss = 0;     ///< mean over the samples
  double accuracy = 0; ///< classification (softmax cross-entropy) only
  int64_t samples = 0;
};

/// Trains an ONNX model: each step runs one compiled program (forward,
/// loss, reverse-mode gradients, optimizer update). Every float initializer
/// trains unless frozen. Not safe to use from several threads at once.
class TrainingSession {
public:
  static TrainingSession create(const std::string &onnxPath, const TrainingOptions &options);

  TrainingSession(TrainingSession &&) noexcept;
  TrainingSession &operator=(TrainingSession &&) noexcept;
  ~TrainingSession();

  /// One optimizer step on one batch: every model input by name, of the
  /// batch size; labels of the label type.
  StepReport step(const std::map<std::string, Array> &inputs, const Array &labels);
  /// Loss (and accuracy) over whole data sets whose first dimension counts
  /// samples (any number), with the current weights.
  EvaluationReport evaluate(const std::map<std::string, Array> &inputs, const Array &labels);
  /// The prediction for one batch of the batch size.
  Array predict(const std::map<std::string, Array> &inputs);

  /// The weights training changes (trainable parameters and batch-norm
  /// running statistics), by initializer name, as they are now.
  std::map<std::string, Array> parameters() const;
  int64_t steps() const;
  int64_t batchSize() const;

  /// Writes a checkpoint (.npz: parameters, optimizer state, step count;
  /// atomically, with a checksum).
  void save(const std::string &checkpointPath) const;
  /// Continues from a checkpoint that save() or `dlc train` wrote for the
  /// same model and optimizer; throws, changing nothing, if it is damaged.
  void load(const std::string &checkpointPath);
  /// Writes the ONNX model with its initializers replaced by the trained
  /// weights (atomically).
  void exportOnnx(const std::string &onnxPath) const;

  void setThreads(unsigned threads);

private:
  struct State;
  explicit TrainingSession(std::unique_ptr<State> state);
  std::unique_ptr<State> state;
};

} // namespace dlc

#endif // DLC_DLC_H
