// RUN: dlc-opt %s --split-input-file --verify-diagnostics

func.func @count(%a: tensor<2x3xf32>) -> tensor<7xf32> {
  // expected-error @+1 {{cannot reshape 2x3 (6 elements) to 7 (7 elements)}}
  %0 = dlc.reshape %a : tensor<2x3xf32> -> tensor<7xf32>
  return %0 : tensor<7xf32>
}

// -----

func.func @element_type(%a: tensor<2x3xf32>) -> tensor<6xi32> {
  // expected-error @+1 {{result element type 'i32' differs from operand's 'f32'}}
  %0 = dlc.reshape %a : tensor<2x3xf32> -> tensor<6xi32>
  return %0 : tensor<6xi32>
}
