//===- Examples.cpp - example models written with GraphBuilder --*- C++ -*-===//

#include "frontend/builder/Examples.h"
#include "frontend/builder/GraphBuilder.h"

#include <algorithm>
#include <cmath>

using namespace dlc;

uint64_t Rng::next() {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double Rng::uniform(double low, double high) {
  // 53 random bits give every double in [0, 1) its fair share.
  double unit = static_cast<double>(next() >> 11) * 0x1.0p-53;
  return low + (high - low) * unit;
}

HostTensor dlc::randomUniform(llvm::ArrayRef<int64_t> shape, double low,
                              double high, Rng &rng) {
  HostTensor tensor(DType::f32, shape);
  float *data = tensor.dataAs<float>();
  for (int64_t i = 0; i < tensor.numElements(); ++i)
    data[i] = static_cast<float>(rng.uniform(low, high));
  return tensor;
}

llvm::Expected<Model> dlc::buildMlp(mlir::MLIRContext &context,
                                    const MlpConfig &config) {
  if (config.widths.size() < 2)
    return llvm::createStringError("an MLP needs at least two widths (input "
                                   "and output)");
  Rng rng(config.seed);
  GraphBuilder g(context);
  Tensor h = g.input("x", {config.batch, config.widths.front()});
  for (size_t layer = 1; layer < config.widths.size(); ++layer) {
    int64_t in = config.widths[layer - 1], out = config.widths[layer];
    std::string name = "fc" + std::to_string(layer);
    g.setLocation(name);
    double bound = 1.0 / std::sqrt(static_cast<double>(in));
    Tensor weight =
        g.parameter(name + ".weight", randomUniform({in, out}, -bound, bound, rng));
    Tensor bias = g.parameter(name + ".bias", randomUniform({out}, -bound, bound, rng));
    h = g.linear(h, weight, bias);
    if (layer + 1 < config.widths.size())
      h = g.relu(h);
  }
  g.setLocation("");
  g.output("logits", h);
  return g.finish();
}

std::vector<double> dlc::evaluateMlpInFloat64(const MlpConfig &config,
                                              llvm::ArrayRef<HostTensor> weights,
                                              const HostTensor &input) {
  const float *x = input.dataAs<float>();
  std::vector<double> h(x, x + input.numElements());
  for (size_t layer = 1; layer < config.widths.size(); ++layer) {
    int64_t in = config.widths[layer - 1], out = config.widths[layer];
    const float *w = weights[2 * (layer - 1)].dataAs<float>();
    const float *b = weights[2 * (layer - 1) + 1].dataAs<float>();
    std::vector<double> next(config.batch * out);
    for (int64_t n = 0; n < config.batch; ++n)
      for (int64_t j = 0; j < out; ++j) {
        double sum = b[j];
        for (int64_t i = 0; i < in; ++i)
          sum += h[n * in + i] * static_cast<double>(w[i * out + j]);
        bool hidden = layer + 1 < config.widths.size();
        next[n * out + j] = hidden ? std::max(sum, 0.0) : sum;
      }
    h = std::move(next);
  }
  return h;
}
