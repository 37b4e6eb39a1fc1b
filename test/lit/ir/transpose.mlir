// RUN: dlc-opt %s | FileCheck %s

// CHECK-LABEL: func.func @permute
func.func @permute(%a: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  // CHECK: dlc.transpose %{{.*}}, perm = [2, 0, 1] : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  %0 = dlc.transpose %a, perm = [2, 0, 1] : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  return %0 : tensor<4x2x3xf32>
}
