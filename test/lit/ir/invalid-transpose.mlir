// RUN: dlc-opt %s --split-input-file --verify-diagnostics
// A shape rule that fails reports why, then that inference failed.

func.func @not_a_permutation(%a: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+2 {{'dlc.transpose' perm [0, 0] is not a permutation of the operand's 2 dimensions}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = dlc.transpose %a, perm = [0, 0] : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @wrong_result(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{inferred type(s) 'tensor<3x2xf32>' are incompatible with return type(s) of operation 'tensor<2x3xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = dlc.transpose %a, perm = [1, 0] : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}
