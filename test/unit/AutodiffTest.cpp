//===- AutodiffTest.cpp - gradients against finite differences --*- C++ -*-===//
//
// Each differentiable op, each loss and a small network in float64: the gradients
// that passes/Autodiff.cpp builds, compiled and run, against central
// differences of the compiled loss L = sum(f(inputs) · W) (W fixed and
// random, so that no gradient is trivially uniform).
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"
#include "ir/DlcOps.h"
#include "passes/Autodiff.h"

#include "mlir/IR/MLIRContext.h"

#include <array>

using namespace dlc;
using namespace dlc::test;

namespace {

/// One input of a checked function: its shape and the range of its values.
struct InputSpec {
  std::vector<int64_t> shape;
  double low = -1, high = 1;
};

using Function = std::function<Tensor(GraphBuilder &, const std::vector<Tensor> &)>;

HostTensor randomF64(llvm::ArrayRef<int64_t> shape, double low, double high, Rng &rng) {
  HostTensor tensor(DType::f64, shape);
  double *data = tensor.dataAs<double>();
  for (int64_t i = 0; i < tensor.numElements(); ++i)
    data[i] = rng.uniform(low, high);
  return tensor;
}

/// Compiles L = sum(f(x...) · W) with dL/dx for every input as outputs,
/// runs it on random inputs, and checks each gradient element against
/// (L(x + h) - L(x - h)) / 2h of the same executable.
void checkGradients(const Function &f, const std::vector<InputSpec> &specs) {
  Rng rng(17);
  std::vector<HostTensor> inputs;
  for (const InputSpec &spec : specs)
    inputs.push_back(randomF64(spec.shape, spec.low, spec.high, rng));

  mlir::MLIRContext context;
  GraphBuilder g(context);
  std::vector<Tensor> xs;
  for (size_t i = 0; i < specs.size(); ++i)
    xs.push_back(g.input("x" + std::to_string(i), specs[i].shape, DType::f64));
  Tensor y = f(g, xs);
  ASSERT_TRUE(y.valid()) << "the function did not build";
  Tensor weights = g.constant(randomF64(y.shape(), -1, 1, rng));
  std::vector<int64_t> all(y.rank());
  std::iota(all.begin(), all.end(), 0);
  Tensor loss = g.reduce(ReduceKind::sum, g.mul(y, weights), all, /*keepDims=*/false);
  g.output("loss", loss);
  mlir::OpBuilder b(&context);
  b.setInsertionPointAfterValue(loss.value());
  auto lossType = mlir::cast<mlir::RankedTensorType>(loss.value().getType());
  mlir::Value seed = ConstantOp::create(
      b, loss.value().getLoc(),
      mlir::DenseElementsAttr::get(lossType, b.getF64FloatAttr(1.0)));
  std::vector<mlir::Value> xValues;
  for (const Tensor &x : xs)
    xValues.push_back(x.value());
  auto gradients = buildGradients(b, loss.value(), seed, xValues);
  ASSERT_TRUE(succeeded(gradients)) << "no gradient";
  for (size_t i = 0; i < xs.size(); ++i)
    g.output("d" + std::to_string(i), Tensor((*gradients)[i]));
  auto model = g.finish();
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  auto executable = Executable::compile(std::move(*model));
  ASSERT_TRUE(bool(executable)) << llvm::toString(executable.takeError());
  auto lossAt = [&](const std::vector<HostTensor> &at) {
    auto outputs = (*executable)->run(at);
    EXPECT_TRUE(bool(outputs));
    return outputs ? (*outputs)[0].dataAs<double>()[0] : NAN;
  };
  auto outputs = (*executable)->run(inputs);
  ASSERT_TRUE(bool(outputs)) << llvm::toString(outputs.takeError());

  const double h = 1e-6;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const double *gradient = (*outputs)[1 + i].dataAs<double>();
    ASSERT_EQ((*outputs)[1 + i].numElements(), inputs[i].numElements());
    for (int64_t e = 0; e < inputs[i].numElements(); ++e) {
      std::vector<HostTensor> plus = inputs, minus = inputs;
      plus[i] = inputs[i].clone();
      minus[i] = inputs[i].clone();
      plus[i].dataAs<double>()[e] += h;
      minus[i].dataAs<double>()[e] -= h;
      double numeric = (lossAt(plus) - lossAt(minus)) / (2 * h);
      ASSERT_NEAR(gradient[e], numeric, 1e-6 + 1e-5 * std::abs(numeric))
          << "dL/dx" << i << " element " << e;
    }
  }
}

const std::vector<int64_t> kMatrix = {3, 4};

TEST(AutodiffTest, BinaryOps) {
  InputSpec any{kMatrix}, positive{kMatrix, 0.5, 2};
  checkGradients([](GraphBuilder &g, auto &x) { return g.add(x[0], x[1]); }, {any, any});
  checkGradients([](GraphBuilder &g, auto &x) { return g.sub(x[0], x[1]); }, {any, any});
  checkGradients([](GraphBuilder &g, auto &x) { return g.mul(x[0], x[1]); }, {any, any});
  checkGradients([](GraphBuilder &g, auto &x) { return g.div(x[0], x[1]); }, {any, positive});
  checkGradients([](GraphBuilder &g, auto &x) { return g.max(x[0], x[1]); }, {any, any});
  checkGradients([](GraphBuilder &g, auto &x) { return g.min(x[0], x[1]); }, {any, any});
  // The same value on both sides: both paths' gradients add up.
  checkGradients([](GraphBuilder &g, auto &x) { return g.mul(x[0], x[0]); }, {any});
}

TEST(AutodiffTest, UnaryOps) {
  InputSpec any{kMatrix}, positive{kMatrix, 0.5, 2}, awayFromZero{kMatrix, 0.2, 1};
  using MathFn = GraphBuilder::MathFn;
  checkGradients([](GraphBuilder &g, auto &x) { return g.neg(x[0]); }, {any});
  checkGradients([](GraphBuilder &g, auto &x) { return g.abs(g.sub(x[0], g.scalar(0.6, x[0].elementType()))); },
                 {awayFromZero});
  checkGradients([](GraphBuilder &g, auto &x) { return g.exp(x[0]); }, {any});
  checkGradients([](GraphBuilder &g, auto &x) { return g.math(MathFn::log, x[0]); }, {positive});
  checkGradients([](GraphBuilder &g, auto &x) { return g.math(MathFn::sqrt, x[0]); }, {positive});
  checkGradients([](GraphBuilder &g, auto &x) { return g.math(MathFn::tanh, x[0]); }, {any});
}

TEST(AutodiffTest, SelectAndBroadcasts) {
  InputSpec any{kMatrix};
  // select: the condition carries no gradient.
  checkGradients(
      [](GraphBuilder &g, auto &x) {
        return g.select(g.compare(CompareDirection::gt, x[0], x[1]), x[0], g.mul(x[1], x[1]));
      },
      {any, any});
  // A row broadcast over the rows and a column stretched over the columns.
  checkGradients([](GraphBuilder &g, auto &x) { return g.mul(g.add(x[0], x[1]), x[2]); },
                 {any, InputSpec{{4}}, InputSpec{{3, 1}}});
}

TEST(AutodiffTest, DataMovementAndReductions) {
  InputSpec any{kMatrix};
  checkGradients(
      [](GraphBuilder &g, auto &x) { return g.transpose(g.reshape(x[0], {2, 6}), {1, 0}); },
      {any});
  checkGradients([](GraphBuilder &g, auto &x) { return g.reduce(ReduceKind::sum, x[0], {1}, true); },
                 {any});
  checkGradients([](GraphBuilder &g, auto &x) { return g.reduce(ReduceKind::max, x[0], {0}, false); },
                 {any});
  checkGradients([](GraphBuilder &g, auto &x) { return g.reduce(ReduceKind::min, x[0], {1}, false); },
                 {any});
}

TEST(AutodiffTest, MatrixProducts) {
  checkGradients([](GraphBuilder &g, auto &x) { return g.matmul(x[0], x[1]); },
                 {InputSpec{{3, 4}}, InputSpec{{4, 5}}});
  checkGradients([](GraphBuilder &g, auto &x) { return g.matmul(x[0], x[1]); },
                 {InputSpec{{2, 3, 4}}, InputSpec{{2, 4, 2}}});
}

TEST(AutodiffTest, Convolutions) {
  // Strided and padded with two groups (and a bias); dilated and padded
  // on one side; 1x1; a stride that leaves the last input rows unused.
  auto convolution = [](std::vector<int64_t> strides, std::vector<int64_t> dilations,
                        std::vector<int64_t> low, std::vector<int64_t> high, int64_t groups,
                        bool bias) {
    return [=](GraphBuilder &g, const std::vector<Tensor> &x) {
      GraphBuilder::ConvOptions options;
      options.strides.assign(strides.begin(), strides.end());
      options.dilations.assign(dilations.begin(), dilations.end());
      options.padLow.assign(low.begin(), low.end());
      options.padHigh.assign(high.begin(), high.end());
      options.groups = groups;
      return g.conv(x[0], x[1], bias ? x[2] : Tensor(), options);
    };
  };
  checkGradients(convolution({2, 2}, {1, 1}, {1, 1}, {1, 1}, 2, true),
                 {InputSpec{{2, 4, 5, 5}}, InputSpec{{6, 2, 3, 3}}, InputSpec{{6}}});
  checkGradients(convolution({1, 1}, {2, 2}, {2, 0}, {1, 2}, 1, false),
                 {InputSpec{{1, 2, 6, 6}}, InputSpec{{3, 2, 2, 3}}});
  checkGradients(convolution({1, 1}, {1, 1}, {0, 0}, {0, 0}, 1, false),
                 {InputSpec{{2, 3, 4, 4}}, InputSpec{{5, 3, 1, 1}}});
  checkGradients(convolution({3, 2}, {1, 1}, {0, 0}, {0, 0}, 1, false),
                 {InputSpec{{1, 2, 8, 7}}, InputSpec{{2, 2, 2, 2}}});
  // One input channel (its filter gradient swaps batch and channels by a
  // reshape, not a transpose), a batch of two (by a transpose).
  checkGradients(convolution({1, 1}, {1, 1}, {1, 1}, {1, 1}, 1, false),
                 {InputSpec{{2, 1, 5, 5}}, InputSpec{{3, 1, 3, 3}}});
  // Depthwise, 1-D.
  checkGradients(convolution({1}, {1}, {1}, {1}, 3, false),
                 {InputSpec{{2, 3, 7}}, InputSpec{{3, 1, 3}}});
}

TEST(AutodiffTest, SlicesPadsAndConcatenations) {
  InputSpec any{kMatrix};
  checkGradients([](GraphBuilder &g, auto &x) { return g.slice(x[0], {1, 1}, {3, 4}, {1, 1}); },
                 {any});
  // The pad value is an input too: it gets the sum over the border.
  checkGradients([](GraphBuilder &g, auto &x) {
    return g.pad(x[0], {1, 0}, {2, 1}, g.reshape(x[1], {}));
  }, {any, InputSpec{{1}}});
  checkGradients([](GraphBuilder &g, auto &x) { return g.concat({x[0], x[1], x[0]}, 1); },
                 {any, InputSpec{{3, 2}}});
  checkGradients([](GraphBuilder &g, auto &x) { return g.reverse(x[0], {0, 1}); }, {any});
}

TEST(AutodiffTest, Pooling) {
  // Overlapping padded windows (max, sum), dilated ones (min), and a 1-D
  // max pooling that leaves the last elements out.
  auto pooling = [](ReduceKind kind, std::vector<int64_t> window, std::vector<int64_t> strides,
                    std::vector<int64_t> dilations, std::vector<int64_t> low,
                    std::vector<int64_t> high) {
    return [=](GraphBuilder &g, const std::vector<Tensor> &x) {
      GraphBuilder::WindowOptions options;
      options.window.assign(window.begin(), window.end());
      options.strides.assign(strides.begin(), strides.end());
      options.dilations.assign(dilations.begin(), dilations.end());
      options.padLow.assign(low.begin(), low.end());
      options.padHigh.assign(high.begin(), high.end());
      return g.reduceWindow(kind, x[0], options);
    };
  };
  InputSpec image{{2, 2, 5, 5}};
  checkGradients(pooling(ReduceKind::max, {1, 1, 3, 3}, {1, 1, 2, 2}, {1, 1, 1, 1},
                         {0, 0, 1, 1}, {0, 0, 1, 1}),
                 {image});
  checkGradients(pooling(ReduceKind::sum, {1, 1, 3, 3}, {1, 1, 2, 2}, {1, 1, 1, 1},
                         {0, 0, 1, 1}, {0, 0, 1, 1}),
                 {image});
  checkGradients(pooling(ReduceKind::min, {1, 1, 2, 2}, {1, 1, 1, 1}, {1, 1, 2, 2},
                         {0, 0, 0, 0}, {0, 0, 0, 0}),
                 {image});
  checkGradients(pooling(ReduceKind::max, {1, 1, 2}, {1, 1, 2}, {1, 1, 1}, {0, 0, 0},
                         {0, 0, 0}),
                 {InputSpec{{1, 3, 7}}});
  // Windows that tile the input exactly (the usual 2x2 pooling) take a
  // path of their own: elementwise on a split view of the input.
  checkGradients(pooling(ReduceKind::max, {1, 1, 2, 2}, {1, 1, 2, 2}, {1, 1, 1, 1},
                         {0, 0, 0, 0}, {0, 0, 0, 0}),
                 {InputSpec{{2, 2, 4, 6}}});
  checkGradients(pooling(ReduceKind::sum, {1, 1, 2, 3}, {1, 1, 2, 3}, {1, 1, 1, 1},
                         {0, 0, 0, 0}, {0, 0, 0, 0}),
                 {InputSpec{{2, 2, 4, 6}}});
  // Tiled max and min count ties over every window offset: 2x3 windows,
  // and 1-D windows of 3.
  checkGradients(pooling(ReduceKind::min, {1, 1, 2, 3}, {1, 1, 2, 3}, {1, 1, 1, 1},
                         {0, 0, 0, 0}, {0, 0, 0, 0}),
                 {InputSpec{{2, 2, 4, 6}}});
  checkGradients(pooling(ReduceKind::max, {1, 1, 3}, {1, 1, 3}, {1, 1, 1}, {0, 0, 0},
                         {0, 0, 0}),
                 {InputSpec{{1, 3, 9}}});
}

TEST(AutodiffTest, TiledMaxPoolingSharesTies) {
  // One 2x2 window with three equal maxima: each gets a third.
  auto outputs = buildAndRun(
      [](GraphBuilder &g) {
        Tensor x = g.input("x", {1, 1, 2, 4});
        GraphBuilder::WindowOptions options;
        options.window = {1, 1, 2, 2};
        options.strides = {1, 1, 2, 2};
        options.dilations = {1, 1, 1, 1};
        options.padLow = options.padHigh = {0, 0, 0, 0};
        Tensor pooled = g.reduceWindow(ReduceKind::max, x, options);
        g.output("dx", g.gradients(pooled, {x})[0]);
      },
      {HostTensor::fromFloats({1, 1, 2, 4}, {1, 1, 5, 2, 0, 1, 3, 4})});
  ASSERT_EQ(outputs.size(), 1u);
  const float third = 1.0f / 3;
  std::vector<float> expected = {third, third, 1, 0, 0, third, 0, 0};
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_FLOAT_EQ(outputs[0].dataAs<float>()[i], expected[i]) << "element " << i;
}

TEST(AutodiffTest, DepthwiseConvolutionWithBatchNormAndRelu6InFloat32) {
  // MobileNet's depthwise layer in float32, strided and padded, with a
  // per-channel scale and shift and ReLU6: the convolution runs on the
  // runtime's depthwise kernel (stride 2), and so does the input's
  // gradient, a depthwise convolution of the dilated, padded output
  // gradient (stride 1). Both are checked against float64 loops here.
  // Rows of 9 and 18 (partial vectors).
  const int64_t n = 2, c = 3, h = 18, w = 18, k = 3, stride = 2, pad = 1;
  const int64_t ho = (h + 2 * pad - k) / stride + 1, wo = (w + 2 * pad - k) / stride + 1;
  Rng rng(5);
  auto randoms = [&](int64_t count, double low, double high) {
    std::vector<float> values(count);
    for (float &v : values)
      v = float(rng.uniform(low, high));
    return values;
  };
  std::vector<float> x = randoms(n * c * h * w, -1, 1), filter = randoms(c * k * k, -1, 1),
                     scale = randoms(c, 0.5, 4), shift = randoms(c, -1, 3),
                     weights = randoms(n * c * ho * wo, -1, 1);
  auto outputs = buildAndRun(
      [&](GraphBuilder &g) {
        Tensor input = g.input("x", {n, c, h, w});
        GraphBuilder::ConvOptions options;
        options.strides = {stride, stride};
        options.dilations = {1, 1};
        options.padLow = options.padHigh = {pad, pad};
        options.groups = c;
        Tensor conv = g.conv(input, g.constant(HostTensor::fromFloats({c, 1, k, k}, filter)),
                             Tensor(), options);
        Tensor scaled = g.add(g.mul(conv, g.constant(HostTensor::fromFloats({1, c, 1, 1}, scale))),
                              g.constant(HostTensor::fromFloats({1, c, 1, 1}, shift)));
        Tensor y = g.min(g.max(scaled, g.scalar(0)), g.scalar(6));
        g.output("y", y);
        Tensor weighted =
            g.mul(y, g.constant(HostTensor::fromFloats({n, c, ho, wo}, weights)));
        g.output("dx", g.gradients(weighted, {input})[0]);
      },
      {HostTensor::fromFloats({n, c, h, w}, x)});
  ASSERT_EQ(outputs.size(), 2u);
  std::vector<double> dx(x.size(), 0.0);
  int64_t mismatches = 0;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t yo = 0; yo < ho; ++yo)
        for (int64_t xo = 0; xo < wo; ++xo) {
          double sum = 0;
          for (int64_t i = 0; i < k; ++i)
            for (int64_t j = 0; j < k; ++j) {
              const int64_t yi = yo * stride + i - pad, xi = xo * stride + j - pad;
              if (yi >= 0 && yi < h && xi >= 0 && xi < w)
                sum += double(filter[(ch * k + i) * k + j]) * x[((b * c + ch) * h + yi) * w + xi];
            }
          const double pre = sum * scale[ch] + shift[ch];
          const double want = std::min(std::max(pre, 0.0), 6.0);
          const int64_t at = ((b * c + ch) * ho + yo) * wo + xo;
          if (!(std::abs(outputs[0].dataAs<float>()[at] - want) <= 1e-5) && mismatches++ < 5)
            ADD_FAILURE() << "y[" << at << "] = " << outputs[0].dataAs<float>()[at] << " want "
                          << want;
          // The gradient flows where ReLU6 is not clamping.
          if (pre > 0 && pre < 6)
            for (int64_t i = 0; i < k; ++i)
              for (int64_t j = 0; j < k; ++j) {
                const int64_t yi = yo * stride + i - pad, xi = xo * stride + j - pad;
                if (yi >= 0 && yi < h && xi >= 0 && xi < w)
                  dx[((b * c + ch) * h + yi) * w + xi] +=
                      double(weights[at]) * scale[ch] * filter[(ch * k + i) * k + j];
              }
        }
  for (size_t i = 0; i < dx.size(); ++i)
    if (!(std::abs(outputs[1].dataAs<float>()[i] - dx[i]) <= 1e-4) && mismatches++ < 10)
      ADD_FAILURE() << "dx[" << i << "] = " << outputs[1].dataAs<float>()[i] << " want "
                    << dx[i];
  EXPECT_EQ(mismatches, 0);
}

TEST(AutodiffTest, ReluThenTiledMaxPoolingInFloat32) {
  // A CNN's ReLU then 2x2 max pooling, in float32 (the runtime's pooling
  // kernels: the forward one, and the gradient's last pass with the ReLU's
  // gradient fused), weighted by W so that each window's gradient differs:
  // rows of 10 (partial vectors in both kernels), values with ties, zeros
  // after the ReLU, negatives.
  const int64_t n = 2, c = 3, h = 4, w = 10, ho = h / 2, wo = w / 2;
  std::vector<float> x(n * c * h * w), weights(n * c * ho * wo);
  const float values[] = {-1.0f, 0.0f, 0.5f, 2.0f, 2.0f, -0.5f, 1.5f};
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = values[(i * 5 + i / 7) % 7];
  // Windows whose maximum after the ReLU is 0 (no gradient), and one with
  // three equal positive maxima.
  const std::pair<int64_t, std::array<float, 4>> windows[] = {
      {0, {-1.0f, 0.0f, 0.0f, -0.5f}}, {1, {0.0f, 0.0f, 0.0f, 0.0f}}, {7, {2.0f, 2.0f, 0.5f, 2.0f}}};
  for (const auto &[first, four] : windows)
    for (int64_t k = 0; k < 4; ++k)
      x[2 * first + k / 2 * w + k % 2] = four[k];
  for (size_t i = 0; i < weights.size(); ++i)
    weights[i] = float(int(i % 5) - 2) * 0.75f + 0.25f;
  auto outputs = buildAndRun(
      [&](GraphBuilder &g) {
        Tensor input = g.input("x", {n, c, h, w});
        GraphBuilder::WindowOptions options;
        options.window = {1, 1, 2, 2};
        options.strides = {1, 1, 2, 2};
        options.dilations = {1, 1, 1, 1};
        options.padLow = options.padHigh = {0, 0, 0, 0};
        Tensor pooled = g.reduceWindow(ReduceKind::max, g.relu(input), options);
        Tensor weighted = g.mul(pooled, g.constant(HostTensor::fromFloats({n, c, ho, wo},
                                                                          weights)));
        g.output("pooled", pooled);
        g.output("dx", g.gradients(weighted, {input})[0]);
      },
      {HostTensor::fromFloats({n, c, h, w}, x)});
  ASSERT_EQ(outputs.size(), 2u);
  for (int64_t plane = 0; plane < n * c; ++plane)
    for (int64_t y = 0; y < ho; ++y)
      for (int64_t xo = 0; xo < wo; ++xo) {
        // The window's maximum after the ReLU, and its ties.
        auto at = [&](int64_t i, int64_t j) {
          return plane * h * w + (2 * y + i) * w + 2 * xo + j;
        };
        float maximum = 0;
        for (int64_t k = 0; k < 4; ++k)
          maximum = std::max(maximum, x[at(k / 2, k % 2)]);
        int ties = 0;
        for (int64_t k = 0; k < 4; ++k)
          ties += std::max(x[at(k / 2, k % 2)], 0.0f) == maximum;
        const int64_t window = (plane * ho + y) * wo + xo;
        EXPECT_EQ(outputs[0].dataAs<float>()[window], maximum) << "window " << window;
        for (int64_t k = 0; k < 4; ++k) {
          const float value = x[at(k / 2, k % 2)];
          const float want = value > 0 && value == maximum ? weights[window] / ties : 0.0f;
          EXPECT_FLOAT_EQ(outputs[1].dataAs<float>()[at(k / 2, k % 2)], want)
              << "window " << window << " element " << k;
        }
      }
}

TEST(AutodiffTest, MaxAndMinSendTiesToTheRight) {
  // ReLU's derivative is 0 at 0 (as in PyTorch), with the constant written
  // on either side (the fold moves it right); between two tensors a tie's
  // gradient goes to the right.
  auto outputs = buildAndRun(
      [](GraphBuilder &g) {
        Tensor x = g.input("x", {4});
        Tensor y = g.input("y", {4});
        Tensor zero = g.constant(HostTensor::fromFloats({4}, {0, 0, 0, 0}));
        Tensor left = g.relu(x), right = g.max(zero, x), both = g.min(x, y);
        g.output("dleft", g.gradients(left, {x})[0]);
        g.output("dright", g.gradients(right, {x})[0]);
        std::vector<Tensor> dboth = g.gradients(both, {x, y});
        g.output("dx", dboth[0]);
        g.output("dy", dboth[1]);
      },
      {HostTensor::fromFloats({4}, {-1, 0, 2, 3}), HostTensor::fromFloats({4}, {1, 0, 1, 5})});
  ASSERT_EQ(outputs.size(), 4u);
  std::vector<std::vector<float>> expected = {
      {0, 0, 1, 1}, {0, 0, 1, 1}, {1, 0, 0, 1}, {0, 1, 1, 0}};
  for (size_t o = 0; o < expected.size(); ++o)
    for (size_t i = 0; i < expected[o].size(); ++i)
      EXPECT_EQ(outputs[o].dataAs<float>()[i], expected[o][i]) << "output " << o << " element " << i;
}

TEST(AutodiffTest, DenseLayerWithSoftmax) {
  // log-softmax of a tanh dense layer: reductions (max, sum), broadcasts,
  // exp and log, a product, all on one path.
  checkGradients(
      [](GraphBuilder &g, auto &x) {
        Tensor hidden = g.math(GraphBuilder::MathFn::tanh, g.linear(x[0], x[1], x[2]));
        return g.logSoftmax(hidden, 1);
      },
      {InputSpec{{2, 3}}, InputSpec{{3, 4}}, InputSpec{{4}}});
}

/// A constant of int64 class indices.
Tensor classIndices(GraphBuilder &g, std::vector<int64_t> values) {
  HostTensor tensor(DType::i64, {int64_t(values.size())});
  std::copy(values.begin(), values.end(), tensor.dataAs<int64_t>());
  return g.constant(tensor);
}

TEST(AutodiffTest, Losses) {
  InputSpec any{kMatrix}, probability{kMatrix, 0.05, 0.95};
  checkGradients([](GraphBuilder &g, auto &x) { return g.mseLoss(x[0], x[1]); }, {any, any});
  checkGradients([](GraphBuilder &g, auto &x) { return g.l1Loss(x[0], x[1]); }, {any, any});
  // Class indices (one out of range: it contributes nothing), with and
  // without label smoothing; probability targets.
  checkGradients(
      [](GraphBuilder &g, auto &x) {
        return g.softmaxCrossEntropy(x[0], classIndices(g, {2, 0, 7}));
      },
      {any});
  checkGradients(
      [](GraphBuilder &g, auto &x) {
        return g.softmaxCrossEntropy(x[0], classIndices(g, {1, 3, 0}), 0.1);
      },
      {any});
  checkGradients([](GraphBuilder &g, auto &x) { return g.softmaxCrossEntropy(x[0], x[1]); },
                 {any, probability});
  checkGradients(
      [](GraphBuilder &g, auto &x) { return g.binaryCrossEntropyWithLogits(x[0], x[1]); },
      {InputSpec{kMatrix, -3, 3}, probability});
}

TEST(AutodiffTest, LossValues) {
  // The losses' values against float64 written out here.
  const std::vector<double> p = {0.5, -1.0, 2.0, 0.0, 1.5, -0.5};
  const std::vector<double> t = {1.0, -1.0, 0.5, 0.25, 1.0, 0.0};
  auto tensorOf = [](const std::vector<double> &values) {
    HostTensor tensor(DType::f64, {2, 3});
    std::copy(values.begin(), values.end(), tensor.dataAs<double>());
    return tensor;
  };
  mlir::MLIRContext context;
  GraphBuilder g(context);
  Tensor logits = g.input("p", {2, 3}, DType::f64), target = g.input("t", {2, 3}, DType::f64);
  g.output("mse", g.mseLoss(logits, target));
  g.output("l1", g.l1Loss(logits, target));
  g.output("ce", g.softmaxCrossEntropy(logits, classIndices(g, {2, 0}), 0.1));
  g.output("bce", g.binaryCrossEntropyWithLogits(logits, target));
  auto model = g.finish();
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  auto executable = Executable::compile(std::move(*model));
  ASSERT_TRUE(bool(executable)) << llvm::toString(executable.takeError());
  auto outputs = (*executable)->run({tensorOf(p), tensorOf(t)});
  ASSERT_TRUE(bool(outputs)) << llvm::toString(outputs.takeError());
  double mse = 0, l1 = 0, ce = 0, bce = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    mse += (p[i] - t[i]) * (p[i] - t[i]) / 6;
    l1 += std::abs(p[i] - t[i]) / 6;
    double sigmoid = 1 / (1 + std::exp(-p[i]));
    bce -= (t[i] * std::log(sigmoid) + (1 - t[i]) * std::log(1 - sigmoid)) / 6;
  }
  const int64_t labels[] = {2, 0};
  for (int row = 0; row < 2; ++row) {
    double total = 0;
    for (int c = 0; c < 3; ++c)
      total += std::exp(p[row * 3 + c]);
    for (int c = 0; c < 3; ++c) {
      double target = 0.9 * (c == labels[row]) + 0.1 / 3;
      ce -= target * (p[row * 3 + c] - std::log(total)) / 2;
    }
  }
  const double expected[] = {mse, l1, ce, bce};
  for (int i = 0; i < 4; ++i)
    EXPECT_NEAR((*outputs)[i].dataAs<double>()[0], expected[i], 1e-12) << "loss " << i;
}

TEST(AutodiffTest, RefusesOpsWithoutARule) {
  mlir::MLIRContext context;
  GraphBuilder g(context);
  Tensor x = g.input("x", {3}, DType::f64);
  Tensor product = g.reduce(ReduceKind::prod, x, {0}, false);
  g.output("p", product);
  mlir::OpBuilder b(&context);
  b.setInsertionPointAfterValue(product.value());
  mlir::Value seed = ConstantOp::create(
      b, product.value().getLoc(),
      mlir::DenseElementsAttr::get(product.type(), b.getF64FloatAttr(1.0)));
  std::string message;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &diagnostic) {
    message = diagnostic.str();
    return mlir::success();
  });
  EXPECT_TRUE(failed(buildGradients(b, product.value(), seed, {x.value()})));
  EXPECT_NE(message.find("no gradient rule for a product reduction"), std::string::npos)
      << message;
}

} // namespace
