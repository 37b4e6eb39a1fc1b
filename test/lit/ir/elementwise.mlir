// RUN: dlc-opt %s --split-input-file | FileCheck %s
// Elementwise ops parse, verify and print back in their short form.

// CHECK-LABEL: func.func @binary
func.func @binary(%a: tensor<4x8xf32>, %b: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // CHECK: %[[ADD:.*]] = dlc.add %{{.*}}, %{{.*}} : tensor<4x8xf32>
  %0 = dlc.add %a, %b : tensor<4x8xf32>
  // CHECK: %[[SUB:.*]] = dlc.sub %[[ADD]], %{{.*}} : tensor<4x8xf32>
  %1 = dlc.sub %0, %b : tensor<4x8xf32>
  // CHECK: %[[MUL:.*]] = dlc.mul %[[SUB]], %{{.*}} : tensor<4x8xf32>
  %2 = dlc.mul %1, %a : tensor<4x8xf32>
  // CHECK: %[[DIV:.*]] = dlc.div %[[MUL]], %{{.*}} : tensor<4x8xf32>
  %3 = dlc.div %2, %b : tensor<4x8xf32>
  // CHECK: %[[MAX:.*]] = dlc.max %[[DIV]], %{{.*}} : tensor<4x8xf32>
  %4 = dlc.max %3, %a : tensor<4x8xf32>
  // CHECK: dlc.min %[[MAX]], %{{.*}} : tensor<4x8xf32>
  %5 = dlc.min %4, %a : tensor<4x8xf32>
  return %5 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func.func @unary
func.func @unary(%a: tensor<3xf32>) -> tensor<3xf32> {
  // CHECK: %[[E:.*]] = dlc.exp %{{.*}} : tensor<3xf32>
  %0 = dlc.exp %a : tensor<3xf32>
  // CHECK: dlc.neg %[[E]] : tensor<3xf32>
  %1 = dlc.neg %0 : tensor<3xf32>
  return %1 : tensor<3xf32>
}

// -----

// Integer tensors are first-class for arithmetic (indices, shapes).
// CHECK-LABEL: func.func @integers
func.func @integers(%a: tensor<2xi64>) -> tensor<2xi64> {
  // CHECK: dlc.add %{{.*}}, %{{.*}} : tensor<2xi64>
  %0 = dlc.add %a, %a : tensor<2xi64>
  // CHECK: dlc.neg %{{.*}} : tensor<2xi64>
  %1 = dlc.neg %0 : tensor<2xi64>
  return %1 : tensor<2xi64>
}
