// RUN: dlc-opt %s --split-input-file --verify-diagnostics

func.func @wrong_size(%b: tensor<5xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{operand dimension 0 has size 5, which cannot broadcast to result dimension 1 of size 8}}
  %0 = dlc.broadcast %b, dims = [1] : tensor<5xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @dims_count(%b: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{needs one entry in dims per operand dimension (1), got 2}}
  %0 = dlc.broadcast %b, dims = [0, 1] : tensor<8xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @out_of_range(%b: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{dims[0] = 2 is not a dimension of the result (rank 2)}}
  %0 = dlc.broadcast %b, dims = [2] : tensor<8xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @unordered(%b: tensor<4x8xf32>) -> tensor<8x4x2xf32> {
  // expected-error @+1 {{dims must be strictly increasing, got [1, 0]}}
  %0 = dlc.broadcast %b, dims = [1, 0] : tensor<4x8xf32> -> tensor<8x4x2xf32>
  return %0 : tensor<8x4x2xf32>
}

// -----

func.func @element_type(%b: tensor<8xf32>) -> tensor<4x8xf64> {
  // expected-error @+1 {{result element type 'f64' differs from operand's 'f32'}}
  %0 = dlc.broadcast %b, dims = [1] : tensor<8xf32> -> tensor<4x8xf64>
  return %0 : tensor<4x8xf64>
}
