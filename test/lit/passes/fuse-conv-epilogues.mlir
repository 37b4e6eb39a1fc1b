// RUN: dlc-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(dlc-fuse-conv-epilogues))' | FileCheck %s

// A batch norm in inference form, then ReLU6 with bounds from weights:
// (c - mean) · s + b composes into scale s and shift (-mean) · s + b.
// CHECK-LABEL: func.func @batch_norm_relu6
// CHECK-SAME: (%[[X:.*]]: tensor<1x3x8x8xf32>, %[[W:.*]]: tensor<4x3x3x3xf32>, %[[MEAN:.*]]: tensor<4xf32>, %[[S:.*]]: tensor<4xf32>, %[[B:.*]]: tensor<4xf32>, %[[LO:.*]]: tensor<f32>, %[[HI:.*]]: tensor<f32>)
// CHECK: %[[NEG:.*]] = dlc.neg %[[MEAN]]
// CHECK: %[[SHIFTED:.*]] = dlc.mul %[[NEG]], %[[S]]
// CHECK: %[[SHIFT:.*]] = dlc.add %[[SHIFTED]], %[[B]]
// CHECK: %[[R:.*]] = dlc.fused_conv %[[X]], %[[W]] scale %[[S]] shift %[[SHIFT]] min %[[LO]] max %[[HI]], strides = [1, 1], dilations = [1, 1], pad_low = [1, 1], pad_high = [1, 1]
// CHECK-NOT: dlc.conv
// CHECK-NOT: dlc.max
// CHECK: return %[[R]]
func.func @batch_norm_relu6(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %mean: tensor<4xf32>,
                            %s: tensor<4xf32>, %b: tensor<4xf32>, %lo: tensor<f32>,
                            %hi: tensor<f32>) -> tensor<1x4x8x8xf32> {
  %c = dlc.conv %x, %w, strides = [1, 1], dilations = [1, 1], lhs_dilation = [1, 1], pad_low = [1, 1], pad_high = [1, 1], groups = 1 : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<1x4x8x8xf32>
  %mb = dlc.broadcast %mean, dims = [1] : tensor<4xf32> -> tensor<1x4x8x8xf32>
  %0 = dlc.sub %c, %mb : tensor<1x4x8x8xf32>
  %sb = dlc.broadcast %s, dims = [1] : tensor<4xf32> -> tensor<1x4x8x8xf32>
  %1 = dlc.mul %0, %sb : tensor<1x4x8x8xf32>
  %bb = dlc.broadcast %b, dims = [1] : tensor<4xf32> -> tensor<1x4x8x8xf32>
  %2 = dlc.add %bb, %1 : tensor<1x4x8x8xf32>
  %lb = dlc.broadcast %lo, dims = [] : tensor<f32> -> tensor<1x4x8x8xf32>
  %3 = dlc.max %2, %lb : tensor<1x4x8x8xf32>
  %hb = dlc.broadcast %hi, dims = [] : tensor<f32> -> tensor<1x4x8x8xf32>
  %4 = dlc.min %3, %hb : tensor<1x4x8x8xf32>
  return %4 : tensor<1x4x8x8xf32>
}

// -----

// A bias of shape [1, O, 1, 1], a residual connection and a ReLU with a
// splat zero constant (as ONNX imports them); a per-channel addition may
// follow the residual.
// CHECK-LABEL: func.func @bias_residual_relu
// CHECK-SAME: (%[[X:.*]]: tensor<2x4x6x6xf32>, %[[W:.*]]: tensor<8x4x1x1xf32>, %[[BIAS:.*]]: tensor<1x8x1x1xf32>, %[[RES:.*]]: tensor<2x8x6x6xf32>)
// CHECK: %[[B:.*]] = dlc.reshape %[[BIAS]] : tensor<1x8x1x1xf32> -> tensor<8xf32>
// CHECK: %[[B2:.*]] = dlc.reshape %[[BIAS]] : tensor<1x8x1x1xf32> -> tensor<8xf32>
// CHECK: %[[SHIFT:.*]] = dlc.add %[[B]], %[[B2]]
// CHECK: %[[ZERO:.*]] = dlc.constant dense<0.000000e+00> : tensor<f32>
// CHECK: dlc.fused_conv %[[X]], %[[W]] shift %[[SHIFT]] residual %[[RES]] min %[[ZERO]], strides = [1, 1]
// CHECK-NOT: dlc.add %{{.*}} : tensor<2x8x6x6xf32>
func.func @bias_residual_relu(%x: tensor<2x4x6x6xf32>, %w: tensor<8x4x1x1xf32>, %bias: tensor<1x8x1x1xf32>,
                              %res: tensor<2x8x6x6xf32>) -> tensor<2x8x6x6xf32> {
  %c = dlc.conv %x, %w, strides = [1, 1], dilations = [1, 1], lhs_dilation = [1, 1], pad_low = [0, 0], pad_high = [0, 0], groups = 1 : tensor<2x4x6x6xf32>, tensor<8x4x1x1xf32> -> tensor<2x8x6x6xf32>
  %bb = dlc.broadcast %bias, dims = [0, 1, 2, 3] : tensor<1x8x1x1xf32> -> tensor<2x8x6x6xf32>
  %0 = dlc.add %c, %bb : tensor<2x8x6x6xf32>
  %1 = dlc.add %res, %0 : tensor<2x8x6x6xf32>
  %2 = dlc.add %1, %bb : tensor<2x8x6x6xf32>
  %zero = dlc.constant dense<0.0> : tensor<2x8x6x6xf32>
  %3 = dlc.max %2, %zero : tensor<2x8x6x6xf32>
  return %3 : tensor<2x8x6x6xf32>
}

// -----

// What stays outside: a scale after the residual ((c + r) · s is not
// c · s' + b'), a convolution whose result has two users, grouped
// convolutions other than depthwise ones, and a max after a min (only the
// min folds).
// CHECK-LABEL: func.func @not_fused
// CHECK: dlc.fused_conv %{{.*}}, %{{.*}} residual %{{.*}}, strides
// CHECK: dlc.mul
// CHECK: dlc.conv {{.*}} groups = 1
// CHECK: dlc.add
// CHECK: dlc.add
// CHECK: dlc.conv {{.*}} groups = 2
// CHECK: dlc.max
// CHECK: dlc.fused_conv %{{.*}}, %{{.*}} max %{{.*}}, strides
// CHECK: dlc.max
func.func @not_fused(%x: tensor<1x4x6x6xf32>, %w: tensor<4x4x1x1xf32>, %gw: tensor<4x2x3x3xf32>,
                     %res: tensor<1x4x6x6xf32>, %s: tensor<4xf32>) -> (tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>) {
  %c0 = dlc.conv %x, %w, strides = [1, 1], dilations = [1, 1], lhs_dilation = [1, 1], pad_low = [0, 0], pad_high = [0, 0], groups = 1 : tensor<1x4x6x6xf32>, tensor<4x4x1x1xf32> -> tensor<1x4x6x6xf32>
  %r0 = dlc.add %c0, %res : tensor<1x4x6x6xf32>
  %sb = dlc.broadcast %s, dims = [1] : tensor<4xf32> -> tensor<1x4x6x6xf32>
  %m0 = dlc.mul %r0, %sb : tensor<1x4x6x6xf32>
  %c1 = dlc.conv %x, %w, strides = [1, 1], dilations = [1, 1], lhs_dilation = [1, 1], pad_low = [0, 0], pad_high = [0, 0], groups = 1 : tensor<1x4x6x6xf32>, tensor<4x4x1x1xf32> -> tensor<1x4x6x6xf32>
  %a1 = dlc.add %c1, %res : tensor<1x4x6x6xf32>
  %b1 = dlc.add %c1, %a1 : tensor<1x4x6x6xf32>
  %c2 = dlc.conv %x, %gw, strides = [1, 1], dilations = [1, 1], lhs_dilation = [1, 1], pad_low = [1, 1], pad_high = [1, 1], groups = 2 : tensor<1x4x6x6xf32>, tensor<4x2x3x3xf32> -> tensor<1x4x6x6xf32>
  %zero = dlc.constant dense<0.0> : tensor<1x4x6x6xf32>
  %d2 = dlc.max %c2, %zero : tensor<1x4x6x6xf32>
  %c3 = dlc.conv %x, %w, strides = [1, 1], dilations = [1, 1], lhs_dilation = [1, 1], pad_low = [0, 0], pad_high = [0, 0], groups = 1 : tensor<1x4x6x6xf32>, tensor<4x4x1x1xf32> -> tensor<1x4x6x6xf32>
  %six = dlc.constant dense<6.0> : tensor<1x4x6x6xf32>
  %e3 = dlc.min %c3, %six : tensor<1x4x6x6xf32>
  %f3 = dlc.max %e3, %zero : tensor<1x4x6x6xf32>
  return %m0, %b1, %d2, %f3 : tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>
}

// -----

// A chain whose result goes into the next convolution's padding folds too:
// the convolution's kernel writes the padded interior in place (a 1x1
// convolution through the implicit GEMM, see conv-as-matmul.mlir).
// CHECK-LABEL: func.func @into_padding
// CHECK: %[[F:.*]] = dlc.fused_conv %{{.*}}, %{{.*}} scale %{{.*}} min %{{.*}} max %{{.*}}, strides = [1, 1], dilations = [1, 1], pad_low = [0, 0], pad_high = [0, 0]
// CHECK-NOT: dlc.max
// CHECK: dlc.conv %[[F]], {{.*}} pad_low = [1, 1], pad_high = [1, 1], groups = 4
func.func @into_padding(%x: tensor<1x4x6x6xf32>, %w: tensor<4x4x1x1xf32>, %dw: tensor<4x1x3x3xf32>,
                        %s: tensor<4xf32>) -> tensor<1x4x6x6xf32> {
  %c = dlc.conv %x, %w, strides = [1, 1], dilations = [1, 1], lhs_dilation = [1, 1], pad_low = [0, 0], pad_high = [0, 0], groups = 1 : tensor<1x4x6x6xf32>, tensor<4x4x1x1xf32> -> tensor<1x4x6x6xf32>
  %sb = dlc.broadcast %s, dims = [1] : tensor<4xf32> -> tensor<1x4x6x6xf32>
  %m = dlc.mul %c, %sb : tensor<1x4x6x6xf32>
  %zero = dlc.constant dense<0.0> : tensor<1x4x6x6xf32>
  %r = dlc.max %m, %zero : tensor<1x4x6x6xf32>
  %six = dlc.constant dense<6.0> : tensor<1x4x6x6xf32>
  %r6 = dlc.min %r, %six : tensor<1x4x6x6xf32>
  %d = dlc.conv %r6, %dw, strides = [1, 1], dilations = [1, 1], lhs_dilation = [1, 1], pad_low = [1, 1], pad_high = [1, 1], groups = 4 : tensor<1x4x6x6xf32>, tensor<4x1x3x3xf32> -> tensor<1x4x6x6xf32>
  return %d : tensor<1x4x6x6xf32>
}

// -----

// A depthwise convolution (a group per channel) takes its batch norm and
// ReLU6 too: the group keeps its count.
// CHECK-LABEL: func.func @depthwise
// CHECK: dlc.fused_conv %{{.*}}, %{{.*}} scale %{{.*}} shift %{{.*}} min %{{.*}} max %{{.*}}, strides = [2, 2], dilations = [1, 1], pad_low = [1, 1], pad_high = [1, 1] {groups = 4 : i64}
// CHECK-NOT: dlc.max
// CHECK-NOT: dlc.min
func.func @depthwise(%x: tensor<1x4x8x8xf32>, %dw: tensor<4x1x3x3xf32>, %s: tensor<4xf32>,
                     %b: tensor<4xf32>) -> tensor<1x4x4x4xf32> {
  %c = dlc.conv %x, %dw, strides = [2, 2], dilations = [1, 1], lhs_dilation = [1, 1], pad_low = [1, 1], pad_high = [1, 1], groups = 4 : tensor<1x4x8x8xf32>, tensor<4x1x3x3xf32> -> tensor<1x4x4x4xf32>
  %sb = dlc.broadcast %s, dims = [1] : tensor<4xf32> -> tensor<1x4x4x4xf32>
  %m = dlc.mul %c, %sb : tensor<1x4x4x4xf32>
  %bb = dlc.broadcast %b, dims = [1] : tensor<4xf32> -> tensor<1x4x4x4xf32>
  %a = dlc.add %m, %bb : tensor<1x4x4x4xf32>
  %zero = dlc.constant dense<0.0> : tensor<1x4x4x4xf32>
  %r = dlc.max %a, %zero : tensor<1x4x4x4xf32>
  %six = dlc.constant dense<6.0> : tensor<1x4x4x4xf32>
  %r6 = dlc.min %r, %six : tensor<1x4x4x4xf32>
  return %r6 : tensor<1x4x4x4xf32>
}
