// RUN: dlc-opt %s --split-input-file | FileCheck %s
// The structural ops arrived with the importer: they parse, verify and print.

// CHECK-LABEL: func.func @logic
func.func @logic(%a: tensor<4xf32>, %b: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xi64>) {
  // CHECK: %[[C:.*]] = dlc.compare lt %{{.*}}, %{{.*}} : tensor<4xf32> -> tensor<4xi1>
  %c = dlc.compare lt %a, %b : tensor<4xf32> -> tensor<4xi1>
  // CHECK: dlc.select %[[C]], %{{.*}}, %{{.*}} : tensor<4xi1>, tensor<4xf32>
  %s = dlc.select %c, %a, %b : tensor<4xi1>, tensor<4xf32>
  // CHECK: dlc.convert %{{.*}} : tensor<4xf32> -> tensor<4xi64>
  %i = dlc.convert %s : tensor<4xf32> -> tensor<4xi64>
  return %s, %i : tensor<4xf32>, tensor<4xi64>
}

// -----

// CHECK-LABEL: func.func @data_movement
func.func @data_movement(%a: tensor<4x8xf32>, %z: tensor<f32>, %i: tensor<2xi64>, %u: tensor<2xf32>) -> (tensor<2x3xf32>, tensor<8x8xf32>, tensor<6x9xf32>, tensor<4x2xf32>, tensor<32xf32>, tensor<4x8xf32>, tensor<2x3xi32>) {
  // CHECK: dlc.slice %{{.*}}, start = [0, 1], limit = [4, 8], strides = [2, 3] : tensor<4x8xf32> -> tensor<2x3xf32>
  %0 = dlc.slice %a, start = [0, 1], limit = [4, 8], strides = [2, 3] : tensor<4x8xf32> -> tensor<2x3xf32>
  // CHECK: dlc.concat(%{{.*}}, %{{.*}}) dim = 0 : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<8x8xf32>
  %1 = dlc.concat(%a, %a) dim = 0 : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<8x8xf32>
  // CHECK: dlc.pad %{{.*}}, %{{.*}}, low = [1, 0], high = [1, 1] : tensor<4x8xf32>, tensor<f32> -> tensor<6x9xf32>
  %2 = dlc.pad %a, %z, low = [1, 0], high = [1, 1] : tensor<4x8xf32>, tensor<f32> -> tensor<6x9xf32>
  // CHECK: dlc.gather %{{.*}}, %{{.*}}, axis = 1 : tensor<4x8xf32>, tensor<2xi64> -> tensor<4x2xf32>
  %3 = dlc.gather %a, %i, axis = 1 : tensor<4x8xf32>, tensor<2xi64> -> tensor<4x2xf32>
  %flat = dlc.reshape %a : tensor<4x8xf32> -> tensor<32xf32>
  // CHECK: dlc.scatter max %{{.*}}, %{{.*}}, %{{.*}} : tensor<32xf32>, tensor<2xi64>, tensor<2xf32>
  %4 = dlc.scatter max %flat, %i, %u : tensor<32xf32>, tensor<2xi64>, tensor<2xf32>
  // CHECK: dlc.reverse %{{.*}}, dims = [0, 1] : tensor<4x8xf32>
  %5 = dlc.reverse %a, dims = [0, 1] : tensor<4x8xf32>
  // CHECK: dlc.iota dim = 1 : tensor<2x3xi32>
  %6 = dlc.iota dim = 1 : tensor<2x3xi32>
  return %0, %1, %2, %3, %4, %5, %6 : tensor<2x3xf32>, tensor<8x8xf32>, tensor<6x9xf32>, tensor<4x2xf32>, tensor<32xf32>, tensor<4x8xf32>, tensor<2x3xi32>
}

// -----

// CHECK-LABEL: func.func @windows
func.func @windows(%x: tensor<1x3x8x8xf32>, %w: tensor<6x1x3x3xf32>) -> (tensor<1x6x4x4xf32>, tensor<1x3x4x4xf32>, tensor<1x3x8x2xf32>, tensor<1x3x8x2xi64>) {
  // Grouped, strided convolution: 3 groups of 1 input channel.
  // CHECK: dlc.conv %{{.*}}, %{{.*}}, strides = [2, 2], dilations = [1, 1], lhs_dilation = [1, 1], pad_low = [1, 1], pad_high = [0, 0], groups = 3 : tensor<1x3x8x8xf32>, tensor<6x1x3x3xf32> -> tensor<1x6x4x4xf32>
  %0 = dlc.conv %x, %w, strides = [2, 2], dilations = [1, 1], lhs_dilation = [1, 1], pad_low = [1, 1], pad_high = [0, 0], groups = 3 : tensor<1x3x8x8xf32>, tensor<6x1x3x3xf32> -> tensor<1x6x4x4xf32>
  // CHECK: dlc.reduce_window max %{{.*}}, window = [1, 1, 2, 2], strides = [1, 1, 2, 2]
  %1 = dlc.reduce_window max %x, window = [1, 1, 2, 2], strides = [1, 1, 2, 2], dilations = [1, 1, 1, 1], pad_low = [0, 0, 0, 0], pad_high = [0, 0, 0, 0] : tensor<1x3x8x8xf32> -> tensor<1x3x4x4xf32>
  // CHECK: dlc.top_k %{{.*}}, k = 2, dim = 3, largest = true : tensor<1x3x8x8xf32> -> tensor<1x3x8x2xf32>, tensor<1x3x8x2xi64>
  %v, %i = dlc.top_k %x, k = 2, dim = 3, largest = true : tensor<1x3x8x8xf32> -> tensor<1x3x8x2xf32>, tensor<1x3x8x2xi64>
  return %0, %1, %v, %i : tensor<1x6x4x4xf32>, tensor<1x3x4x4xf32>, tensor<1x3x8x2xf32>, tensor<1x3x8x2xi64>
}
