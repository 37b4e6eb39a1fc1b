// RUN: dlc-opt --dlc-parallel-kernels="min-work=256" %s | FileCheck %s

// A kernel large enough runs its op on rows [lo, hi) of its outermost
// parallel loop; the call passes the whole range; the kernel is marked for
// the JIT.
// CHECK-LABEL: func.func private @main_kernel_0
// CHECK-SAME: (%[[IN:.*]]: memref<8x64xf32>, %[[OUT:.*]]: memref<8x64xf32>, %[[LO:.*]]: index, %[[HI:.*]]: index)
// CHECK-SAME: passthrough = ["noinline", "dlc-parallel-for"]
// CHECK: scf.for %[[I:.*]] = %[[LO]] to %[[HI]] step %c1
// CHECK: %[[A:.*]] = memref.subview %[[IN]][%[[I]], 0] [1, 64] [1, 1]
// CHECK: %[[B:.*]] = memref.subview %[[OUT]][%[[I]], 0] [1, 64] [1, 1]
// CHECK: linalg.generic {{.*}} ins(%[[A]] : {{.*}}) outs(%[[B]] :
func.func private @main_kernel_0(%in: memref<8x64xf32>, %out: memref<8x64xf32>)
    attributes {passthrough = ["noinline"]} {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%in : memref<8x64xf32>) outs(%out : memref<8x64xf32>) {
  ^bb0(%a: f32, %b: f32):
    %0 = arith.negf %a : f32
    linalg.yield %0 : f32
  }
  return
}

// Loops of one iteration are passed over; a row-wise reduction splits its
// rows, not the reduced loop; linalg.index sees the full-range position.
// CHECK-LABEL: func.func private @main_kernel_1
// CHECK-SAME: %{{.*}}: index, %{{.*}}: index)
// CHECK: scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %c1
// CHECK: memref.subview %{{.*}}[0, %[[J]], 0] [1, 1, 64] [1, 1, 1]
// CHECK: memref.subview %{{.*}}[0, %[[J]]] [1, 1] [1, 1]
// CHECK: linalg.generic
// CHECK: %[[ROW:.*]] = linalg.index 1 : index
// CHECK: affine.apply #{{.*}}(%[[J]])[%[[ROW]]]
func.func private @main_kernel_1(%in: memref<1x16x64xf32>, %out: memref<1x16xf32>)
    attributes {passthrough = ["noinline"]} {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%in : memref<1x16x64xf32>) outs(%out : memref<1x16xf32>) {
  ^bb0(%a: f32, %b: f32):
    %row = linalg.index 1 : index
    %r = arith.index_cast %row : index to i32
    %f = arith.sitofp %r : i32 to f32
    %0 = arith.addf %a, %b : f32
    %1 = arith.addf %0, %f : f32
    linalg.yield %1 : f32
  }
  return
}

// Too little work, or only the innermost loop to split: left as it is.
// CHECK-LABEL: func.func private @main_kernel_2
// CHECK-SAME: (%{{.*}}: memref<4x8xf32>) attributes {passthrough = ["noinline"]}
// CHECK-NOT: scf.for
// CHECK-LABEL: func.func private @main_kernel_3
// CHECK-SAME: (%{{.*}}: memref<4096xf32>) attributes {passthrough = ["noinline"]}
// CHECK-NOT: scf.for
func.func private @main_kernel_2(%out: memref<4x8xf32>) attributes {passthrough = ["noinline"]} {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%out : memref<4x8xf32>)
  return
}
func.func private @main_kernel_3(%out: memref<4096xf32>) attributes {passthrough = ["noinline"]} {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%out : memref<4096xf32>)
  return
}

// CHECK-LABEL: func.func @main
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[EIGHT:.*]] = arith.constant 8 : index
// CHECK: call @main_kernel_0(%arg0, %arg1, %[[ZERO]], %[[EIGHT]])
// CHECK: call @main_kernel_1(%arg2, %arg3, %{{.*}}, %{{.*}})
// CHECK: call @main_kernel_2(%arg4)
func.func @main(%in: memref<8x64xf32>, %out: memref<8x64xf32>, %x: memref<1x16x64xf32>,
                %y: memref<1x16xf32>, %z: memref<4x8xf32>, %w: memref<4096xf32>) {
  call @main_kernel_0(%in, %out) : (memref<8x64xf32>, memref<8x64xf32>) -> ()
  call @main_kernel_1(%x, %y) : (memref<1x16x64xf32>, memref<1x16xf32>) -> ()
  call @main_kernel_2(%z) : (memref<4x8xf32>) -> ()
  call @main_kernel_3(%w) : (memref<4096xf32>) -> ()
  return
}

// A loop that an output does not depend on (declared parallel, but every
// iteration writes the same elements) is not split: threads would race.
// CHECK-LABEL: func.func private @main_kernel_4
// CHECK-SAME: (%{{.*}}: memref<64x16xf32>, %{{.*}}: memref<16xf32>) attributes {passthrough = ["noinline"]}
// CHECK-NOT: scf.for
func.func private @main_kernel_4(%in: memref<64x16xf32>, %out: memref<16xf32>)
    attributes {passthrough = ["noinline"]} {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%in : memref<64x16xf32>) outs(%out : memref<16xf32>) {
  ^bb0(%a: f32, %b: f32):
    linalg.yield %a : f32
  }
  return
}

// A per-channel operation on [1, C, H, W]: the per-channel operand's unit
// dimensions are viewed away, H and W merge into one loop of H·W
// contiguous elements (which vectorizes), and threads split the channels.
// CHECK-LABEL: func.func private @main_kernel_5
// CHECK: memref.collapse_shape %{{.*}} {{\[\[}}0], [1, 2, 3]] : memref<1x8x1x1xf32> into memref<1x8xf32>
// CHECK: memref.collapse_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] : memref<1x8x64x64xf32> into memref<1x8x4096xf32>
// CHECK: scf.for
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]
func.func private @main_kernel_5(%in: memref<1x8x64x64xf32>, %scale: memref<1x8x1x1xf32>,
                                 %out: memref<1x8x64x64xf32>) attributes {passthrough = ["noinline"]} {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>,
                                   affine_map<(d0, d1, d2, d3) -> (d0, d1, 0, 0)>,
                                   affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%in, %scale : memref<1x8x64x64xf32>, memref<1x8x1x1xf32>) outs(%out : memref<1x8x64x64xf32>) {
  ^bb0(%a: f32, %s: f32, %b: f32):
    %0 = arith.mulf %a, %s : f32
    linalg.yield %0 : f32
  }
  return
}

// A bias gradient, a sum over [N, C, H, W] except C: the linalg.reduce is
// taken as its generic, threads split the channels, and H and W (both
// reductions) merge into one loop of H·W contiguous elements.
// CHECK-LABEL: func.func private @main_kernel_6
// CHECK: memref.collapse_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] : memref<4x8x16x16xf32> into memref<4x8x256xf32>
// CHECK: scf.for
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "parallel", "reduction"]
// CHECK: arith.addf {{.*}} fastmath<reassoc>
func.func private @main_kernel_6(%in: memref<4x8x16x16xf32>, %out: memref<8xf32>)
    attributes {passthrough = ["noinline"]} {
  linalg.reduce { arith.addf {fastmath = #arith.fastmath<reassoc>} }
      ins(%in : memref<4x8x16x16xf32>) outs(%out : memref<8xf32>) dimensions = [0, 2, 3]
  return
}
