// RUN: dlc-opt %s --split-input-file | FileCheck %s

// CHECK-LABEL: func.func @flatten
func.func @flatten(%a: tensor<2x3x4xf32>) -> tensor<2x12xf32> {
  // CHECK: dlc.reshape %{{.*}} : tensor<2x3x4xf32> -> tensor<2x12xf32>
  %0 = dlc.reshape %a : tensor<2x3x4xf32> -> tensor<2x12xf32>
  return %0 : tensor<2x12xf32>
}

// -----

// CHECK-LABEL: func.func @to_scalar
func.func @to_scalar(%a: tensor<1x1xf32>) -> tensor<f32> {
  // CHECK: dlc.reshape %{{.*}} : tensor<1x1xf32> -> tensor<f32>
  %0 = dlc.reshape %a : tensor<1x1xf32> -> tensor<f32>
  return %0 : tensor<f32>
}
