//===- TestUtil.h - helpers shared by the unit tests ------------*- C++ -*-===//
//
// Build a graph, compile and run it, and compare float tensors with float64
// references computed by the tests themselves.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_TEST_UNIT_TESTUTIL_H
#define DLC_TEST_UNIT_TESTUTIL_H

#include "frontend/builder/Examples.h"
#include "frontend/builder/GraphBuilder.h"
#include "runtime/Executable.h"

#include "gtest/gtest.h"

#include <cmath>
#include <functional>
#include <vector>

namespace dlc::test {

/// Builds a graph with `build` (which declares inputs and outputs), compiles
/// it and runs it once on `inputs`. Fails the test on any error.
inline std::vector<HostTensor>
buildAndRun(const std::function<void(GraphBuilder &)> &build,
            llvm::ArrayRef<HostTensor> inputs) {
  mlir::MLIRContext context;
  GraphBuilder g(context);
  build(g);
  auto model = g.finish();
  if (!model) {
    ADD_FAILURE() << "building failed: " << llvm::toString(model.takeError());
    return {};
  }
  auto executable = Executable::compile(std::move(*model));
  if (!executable) {
    ADD_FAILURE() << "compiling failed: "
                  << llvm::toString(executable.takeError());
    return {};
  }
  auto outputs = (*executable)->run(inputs);
  if (!outputs) {
    ADD_FAILURE() << "running failed: " << llvm::toString(outputs.takeError());
    return {};
  }
  return std::move(*outputs);
}

/// The elements of a float32 tensor as doubles.
inline std::vector<double> toDoubles(const HostTensor &tensor) {
  const float *data = tensor.dataAs<float>();
  return std::vector<double>(data, data + tensor.numElements());
}

/// Expects `actual` (float32) to have `shape` and to match `expected`
/// elementwise: |a - e| <= rtol * max(1, |e|).
inline void expectClose(const HostTensor &actual, llvm::ArrayRef<int64_t> shape,
                        const std::vector<double> &expected,
                        double rtol = 1e-5) {
  ASSERT_EQ(actual.dtype(), DType::f32);
  ASSERT_EQ(formatShape(actual.shape()), formatShape(shape));
  ASSERT_EQ(static_cast<size_t>(actual.numElements()), expected.size());
  const float *data = actual.dataAs<float>();
  for (size_t i = 0; i < expected.size(); ++i)
    ASSERT_LE(std::abs(data[i] - expected[i]),
              rtol * std::max(1.0, std::abs(expected[i])))
        << "element " << i << ": got " << data[i] << ", expected "
        << expected[i];
}

/// Row-major strides of `shape`.
inline std::vector<int64_t> stridesOf(llvm::ArrayRef<int64_t> shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

} // namespace dlc::test

#endif // DLC_TEST_UNIT_TESTUTIL_H
