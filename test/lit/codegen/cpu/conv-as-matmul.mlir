// RUN: dlc-opt --dlc-lower-to-linalg --split-input-file %s | FileCheck %s
// RUN: dlc-opt --dlc-lower-to-llvm --split-input-file %s | FileCheck %s --check-prefix=CALL

// A float32 3x3 convolution on two images: a loop over the images, each
// im2col'd into patches and multiplied by the filter in one batch_matmul
// whose filter operand has no batch dimension; the runtime GEMM computes it.
// CHECK-DAG: #[[FILTER:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d3)>
// CHECK-DAG: #[[COLS:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>
// CHECK-LABEL: func.func @conv3x3
// CHECK: %[[W:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2, 3]] : tensor<4x3x3x3xf32> into tensor<4x27xf32>
// CHECK: scf.for %[[N:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (tensor<2x4x36xf32>)
// CHECK: %[[IMAGE:.*]] = tensor.extract_slice %{{.*}}{{\[}}%[[N]], 0, 0, 0] [1, 3, 8, 8]
// CHECK: %[[SLOT:.*]] = tensor.extract_slice %[[ACC]]{{\[}}%[[N]], 0, 0] [1, 4, 36]
// CHECK: %[[PATCHES:.*]] = linalg.generic {{.*}} ins(%[[IMAGE]] : tensor<1x3x8x8xf32>) outs(%{{.*}} : tensor<1x3x3x3x6x6xf32>)
// CHECK: %[[COLS_T:.*]] = tensor.collapse_shape %[[PATCHES]] {{\[}}[0], [1, 2, 3], [4, 5]] : tensor<1x3x3x3x6x6xf32> into tensor<1x27x36xf32>
// CHECK: linalg.batch_matmul indexing_maps = [#[[FILTER]], #[[COLS]], #{{.*}}] ins(%[[W]], %[[COLS_T]] : tensor<4x27xf32>, tensor<1x27x36xf32>) outs(%[[SLOT]] : tensor<1x4x36xf32>)
// CHECK: tensor.insert_slice
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0], [1], [2, 3]] {{.*}} into tensor<2x4x6x6xf32>
// CALL-LABEL: llvm.func @conv3x3
// CALL: llvm.call @dlc_gemm_f32
func.func @conv3x3(%x: tensor<2x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<2x4x6x6xf32> {
  %0 = dlc.conv %x, %w, strides = [1, 1], dilations = [1, 1], lhs_dilation = [1, 1],
       pad_low = [0, 0], pad_high = [0, 0], groups = 1
       : tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<2x4x6x6xf32>
  return %0 : tensor<2x4x6x6xf32>
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

// Grouped (here depthwise) and non-float32 convolutions keep the direct loop nest.
// CHECK-LABEL: func.func @depthwise
// CHECK-NOT: linalg.batch_matmul
// CHECK: linalg.generic
// CALL-LABEL: llvm.func @depthwise
// CALL-NOT: dlc_gemm_f32
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
