// RUN: dlc-opt %s --dlc-lower-to-linalg --split-input-file | FileCheck %s
// Each dlc op becomes the structured op that computes it.

// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @elementwise
func.func @elementwise(%a: tensor<4x8xf32>, %b: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ID]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
  // CHECK: arith.addf
  %0 = dlc.add %a, %b : tensor<4x8xf32>
  // CHECK: arith.maximumf
  %1 = dlc.max %0, %b : tensor<4x8xf32>
  // CHECK: math.exp
  %2 = dlc.exp %1 : tensor<4x8xf32>
  // CHECK: arith.negf
  %3 = dlc.neg %2 : tensor<4x8xf32>
  // CHECK-NOT: dlc.
  return %3 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func.func @integer_ops
func.func @integer_ops(%a: tensor<4xi32>) -> tensor<4xi32> {
  // CHECK: arith.divsi
  %0 = dlc.div %a, %a : tensor<4xi32>
  // CHECK: arith.maxsi
  %1 = dlc.max %0, %a : tensor<4xi32>
  // CHECK: %[[ZERO:.*]] = arith.constant 0 : i32
  // CHECK: arith.subi %[[ZERO]]
  %2 = dlc.neg %1 : tensor<4xi32>
  return %2 : tensor<4xi32>
}

// -----

// A growing size-1 dimension reads index 0.
// CHECK-DAG: #[[IN:.*]] = affine_map<(d0, d1, d2) -> (d1, 0)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @broadcast
func.func @broadcast(%a: tensor<4x1xf32>) -> tensor<2x4x3xf32> {
  // CHECK: linalg.generic {indexing_maps = [#[[IN]], #[[OUT]]]
  // CHECK-NEXT: ^bb0(%[[IN_ARG:.*]]: f32, %{{.*}}: f32):
  // CHECK-NEXT: linalg.yield %[[IN_ARG]]
  %0 = dlc.broadcast %a, dims = [1, 2] : tensor<4x1xf32> -> tensor<2x4x3xf32>
  return %0 : tensor<2x4x3xf32>
}

// -----

// A broadcast that only adds unit dimensions is a view: no copy of the
// weight a batched product reads.
// CHECK-LABEL: func.func @unit_broadcast
func.func @unit_broadcast(%w: tensor<8x4xf32>) -> tensor<1x8x4xf32> {
  // CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0, 1], [2]] output_shape [1, 8, 4]
  // CHECK-NOT: linalg.generic
  %0 = dlc.broadcast %w, dims = [1, 2] : tensor<8x4xf32> -> tensor<1x8x4xf32>
  return %0 : tensor<1x8x4xf32>
}

// -----

// CHECK-LABEL: func.func @reshape
func.func @reshape(%a: tensor<2x3x4xf32>) -> tensor<4x6xf32> {
  // CHECK: %[[FLAT:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0, 1, 2]] : tensor<2x3x4xf32> into tensor<24xf32>
  // CHECK: tensor.expand_shape %[[FLAT]] {{\[\[}}0, 1]] output_shape [4, 6] : tensor<24xf32> into tensor<4x6xf32>
  %0 = dlc.reshape %a : tensor<2x3x4xf32> -> tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

// CHECK-LABEL: func.func @transpose
func.func @transpose(%a: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // CHECK: linalg.transpose ins(%{{.*}} : tensor<2x3xf32>) outs(%{{.*}} : tensor<3x2xf32>) permutation = [1, 0]
  %0 = dlc.transpose %a, perm = [1, 0] : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// Reductions start from the identity of their combiner; a float sum may be
// reassociated (so that LLVM vectorizes it).
// CHECK-LABEL: func.func @reduce
func.func @reduce(%a: tensor<2x3xf32>) -> (tensor<2xf32>, tensor<3xf32>) {
  // CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
  // CHECK: %[[INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32)
  // CHECK: linalg.reduce { arith.addf {fastmath = #arith.fastmath<reassoc>} } ins(%{{.*}} : tensor<2x3xf32>) outs(%[[INIT]] : tensor<2xf32>) dimensions = [1]
  %0 = dlc.reduce sum %a, dims = [1] : tensor<2x3xf32> -> tensor<2xf32>
  // CHECK: %[[NEG_INF:.*]] = arith.constant 0xFF800000 : f32
  // CHECK: linalg.fill ins(%[[NEG_INF]] : f32)
  // CHECK: arith.maximumf
  %1 = dlc.reduce max %a, dims = [0] : tensor<2x3xf32> -> tensor<3xf32>
  return %0, %1 : tensor<2xf32>, tensor<3xf32>
}

// -----

// CHECK-LABEL: func.func @dot
func.func @dot(%a: tensor<4x16xf32>, %b: tensor<16x8xf32>,
               %c: tensor<2x3x4x5xf32>, %d: tensor<2x3x5x6xf32>)
    -> (tensor<4x8xf32>, tensor<2x3x4x6xf32>) {
  // CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x16xf32>, tensor<16x8xf32>)
  %0 = dlc.dot %a, %b : tensor<4x16xf32>, tensor<16x8xf32> -> tensor<4x8xf32>
  // Batch dimensions fold into one around a batch_matmul.
  // CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1], [2], [3]] : tensor<2x3x4x5xf32> into tensor<6x4x5xf32>
  // CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1], [2], [3]] : tensor<2x3x5x6xf32> into tensor<6x5x6xf32>
  // CHECK: %[[P:.*]] = linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<6x4x5xf32>, tensor<6x5x6xf32>)
  // CHECK: tensor.expand_shape %[[P]] {{\[\[}}0, 1], [2], [3]] output_shape [2, 3, 4, 6]
  %1 = dlc.dot %c, %d : tensor<2x3x4x5xf32>, tensor<2x3x5x6xf32> -> tensor<2x3x4x6xf32>
  return %0, %1 : tensor<4x8xf32>, tensor<2x3x4x6xf32>
}

// -----

// Transposed operands of a matrix product (a weight gradient's xᵀ · dy, a
// dense layer's x · wᵀ) are read through its indexing maps, not copied
// (the transposes are left dead).
// CHECK-DAG: #[[ROWS_OF_AT:.*]] = affine_map<(d0, d1, d2) -> (d2, d0)>
// CHECK-DAG: #[[ROWS_OF_B:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG: #[[ROWS_OF_BT:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @transposed_operands
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<64x784xf32>{{.*}}, %[[DY:[a-z0-9]+]]: tensor<64x10xf32>{{.*}}, %[[H:[a-z0-9]+]]: tensor<5x64xf32>
// CHECK: linalg.matmul indexing_maps = [#[[ROWS_OF_AT]], #[[ROWS_OF_B]], #[[OUT]]] ins(%[[X]], %[[DY]] : tensor<64x784xf32>, tensor<64x10xf32>) outs(%{{.*}} : tensor<784x10xf32>)
// CHECK: linalg.matmul indexing_maps = [#[[ROWS_OF_AT]], #[[ROWS_OF_BT]], #[[OUT]]] ins(%[[DY]], %[[H]] : tensor<64x10xf32>, tensor<5x64xf32>) outs(%{{.*}} : tensor<10x5xf32>)
func.func @transposed_operands(%x: tensor<64x784xf32>, %dy: tensor<64x10xf32>,
                               %h: tensor<5x64xf32>) -> (tensor<784x10xf32>, tensor<10x5xf32>) {
  %xt = dlc.transpose %x, perm = [1, 0] : tensor<64x784xf32> -> tensor<784x64xf32>
  %0 = dlc.dot %xt, %dy : tensor<784x64xf32>, tensor<64x10xf32> -> tensor<784x10xf32>
  %dyt = dlc.transpose %dy, perm = [1, 0] : tensor<64x10xf32> -> tensor<10x64xf32>
  %ht = dlc.transpose %h, perm = [1, 0] : tensor<5x64xf32> -> tensor<64x5xf32>
  %1 = dlc.dot %dyt, %ht : tensor<10x64xf32>, tensor<64x5xf32> -> tensor<10x5xf32>
  return %0, %1 : tensor<784x10xf32>, tensor<10x5xf32>
}

// -----

// CHECK-LABEL: func.func @constant
func.func @constant() -> tensor<2xf32> {
  // CHECK: arith.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
  %0 = dlc.constant dense<[1.0, 2.0]> : tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

// Data movement: slices and inserts, a reversed index map, a generic that
// gathers with tensor.extract, and an in-order loop for scatter.
// CHECK-DAG: #[[REV:.*]] = affine_map<(d0, d1) -> (d0, -d1 + 3)>
// CHECK-LABEL: func.func @data_movement
func.func @data_movement(%a: tensor<2x4xf32>, %z: tensor<f32>, %i: tensor<3xi64>, %f: tensor<8xf32>, %u: tensor<3xf32>)
    -> (tensor<2x2xf32>, tensor<2x4xf32>, tensor<4x4xf32>, tensor<3x5xf32>, tensor<2x3xf32>, tensor<8xf32>) {
  // CHECK: tensor.extract_slice %{{.*}}[0, 1] [2, 2] [1, 2] : tensor<2x4xf32> to tensor<2x2xf32>
  %0 = dlc.slice %a, start = [0, 1], limit = [2, 4], strides = [1, 2] : tensor<2x4xf32> -> tensor<2x2xf32>
  // CHECK: linalg.generic {indexing_maps = [#[[REV]], #{{.*}}]
  %1 = dlc.reverse %a, dims = [1] : tensor<2x4xf32>
  // CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0] [2, 4] [1, 1] : tensor<2x4xf32> into tensor<4x4xf32>
  // CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[2, 0] [2, 4] [1, 1] : tensor<2x4xf32> into tensor<4x4xf32>
  %2 = dlc.concat(%a, %a) dim = 0 : tensor<2x4xf32>, tensor<2x4xf32> -> tensor<4x4xf32>
  // CHECK: %[[V:.*]] = tensor.extract %{{.*}}[] : tensor<f32>
  // CHECK: %[[F:.*]] = linalg.fill ins(%[[V]] : f32)
  // CHECK: tensor.insert_slice %{{.*}} into %[[F]][1, 0] [2, 4] [1, 1] : tensor<2x4xf32> into tensor<3x5xf32>
  %3 = dlc.pad %a, %z, low = [1, 0], high = [0, 1] : tensor<2x4xf32>, tensor<f32> -> tensor<3x5xf32>
  // CHECK: linalg.generic
  // CHECK: arith.index_cast
  // CHECK: arith.maxsi
  // CHECK: arith.minsi
  // CHECK: tensor.extract %{{.*}}[%{{.*}}, %{{.*}}] : tensor<2x4xf32>
  %4 = dlc.gather %a, %i, axis = 1 : tensor<2x4xf32>, tensor<3xi64> -> tensor<2x3xf32>
  // CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[T:.*]] = %{{.*}}) -> (tensor<8xf32>)
  // CHECK: arith.addf
  // CHECK: tensor.insert %{{.*}} into %[[T]]
  %5 = dlc.scatter add %f, %i, %u : tensor<8xf32>, tensor<3xi64>, tensor<3xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<2x2xf32>, tensor<2x4xf32>, tensor<4x4xf32>, tensor<3x5xf32>, tensor<2x3xf32>, tensor<8xf32>
}

// -----

// Inputs and weights are the caller's: bufferization must not update them
// in place.
// CHECK-LABEL: func.func @read_only_arguments
// CHECK-SAME: (%{{.*}}: tensor<4xf32> {bufferization.writable = false, dlc.input = "x"}, %{{.*}}: tensor<4xf32> {bufferization.writable = false, dlc.param = "w"})
func.func @read_only_arguments(%x: tensor<4xf32> {dlc.input = "x"}, %w: tensor<4xf32> {dlc.param = "w"}) -> tensor<4xf32> {
  %0 = dlc.add %x, %w : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Rows of a batch times one matrix broadcast over the batch is one matrix
// product on [batch · rows, k]: the broadcast is never materialized.
// CHECK-LABEL: func.func @dense_on_batch
// CHECK: %[[ROWS:.*]] = tensor.collapse_shape %arg0 {{\[\[}}0, 1], [2]] : tensor<2x3x8xf32> into tensor<6x8xf32>
// CHECK: %[[PRODUCT:.*]] = linalg.matmul ins(%[[ROWS]], %arg1 : tensor<6x8xf32>, tensor<8x4xf32>)
// CHECK: tensor.expand_shape %[[PRODUCT]] {{\[\[}}0, 1], [2]] output_shape [2, 3, 4]
// CHECK-NOT: linalg.generic
func.func @dense_on_batch(%x: tensor<2x3x8xf32>, %w: tensor<8x4xf32>) -> tensor<2x3x4xf32> {
  %bw = dlc.broadcast %w, dims = [1, 2] : tensor<8x4xf32> -> tensor<2x8x4xf32>
  %0 = dlc.dot %x, %bw : tensor<2x3x8xf32>, tensor<2x8x4xf32> -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

// Windows that tile the operand (2x2, stride 2): one all-parallel generic
// reading each window offset through a map of its own, no fill.
// CHECK-DAG: #[[W00:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2 * 2, d3 * 2)>
// CHECK-DAG: #[[W01:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2 * 2, d3 * 2 + 1)>
// CHECK-DAG: #[[W10:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2 * 2 + 1, d3 * 2)>
// CHECK-DAG: #[[W11:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2 * 2 + 1, d3 * 2 + 1)>
// CHECK-LABEL: func.func @tiled_max_pool
// CHECK-NOT: linalg.fill
// CHECK: linalg.generic {indexing_maps = [#[[W00]], #[[W01]], #[[W10]], #[[W11]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK-COUNT-3: arith.maximumf
func.func @tiled_max_pool(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32> {
  %0 = dlc.reduce_window max %x, window = [1, 1, 2, 2], strides = [1, 1, 2, 2], dilations = [1, 1, 1, 1], pad_low = [0, 0, 0, 0], pad_high = [0, 0, 0, 0] : tensor<1x3x8x8xf32> -> tensor<1x3x4x4xf32>
  return %0 : tensor<1x3x4x4xf32>
}

// -----

// Other windows (here padded): the operand padded with the identity, then
// reduction loops over the window into a filled result.
// CHECK-LABEL: func.func @padded_max_pool
// CHECK: linalg.fill
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "reduction"]
func.func @padded_max_pool(%x: tensor<1x2x5x5xf32>) -> tensor<1x2x3x3xf32> {
  %0 = dlc.reduce_window max %x, window = [1, 1, 2, 2], strides = [1, 1, 2, 2], dilations = [1, 1, 1, 1], pad_low = [0, 0, 0, 0], pad_high = [0, 0, 1, 1] : tensor<1x2x5x5xf32> -> tensor<1x2x3x3xf32>
  return %0 : tensor<1x2x3x3xf32>
}

// -----

// A comparison's booleans as floats: a select of 1.0 or 0.0 (LLVM
// vectorizes it; uitofp of i1 it converts lane by lane). Other integers
// convert by their signedness.
// CHECK-LABEL: func.func @convert_booleans
func.func @convert_booleans(%a: tensor<8xf32>, %b: tensor<8xf32>, %i: tensor<8xui8>) -> (tensor<8xf32>, tensor<8xf32>) {
  // CHECK: arith.cmpf oeq
  // CHECK: ^bb0(%[[HIT:.*]]: i1, %{{.*}}: f32):
  // CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
  // CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
  // CHECK: arith.select %[[HIT]], %[[ONE]], %[[ZERO]] : f32
  // CHECK-NOT: arith.uitofp %{{.*}} : i1
  %0 = dlc.compare eq %a, %b : tensor<8xf32> -> tensor<8xi1>
  %1 = dlc.convert %0 : tensor<8xi1> -> tensor<8xf32>
  // CHECK: arith.uitofp %{{.*}} : i8 to f32
  %2 = dlc.convert %i : tensor<8xui8> -> tensor<8xf32>
  return %1, %2 : tensor<8xf32>, tensor<8xf32>
}
