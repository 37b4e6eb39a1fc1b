// RUN: dlc-opt %s --split-input-file --verify-diagnostics

func.func @inner(%a: tensor<4x16xf32>, %b: tensor<15x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+2 {{'dlc.dot' contracts lhs dimension of size 16 with rhs dimension of size 15 (4x16 times 15x8)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = dlc.dot %a, %b : tensor<4x16xf32>, tensor<15x8xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @batch(%a: tensor<2x4x5xf32>, %b: tensor<3x5x6xf32>) -> tensor<2x4x6xf32> {
  // expected-error @+2 {{'dlc.dot' batch dimensions differ: 2x4x5 and 3x5x6}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = dlc.dot %a, %b : tensor<2x4x5xf32>, tensor<3x5x6xf32> -> tensor<2x4x6xf32>
  return %0 : tensor<2x4x6xf32>
}

// -----

func.func @rank(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<f32> {
  // expected-error @+2 {{'dlc.dot' needs operands of one rank, at least 2; got 4 and 4}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = dlc.dot %a, %b : tensor<4xf32>, tensor<4xf32> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @types(%a: tensor<2x2xf32>, %b: tensor<2x2xf64>) -> tensor<2x2xf32> {
  // expected-error @+2 {{'dlc.dot' operands have different element types: 'f32' and 'f64'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = dlc.dot %a, %b : tensor<2x2xf32>, tensor<2x2xf64> -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}
