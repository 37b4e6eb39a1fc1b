// RUN: dlc-opt --dlc-cpu-kernel-calls --split-input-file %s | FileCheck %s

// A float32 matmul becomes one call with the operands' addresses, sizes and
// row strides; the kernel accumulates into C as the matmul did. The last
// seven arguments, the epilogue's, are zero: it has none.
// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[A:.*]]: memref<8x16xf32>, %[[B:.*]]: memref<16x4xf32>, %[[C:.*]]: memref<8x4xf32>)
// CHECK-NOT: linalg.matmul
// CHECK-DAG: %[[PA:.*]] = memref.extract_aligned_pointer_as_index %[[A]]
// CHECK-DAG: %[[PB:.*]] = memref.extract_aligned_pointer_as_index %[[B]]
// CHECK-DAG: %[[PC:.*]] = memref.extract_aligned_pointer_as_index %[[C]]
// CHECK: %[[NOFLAGS:c0_[0-9]+]] = arith.constant 0 : index
// CHECK-NEXT: call @dlc_gemm_f32(%{{.*}}, %[[NOFLAGS]]{{(, %[a-z0-9_]+)+}}) : (index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index) -> ()
// CHECK: func.func private @dlc_gemm_f32(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
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

// A transposed left operand (a weight gradient's xᵀ, stored [k, m]) is
// passed as it is, with kGemmTransposedA (16): k is its row count, lda its
// row stride. With a transposed right operand too, both are.
// CHECK-LABEL: func.func @transposed_a
// CHECK-DAG: %[[ASIZES:[a-z0-9_]+]]:2, %[[ASTRIDES:[a-z0-9_]+]]:2 = memref.extract_strided_metadata %arg0
// CHECK-DAG: %[[CSIZES:[a-z0-9_]+]]:2, %{{[a-z0-9_]+}}:2 = memref.extract_strided_metadata %arg2
// CHECK: %[[FLAGS:c16(_[0-9]+)?]] = arith.constant 16 : index
// CHECK-NEXT: call @dlc_gemm_f32(%{{.*}}, %[[CSIZES]]#0, %[[CSIZES]]#1, %[[ASIZES]]#0, %{{.*}}, %{{.*}}, %[[ASTRIDES]]#0, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[FLAGS]],
// CHECK: %[[BSTRIDES:[a-z0-9_]+]]:2 = memref.extract_strided_metadata %arg3
// CHECK: %[[BOTH:c16(_[0-9]+)?]] = arith.constant 16 : index
// CHECK-NEXT: call @dlc_gemm_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[BSTRIDES]]#1, %[[BSTRIDES]]#0, %{{.*}}, %{{.*}}, %{{.*}}, %[[BOTH]],
func.func @transposed_a(%at: memref<16x8xf32>, %b: memref<16x4xf32>, %c: memref<8x4xf32>,
                        %bt: memref<4x16xf32>) {
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (k, m)>,
                                 affine_map<(m, n, k) -> (k, n)>,
                                 affine_map<(m, n, k) -> (m, n)>]
                ins(%at, %b : memref<16x8xf32>, memref<16x4xf32>) outs(%c : memref<8x4xf32>)
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (k, m)>,
                                 affine_map<(m, n, k) -> (n, k)>,
                                 affine_map<(m, n, k) -> (m, n)>]
                ins(%at, %bt : memref<16x8xf32>, memref<4x16xf32>) outs(%c : memref<8x4xf32>)
  return
}

// -----

// A right operand that is a view of a weight (an argument marked
// dlc.param) is flagged constant (kGemmConstantB = 1): the runtime packs it
// once and keeps the packing.
// CHECK-LABEL: func.func @weight
// CHECK: %[[CONSTANT:c1_[0-9]+]] = arith.constant 1 : index
// CHECK-NEXT: call @dlc_gemm_f32(%{{.*}}, %[[CONSTANT]]{{(, %[a-z0-9_]+)+}})
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
// CHECK-NEXT: call @dlc_gemm_f32(%{{.*}}, %[[FLAGS]]{{(, %[a-z0-9_]+)+}})
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
// CHECK-NEXT: call @dlc_gemm_f32(%{{.*}}, %[[FLAGS]]{{(, %[a-z0-9_]+)+}})
func.func @read_between(%a: memref<8x16xf32>, %b: memref<16x4xf32>, %c: memref<8x4xf32>, %d: memref<8x4xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<8x4xf32>)
  linalg.copy ins(%c : memref<8x4xf32>) outs(%d : memref<8x4xf32>)
  linalg.matmul ins(%a, %b : memref<8x16xf32>, memref<16x4xf32>) outs(%c : memref<8x4xf32>)
  return
}

// -----

// A fused convolution's epilogue updating the product's buffer in place
// right after it becomes the GEMM's: per-row scale and shift, the
// residual's address and strides, and the ReLU6 bounds as float bits
// (kGemmClampMin | kGemmClampMax = 12; the weight is A, kGemmConstantA =
// 64, not a constant B: 76);
// the generic goes. One that reads a buffer the product writes stays.
// CHECK-LABEL: func.func @epilogue
// CHECK-NOT: linalg.generic
// CHECK-DAG: %[[PS:.*]] = memref.extract_aligned_pointer_as_index %[[S:arg3]]
// CHECK-DAG: %[[PT:.*]] = memref.extract_aligned_pointer_as_index %[[T:arg4]]
// CHECK-DAG: %[[PR:.*]] = memref.extract_aligned_pointer_as_index %[[R:arg5]]
// CHECK-DAG: %[[LO:.*]] = memref.load %arg6[]
// CHECK-DAG: %[[LOBITS:.*]] = arith.bitcast %[[LO]] : f32 to i32
// CHECK-DAG: %[[SIX:.*]] = arith.constant 6.000000e+00 : f32
// CHECK-DAG: %[[HIBITS:.*]] = arith.bitcast %[[SIX]] : f32 to i32
// CHECK-DAG: %[[FLAGS:c76(_[0-9]+)?]] = arith.constant 76 : index
// CHECK: call @dlc_gemm_f32({{.*}}, %[[FLAGS]], %{{.*}}, %{{.*}}, %{{.*}}, %[[RBATCH:.*]], %[[LDR:.*]], %{{.*}}, %{{.*}})
// CHECK-NOT: linalg.generic
// CHECK: return
#row = affine_map<(d0, d1, d2) -> (d1)>
#all = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#none = affine_map<(d0, d1, d2) -> ()>
func.func @epilogue(%w: memref<8x4xf32> {dlc.param = "w"}, %cols: memref<1x4x36xf32>, %c: memref<1x8x36xf32>,
                    %s: memref<8xf32>, %t: memref<8xf32>, %r: memref<1x8x36xf32>, %lo: memref<f32>) {
  linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (m, k)>, affine_map<(b, m, n, k) -> (b, k, n)>, affine_map<(b, m, n, k) -> (b, m, n)>]
    ins(%w, %cols : memref<8x4xf32>, memref<1x4x36xf32>) outs(%c : memref<1x8x36xf32>)
  linalg.generic {indexing_maps = [#row, #row, #all, #none, #all], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s, %t, %r, %lo : memref<8xf32>, memref<8xf32>, memref<1x8x36xf32>, memref<f32>) outs(%c : memref<1x8x36xf32>) {
  ^bb0(%vs: f32, %vt: f32, %vr: f32, %vlo: f32, %out: f32):
    %six = arith.constant 6.0 : f32
    %0 = arith.mulf %out, %vs : f32
    %1 = arith.addf %0, %vt : f32
    %2 = arith.addf %1, %vr : f32
    %3 = arith.maximumf %2, %vlo : f32
    %4 = arith.minimumf %3, %six : f32
    linalg.yield %4 : f32
  }
  return
}

// CHECK-LABEL: func.func @epilogue_reads_product
// CHECK: call @dlc_gemm_f32
// CHECK: linalg.generic
func.func @epilogue_reads_product(%w: memref<8x4xf32>, %cols: memref<1x4x36xf32>, %c: memref<1x8x36xf32>) {
  linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (m, k)>, affine_map<(b, m, n, k) -> (b, k, n)>, affine_map<(b, m, n, k) -> (b, m, n)>]
    ins(%w, %cols : memref<8x4xf32>, memref<1x4x36xf32>) outs(%c : memref<1x8x36xf32>)
  // The "residual" is the product itself: the GEMM cannot add it.
  linalg.generic {indexing_maps = [#all, #all], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%c : memref<1x8x36xf32>) outs(%c : memref<1x8x36xf32>) {
  ^bb0(%vr: f32, %out: f32):
    %0 = arith.addf %out, %vr : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

// A convolution generic marked dlc.conv2d becomes a call of the runtime's
// convolution: sizes, strides and dilations (from the mark), the input's
// four strides, the filter's row stride, the output's strides (here a view
// inside a padded buffer: the zero fill of exactly that view goes, and the
// kernel overwrites; kGemmOverwriteC = 2), then its epilogue with output
// channels as rows (ReLU: kGemmClampMin = 4; 2 | 4 = 6) and the residual's
// strides.
#cin = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d4, d2 * 2 + d5, d3 * 2 + d6)>
#cw = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1, d4, d5, d6)>
#cout = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3)>
#all4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @conv
// CHECK-NOT: linalg.fill
// CHECK-NOT: linalg.generic
// CHECK-DAG: %[[FLAGS:c6(_[0-9]+)?]] = arith.constant 6 : index
// CHECK: call @dlc_conv2d_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %c2{{(_[0-9]+)?}}, %c2{{(_[0-9]+)?}}, %c1{{(_[0-9]+)?}}, %c1{{(_[0-9]+)?}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[FLAGS]], %c0{{.*}}, %c0{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %c0{{.*}})
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @conv(%x: memref<2x3x9x9xf32>, %w: memref<4x3x3x3xf32>, %padded: memref<2x4x6x6xf32>,
                %r: memref<2x4x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %out = memref.subview %padded[0, 0, 1, 1] [2, 4, 4, 4] [1, 1, 1, 1]
      : memref<2x4x6x6xf32> to memref<2x4x4x4xf32, strided<[144, 36, 6, 1], offset: 7>>
  linalg.fill ins(%zero : f32) outs(%out : memref<2x4x4x4xf32, strided<[144, 36, 6, 1], offset: 7>>)
  linalg.generic {indexing_maps = [#cin, #cw, #cout], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : memref<2x3x9x9xf32>, memref<4x3x3x3xf32>)
      outs(%out : memref<2x4x4x4xf32, strided<[144, 36, 6, 1], offset: 7>>) attrs = {dlc.conv2d = array<i64: 2, 2, 1, 1>} {
  ^bb0(%in: f32, %f: f32, %acc: f32):
    %0 = arith.mulf %in, %f : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  }
  linalg.generic {indexing_maps = [#all4, #all4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%r : memref<2x4x4x4xf32>) outs(%out : memref<2x4x4x4xf32, strided<[144, 36, 6, 1], offset: 7>>) {
  ^bb0(%vr: f32, %o: f32):
    %0 = arith.addf %o, %vr : f32
    %1 = arith.maximumf %0, %zero : f32
    linalg.yield %1 : f32
  }
  return
}

// A filter that is a weight (an argument marked dlc.param) is flagged
// constant (kConvConstantFilter = 32; with kGemmOverwriteC, 34): the runtime
// may keep its Winograd transform.
// CHECK-LABEL: func.func @conv_weight
// CHECK-DAG: %[[FLAGS:c34(_[0-9]+)?]] = arith.constant 34 : index
// CHECK: call @dlc_conv2d_f32(%{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %[[FLAGS]],
func.func @conv_weight(%x: memref<1x3x6x6xf32>, %w: memref<4x3x3x3xf32> {dlc.param = "w"},
                       %out: memref<1x4x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%out : memref<1x4x4x4xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d4, d2 + d5, d3 + d6)>, #cw, #cout], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : memref<1x3x6x6xf32>, memref<4x3x3x3xf32>)
      outs(%out : memref<1x4x4x4xf32>) attrs = {dlc.conv2d = array<i64: 1, 1, 1, 1>} {
  ^bb0(%in: f32, %f: f32, %acc: f32):
    %0 = arith.mulf %in, %f : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  }
  return
}

// A filter that is not contiguous after its first dimension (a view) keeps
// the loop nest: the kernel reads it as a matrix.
// CHECK-LABEL: func.func @conv_filter_view
// CHECK-NOT: dlc_conv2d_f32
// CHECK: linalg.generic
func.func @conv_filter_view(%x: memref<1x3x5x5xf32>, %big: memref<4x6x3x3xf32>, %out: memref<1x4x3x3xf32>) {
  %w = memref.subview %big[0, 0, 0, 0] [4, 3, 3, 3] [1, 2, 1, 1]
      : memref<4x6x3x3xf32> to memref<4x3x3x3xf32, strided<[54, 18, 3, 1]>>
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d4, d2 + d5, d3 + d6)>, #cw, #cout], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : memref<1x3x5x5xf32>, memref<4x3x3x3xf32, strided<[54, 18, 3, 1]>>)
      outs(%out : memref<1x4x3x3xf32>) attrs = {dlc.conv2d = array<i64: 1, 1, 1, 1>} {
  ^bb0(%in: f32, %f: f32, %acc: f32):
    %0 = arith.mulf %in, %f : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  }
  return
}

// -----

// A 2×2, stride-2 max pooling (four reads of one buffer at (2y + i, 2x + j),
// the maximumf of the four) becomes a call with the sizes of the output and
// the outer strides of both buffers (the output here a view inside a padded
// buffer).
#w00 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2 * 2, d3 * 2)>
#w01 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2 * 2, d3 * 2 + 1)>
#w10 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2 * 2 + 1, d3 * 2)>
#w11 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2 * 2 + 1, d3 * 2 + 1)>
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @max_pool
// CHECK-SAME: (%[[IN:[a-z0-9_]+]]: {{.*}}, %[[OUT:[a-z0-9_]+]]: {{.*}})
// CHECK-NOT: linalg.generic
// CHECK: %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}:4, %[[IS:[a-z0-9_]+]]:4 = memref.extract_strided_metadata %[[IN]]
// CHECK: %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %[[OZ:[a-z0-9_]+]]:4, %[[OS:[a-z0-9_]+]]:4 = memref.extract_strided_metadata %[[OUT]]
// CHECK: call @dlc_max_pool2x2_f32(%[[OZ]]#0, %[[OZ]]#1, %[[OZ]]#2, %[[OZ]]#3, %{{[0-9]+}}, %[[IS]]#0, %[[IS]]#1, %[[IS]]#2, %{{[0-9]+}}, %[[OS]]#0, %[[OS]]#1, %[[OS]]#2)
// CHECK: func.func private @dlc_max_pool2x2_f32(index, index, index, index, index, index, index, index, index, index, index, index)
func.func @max_pool(%in: memref<64x32x28x28xf32>,
                    %out: memref<64x32x14x14xf32, strided<[8192, 256, 16, 1], offset: 17>>) {
  linalg.generic {indexing_maps = [#w00, #w01, #w10, #w11, #id],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%in, %in, %in, %in : memref<64x32x28x28xf32>, memref<64x32x28x28xf32>,
                               memref<64x32x28x28xf32>, memref<64x32x28x28xf32>)
      outs(%out : memref<64x32x14x14xf32, strided<[8192, 256, 16, 1], offset: 17>>) {
  ^bb0(%a: f32, %b: f32, %c: f32, %d: f32, %o: f32):
    %0 = arith.maximumf %a, %b : f32
    %1 = arith.maximumf %0, %c : f32
    %2 = arith.maximumf %1, %d : f32
    linalg.yield %2 : f32
  }
  return
}

// -----

// A k×k max pooling of a padded buffer (ResNet's 3×3, stride 2: a reduction
// over a window buffer it does not read, the maximumf of the output and the
// input) becomes a call with the output's sizes, the window, the strides
// and both buffers' outer strides. A sum over the same window (an average
// pooling's first step) and a max pooling with a dilated window stay
// generated loops.
#pin = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0 + d4, d1 + d5, d2 * 2 + d6, d3 * 2 + d7)>
#pdilated = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0 + d4, d1 + d5, d2 * 2 + d6 * 2, d3 * 2 + d7)>
#pwin = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d4, d5, d6, d7)>
#pout = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @window_max_pool
// CHECK: call @dlc_max_pool_f32(%{{[a-z0-9#_]+}}, %{{[a-z0-9#_]+}}, %{{[a-z0-9#_]+}}, %{{[a-z0-9#_]+}}, %c3{{(_[0-9]+)?}}, %c3{{(_[0-9]+)?}}, %c2{{(_[0-9]+)?}}, %c2{{(_[0-9]+)?}},
// CHECK: linalg.generic
// CHECK: arith.addf
// CHECK: linalg.generic
// CHECK: arith.maximumf
// CHECK: return
// CHECK: func.func private @dlc_max_pool_f32(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
func.func @window_max_pool(%in: memref<1x64x114x114xf32>, %win: memref<1x1x3x3xf32>,
                           %out: memref<1x64x56x56xf32>, %tall: memref<1x64x116x114xf32>) {
  linalg.generic {indexing_maps = [#pin, #pwin, #pout],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel",
                                    "reduction", "reduction", "reduction", "reduction"]}
      ins(%in, %win : memref<1x64x114x114xf32>, memref<1x1x3x3xf32>)
      outs(%out : memref<1x64x56x56xf32>) {
  ^bb0(%a: f32, %w: f32, %o: f32):
    %0 = arith.maximumf %o, %a : f32
    linalg.yield %0 : f32
  }
  linalg.generic {indexing_maps = [#pin, #pwin, #pout],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel",
                                    "reduction", "reduction", "reduction", "reduction"]}
      ins(%in, %win : memref<1x64x114x114xf32>, memref<1x1x3x3xf32>)
      outs(%out : memref<1x64x56x56xf32>) {
  ^bb0(%a: f32, %w: f32, %o: f32):
    %0 = arith.addf %o, %a : f32
    linalg.yield %0 : f32
  }
  linalg.generic {indexing_maps = [#pdilated, #pwin, #pout],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel",
                                    "reduction", "reduction", "reduction", "reduction"]}
      ins(%tall, %win : memref<1x64x116x114xf32>, memref<1x1x3x3xf32>)
      outs(%out : memref<1x64x56x56xf32>) {
  ^bb0(%a: f32, %w: f32, %o: f32):
    %0 = arith.maximumf %a, %o : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

// Not the runtime's pooling, so left to the generated loops: a 2×2 window
// with a fused consumer (a scaling), and one whose inputs are two buffers.
#v00 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2 * 2, d3 * 2)>
#v01 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2 * 2, d3 * 2 + 1)>
#v10 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2 * 2 + 1, d3 * 2)>
#v11 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2 * 2 + 1, d3 * 2 + 1)>
#vid = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @not_max_pool
// CHECK-NOT: dlc_max_pool2x2_f32
// CHECK: linalg.generic
// CHECK: arith.mulf
// CHECK: linalg.generic
// CHECK-NOT: dlc_max_pool2x2_f32
// CHECK: return
func.func @not_max_pool(%in: memref<2x3x8x8xf32>, %other: memref<2x3x8x8xf32>,
                        %out: memref<2x3x4x4xf32>) {
  %half = arith.constant 0.5 : f32
  linalg.generic {indexing_maps = [#v00, #v01, #v10, #v11, #vid],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%in, %in, %in, %in : memref<2x3x8x8xf32>, memref<2x3x8x8xf32>,
                               memref<2x3x8x8xf32>, memref<2x3x8x8xf32>)
      outs(%out : memref<2x3x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32, %d: f32, %o: f32):
    %0 = arith.maximumf %a, %b : f32
    %1 = arith.maximumf %0, %c : f32
    %2 = arith.maximumf %1, %d : f32
    %3 = arith.mulf %2, %half : f32
    linalg.yield %3 : f32
  }
  linalg.generic {indexing_maps = [#v00, #v01, #v10, #v11, #vid],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%in, %other, %in, %in : memref<2x3x8x8xf32>, memref<2x3x8x8xf32>,
                                  memref<2x3x8x8xf32>, memref<2x3x8x8xf32>)
      outs(%out : memref<2x3x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32, %d: f32, %o: f32):
    %0 = arith.maximumf %a, %b : f32
    %1 = arith.maximumf %0, %c : f32
    %2 = arith.maximumf %1, %d : f32
    linalg.yield %2 : f32
  }
  return
}

// -----

// The last pass of a 2×2 max pooling's gradient (each element's share
// where it equals its window's maximum, read at (h/2, w/2)) becomes a call
// with the sizes of the output and the outer strides of its four buffers;
// with a ReLU's gradient fused after it (select(x > 0, ..., 0)), flag 1.
#x = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#p = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2 floordiv 2, d3 floordiv 2)>
// CHECK-LABEL: func.func @pool_scatter
// CHECK-SAME: (%[[X:[a-z0-9_]+]]: {{.*}}, %[[Y:[a-z0-9_]+]]: {{.*}}, %[[S:[a-z0-9_]+]]: {{.*}}, %[[OUT:[a-z0-9_]+]]: {{.*}})
// CHECK-NOT: linalg.generic
// CHECK: %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}:4, %[[XS:[a-z0-9_]+]]:4 = memref.extract_strided_metadata %[[X]]
// CHECK: %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}:4, %[[YS:[a-z0-9_]+]]:4 = memref.extract_strided_metadata %[[Y]]
// CHECK: %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}:4, %[[SS:[a-z0-9_]+]]:4 = memref.extract_strided_metadata %[[S]]
// CHECK: %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %[[OZ:[a-z0-9_]+]]:4, %[[OS:[a-z0-9_]+]]:4 = memref.extract_strided_metadata %[[OUT]]
// CHECK: %[[FLAGS:.*]] = arith.constant 1 : index
// CHECK: call @dlc_max_pool2x2_scatter_f32(%[[OZ]]#0, %[[OZ]]#1, %[[OZ]]#2, %[[OZ]]#3, %{{[0-9]+}}, %[[XS]]#0, %[[XS]]#1, %[[XS]]#2, %{{[0-9]+}}, %[[YS]]#0, %[[YS]]#1, %[[YS]]#2, %{{[0-9]+}}, %[[SS]]#0, %[[SS]]#1, %[[SS]]#2, %{{[0-9]+}}, %[[OS]]#0, %[[OS]]#1, %[[OS]]#2, %[[FLAGS]])
// CHECK-LABEL: func.func @pool_scatter_plain
// CHECK: %[[NOFLAGS:.*]] = arith.constant 0 : index
// CHECK: call @dlc_max_pool2x2_scatter_f32({{.*}}, %[[NOFLAGS]])
// CHECK-LABEL: func.func @not_pool_scatter
// CHECK-NOT: dlc_max_pool2x2_scatter_f32
// CHECK: linalg.generic
// CHECK: arith.addf
// CHECK-NOT: dlc_max_pool2x2_scatter_f32
// CHECK: linalg.generic
// CHECK: arith.select %{{.*}}, %{{.*}}, %{{.*}} : f32
// CHECK-NOT: dlc_max_pool2x2_scatter_f32
// CHECK: return
func.func @pool_scatter(%x: memref<64x64x14x14xf32>, %y: memref<64x64x7x7xf32>,
                        %s: memref<64x64x7x7xf32>,
                        %out: memref<64x64x14x14xf32, strided<[16384, 256, 16, 1], offset: 17>>) {
  %one = arith.constant 1.0 : f32
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [#x, #p, #p, #x],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %y, %s : memref<64x64x14x14xf32>, memref<64x64x7x7xf32>, memref<64x64x7x7xf32>)
      outs(%out : memref<64x64x14x14xf32, strided<[16384, 256, 16, 1], offset: 17>>) {
  ^bb0(%a: f32, %b: f32, %c: f32, %o: f32):
    %0 = arith.cmpf oeq, %a, %b : f32
    %1 = arith.select %0, %one, %zero : f32
    %2 = arith.mulf %1, %c : f32
    %3 = arith.cmpf ogt, %a, %zero : f32
    %4 = arith.select %3, %2, %zero : f32
    linalg.yield %4 : f32
  }
  return
}
func.func @pool_scatter_plain(%x: memref<2x3x8x8xf32>, %y: memref<2x3x4x4xf32>,
                              %s: memref<2x3x4x4xf32>, %out: memref<2x3x8x8xf32>) {
  %one = arith.constant 1.0 : f32
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [#p, #x, #p, #x],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%s, %x, %y : memref<2x3x4x4xf32>, memref<2x3x8x8xf32>, memref<2x3x4x4xf32>)
      outs(%out : memref<2x3x8x8xf32>) {
  ^bb0(%c: f32, %a: f32, %b: f32, %o: f32):
    %0 = arith.cmpf oeq, %b, %a : f32
    %1 = arith.select %0, %one, %zero : f32
    %2 = arith.mulf %c, %1 : f32
    linalg.yield %2 : f32
  }
  return
}
// Something else fused in (a sum), or a -0 where the kernel writes +0:
// left to the generated loops.
func.func @not_pool_scatter(%x: memref<2x3x8x8xf32>, %y: memref<2x3x4x4xf32>,
                            %s: memref<2x3x4x4xf32>, %out: memref<2x3x8x8xf32>) {
  %one = arith.constant 1.0 : f32
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [#x, #p, #p, #x],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %y, %s : memref<2x3x8x8xf32>, memref<2x3x4x4xf32>, memref<2x3x4x4xf32>)
      outs(%out : memref<2x3x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32, %o: f32):
    %0 = arith.cmpf oeq, %a, %b : f32
    %1 = arith.select %0, %one, %zero : f32
    %2 = arith.mulf %1, %c : f32
    %3 = arith.addf %2, %a : f32
    linalg.yield %3 : f32
  }
  %negzero = arith.constant -0.0 : f32
  linalg.generic {indexing_maps = [#x, #p, #p, #x],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %y, %s : memref<2x3x8x8xf32>, memref<2x3x4x4xf32>, memref<2x3x4x4xf32>)
      outs(%out : memref<2x3x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32, %o: f32):
    %0 = arith.cmpf oeq, %a, %b : f32
    %1 = arith.select %0, %one, %negzero : f32
    %2 = arith.mulf %1, %c : f32
    linalg.yield %2 : f32
  }
  return
}
