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

/// Evaluates the MLP that buildMlp(config) builds, in float64 with plain
/// loops (no compiler involved): the reference the compiled model is checked
/// against. `weights` are the model's weights in order, `input` is "x".
std::vector<double> evaluateMlpInFloat64(const MlpConfig &config,
                                         llvm::ArrayRef<HostTensor> weights,
                                         const HostTensor &input);

} // namespace dlc

#endif // DLC_FRONTEND_BUILDER_EXAMPLES_H
