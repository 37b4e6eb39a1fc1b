//===- GraphBuilder.h - the C++ API that builds dlc models ------*- C++ -*-===//
//
// GraphBuilder builds a dlc model op by op, NumPy style: binary ops broadcast
// their operands, matmul follows numpy.matmul, and composite layers (relu,
// linear) are emitted as dlc primitives. Shape errors do not abort: the first
// one is kept, later ops on its result are skipped, and finish() returns it.
//
//   mlir::MLIRContext context;
//   dlc::GraphBuilder g(context);
//   dlc::Tensor x = g.input("x", {32, 784});
//   dlc::Tensor h = g.relu(g.linear(x, g.parameter("w1", w1), g.parameter("b1", b1)));
//   g.output("y", h);
//   llvm::Expected<dlc::Model> model = g.finish();
//
//===----------------------------------------------------------------------===//

#ifndef DLC_FRONTEND_BUILDER_GRAPHBUILDER_H
#define DLC_FRONTEND_BUILDER_GRAPHBUILDER_H

#include "ir/DlcOps.h"
#include "ir/Model.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

#include <optional>
#include <string>

namespace dlc {

/// A tensor of the graph being built: a handle to an SSA value. A
/// default-constructed Tensor is invalid; ops on it yield invalid tensors.
class Tensor {
public:
  Tensor() = default;
  explicit Tensor(mlir::Value value) : val(value) {}

  bool valid() const { return static_cast<bool>(val); }
  explicit operator bool() const { return valid(); }
  mlir::Value value() const { return val; }
  // The accessors answer for invalid tensors too (null type, empty shape),
  // so that code running after a recorded error does not crash.
  mlir::RankedTensorType type() const {
    return val ? mlir::cast<mlir::RankedTensorType>(val.getType())
               : mlir::RankedTensorType();
  }
  llvm::ArrayRef<int64_t> shape() const {
    return val ? type().getShape() : llvm::ArrayRef<int64_t>();
  }
  int64_t rank() const { return val ? type().getRank() : 0; }
  int64_t numElements() const { return val ? type().getNumElements() : 0; }
  mlir::Type elementType() const {
    return val ? type().getElementType() : mlir::Type();
  }

private:
  mlir::Value val;
};

class GraphBuilder {
public:
  /// The most elements one tensor of a graph may have (2^34); larger shapes
  /// come from corrupt or hostile models and are refused.
  static constexpr int64_t kMaxElements = int64_t(1) << 34;

  explicit GraphBuilder(mlir::MLIRContext &context);

  mlir::MLIRContext &context() { return *builder.getContext(); }

  /// Names the ops built from now on (an ONNX node name, a layer name), so
  /// diagnostics point at it. An empty name restores the default.
  void setLocation(llvm::StringRef name);

  //===--- The graph's interface ------------------------------------------===//

  Tensor input(llvm::StringRef name, llvm::ArrayRef<int64_t> shape,
               DType dtype = DType::f32);
  /// A trainable weight with its initial value.
  Tensor parameter(llvm::StringRef name, HostTensor initialValue);
  void output(llvm::StringRef name, Tensor value);

  /// Completes and verifies the module. Returns the first error met while
  /// building, if any. The builder cannot be used afterwards.
  llvm::Expected<Model> finish();

  /// Records an error at the current location (frontends use this for their
  /// own checks); the first one recorded is the one finish() returns.
  void fail(const llvm::Twine &message);
  bool failed() const { return firstError.has_value(); }

  //===--- Constants -------------------------------------------------------===//

  Tensor constant(const HostTensor &value);
  /// The elements attribute holding `value`'s data.
  static mlir::DenseElementsAttr elementsAttr(mlir::MLIRContext &context,
                                              const HostTensor &value);
  /// A rank-0 constant of `elementType` (float or integer).
  Tensor scalar(double value, mlir::Type elementType);
  Tensor scalar(double value) { return scalar(value, builder.getF32Type()); }

  //===--- Elementwise ops (NumPy broadcasting) ---------------------------===//

  Tensor add(Tensor lhs, Tensor rhs);
  Tensor sub(Tensor lhs, Tensor rhs);
  Tensor mul(Tensor lhs, Tensor rhs);
  Tensor div(Tensor lhs, Tensor rhs);
  Tensor max(Tensor lhs, Tensor rhs);
  Tensor min(Tensor lhs, Tensor rhs);
  Tensor exp(Tensor operand);
  Tensor neg(Tensor operand);
  Tensor rem(Tensor lhs, Tensor rhs);
  Tensor pow(Tensor lhs, Tensor rhs);
  Tensor bitAnd(Tensor lhs, Tensor rhs);
  Tensor bitOr(Tensor lhs, Tensor rhs);
  Tensor bitXor(Tensor lhs, Tensor rhs);
  Tensor bitNot(Tensor operand);
  Tensor abs(Tensor operand);
  Tensor sign(Tensor operand);

  /// The float functions of the dialect, one entry point.
  enum class MathFn {
    log, sqrt, tanh, erf, floor, ceil, round, sin, cos, tan, asin, acos,
    atan, sinh, cosh, asinh, acosh, atanh
  };
  Tensor math(MathFn fn, Tensor operand);

  Tensor compare(CompareDirection direction, Tensor lhs, Tensor rhs);
  /// condition ? onTrue : onFalse, all three broadcast to one shape.
  Tensor select(Tensor condition, Tensor onTrue, Tensor onFalse);
  Tensor convert(Tensor operand, mlir::Type elementType);

  //===--- Shapes ----------------------------------------------------------===//

  /// Broadcasts `operand` to `shape` with NumPy's rules.
  Tensor broadcastTo(Tensor operand, llvm::ArrayRef<int64_t> shape);
  /// `shape` may hold one -1, inferred from the element count.
  Tensor reshape(Tensor operand, llvm::ArrayRef<int64_t> shape);
  Tensor transpose(Tensor operand, llvm::ArrayRef<int64_t> perm);
  /// A tensor of `shape` counting along `dim`.
  Tensor iota(llvm::ArrayRef<int64_t> shape, int64_t dim, mlir::Type elementType);
  Tensor slice(Tensor operand, llvm::ArrayRef<int64_t> start,
               llvm::ArrayRef<int64_t> limit, llvm::ArrayRef<int64_t> strides);
  Tensor reverse(Tensor operand, llvm::ArrayRef<int64_t> dims);
  Tensor concat(llvm::ArrayRef<Tensor> tensors, int64_t dim);
  /// Pads with the rank-0 `value`; negative pads crop.
  Tensor pad(Tensor operand, llvm::ArrayRef<int64_t> low,
             llvm::ArrayRef<int64_t> high, Tensor value);
  /// ONNX Gather: negative indices count from the end of `axis`.
  Tensor gather(Tensor data, Tensor indices, int64_t axis);
  /// Writes `updates` into the flattened `data` at flat `indices` (both
  /// rank 1), combining with `kind`; returns data's shape.
  Tensor scatterFlat(ScatterKind kind, Tensor data, Tensor indices,
                     Tensor updates);

  //===--- Reductions and products -----------------------------------------===//

  /// `dims` may be negative (counted from the end) and in any order.
  Tensor reduce(ReduceKind kind, Tensor operand, llvm::ArrayRef<int64_t> dims,
                bool keepDims = false);
  Tensor reduceSum(Tensor operand, llvm::ArrayRef<int64_t> dims,
                   bool keepDims = false) {
    return reduce(ReduceKind::sum, operand, dims, keepDims);
  }
  Tensor reduceMax(Tensor operand, llvm::ArrayRef<int64_t> dims,
                   bool keepDims = false) {
    return reduce(ReduceKind::max, operand, dims, keepDims);
  }
  Tensor reduceMean(Tensor operand, llvm::ArrayRef<int64_t> dims,
                    bool keepDims = false);
  /// numpy.matmul: 1-D operands are promoted and the added dimension
  /// removed, batch dimensions broadcast.
  Tensor matmul(Tensor lhs, Tensor rhs);

  /// Convolution options; empty vectors mean 1 (strides, dilations) or 0
  /// (pads) for every spatial dimension.
  struct ConvOptions {
    llvm::SmallVector<int64_t> strides, dilations, lhsDilation, padLow, padHigh;
    int64_t groups = 1;
  };
  /// input [N, C, D...] * filter [O, C/groups, K...] (+ bias [O]).
  Tensor conv(Tensor input, Tensor filter, Tensor bias,
              const ConvOptions &options);

  struct WindowOptions {
    llvm::SmallVector<int64_t> window, strides, dilations, padLow, padHigh;
  };
  /// Reduces windows over every dimension of `operand` (pooling).
  Tensor reduceWindow(ReduceKind kind, Tensor operand,
                      const WindowOptions &options);
  /// The k largest (or smallest) along `dim`: values and i64 indices.
  std::pair<Tensor, Tensor> topK(Tensor operand, int64_t k, int64_t dim,
                                 bool largest);
  /// Index of the largest (smallest) element along `dim`, as i64.
  Tensor argMax(Tensor operand, int64_t dim, bool keepDims, bool lastIndex);
  Tensor argMin(Tensor operand, int64_t dim, bool keepDims, bool lastIndex);

  //===--- Gradients -------------------------------------------------------===//

  /// d(sum of y's elements)/dx for each x of `xs` (float tensors built
  /// before), by reverse-mode differentiation of the ops between them
  /// (passes/Autodiff.h): what ONNX's Gradient op computes. An x that y does
  /// not depend on gets zeros. Fails, naming the op, at an op without a
  /// gradient rule.
  std::vector<Tensor> gradients(Tensor y, llvm::ArrayRef<Tensor> xs);

  //===--- Layers ----------------------------------------------------------===//

  Tensor relu(Tensor operand);
  /// x · weight + bias, with weight of shape [in, out] and bias [out]
  /// (bias may be an invalid Tensor for none).
  Tensor linear(Tensor x, Tensor weight, Tensor bias);
  Tensor sigmoid(Tensor x);
  /// Exact (erf) GELU, or the tanh approximation.
  Tensor gelu(Tensor x, bool tanhApproximation = false);
  Tensor softmax(Tensor x, int64_t axis);
  Tensor logSoftmax(Tensor x, int64_t axis);
  /// Normalizes over the dimensions from `axis` on, then scales and shifts
  /// (scale and bias may be invalid for none).
  Tensor layerNorm(Tensor x, Tensor scale, Tensor bias, int64_t axis,
                   double epsilon);
  /// Inference-mode batch normalization over dimension 1.
  Tensor batchNorm(Tensor x, Tensor scale, Tensor bias, Tensor mean,
                   Tensor variance, double epsilon);
  /// 2-D convolution with bias, square stride and symmetric padding.
  Tensor conv2d(Tensor input, Tensor filter, Tensor bias, int64_t stride,
                int64_t padding);
  /// Scaled dot-product attention softmax(q kᵀ / sqrt(d)) v over the last two
  /// dimensions; `mask` (invalid for none) is added to the scores.
  Tensor attention(Tensor q, Tensor k, Tensor v, Tensor mask);

  //===--- Losses ---------------------------------------------------------===//

  /// A loss is the mean over the batch (a 0-d tensor), or one value per
  /// sample (shape [N], each the mean over the sample's elements), whose
  /// mean is the batch loss.
  enum class LossReduction { mean, perSample };

  /// mean((prediction - target)²) over all elements.
  Tensor mseLoss(Tensor prediction, Tensor target,
                 LossReduction reduction = LossReduction::mean);
  /// mean(|prediction - target|) over all elements.
  Tensor l1Loss(Tensor prediction, Tensor target,
                LossReduction reduction = LossReduction::mean);
  /// Softmax cross-entropy of `logits` [N, C] against `labels`: class
  /// indices [N] (integers; an index outside [0, C) contributes nothing) or
  /// probabilities [N, C] (floats). With `labelSmoothing` ε the target is
  /// (1 - ε)·target + ε/C. The mean over N of -Σ target · log_softmax.
  Tensor softmaxCrossEntropy(Tensor logits, Tensor labels, double labelSmoothing = 0,
                             LossReduction reduction = LossReduction::mean);
  /// Binary cross-entropy of sigmoid(logits) against `targets` (same
  /// shape, in [0, 1]), in the stable form max(x, 0) - x·z + log(1 +
  /// exp(-|x|)); the mean over all elements.
  Tensor binaryCrossEntropyWithLogits(Tensor logits, Tensor targets,
                                      LossReduction reduction = LossReduction::mean);

  //===--- Optimizer steps (PyTorch's semantics) ---------------------------===//

  // Each optimizer takes its learning rate as a number, or as a 0-d float
  // tensor (`scheduledRate`, valid to use it) that a schedule sets per step.

  struct SgdOptions {
    double learningRate = 0.01;
    Tensor scheduledRate;
    double momentum = 0;    ///< 0: plain SGD, no velocity
    double weightDecay = 0; ///< L2: adds weightDecay · param to the gradient
    bool nesterov = false;
  };
  /// One SGD step: the updated parameter, and the updated velocity (an
  /// invalid Tensor without momentum; `velocity` may then be invalid too).
  std::pair<Tensor, Tensor> sgdStep(Tensor param, Tensor gradient, Tensor velocity,
                                    const SgdOptions &options);

  struct AdamOptions {
    double learningRate = 1e-3;
    Tensor scheduledRate;
    double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
    double weightDecay = 0;
    bool decoupled = false; ///< AdamW: decay the parameter, not the gradient
  };
  /// One Adam (or AdamW) step with bias correction for step number `step`
  /// (a 0-d float tensor, 1 on the first step): the updated parameter and
  /// first and second moments.
  std::tuple<Tensor, Tensor, Tensor> adamStep(Tensor param, Tensor gradient, Tensor m, Tensor v,
                                              Tensor step, const AdamOptions &options);

  struct AdagradOptions {
    double learningRate = 0.01;
    Tensor scheduledRate;
    double epsilon = 1e-10;
    double weightDecay = 0; ///< L2, added to the gradient
  };
  /// One Adagrad step: the updated parameter and sum of squared gradients.
  std::pair<Tensor, Tensor> adagradStep(Tensor param, Tensor gradient, Tensor sumOfSquares,
                                        const AdagradOptions &options);

  struct RmsPropOptions {
    double learningRate = 0.01;
    Tensor scheduledRate;
    double alpha = 0.99, epsilon = 1e-8;
    double weightDecay = 0; ///< L2, added to the gradient
  };
  /// One RMSProp step: the updated parameter and running mean of squared
  /// gradients.
  std::pair<Tensor, Tensor> rmspropStep(Tensor param, Tensor gradient, Tensor meanSquare,
                                        const RmsPropOptions &options);

  //===--- Inlining --------------------------------------------------------===//

  /// Builds the body of `callee` (a function of the same context, every op
  /// in its one block) here with `arguments` for its arguments; returns
  /// what it returns. Training graphs inline an imported model this way.
  std::vector<Tensor> inlineFunction(mlir::func::FuncOp callee,
                                     llvm::ArrayRef<Tensor> arguments);

private:
  mlir::Location loc() const { return location; }
  /// The mean of all of `value`'s elements, as a 0-d tensor.
  Tensor meanOfAll(Tensor value);
  /// meanOfAll, or per sample: the mean over all dimensions but the first.
  Tensor meanOver(Tensor value, LossReduction reduction);
  /// An optimizer's learning rate as a 0-d tensor of `type`.
  Tensor learningRate(double fixed, Tensor scheduled, mlir::Type type);
  bool usable(std::initializer_list<Tensor> tensors);
  /// Fails (and returns false) if `shape` has a negative dimension or more
  /// than kMaxElements elements.
  bool checkSize(llvm::StringRef op, llvm::ArrayRef<int64_t> shape);
  /// The NumPy broadcast of two shapes, or nothing (after fail()) if they
  /// do not broadcast.
  std::optional<llvm::SmallVector<int64_t>>
  broadcastShape(llvm::StringRef op, llvm::ArrayRef<int64_t> a,
                 llvm::ArrayRef<int64_t> b);
  template <typename OpTy> Tensor binary(llvm::StringRef name, Tensor lhs, Tensor rhs);
  template <typename OpTy> Tensor unary(llvm::StringRef name, Tensor operand);
  /// Broadcasts all of `tensors` to their common NumPy shape in place.
  bool broadcastAll(llvm::StringRef op, llvm::MutableArrayRef<Tensor> tensors);
  Tensor argExtreme(bool max, Tensor operand, int64_t dim, bool keepDims,
                    bool lastIndex);
  std::optional<llvm::SmallVector<int64_t>>
  normalizeDims(llvm::StringRef op, llvm::ArrayRef<int64_t> dims, int64_t rank);

  mlir::OpBuilder builder;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  mlir::func::FuncOp function;
  mlir::Location location;
  unsigned numInputs = 0;
  llvm::SmallVector<std::string> inputNames;
  std::vector<std::pair<std::string, HostTensor>> weights;
  llvm::SmallVector<std::pair<std::string, mlir::Value>> outputs;
  std::optional<std::string> firstError;
};

} // namespace dlc

#endif // DLC_FRONTEND_BUILDER_GRAPHBUILDER_H
