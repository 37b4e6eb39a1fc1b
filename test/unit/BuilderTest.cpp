//===- BuilderTest.cpp - the GraphBuilder API -------------------*- C++ -*-===//
//
// Shapes the builder infers, the signature it writes, and the errors it
// reports instead of crashing.
//
//===----------------------------------------------------------------------===//

#include "frontend/builder/Examples.h"
#include "frontend/builder/GraphBuilder.h"
#include "ir/Signature.h"

#include "gtest/gtest.h"

using namespace dlc;

namespace {

std::string finishError(GraphBuilder &g) {
  auto model = g.finish();
  return model ? std::string("no error") : llvm::toString(model.takeError());
}

TEST(BuilderTest, NumPyBroadcastingShapes) {
  mlir::MLIRContext context;
  GraphBuilder g(context);
  Tensor a = g.input("a", {4, 1, 3});
  Tensor b = g.input("b", {5, 1});
  EXPECT_EQ(formatShape(g.add(a, b).shape()), "4x5x3");
  EXPECT_EQ(formatShape(g.mul(a, g.scalar(2.0)).shape()), "4x1x3");
  Tensor m = g.input("m", {2, 1, 6, 3});
  Tensor n = g.input("n", {7, 3, 8});
  EXPECT_EQ(formatShape(g.matmul(m, n).shape()), "2x7x6x8");
  EXPECT_EQ(formatShape(g.reduceSum(a, {0, -1}, true).shape()), "1x1x1");
  EXPECT_EQ(formatShape(g.reshape(a, {-1, 2}).shape()), "6x2");
}

TEST(BuilderTest, SignatureListsInputsBeforeParameters) {
  mlir::MLIRContext context;
  GraphBuilder g(context);
  Tensor w = g.parameter("w", HostTensor(DType::f32, {3, 2}));
  Tensor x = g.input("x", {5, 3});
  Tensor b = g.parameter("b", HostTensor(DType::f32, {2}));
  Tensor mask = g.input("mask", {5, 2});
  g.output("y", g.mul(g.linear(x, w, b), mask));
  auto model = g.finish();
  ASSERT_TRUE(static_cast<bool>(model)) << llvm::toString(model.takeError());
  auto signature = readSignature(*model->module);
  ASSERT_TRUE(static_cast<bool>(signature)) << llvm::toString(signature.takeError());
  ASSERT_EQ(signature->inputs.size(), 2u);
  EXPECT_EQ(signature->inputs[0].name, "x");
  EXPECT_EQ(signature->inputs[1].name, "mask");
  ASSERT_EQ(signature->params.size(), 2u);
  EXPECT_EQ(signature->params[0].name, "w");
  EXPECT_EQ(signature->params[1].name, "b");
  ASSERT_EQ(signature->outputs.size(), 1u);
  EXPECT_EQ(formatShape(signature->outputs[0].shape), "5x2");
  EXPECT_EQ(model->weights[1].first, "b");
}

TEST(BuilderTest, ShapeErrorsNameTheNode) {
  mlir::MLIRContext context;
  GraphBuilder g(context);
  g.setLocation("fc1");
  Tensor y = g.add(g.input("a", {4, 3}), g.input("b", {5}));
  EXPECT_FALSE(y.valid());
  // Later ops on an invalid tensor are skipped; the first error is kept.
  g.output("y", g.relu(y));
  EXPECT_EQ(finishError(g), "add: shapes 4x3 and 5 do not broadcast at 'fc1'");
}

TEST(BuilderTest, ReportsEachKindOfMisuse) {
  struct Case {
    std::function<void(GraphBuilder &)> build;
    std::string error;
  };
  std::vector<Case> cases = {
      {[](GraphBuilder &g) { g.matmul(g.input("a", {2, 3}), g.input("b", {4, 5})); },
       "matmul: cannot multiply 2x3 by 4x5 (inner dimensions 3 and 4 differ)"},
      {[](GraphBuilder &g) { g.reshape(g.input("a", {2, 3}), {4, -1}); },
       "reshape: cannot infer the -1 in [4x-1] for 6 elements"},
      {[](GraphBuilder &g) { g.reshape(g.input("a", {2, 3}), {7}); },
       "reshape: cannot reshape 2x3 (6 elements) to 7"},
      {[](GraphBuilder &g) { g.transpose(g.input("a", {2, 3}), {0, 0}); },
       "transpose: [0, 0] is not a permutation of 2 dimensions"},
      {[](GraphBuilder &g) { g.reduceSum(g.input("a", {2, 3}), {2}); },
       "reduce: dimension 2 is out of range for rank 2"},
      {[](GraphBuilder &g) { g.reduceSum(g.input("a", {2, 3}), {1, -1}); },
       "reduce: a dimension is listed twice"},
      {[](GraphBuilder &g) { g.add(g.input("a", {2}), g.input("b", {2}, DType::i32)); },
       "add: element types differ (f32 and i32)"},
      {[](GraphBuilder &g) { g.exp(g.input("a", {2}, DType::i64)); },
       "exp: needs a floating-point tensor"},
      {[](GraphBuilder &g) { g.broadcastTo(g.input("a", {3}), {3, 2}); },
       "broadcast: 3 does not broadcast to 3x2"},
      {[](GraphBuilder &g) { g.input("a", {-1, 2}); },
       "input 'a' has a negative dimension in -1x2"},
      {[](GraphBuilder &) {}, "the graph has no outputs"},
  };
  for (const Case &c : cases) {
    mlir::MLIRContext context;
    GraphBuilder g(context);
    c.build(g);
    EXPECT_EQ(finishError(g), c.error);
  }
}

/// Counts the ops named `name` in the model's entry function.
int countOps(Model &model, llvm::StringRef name) {
  int count = 0;
  model.module->walk([&](mlir::Operation *op) {
    count += op->getName().getStringRef() == name;
  });
  return count;
}

TEST(BuilderTest, ExampleModelsBuildAndVerify) {
  mlir::MLIRContext context;
  auto cnn = buildSmallCnn(context, 4, 10, 1);
  ASSERT_TRUE(static_cast<bool>(cnn)) << llvm::toString(cnn.takeError());
  auto cnnSignature = readSignature(*cnn->module);
  ASSERT_TRUE(static_cast<bool>(cnnSignature));
  EXPECT_EQ(formatShape(cnnSignature->outputs[0].shape), "4x10");
  EXPECT_EQ(cnnSignature->params.size(), 6u);
  EXPECT_EQ(countOps(*cnn, "dlc.conv"), 2);
  EXPECT_EQ(countOps(*cnn, "dlc.reduce_window"), 1);

  auto block = buildTransformerBlock(context, 2, 16, 32, 4, 1);
  ASSERT_TRUE(static_cast<bool>(block)) << llvm::toString(block.takeError());
  auto blockSignature = readSignature(*block->module);
  ASSERT_TRUE(static_cast<bool>(blockSignature));
  EXPECT_EQ(formatShape(blockSignature->outputs[0].shape), "2x16x32");
  // q, k, v and the output projection, q·kᵀ and p·v, and the MLP's two.
  EXPECT_EQ(countOps(*block, "dlc.dot"), 8);
  EXPECT_EQ(countOps(*block, "dlc.erf"), 1);
  EXPECT_EQ(countOps(*block, "dlc.exp"), 1);

  auto bad = buildTransformerBlock(context, 2, 16, 30, 4, 1);
  ASSERT_FALSE(static_cast<bool>(bad));
  EXPECT_EQ(llvm::toString(bad.takeError()), "heads (4) must divide width (30)");
}

TEST(BuilderTest, CompositeLayersMatchTheirDefinitions) {
  // softmax = exp(x - max) / sum(exp(x - max)); checked by building it from
  // primitives and comparing the op sequence the layer emits.
  mlir::MLIRContext context;
  GraphBuilder g(context);
  Tensor x = g.input("x", {2, 5});
  g.output("softmax", g.softmax(x, -1));
  g.output("log_softmax", g.logSoftmax(x, 1));
  auto model = g.finish();
  ASSERT_TRUE(static_cast<bool>(model)) << llvm::toString(model.takeError());
  EXPECT_EQ(countOps(*model, "dlc.exp"), 2);
  EXPECT_EQ(countOps(*model, "dlc.log"), 1);
  EXPECT_EQ(countOps(*model, "dlc.reduce"), 4);
}

} // namespace
