// RUN: dlc-opt --dlc-plan-memory --split-input-file %s | FileCheck %s

// A chain a -> b -> c: a is dead once b is made, so c reuses a's bytes.
// Largest first puts b (2048 bytes) at 0, a (1024) at 2048, and c (1024)
// at 2048 again: a 3072-byte arena instead of 4096.
// CHECK-LABEL: func.func @chain
// CHECK-SAME: dlc.arena_bytes = 3072 : i64, dlc.intermediate_bytes = 4096 : i64
// CHECK: %[[ARENA:.*]] = memref.alloc() {alignment = 64 : i64} : memref<3072xi8>
// CHECK: %[[A:.*]] = memref.view %[[ARENA]][%c2048{{.*}}][] : memref<3072xi8> to memref<256xf32>
// CHECK: %[[B:.*]] = memref.view %[[ARENA]][%c0{{.*}}][] : memref<3072xi8> to memref<512xf32>
// CHECK: %[[C:.*]] = memref.view %[[ARENA]][%c2048{{.*}}][] : memref<3072xi8> to memref<256xf32>
// CHECK-NOT: memref.dealloc %[[A]]
// CHECK: memref.dealloc %[[ARENA]]
// CHECK-NEXT: return
func.func private @produce(memref<256xf32>)
func.func private @grow(memref<256xf32>, memref<512xf32>)
func.func private @shrink(memref<512xf32>, memref<256xf32>)
func.func private @consume(memref<256xf32>, memref<256xf32>)
func.func @chain(%out: memref<256xf32>) {
  %a = memref.alloc() : memref<256xf32>
  call @produce(%a) : (memref<256xf32>) -> ()
  %b = memref.alloc() : memref<512xf32>
  call @grow(%a, %b) : (memref<256xf32>, memref<512xf32>) -> ()
  %c = memref.alloc() : memref<256xf32>
  call @shrink(%b, %c) : (memref<512xf32>, memref<256xf32>) -> ()
  call @consume(%c, %out) : (memref<256xf32>, memref<256xf32>) -> ()
  memref.dealloc %a : memref<256xf32>
  memref.dealloc %b : memref<512xf32>
  memref.dealloc %c : memref<256xf32>
  return
}

// -----

// A use through a view keeps the buffer alive: a is read after b is made,
// so they may not share bytes.
// CHECK-LABEL: func.func @through_alias
// CHECK-SAME: dlc.arena_bytes = 2048 : i64, dlc.intermediate_bytes = 2048 : i64
func.func private @fill(memref<256xf32>)
func.func private @read(memref<16x16xf32>, memref<256xf32>)
func.func @through_alias() {
  %a = memref.alloc() : memref<256xf32>
  call @fill(%a) : (memref<256xf32>) -> ()
  %shaped = memref.expand_shape %a [[0, 1]] output_shape [16, 16] : memref<256xf32> into memref<16x16xf32>
  %b = memref.alloc() : memref<256xf32>
  call @fill(%b) : (memref<256xf32>) -> ()
  call @read(%shaped, %b) : (memref<16x16xf32>, memref<256xf32>) -> ()
  memref.dealloc %a : memref<256xf32>
  memref.dealloc %b : memref<256xf32>
  return
}

// -----

// Buffers that are never released here (they escape) or have dynamic
// shapes are left alone.
// CHECK-LABEL: func.func @kept
// CHECK-NOT: memref.view
// CHECK: memref.alloc() : memref<4xf32>
// CHECK: memref.alloc(%{{.*}}) : memref<?xf32>
func.func @kept(%n: index) -> memref<4xf32> {
  %a = memref.alloc() : memref<4xf32>
  %d = memref.alloc(%n) : memref<?xf32>
  memref.dealloc %d : memref<?xf32>
  return %a : memref<4xf32>
}
