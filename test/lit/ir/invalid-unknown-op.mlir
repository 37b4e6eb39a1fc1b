// RUN: dlc-opt %s --verify-diagnostics
// The dlc namespace holds only its registered ops.

func.func @f(%a: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{unregistered operation 'dlc.sort' found in dialect ('dlc') that does not allow unknown operations}}
  %0 = "dlc.sort"(%a) : (tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
