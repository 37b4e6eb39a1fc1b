//===- DialectTest.cpp - the dlc dialect from C++ ---------------*- C++ -*-===//
//
// Result-type inference through the generated builders, the verifier's
// messages, and the bytecode round trip the artifact format relies on.
//
//===----------------------------------------------------------------------===//

#include "ir/DlcOps.h"
#include "ir/Diagnostics.h"

#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

#include "gtest/gtest.h"

using namespace mlir;
using namespace dlc;

namespace {

class DialectTest : public ::testing::Test {
protected:
  DialectTest() : builder(&context) {
    context.loadDialect<DlcDialect, func::FuncDialect>();
  }
  Value argument(ArrayRef<int64_t> shape) {
    return block.addArgument(RankedTensorType::get(shape, builder.getF32Type()),
                             builder.getUnknownLoc());
  }
  std::string typeOf(Value v) {
    std::string s;
    llvm::raw_string_ostream os(s);
    os << v.getType();
    return s;
  }

  MLIRContext context;
  OpBuilder builder;
  Block block;
};

TEST_F(DialectTest, InfersResultTypes) {
  builder.setInsertionPointToEnd(&block);
  Location loc = builder.getUnknownLoc();
  Value x = argument({2, 3, 4});
  Value t = TransposeOp::create(builder, loc, x, builder.getDenseI64ArrayAttr({2, 0, 1}));
  EXPECT_EQ(typeOf(t), "tensor<4x2x3xf32>");
  Value r = ReduceOp::create(builder, loc, ReduceKind::max, x,
                             builder.getDenseI64ArrayAttr({0, 2}));
  EXPECT_EQ(typeOf(r), "tensor<3xf32>");
  Value d = DotOp::create(builder, loc, argument({5, 2, 3}), argument({5, 3, 7}));
  EXPECT_EQ(typeOf(d), "tensor<5x2x7xf32>");
  Value s = AddOp::create(builder, loc, x, x);
  EXPECT_EQ(typeOf(s), "tensor<2x3x4xf32>");
}

TEST_F(DialectTest, VerifierExplainsShapeErrors) {
  const char *source = R"mlir(
    func.func @f(%x: tensor<2x3xf32>) -> tensor<7xf32> {
      %0 = dlc.reshape %x : tensor<2x3xf32> -> tensor<7xf32>
      return %0 : tensor<7xf32>
    })mlir";
  DiagnosticCapture diagnostics(&context);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(source, &context);
  EXPECT_FALSE(module);
  std::string message = llvm::toString(diagnostics.takeError("parse"));
  EXPECT_NE(message.find("cannot reshape 2x3 (6 elements) to 7 (7 elements)"),
            std::string::npos)
      << message;
}

TEST_F(DialectTest, BytecodeRoundTrip) {
  const char *source = R"mlir(
    func.func @main(%x: tensor<4x8xf32> {dlc.input = "x"}) -> (tensor<8xf32> {dlc.output = "y"}) {
      %c = dlc.constant dense<2.0> : tensor<4x8xf32>
      %0 = dlc.mul %x, %c : tensor<4x8xf32>
      %1 = dlc.reduce sum %0, dims = [0] : tensor<4x8xf32> -> tensor<8xf32>
      return %1 : tensor<8xf32>
    })mlir";
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(source, &context);
  ASSERT_TRUE(module);
  std::string bytes;
  llvm::raw_string_ostream os(bytes);
  ASSERT_TRUE(succeeded(writeBytecodeToFile(*module, os)));
  OwningOpRef<ModuleOp> reread =
      parseSourceString<ModuleOp>(bytes, ParserConfig(&context));
  ASSERT_TRUE(reread);
  std::string before, after;
  llvm::raw_string_ostream(before) << *module;
  llvm::raw_string_ostream(after) << *reread;
  EXPECT_EQ(before, after);
}

} // namespace
