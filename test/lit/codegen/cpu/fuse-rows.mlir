// RUN: dlc-opt --dlc-fuse-rows --split-input-file %s | FileCheck %s
// RUN: dlc-opt --dlc-fuse-rows --dlc-parallel-kernels="min-work=256" --split-input-file %s \
// RUN:   | FileCheck %s --check-prefix=SPLIT

// A layer norm's first half: the row sums (a fill, then a reduction), the
// means (through a reshape of the sums), the squared deviations. One
// kernel holds the four ops in order; the sums are passed once and
// reshaped inside, so every argument is a distinct buffer (noalias). The
// deallocation between the calls waits for the new call.
// CHECK-LABEL: func.func private @main_kernel_0_rows
// CHECK-SAME: (%[[SUM:.*]]: memref<1x16xf32> {llvm.noalias}, %[[X:.*]]: memref<1x16x64xf32> {llvm.noalias}, %[[MEAN:.*]]: memref<1x16x1xf32> {llvm.noalias}, %[[DEV:.*]]: memref<1x16x64xf32> {llvm.noalias})
// CHECK-SAME: attributes {dlc.rows, passthrough = ["noinline"]}
// CHECK: linalg.fill {{.*}} outs(%[[SUM]] :
// CHECK: linalg.reduce {{.*}} ins(%[[X]] : {{.*}}) outs(%[[SUM]] :
// CHECK: %[[SUM3:.*]] = memref.expand_shape %[[SUM]]
// CHECK: linalg.generic {{.*}} ins(%[[SUM3]] : {{.*}}) outs(%[[MEAN]] :
// CHECK: linalg.generic {{.*}} ins(%[[X]], %[[MEAN]] : {{.*}}) outs(%[[DEV]] :
// CHECK-NOT: func.func private @main_kernel_1
// CHECK-LABEL: func.func @main
// CHECK: %[[S:.*]] = memref.alloc() {{.*}} : memref<1x16xf32>
// CHECK: call @main_kernel_0_rows(%[[S]], %arg0, %{{.*}}, %arg1)
// CHECK-NEXT: memref.dealloc %[[S]]
// CHECK-NOT: call

// With dlc-parallel-kernels: one loop over the rows, every op on row i.
// SPLIT-LABEL: func.func private @main_kernel_0_rows
// SPLIT-SAME: %[[LO:[^:]*]]: index, %[[HI:[^:]*]]: index)
// SPLIT-SAME: passthrough = ["noinline", "dlc-parallel-for"]
// SPLIT-NOT: linalg.{{(fill|generic|reduce)}}
// SPLIT: scf.for %[[I:.*]] = %[[LO]] to %[[HI]]
// SPLIT: linalg.fill
// SPLIT: memref.subview %{{.*}}[0, %[[I]], 0] [1, 1, 64]
// SPLIT: linalg.generic
// SPLIT: linalg.generic
// SPLIT: linalg.generic
// SPLIT-NOT: linalg.{{(fill|generic|reduce)}}
// SPLIT: return
// SPLIT-LABEL: func.func @main
// SPLIT: call @main_kernel_0_rows(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %c0, %c16)
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
func.func private @main_kernel_0(%sum: memref<1x16xf32>) attributes {passthrough = ["noinline"]} {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%sum : memref<1x16xf32>)
  return
}
func.func private @main_kernel_1(%x: memref<1x16x64xf32>, %sum: memref<1x16xf32>)
    attributes {passthrough = ["noinline"]} {
  linalg.reduce { arith.addf } ins(%x : memref<1x16x64xf32>) outs(%sum : memref<1x16xf32>) dimensions = [2]
  return
}
func.func private @main_kernel_2(%sum: memref<1x16x1xf32>, %mean: memref<1x16x1xf32>)
    attributes {passthrough = ["noinline"]} {
  %n = arith.constant 64.0 : f32
  linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%sum : memref<1x16x1xf32>) outs(%mean : memref<1x16x1xf32>) {
  ^bb0(%s: f32, %o: f32):
    %0 = arith.divf %s, %n : f32
    linalg.yield %0 : f32
  }
  return
}
func.func private @main_kernel_3(%x: memref<1x16x64xf32>, %mean: memref<1x16x1xf32>, %dev: memref<1x16x64xf32>)
    attributes {passthrough = ["noinline"]} {
  linalg.generic {indexing_maps = [#id3, #row, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %mean : memref<1x16x64xf32>, memref<1x16x1xf32>) outs(%dev : memref<1x16x64xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %0 = arith.subf %a, %m : f32
    %1 = arith.mulf %0, %0 : f32
    linalg.yield %1 : f32
  }
  return
}
func.func @main(%x: memref<1x16x64xf32>, %dev: memref<1x16x64xf32>) {
  %sum = memref.alloc() {alignment = 64 : i64} : memref<1x16xf32>
  call @main_kernel_0(%sum) : (memref<1x16xf32>) -> ()
  call @main_kernel_1(%x, %sum) : (memref<1x16x64xf32>, memref<1x16xf32>) -> ()
  %sum3 = memref.expand_shape %sum [[0], [1, 2]] output_shape [1, 16, 1] : memref<1x16xf32> into memref<1x16x1xf32>
  %mean = memref.alloc() {alignment = 64 : i64} : memref<1x16x1xf32>
  call @main_kernel_2(%sum3, %mean) : (memref<1x16x1xf32>, memref<1x16x1xf32>) -> ()
  memref.dealloc %sum : memref<1x16xf32>
  call @main_kernel_3(%x, %mean, %dev) : (memref<1x16x64xf32>, memref<1x16x1xf32>, memref<1x16x64xf32>) -> ()
  memref.dealloc %mean : memref<1x16x1xf32>
  return
}

// -----

// Not fused: a kernel that reads what the one before wrote other than row
// by row (the second reads all of %t for each of its rows), kernels of
// different row counts, and kernels with a GEMM call between them.
// CHECK-LABEL: func.func @main
// CHECK: call @main_kernel_0(
// CHECK: call @main_kernel_1(
// CHECK: call @main_kernel_2(
// CHECK: call @dlc_gemm_f32
// CHECK: call @main_kernel_3(
// CHECK-NOT: _rows
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#tr = affine_map<(d0, d1) -> (d1, d0)>
func.func private @dlc_gemm_f32()
func.func private @main_kernel_0(%a: memref<8x8xf32>, %t: memref<8x8xf32>) attributes {passthrough = ["noinline"]} {
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<8x8xf32>) outs(%t : memref<8x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %0 = arith.negf %x : f32
    linalg.yield %0 : f32
  }
  return
}
func.func private @main_kernel_1(%t: memref<8x8xf32>, %u: memref<8x8xf32>) attributes {passthrough = ["noinline"]} {
  linalg.generic {indexing_maps = [#tr, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%t : memref<8x8xf32>) outs(%u : memref<8x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  return
}
func.func private @main_kernel_2(%v: memref<4x8xf32>) attributes {passthrough = ["noinline"]} {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%v : memref<4x8xf32>)
  return
}
func.func private @main_kernel_3(%w: memref<4x8xf32>) attributes {passthrough = ["noinline"]} {
  %one = arith.constant 1.0 : f32
  linalg.fill ins(%one : f32) outs(%w : memref<4x8xf32>)
  return
}
func.func @main(%a: memref<8x8xf32>, %v: memref<4x8xf32>, %w: memref<4x8xf32>) {
  %t = memref.alloc() : memref<8x8xf32>
  %u = memref.alloc() : memref<8x8xf32>
  call @main_kernel_0(%a, %t) : (memref<8x8xf32>, memref<8x8xf32>) -> ()
  call @main_kernel_1(%t, %u) : (memref<8x8xf32>, memref<8x8xf32>) -> ()
  call @main_kernel_2(%v) : (memref<4x8xf32>) -> ()
  call @dlc_gemm_f32() : () -> ()
  call @main_kernel_3(%w) : (memref<4x8xf32>) -> ()
  return
}

// -----

// Function arguments are distinct arrays unless the module has outputs
// computed in place: a normalization that writes the output %y row by row
// while reading the weight %g whole joins the group.
// CHECK-LABEL: func.func private @main_kernel_0_rows
// CHECK-LABEL: func.func @main
// CHECK: call @main_kernel_0_rows
// CHECK-NOT: call
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
func.func private @main_kernel_0(%x: memref<4x16xf32>, %t: memref<4x16xf32>) attributes {passthrough = ["noinline"]} {
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<4x16xf32>) outs(%t : memref<4x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %0 = arith.negf %a : f32
    linalg.yield %0 : f32
  }
  return
}
func.func private @main_kernel_1(%t: memref<4x16xf32>, %g: memref<16xf32>, %y: memref<4x16xf32>) attributes {passthrough = ["noinline"]} {
  linalg.generic {indexing_maps = [#id2, #col, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%t, %g : memref<4x16xf32>, memref<16xf32>) outs(%y : memref<4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %0 = arith.mulf %a, %b : f32
    linalg.yield %0 : f32
  }
  return
}
func.func @main(%x: memref<4x16xf32>, %g: memref<16xf32>, %y: memref<4x16xf32>) {
  %t = memref.alloc() : memref<4x16xf32>
  call @main_kernel_0(%x, %t) : (memref<4x16xf32>, memref<4x16xf32>) -> ()
  call @main_kernel_1(%t, %g, %y) : (memref<4x16xf32>, memref<16xf32>, memref<4x16xf32>) -> ()
  memref.dealloc %t : memref<4x16xf32>
  return
}

// -----

// The same in a module with in-place outputs (a training step, where %y
// may be %g's memory): %g, read whole, may change under the group, so the
// kernels stay apart.
// CHECK-LABEL: func.func @main
// CHECK: call @main_kernel_0(
// CHECK: call @main_kernel_1(
memref.global "private" constant @dlc_in_place_outputs : memref<3xi64> = dense<[1, 0, 1]>
func.func private @main_kernel_0(%x: memref<4x16xf32>, %t: memref<4x16xf32>) attributes {passthrough = ["noinline"]} {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<4x16xf32>) outs(%t : memref<4x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %0 = arith.negf %a : f32
    linalg.yield %0 : f32
  }
  return
}
func.func private @main_kernel_1(%t: memref<4x16xf32>, %g: memref<16xf32>, %y: memref<4x16xf32>) attributes {passthrough = ["noinline"]} {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%t, %g : memref<4x16xf32>, memref<16xf32>) outs(%y : memref<4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %0 = arith.mulf %a, %b : f32
    linalg.yield %0 : f32
  }
  return
}
func.func @main(%x: memref<4x16xf32>, %g: memref<16xf32>, %y: memref<4x16xf32>) {
  %t = memref.alloc() : memref<4x16xf32>
  call @main_kernel_0(%x, %t) : (memref<4x16xf32>, memref<4x16xf32>) -> ()
  call @main_kernel_1(%t, %g, %y) : (memref<4x16xf32>, memref<16xf32>, memref<4x16xf32>) -> ()
  memref.dealloc %t : memref<4x16xf32>
  return
}
