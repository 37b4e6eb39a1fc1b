//===- KernelCalls.cpp - matrix products as runtime kernel calls -*- C++ -*-===//
//
// The dlc-cpu-kernel-calls pass: float32 matrix products on buffers become
// calls to the runtime's GEMM (see Passes.td for the contract).
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/Buffers.h"
#include "codegen/cpu/KernelAbi.h"
#include "codegen/cpu/Passes.h"
#include "ir/Signature.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

#include <functional>
#include <optional>

namespace dlc {
#define GEN_PASS_DEF_DLCCPUKERNELCALLS
#include "codegen/cpu/Passes.h.inc"
} // namespace dlc

using namespace mlir;

namespace {

/// Whether the innermost dimension of `type` is contiguous: its stride is
/// statically 1.
bool hasUnitInnerStride(MemRefType type) {
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)))
    return false;
  return !strides.empty() && strides.back() == 1;
}

/// Whether `value` is a float32 buffer whose innermost dimension is
/// contiguous (a 0-d buffer is).
bool isF32Buffer(Value value) {
  auto type = dyn_cast<MemRefType>(value.getType());
  return type && type.getElementType().isF32() &&
         (type.getRank() == 0 || hasUnitInnerStride(type));
}

/// The address of `buffer`'s first element, its strides (in elements) and
/// sizes, as index values.
struct BufferView {
  Value address;
  SmallVector<Value> strides;
  SmallVector<Value> sizes;
};

BufferView viewOf(OpBuilder &b, Location loc, Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  auto metadata = memref::ExtractStridedMetadataOp::create(b, loc, buffer);
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buffer);
  // The aligned pointer is the base buffer's; add the view's offset.
  Value elementBytes = arith::ConstantIndexOp::create(
      b, loc, type.getElementTypeBitWidth() / 8);
  Value offsetBytes =
      arith::MulIOp::create(b, loc, metadata.getOffset(), elementBytes);
  BufferView view;
  view.address = arith::AddIOp::create(b, loc, base, offsetBytes);
  view.strides.assign(metadata.getStrides().begin(), metadata.getStrides().end());
  view.sizes.assign(metadata.getSizes().begin(), metadata.getSizes().end());
  return view;
}

/// Whether `buffer` is the whole of its root buffer.
bool coversRoot(Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  auto rootType = dyn_cast<MemRefType>(dlc::bufferRoot(buffer).getType());
  return rootType && type.hasStaticShape() && rootType.hasStaticShape() &&
         type.getNumElements() == rootType.getNumElements();
}

bool isSameView(Value a, Value b);

/// The zero fill of all of `c` (the whole of its root buffer, or exactly
/// the view `c`) that a product into `c` follows with nothing in between
/// touching that buffer: the product can write its result instead of
/// adding it to zeros.
linalg::FillOp zeroFillBefore(linalg::LinalgOp product, Value c) {
  Value root = dlc::bufferRoot(c);
  auto touchesRoot = [&](Operation *op) {
    WalkResult found = op->walk([&](Operation *inner) {
      for (Value operand : inner->getOperands())
        if (isa<MemRefType>(operand.getType()) && dlc::bufferRoot(operand) == root)
          return WalkResult::interrupt();
      return WalkResult::advance();
    });
    return found.wasInterrupted();
  };
  for (Operation *op = product->getPrevNode(); op; op = op->getPrevNode()) {
    if (isa<ViewLikeOpInterface>(op))
      continue;
    if (auto fill = dyn_cast<linalg::FillOp>(op)) {
      Value target = fill.getDpsInitOperand(0)->get();
      if (isa<MemRefType>(target.getType()) && dlc::bufferRoot(target) == root)
        return matchPattern(fill.getDpsInputOperand(0)->get(), m_AnyZeroFloat()) &&
                       ((coversRoot(c) && coversRoot(target)) || isSameView(target, c))
                   ? fill
                   : linalg::FillOp();
    }
    if (touchesRoot(op))
      return {};
  }
  return {};
}

/// Whether `buffer` is a view of one of the weights (an argument marked
/// dlc.param): the same values at the same address on every run.
bool isWeight(Value buffer) {
  auto argument = dyn_cast<BlockArgument>(dlc::bufferRoot(buffer));
  if (!argument)
    return false;
  auto function = dyn_cast<func::FuncOp>(argument.getOwner()->getParentOp());
  return function && function.getArgAttr(argument.getArgNumber(), dlc::kParamAttr);
}

/// How a product's operands are laid out, as its indexing maps say.
enum class Layout {
  Default,     ///< C[b, m, n] += A[b, m, k] · B[b, k, n] (no b for matmul)
  SharedLeft,  ///< A[m, k] without a batch dimension (convolutions)
  TransposedB, ///< B read as [b, n, k] (ONNX Gemm's transB, attention's K^T)
  TransposedA, ///< matmul only: A read as [k, m] (a weight gradient's Xᵀ)
  TransposedAB, ///< matmul only: A read as [k, m] and B as [n, k]
};

/// The layout of a matmul or batch_matmul the kernel computes, or nothing.
std::optional<Layout> kernelLayout(linalg::LinalgOp op) {
  bool batched = isa<linalg::BatchMatmulOp>(op);
  if (!batched && !isa<linalg::MatmulOp>(op))
    return std::nullopt;
  bool userMaps = batched ? cast<linalg::BatchMatmulOp>(op).hasUserDefinedMaps()
                          : cast<linalg::MatmulOp>(op).hasUserDefinedMaps();
  if (!userMaps)
    return Layout::Default;
  MLIRContext *ctx = op.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (!batched) {
    if (maps.size() != 3 || maps[2] != AffineMap::get(3, 0, {d(0), d(1)}, ctx))
      return std::nullopt;
    AffineMap rowsA = AffineMap::get(3, 0, {d(0), d(2)}, ctx);
    AffineMap columnsA = AffineMap::get(3, 0, {d(2), d(0)}, ctx);
    AffineMap rowsB = AffineMap::get(3, 0, {d(2), d(1)}, ctx);
    AffineMap columnsB = AffineMap::get(3, 0, {d(1), d(2)}, ctx);
    if (maps[0] == rowsA)
      return maps[1] == columnsB ? std::optional(Layout::TransposedB)
             : maps[1] == rowsB  ? std::optional(Layout::Default)
                                 : std::nullopt;
    if (maps[0] == columnsA)
      return maps[1] == columnsB ? std::optional(Layout::TransposedAB)
             : maps[1] == rowsB  ? std::optional(Layout::TransposedA)
                                 : std::nullopt;
    return std::nullopt;
  }
  AffineMap out = AffineMap::get(4, 0, {d(0), d(1), d(2)}, ctx);
  if (maps == SmallVector<AffineMap>{AffineMap::get(4, 0, {d(1), d(3)}, ctx),
                                     AffineMap::get(4, 0, {d(0), d(3), d(2)}, ctx), out})
    return Layout::SharedLeft;
  if (maps == SmallVector<AffineMap>{AffineMap::get(4, 0, {d(0), d(1), d(3)}, ctx),
                                     AffineMap::get(4, 0, {d(0), d(2), d(3)}, ctx), out})
    return Layout::TransposedB;
  return std::nullopt;
}

/// Whether `a` and `b` are the same memory: the same value, or equal
/// subviews of the same memory (bufferization may build one subview per
/// use of a slice).
bool isSameView(Value a, Value b) {
  if (a == b)
    return true;
  auto viewA = a.getDefiningOp<memref::SubViewOp>();
  auto viewB = b.getDefiningOp<memref::SubViewOp>();
  return viewA && viewB && viewA.getType() == viewB.getType() &&
         isSameView(viewA.getSource(), viewB.getSource()) &&
         viewA.isSameAs(viewB, isEqualConstantIntOrValue);
}

/// A clamp bound of an epilogue: a 0-d buffer or a constant.
struct Bound {
  Value buffer;
  FloatAttr constant;
  explicit operator bool() const { return buffer || constant; }
};

/// The operands of a fused convolution's epilogue (see kEpilogueAttribute),
/// each null where its term is absent.
struct EpilogueOperands {
  Value scale, shift, residual;
  Bound min, max;
};

/// The generic that updates `c` (a batched product's result) in place
/// right after `product` (a fused convolution's epilogue), and its
/// operands, if the GEMM can apply it: its body must be the terms in the
/// order the runtime applies them.
std::optional<std::pair<linalg::GenericOp, EpilogueOperands>>
epilogueAfter(linalg::LinalgOp product, Value c) {
  Operation *op = product->getNextNode();
  while (op && isa<ViewLikeOpInterface, arith::ConstantOp>(op))
    op = op->getNextNode();
  auto generic = dyn_cast_or_null<linalg::GenericOp>(op);
  // The body decides, not the kEpilogueAttribute mark (rewrites of the
  // generic may drop it): any such in-place update is an epilogue.
  // C is [batch, rows, columns] or a convolution's [N, O, HO, WO]: rows
  // (output channels) are dimension 1 either way.
  const int64_t rank = cast<MemRefType>(c.getType()).getRank();
  if (!generic || generic.getNumDpsInits() != 1 || !isSameView(generic.getDpsInitOperand(0)->get(), c) ||
      rank < 3)
    return std::nullopt;
  MLIRContext *ctx = generic.getContext();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
  AffineMap perRow = AffineMap::get(rank, 0, {getAffineDimExpr(1, ctx)}, ctx);
  AffineMap scalar = AffineMap::get(rank, 0, {}, ctx);
  if (generic.getMatchingIndexingMap(generic.getDpsInitOperand(0)) != identity)
    return std::nullopt;
  Block *body = generic.getBody();
  Value running = body->getArguments().back();
  EpilogueOperands operands;
  int stage = -1;
  for (Operation &inner : body->without_terminator()) {
    // A splat bound folded into the body (ReLU's zero).
    if (isa<arith::ConstantOp>(inner))
      continue;
    if (inner.getNumOperands() != 2 || inner.getOperand(0) != running)
      return std::nullopt;
    FloatAttr constant;
    if (matchPattern(inner.getOperand(1), m_Constant(&constant)) && constant.getType().isF32()) {
      bool isMax = isa<arith::MaximumFOp>(inner), isMin = isa<arith::MinimumFOp>(inner);
      int next = isMax ? 3 : 4;
      if ((!isMax && !isMin) || next <= stage)
        return std::nullopt;
      (isMax ? operands.min : operands.max).constant = constant;
      stage = next;
      running = inner.getResult(0);
      continue;
    }
    auto argument = dyn_cast<BlockArgument>(inner.getOperand(1));
    if (!argument || argument.getOwner() != body ||
        argument.getArgNumber() >= generic.getNumDpsInputs())
      return std::nullopt;
    OpOperand *input = generic.getDpsInputOperand(argument.getArgNumber());
    AffineMap map = generic.getMatchingIndexingMap(input);
    Value buffer = input->get();
    // The stage of each term: the runtime applies them in this order.
    int next;
    Value *slot;
    if (isa<arith::MulFOp>(inner) && map == perRow)
      next = 0, slot = &operands.scale;
    else if (isa<arith::AddFOp>(inner) && map == perRow)
      next = 1, slot = &operands.shift;
    else if (isa<arith::AddFOp>(inner) && map == identity)
      next = 2, slot = &operands.residual;
    else if (isa<arith::MaximumFOp>(inner) && map == scalar)
      next = 3, slot = &operands.min.buffer;
    else if (isa<arith::MinimumFOp>(inner) && map == scalar)
      next = 4, slot = &operands.max.buffer;
    else
      return std::nullopt;
    // A term that reads C's own memory would see the product, not its value.
    if (next <= stage || !isF32Buffer(buffer) || dlc::bufferRoot(buffer) == dlc::bufferRoot(c))
      return std::nullopt;
    stage = next;
    *slot = buffer;
    running = inner.getResult(0);
  }
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  if (yield.getNumOperands() != 1 || yield.getOperand(0) != running)
    return std::nullopt;
  return std::make_pair(generic, operands);
}

/// Where a kernel takes its epilogue's scale, shift, residual and bounds,
/// and the residual's strides (its outer dimensions', in order).
struct EpilogueArguments {
  unsigned scale, shift, residual, minBits, maxBits;
  SmallVector<unsigned, 3> residualStrides;
};

/// Sets the epilogue's addresses, residual strides and bounds in
/// `arguments` and returns the clamp flags.
unsigned passEpilogue(OpBuilder &b, Location loc, const EpilogueOperands &terms,
                      const EpilogueArguments &where, SmallVectorImpl<Value> &arguments) {
  auto addressOf = [&](Value buffer) { return viewOf(b, loc, buffer).address; };
  if (terms.scale)
    arguments[where.scale] = addressOf(terms.scale);
  if (terms.shift)
    arguments[where.shift] = addressOf(terms.shift);
  if (terms.residual) {
    BufferView residual = viewOf(b, loc, terms.residual);
    arguments[where.residual] = residual.address;
    for (auto [position, stride] : llvm::zip(where.residualStrides, residual.strides))
      arguments[position] = stride;
  }
  // A bound travels as its float's bits in an index.
  auto bitsOf = [&](const Bound &bound) -> Value {
    Value value = bound.buffer
                      ? memref::LoadOp::create(b, loc, bound.buffer, ValueRange{}).getResult()
                      : arith::ConstantOp::create(b, loc, bound.constant).getResult();
    Value bits = arith::BitcastOp::create(b, loc, b.getI32Type(), value);
    Value wide = arith::ExtUIOp::create(b, loc, b.getI64Type(), bits);
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), wide);
  };
  unsigned flags = 0;
  if (terms.min) {
    flags |= dlc::kGemmClampMin;
    arguments[where.minBits] = bitsOf(terms.min);
  }
  if (terms.max) {
    flags |= dlc::kGemmClampMax;
    arguments[where.maxBits] = bitsOf(terms.max);
  }
  return flags;
}

/// Replaces `op` (a matmul or batch_matmul on f32 buffers) with a call.
void replaceWithGemmCall(linalg::LinalgOp op, Layout layout, func::FuncOp gemm) {
  // A product into freshly zeroed memory writes instead of accumulating:
  // the fill (a pass over C) and the kernel's read of C both go.
  bool overwrite = false;
  if (linalg::FillOp fill = zeroFillBefore(op, op.getDpsInitOperand(0)->get())) {
    fill->erase();
    overwrite = true;
  }
  Value a = op.getDpsInputOperand(0)->get(), bMatrix = op.getDpsInputOperand(1)->get(),
        c = op.getDpsInitOperand(0)->get();
  // With an epilogue, the call goes where the epilogue was: its operands
  // may be views made between the product and it.
  auto epilogue = epilogueAfter(op, c);
  OpBuilder b(epilogue ? epilogue->first.getOperation() : op.getOperation());
  Location loc = op.getLoc();
  BufferView va = viewOf(b, loc, a), vb = viewOf(b, loc, bMatrix), vc = viewOf(b, loc, c);
  bool batched = vc.sizes.size() == 3;
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  // An operand without a batch dimension (a shared filter) has stride 0.
  auto batchStride = [&](const BufferView &v) {
    return v.sizes.size() == 3 ? v.strides[0] : zero;
  };
  auto rowStride = [&](const BufferView &v) { return v.strides[v.strides.size() - 2]; };
  auto rows = [](const BufferView &v) { return v.sizes[v.sizes.size() - 2]; };
  auto columns = [](const BufferView &v) { return v.sizes.back(); };
  // B's strides along k and along n.
  bool transposed = layout == Layout::TransposedB || layout == Layout::TransposedAB;
  bool transposedA = layout == Layout::TransposedA || layout == Layout::TransposedAB;
  Value bAlongK = transposed ? vb.strides.back() : rowStride(vb);
  Value bAlongN = transposed ? rowStride(vb) : vb.strides.back();
  SmallVector<Value> arguments(dlc::kGemmF32Arguments);
  arguments[dlc::kGemmBatch] = batched ? vc.sizes[0] : one;
  arguments[dlc::kGemmM] = rows(vc);
  arguments[dlc::kGemmN] = columns(vc);
  arguments[dlc::kGemmK] = transposedA ? rows(va) : columns(va);
  arguments[dlc::kGemmA] = va.address;
  arguments[dlc::kGemmABatchStride] = batchStride(va);
  arguments[dlc::kGemmLda] = rowStride(va);
  arguments[dlc::kGemmB] = vb.address;
  arguments[dlc::kGemmBBatchStride] = batchStride(vb);
  arguments[dlc::kGemmBStrideK] = bAlongK;
  arguments[dlc::kGemmBStrideN] = bAlongN;
  arguments[dlc::kGemmC] = vc.address;
  arguments[dlc::kGemmCBatchStride] = batchStride(vc);
  arguments[dlc::kGemmLdc] = rowStride(vc);
  unsigned flags = (isWeight(bMatrix) ? unsigned(dlc::kGemmConstantB) : 0u) |
                   (!transposedA && isWeight(a) ? unsigned(dlc::kGemmConstantA) : 0u) |
                   (overwrite ? unsigned(dlc::kGemmOverwriteC) : 0u) |
                   (transposedA ? unsigned(dlc::kGemmTransposedA) : 0u);
  for (unsigned i = dlc::kGemmRowScale; i < dlc::kGemmF32Arguments; ++i)
    arguments[i] = zero;
  if (epilogue) {
    EpilogueArguments where = {dlc::kGemmRowScale,
                               dlc::kGemmRowShift,
                               dlc::kGemmResidual,
                               dlc::kGemmMinBits,
                               dlc::kGemmMaxBits,
                               {dlc::kGemmResidualBatchStride, dlc::kGemmLdr}};
    flags |= passEpilogue(b, loc, epilogue->second, where, arguments);
  }
  arguments[dlc::kGemmFlags] = arith::ConstantIndexOp::create(b, loc, flags);
  func::CallOp::create(b, loc, gemm, arguments);
  if (epilogue)
    epilogue->first->erase();
  op->erase();
}

/// A convolution generic that the runtime computes, and what the call
/// needs beyond its operands' views.
struct Convolution {
  Value input, filter, output;
  /// [sh, sw, dh, dw].
  ArrayRef<int64_t> stridesAndDilations;
  /// The padding above and left of the input, which the kernel reads as
  /// zeros (a depthwise convolution's).
  int64_t padTop = 0, padLeft = 0;
};

/// Whether the filter ([O, C, KH, KW] or [C, KH, KW]) is a static buffer
/// contiguous after its first dimension.
bool isPackedFilter(Value filter, int64_t rank) {
  auto type = cast<MemRefType>(filter.getType());
  SmallVector<int64_t> strides;
  int64_t offset;
  if (type.getRank() != rank || !type.hasStaticShape() ||
      failed(type.getStridesAndOffset(strides, offset)))
    return false;
  int64_t expected = 1;
  for (int64_t d = rank - 1; d > 0; --d) {
    if (strides[d] != expected)
      return false;
    expected *= type.getDimSize(d);
  }
  return true;
}

/// The `size` values of `mark` on `op`, if it is a generic on f32 buffers
/// with unit inner strides, with `inputs` inputs (the last one a filter of
/// `filterRank` dimensions, see isPackedFilter) and one init.
std::optional<ArrayRef<int64_t>> markOf(linalg::GenericOp op, StringRef mark, size_t size,
                                        unsigned inputs, int64_t filterRank) {
  auto attribute = op->getAttrOfType<DenseI64ArrayAttr>(mark);
  if (!attribute || attribute.size() != int64_t(size) || !op.hasPureBufferSemantics() ||
      op.getNumDpsInputs() != inputs || op.getNumDpsInits() != 1 ||
      !llvm::all_of(op->getOperands(), isF32Buffer) ||
      !isPackedFilter(op.getDpsInputOperand(inputs - 1)->get(), filterRank))
    return std::nullopt;
  return attribute.asArrayRef();
}

/// A generic marked kConv2dAttribute ([sh, sw, dh, dw]) on the input and
/// a filter [O, C, KH, KW], into the output.
std::optional<Convolution> conv2dOf(linalg::GenericOp op) {
  std::optional<ArrayRef<int64_t>> values = markOf(op, dlc::kConv2dAttribute, 4, 2, 4);
  if (!values)
    return std::nullopt;
  return Convolution{op.getDpsInputOperand(0)->get(), op.getDpsInputOperand(1)->get(),
                     op.getDpsInitOperand(0)->get(), *values};
}

/// A generic marked kDepthwiseConv2dAttribute ([sh, sw, dh, dw, pt, pl])
/// on a filter [C, KH, KW], into the output; the [N, C, H, W] input is the
/// buffer its body loads from (with bounds checks: the padding is
/// implicit).
std::optional<Convolution> depthwiseConv2dOf(linalg::GenericOp op) {
  std::optional<ArrayRef<int64_t>> values =
      markOf(op, dlc::kDepthwiseConv2dAttribute, 6, 1, 3);
  if (!values)
    return std::nullopt;
  Value input;
  for (Operation &inner : op.getBody()->without_terminator())
    if (auto load = dyn_cast<memref::LoadOp>(inner)) {
      // One load, from a buffer defined outside the generic.
      if (input || !load.getMemRef().getParentRegion()->isProperAncestor(&op.getRegion()))
        return std::nullopt;
      input = load.getMemRef();
    }
  if (!input || !isF32Buffer(input) || cast<MemRefType>(input.getType()).getRank() != 4)
    return std::nullopt;
  return Convolution{input, op.getDpsInputOperand(0)->get(), op.getDpsInitOperand(0)->get(),
                     values->take_front(4), (*values)[4], (*values)[5]};
}

/// Replaces `op` (a convolution generic, see conv2dOf and
/// depthwiseConv2dOf) with a call of `conv`, which takes `count`
/// arguments: dlc_conv2d_f32's, and for the depthwise kernel the input's
/// height and width and its padding.
void replaceWithConvCall(linalg::GenericOp op, const Convolution &convolution,
                         func::FuncOp conv, unsigned count) {
  Value input = convolution.input, filter = convolution.filter, output = convolution.output;
  ArrayRef<int64_t> stridesAndDilations = convolution.stridesAndDilations;
  bool overwrite = false;
  if (linalg::FillOp fill = zeroFillBefore(op, output)) {
    fill->erase();
    overwrite = true;
  }
  auto epilogue = epilogueAfter(op, output);
  OpBuilder b(epilogue ? epilogue->first.getOperation() : op.getOperation());
  Location loc = op.getLoc();
  BufferView in = viewOf(b, loc, input), w = viewOf(b, loc, filter), out = viewOf(b, loc, output);
  auto constant = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, loc, value);
  };
  SmallVector<Value> arguments(count, constant(0));
  arguments[dlc::kConvImages] = out.sizes[0];
  arguments[dlc::kConvChannels] = in.sizes[1];
  arguments[dlc::kConvOutChannels] = out.sizes[1];
  // [O, C, KH, KW], or a depthwise [C, KH, KW].
  arguments[dlc::kConvKernelH] = w.sizes[w.sizes.size() - 2];
  arguments[dlc::kConvKernelW] = w.sizes.back();
  arguments[dlc::kConvOutH] = out.sizes[2];
  arguments[dlc::kConvOutW] = out.sizes[3];
  arguments[dlc::kConvStrideH] = constant(stridesAndDilations[0]);
  arguments[dlc::kConvStrideW] = constant(stridesAndDilations[1]);
  arguments[dlc::kConvDilationH] = constant(stridesAndDilations[2]);
  arguments[dlc::kConvDilationW] = constant(stridesAndDilations[3]);
  arguments[dlc::kConvInput] = in.address;
  for (unsigned i = 0; i < 4; ++i)
    arguments[dlc::kConvInputStrideN + i] = in.strides[i];
  arguments[dlc::kConvFilter] = w.address;
  arguments[dlc::kConvFilterRowStride] = w.strides[0];
  arguments[dlc::kConvOutput] = out.address;
  for (unsigned i = 0; i < 3; ++i)
    arguments[dlc::kConvOutputStrideN + i] = out.strides[i];
  unsigned flags = (overwrite ? unsigned(dlc::kGemmOverwriteC) : 0u) |
                   (isWeight(filter) ? unsigned(dlc::kConvConstantFilter) : 0u);
  if (epilogue) {
    EpilogueArguments where = {
        dlc::kConvRowScale, dlc::kConvRowShift, dlc::kConvResidual, dlc::kConvMinBits,
        dlc::kConvMaxBits,
        {dlc::kConvResidualStrideN, dlc::kConvResidualStrideC, dlc::kConvResidualStrideH}};
    flags |= passEpilogue(b, loc, epilogue->second, where, arguments);
  }
  arguments[dlc::kConvFlags] = constant(flags);
  if (count == dlc::kDepthwiseConv2dF32Arguments) {
    arguments[dlc::kDepthwiseInputHeight] = in.sizes[2];
    arguments[dlc::kDepthwiseInputWidth] = in.sizes[3];
    arguments[dlc::kDepthwisePadTop] = constant(convolution.padTop);
    arguments[dlc::kDepthwisePadLeft] = constant(convolution.padLeft);
  }
  func::CallOp::create(b, loc, conv, arguments);
  if (epilogue)
    epilogue->first->erase();
  op->erase();
}

/// Whether `op` is a 2×2, stride-2 max pooling the runtime computes (see
/// kMaxPool2x2F32Kernel): a generic over the [N, C, HO, WO] output of f32
/// buffers with unit inner strides, whose four inputs are one buffer read
/// at (2y + i, 2x + j) and whose body is the maximumf of the four.
bool isMaxPool2x2(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 4 || op.getNumDpsInits() != 1 ||
      op.getNumLoops() != 4 || op.getNumParallelLoops() != 4 ||
      !llvm::all_of(op->getOperands(), isF32Buffer))
    return false;
  Value input = op.getDpsInputOperand(0)->get();
  if (cast<MemRefType>(input.getType()).getRank() != 4 ||
      !op.getMatchingIndexingMap(op.getDpsInitOperand(0)).isIdentity())
    return false;
  MLIRContext *context = op.getContext();
  SmallVector<AffineMap> windows;
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 2; ++j) {
      AffineExpr d[4];
      bindDims(context, d[0], d[1], d[2], d[3]);
      windows.push_back(
          AffineMap::get(4, 0, {d[0], d[1], d[2] * 2 + i, d[3] * 2 + j}, context));
    }
  for (OpOperand *operand : op.getDpsInputOperands()) {
    auto at = llvm::find(windows, op.getMatchingIndexingMap(operand));
    if (operand->get() != input || at == windows.end())
      return false;
    windows.erase(at);
  }
  // The body: three maximumf over the four input arguments, each once.
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (body.getOperations().size() != 4 || yield.getNumOperands() != 1)
    return false;
  SmallVector<Value> leaves;
  std::function<bool(Value)> collect = [&](Value value) {
    if (auto block = dyn_cast<BlockArgument>(value)) {
      leaves.push_back(block);
      return block.getOwner() == &body;
    }
    auto max = value.getDefiningOp<arith::MaximumFOp>();
    return max && collect(max.getLhs()) && collect(max.getRhs());
  };
  if (!collect(yield.getOperand(0)) || leaves.size() != 4)
    return false;
  for (unsigned k = 0; k < 4; ++k)
    if (!llvm::is_contained(leaves, body.getArgument(k)))
      return false;
  return true;
}

/// A pooling call's arguments (`count` of them) with what every pooling
/// kernel takes filled in from `op`'s first input and its output: the
/// output's four sizes from position `sizes` on, and each buffer's address
/// followed by its three outer strides, at `input` and `output`.
SmallVector<Value> poolArguments(OpBuilder &b, linalg::GenericOp op, unsigned count,
                                 unsigned sizes, unsigned input, unsigned output) {
  Location loc = op.getLoc();
  BufferView in = viewOf(b, loc, op.getDpsInputOperand(0)->get()),
             out = viewOf(b, loc, op.getDpsInitOperand(0)->get());
  SmallVector<Value> arguments(count);
  for (unsigned i = 0; i < 4; ++i)
    arguments[sizes + i] = out.sizes[i];
  arguments[input] = in.address;
  arguments[output] = out.address;
  for (unsigned i = 0; i < 3; ++i) {
    arguments[input + 1 + i] = in.strides[i];
    arguments[output + 1 + i] = out.strides[i];
  }
  return arguments;
}

/// Replaces `op` (a 2×2 max pooling, see isMaxPool2x2) with a call.
void replaceWithPoolCall(linalg::GenericOp op, func::FuncOp pool) {
  OpBuilder b(op);
  SmallVector<Value> arguments = poolArguments(b, op, dlc::kMaxPool2x2F32Arguments,
                                               dlc::kPoolImages, dlc::kPoolInput,
                                               dlc::kPoolOutput);
  func::CallOp::create(b, op.getLoc(), pool, arguments);
  op->erase();
}

/// A k×k max pooling's window and strides (see kMaxPoolF32Kernel).
struct MaxPoolWindow {
  int64_t kh, kw, sh, sw;
};

/// The window of `op` if it is a max pooling the runtime computes: a
/// generic over the [N, C, HO, WO] output of f32 buffers with unit inner
/// strides (4 parallel loops, then 4 reduction loops over a [1, 1, KH, KW]
/// window buffer whose elements it does not read) that reads one input at
/// (n + a, c + b, y·sh + i, x·sw + j) and whose body is the maximumf of
/// the output and the input.
std::optional<MaxPoolWindow> maxPoolOf(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      op.getNumLoops() != 8 || op.getNumParallelLoops() != 4 ||
      !llvm::all_of(op->getOperands(), isF32Buffer))
    return std::nullopt;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (unsigned loop = 0; loop < 8; ++loop)
    if ((loop < 4) != (iterators[loop] == utils::IteratorType::parallel))
      return std::nullopt;
  auto windowType = cast<MemRefType>(op.getDpsInputOperand(1)->get().getType());
  auto inputType = cast<MemRefType>(op.getDpsInputOperand(0)->get().getType());
  if (windowType.getRank() != 4 || !windowType.hasStaticShape() || inputType.getRank() != 4 ||
      windowType.getDimSize(0) != 1 || windowType.getDimSize(1) != 1)
    return std::nullopt;
  MLIRContext *context = op.getContext();
  AffineExpr d[8];
  bindDims(context, d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]);
  if (op.getMatchingIndexingMap(op.getDpsInputOperand(1)) !=
          AffineMap::get(8, 0, {d[4], d[5], d[6], d[7]}, context) ||
      op.getMatchingIndexingMap(op.getDpsInitOperand(0)) !=
          AffineMap::get(8, 0, {d[0], d[1], d[2], d[3]}, context))
    return std::nullopt;
  // The input's map: its strides are what output row and column 1 read
  // (all other loops at 0), and the map must be the pooling's with them.
  AffineMap input = op.getMatchingIndexingMap(op.getDpsInputOperand(0));
  auto strideOf = [&](unsigned result, unsigned loop) -> int64_t {
    SmallVector<AffineExpr> at(8, getAffineConstantExpr(0, context));
    at[loop] = getAffineConstantExpr(1, context);
    auto value = dyn_cast<AffineConstantExpr>(input.getResult(result).replaceDims(at));
    return value ? value.getValue() : 0;
  };
  const int64_t sh = strideOf(2, 2), sw = strideOf(3, 3);
  if (sh < 1 || sw < 1 ||
      input != AffineMap::get(8, 0, {d[0] + d[4], d[1] + d[5], d[2] * sh + d[6], d[3] * sw + d[7]},
                              context))
    return std::nullopt;
  const MaxPoolWindow window{windowType.getDimSize(2), windowType.getDimSize(3), sh, sw};
  // The body: maximumf(output, input), either way round.
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (body.getOperations().size() != 2 || yield.getNumOperands() != 1)
    return std::nullopt;
  auto max = yield.getOperand(0).getDefiningOp<arith::MaximumFOp>();
  Value in = body.getArgument(0), out = body.getArgument(2);
  if (!max || !((max.getLhs() == in && max.getRhs() == out) ||
                (max.getLhs() == out && max.getRhs() == in)))
    return std::nullopt;
  return window;
}

/// Replaces `op` (a max pooling, see maxPoolOf) with a call.
void replaceWithMaxPoolCall(linalg::GenericOp op, const MaxPoolWindow &window,
                            func::FuncOp pool) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  SmallVector<Value> arguments =
      poolArguments(b, op, dlc::kMaxPoolF32Arguments, dlc::kMaxPoolImages,
                    dlc::kMaxPoolInput, dlc::kMaxPoolOutput);
  auto constant = [&](int64_t value) { return arith::ConstantIndexOp::create(b, loc, value); };
  arguments[dlc::kMaxPoolKernelH] = constant(window.kh);
  arguments[dlc::kMaxPoolKernelW] = constant(window.kw);
  arguments[dlc::kMaxPoolStrideH] = constant(window.sh);
  arguments[dlc::kMaxPoolStrideW] = constant(window.sw);
  func::CallOp::create(b, loc, pool, arguments);
  op->erase();
}

/// The roles of a max pooling gradient's last pass (see
/// kMaxPool2x2ScatterF32Kernel): its inputs' positions and whether a
/// ReLU's gradient is fused in.
struct PoolScatter {
  unsigned input, maxima, shares;
  bool positiveOnly;
};

/// The roles in `op` if it is the last pass of a 2×2, stride-2 max
/// pooling's gradient the runtime computes: a generic over [N, C, H, W]
/// f32 buffers with unit inner strides, one input read in place (x) and
/// two at (h/2, w/2) (y, s), whose body is
///   select(x == y, 1, 0) · s       (then select(x > 0, that, 0))
/// with +0 as the zeros the selects give (the kernel's sign of zero).
bool isMaxPool2x2Scatter(linalg::GenericOp op, PoolScatter &roles) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 3 || op.getNumDpsInits() != 1 ||
      op.getNumLoops() != 4 || op.getNumParallelLoops() != 4 ||
      !llvm::all_of(op->getOperands(), isF32Buffer) ||
      !op.getMatchingIndexingMap(op.getDpsInitOperand(0)).isIdentity())
    return false;
  MLIRContext *context = op.getContext();
  AffineExpr d[4];
  bindDims(context, d[0], d[1], d[2], d[3]);
  AffineMap pooled =
      AffineMap::get(4, 0, {d[0], d[1], d[2].floorDiv(2), d[3].floorDiv(2)}, context);
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  // Peel the optional select(x > 0, product, 0).
  Value product = yield.getOperand(0);
  Value positiveOf;
  if (auto select = product.getDefiningOp<arith::SelectOp>()) {
    auto positive = select.getCondition().getDefiningOp<arith::CmpFOp>();
    if (!positive || positive.getPredicate() != arith::CmpFPredicate::OGT ||
        !matchPattern(positive.getRhs(), m_AnyZeroFloat()) ||
        !matchPattern(select.getFalseValue(), m_PosZeroFloat()))
      return false;
    positiveOf = positive.getLhs();
    product = select.getTrueValue();
  }
  auto multiply = product.getDefiningOp<arith::MulFOp>();
  if (!multiply || multiply.getFastmath() != arith::FastMathFlags::none)
    return false;
  Value factors[2] = {multiply.getLhs(), multiply.getRhs()};
  for (int first = 0; first < 2; ++first) {
    auto hit = factors[first].getDefiningOp<arith::SelectOp>();
    if (!hit || !matchPattern(hit.getTrueValue(), m_OneFloat()) ||
        !matchPattern(hit.getFalseValue(), m_PosZeroFloat()))
      continue;
    auto equal = hit.getCondition().getDefiningOp<arith::CmpFOp>();
    if (!equal || equal.getPredicate() != arith::CmpFPredicate::OEQ)
      continue;
    auto argument = [&](Value value) -> int {
      auto block = dyn_cast<BlockArgument>(value);
      return block && block.getOwner() == &body && block.getArgNumber() < 3
                 ? int(block.getArgNumber())
                 : -1;
    };
    int x = argument(equal.getLhs()), y = argument(equal.getRhs()),
        shares = argument(factors[1 - first]);
    if (x >= 0 && y >= 0 && !op.getMatchingIndexingMap(op.getDpsInputOperand(x)).isIdentity())
      std::swap(x, y);
    if (x < 0 || y < 0 || shares < 0 || x == y || x == shares || y == shares ||
        !op.getMatchingIndexingMap(op.getDpsInputOperand(x)).isIdentity() ||
        op.getMatchingIndexingMap(op.getDpsInputOperand(y)) != pooled ||
        op.getMatchingIndexingMap(op.getDpsInputOperand(shares)) != pooled ||
        (positiveOf && argument(positiveOf) != x))
      return false;
    // Nothing else in the body: the compare, select and product (and the
    // ReLU's compare and select).
    if (body.getOperations().size() != (positiveOf ? 6u : 4u))
      return false;
    roles = {unsigned(x), unsigned(y), unsigned(shares), bool(positiveOf)};
    return true;
  }
  return false;
}

/// Replaces `op` (see isMaxPool2x2Scatter) with a call.
void replaceWithPoolScatterCall(linalg::GenericOp op, const PoolScatter &roles,
                                func::FuncOp scatter) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  BufferView views[4] = {viewOf(b, loc, op.getDpsInputOperand(roles.input)->get()),
                         viewOf(b, loc, op.getDpsInputOperand(roles.maxima)->get()),
                         viewOf(b, loc, op.getDpsInputOperand(roles.shares)->get()),
                         viewOf(b, loc, op.getDpsInitOperand(0)->get())};
  const unsigned at[4] = {dlc::kScatterInput, dlc::kScatterMaxima, dlc::kScatterShares,
                          dlc::kScatterOutput};
  SmallVector<Value> arguments(dlc::kMaxPool2x2ScatterF32Arguments);
  for (unsigned d = 0; d < 4; ++d)
    arguments[dlc::kScatterImages + d] = views[3].sizes[d];
  for (unsigned v = 0; v < 4; ++v) {
    arguments[at[v]] = views[v].address;
    for (unsigned i = 0; i < 3; ++i)
      arguments[at[v] + 1 + i] = views[v].strides[i];
  }
  arguments[dlc::kScatterFlags] = arith::ConstantIndexOp::create(
      b, loc, roles.positiveOnly ? unsigned(dlc::kPoolScatterPositiveOnly) : 0u);
  func::CallOp::create(b, loc, scatter, arguments);
  op->erase();
}

struct KernelCallsPass : public dlc::impl::DlcCpuKernelCallsBase<KernelCallsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::pair<linalg::LinalgOp, Layout>> products;
    SmallVector<std::pair<linalg::GenericOp, Convolution>> convolutions, depthwise;
    SmallVector<linalg::GenericOp> poolings;
    SmallVector<std::pair<linalg::GenericOp, MaxPoolWindow>> windowPoolings;
    SmallVector<std::pair<linalg::GenericOp, PoolScatter>> scatters;
    module.walk([&](linalg::LinalgOp op) {
      if (auto generic = dyn_cast<linalg::GenericOp>(op.getOperation())) {
        if (std::optional<Convolution> conv = conv2dOf(generic))
          convolutions.push_back({generic, *conv});
        else if (std::optional<Convolution> conv = depthwiseConv2dOf(generic))
          depthwise.push_back({generic, *conv});
        else if (isMaxPool2x2(generic))
          poolings.push_back(generic);
        else if (std::optional<MaxPoolWindow> window = maxPoolOf(generic))
          windowPoolings.push_back({generic, *window});
        else if (PoolScatter roles; isMaxPool2x2Scatter(generic, roles))
          scatters.push_back({generic, roles});
        return;
      }
      std::optional<Layout> layout = kernelLayout(op);
      if (layout && op.hasPureBufferSemantics() &&
          llvm::all_of(op->getOperands(), isF32Buffer))
        products.push_back({op, *layout});
    });
    if (!products.empty()) {
      func::FuncOp gemm = dlc::declareRuntimeKernel(module, dlc::kGemmF32Kernel, dlc::kGemmF32Arguments);
      for (auto [op, layout] : products)
        replaceWithGemmCall(op, layout, gemm);
    }
    if (!convolutions.empty()) {
      func::FuncOp conv =
          dlc::declareRuntimeKernel(module, dlc::kConv2dF32Kernel, dlc::kConv2dF32Arguments);
      for (auto &[op, convolution] : convolutions)
        replaceWithConvCall(op, convolution, conv, dlc::kConv2dF32Arguments);
    }
    if (!depthwise.empty()) {
      func::FuncOp conv = dlc::declareRuntimeKernel(module, dlc::kDepthwiseConv2dF32Kernel,
                                        dlc::kDepthwiseConv2dF32Arguments);
      for (auto &[op, convolution] : depthwise)
        replaceWithConvCall(op, convolution, conv, dlc::kDepthwiseConv2dF32Arguments);
    }
    if (!poolings.empty()) {
      func::FuncOp pool =
          dlc::declareRuntimeKernel(module, dlc::kMaxPool2x2F32Kernel, dlc::kMaxPool2x2F32Arguments);
      for (linalg::GenericOp op : poolings)
        replaceWithPoolCall(op, pool);
    }
    if (!windowPoolings.empty()) {
      func::FuncOp pool = dlc::declareRuntimeKernel(module, dlc::kMaxPoolF32Kernel, dlc::kMaxPoolF32Arguments);
      for (auto &[op, window] : windowPoolings)
        replaceWithMaxPoolCall(op, window, pool);
    }
    if (!scatters.empty()) {
      func::FuncOp scatter = dlc::declareRuntimeKernel(module, dlc::kMaxPool2x2ScatterF32Kernel,
                                           dlc::kMaxPool2x2ScatterF32Arguments);
      for (auto [op, roles] : scatters)
        replaceWithPoolScatterCall(op, roles, scatter);
    }
  }
};

} // namespace
