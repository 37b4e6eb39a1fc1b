// RUN: dlc-opt --dlc-cpu-pair-kernels --split-input-file %s | FileCheck %s

// A product whose C only the depthwise convolution right after it reads:
// one call with the product's arguments, then the convolution's, where the
// convolution was; the two declarations go. The fused kernel never writes
// C: its address becomes 0 and its sizes and strides constants, and the
// allocation (with its views and deallocation) leaves the function.
// CHECK-LABEL: func.func @pair
// CHECK-NOT: memref.alloc
// CHECK-NOT: call @dlc_gemm_f32
// CHECK: %[[Y:.*]] = memref.extract_aligned_pointer_as_index %arg2
// CHECK-DAG: %[[ZERO_C:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[ZERO_IN:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[M:.*]] = arith.constant 32 : index
// CHECK-DAG: %[[PLANE:.*]] = arith.constant 64 : index
// CHECK: call @dlc_expand_depthwise_f32(%c0, %[[M]], %c0, %c0, %{{.*}}, %c0, %c0, %{{.*}}, %c0, %c0, %c0, %[[ZERO_C]], %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %[[ZERO_IN]], %c0, %[[PLANE]], %c0, %c0, %c0, %c0, %[[Y]], {{.*}}) : ({{.*}}) -> ()
// CHECK-NOT: memref.dealloc
// CHECK-NOT: func.func private @dlc_gemm_f32
// CHECK-NOT: func.func private @dlc_depthwise_conv2d_f32
// CHECK: func.func private @dlc_expand_depthwise_f32({{.*}})
func.func private @dlc_gemm_f32(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
func.func private @dlc_depthwise_conv2d_f32(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
func.func @pair(%w: memref<32x16xf32>, %x: memref<1x16x8x8xf32>, %y: memref<1x32x8x8xf32>) {
  %c0 = arith.constant 0 : index
  %alloc = memref.alloc() : memref<1x32x8x8xf32>
  %pw = memref.extract_aligned_pointer_as_index %w : memref<32x16xf32> -> index
  %px = memref.extract_aligned_pointer_as_index %x : memref<1x16x8x8xf32> -> index
  %view = memref.collapse_shape %alloc [[0], [1], [2, 3]] : memref<1x32x8x8xf32> into memref<1x32x64xf32>
  %base, %offset, %sizes:3, %strides:3 = memref.extract_strided_metadata %view : memref<1x32x64xf32> -> memref<f32>, index, index, index, index, index, index, index
  %pc = memref.extract_aligned_pointer_as_index %view : memref<1x32x64xf32> -> index
  call @dlc_gemm_f32(%c0, %sizes#1, %c0, %c0, %pw, %c0, %c0, %px, %c0, %c0, %c0, %pc, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0) : (index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index) -> ()
  %base2, %offset2, %sizes2:4, %strides2:4 = memref.extract_strided_metadata %alloc : memref<1x32x8x8xf32> -> memref<f32>, index, index, index, index, index, index, index, index, index
  %pc2 = memref.extract_aligned_pointer_as_index %alloc : memref<1x32x8x8xf32> -> index
  %py = memref.extract_aligned_pointer_as_index %y : memref<1x32x8x8xf32> -> index
  call @dlc_depthwise_conv2d_f32(%c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %pc2, %c0, %strides2#1, %c0, %c0, %c0, %c0, %py, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0) : (index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index) -> ()
  memref.dealloc %alloc : memref<1x32x8x8xf32>
  return
}

// -----

// The depthwise convolution reads a part of C that starts elsewhere (its
// second half of channels): the calls still pair (the runtime compares
// the two views and runs the kernels apart), but C keeps its allocation
// and its addresses.
// CHECK-LABEL: func.func @other_start
// CHECK: %[[ALLOC:.*]] = memref.alloc
// CHECK: call @dlc_expand_depthwise_f32
// CHECK: memref.dealloc %[[ALLOC]]
func.func private @dlc_gemm_f32(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
func.func private @dlc_depthwise_conv2d_f32(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
func.func @other_start(%w: memref<32x16xf32>, %x: memref<1x16x8x8xf32>, %y: memref<1x16x8x8xf32>) {
  %c0 = arith.constant 0 : index
  %alloc = memref.alloc() : memref<1x32x8x8xf32>
  %pw = memref.extract_aligned_pointer_as_index %w : memref<32x16xf32> -> index
  %px = memref.extract_aligned_pointer_as_index %x : memref<1x16x8x8xf32> -> index
  %pc = memref.extract_aligned_pointer_as_index %alloc : memref<1x32x8x8xf32> -> index
  call @dlc_gemm_f32(%c0, %c0, %c0, %c0, %pw, %c0, %c0, %px, %c0, %c0, %c0, %pc, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0) : (index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index) -> ()
  %half = memref.subview %alloc[0, 16, 0, 0] [1, 16, 8, 8] [1, 1, 1, 1] : memref<1x32x8x8xf32> to memref<1x16x8x8xf32, strided<[2048, 64, 8, 1], offset: 1024>>
  %base, %offset, %sizes:4, %strides:4 = memref.extract_strided_metadata %half : memref<1x16x8x8xf32, strided<[2048, 64, 8, 1], offset: 1024>> -> memref<f32>, index, index, index, index, index, index, index, index, index
  %pi = memref.extract_aligned_pointer_as_index %half : memref<1x16x8x8xf32, strided<[2048, 64, 8, 1], offset: 1024>> -> index
  %c4 = arith.constant 4 : index
  %bytes = arith.muli %offset, %c4 : index
  %pc2 = arith.addi %pi, %bytes : index
  %py = memref.extract_aligned_pointer_as_index %y : memref<1x16x8x8xf32> -> index
  call @dlc_depthwise_conv2d_f32(%c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %pc2, %c0, %c0, %c0, %c0, %c0, %c0, %py, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0) : (index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index) -> ()
  memref.dealloc %alloc : memref<1x32x8x8xf32>
  return
}

// -----

// A generated kernel in between (a batch norm's per-channel terms) that
// writes none of the product's buffers: the product moves past it.
// CHECK-LABEL: func.func @past_a_kernel
// CHECK: linalg.fill
// CHECK-NOT: call @dlc_gemm_f32
// CHECK: call @dlc_expand_depthwise_f32
func.func private @dlc_gemm_f32(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
func.func private @dlc_depthwise_conv2d_f32(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
func.func @past_a_kernel(%w: memref<32x16xf32>, %x: memref<1x16x8x8xf32>, %y: memref<1x32x8x8xf32>) {
  %c0 = arith.constant 0 : index
  %f = arith.constant 1.0 : f32
  %alloc = memref.alloc() : memref<1x32x8x8xf32>
  %pw = memref.extract_aligned_pointer_as_index %w : memref<32x16xf32> -> index
  %px = memref.extract_aligned_pointer_as_index %x : memref<1x16x8x8xf32> -> index
  %pc = memref.extract_aligned_pointer_as_index %alloc : memref<1x32x8x8xf32> -> index
  call @dlc_gemm_f32(%c0, %c0, %c0, %c0, %pw, %c0, %c0, %px, %c0, %c0, %c0, %pc, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0) : (index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index) -> ()
  %terms = memref.alloc() : memref<32xf32>
  linalg.fill ins(%f : f32) outs(%terms : memref<32xf32>)
  %pc2 = memref.extract_aligned_pointer_as_index %alloc : memref<1x32x8x8xf32> -> index
  %py = memref.extract_aligned_pointer_as_index %y : memref<1x32x8x8xf32> -> index
  call @dlc_depthwise_conv2d_f32(%c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %pc2, %c0, %c0, %c0, %c0, %c0, %c0, %py, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0) : (index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index) -> ()
  return
}

// -----

// Kept apart: a kernel in between writes the product's input; ...
// CHECK-LABEL: func.func @input_overwritten
// CHECK: call @dlc_gemm_f32
// CHECK: linalg.fill
// CHECK: call @dlc_depthwise_conv2d_f32
// CHECK-NOT: dlc_expand_depthwise_f32
func.func private @dlc_gemm_f32(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
func.func private @dlc_depthwise_conv2d_f32(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
func.func @input_overwritten(%w: memref<32x16xf32>, %x: memref<1x16x8x8xf32>, %y: memref<1x32x8x8xf32>) {
  %c0 = arith.constant 0 : index
  %f = arith.constant 1.0 : f32
  %alloc = memref.alloc() : memref<1x32x8x8xf32>
  %pw = memref.extract_aligned_pointer_as_index %w : memref<32x16xf32> -> index
  %px = memref.extract_aligned_pointer_as_index %x : memref<1x16x8x8xf32> -> index
  %pc = memref.extract_aligned_pointer_as_index %alloc : memref<1x32x8x8xf32> -> index
  call @dlc_gemm_f32(%c0, %c0, %c0, %c0, %pw, %c0, %c0, %px, %c0, %c0, %c0, %pc, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0) : (index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index) -> ()
  linalg.fill ins(%f : f32) outs(%x : memref<1x16x8x8xf32>)
  %pc2 = memref.extract_aligned_pointer_as_index %alloc : memref<1x32x8x8xf32> -> index
  %py = memref.extract_aligned_pointer_as_index %y : memref<1x32x8x8xf32> -> index
  call @dlc_depthwise_conv2d_f32(%c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %pc2, %c0, %c0, %c0, %c0, %c0, %c0, %py, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0) : (index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index) -> ()
  return
}

// -----

// ... C is read by something else too (the fused kernel does not write it);
// CHECK-LABEL: func.func @second_reader
// CHECK: call @dlc_gemm_f32
// CHECK: call @dlc_depthwise_conv2d_f32
// CHECK: memref.load %alloc
// CHECK-NOT: dlc_expand_depthwise_f32
func.func private @dlc_gemm_f32(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
func.func private @dlc_depthwise_conv2d_f32(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
func.func @second_reader(%w: memref<32x16xf32>, %x: memref<1x16x8x8xf32>, %y: memref<1x32x8x8xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %alloc = memref.alloc() : memref<1x32x8x8xf32>
  %pw = memref.extract_aligned_pointer_as_index %w : memref<32x16xf32> -> index
  %px = memref.extract_aligned_pointer_as_index %x : memref<1x16x8x8xf32> -> index
  %pc = memref.extract_aligned_pointer_as_index %alloc : memref<1x32x8x8xf32> -> index
  call @dlc_gemm_f32(%c0, %c0, %c0, %c0, %pw, %c0, %c0, %px, %c0, %c0, %c0, %pc, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0) : (index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index) -> ()
  %pc2 = memref.extract_aligned_pointer_as_index %alloc : memref<1x32x8x8xf32> -> index
  %py = memref.extract_aligned_pointer_as_index %y : memref<1x32x8x8xf32> -> index
  call @dlc_depthwise_conv2d_f32(%c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %pc2, %c0, %c0, %c0, %c0, %c0, %c0, %py, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0) : (index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index) -> ()
  %v = memref.load %alloc[%c0, %c0, %c0, %c0] : memref<1x32x8x8xf32>
  return %v : f32
}

// -----

// ... C is the function's output, not an allocation;
// CHECK-LABEL: func.func @into_an_output
// CHECK: call @dlc_gemm_f32
// CHECK: call @dlc_depthwise_conv2d_f32
// CHECK-NOT: dlc_expand_depthwise_f32
func.func private @dlc_gemm_f32(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
func.func private @dlc_depthwise_conv2d_f32(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
func.func @into_an_output(%w: memref<32x16xf32>, %x: memref<1x16x8x8xf32>, %c: memref<1x32x8x8xf32>, %y: memref<1x32x8x8xf32>) {
  %c0 = arith.constant 0 : index
  %pw = memref.extract_aligned_pointer_as_index %w : memref<32x16xf32> -> index
  %px = memref.extract_aligned_pointer_as_index %x : memref<1x16x8x8xf32> -> index
  %pc = memref.extract_aligned_pointer_as_index %c : memref<1x32x8x8xf32> -> index
  call @dlc_gemm_f32(%c0, %c0, %c0, %c0, %pw, %c0, %c0, %px, %c0, %c0, %c0, %pc, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0) : (index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index) -> ()
  %pc2 = memref.extract_aligned_pointer_as_index %c : memref<1x32x8x8xf32> -> index
  %py = memref.extract_aligned_pointer_as_index %y : memref<1x32x8x8xf32> -> index
  call @dlc_depthwise_conv2d_f32(%c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %pc2, %c0, %c0, %c0, %c0, %c0, %c0, %py, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0) : (index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index) -> ()
  return
}

// -----

// ... or the convolution reads another buffer than the product writes.
// CHECK-LABEL: func.func @other_input
// CHECK: call @dlc_gemm_f32
// CHECK: call @dlc_depthwise_conv2d_f32
// CHECK-NOT: dlc_expand_depthwise_f32
func.func private @dlc_gemm_f32(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
func.func private @dlc_depthwise_conv2d_f32(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
func.func @other_input(%w: memref<32x16xf32>, %x: memref<1x16x8x8xf32>, %z: memref<1x32x8x8xf32>, %y: memref<1x32x8x8xf32>) {
  %c0 = arith.constant 0 : index
  %alloc = memref.alloc() : memref<1x32x8x8xf32>
  %pw = memref.extract_aligned_pointer_as_index %w : memref<32x16xf32> -> index
  %px = memref.extract_aligned_pointer_as_index %x : memref<1x16x8x8xf32> -> index
  %pc = memref.extract_aligned_pointer_as_index %alloc : memref<1x32x8x8xf32> -> index
  call @dlc_gemm_f32(%c0, %c0, %c0, %c0, %pw, %c0, %c0, %px, %c0, %c0, %c0, %pc, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0) : (index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index) -> ()
  %pz = memref.extract_aligned_pointer_as_index %z : memref<1x32x8x8xf32> -> index
  %py = memref.extract_aligned_pointer_as_index %y : memref<1x32x8x8xf32> -> index
  call @dlc_depthwise_conv2d_f32(%c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %pz, %c0, %c0, %c0, %c0, %c0, %c0, %py, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0) : (index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index) -> ()
  return
}

// -----

// A convolution (an image network's first layer) and the depthwise
// convolution of its output pair the same way, as dlc_conv_depthwise_f32.
// CHECK-LABEL: func.func @first_layer
// CHECK-NOT: call @dlc_conv2d_f32
// CHECK: call @dlc_conv_depthwise_f32(
// CHECK-NOT: func.func private @dlc_conv2d_f32
// CHECK: func.func private @dlc_conv_depthwise_f32({{.*}})
func.func private @dlc_conv2d_f32(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
func.func private @dlc_depthwise_conv2d_f32(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
func.func @first_layer(%w: memref<32x27xf32>, %x: memref<1x3x17x17xf32>, %y: memref<1x32x8x8xf32>) {
  %c0 = arith.constant 0 : index
  %alloc = memref.alloc() : memref<1x32x8x8xf32>
  %pw = memref.extract_aligned_pointer_as_index %w : memref<32x27xf32> -> index
  %px = memref.extract_aligned_pointer_as_index %x : memref<1x3x17x17xf32> -> index
  %pc = memref.extract_aligned_pointer_as_index %alloc : memref<1x32x8x8xf32> -> index
  call @dlc_conv2d_f32(%c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %px, %c0, %c0, %c0, %c0, %pw, %c0, %pc, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0) : (index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index) -> ()
  %pc2 = memref.extract_aligned_pointer_as_index %alloc : memref<1x32x8x8xf32> -> index
  %py = memref.extract_aligned_pointer_as_index %y : memref<1x32x8x8xf32> -> index
  call @dlc_depthwise_conv2d_f32(%c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %pc2, %c0, %c0, %c0, %c0, %c0, %c0, %py, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0, %c0) : (index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index) -> ()
  return
}
