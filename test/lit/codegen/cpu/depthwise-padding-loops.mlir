// The generic of a padded depthwise convolution means what the runtime's
// kernel computes, where no call replaces it: its loops, run on their own
// (bufferized and lowered by mlir-opt, no dlc-cpu-kernel-calls), read
// zeros outside the input.
// RUN: dlc-opt --dlc-lower-to-linalg %s \
// RUN:   | mlir-opt --one-shot-bufferize="bufferize-function-boundaries" \
// RUN:       --convert-linalg-to-loops --convert-scf-to-cf --expand-strided-metadata \
// RUN:       --lower-affine --finalize-memref-to-llvm --convert-to-llvm \
// RUN:       --reconcile-unrealized-casts \
// RUN:   | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs \
// RUN:   | FileCheck %s

// Ones through a 3×3 filter of ones with padding 1: each output counts the
// input elements under the filter (4 at a corner, 6 along an edge, 9
// inside). The second channel's filter is 2 at its bottom right only:
// out[y, x] = 2·in[y + 1, x + 1], zero along the last row and column.
// Stride 2 with padding 1 above, left and below (none right) reads rows
// -1..1 and 1..3 (row 3 the padding) and columns -1..1 and 1..3: sums of
// 2·2 and 2·3 ones in the first channel; 2·in[2y + 1, 2x + 1] in the
// second, zero in row 3.
// CHECK: sizes = [1, 2, 3, 4]
// CHECK-NEXT: [4, 6, 6, 4],
// CHECK-NEXT: [6, 9, 9, 6],
// CHECK-NEXT: [4, 6, 6, 4]],
// CHECK-NEXT: [2, 2, 2, 0],
// CHECK-NEXT: [2, 2, 2, 0],
// CHECK-NEXT: [0, 0, 0, 0]]]]
// CHECK: sizes = [1, 2, 2, 2]
// CHECK-NEXT: [4, 6],
// CHECK-NEXT: [4, 6]],
// CHECK-NEXT: [2, 2],
// CHECK-NEXT: [0, 0]]]]
func.func @same(%x: tensor<1x2x3x4xf32>, %w: tensor<2x1x3x3xf32>) -> tensor<1x2x3x4xf32> {
  %0 = dlc.conv %x, %w, strides = [1, 1], dilations = [1, 1], lhs_dilation = [1, 1],
       pad_low = [1, 1], pad_high = [1, 1], groups = 2
       : tensor<1x2x3x4xf32>, tensor<2x1x3x3xf32> -> tensor<1x2x3x4xf32>
  return %0 : tensor<1x2x3x4xf32>
}

func.func @strided(%x: tensor<1x2x3x4xf32>, %w: tensor<2x1x3x3xf32>) -> tensor<1x2x2x2xf32> {
  %0 = dlc.conv %x, %w, strides = [2, 2], dilations = [1, 1], lhs_dilation = [1, 1],
       pad_low = [1, 1], pad_high = [1, 0], groups = 2
       : tensor<1x2x3x4xf32>, tensor<2x1x3x3xf32> -> tensor<1x2x2x2xf32>
  return %0 : tensor<1x2x2x2xf32>
}

func.func private @printMemrefF32(memref<*xf32>)

func.func @print(%t: tensor<*xf32>) {
  %m = bufferization.to_buffer %t read_only : tensor<*xf32> to memref<*xf32>
  call @printMemrefF32(%m) : (memref<*xf32>) -> ()
  return
}

func.func @main() {
  %x = arith.constant dense<1.0> : tensor<1x2x3x4xf32>
  %w = arith.constant dense<[[[[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]],
                             [[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 2.0]]]]>
       : tensor<2x1x3x3xf32>
  %same = call @same(%x, %w) : (tensor<1x2x3x4xf32>, tensor<2x1x3x3xf32>) -> tensor<1x2x3x4xf32>
  %a = tensor.cast %same : tensor<1x2x3x4xf32> to tensor<*xf32>
  call @print(%a) : (tensor<*xf32>) -> ()
  %strided = call @strided(%x, %w) : (tensor<1x2x3x4xf32>, tensor<2x1x3x3xf32>) -> tensor<1x2x2x2xf32>
  %b = tensor.cast %strided : tensor<1x2x2x2xf32> to tensor<*xf32>
  call @print(%b) : (tensor<*xf32>) -> ()
  return
}
