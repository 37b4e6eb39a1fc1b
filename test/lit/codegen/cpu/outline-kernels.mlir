// RUN: dlc-opt --dlc-outline-kernels --split-input-file %s | FileCheck %s

// Each linalg op on buffers moves into a noinline function; constants its
// body uses are cloned into it, other values become arguments.
// CHECK-LABEL: func.func private @main_kernel_0
// CHECK-SAME: (%[[OUT:.*]]: memref<4xf32> {llvm.noalias}) attributes {passthrough = ["noinline"]}
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: linalg.fill ins(%[[ZERO]] : f32) outs(%[[OUT]] : memref<4xf32>)
// CHECK-LABEL: func.func private @main_kernel_1
// CHECK-SAME: (%[[IN:.*]]: memref<4xf32> {llvm.noalias}, %[[OUT2:.*]]: memref<4xf32> {llvm.noalias}, %[[SCALE:.*]]: f32)
// CHECK: linalg.generic {{.*}} ins(%[[IN]] : memref<4xf32>) outs(%[[OUT2]] : memref<4xf32>)
// CHECK: arith.mulf %{{.*}}, %[[SCALE]]
// CHECK-LABEL: func.func @main
// CHECK-NOT: linalg.
// CHECK: call @main_kernel_0(%arg1)
// CHECK: call @main_kernel_1(%arg0, %arg1, %arg2)
#id = affine_map<(d0) -> (d0)>
func.func @main(%in: memref<4xf32>, %out: memref<4xf32>, %scale: f32) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%out : memref<4xf32>)
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%in : memref<4xf32>) outs(%out : memref<4xf32>) {
  ^bb0(%a: f32, %b: f32):
    %0 = arith.mulf %a, %scale : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

// Buffers of one allocation (two halves of a concatenation's result) may
// overlap as far as the kernel can tell: no noalias. A copy becomes a
// linalg.copy kernel.
// CHECK-LABEL: func.func private @main_kernel_0
// CHECK-SAME: (%{{.*}}: memref<4xf32, strided<[1]>>, %{{.*}}: memref<4xf32, strided<[1], offset: 4>>)
// CHECK: linalg.copy
// CHECK-LABEL: func.func @main
// CHECK-NOT: memref.copy
func.func @main(%out: memref<8xf32>) {
  %low = memref.subview %out[0] [4] [1] : memref<8xf32> to memref<4xf32, strided<[1]>>
  %high = memref.subview %out[4] [4] [1] : memref<8xf32> to memref<4xf32, strided<[1], offset: 4>>
  memref.copy %low, %high : memref<4xf32, strided<[1]>> to memref<4xf32, strided<[1], offset: 4>>
  return
}

// -----

// An op on a slice that moves with a loop (one image of a batch) is
// outlined too: the kernel takes the whole buffer and the loop's position,
// and makes the subview itself.
// CHECK-LABEL: func.func private @main_kernel_0
// CHECK-SAME: (%[[BATCH:.*]]: memref<4x8xf32> {llvm.noalias}, %[[I:.*]]: index, %[[OUT:.*]]: memref<1x8xf32> {llvm.noalias})
// CHECK: %[[IMAGE:.*]] = memref.subview %[[BATCH]][%[[I]], 0] [1, 8] [1, 1]
// CHECK: linalg.generic {{.*}} ins(%[[IMAGE]] : {{.*}}) outs(%[[OUT]] : memref<1x8xf32>)
// CHECK-LABEL: func.func @main
// CHECK: scf.for %[[N:.*]] =
// CHECK: call @main_kernel_0(%arg0, %[[N]], %arg1)
#id2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @main(%batch: memref<4x8xf32>, %out: memref<1x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %n = %c0 to %c4 step %c1 {
    %image = memref.subview %batch[%n, 0] [1, 8] [1, 1] : memref<4x8xf32> to memref<1x8xf32, strided<[8, 1], offset: ?>>
    linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
        ins(%image : memref<1x8xf32, strided<[8, 1], offset: ?>>) outs(%out : memref<1x8xf32>) {
    ^bb0(%a: f32, %b: f32):
      %0 = arith.addf %a, %b : f32
      linalg.yield %0 : f32
    }
  }
  return
}
