// RUN: dlc-opt --dlc-in-place-outputs --split-input-file %s | FileCheck %s

#id = affine_map<(d0) -> (d0)>
#scalar = affine_map<(d0) -> ()>

// An SGD step: the parameter's forward read comes first, the update is the
// first op that touches the new parameter and the last that touches the
// old one. The update reads the old value through its output; the table
// says output 1 ("param:w") is computed in place of input 2 ("param:w").
// The loss (output 0) has no input of its name.
// CHECK-LABEL: func.func @main
// CHECK-SAME: %[[X:[a-z0-9]+]]: memref<8xf32> {dlc.input = "x"}
// CHECK-SAME: %[[LR:[a-z0-9]+]]: memref<f32> {dlc.input = "learning_rate"}
// CHECK-SAME: %[[W:[a-z0-9]+]]: memref<8xf32> {dlc.input = "param:w"}
// CHECK-SAME: %[[NEW:[a-z0-9]+]]: memref<8xf32> {dlc.output = "param:w"}
// CHECK: linalg.generic
// CHECK-SAME: ins(%[[X]], %[[W]] :
// CHECK: linalg.generic
// CHECK-SAME: ins(%[[LR]], %[[X]] : memref<f32>, memref<8xf32>) outs(%[[NEW]] : memref<8xf32>)
// CHECK-NEXT: ^bb0(%[[RATE:.*]]: f32, %[[G:.*]]: f32, %[[OLD:.*]]: f32):
// CHECK-NEXT: %[[STEP:.*]] = arith.mulf %[[RATE]], %[[G]]
// CHECK-NEXT: %[[UPDATED:.*]] = arith.subf %[[OLD]], %[[STEP]]
// CHECK-NEXT: linalg.yield %[[UPDATED]]
// CHECK: memref.global "public" constant @dlc_in_place_outputs : memref<3xi64> = dense<[1, 1, 2]>
func.func @main(%x: memref<8xf32> {dlc.input = "x"}, %lr: memref<f32> {dlc.input = "learning_rate"},
                %w: memref<8xf32> {dlc.input = "param:w"},
                %loss: memref<8xf32> {dlc.output = "loss"},
                %new: memref<8xf32> {dlc.output = "param:w"}) {
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]}
      ins(%x, %w : memref<8xf32>, memref<8xf32>) outs(%loss : memref<8xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %p = arith.mulf %a, %b : f32
    linalg.yield %p : f32
  }
  linalg.generic {indexing_maps = [#id, #scalar, #id, #id], iterator_types = ["parallel"]}
      ins(%w, %lr, %x : memref<8xf32>, memref<f32>, memref<8xf32>) outs(%new : memref<8xf32>) {
  ^bb0(%old: f32, %rate: f32, %g: f32, %out: f32):
    %s = arith.mulf %rate, %g : f32
    %u = arith.subf %old, %s : f32
    linalg.yield %u : f32
  }
  return
}

// -----

#id = affine_map<(d0) -> (d0)>

// The old value is read after the update (through a kernel call's
// address): the new one cannot take its memory.
// CHECK-LABEL: func.func @main
// CHECK: ins(%{{.*}}, %{{.*}} : memref<8xf32>, memref<8xf32>) outs(
// CHECK-NOT: memref.global
func.func @main(%w: memref<8xf32> {dlc.input = "w"}, %g: memref<8xf32> {dlc.input = "g"},
                %new: memref<8xf32> {dlc.output = "w"}) {
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]}
      ins(%w, %g : memref<8xf32>, memref<8xf32>) outs(%new : memref<8xf32>) {
  ^bb0(%old: f32, %d: f32, %out: f32):
    %u = arith.subf %old, %d : f32
    linalg.yield %u : f32
  }
  %address = memref.extract_aligned_pointer_as_index %w : memref<8xf32> -> index
  call @consume(%address) : (index) -> ()
  return
}
func.func private @consume(index)

// -----

#id = affine_map<(d0) -> (d0)>

// The new value's memory is written before the update (a scratch fill):
// it would overwrite the old value.
// CHECK-LABEL: func.func @main
// CHECK: linalg.fill
// CHECK: ins(%{{.*}}, %{{.*}} : memref<8xf32>, memref<8xf32>) outs(
// CHECK-NOT: memref.global
func.func @main(%w: memref<8xf32> {dlc.input = "w"}, %g: memref<8xf32> {dlc.input = "g"},
                %new: memref<8xf32> {dlc.output = "w"}) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%new : memref<8xf32>)
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]}
      ins(%w, %g : memref<8xf32>, memref<8xf32>) outs(%new : memref<8xf32>) {
  ^bb0(%old: f32, %d: f32, %out: f32):
    %u = arith.subf %old, %d : f32
    linalg.yield %u : f32
  }
  return
}

// -----

#id = affine_map<(d0) -> (d0)>
#reversed = affine_map<(d0) -> (7 - d0)>

// The update reads the old value at another element than it writes (here
// reversed): computed in place, it would read elements already written.
// CHECK-LABEL: func.func @main
// CHECK: ins(%{{.*}}, %{{.*}} : memref<8xf32>, memref<8xf32>) outs(
// CHECK-NOT: memref.global
func.func @main(%w: memref<8xf32> {dlc.input = "w"}, %g: memref<8xf32> {dlc.input = "g"},
                %new: memref<8xf32> {dlc.output = "w"}) {
  linalg.generic {indexing_maps = [#reversed, #id, #id], iterator_types = ["parallel"]}
      ins(%w, %g : memref<8xf32>, memref<8xf32>) outs(%new : memref<8xf32>) {
  ^bb0(%old: f32, %d: f32, %out: f32):
    %u = arith.subf %old, %d : f32
    linalg.yield %u : f32
  }
  return
}

// -----

#id = affine_map<(d0) -> (d0)>

// The update accumulates into its output (it reads the output's old
// contents, which in place would be the input's): refused.
// CHECK-LABEL: func.func @main
// CHECK: ins(%{{.*}}, %{{.*}} : memref<8xf32>, memref<8xf32>) outs(
// CHECK-NOT: memref.global
func.func @main(%w: memref<8xf32> {dlc.input = "w"}, %g: memref<8xf32> {dlc.input = "g"},
                %new: memref<8xf32> {dlc.output = "w"}) {
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]}
      ins(%w, %g : memref<8xf32>, memref<8xf32>) outs(%new : memref<8xf32>) {
  ^bb0(%old: f32, %d: f32, %out: f32):
    %u = arith.subf %old, %d : f32
    %v = arith.addf %u, %out : f32
    linalg.yield %v : f32
  }
  return
}
