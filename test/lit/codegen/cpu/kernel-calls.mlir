// RUN: dlc-opt --dlc-cpu-kernel-calls --split-input-file %s | FileCheck %s

// A float32 matmul becomes one call with the operands' addresses, sizes and
// row strides; the kernel accumulates into C as the matmul did.
// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[A:.*]]: memref<8x16xf32>, %[[B:.*]]: memref<16x4xf32>, %[[C:.*]]: memref<8x4xf32>)
// CHECK-NOT: linalg.matmul
// CHECK-DAG: %[[PA:.*]] = memref.extract_aligned_pointer_as_index %[[A]]
// CHECK-DAG: %[[PB:.*]] = memref.extract_aligned_pointer_as_index %[[B]]
// CHECK-DAG: %[[PC:.*]] = memref.extract_aligned_pointer_as_index %[[C]]
// CHECK: %[[NOFLAGS:c0_[0-9]+]] = arith.constant 0 : index
// CHECK-NEXT: call @dlc_gemm_f32(%{{.*}}, %[[NOFLAGS]]) : (index, index, index, index, index, index, index, index, index, index, index, index, index, index, index) -> ()
// CHECK: func.func private @dlc_gemm_f32(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
func.func @matmul(%a: memref<8x16xf32>, %b: memref<16x4xf32>, %c: memref<8x4xf32>) {
  linalg.matmul ins(%a, %b : memref<8x16xf32>, memref<16x4xf32>) outs(%c : memref<8x4xf32>)
  return
}

// -----

// Batched products pass their batch strides; one declaration serves all.
// CHECK-LABEL: func.func @batched
// CHECK-COUNT-2: call @dlc_gemm_f32
// CHECK-NOT: linalg.batch_matmul
// CHECK-COUNT-1: func.func private @dlc_gemm_f32
func.func @batched(%a: memref<3x8x16xf32>, %b: memref<3x16x4xf32>, %c: memref<3x8x4xf32>,
                   %d: memref<3x8x4xf32>) {
  linalg.batch_matmul ins(%a, %b : memref<3x8x16xf32>, memref<3x16x4xf32>) outs(%c : memref<3x8x4xf32>)
  linalg.batch_matmul ins(%a, %b : memref<3x8x16xf32>, memref<3x16x4xf32>) outs(%d : memref<3x8x4xf32>)
  return
}

// -----

// Other element types and non-contiguous rows keep their loops.
// CHECK-LABEL: func.func @kept
// CHECK: linalg.matmul ins(%{{.*}} : memref<8x16xf64>
// CHECK: linalg.matmul ins(%{{.*}} : memref<8x16xf32, strided<[32, 2]>>
// CHECK-NOT: call
func.func @kept(%a: memref<8x16xf64>, %b: memref<16x4xf64>, %c: memref<8x4xf64>,
                %s: memref<8x16xf32, strided<[32, 2]>>, %t: memref<16x4xf32>, %u: memref<8x4xf32>) {
  linalg.matmul ins(%a, %b : memref<8x16xf64>, memref<16x4xf64>) outs(%c : memref<8x4xf64>)
  linalg.matmul ins(%s, %t : memref<8x16xf32, strided<[32, 2]>>, memref<16x4xf32>) outs(%u : memref<8x4xf32>)
  return
}

// -----

// A view with an offset passes the address of its first element.
// CHECK-LABEL: func.func @offset
// CHECK: %[[BASE:.*]], %[[OFFSET:.*]], %{{.*}}:2, %{{.*}}:2 = memref.extract_strided_metadata %arg0
// CHECK: %[[P:.*]] = memref.extract_aligned_pointer_as_index %arg0
// CHECK: %[[BYTES:.*]] = arith.muli %[[OFFSET]], %c4
// CHECK: arith.addi %[[P]], %[[BYTES]]
func.func @offset(%a: memref<8x16xf32, strided<[16, 1], offset: 32>>, %b: memref<16x4xf32>,
                  %c: memref<8x4xf32>) {
  linalg.matmul ins(%a, %b : memref<8x16xf32, strided<[16, 1], offset: 32>>, memref<16x4xf32>)
                outs(%c : memref<8x4xf32>)
  return
}

// -----

// A transposed right operand (ONNX Gemm's transB) is passed with its
// strides swapped: along k it is contiguous, along n it steps by a row.
// CHECK-LABEL: func.func @transposed_b
// CHECK: %{{.*}}, %{{.*}}, %[[BSIZES:.*]]:2, %[[BSTRIDES:.*]]:2 = memref.extract_strided_metadata %arg1
// CHECK: call @dlc_gemm_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[BSTRIDES]]#1, %[[BSTRIDES]]#0,
func.func @transposed_b(%a: memref<8x16xf32>, %bt: memref<4x16xf32>, %c: memref<8x4xf32>) {
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                 affine_map<(m, n, k) -> (n, k)>,
                                 affine_map<(m, n, k) -> (m, n)>]
                ins(%a, %bt : memref<8x16xf32>, memref<4x16xf32>) outs(%c : memref<8x4xf32>)
  return
}

// -----

// A right operand that is a view of a weight (an argument marked
// dlc.param) is flagged constant (kGemmConstantB = 1): the runtime packs it
// once and keeps the packing.
// CHECK-LABEL: func.func @weight
// CHECK: %[[CONSTANT:c1_[0-9]+]] = arith.constant 1 : index
// CHECK-NEXT: call @dlc_gemm_f32(%{{.*}}, %[[CONSTANT]])
func.func @weight(%a: memref<8x16xf32>, %w: memref<1x16x4xf32> {dlc.param = "w"}, %c: memref<8x4xf32>) {
  %b = memref.collapse_shape %w [[0, 1], [2]] : memref<1x16x4xf32> into memref<16x4xf32>
  linalg.matmul ins(%a, %b : memref<8x16xf32>, memref<16x4xf32>) outs(%c : memref<8x4xf32>)
  return
}

// -----

// A product into a buffer that was just zero-filled whole writes its result
// instead of adding it (kGemmOverwriteC = 2, with kGemmConstantB = 1 for
// the weight: 3) and the fill goes. A fill that something reads before the
// product stays, and the product accumulates.
// CHECK-LABEL: func.func @overwrite
// CHECK-NOT: linalg.fill
// CHECK: %[[FLAGS:c3(_[0-9]+)?]] = arith.constant 3 : index
// CHECK-NEXT: call @dlc_gemm_f32(%{{.*}}, %[[FLAGS]])
func.func @overwrite(%a: memref<8x16xf32>, %w: memref<16x4xf32> {dlc.param = "w"}, %c: memref<8x4xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<8x4xf32>)
  linalg.matmul ins(%a, %w : memref<8x16xf32>, memref<16x4xf32>) outs(%c : memref<8x4xf32>)
  return
}

// CHECK-LABEL: func.func @read_between
// CHECK: linalg.fill
// CHECK: linalg.copy
// CHECK: %[[FLAGS:c0_[0-9]+]] = arith.constant 0 : index
// CHECK-NEXT: call @dlc_gemm_f32(%{{.*}}, %[[FLAGS]])
func.func @read_between(%a: memref<8x16xf32>, %b: memref<16x4xf32>, %c: memref<8x4xf32>, %d: memref<8x4xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<8x4xf32>)
  linalg.copy ins(%c : memref<8x4xf32>) outs(%d : memref<8x4xf32>)
  linalg.matmul ins(%a, %b : memref<8x16xf32>, memref<16x4xf32>) outs(%c : memref<8x4xf32>)
  return
}
