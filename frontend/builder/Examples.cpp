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

namespace {

/// A parameter initialized uniformly in ±1/sqrt(fanIn).
Tensor initialized(GraphBuilder &g, Rng &rng, const std::string &name,
                   llvm::ArrayRef<int64_t> shape, int64_t fanIn) {
  double bound = 1.0 / std::sqrt(static_cast<double>(fanIn));
  return g.parameter(name, randomUniform(shape, -bound, bound, rng));
}

} // namespace

llvm::Expected<Model> dlc::buildSmallCnn(mlir::MLIRContext &context,
                                         int64_t batch, int64_t classes,
                                         uint64_t seed) {
  Rng rng(seed);
  GraphBuilder g(context);
  Tensor x = g.input("x", {batch, 1, 8, 8});
  g.setLocation("conv1");
  Tensor h = g.relu(g.conv2d(x, initialized(g, rng, "conv1.weight", {8, 1, 3, 3}, 9),
                             initialized(g, rng, "conv1.bias", {8}, 9), 1, 1));
  g.setLocation("pool1");
  GraphBuilder::WindowOptions pool;
  pool.window = {1, 1, 2, 2};
  pool.strides = {1, 1, 2, 2};
  h = g.reduceWindow(ReduceKind::max, h, pool);
  g.setLocation("conv2");
  h = g.relu(g.conv2d(h, initialized(g, rng, "conv2.weight", {16, 8, 3, 3}, 72),
                      initialized(g, rng, "conv2.bias", {16}, 72), 1, 1));
  g.setLocation("head");
  h = g.reduceMean(h, {2, 3});
  h = g.linear(h, initialized(g, rng, "fc.weight", {16, classes}, 16),
               initialized(g, rng, "fc.bias", {classes}, 16));
  g.setLocation("");
  g.output("logits", h);
  return g.finish();
}

llvm::Expected<Model> dlc::buildTransformerBlock(mlir::MLIRContext &context,
                                                 int64_t batch, int64_t sequence,
                                                 int64_t width, int64_t heads,
                                                 uint64_t seed) {
  if (heads <= 0 || width % heads)
    return llvm::createStringError("heads (%lld) must divide width (%lld)",
                                   static_cast<long long>(heads),
                                   static_cast<long long>(width));
  Rng rng(seed);
  GraphBuilder g(context);
  int64_t headWidth = width / heads;
  Tensor x = g.input("x", {batch, sequence, width});
  auto ones = [&](const std::string &name) {
    HostTensor t(DType::f32, {width});
    std::fill(t.dataAs<float>(), t.dataAs<float>() + width, 1.0f);
    return g.parameter(name, t);
  };
  auto zeros = [&](const std::string &name) {
    return g.parameter(name, HostTensor(DType::f32, {width}));
  };
  // [batch, sequence, width] -> [batch, heads, sequence, headWidth]
  auto splitHeads = [&](Tensor t) {
    return g.transpose(g.reshape(t, {batch, sequence, heads, headWidth}), {0, 2, 1, 3});
  };
  g.setLocation("attention");
  Tensor normed = g.layerNorm(x, ones("ln1.weight"), zeros("ln1.bias"), -1, 1e-5);
  Tensor q = splitHeads(g.linear(normed, initialized(g, rng, "attn.q.weight", {width, width}, width), Tensor()));
  Tensor k = splitHeads(g.linear(normed, initialized(g, rng, "attn.k.weight", {width, width}, width), Tensor()));
  Tensor v = splitHeads(g.linear(normed, initialized(g, rng, "attn.v.weight", {width, width}, width), Tensor()));
  Tensor attended = g.attention(q, k, v, Tensor());
  Tensor merged = g.reshape(g.transpose(attended, {0, 2, 1, 3}), {batch, sequence, width});
  Tensor h = g.add(x, g.linear(merged, initialized(g, rng, "attn.out.weight", {width, width}, width),
                               zeros("attn.out.bias")));
  g.setLocation("mlp");
  Tensor normed2 = g.layerNorm(h, ones("ln2.weight"), zeros("ln2.bias"), -1, 1e-5);
  Tensor up = g.gelu(g.linear(normed2, initialized(g, rng, "mlp.up.weight", {width, 4 * width}, width),
                              g.parameter("mlp.up.bias", HostTensor(DType::f32, {4 * width}))));
  Tensor down = g.linear(up, initialized(g, rng, "mlp.down.weight", {4 * width, width}, 4 * width),
                         zeros("mlp.down.bias"));
  g.setLocation("");
  g.output("y", g.add(h, down));
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
