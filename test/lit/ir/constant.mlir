// RUN: dlc-opt %s | FileCheck %s
// RUN: dlc-opt %s --emit-bytecode | dlc-opt | FileCheck %s

// CHECK-LABEL: func.func @constants
func.func @constants() -> (tensor<2xf32>, tensor<2x2xi64>, tensor<f64>) {
  // CHECK: dlc.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
  %0 = dlc.constant dense<[1.0, 2.0]> : tensor<2xf32>
  // CHECK: dlc.constant dense<{{\[\[}}1, 2], [3, 4]]> : tensor<2x2xi64>
  %1 = dlc.constant dense<[[1, 2], [3, 4]]> : tensor<2x2xi64>
  // CHECK: dlc.constant dense<5.000000e-01> : tensor<f64>
  %2 = dlc.constant dense<0.5> : tensor<f64>
  return %0, %1, %2 : tensor<2xf32>, tensor<2x2xi64>, tensor<f64>
}
