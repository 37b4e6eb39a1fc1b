// RUN: dlc-opt %s --canonicalize --split-input-file | FileCheck %s
// Folders: constant arithmetic, shape ops on constants, and no-op views.

// CHECK-LABEL: func.func @arithmetic
func.func @arithmetic() -> tensor<2xf32> {
  // CHECK-NEXT: %[[C:.*]] = dlc.constant dense<[-1.000000e+00, -6.000000e+00]> : tensor<2xf32>
  // CHECK-NEXT: return %[[C]]
  %a = dlc.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %b = dlc.constant dense<[3.0, 4.0]> : tensor<2xf32>
  %0 = dlc.add %a, %b : tensor<2xf32>
  %1 = dlc.mul %0, %a : tensor<2xf32>
  %2 = dlc.sub %1, %0 : tensor<2xf32>
  %3 = dlc.max %2, %a : tensor<2xf32>
  %4 = dlc.neg %3 : tensor<2xf32>
  %5 = dlc.div %4, %a : tensor<2xf32>
  %6 = dlc.min %5, %4 : tensor<2xf32>
  return %6 : tensor<2xf32>
}

// -----

// CHECK-LABEL: func.func @integer_division
func.func @integer_division() -> (tensor<2xi32>, tensor<2xi32>) {
  // Division by zero stays for run time; the rest folds (rounding toward zero).
  // CHECK-DAG: dlc.constant dense<[-3, 3]> : tensor<2xi32>
  // CHECK-DAG: %[[ZERO_DIV:.*]] = dlc.div
  %a = dlc.constant dense<[-7, 7]> : tensor<2xi32>
  %b = dlc.constant dense<[2, 2]> : tensor<2xi32>
  %z = dlc.constant dense<[0, 1]> : tensor<2xi32>
  %0 = dlc.div %a, %b : tensor<2xi32>
  %1 = dlc.div %a, %z : tensor<2xi32>
  return %0, %1 : tensor<2xi32>, tensor<2xi32>
}

// -----

// CHECK-LABEL: func.func @shapes_of_constants
func.func @shapes_of_constants() -> (tensor<2x3xf32>, tensor<3x2xf32>, tensor<f32>) {
  // CHECK-DAG: dlc.constant dense<1.000000e+00> : tensor<2x3xf32>
  // CHECK-DAG: dlc.constant dense<{{\[\[}}1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00], [5.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>
  // CHECK-DAG: dlc.constant dense<2.71828{{[0-9]*}}> : tensor<f32>
  // CHECK-NOT: dlc.broadcast
  // CHECK-NOT: dlc.reshape
  // CHECK-NOT: dlc.exp
  %one = dlc.constant dense<1.0> : tensor<f32>
  %0 = dlc.broadcast %one, dims = [] : tensor<f32> -> tensor<2x3xf32>
  %v = dlc.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]> : tensor<6xf32>
  %1 = dlc.reshape %v : tensor<6xf32> -> tensor<3x2xf32>
  %2 = dlc.exp %one : tensor<f32>
  return %0, %1, %2 : tensor<2x3xf32>, tensor<3x2xf32>, tensor<f32>
}

// -----

// CHECK-LABEL: func.func @views
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x4xf32>)
func.func @views(%x: tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<4x2x3xf32>, tensor<24xf32>) {
  // Transposes compose: [1,2,0] then [2,0,1] is the identity.
  %0 = dlc.transpose %x, perm = [1, 2, 0] : tensor<2x3x4xf32> -> tensor<3x4x2xf32>
  %1 = dlc.transpose %0, perm = [2, 0, 1] : tensor<3x4x2xf32> -> tensor<2x3x4xf32>
  // [1,2,0] then [1,2,0] is [2,0,1].
  // CHECK-DAG: %[[T:.*]] = dlc.transpose %[[X]], perm = [2, 0, 1] : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  %2 = dlc.transpose %0, perm = [1, 2, 0] : tensor<3x4x2xf32> -> tensor<4x2x3xf32>
  // Reshape chains collapse into one reshape of the source.
  // CHECK-DAG: %[[R:.*]] = dlc.reshape %[[X]] : tensor<2x3x4xf32> -> tensor<24xf32>
  %3 = dlc.reshape %x : tensor<2x3x4xf32> -> tensor<6x4xf32>
  %4 = dlc.reshape %3 : tensor<6x4xf32> -> tensor<24xf32>
  // CHECK: return %[[X]], %[[T]], %[[R]]
  return %1, %2, %4 : tensor<2x3x4xf32>, tensor<4x2x3xf32>, tensor<24xf32>
}
