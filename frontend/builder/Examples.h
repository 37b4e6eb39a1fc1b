//===- Examples.h - example models written with GraphBuilder ----*- C++ -*-===//
//
// Small models that the `dlc example` command and the tests build: they show
// how to use the builder API and exercise every op on the CPU path.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_FRONTEND_BUILDER_EXAMPLES_H
#define DLC_FRONTEND_BUILDER_EXAMPLES_H

#include "ir/Model.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace mlir {
class MLIRContext;
} // namespace mlir

namespace dlc {

/// A small, fast, portable random generator (SplitMix64): the same seed
/// gives the same numbers on every platform, unlike <random>'s distributions.
class Rng {
public:
  explicit Rng(uint64_t seed) : state(seed) {}
  uint64_t next();
  /// Uniform in [low, high).
  double uniform(double low, double high);

private:
  uint64_t state;
};

/// A float32 tensor with elements uniform in [low, high).
HostTensor randomUniform(llvm::ArrayRef<int64_t> shape, double low,
                         double high, Rng &rng);

struct MlpConfig {
  int64_t batch = 8;
  /// Layer widths, input first: {784, 256, 10} is 784 → 256 → ReLU → 10.
  std::vector<int64_t> widths = {784, 256, 10};
  uint64_t seed = 1;
};

/// A multi-layer perceptron with input "x" [batch, widths[0]], ReLU between
/// layers, output "logits", and parameters "fcN.weight" [in, out] and
/// "fcN.bias" [out] initialized uniformly in ±1/sqrt(in), as PyTorch does.
llvm::Expected<Model> buildMlp(mlir::MLIRContext &context,
                               const MlpConfig &config);

/// A small CNN for 8x8 single-channel images (the digits data set's size):
/// conv 3x3 (8 channels) → ReLU → 2x2 max pool → conv 3x3 (16) → ReLU →
/// global average pool → linear to `classes`. Input "x" [batch, 1, 8, 8],
/// output "logits".
llvm::Expected<Model> buildSmallCnn(mlir::MLIRContext &context, int64_t batch,
                                    int64_t classes, uint64_t seed);

/// One pre-norm transformer encoder block: x + attention(layer_norm(x)),
/// then + MLP(layer_norm(·)) with GELU. Input "x" [batch, sequence, width],
/// output "y" of the same shape; `heads` must divide `width`.
llvm::Expected<Model> buildTransformerBlock(mlir::MLIRContext &context,
                                            int64_t batch, int64_t sequence,
                                            int64_t width, int64_t heads,
                                            uint64_t seed);

/// Evaluates the MLP that buildMlp(config) builds, in float64 with plain
/// loops (no compiler involved): the reference the compiled model is checked
/// against. `weights` are the model's weights in order, `input` is "x".
std::vector<double> evaluateMlpInFloat64(const MlpConfig &config,
                                         llvm::ArrayRef<HostTensor> weights,
                                         const HostTensor &input);

} // namespace dlc

#endif // DLC_FRONTEND_BUILDER_EXAMPLES_H
