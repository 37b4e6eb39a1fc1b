// RUN: dlc-opt %s --canonicalize --split-input-file | FileCheck %s
// Shape subgraphs fold: gathers, slices, concats, conversions and
// comparisons of constants become constants.

// CHECK-LABEL: func.func @shape_arithmetic
func.func @shape_arithmetic() -> (tensor<2xi64>, tensor<3xi32>, tensor<2xi1>, tensor<f32>) {
  // CHECK-DAG: dlc.constant dense<[6, 4]> : tensor<2xi64>
  // CHECK-DAG: dlc.constant dense<[2, 4, 6]> : tensor<3xi32>
  // CHECK-DAG: dlc.constant dense<[true, false]> : tensor<2xi1>
  // CHECK-DAG: dlc.constant dense<2.400000e+01> : tensor<f32>
  // CHECK-NOT: dlc.gather
  // CHECK-NOT: dlc.concat
  // CHECK-NOT: dlc.slice
  // CHECK-NOT: dlc.reduce
  %shape = dlc.constant dense<[2, 3, 4]> : tensor<3xi64>
  %i = dlc.constant dense<[2]> : tensor<1xi64>
  %last = dlc.gather %shape, %i, axis = 0 : tensor<3xi64>, tensor<1xi64> -> tensor<1xi64>
  %six = dlc.constant dense<[6]> : tensor<1xi64>
  %0 = dlc.concat(%six, %last) dim = 0 : tensor<1xi64>, tensor<1xi64> -> tensor<2xi64>
  %iota = dlc.iota dim = 0 : tensor<4xi32>
  %s = dlc.slice %iota, start = [1], limit = [4], strides = [1] : tensor<4xi32> -> tensor<3xi32>
  %1 = dlc.add %s, %s : tensor<3xi32>
  %two = dlc.constant dense<[2, 9]> : tensor<2xi64>
  %2 = dlc.compare lt %two, %0 : tensor<2xi64> -> tensor<2xi1>
  %f = dlc.convert %shape : tensor<3xi64> -> tensor<3xf32>
  %3 = dlc.reduce prod %f, dims = [0] : tensor<3xf32> -> tensor<f32>
  return %0, %1, %2, %3 : tensor<2xi64>, tensor<3xi32>, tensor<2xi1>, tensor<f32>
}

// -----

// CHECK-LABEL: func.func @select_and_convert
func.func @select_and_convert(%a: tensor<2xf32>, %b: tensor<2xf32>) -> (tensor<2xf32>, tensor<3xi8>) {
  // A constant condition picks a branch.
  %t = dlc.constant dense<true> : tensor<2xi1>
  %0 = dlc.select %t, %a, %b : tensor<2xi1>, tensor<2xf32>
  // Float to integer rounds toward zero.
  // CHECK: dlc.constant dense<[-1, 2, 0]> : tensor<3xi8>
  %f = dlc.constant dense<[-1.7, 2.9, 0.2]> : tensor<3xf32>
  %1 = dlc.convert %f : tensor<3xf32> -> tensor<3xi8>
  // CHECK: return %{{.*}}, %{{.*}} : tensor<2xf32>, tensor<3xi8>
  // CHECK-NOT: dlc.select
  return %0, %1 : tensor<2xf32>, tensor<3xi8>
}
