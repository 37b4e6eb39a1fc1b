// RUN: dlc-opt %s --dlc-lower-to-llvm | FileCheck %s
// The whole CPU pipeline: results become out-parameters and every memref a
// bare pointer, named as the runtime expects; the product calls the
// runtime's GEMM, writing its result over the zero fill it replaces, and
// every other op is a noinline function of its own.

// CHECK-NOT: dlc.
// CHECK-NOT: linalg.
// CHECK-NOT: memref.
// CHECK-LABEL: llvm.func @main_kernel_0(
// CHECK-SAME: passthrough = ["noinline"]
// exp is a polynomial (dlc-approximate-math), not a call LLVM cannot
// vectorize.
// CHECK-NOT: llvm.call
// CHECK: llvm.intr.fma
// CHECK-NOT: llvm.intr.exp
// CHECK-LABEL: llvm.func @main(
// CHECK-SAME: %{{.*}}: !llvm.ptr {dlc.input = "x"}, %{{.*}}: !llvm.ptr {dlc.param = "w"}, %{{.*}}: !llvm.ptr {dlc.output = "y"})
// CHECK-NOT: llvm.call @main_kernel
// CHECK: llvm.call @dlc_gemm_f32(
// CHECK: llvm.call @main_kernel_0(
func.func @main(%x: tensor<4x8xf32> {dlc.input = "x"}, %w: tensor<8x3xf32> {dlc.param = "w"})
    -> (tensor<4x3xf32> {dlc.output = "y"}) {
  %0 = dlc.dot %x, %w : tensor<4x8xf32>, tensor<8x3xf32> -> tensor<4x3xf32>
  %1 = dlc.exp %0 : tensor<4x3xf32>
  return %1 : tensor<4x3xf32>
}
// CHECK: llvm.return
