//===- TrainingStepTest.cpp - optimizer steps and a compiled step -*- C++ -*-===//
//
// The builder's SGD and Adam steps against float64 written out here, and
// whole training steps (forward, softmax cross-entropy, reverse-mode
// gradients, SGD with momentum) compiled once and run repeatedly, their
// updated parameters fed back, until an MLP and a small CNN fit their data.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "mlir/IR/MLIRContext.h"

using namespace dlc;
using namespace dlc::test;

namespace {

HostTensor vectorOf(const std::vector<double> &values) {
  HostTensor tensor(DType::f64, {int64_t(values.size())});
  std::copy(values.begin(), values.end(), tensor.dataAs<double>());
  return tensor;
}

/// Compiles `build` (which declares inputs and outputs) and runs it once.
std::vector<HostTensor> runOnce(const std::function<void(GraphBuilder &)> &build,
                                std::vector<HostTensor> inputs) {
  return buildAndRun(build, inputs);
}

void expectValues(const HostTensor &actual, const std::vector<double> &expected) {
  ASSERT_EQ(actual.numElements(), int64_t(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(actual.dataAs<double>()[i], expected[i], 1e-12) << "element " << i;
}

const std::vector<double> kParam = {0.5, -1.0, 2.0}, kGradient = {0.1, -0.4, 0.3},
                          kVelocity = {0.2, 0.0, -0.1};

TEST(TrainingStepTest, SgdStepMatchesPyTorchsFormulas) {
  for (bool nesterov : {false, true}) {
    GraphBuilder::SgdOptions options;
    options.learningRate = 0.1;
    options.momentum = 0.9;
    options.weightDecay = 0.01;
    options.nesterov = nesterov;
    auto outputs = runOnce(
        [&](GraphBuilder &g) {
          Tensor p = g.input("p", {3}, DType::f64), grad = g.input("g", {3}, DType::f64);
          Tensor v = g.input("v", {3}, DType::f64);
          auto [newP, newV] = g.sgdStep(p, grad, v, options);
          g.output("p", newP);
          g.output("v", newV);
        },
        {vectorOf(kParam), vectorOf(kGradient), vectorOf(kVelocity)});
    ASSERT_EQ(outputs.size(), 2u);
    std::vector<double> p, v;
    for (int i = 0; i < 3; ++i) {
      double g = kGradient[i] + 0.01 * kParam[i];
      double velocity = 0.9 * kVelocity[i] + g;
      double direction = nesterov ? g + 0.9 * velocity : velocity;
      p.push_back(kParam[i] - 0.1 * direction);
      v.push_back(velocity);
    }
    SCOPED_TRACE(nesterov ? "nesterov" : "momentum");
    expectValues(outputs[0], p);
    expectValues(outputs[1], v);
  }
}

TEST(TrainingStepTest, AdamStepMatchesPyTorchsFormulas) {
  for (bool decoupled : {false, true}) {
    GraphBuilder::AdamOptions options;
    options.learningRate = 0.01;
    options.weightDecay = 0.1;
    options.decoupled = decoupled;
    const double step = 3;
    HostTensor stepTensor(DType::f64, {});
    stepTensor.dataAs<double>()[0] = step;
    const std::vector<double> m = {0.01, -0.02, 0.0}, v = {0.001, 0.002, 0.0};
    auto outputs = runOnce(
        [&](GraphBuilder &g) {
          Tensor p = g.input("p", {3}, DType::f64), grad = g.input("g", {3}, DType::f64);
          Tensor m0 = g.input("m", {3}, DType::f64), v0 = g.input("v", {3}, DType::f64);
          Tensor t = g.input("t", {}, DType::f64);
          auto [newP, newM, newV] = g.adamStep(p, grad, m0, v0, t, options);
          g.output("p", newP);
          g.output("m", newM);
          g.output("v", newV);
        },
        {vectorOf(kParam), vectorOf(kGradient), vectorOf(m), vectorOf(v), stepTensor});
    ASSERT_EQ(outputs.size(), 3u);
    std::vector<double> p, m1, v1;
    for (int i = 0; i < 3; ++i) {
      double g = decoupled ? kGradient[i] : kGradient[i] + 0.1 * kParam[i];
      double param = decoupled ? kParam[i] * (1 - 0.01 * 0.1) : kParam[i];
      double mi = 0.9 * m[i] + 0.1 * g, vi = 0.999 * v[i] + 0.001 * g * g;
      double mHat = mi / (1 - std::pow(0.9, step)), vHat = vi / (1 - std::pow(0.999, step));
      p.push_back(param - 0.01 * mHat / (std::sqrt(vHat) + 1e-8));
      m1.push_back(mi);
      v1.push_back(vi);
    }
    SCOPED_TRACE(decoupled ? "AdamW" : "Adam");
    expectValues(outputs[0], p);
    expectValues(outputs[1], m1);
    expectValues(outputs[2], v1);
  }
}

/// Logits from the network's input and parameters.
using Network = std::function<Tensor(GraphBuilder &, Tensor, const std::vector<Tensor> &)>;

/// Compiles one training step of `network` (softmax cross-entropy,
/// reverse-mode gradients, SGD with momentum 0.9 at `learningRate`) and runs
/// it `steps` times on (`x`, `labels`), feeding the updated parameters and
/// velocities back. Returns the loss of every step.
std::vector<float> trainWithSgd(const Network &network, std::vector<HostTensor> params,
                                const HostTensor &x, const HostTensor &labels,
                                double learningRate, int steps) {
  mlir::MLIRContext context;
  GraphBuilder g(context);
  Tensor input = g.input("x", x.shape());
  Tensor target = g.input("labels", labels.shape(), DType::i64);
  std::vector<Tensor> p, v;
  for (size_t i = 0; i < params.size(); ++i)
    p.push_back(g.input("p" + std::to_string(i), params[i].shape()));
  for (size_t i = 0; i < params.size(); ++i)
    v.push_back(g.input("v" + std::to_string(i), params[i].shape()));
  Tensor loss = g.softmaxCrossEntropy(network(g, input, p), target);
  g.output("loss", loss);
  std::vector<Tensor> gradients = g.gradients(loss, p);
  GraphBuilder::SgdOptions sgd;
  sgd.learningRate = learningRate;
  sgd.momentum = 0.9;
  std::vector<Tensor> newVelocities;
  for (size_t i = 0; i < p.size(); ++i) {
    auto [newP, newV] = g.sgdStep(p[i], gradients[i], v[i], sgd);
    g.output("p" + std::to_string(i), newP);
    newVelocities.push_back(newV);
  }
  for (size_t i = 0; i < v.size(); ++i)
    g.output("v" + std::to_string(i), newVelocities[i]);
  auto model = g.finish();
  EXPECT_TRUE(bool(model)) << (model ? "" : llvm::toString(model.takeError()));
  if (!model)
    return {};
  auto executable = Executable::compile(std::move(*model));
  EXPECT_TRUE(bool(executable)) << (executable ? "" : llvm::toString(executable.takeError()));
  if (!executable)
    return {};

  std::vector<HostTensor> velocities;
  for (const HostTensor &param : params) {
    HostTensor zeros(DType::f32, param.shape());
    std::fill_n(zeros.dataAs<float>(), zeros.numElements(), 0.0f);
    velocities.push_back(zeros);
  }
  std::vector<float> losses;
  for (int step = 0; step < steps; ++step) {
    std::vector<HostTensor> inputs = {x, labels};
    inputs.insert(inputs.end(), params.begin(), params.end());
    inputs.insert(inputs.end(), velocities.begin(), velocities.end());
    auto outputs = (*executable)->run(inputs);
    EXPECT_TRUE(bool(outputs)) << (outputs ? "" : llvm::toString(outputs.takeError()));
    if (!outputs)
      return losses;
    losses.push_back((*outputs)[0].dataAs<float>()[0]);
    for (size_t i = 0; i < params.size(); ++i) {
      params[i] = std::move((*outputs)[1 + i]);
      velocities[i] = std::move((*outputs)[1 + params.size() + i]);
    }
  }
  return losses;
}

TEST(TrainingStepTest, CompiledStepFitsAClassifier) {
  // Two classes of 2-D points on either side of a line, a 2-16-2 tanh MLP.
  const int64_t n = 64, hidden = 16;
  Rng rng(5);
  HostTensor x(DType::f32, {n, 2});
  HostTensor labels(DType::i64, {n});
  for (int64_t i = 0; i < n; ++i) {
    float a = float(rng.uniform(-1, 1)), b = float(rng.uniform(-1, 1));
    x.dataAs<float>()[2 * i] = a;
    x.dataAs<float>()[2 * i + 1] = b;
    labels.dataAs<int64_t>()[i] = a + 0.5f * b > 0.1f ? 1 : 0;
  }
  std::vector<HostTensor> params;
  for (const std::vector<int64_t> &shape :
       std::vector<std::vector<int64_t>>{{2, hidden}, {hidden}, {hidden, 2}, {2}})
    params.push_back(randomUniform(shape, -0.5, 0.5, rng));
  std::vector<float> losses = trainWithSgd(
      [](GraphBuilder &g, Tensor input, const std::vector<Tensor> &p) {
        Tensor h = g.math(GraphBuilder::MathFn::tanh, g.linear(input, p[0], p[1]));
        return g.linear(h, p[2], p[3]);
      },
      params, x, labels, 0.2, 150);
  ASSERT_EQ(losses.size(), 150u);
  // ln 2 ≈ 0.69 for a coin flip; a fitted separable set goes far below.
  EXPECT_GT(losses.front(), 0.5f);
  EXPECT_LT(losses.back(), 0.1f) << "first loss " << losses.front();
  EXPECT_LT(losses.back(), losses[losses.size() / 2]);
}

TEST(TrainingStepTest, CompiledStepFitsASmallCnn) {
  // 8x8 single-channel images whose class is which half (top or bottom) is
  // brighter; a 3x3 convolution (4 channels, padded, bias) + ReLU + 2x2 max
  // pooling + a dense layer. The step runs convolutions forward and
  // backward through the runtime's GEMM (float32, one group).
  const int64_t n = 32;
  Rng rng(9);
  HostTensor x(DType::f32, {n, 1, 8, 8});
  HostTensor labels(DType::i64, {n});
  for (int64_t i = 0; i < n; ++i) {
    int64_t label = i % 2;
    labels.dataAs<int64_t>()[i] = label;
    for (int64_t y = 0; y < 8; ++y)
      for (int64_t xx = 0; xx < 8; ++xx) {
        bool bright = (y < 4) == (label == 0);
        x.dataAs<float>()[(i * 8 + y) * 8 + xx] =
            float(rng.uniform(0, 0.5) + (bright ? 0.5 : 0.0));
      }
  }
  std::vector<HostTensor> params = {randomUniform({4, 1, 3, 3}, -0.3, 0.3, rng),
                                    randomUniform({4}, -0.1, 0.1, rng),
                                    randomUniform({64, 2}, -0.1, 0.1, rng),
                                    randomUniform({2}, -0.1, 0.1, rng)};
  std::vector<float> losses = trainWithSgd(
      [n](GraphBuilder &g, Tensor input, const std::vector<Tensor> &p) {
        GraphBuilder::ConvOptions same;
        same.padLow = same.padHigh = {1, 1};
        Tensor features = g.relu(g.conv(input, p[0], p[1], same));
        GraphBuilder::WindowOptions pool;
        pool.window = {1, 1, 2, 2};
        pool.strides = {1, 1, 2, 2};
        Tensor pooled = g.reduceWindow(ReduceKind::max, features, pool);
        return g.linear(g.reshape(pooled, {n, 64}), p[2], p[3]);
      },
      params, x, labels, 0.05, 120);
  ASSERT_EQ(losses.size(), 120u);
  EXPECT_GT(losses.front(), 0.5f);
  EXPECT_LT(losses.back(), 0.1f) << "first loss " << losses.front();
}

} // namespace
