// RUN: dlc-opt --dlc-lower-to-linalg --canonicalize --dlc-fuse-elementwise --split-input-file %s | FileCheck %s

// A chain of elementwise ops with a broadcast bias becomes one generic;
// the splat constant becomes a scalar in its body.
// CHECK-LABEL: func.func @chain
// CHECK-DAG: %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: linalg.generic {{.*}} ins(%arg0, %arg1 : tensor<4x8xf32>, tensor<8xf32>)
// CHECK: %[[SUM:.*]] = arith.addf
// CHECK: %[[SCALED:.*]] = arith.mulf %[[SUM]], %[[HALF]]
// CHECK: arith.maximumf %[[SCALED]], %[[ZERO]]
// CHECK-NOT: linalg.generic
func.func @chain(%x: tensor<4x8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %bb = dlc.broadcast %b, dims = [1] : tensor<8xf32> -> tensor<4x8xf32>
  %0 = dlc.add %x, %bb : tensor<4x8xf32>
  %half = dlc.constant dense<0.5> : tensor<4x8xf32>
  %1 = dlc.mul %0, %half : tensor<4x8xf32>
  %zero = dlc.constant dense<0.0> : tensor<4x8xf32>
  %2 = dlc.max %1, %zero : tensor<4x8xf32>
  return %2 : tensor<4x8xf32>
}

// -----

// A convolution (a generic with reduction loops, marked for the runtime's
// convolution) is not fused with the ReLU after it: that stays a generic
// of its own (dlc-fuse-conv-epilogues, not run here, would fold it).
// CHECK-LABEL: func.func @conv_relu
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]{{.*}}dlc.conv2d = array<i64: 1, 1, 1, 1>
// CHECK: linalg.generic
// CHECK: arith.maximumf
func.func @conv_relu(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32> {
  %0 = dlc.conv %x, %w, strides = [1, 1], dilations = [1, 1], lhs_dilation = [1, 1],
       pad_low = [0, 0], pad_high = [0, 0], groups = 1
       : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<1x4x6x6xf32>
  %zero = dlc.constant dense<0.0> : tensor<1x4x6x6xf32>
  %1 = dlc.max %0, %zero : tensor<1x4x6x6xf32>
  return %1 : tensor<1x4x6x6xf32>
}

// -----

// Generics on unsigned integers are left apart.
// CHECK-LABEL: func.func @unsigned
// CHECK-COUNT-2: linalg.generic
func.func @unsigned(%x: tensor<4xui8>, %y: tensor<4xui8>) -> tensor<4xui8> {
  %0 = dlc.add %x, %y : tensor<4xui8>
  %1 = dlc.mul %0, %y : tensor<4xui8>
  return %1 : tensor<4xui8>
}

// -----

// A computing producer with two users is not fused into either (that would
// compute it twice: a residual stream feeding every later layer would be
// recomputed by each); a broadcast is fused into both, since it only moves
// values.
// CHECK-LABEL: func.func @shared
// CHECK: %[[EXP:.*]] = linalg.generic {{.*}} ins(%arg0 : tensor<4x8xf32>)
// CHECK: math.exp
// CHECK: linalg.generic {{.*}} ins(%[[EXP]], %arg1 : tensor<4x8xf32>, tensor<8xf32>)
// CHECK: arith.addf
// CHECK: linalg.generic {{.*}} ins(%[[EXP]], %arg1 : tensor<4x8xf32>, tensor<8xf32>)
// CHECK: arith.mulf
// CHECK-NOT: linalg.generic
func.func @shared(%x: tensor<4x8xf32>, %b: tensor<8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %e = dlc.exp %x : tensor<4x8xf32>
  %bb = dlc.broadcast %b, dims = [1] : tensor<8xf32> -> tensor<4x8xf32>
  %0 = dlc.add %e, %bb : tensor<4x8xf32>
  %1 = dlc.mul %e, %bb : tensor<4x8xf32>
  return %0, %1 : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// A computing producer read through a broadcast stays apart: fused, its
// square root would run once per element of the consumer (32) instead of
// once per element of its own (8), as a batch norm's per-channel factor.
// CHECK-LABEL: func.func @through_broadcast
// CHECK: %[[ROOT:.*]] = linalg.generic {{.*}} ins(%arg1 : tensor<8xf32>)
// CHECK: math.sqrt
// CHECK: linalg.generic {{.*}} ins(%arg0, %[[ROOT]] : tensor<4x8xf32>, tensor<8xf32>)
// CHECK-NOT: math.sqrt
// CHECK: arith.mulf
// CHECK-NOT: linalg.generic
func.func @through_broadcast(%x: tensor<4x8xf32>, %v: tensor<8xf32>) -> tensor<4x8xf32> {
  %s = dlc.sqrt %v : tensor<8xf32>
  %bs = dlc.broadcast %s, dims = [1] : tensor<8xf32> -> tensor<4x8xf32>
  %0 = dlc.mul %x, %bs : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// An optimizer step: the new momentum is returned and read by the
// parameter update. Its only other user is the return, so it is fused
// into the update, which yields both: one pass reads the old momentum,
// the gradient and the parameter, and writes the two new ones.
// CHECK-LABEL: func.func @momentum
// CHECK: %[[BOTH:.*]]:2 = linalg.generic {{.*}} ins(%arg2, %arg0, %arg1 : tensor<16xf32>, tensor<16xf32>, tensor<16xf32>)
// CHECK: arith.addf
// CHECK: arith.subf
// CHECK: linalg.yield
// CHECK-NOT: linalg.generic
// CHECK: return %[[BOTH]]#1, %[[BOTH]]#0
func.func @momentum(%v: tensor<16xf32>, %g: tensor<16xf32>, %p: tensor<16xf32>) -> (tensor<16xf32>, tensor<16xf32>) {
  %mu = dlc.constant dense<0.9> : tensor<16xf32>
  %scaled = dlc.mul %v, %mu : tensor<16xf32>
  %vNew = dlc.add %scaled, %g : tensor<16xf32>
  %pNew = dlc.sub %p, %vNew : tensor<16xf32>
  return %pNew, %vNew : tensor<16xf32>, tensor<16xf32>
}

// -----

// A 2×2 max pool's gradient sends each window's share to its maxima on the
// operand split as [N, C, H, 2, W, 2]. The split generic, merged back, is
// one generic over [N, C, 2H, 2W] that reads the per-window values through
// `floordiv 2`: its innermost loop runs along a row of 8, not a window's 2.
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[WINDOW:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2 floordiv 2, d3 floordiv 2)>
// CHECK-LABEL: func.func @pool_gradient_share
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<2x3x4x8xf32>{{.*}}, %[[MAX:[a-z0-9]+]]: tensor<2x3x2x4xf32>{{.*}}, %[[SHARE:[a-z0-9]+]]: tensor<2x3x2x4xf32>
// CHECK-NOT: tensor.expand_shape
// CHECK: %[[R:.*]] = linalg.generic {indexing_maps = [#[[ROW]], #[[WINDOW]], #[[WINDOW]], #[[ROW]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%[[X]], %[[MAX]], %[[SHARE]] : tensor<2x3x4x8xf32>, tensor<2x3x2x4xf32>, tensor<2x3x2x4xf32>) outs(%{{.*}} : tensor<2x3x4x8xf32>)
// CHECK: arith.cmpf oeq
// CHECK-NOT: tensor.collapse_shape
// CHECK: return %[[R]]
func.func @pool_gradient_share(%x: tensor<2x3x4x8xf32>, %max: tensor<2x3x2x4xf32>,
                               %share: tensor<2x3x2x4xf32>) -> tensor<2x3x4x8xf32> {
  %split = dlc.reshape %x : tensor<2x3x4x8xf32> -> tensor<2x3x2x2x4x2xf32>
  %m = dlc.broadcast %max, dims = [0, 1, 2, 4] : tensor<2x3x2x4xf32> -> tensor<2x3x2x2x4x2xf32>
  %s = dlc.broadcast %share, dims = [0, 1, 2, 4] : tensor<2x3x2x4xf32> -> tensor<2x3x2x2x4x2xf32>
  %hit = dlc.compare eq %split, %m : tensor<2x3x2x2x4x2xf32> -> tensor<2x3x2x2x4x2xi1>
  %one = dlc.convert %hit : tensor<2x3x2x2x4x2xi1> -> tensor<2x3x2x2x4x2xf32>
  %g = dlc.mul %one, %s : tensor<2x3x2x2x4x2xf32>
  %merged = dlc.reshape %g : tensor<2x3x2x2x4x2xf32> -> tensor<2x3x4x8xf32>
  return %merged : tensor<2x3x4x8xf32>
}
