// RUN: dlc-opt %s --split-input-file --verify-diagnostics
// The structural ops' shape rules explain what is wrong.

func.func @select_shape(%c: tensor<3xi1>, %a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{all non-scalar operands/results must have the same shape and base type}}
  %0 = dlc.select %c, %a, %a : tensor<3xi1>, tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @convert_shape(%a: tensor<4xf32>) -> tensor<5xi32> {
  // expected-error @+1 {{all non-scalar operands/results must have the same shape and base type}}
  %0 = dlc.convert %a : tensor<4xf32> -> tensor<5xi32>
  return %0 : tensor<5xi32>
}

// -----

func.func @slice_bounds(%a: tensor<4xf32>) -> tensor<2xf32> {
  // expected-error @+2 {{'dlc.slice' dimension 0 of size 4 cannot be sliced from 2 to 6 by 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = dlc.slice %a, start = [2], limit = [6], strides = [2] : tensor<4xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @concat_mismatch(%a: tensor<2x3xf32>, %b: tensor<2x4xf32>) -> tensor<4x3xf32> {
  // expected-error @+2 {{'dlc.concat' operands 'tensor<2x3xf32>' and 'tensor<2x4xf32>' differ outside dimension 0}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = dlc.concat(%a, %b) dim = 0 : tensor<2x3xf32>, tensor<2x4xf32> -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

func.func @pad_negative(%a: tensor<4xf32>, %z: tensor<f32>) -> tensor<3xf32> {
  // expected-error @+2 {{'dlc.pad' pads must not be negative, got -1 and 0 in dimension 0}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = dlc.pad %a, %z, low = [-1], high = [0] : tensor<4xf32>, tensor<f32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @gather_axis(%a: tensor<4xf32>, %i: tensor<2xi64>) -> tensor<2xf32> {
  // expected-error @+2 {{'dlc.gather' axis 1 is not a dimension of 'tensor<4xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = dlc.gather %a, %i, axis = 1 : tensor<4xf32>, tensor<2xi64> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @scatter_rank(%a: tensor<2x2xf32>, %i: tensor<2xi64>, %u: tensor<2xf32>) -> tensor<2x2xf32> {
  // The result type is inferred while parsing, so there is one error.
  // expected-error @+1 {{'dlc.scatter' works on rank-1 tensors}}
  %0 = dlc.scatter none %a, %i, %u : tensor<2x2xf32>, tensor<2xi64>, tensor<2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

func.func @conv_groups(%x: tensor<1x4x8x8xf32>, %w: tensor<6x3x3x3xf32>) -> tensor<1x6x6x6xf32> {
  // expected-error @+2 {{'dlc.conv' with 1 groups cannot take 4 input channels with a filter of shape 6x3x3x3}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = dlc.conv %x, %w, strides = [1, 1], dilations = [1, 1], lhs_dilation = [1, 1], pad_low = [0, 0], pad_high = [0, 0], groups = 1 : tensor<1x4x8x8xf32>, tensor<6x3x3x3xf32> -> tensor<1x6x6x6xf32>
  return %0 : tensor<1x6x6x6xf32>
}

// -----

func.func @window_too_large(%x: tensor<1x1x2x2xf32>) -> tensor<1x1x1x1xf32> {
  // expected-error @+2 {{'dlc.reduce_window' window of size 3 does not fit dimension 2 of size 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = dlc.reduce_window sum %x, window = [1, 1, 3, 3], strides = [1, 1, 1, 1], dilations = [1, 1, 1, 1], pad_low = [0, 0, 0, 0], pad_high = [0, 0, 0, 0] : tensor<1x1x2x2xf32> -> tensor<1x1x1x1xf32>
  return %0 : tensor<1x1x1x1xf32>
}

// -----

func.func @top_k_too_many(%x: tensor<3xf32>) -> (tensor<4xf32>, tensor<4xi64>) {
  // expected-error @+2 {{'dlc.top_k' k = 4 is not in [0, 3]}}
  // expected-error @+1 {{failed to infer returned types}}
  %v, %i = dlc.top_k %x, k = 4, dim = 0, largest = true : tensor<3xf32> -> tensor<4xf32>, tensor<4xi64>
  return %v, %i : tensor<4xf32>, tensor<4xi64>
}

// -----

func.func @iota_dim() -> tensor<2xi64> {
  // expected-error @+1 {{dim 1 is not a dimension of 'tensor<2xi64>'}}
  %0 = dlc.iota dim = 1 : tensor<2xi64>
  return %0 : tensor<2xi64>
}
