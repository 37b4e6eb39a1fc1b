// RUN: dlc-opt %s --split-input-file --verify-diagnostics

func.func @out_of_range(%a: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error @+2 {{'dlc.reduce' dims[0] = 2 is not a dimension of the operand (rank 2)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = dlc.reduce sum %a, dims = [2] : tensor<2x3xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @unsorted(%a: tensor<2x3xf32>) -> tensor<f32> {
  // expected-error @+2 {{'dlc.reduce' dims must be sorted and distinct, got [1, 0]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = dlc.reduce sum %a, dims = [1, 0] : tensor<2x3xf32> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @unknown_kind(%a: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'kind' [sum, prod, max, min]}}
  %0 = dlc.reduce mean %a, dims = [1] : tensor<2x3xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
