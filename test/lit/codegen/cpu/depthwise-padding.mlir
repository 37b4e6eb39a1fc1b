// RUN: dlc-opt --dlc-lower-to-linalg --split-input-file %s | FileCheck %s
// RUN: dlc-opt --dlc-lower-to-llvm --split-input-file %s | FileCheck %s --check-prefix=CALL

// MobileNet's block: a pointwise expansion feeding a padded depthwise
// convolution. The depthwise generic reads its input itself, with bounds
// checks (zero outside), so the padding is never stored: the expansion
// stays a GEMM into a dense [N, O, H·W] result (no insert into a
// zero-filled bigger tensor, no implicit GEMM); the product and the
// depthwise convolution then run as one call (dlc-cpu-pair-kernels), whose
// last arguments are the input's height and width and the padding above
// and left (all four different here, so that a swap shows).
// CHECK-LABEL: func.func @expand_depthwise
// CHECK-NOT: tensor<1x8x7x8xf32>
// CHECK: linalg.batch_matmul
// CHECK-NOT: dlc.conv2d
// CHECK: %[[W:.*]] = tensor.collapse_shape %arg3
// CHECK: linalg.generic {{.*}} ins(%[[W]] : tensor<8x3x3xf32>) outs(%{{.*}} : tensor<1x8x3x3xf32>) attrs = {dlc.depthwise_conv2d = array<i64: 2, 2, 1, 1, 1, 2>}
// CHECK: arith.cmpi ult, %{{.*}}, %c6
// CHECK: arith.cmpi ult, %{{.*}}, %c5
// CHECK: tensor.extract %[[EXPANDED:.*]][
// CHECK: linalg.generic {{.*}} attrs = {dlc.epilogue}
// CALL-LABEL: llvm.func @expand_depthwise
// CALL-DAG: %[[ONE:.*]] = llvm.mlir.constant(1 : index) : i64
// CALL-DAG: %[[TWO:.*]] = llvm.mlir.constant(2 : index) : i64
// CALL-DAG: %[[FIVE:.*]] = llvm.mlir.constant(5 : index) : i64
// CALL-DAG: %[[SIX:.*]] = llvm.mlir.constant(6 : index) : i64
// CALL-NOT: llvm.call @dlc_conv2d_f32
// CALL-NOT: llvm.call @dlc_gemm_f32(
// CALL: llvm.call @dlc_expand_depthwise_f32({{.*}}, %[[SIX]], %[[FIVE]], %[[ONE]], %[[TWO]]) :
// CALL-NOT: llvm.call @{{.*}}kernel
// CALL: llvm.return
func.func @expand_depthwise(%x: tensor<1x4x6x5xf32>, %we: tensor<8x4x1x1xf32>, %s: tensor<8xf32>,
                            %w: tensor<8x1x3x3xf32>, %lo: tensor<f32>, %hi: tensor<f32>)
    -> tensor<1x8x3x3xf32> {
  %0 = dlc.fused_conv %x, %we scale %s min %lo max %hi, strides = [1, 1], dilations = [1, 1],
       pad_low = [0, 0], pad_high = [0, 0]
       : (tensor<1x4x6x5xf32>, tensor<8x4x1x1xf32>, tensor<8xf32>, tensor<f32>, tensor<f32>)
         -> tensor<1x8x6x5xf32>
  %1 = dlc.fused_conv %0, %w scale %s min %lo max %hi, strides = [2, 2], dilations = [1, 1],
       pad_low = [1, 2], pad_high = [0, 1] {groups = 8 : i64}
       : (tensor<1x8x6x5xf32>, tensor<8x1x3x3xf32>, tensor<8xf32>, tensor<f32>, tensor<f32>)
         -> tensor<1x8x3x3xf32>
  return %1 : tensor<1x8x3x3xf32>
}

// -----

// With input dilation (a strided convolution's input gradient) the input
// is still copied, spread out and padded, into a zero-filled tensor, and
// the generic reads that with no padding of its own.
// CHECK-LABEL: func.func @dilated_input
// CHECK: tensor.insert_slice %arg0 into %{{.*}}[0, 0, 2, 2] [1, 3, 4, 4] [1, 1, 2, 2] : tensor<1x3x4x4xf32> into tensor<1x3x11x11xf32>
// CHECK: linalg.generic {{.*}} attrs = {dlc.depthwise_conv2d = array<i64: 1, 1, 1, 1, 0, 0>}
// CALL-LABEL: llvm.func @dilated_input
// CALL: llvm.call @dlc_depthwise_conv2d_f32(
func.func @dilated_input(%x: tensor<1x3x4x4xf32>, %w: tensor<3x1x3x3xf32>) -> tensor<1x3x9x9xf32> {
  %0 = dlc.conv %x, %w, strides = [1, 1], dilations = [1, 1], lhs_dilation = [2, 2],
       pad_low = [2, 2], pad_high = [2, 2], groups = 3
       : tensor<1x3x4x4xf32>, tensor<3x1x3x3xf32> -> tensor<1x3x9x9xf32>
  return %0 : tensor<1x3x9x9xf32>
}

// -----

// An input without elements (all its rows are padding) is copied into a
// zero tensor as before: the generic's body would read the input at
// (0, 0) even for the padding, and there is no such element.
// CHECK-LABEL: func.func @empty_input
// CHECK: tensor.insert_slice %arg0 into %{{.*}}[0, 0, 2, 1] [1, 2, 0, 3] [1, 1, 1, 1] : tensor<1x2x0x3xf32> into tensor<1x2x4x5xf32>
// CHECK: linalg.generic {{.*}} attrs = {dlc.depthwise_conv2d = array<i64: 1, 1, 1, 1, 0, 0>}
func.func @empty_input(%x: tensor<1x2x0x3xf32>, %w: tensor<2x1x3x3xf32>) -> tensor<1x2x2x3xf32> {
  %0 = dlc.conv %x, %w, strides = [1, 1], dilations = [1, 1], lhs_dilation = [1, 1],
       pad_low = [2, 1], pad_high = [2, 1], groups = 2
       : tensor<1x2x0x3xf32>, tensor<2x1x3x3xf32> -> tensor<1x2x2x3xf32>
  return %0 : tensor<1x2x2x3xf32>
}
