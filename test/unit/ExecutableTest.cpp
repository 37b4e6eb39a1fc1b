//===- ExecutableTest.cpp - compiled models against references --*- C++ -*-===//
//
// Every op compiled for the CPU and run on random data, checked against a
// float64 computation written out in the test; the MLP example against its
// own float64 reference; and the runtime's input checks.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

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
  auto executable = Executable::compile(std::move(*model));
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
  auto executable = Executable::compile(std::move(*model));
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

} // namespace
