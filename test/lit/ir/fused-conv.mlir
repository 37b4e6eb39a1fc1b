// RUN: dlc-opt %s --split-input-file --verify-diagnostics | FileCheck %s
// dlc.fused_conv round-trips with any subset of its epilogue terms, and its
// verifier explains what is wrong.

// CHECK-LABEL: func.func @all_terms
// CHECK: dlc.fused_conv %arg0, %arg1 scale %arg2 shift %arg3 residual %arg4 min %arg5 max %arg6, strides = [2, 2], dilations = [1, 1], pad_low = [1, 1], pad_high = [0, 0]
func.func @all_terms(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %s: tensor<4xf32>, %b: tensor<4xf32>,
                     %r: tensor<1x4x4x4xf32>, %lo: tensor<f32>, %hi: tensor<f32>) -> tensor<1x4x4x4xf32> {
  %0 = dlc.fused_conv %x, %w scale %s shift %b residual %r min %lo max %hi, strides = [2, 2], dilations = [1, 1], pad_low = [1, 1], pad_high = [0, 0]
      : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<1x4x4x4xf32>, tensor<f32>, tensor<f32>) -> tensor<1x4x4x4xf32>
  return %0 : tensor<1x4x4x4xf32>
}

// CHECK-LABEL: func.func @shift_only
// CHECK: dlc.fused_conv %arg0, %arg1 shift %arg2, strides
func.func @shift_only(%x: tensor<2x3x5x5xf32>, %w: tensor<4x3x1x1xf32>, %b: tensor<4xf32>) -> tensor<2x4x5x5xf32> {
  %0 = dlc.fused_conv %x, %w shift %b, strides = [1, 1], dilations = [1, 1], pad_low = [0, 0], pad_high = [0, 0]
      : (tensor<2x3x5x5xf32>, tensor<4x3x1x1xf32>, tensor<4xf32>) -> tensor<2x4x5x5xf32>
  return %0 : tensor<2x4x5x5xf32>
}

// -----

func.func @wrong_result(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32> {
  // expected-error @+1 {{result should have shape 1x4x6x6, not 1x4x8x8}}
  %0 = dlc.fused_conv %x, %w, strides = [1, 1], dilations = [1, 1], pad_low = [0, 0], pad_high = [0, 0]
      : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
  return %0 : tensor<1x4x8x8xf32>
}

// -----

func.func @wrong_scale(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x1x1xf32>, %s: tensor<3xf32>) -> tensor<1x4x8x8xf32> {
  // expected-error @+1 {{scale must be float32 of shape 4, not 'tensor<3xf32>'}}
  %0 = dlc.fused_conv %x, %w scale %s, strides = [1, 1], dilations = [1, 1], pad_low = [0, 0], pad_high = [0, 0]
      : (tensor<1x3x8x8xf32>, tensor<4x3x1x1xf32>, tensor<3xf32>) -> tensor<1x4x8x8xf32>
  return %0 : tensor<1x4x8x8xf32>
}

// -----

func.func @grouped(%x: tensor<1x4x8x8xf32>, %w: tensor<4x1x1x1xf32>) -> tensor<1x4x8x8xf32> {
  // expected-error @+1 {{'dlc.fused_conv' with 1 groups cannot take 4 input channels with a filter of shape 4x1x1x1}}
  %0 = dlc.fused_conv %x, %w, strides = [1, 1], dilations = [1, 1], pad_low = [0, 0], pad_high = [0, 0]
      : (tensor<1x4x8x8xf32>, tensor<4x1x1x1xf32>) -> tensor<1x4x8x8xf32>
  return %0 : tensor<1x4x8x8xf32>
}

// -----

func.func @float64(%x: tensor<1x3x8x8xf64>, %w: tensor<4x3x1x1xf64>) -> tensor<1x4x8x8xf64> {
  // expected-error @+1 {{takes float32 tensors only}}
  %0 = dlc.fused_conv %x, %w, strides = [1, 1], dilations = [1, 1], pad_low = [0, 0], pad_high = [0, 0]
      : (tensor<1x3x8x8xf64>, tensor<4x3x1x1xf64>) -> tensor<1x4x8x8xf64>
  return %0 : tensor<1x4x8x8xf64>
}

// -----

func.func @filter_too_big(%x: tensor<1x3x2x2xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x1x1xf32> {
  // expected-error @+1 {{'dlc.fused_conv' filter of spatial size 3 does not fit the padded input in dimension 2}}
  %0 = dlc.fused_conv %x, %w, strides = [1, 1], dilations = [1, 1], pad_low = [0, 0], pad_high = [0, 0]
      : (tensor<1x3x2x2xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x1x1xf32>
  return %0 : tensor<1x4x1x1xf32>
}
