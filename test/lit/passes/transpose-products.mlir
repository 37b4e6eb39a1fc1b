// RUN: dlc-opt --dlc-transpose-products %s | FileCheck %s

// A weight gradient (x^T dy)^T becomes dy^T x: only the batch-sized
// operand is transposed, the transpose of the transpose folds away.
// CHECK-LABEL: func.func @weight_gradient
// CHECK-SAME: (%[[X:.*]]: tensor<64x784xf32>, %[[DY:.*]]: tensor<64x1024xf32>)
// CHECK: %[[DYT:.*]] = dlc.transpose %[[DY]], perm = [1, 0] : tensor<64x1024xf32> -> tensor<1024x64xf32>
// CHECK-NEXT: %[[DW:.*]] = dlc.dot %[[DYT]], %[[X]] : tensor<1024x64xf32>, tensor<64x784xf32> -> tensor<1024x784xf32>
// CHECK-NEXT: return %[[DW]]
func.func @weight_gradient(%x: tensor<64x784xf32>, %dy: tensor<64x1024xf32>) -> tensor<1024x784xf32> {
  %xt = dlc.transpose %x, perm = [1, 0] : tensor<64x784xf32> -> tensor<784x64xf32>
  %p = dlc.dot %xt, %dy : tensor<784x64xf32>, tensor<64x1024xf32> -> tensor<784x1024xf32>
  %t = dlc.transpose %p, perm = [1, 0] : tensor<784x1024xf32> -> tensor<1024x784xf32>
  return %t : tensor<1024x784xf32>
}

// Batch dimensions stay in place.
// CHECK-LABEL: func.func @batched
// CHECK: dlc.transpose %arg1, perm = [0, 2, 1] : tensor<2x3x5xf32> -> tensor<2x5x3xf32>
// CHECK: dlc.transpose %arg0, perm = [0, 2, 1] : tensor<2x4x3xf32> -> tensor<2x3x4xf32>
// CHECK: dlc.dot {{.*}} : tensor<2x5x3xf32>, tensor<2x3x4xf32> -> tensor<2x5x4xf32>
func.func @batched(%a: tensor<2x4x3xf32>, %b: tensor<2x3x5xf32>) -> tensor<2x5x4xf32> {
  %p = dlc.dot %a, %b : tensor<2x4x3xf32>, tensor<2x3x5xf32> -> tensor<2x4x5xf32>
  %t = dlc.transpose %p, perm = [0, 2, 1] : tensor<2x4x5xf32> -> tensor<2x5x4xf32>
  return %t : tensor<2x5x4xf32>
}

// A product with another user, or a transpose that moves a batch
// dimension, is left alone.
// CHECK-LABEL: func.func @kept
// CHECK: %[[P:.*]] = dlc.dot %arg0, %arg1
// CHECK: dlc.transpose %[[P]], perm = [1, 0]
// CHECK: dlc.dot %arg2, %arg3
// CHECK: dlc.transpose {{.*}}, perm = [2, 1, 0]
func.func @kept(%a: tensor<4x3xf32>, %b: tensor<3x5xf32>, %c: tensor<2x4x3xf32>, %d: tensor<2x3x4xf32>)
    -> (tensor<5x4xf32>, tensor<4x5xf32>, tensor<4x4x2xf32>) {
  %p = dlc.dot %a, %b : tensor<4x3xf32>, tensor<3x5xf32> -> tensor<4x5xf32>
  %t = dlc.transpose %p, perm = [1, 0] : tensor<4x5xf32> -> tensor<5x4xf32>
  %q = dlc.dot %c, %d : tensor<2x4x3xf32>, tensor<2x3x4xf32> -> tensor<2x4x4xf32>
  %u = dlc.transpose %q, perm = [2, 1, 0] : tensor<2x4x4xf32> -> tensor<4x4x2xf32>
  return %t, %p, %u : tensor<5x4xf32>, tensor<4x5xf32>, tensor<4x4x2xf32>
}
