//===- ExecutableTest.cpp - compiled models against references --*- C++ -*-===//
//
// Every op compiled for the CPU and run on random data, checked against a
// float64 computation written out in the test; the MLP example against its
// own float64 reference; and the runtime's input checks.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"
#include "runtime/KernelProfile.h"
#include "runtime/kernels/Gemm.h"

#include "llvm/Support/FileSystem.h"

#include <cstring>
#include <thread>

using namespace dlc;
using namespace dlc::test;

namespace {

/// The NumPy-broadcast binary op `fn` on a [3, 4] and a [4] tensor.
void checkBinary(Tensor (GraphBuilder::*op)(Tensor, Tensor),
                 double (*fn)(double, double)) {
  Rng rng(7);
  HostTensor a = randomUniform({3, 4}, -2, 2, rng);
  HostTensor b = randomUniform({4}, 0.5, 2, rng);
  auto outputs = buildAndRun(
      [&](GraphBuilder &g) {
        // Declared one by one: argument evaluation order is unspecified.
        Tensor ta = g.input("a", {3, 4});
        Tensor tb = g.input("b", {4});
        g.output("y", (g.*op)(ta, tb));
      },
      {a, b});
  ASSERT_EQ(outputs.size(), 1u);
  std::vector<double> expected;
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 4; ++j)
      expected.push_back(fn(a.dataAs<float>()[i * 4 + j], b.dataAs<float>()[j]));
  expectClose(outputs[0], {3, 4}, expected);
}

TEST(ExecutableTest, BinaryOpsBroadcast) {
  checkBinary(&GraphBuilder::add, [](double x, double y) { return x + y; });
  checkBinary(&GraphBuilder::sub, [](double x, double y) { return x - y; });
  checkBinary(&GraphBuilder::mul, [](double x, double y) { return x * y; });
  checkBinary(&GraphBuilder::div, [](double x, double y) { return x / y; });
  checkBinary(&GraphBuilder::max, [](double x, double y) { return std::max(x, y); });
  checkBinary(&GraphBuilder::min, [](double x, double y) { return std::min(x, y); });
}

TEST(ExecutableTest, UnaryOps) {
  Rng rng(3);
  HostTensor x = randomUniform({2, 5}, -3, 3, rng);
  auto outputs = buildAndRun(
      [](GraphBuilder &g) {
        Tensor in = g.input("x", {2, 5});
        g.output("exp", g.exp(in));
        g.output("neg", g.neg(in));
        g.output("relu", g.relu(in));
      },
      {x});
  ASSERT_EQ(outputs.size(), 3u);
  std::vector<double> exps, negs, relus;
  for (double v : toDoubles(x)) {
    exps.push_back(std::exp(v));
    negs.push_back(-v);
    relus.push_back(std::max(v, 0.0));
  }
  expectClose(outputs[0], {2, 5}, exps);
  expectClose(outputs[1], {2, 5}, negs);
  expectClose(outputs[2], {2, 5}, relus);
}

TEST(ExecutableTest, MathFunctions) {
  using MathFn = GraphBuilder::MathFn;
  struct Case {
    MathFn fn;
    double (*reference)(double);
    double low, high;
  };
  std::vector<Case> cases = {
      {MathFn::log, [](double x) { return std::log(x); }, 0.1, 5},
      {MathFn::sqrt, [](double x) { return std::sqrt(x); }, 0, 5},
      {MathFn::tanh, [](double x) { return std::tanh(x); }, -3, 3},
      {MathFn::erf, [](double x) { return std::erf(x); }, -3, 3},
      {MathFn::floor, [](double x) { return std::floor(x); }, -3, 3},
      {MathFn::ceil, [](double x) { return std::ceil(x); }, -3, 3},
      {MathFn::round, [](double x) { return std::nearbyint(x); }, -3, 3},
      {MathFn::sin, [](double x) { return std::sin(x); }, -3, 3},
      {MathFn::cos, [](double x) { return std::cos(x); }, -3, 3},
      {MathFn::tan, [](double x) { return std::tan(x); }, -1, 1},
      {MathFn::asin, [](double x) { return std::asin(x); }, -0.9, 0.9},
      {MathFn::acos, [](double x) { return std::acos(x); }, -0.9, 0.9},
      {MathFn::atan, [](double x) { return std::atan(x); }, -3, 3},
      {MathFn::sinh, [](double x) { return std::sinh(x); }, -3, 3},
      {MathFn::cosh, [](double x) { return std::cosh(x); }, -3, 3},
      {MathFn::asinh, [](double x) { return std::asinh(x); }, -3, 3},
      {MathFn::acosh, [](double x) { return std::acosh(x); }, 1.1, 5},
      {MathFn::atanh, [](double x) { return std::atanh(x); }, -0.9, 0.9},
  };
  for (const Case &c : cases) {
    Rng rng(23);
    HostTensor x = randomUniform({16}, c.low, c.high, rng);
    if (c.fn == MathFn::round)
      x.dataAs<float>()[0] = 2.5f; // A tie: round goes to even (2).
    auto outputs = buildAndRun(
        [&](GraphBuilder &g) { g.output("y", g.math(c.fn, g.input("x", {16}))); }, {x});
    ASSERT_EQ(outputs.size(), 1u);
    std::vector<double> expected;
    for (double v : toDoubles(x))
      expected.push_back(c.reference(v));
    expectClose(outputs[0], {16}, expected, 2e-6);
  }
}

TEST(ExecutableTest, CompareSelectConvert) {
  HostTensor a = HostTensor::fromFloats({5}, {1.5f, -2.7f, NAN, 0.0f, 3.0f});
  HostTensor b = HostTensor::fromFloats({5}, {1.5f, 2.0f, 1.0f, -0.0f, 2.0f});
  auto outputs = buildAndRun(
      [](GraphBuilder &g) {
        Tensor ta = g.input("a", {5});
        Tensor tb = g.input("b", {5});
        g.output("lt", g.compare(CompareDirection::lt, ta, tb));
        g.output("ne", g.compare(CompareDirection::ne, ta, tb));
        g.output("max", g.select(g.compare(CompareDirection::ge, ta, tb), ta, tb));
        g.output("int", g.convert(ta, mlir::IntegerType::get(&g.context(), 32)));
        g.output("abs_sign", g.mul(g.abs(ta), g.sign(tb)));
      },
      {a, b});
  ASSERT_EQ(outputs.size(), 5u);
  const uint8_t *lt = outputs[0].dataAs<uint8_t>(), *ne = outputs[1].dataAs<uint8_t>();
  EXPECT_EQ(std::vector<int>(lt, lt + 5), (std::vector<int>{0, 1, 0, 0, 0}));
  // NaN compares unequal to everything; 0 equals -0.
  EXPECT_EQ(std::vector<int>(ne, ne + 5), (std::vector<int>{0, 1, 1, 0, 1}));
  const float *max = outputs[2].dataAs<float>();
  EXPECT_EQ(max[1], 2.0f);
  EXPECT_EQ(max[4], 3.0f);
  const int32_t *converted = outputs[3].dataAs<int32_t>();
  EXPECT_EQ(converted[0], 1);  // toward zero
  EXPECT_EQ(converted[1], -2);
  const float *absSign = outputs[4].dataAs<float>();
  EXPECT_EQ(absSign[0], 1.5f);
  EXPECT_EQ(absSign[3], 0.0f);
}

TEST(ExecutableTest, CompositeLayers) {
  Rng rng(29);
  HostTensor x = randomUniform({3, 6}, -3, 3, rng);
  auto outputs = buildAndRun(
      [](GraphBuilder &g) {
        Tensor in = g.input("x", {3, 6});
        g.output("softmax", g.softmax(in, 1));
        g.output("log_softmax", g.logSoftmax(in, -1));
        g.output("layer_norm", g.layerNorm(in, Tensor(), Tensor(), 1, 1e-5));
        g.output("gelu", g.gelu(in));
        g.output("sigmoid", g.sigmoid(in));
      },
      {x});
  ASSERT_EQ(outputs.size(), 5u);
  std::vector<double> v = toDoubles(x);
  std::vector<double> softmax, logSoftmax, norm, gelu, sigmoid;
  for (int r = 0; r < 3; ++r) {
    double max = -INFINITY, sum = 0, mean = 0, var = 0;
    for (int c = 0; c < 6; ++c)
      max = std::max(max, v[r * 6 + c]);
    for (int c = 0; c < 6; ++c) {
      sum += std::exp(v[r * 6 + c] - max);
      mean += v[r * 6 + c] / 6;
    }
    for (int c = 0; c < 6; ++c)
      var += (v[r * 6 + c] - mean) * (v[r * 6 + c] - mean) / 6;
    for (int c = 0; c < 6; ++c) {
      double e = v[r * 6 + c];
      softmax.push_back(std::exp(e - max) / sum);
      logSoftmax.push_back(e - max - std::log(sum));
      norm.push_back((e - mean) / std::sqrt(var + 1e-5));
      gelu.push_back(0.5 * e * (1 + std::erf(e / std::sqrt(2.0))));
      sigmoid.push_back(1 / (1 + std::exp(-e)));
    }
  }
  expectClose(outputs[0], {3, 6}, softmax);
  expectClose(outputs[1], {3, 6}, logSoftmax);
  expectClose(outputs[2], {3, 6}, norm, 1e-4);
  expectClose(outputs[3], {3, 6}, gelu);
  expectClose(outputs[4], {3, 6}, sigmoid);
}

TEST(ExecutableTest, Reductions) {
  Rng rng(11);
  HostTensor x = randomUniform({2, 3, 4}, 0.5, 1.5, rng);
  auto outputs = buildAndRun(
      [](GraphBuilder &g) {
        Tensor in = g.input("x", {2, 3, 4});
        g.output("sum", g.reduceSum(in, {1}));
        g.output("prod", g.reduce(ReduceKind::prod, in, {0, 2}));
        g.output("max", g.reduceMax(in, {-1}, /*keepDims=*/true));
        g.output("min", g.reduce(ReduceKind::min, in, {0, 1, 2}));
        g.output("mean", g.reduceMean(in, {2, 0}));
      },
      {x});
  ASSERT_EQ(outputs.size(), 5u);
  std::vector<double> v = toDoubles(x);
  auto at = [&](int i, int j, int k) { return v[i * 12 + j * 4 + k]; };
  std::vector<double> sum, prod, max, mean;
  double min = INFINITY;
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 4; ++k) {
      double s = 0;
      for (int j = 0; j < 3; ++j)
        s += at(i, j, k);
      sum.push_back(s);
    }
  for (int j = 0; j < 3; ++j) {
    double p = 1, m = 0;
    for (int i = 0; i < 2; ++i)
      for (int k = 0; k < 4; ++k) {
        p *= at(i, j, k);
        m += at(i, j, k) / 8;
      }
    prod.push_back(p);
    mean.push_back(m);
  }
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) {
      double m = -INFINITY;
      for (int k = 0; k < 4; ++k) {
        m = std::max(m, at(i, j, k));
        min = std::min(min, at(i, j, k));
      }
      max.push_back(m);
    }
  expectClose(outputs[0], {2, 4}, sum);
  expectClose(outputs[1], {3}, prod);
  expectClose(outputs[2], {2, 3, 1}, max);
  expectClose(outputs[3], {}, {min});
  expectClose(outputs[4], {3}, mean);
}

TEST(ExecutableTest, TransposeAndReshape) {
  Rng rng(5);
  HostTensor x = randomUniform({2, 3, 4}, -1, 1, rng);
  auto outputs = buildAndRun(
      [](GraphBuilder &g) {
        Tensor in = g.input("x", {2, 3, 4});
        g.output("t", g.transpose(in, {2, 0, 1}));
        g.output("r", g.reshape(in, {4, -1}));
        g.output("tr", g.reshape(g.transpose(in, {1, 0, 2}), {24}));
      },
      {x});
  ASSERT_EQ(outputs.size(), 3u);
  std::vector<double> v = toDoubles(x);
  std::vector<double> t, tr;
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j)
        t.push_back(v[i * 12 + j * 4 + k]);
  for (int j = 0; j < 3; ++j)
    for (int i = 0; i < 2; ++i)
      for (int k = 0; k < 4; ++k)
        tr.push_back(v[i * 12 + j * 4 + k]);
  expectClose(outputs[0], {4, 2, 3}, t);
  expectClose(outputs[1], {4, 6}, v);
  expectClose(outputs[2], {24}, tr);
}

TEST(ExecutableTest, DataMovement) {
  HostTensor x = HostTensor::fromFloats({2, 4}, {0, 1, 2, 3, 4, 5, 6, 7});
  HostTensor indices(DType::i64, {3});
  int64_t idx[] = {3, -4, 1}; // -4 wraps to 0
  std::copy(idx, idx + 3, indices.dataAs<int64_t>());
  HostTensor positions(DType::i64, {4});
  int64_t pos[] = {1, 1, 6, 0};
  std::copy(pos, pos + 4, positions.dataAs<int64_t>());
  HostTensor updates = HostTensor::fromFloats({4}, {10, 20, 30, 40});
  auto outputs = buildAndRun(
      [](GraphBuilder &g) {
        Tensor in = g.input("x", {2, 4});
        Tensor i = g.input("i", {3}, DType::i64);
        Tensor p = g.input("p", {4}, DType::i64);
        Tensor u = g.input("u", {4});
        g.output("slice", g.slice(in, {0, 1}, {2, 4}, {1, 2}));
        g.output("reverse", g.reverse(in, {1}));
        g.output("concat", g.concat({in, g.reverse(in, {0})}, 0));
        g.output("pad", g.pad(in, {1, -1}, {0, 1}, g.scalar(-1)));
        g.output("gather", g.gather(in, i, 1));
        Tensor flat = g.reshape(in, {8});
        g.output("scatter_add", g.scatterFlat(ScatterKind::add, flat, p, u));
        g.output("scatter", g.scatterFlat(ScatterKind::none, flat, p, u));
        g.output("iota", g.iota({2, 3}, 1, mlir::Float32Type::get(&g.context())));
      },
      {x, indices, positions, updates});
  ASSERT_EQ(outputs.size(), 8u);
  expectClose(outputs[0], {2, 2}, {1, 3, 5, 7});
  expectClose(outputs[1], {2, 4}, {3, 2, 1, 0, 7, 6, 5, 4});
  expectClose(outputs[2], {4, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7, 0, 1, 2, 3});
  expectClose(outputs[3], {3, 4}, {-1, -1, -1, -1, 1, 2, 3, -1, 5, 6, 7, -1});
  expectClose(outputs[4], {2, 3}, {3, 0, 1, 7, 4, 5});
  expectClose(outputs[5], {8}, {40, 31, 2, 3, 4, 5, 36, 7});
  // Repeated positions: the last write wins.
  expectClose(outputs[6], {8}, {40, 20, 2, 3, 4, 5, 30, 7});
  expectClose(outputs[7], {2, 3}, {0, 1, 2, 0, 1, 2});
}

/// 2-D convolution with groups, strides, padding, filter and input
/// dilation, written out directly: out[n, o, y, x] = sum over c, ky, kx of
/// in'[n, g*Cg + c, y*s + ky*d, x*s + kx*d] * w[o, c, ky, kx], where in' is
/// the input spread by `inputDilation` and padded.
std::vector<double> referenceConv2d(const std::vector<double> &in,
                                    llvm::ArrayRef<int64_t> inShape,
                                    const std::vector<double> &w,
                                    llvm::ArrayRef<int64_t> wShape, int64_t groups,
                                    int64_t stride, int64_t pad, int64_t dilation,
                                    int64_t inputDilation, int64_t &outH, int64_t &outW) {
  int64_t N = inShape[0], C = inShape[1], H = inShape[2], W = inShape[3];
  int64_t O = wShape[0], Cg = wShape[1], K = wShape[2];
  int64_t dilatedH = (H - 1) * inputDilation + 1, dilatedW = (W - 1) * inputDilation + 1;
  outH = (dilatedH + 2 * pad - (K - 1) * dilation - 1) / stride + 1;
  outW = (dilatedW + 2 * pad - (K - 1) * dilation - 1) / stride + 1;
  int64_t Mg = O / groups;
  std::vector<double> out(N * O * outH * outW, 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t y = 0; y < outH; ++y)
        for (int64_t x = 0; x < outW; ++x) {
          double sum = 0;
          int64_t g = o / Mg;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t ky = 0; ky < K; ++ky)
              for (int64_t kx = 0; kx < K; ++kx) {
                int64_t py = y * stride + ky * dilation - pad;
                int64_t px = x * stride + kx * dilation - pad;
                if (py < 0 || px < 0 || py % inputDilation || px % inputDilation)
                  continue;
                py /= inputDilation;
                px /= inputDilation;
                if (py >= H || px >= W)
                  continue;
                sum += in[((n * C + g * Cg + c) * H + py) * W + px] *
                       w[((o * Cg + c) * K + ky) * K + kx];
              }
          out[((n * O + o) * outH + y) * outW + x] = sum;
        }
  return out;
}

TEST(ExecutableTest, ConvolutionAndPooling) {
  Rng rng(31);
  HostTensor x = randomUniform({2, 4, 7, 7}, -1, 1, rng);
  HostTensor w = randomUniform({6, 2, 3, 3}, -1, 1, rng);
  HostTensor w2 = randomUniform({3, 4, 3, 3}, -1, 1, rng);
  HostTensor w3 = randomUniform({5, 4, 1, 1}, -1, 1, rng);
  auto outputs = buildAndRun(
      [](GraphBuilder &g) {
        Tensor in = g.input("x", {2, 4, 7, 7});
        Tensor filter = g.input("w", {6, 2, 3, 3});
        Tensor filter2 = g.input("w2", {3, 4, 3, 3});
        GraphBuilder::ConvOptions grouped;
        grouped.strides = {2, 2};
        grouped.padLow = grouped.padHigh = {1, 1};
        grouped.groups = 2;
        g.output("grouped", g.conv(in, filter, Tensor(), grouped));
        GraphBuilder::ConvOptions dilated;
        dilated.dilations = {2, 2};
        dilated.lhsDilation = {2, 2};
        g.output("dilated", g.conv(in, filter2, Tensor(), dilated));
        // One group, float32: these run as im2col and the runtime's GEMM.
        GraphBuilder::ConvOptions strided;
        strided.strides = {2, 2};
        strided.padLow = strided.padHigh = {1, 1};
        g.output("strided", g.conv(in, filter2, Tensor(), strided));
        g.output("pointwise", g.conv(in, g.input("w3", {5, 4, 1, 1}), Tensor(), {}));
        GraphBuilder::WindowOptions pool;
        pool.window = {1, 1, 3, 3};
        pool.strides = {1, 1, 2, 2};
        pool.padLow = pool.padHigh = {0, 0, 1, 1};
        g.output("max", g.reduceWindow(ReduceKind::max, in, pool));
        g.output("sum", g.reduceWindow(ReduceKind::sum, in, pool));
      },
      {x, w, w2, w3});
  ASSERT_EQ(outputs.size(), 6u);
  int64_t h, wd;
  std::vector<double> grouped =
      referenceConv2d(toDoubles(x), x.shape(), toDoubles(w), w.shape(), 2, 2, 1, 1, 1, h, wd);
  expectClose(outputs[0], {2, 6, h, wd}, grouped, 1e-5);
  std::vector<double> dilated =
      referenceConv2d(toDoubles(x), x.shape(), toDoubles(w2), w2.shape(), 1, 1, 0, 2, 2, h, wd);
  expectClose(outputs[1], {2, 3, h, wd}, dilated, 1e-5);
  std::vector<double> strided =
      referenceConv2d(toDoubles(x), x.shape(), toDoubles(w2), w2.shape(), 1, 2, 1, 1, 1, h, wd);
  expectClose(outputs[2], {2, 3, h, wd}, strided, 1e-5);
  std::vector<double> pointwise =
      referenceConv2d(toDoubles(x), x.shape(), toDoubles(w3), w3.shape(), 1, 1, 0, 1, 1, h, wd);
  expectClose(outputs[3], {2, 5, h, wd}, pointwise, 1e-5);
  std::vector<double> v = toDoubles(x), maxPool, sumPool;
  for (int64_t nc = 0; nc < 8; ++nc)
    for (int64_t y = 0; y < 4; ++y)
      for (int64_t xx = 0; xx < 4; ++xx) {
        double m = -INFINITY, s = 0;
        for (int64_t ky = 0; ky < 3; ++ky)
          for (int64_t kx = 0; kx < 3; ++kx) {
            int64_t py = y * 2 + ky - 1, px = xx * 2 + kx - 1;
            if (py < 0 || px < 0 || py >= 7 || px >= 7)
              continue;
            m = std::max(m, v[nc * 49 + py * 7 + px]);
            s += v[nc * 49 + py * 7 + px];
          }
        maxPool.push_back(m);
        sumPool.push_back(s);
      }
  expectClose(outputs[4], {2, 4, 4, 4}, maxPool);
  expectClose(outputs[5], {2, 4, 4, 4}, sumPool);
}

/// `in` convolved with the weight `w` (3×3), one pixel of zero padding
/// around: the output as large as the input.
Tensor samePaddedConv(GraphBuilder &g, Tensor in, const HostTensor &w) {
  GraphBuilder::ConvOptions same;
  same.padLow = same.padHigh = {1, 1};
  return g.conv(in, g.parameter("w", w), Tensor(), same);
}

/// A 3×3 stride-1 convolution of a weight with enough channels and tiles
/// runs by Winograd's F(2×2, 3×3) on AVX-512 hosts (the runtime keeps the
/// filter's transform after the first run); both runs against float64,
/// and bit for bit the same.
TEST(ExecutableTest, ThreeByThreeConvolutionOfAWeight) {
  Rng rng(41);
  HostTensor x = randomUniform({2, 32, 9, 10}, -1, 1, rng);
  HostTensor w = randomUniform({40, 32, 3, 3}, -1, 1, rng);
  mlir::MLIRContext context;
  GraphBuilder g(context);
  g.output("y", samePaddedConv(g, g.input("x", {2, 32, 9, 10}), w));
  auto model = g.finish();
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  auto executable = Executable::compile(std::move(*model));
  ASSERT_TRUE(bool(executable)) << llvm::toString(executable.takeError());
  int64_t h, wd;
  std::vector<double> want =
      referenceConv2d(toDoubles(x), x.shape(), toDoubles(w), w.shape(), 1, 1, 1, 1, 1, h, wd);
  std::vector<HostTensor> first;
  KernelProfile profile;
  for (int run = 0; run < 2; ++run) {
    KernelProfile::Scope profiling(&profile);
    auto outputs = (*executable)->run({x});
    ASSERT_TRUE(bool(outputs)) << llvm::toString(outputs.takeError());
    ASSERT_EQ(outputs->size(), 1u);
    expectClose((*outputs)[0], {2, 40, h, wd}, want, 1e-5);
    if (run == 0) {
      first = std::move(*outputs);
      continue;
    }
    const HostTensor &again = (*outputs)[0];
    EXPECT_EQ(std::memcmp(again.dataAs<float>(), first[0].dataAs<float>(),
                          size_t(again.numElements()) * sizeof(float)),
              0);
  }
  // Both runs took the method the host's kernel allows.
  std::vector<KernelProfile::Entry> kernels = profile.entries();
  ASSERT_EQ(kernels.size(), 1u);
  EXPECT_EQ(kernels[0].kernel,
            hostGemmKernel().winogradInput ? "conv2d (Winograd)" : "conv2d");
  EXPECT_EQ(kernels[0].calls, 2);
}

/// A module whose entry computes one sample of a batch of 7
/// (dlc.batch_split, as the ONNX importer makes them for convolutional
/// models): the signature gives the batch back, runs spread the samples
/// over the threads, each with intermediate buffers of its own, and match
/// a float64 convolution of the whole batch, bit-identical on 1, 2 and 3
/// threads and from three threads running it at once.
TEST(ExecutableTest, SamplesOfASplitBatchRunOverTheThreads) {
  Rng rng(43);
  const int64_t samples = 7;
  HostTensor x = randomUniform({samples, 8, 6, 6}, -1, 1, rng);
  HostTensor w = randomUniform({16, 8, 3, 3}, -1, 1, rng);
  mlir::MLIRContext context;
  GraphBuilder g(context);
  g.output("y", g.relu(samePaddedConv(g, g.input("x", {1, 8, 6, 6}), w)));
  auto model = g.finish();
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  model->module->getOperation()->setAttr(
      kBatchSplitAttr, mlir::IntegerAttr::get(mlir::IntegerType::get(&context, 64), samples));
  auto executable = Executable::compile(std::move(*model));
  ASSERT_TRUE(bool(executable)) << llvm::toString(executable.takeError());
  Executable &exe = **executable;
  EXPECT_EQ(exe.signature().samples, samples);
  EXPECT_EQ(exe.signature().inputs[0].shape, (std::vector<int64_t>{samples, 8, 6, 6}));
  EXPECT_EQ(exe.signature().outputs[0].shape, (std::vector<int64_t>{samples, 16, 6, 6}));
  int64_t h, wd;
  std::vector<double> want =
      referenceConv2d(toDoubles(x), x.shape(), toDoubles(w), w.shape(), 1, 1, 1, 1, 1, h, wd);
  for (double &v : want)
    v = std::max(v, 0.0);
  std::vector<HostTensor> first;
  for (unsigned threads : {1u, 2u, 3u}) {
    exe.setThreads(threads);
    auto outputs = exe.run({x});
    ASSERT_TRUE(bool(outputs)) << llvm::toString(outputs.takeError());
    expectClose((*outputs)[0], {samples, 16, h, wd}, want, 1e-5);
    if (first.empty())
      first = std::move(*outputs);
    else
      EXPECT_EQ(std::memcmp((*outputs)[0].data(), first[0].data(), first[0].byteSize()), 0)
          << threads << " threads";
  }
  // Three callers at once, each running it a few times.
  exe.setThreads(2);
  std::vector<int> mismatches(3, 0);
  std::vector<std::thread> callers;
  for (int caller = 0; caller < 3; ++caller)
    callers.emplace_back([&, caller] {
      for (int run = 0; run < 4; ++run) {
        auto outputs = exe.run({x});
        if (!outputs) {
          llvm::consumeError(outputs.takeError());
          ++mismatches[caller];
          continue;
        }
        mismatches[caller] +=
            std::memcmp((*outputs)[0].data(), first[0].data(), first[0].byteSize()) != 0;
      }
    });
  for (std::thread &caller : callers)
    caller.join();
  EXPECT_EQ(mismatches, (std::vector<int>{0, 0, 0}));
}

/// What dlc-fuse-conv-epilogues folds into a convolution's GEMM: a bias,
/// an inference batch norm, a residual sum and ReLU, or ReLU6 with bounds
/// given as inputs; and a chain that feeds a padded convolution (which
/// stays an elementwise kernel). Against float64.
TEST(ExecutableTest, ConvolutionEpilogues) {
  Rng rng(37);
  const int64_t N = 2, C = 4, O = 6, H = 5, W = 5;
  HostTensor x = randomUniform({N, C, H, W}, -1, 1, rng);
  HostTensor w = randomUniform({O, C, 3, 3}, -1, 1, rng);
  HostTensor bias = randomUniform({O}, -1, 1, rng);
  HostTensor scale = randomUniform({O}, 0.5, 2, rng);
  HostTensor shift = randomUniform({O}, -1, 1, rng);
  HostTensor mean = randomUniform({O}, -1, 1, rng);
  HostTensor variance = randomUniform({O}, 0.5, 2, rng);
  HostTensor residual = randomUniform({N, O, H, W}, -1, 1, rng);
  HostTensor w2 = randomUniform({O, O, 3, 3}, -1, 1, rng);
  HostTensor lo = randomUniform({}, -0.2, -0.1, rng);
  HostTensor hi = randomUniform({}, 0.5, 0.6, rng);
  HostTensor w3 = randomUniform({O, C, 1, 1}, -1, 1, rng);
  const double epsilon = 1e-5;
  auto outputs = buildAndRun(
      [&](GraphBuilder &g) {
        Tensor in = g.input("x", {N, C, H, W});
        Tensor filter = g.input("w", {O, C, 3, 3});
        Tensor b = g.input("bias", {O}), s = g.input("scale", {O});
        Tensor t = g.input("shift", {O}), m = g.input("mean", {O});
        Tensor v = g.input("variance", {O});
        Tensor r = g.input("residual", {N, O, H, W});
        Tensor filter2 = g.input("w2", {O, O, 3, 3});
        Tensor low = g.input("lo", {}), high = g.input("hi", {});
        GraphBuilder::ConvOptions same;
        same.padLow = same.padHigh = {1, 1};
        Tensor normalized = g.batchNorm(g.conv(in, filter, b, same), s, t, m, v, epsilon);
        g.output("residual_relu", g.relu(g.add(normalized, r)));
        Tensor clipped = g.min(g.max(g.batchNorm(g.conv(in, filter, b, same), s, t, m, v,
                                                 epsilon),
                                     low),
                               high);
        g.output("relu6", clipped);
        // Padded for the next convolution: not fused, the same values.
        g.output("padded", g.conv(clipped, filter2, Tensor(), same));
        // A 1x1 convolution: one product over both images, its epilogue
        // adding each image's residual.
        Tensor pointwise = g.conv(in, g.input("w3", {O, C, 1, 1}), Tensor(), {});
        g.output("pointwise", g.relu(g.add(g.batchNorm(pointwise, s, t, m, v, epsilon), r)));
      },
      {x, w, bias, scale, shift, mean, variance, residual, w2, lo, hi, w3});
  ASSERT_EQ(outputs.size(), 4u);
  int64_t h, wd;
  std::vector<double> conv =
      referenceConv2d(toDoubles(x), x.shape(), toDoubles(w), w.shape(), 1, 1, 1, 1, 1, h, wd);
  std::vector<double> b = toDoubles(bias), s = toDoubles(scale), t = toDoubles(shift),
                      m = toDoubles(mean), v = toDoubles(variance), r = toDoubles(residual);
  double low = toDoubles(lo)[0], high = toDoubles(hi)[0];
  std::vector<double> residualRelu, relu6;
  for (int64_t i = 0; i < int64_t(conv.size()); ++i) {
    int64_t o = (i / (h * wd)) % O;
    double normalized = (conv[i] + b[o] - m[o]) / std::sqrt(v[o] + epsilon) * s[o] + t[o];
    residualRelu.push_back(std::max(normalized + r[i], 0.0));
    relu6.push_back(std::min(std::max(normalized, low), high));
  }
  expectClose(outputs[0], {N, O, h, wd}, residualRelu, 1e-5);
  expectClose(outputs[1], {N, O, h, wd}, relu6, 1e-5);
  std::vector<double> padded =
      referenceConv2d(relu6, {N, O, h, wd}, toDoubles(w2), w2.shape(), 1, 1, 1, 1, 1, h, wd);
  expectClose(outputs[2], {N, O, h, wd}, padded, 1e-5);
  std::vector<double> pointwise =
      referenceConv2d(toDoubles(x), x.shape(), toDoubles(w3), w3.shape(), 1, 1, 0, 1, 1, h, wd);
  for (int64_t i = 0; i < int64_t(pointwise.size()); ++i) {
    int64_t o = (i / (h * wd)) % O;
    double normalized = (pointwise[i] - m[o]) / std::sqrt(v[o] + epsilon) * s[o] + t[o];
    pointwise[i] = std::max(normalized + r[i], 0.0);
  }
  expectClose(outputs[3], {N, O, h, wd}, pointwise, 1e-5);
}

/// numpy.matmul of [batch..., m, k] and [k, n] (rhs broadcast over batches).
std::vector<double> referenceMatmul(const std::vector<double> &a,
                                    const std::vector<double> &b,
                                    int64_t batches, int64_t m, int64_t k,
                                    int64_t n) {
  std::vector<double> c(batches * m * n, 0.0);
  for (int64_t p = 0; p < batches; ++p)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j)
        for (int64_t l = 0; l < k; ++l)
          c[(p * m + i) * n + j] += a[(p * m + i) * k + l] * b[l * n + j];
  return c;
}

TEST(ExecutableTest, MatmulShapes) {
  Rng rng(13);
  HostTensor a = randomUniform({5, 7}, -1, 1, rng);
  HostTensor b = randomUniform({7, 3}, -1, 1, rng);
  HostTensor batched = randomUniform({2, 3, 5, 7}, -1, 1, rng);
  HostTensor vector = randomUniform({7}, -1, 1, rng);
  auto outputs = buildAndRun(
      [](GraphBuilder &g) {
        Tensor ta = g.input("a", {5, 7});
        Tensor tb = g.input("b", {7, 3});
        Tensor tbatched = g.input("batched", {2, 3, 5, 7});
        Tensor tvector = g.input("vector", {7});
        g.output("ab", g.matmul(ta, tb));
        g.output("batched_b", g.matmul(tbatched, tb));
        g.output("vector_b", g.matmul(tvector, tb));
        g.output("a_vector", g.matmul(ta, tvector));
      },
      {a, b, batched, vector});
  ASSERT_EQ(outputs.size(), 4u);
  expectClose(outputs[0], {5, 3}, referenceMatmul(toDoubles(a), toDoubles(b), 1, 5, 7, 3));
  expectClose(outputs[1], {2, 3, 5, 3},
              referenceMatmul(toDoubles(batched), toDoubles(b), 6, 5, 7, 3));
  expectClose(outputs[2], {3},
              referenceMatmul(toDoubles(vector), toDoubles(b), 1, 1, 7, 3));
  expectClose(outputs[3], {5},
              referenceMatmul(toDoubles(a), toDoubles(vector), 1, 5, 7, 1));
}

TEST(ExecutableTest, IntegerArithmetic) {
  HostTensor a(DType::i32, {4});
  HostTensor b(DType::i32, {4});
  int32_t av[] = {7, -7, 100, -3}, bv[] = {2, 2, -9, 5};
  std::copy(av, av + 4, a.dataAs<int32_t>());
  std::copy(bv, bv + 4, b.dataAs<int32_t>());
  auto outputs = buildAndRun(
      [](GraphBuilder &g) {
        Tensor ta = g.input("a", {4}, DType::i32);
        Tensor tb = g.input("b", {4}, DType::i32);
        g.output("div", g.div(ta, tb));
        g.output("sum", g.reduceSum(g.mul(ta, tb), {0}));
        g.output("max", g.max(ta, g.neg(tb)));
      },
      {a, b});
  ASSERT_EQ(outputs.size(), 3u);
  const int32_t *div = outputs[0].dataAs<int32_t>();
  EXPECT_EQ(div[0], 3);   // rounds toward zero
  EXPECT_EQ(div[1], -3);
  EXPECT_EQ(div[2], -11);
  EXPECT_EQ(div[3], 0);
  EXPECT_EQ(outputs[1].dataAs<int32_t>()[0], 14 - 14 - 900 - 15);
  const int32_t *max = outputs[2].dataAs<int32_t>();
  EXPECT_EQ(max[0], 7);
  EXPECT_EQ(max[1], -2);
  EXPECT_EQ(max[2], 100);
  EXPECT_EQ(max[3], -3);
}

TEST(ExecutableTest, ConstantsFoldAndStillCompute) {
  Rng rng(17);
  HostTensor x = randomUniform({3}, -1, 1, rng);
  auto outputs = buildAndRun(
      [](GraphBuilder &g) {
        Tensor two = g.add(g.scalar(1.5), g.scalar(0.5));
        Tensor c = g.constant(HostTensor::fromFloats({3}, {1, 2, 3}));
        g.output("y", g.add(g.mul(g.input("x", {3}), two), g.transpose(c, {0})));
      },
      {x});
  ASSERT_EQ(outputs.size(), 1u);
  std::vector<double> v = toDoubles(x);
  expectClose(outputs[0], {3}, {2 * v[0] + 1, 2 * v[1] + 2, 2 * v[2] + 3});
}

/// The 2-layer MLP example against a float64 forward pass written here.
TEST(ExecutableTest, MlpMatchesFloat64Reference) {
  MlpConfig config;
  config.batch = 16;
  config.widths = {784, 256, 10};
  config.seed = 42;
  mlir::MLIRContext context;
  auto model = buildMlp(context, config);
  ASSERT_TRUE(static_cast<bool>(model)) << llvm::toString(model.takeError());
  std::vector<std::vector<double>> w;
  for (auto &[name, weight] : model->weights)
    w.push_back(toDoubles(weight));
  auto executable = Executable::compile(*model);
  ASSERT_TRUE(static_cast<bool>(executable))
      << llvm::toString(executable.takeError());

  Rng rng(99);
  HostTensor x = randomUniform({16, 784}, -1, 1, rng);
  auto outputs = (*executable)->run({x});
  ASSERT_TRUE(static_cast<bool>(outputs)) << llvm::toString(outputs.takeError());

  std::vector<double> hidden = referenceMatmul(toDoubles(x), w[0], 1, 16, 784, 256);
  for (size_t i = 0; i < hidden.size(); ++i)
    hidden[i] = std::max(hidden[i] + w[1][i % 256], 0.0);
  std::vector<double> logits = referenceMatmul(hidden, w[2], 1, 16, 256, 10);
  for (size_t i = 0; i < logits.size(); ++i)
    logits[i] += w[3][i % 10];
  expectClose((*outputs)[0], {16, 10}, logits, 1e-5);

  // A second run on the same executable gives the same numbers.
  auto again = (*executable)->run({x});
  ASSERT_TRUE(static_cast<bool>(again));
  EXPECT_EQ(0, std::memcmp((*again)[0].data(), (*outputs)[0].data(),
                           (*outputs)[0].byteSize()));
}

TEST(ExecutableTest, RejectsBadInputs) {
  mlir::MLIRContext context;
  GraphBuilder g(context);
  g.output("y", g.relu(g.input("x", {2, 3})));
  auto model = g.finish();
  ASSERT_TRUE(static_cast<bool>(model));
  auto executable = Executable::compile(*model);
  ASSERT_TRUE(static_cast<bool>(executable));
  Executable &exe = **executable;

  auto message = [](auto result) {
    return result ? std::string("no error") : llvm::toString(result.takeError());
  };
  EXPECT_EQ(message(exe.run({HostTensor(DType::f32, {3, 2})})),
            "input 'x' must be float32[2x3], got float32[3x2]");
  EXPECT_EQ(message(exe.run({HostTensor(DType::f64, {2, 3})})),
            "input 'x' must be float32[2x3], got float64[2x3]");
  EXPECT_EQ(message(exe.run(std::vector<HostTensor>{})),
            "the model takes 1 inputs, got 0");
  EXPECT_EQ(message(exe.run(NamedTensors{})),
            "input 'x' (float32[2x3]) is missing");
  EXPECT_EQ(message(exe.run(NamedTensors{{"z", HostTensor(DType::f32, {2, 3})}})),
            "the model has no input 'z' (its inputs: 'x')");
  HostTensor x(DType::f32, {2, 3});
  EXPECT_EQ(message(exe.run(NamedTensors{{"x", x}, {"x", x}})),
            "input 'x' is given twice");
  auto named = exe.run(NamedTensors{{"x", x}});
  ASSERT_TRUE(static_cast<bool>(named));
  EXPECT_EQ((*named)[0].first, "y");
}

TEST(ExecutableTest, OutputsComputedInPlaceOfTheirInputs) {
  // A step that returns a new "w" from the old one, as a training step
  // returns each parameter: its kernel may work in the old one's memory.
  // A "sum" output reads w too, but before the update.
  mlir::MLIRContext context;
  GraphBuilder g(context);
  Tensor w = g.input("w", {4, 8});
  Tensor grad = g.input("grad", {4, 8});
  g.output("sum", g.reduceSum(w, {0, 1}));
  g.output("w", g.sub(w, g.mul(g.scalar(0.5), grad)));
  auto model = g.finish();
  ASSERT_TRUE(static_cast<bool>(model)) << llvm::toString(model.takeError());
  // The table travels with the compiled code: a load from the compile
  // cache has it too.
  llvm::SmallString<128> cacheDir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("dlc-in-place-test", cacheDir));
  CompileCache cache{std::string(cacheDir)};
  auto compiled = Executable::compile(*model, cache);
  ASSERT_TRUE(static_cast<bool>(compiled)) << llvm::toString(compiled.takeError());
  auto executable = Executable::compile(*model, cache);
  llvm::sys::fs::remove_directories(cacheDir);
  ASSERT_TRUE(static_cast<bool>(executable)) << llvm::toString(executable.takeError());
  EXPECT_FALSE((*compiled)->compileReport().cacheHit);
  EXPECT_TRUE((*executable)->compileReport().cacheHit);
  for (const auto *loaded : {&*compiled, &*executable}) {
    llvm::ArrayRef<int64_t> inPlace = (*loaded)->inPlaceInputs();
    ASSERT_EQ(inPlace.size(), 2u);
    EXPECT_EQ(inPlace[0], -1); // "sum" has no input of its name
    EXPECT_EQ(inPlace[1], 0);  // "w" is input 0's new value
  }
  Executable &exe = **executable;

  Rng rng(3);
  HostTensor w0 = randomUniform({4, 8}, -1, 1, rng);
  HostTensor g0 = randomUniform({4, 8}, -1, 1, rng);
  std::vector<double> expected;
  double sum = 0;
  for (int64_t i = 0; i < 32; ++i) {
    expected.push_back(double(w0.dataAs<float>()[i]) - 0.5 * g0.dataAs<float>()[i]);
    sum += w0.dataAs<float>()[i];
  }
  HostTensor original(DType::f32, {4, 8});
  std::memcpy(original.data(), w0.data(), w0.byteSize());

  // Separate memory: the runtime starts the output as a copy of the input,
  // which stays as it was.
  auto apart = exe.run({w0, g0});
  ASSERT_TRUE(static_cast<bool>(apart)) << llvm::toString(apart.takeError());
  expectClose((*apart)[1], {4, 8}, expected);
  expectClose((*apart)[0], {}, {sum});
  EXPECT_EQ(0, std::memcmp(w0.data(), original.data(), w0.byteSize()));

  // The input's own memory: updated in place, the same numbers.
  std::vector<HostTensor> outputs = {HostTensor(DType::f32, {}), w0};
  ASSERT_FALSE(static_cast<bool>(exe.runInto({w0, g0}, outputs)));
  EXPECT_EQ(outputs[1].data(), w0.data());
  expectClose(w0, {4, 8}, expected);
  expectClose(outputs[0], {}, {sum});

  // Any other sharing is refused before anything runs.
  std::vector<HostTensor> wrong = {HostTensor(DType::f32, {}), g0};
  llvm::Error error = exe.runInto({w0, g0}, wrong);
  EXPECT_EQ(llvm::toString(std::move(error)),
            "output 'w' is given the memory of input 'grad'; the compiled code does not "
            "compute it in place of that input");
}

} // namespace

// `dlc compile --report` writes the report a parent process reads back
// (runtime/CompilerProcess.h): every field survives the round trip, and a
// report that lacks one is refused, naming it.
TEST(ExecutableTest, CompileReportJsonRoundTrip) {
  CompileReport report;
  report.lowering = 0.25;
  report.codegen = 1.5;
  report.linking = 0.001;
  report.cacheHit = true;
  report.arenaBytes = int64_t(3) << 33; // past 32 bits
  report.intermediateBytes = 123456789;
  report.compilerPeakBytes = 140 << 20;
  auto back = CompileReport::fromJson(report.toJson());
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
  EXPECT_EQ(back->lowering, 0.25);
  EXPECT_EQ(back->codegen, 1.5);
  EXPECT_EQ(back->linking, 0.001);
  EXPECT_TRUE(back->cacheHit);
  EXPECT_EQ(back->arenaBytes, int64_t(3) << 33);
  EXPECT_EQ(back->intermediateBytes, 123456789);
  EXPECT_EQ(back->compilerPeakBytes, 140 << 20);

  auto missing = CompileReport::fromJson(R"({"lowering_s": 1, "codegen_s": 2})");
  ASSERT_FALSE(bool(missing));
  EXPECT_NE(llvm::toString(missing.takeError()).find("linking_s"), std::string::npos);
  auto notJson = CompileReport::fromJson("lowering 1 s");
  ASSERT_FALSE(bool(notJson));
  llvm::consumeError(notJson.takeError());
}
