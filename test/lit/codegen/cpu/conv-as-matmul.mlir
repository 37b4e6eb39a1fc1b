// RUN: dlc-opt --dlc-lower-to-linalg --split-input-file %s | FileCheck %s
// RUN: dlc-opt --dlc-lower-to-llvm --split-input-file %s | FileCheck %s --check-prefix=CALL

// A float32 3x3 convolution on two images: one generic over the whole
// convolution (loops n, o, y, x, c, i, j), marked with its strides and
// dilations, that dlc-cpu-kernel-calls makes a call of the runtime's
// implicit-GEMM convolution: no patches, no loop over the images.
// CHECK-DAG: #[[IN:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d4, d2 + d5, d3 + d6)>
// CHECK-DAG: #[[FILTER:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1, d4, d5, d6)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @conv3x3
// CHECK-NOT: scf.for
// CHECK: linalg.generic {indexing_maps = [#[[IN]], #[[FILTER]], #[[OUT]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%{{.*}}, %{{.*}} : tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>) outs(%{{.*}} : tensor<2x4x6x6xf32>) attrs = {dlc.conv2d = array<i64: 1, 1, 1, 1>}
// CHECK-NOT: linalg.batch_matmul
// CALL-LABEL: llvm.func @conv3x3
// CALL: llvm.call @dlc_conv2d_f32
// CALL-NOT: dlc_gemm_f32
func.func @conv3x3(%x: tensor<2x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<2x4x6x6xf32> {
  %0 = dlc.conv %x, %w, strides = [1, 1], dilations = [1, 1], lhs_dilation = [1, 1],
       pad_low = [0, 0], pad_high = [0, 0], groups = 1
       : tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<2x4x6x6xf32>
  return %0 : tensor<2x4x6x6xf32>
}

// -----

// Strides and dilations go into the input's indexing and the mark.
// CHECK-DAG: #[[STRIDED:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d4, d2 * 2 + d5 * 2, d3 * 3 + d6)>
// CHECK-LABEL: func.func @strided_dilated
// CHECK: linalg.generic {indexing_maps = [#[[STRIDED]], {{.*}} attrs = {dlc.conv2d = array<i64: 2, 3, 2, 1>}
// CALL-LABEL: llvm.func @strided_dilated
// CALL: llvm.call @dlc_conv2d_f32
func.func @strided_dilated(%x: tensor<1x2x9x9xf32>, %w: tensor<5x2x3x3xf32>) -> tensor<1x5x3x3xf32> {
  %0 = dlc.conv %x, %w, strides = [2, 3], dilations = [2, 1], lhs_dilation = [1, 1],
       pad_low = [0, 0], pad_high = [0, 0], groups = 1
       : tensor<1x2x9x9xf32>, tensor<5x2x3x3xf32> -> tensor<1x5x3x3xf32>
  return %0 : tensor<1x5x3x3xf32>
}

// -----

// A 1x1 convolution needs no patches: the image is viewed as [1, C, H*W];
// one image needs no loop.
// CHECK-LABEL: func.func @conv1x1
// CHECK-NOT: linalg.generic
// CHECK-NOT: scf.for
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0], [1], [2, 3]] : tensor<1x8x5x5xf32> into tensor<1x8x25xf32>
// CHECK: linalg.batch_matmul
func.func @conv1x1(%x: tensor<1x8x5x5xf32>, %w: tensor<16x8x1x1xf32>) -> tensor<1x16x5x5xf32> {
  %0 = dlc.conv %x, %w, strides = [1, 1], dilations = [1, 1], lhs_dilation = [1, 1],
       pad_low = [0, 0], pad_high = [0, 0], groups = 1
       : tensor<1x8x5x5xf32>, tensor<16x8x1x1xf32> -> tensor<1x16x5x5xf32>
  return %0 : tensor<1x16x5x5xf32>
}

// -----

// A batch of images through a 1x1 convolution is one product batched over
// the images (no loop): [N, C, H*W] is a view of the input.
// CHECK-LABEL: func.func @conv1x1_batched
// CHECK-NOT: scf.for
// CHECK: %[[COLS:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0], [1], [2, 3]] : tensor<3x8x5x5xf32> into tensor<3x8x25xf32>
// CHECK: linalg.batch_matmul {{.*}} ins(%{{.*}}, %[[COLS]] : tensor<16x8xf32>, tensor<3x8x25xf32>) outs(%{{.*}} : tensor<3x16x25xf32>)
// CHECK-NOT: scf.for
func.func @conv1x1_batched(%x: tensor<3x8x5x5xf32>, %w: tensor<16x8x1x1xf32>) -> tensor<3x16x5x5xf32> {
  %0 = dlc.conv %x, %w, strides = [1, 1], dilations = [1, 1], lhs_dilation = [1, 1],
       pad_low = [0, 0], pad_high = [0, 0], groups = 1
       : tensor<3x8x5x5xf32>, tensor<16x8x1x1xf32> -> tensor<3x16x5x5xf32>
  return %0 : tensor<3x16x5x5xf32>
}

// -----

// A fused 1x1 convolution (a MobileNet expansion: scale, shift, ReLU6)
// whose result goes into the next convolution's padding is an implicit
// GEMM, which writes the padded interior in place, epilogue included; the
// same convolution without padding after it stays a batched product.
// CHECK-LABEL: func.func @pointwise_into_padding
// CHECK-NOT: linalg.batch_matmul
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<2x8x5x5xf32>, tensor<16x8x1x1xf32>) outs(%{{.*}} : tensor<2x16x5x5xf32>) attrs = {dlc.conv2d = array<i64: 1, 1, 1, 1>}
// CHECK: linalg.generic {{.*}} attrs = {dlc.epilogue}
// CHECK-LABEL: func.func @pointwise_not_into_padding
// CHECK: linalg.batch_matmul
// CHECK-NOT: dlc.conv2d
// CALL-LABEL: llvm.func @pointwise_into_padding
// CALL: llvm.call @dlc_conv2d_f32
// CALL-NOT: dlc_gemm_f32
// CALL: llvm.call @dlc_conv2d_f32
// CALL-LABEL: llvm.func @pointwise_not_into_padding
// CALL: llvm.call @dlc_gemm_f32
func.func @pointwise_into_padding(%x: tensor<2x8x5x5xf32>, %w: tensor<16x8x1x1xf32>,
                                  %s: tensor<16xf32>, %b: tensor<16xf32>, %lo: tensor<f32>,
                                  %hi: tensor<f32>,
                                  %w2: tensor<4x16x3x3xf32>) -> tensor<2x4x5x5xf32> {
  %0 = dlc.fused_conv %x, %w scale %s shift %b min %lo max %hi, strides = [1, 1],
       dilations = [1, 1], pad_low = [0, 0], pad_high = [0, 0]
       : (tensor<2x8x5x5xf32>, tensor<16x8x1x1xf32>, tensor<16xf32>, tensor<16xf32>,
          tensor<f32>, tensor<f32>) -> tensor<2x16x5x5xf32>
  %1 = dlc.conv %0, %w2, strides = [1, 1], dilations = [1, 1], lhs_dilation = [1, 1],
       pad_low = [1, 1], pad_high = [1, 1], groups = 1
       : tensor<2x16x5x5xf32>, tensor<4x16x3x3xf32> -> tensor<2x4x5x5xf32>
  return %1 : tensor<2x4x5x5xf32>
}
func.func @pointwise_not_into_padding(%x: tensor<2x8x5x5xf32>, %w: tensor<16x8x1x1xf32>,
                                      %s: tensor<16xf32>, %b: tensor<16xf32>)
    -> tensor<2x16x5x5xf32> {
  %0 = dlc.fused_conv %x, %w scale %s shift %b, strides = [1, 1], dilations = [1, 1],
       pad_low = [0, 0], pad_high = [0, 0]
       : (tensor<2x8x5x5xf32>, tensor<16x8x1x1xf32>, tensor<16xf32>, tensor<16xf32>)
       -> tensor<2x16x5x5xf32>
  return %0 : tensor<2x16x5x5xf32>
}

// -----

// A depthwise convolution is no product: no batch_matmul, no GEMM call;
// its marked generic becomes the runtime's depthwise kernel (below).
// CHECK-LABEL: func.func @depthwise
// CHECK-NOT: linalg.batch_matmul
// CHECK: linalg.generic {{.*}} attrs = {dlc.depthwise_conv2d = array<i64: 1, 1, 1, 1, 0, 0>}
// CALL-LABEL: llvm.func @depthwise
// CALL-NOT: dlc_gemm_f32
// CALL: llvm.call @dlc_depthwise_conv2d_f32(
func.func @depthwise(%x: tensor<1x4x6x6xf32>, %w: tensor<4x1x3x3xf32>) -> tensor<1x4x4x4xf32> {
  %0 = dlc.conv %x, %w, strides = [1, 1], dilations = [1, 1], lhs_dilation = [1, 1],
       pad_low = [0, 0], pad_high = [0, 0], groups = 4
       : tensor<1x4x6x6xf32>, tensor<4x1x3x3xf32> -> tensor<1x4x4x4xf32>
  return %0 : tensor<1x4x4x4xf32>
}

// -----

// A product with a transposed right operand reads the transpose's operand
// with transposed indexing; the transpose is left dead (the pipeline's
// canonicalizer removes it), so it is never materialized.
// CHECK-LABEL: func.func @dot_transposed
// CHECK: linalg.matmul indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}] ins(%arg0, %arg1 : tensor<2x16xf32>, tensor<8x16xf32>)
// CALL-LABEL: llvm.func @dot_transposed
// CALL: llvm.call @dlc_gemm_f32
func.func @dot_transposed(%x: tensor<2x16xf32>, %w: tensor<8x16xf32>) -> tensor<2x8xf32> {
  %t = dlc.transpose %w, perm = [1, 0] : tensor<8x16xf32> -> tensor<16x8xf32>
  %0 = dlc.dot %x, %t : tensor<2x16xf32>, tensor<16x8xf32> -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

// A float32 depthwise convolution (a group per channel): one generic with
// loops n, c, y, i, j, x over its filter viewed as [C, KH, KW], marked
// with its strides, dilations and padding above and left; its body reads
// the unpadded input (depthwise-padding.mlir has more). dlc-cpu-kernel-calls
// makes it a call of the runtime's depthwise kernel, the zero fill of its
// result folded in (its flags are checked below, with an epilogue).
// CHECK-DAG: #[[DW:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, d3, d4)>
// CHECK-DAG: #[[DOUT:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d5)>
// CHECK-LABEL: func.func @depthwise
// CHECK-NOT: tensor<2x4x10x10xf32>
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0, 1], [2], [3]] : tensor<4x1x3x3xf32> into tensor<4x3x3xf32>
// CHECK: linalg.generic {indexing_maps = [#[[DW]], #[[DOUT]]], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "parallel"]} ins(%{{.*}} : tensor<4x3x3xf32>) outs(%{{.*}} : tensor<2x4x4x4xf32>) attrs = {dlc.depthwise_conv2d = array<i64: 2, 2, 1, 1, 1, 1>}
// CHECK: tensor.extract %arg0[
// CALL-LABEL: llvm.func @depthwise
// CALL: llvm.call @dlc_depthwise_conv2d_f32(
// CALL-NOT: llvm.call @{{.*}}kernel
// CALL: llvm.return
func.func @depthwise(%x: tensor<2x4x8x8xf32>, %w: tensor<4x1x3x3xf32>) -> tensor<2x4x4x4xf32> {
  %0 = dlc.conv %x, %w, strides = [2, 2], dilations = [1, 1], lhs_dilation = [1, 1],
       pad_low = [1, 1], pad_high = [1, 1], groups = 4
       : tensor<2x4x8x8xf32>, tensor<4x1x3x3xf32> -> tensor<2x4x4x4xf32>
  return %0 : tensor<2x4x4x4xf32>
}

// -----

// A fused depthwise convolution: the generic, then its epilogue in place,
// which the call takes (overwrite, clamp min and max: flags 14); no loop
// over the result is left.
// CHECK-LABEL: func.func @depthwise_relu6
// CHECK: linalg.generic {{.*}} attrs = {dlc.depthwise_conv2d = array<i64: 1, 1, 1, 1, 1, 1>}
// CHECK: linalg.generic {{.*}} attrs = {dlc.epilogue}
// CALL-LABEL: llvm.func @depthwise_relu6
// CALL: %[[FLAGS:.*]] = llvm.mlir.constant(14 : index) : i64
// CALL: llvm.call @dlc_depthwise_conv2d_f32({{.*}}%[[FLAGS]]
// CALL-NOT: llvm.call @{{.*}}kernel
// CALL: llvm.return
func.func @depthwise_relu6(%x: tensor<1x4x6x6xf32>, %w: tensor<4x1x3x3xf32>, %s: tensor<4xf32>,
                           %lo: tensor<f32>, %hi: tensor<f32>) -> tensor<1x4x6x6xf32> {
  %0 = dlc.fused_conv %x, %w scale %s min %lo max %hi, strides = [1, 1], dilations = [1, 1],
       pad_low = [1, 1], pad_high = [1, 1] {groups = 4 : i64}
       : (tensor<1x4x6x6xf32>, tensor<4x1x3x3xf32>, tensor<4xf32>, tensor<f32>, tensor<f32>)
         -> tensor<1x4x6x6xf32>
  return %0 : tensor<1x4x6x6xf32>
}
