// RUN: dlc-opt %s --split-input-file | FileCheck %s

// CHECK-LABEL: func.func @bias
func.func @bias(%b: tensor<8xf32>) -> tensor<4x8xf32> {
  // CHECK: dlc.broadcast %{{.*}}, dims = [1] : tensor<8xf32> -> tensor<4x8xf32>
  %0 = dlc.broadcast %b, dims = [1] : tensor<8xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// Size-1 dimensions stretch; scalars broadcast with no dims.
// CHECK-LABEL: func.func @stretch
func.func @stretch(%a: tensor<4x1xf32>, %s: tensor<f32>) -> (tensor<2x4x3xf32>, tensor<2x2xf32>) {
  // CHECK: dlc.broadcast %{{.*}}, dims = [1, 2] : tensor<4x1xf32> -> tensor<2x4x3xf32>
  %0 = dlc.broadcast %a, dims = [1, 2] : tensor<4x1xf32> -> tensor<2x4x3xf32>
  // CHECK: dlc.broadcast %{{.*}}, dims = [] : tensor<f32> -> tensor<2x2xf32>
  %1 = dlc.broadcast %s, dims = [] : tensor<f32> -> tensor<2x2xf32>
  return %0, %1 : tensor<2x4x3xf32>, tensor<2x2xf32>
}
