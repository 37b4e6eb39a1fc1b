// RUN: dlc-opt %s | FileCheck %s

// CHECK-LABEL: func.func @kinds
func.func @kinds(%a: tensor<2x3x4xf32>) -> (tensor<2x4xf32>, tensor<3xf32>, tensor<2x3xf32>, tensor<f32>) {
  // CHECK: dlc.reduce sum %{{.*}}, dims = [1] : tensor<2x3x4xf32> -> tensor<2x4xf32>
  %0 = dlc.reduce sum %a, dims = [1] : tensor<2x3x4xf32> -> tensor<2x4xf32>
  // CHECK: dlc.reduce prod %{{.*}}, dims = [0, 2] : tensor<2x3x4xf32> -> tensor<3xf32>
  %1 = dlc.reduce prod %a, dims = [0, 2] : tensor<2x3x4xf32> -> tensor<3xf32>
  // CHECK: dlc.reduce max %{{.*}}, dims = [2] : tensor<2x3x4xf32> -> tensor<2x3xf32>
  %2 = dlc.reduce max %a, dims = [2] : tensor<2x3x4xf32> -> tensor<2x3xf32>
  // CHECK: dlc.reduce min %{{.*}}, dims = [0, 1, 2] : tensor<2x3x4xf32> -> tensor<f32>
  %3 = dlc.reduce min %a, dims = [0, 1, 2] : tensor<2x3x4xf32> -> tensor<f32>
  return %0, %1, %2, %3 : tensor<2x4xf32>, tensor<3xf32>, tensor<2x3xf32>, tensor<f32>
}
