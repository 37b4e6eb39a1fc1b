//===- FuseConvEpilogues.cpp - convolutions with their epilogues -*- C++ -*-===//
//
// The dlc-fuse-conv-epilogues pass (see Passes.td): a convolution and the
// elementwise chain after it (bias, batch norm, residual, ReLU) become one
// dlc.fused_conv.
//
//===----------------------------------------------------------------------===//

#include "ir/DlcOps.h"
#include "passes/Passes.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"

namespace dlc {
#define GEN_PASS_DEF_DLCFUSECONVEPILOGUES
#include "passes/Passes.h.inc"
} // namespace dlc

using namespace mlir;
using namespace dlc;

namespace {

/// One per-channel step of the chain: result = chain <kind> vector.
struct ChannelStep {
  enum Kind { Add, Sub, Mul, Div } kind;
  Value vector; ///< [O], built before the group
};

/// What a chain after a convolution folds into.
struct Epilogue {
  SmallVector<ChannelStep> steps;
  Value residual, min, max;
  SmallVector<Operation *> chain; ///< the ops after the convolution, in order
  Operation *last = nullptr;      ///< the chain's last op: the group replaces it
};

/// The splat value of a constant, if `value` is one.
std::optional<Attribute> splatOf(Value value) {
  auto constant = value.getDefiningOp<ConstantOp>();
  if (!constant)
    return std::nullopt;
  auto elements = dyn_cast<DenseElementsAttr>(constant.getValue());
  if (!elements || !elements.isSplat())
    return std::nullopt;
  return elements.getSplatValue<Attribute>();
}

/// Builds the 1-D or 0-d tensors the group takes from the chain's operands.
class OperandBuilder {
public:
  OperandBuilder(OpBuilder &b, Location loc, int64_t channels)
      : b(b), loc(loc), channels(channels) {}

  /// `value` as a [channels] vector if it is a broadcast along dimension 1
  /// (of a per-channel vector or of a scalar) or a splat constant.
  Value perChannel(Value value) {
    auto f32 = b.getF32Type();
    auto vectorType = RankedTensorType::get({channels}, f32);
    if (std::optional<Attribute> splat = splatOf(value))
      return ConstantOp::create(b, loc, DenseElementsAttr::get(vectorType, *splat));
    auto broadcast = value.getDefiningOp<BroadcastOp>();
    if (!broadcast)
      return {};
    auto source = cast<RankedTensorType>(broadcast.getOperand().getType());
    ArrayRef<int64_t> dims = broadcast.getDims();
    for (int64_t i = 0; i < source.getRank(); ++i)
      if (source.getDimSize(i) != 1 && dims[i] != 1)
        return {};
    if (source == vectorType)
      return broadcast.getOperand();
    if (source.getNumElements() == channels)
      return ReshapeOp::create(b, loc, vectorType, broadcast.getOperand());
    if (source.getNumElements() != 1)
      return {};
    Value one = ReshapeOp::create(b, loc, RankedTensorType::get({1}, f32),
                                  broadcast.getOperand());
    return BroadcastOp::create(b, loc, vectorType, one, b.getDenseI64ArrayAttr({0}));
  }

  /// `value` as a 0-d tensor if every element is the same one value: a
  /// broadcast of a single element or a splat constant.
  Value scalar(Value value) {
    auto scalarType = RankedTensorType::get({}, b.getF32Type());
    if (std::optional<Attribute> splat = splatOf(value))
      return ConstantOp::create(b, loc, DenseElementsAttr::get(scalarType, *splat));
    auto broadcast = value.getDefiningOp<BroadcastOp>();
    if (!broadcast || broadcast.getOperand().getType().getNumElements() != 1)
      return {};
    if (broadcast.getOperand().getType().getRank() == 0)
      return broadcast.getOperand();
    return ReshapeOp::create(b, loc, scalarType, broadcast.getOperand());
  }

private:
  OpBuilder &b;
  Location loc;
  int64_t channels;
};

/// Whether `conv` is one the group takes: float32, 2-D, one group, no
/// input dilation.
bool isFusableConv(ConvOp conv) {
  auto type = cast<RankedTensorType>(conv.getType());
  return type.getElementType().isF32() && type.getRank() == 4 && conv.getGroups() == 1 &&
         llvm::all_of(conv.getLhsDilation(), [](int64_t d) { return d == 1; });
}

/// The chain after `conv` that folds into it; `last` is null when nothing
/// does.
Epilogue matchChain(ConvOp conv) {
  Epilogue epilogue;
  enum Phase { Affine, AfterResidual, AfterMax, Done } phase = Affine;
  auto type = cast<RankedTensorType>(conv.getType());
  Value current = conv.getResult();
  // The operands are recorded as the chain's values; fuse() turns them into
  // vectors and scalars.
  while (phase != Done && current.hasOneUse()) {
    Operation *user = *current.getUsers().begin();
    if (user->getNumOperands() != 2 || user->getNumResults() != 1 ||
        user->getResult(0).getType() != type)
      break;
    bool commutative = isa<AddOp, MulOp, MaxOp, MinOp>(user);
    Value lhs = user->getOperand(0), rhs = user->getOperand(1);
    if (lhs == rhs || (lhs != current && !commutative))
      break;
    Value other = lhs == current ? rhs : lhs;
    bool isChannelOp = isa<AddOp, SubOp, MulOp, DivOp>(user);
    // Only additions follow a residual: (c·s + b + r)·t is not c·s' + b'.
    bool allowed = phase == Affine || (phase == AfterResidual && isa<AddOp, SubOp>(user));
    bool broadcastLike = other.getDefiningOp<BroadcastOp>() || splatOf(other);
    if (isChannelOp && allowed && broadcastLike) {
      ChannelStep::Kind kind = isa<AddOp>(user)   ? ChannelStep::Add
                               : isa<SubOp>(user) ? ChannelStep::Sub
                               : isa<MulOp>(user) ? ChannelStep::Mul
                                                  : ChannelStep::Div;
      epilogue.steps.push_back({kind, other});
    } else if (isa<AddOp>(user) && phase == Affine && !broadcastLike) {
      epilogue.residual = other;
      phase = AfterResidual;
    } else if (isa<MaxOp>(user) && phase <= AfterResidual && broadcastLike) {
      epilogue.min = other;
      phase = AfterMax;
    } else if (isa<MinOp>(user) && phase <= AfterMax && broadcastLike) {
      epilogue.max = other;
      phase = Done;
    } else {
      break;
    }
    epilogue.chain.push_back(user);
    epilogue.last = user;
    current = user->getResult(0);
  }
  return epilogue;
}

/// Whether `value` is copied into the interior of a spatially padded tensor
/// by one of its users (the next convolution's or pooling's padding, a
/// pad). Such a copy gets elided when an elementwise op computes `value`
/// (it writes the interior in place), but a GEMM cannot write a strided
/// interior, so fusing would add a pass over memory instead of saving one.
bool feedsSpatialPadding(Value value) {
  auto padded = [](ArrayRef<int64_t> low, ArrayRef<int64_t> high) {
    return llvm::any_of(low, [](int64_t p) { return p != 0; }) ||
           llvm::any_of(high, [](int64_t p) { return p != 0; });
  };
  return llvm::any_of(value.getUsers(), [&](Operation *user) {
    if (auto conv = dyn_cast<ConvOp>(user))
      return padded(conv.getPadLow(), conv.getPadHigh());
    if (auto conv = dyn_cast<FusedConvOp>(user))
      return padded(conv.getPadLow(), conv.getPadHigh());
    if (auto window = dyn_cast<ReduceWindowOp>(user))
      return padded(window.getPadLow(), window.getPadHigh());
    if (auto pad = dyn_cast<PadOp>(user))
      return padded(pad.getLow(), pad.getHigh());
    return false;
  });
}

/// Erases what `block` holds, users first; fails.
LogicalResult discard(Block &block) {
  while (!block.empty())
    block.back().erase();
  return failure();
}

/// Replaces `conv` and its chain with one dlc.fused_conv; fails (changing
/// nothing) if an operand is not per-channel or scalar after all.
LogicalResult fuse(ConvOp conv, Epilogue &epilogue) {
  auto type = cast<RankedTensorType>(conv.getType());
  int64_t channels = type.getDimSize(1);
  OpBuilder b(epilogue.last);
  Location loc = epilogue.last->getLoc();
  // Operands are built in a block of their own first, so a chain that
  // turns out not to fold leaves nothing behind.
  Block scratch;
  b.setInsertionPointToStart(&scratch);
  OperandBuilder operands(b, loc, channels);
  auto vectorType = RankedTensorType::get({channels}, b.getF32Type());
  Value scale, shift;
  for (ChannelStep &step : epilogue.steps) {
    Value v = operands.perChannel(step.vector);
    if (!v)
      return discard(scratch);
    switch (step.kind) {
    case ChannelStep::Add:
      shift = shift ? AddOp::create(b, loc, vectorType, shift, v).getResult() : v;
      break;
    case ChannelStep::Sub:
      shift = shift ? SubOp::create(b, loc, vectorType, shift, v).getResult()
                    : NegOp::create(b, loc, vectorType, v).getResult();
      break;
    case ChannelStep::Mul:
      scale = scale ? MulOp::create(b, loc, vectorType, scale, v).getResult() : v;
      if (shift)
        shift = MulOp::create(b, loc, vectorType, shift, v);
      break;
    case ChannelStep::Div:
      if (!scale)
        scale = ConstantOp::create(b, loc,
                                   DenseElementsAttr::get(vectorType, b.getF32FloatAttr(1)));
      scale = DivOp::create(b, loc, vectorType, scale, v);
      if (shift)
        shift = DivOp::create(b, loc, vectorType, shift, v);
      break;
    }
  }
  Value min, max;
  if ((epilogue.min && !(min = operands.scalar(epilogue.min))) ||
      (epilogue.max && !(max = operands.scalar(epilogue.max))))
    return discard(scratch);
  // Move what was built in front of the chain's last op, then the group.
  while (!scratch.empty())
    scratch.front().moveBefore(epilogue.last);
  b.setInsertionPoint(epilogue.last);
  auto fused = FusedConvOp::create(
      b, conv.getLoc(), type, conv.getInput(), conv.getFilter(), scale, shift,
      epilogue.residual, min, max, conv.getStridesAttr(), conv.getDilationsAttr(),
      conv.getPadLowAttr(), conv.getPadHighAttr());
  // Erase the chain from its end: each op's only user is the next.
  epilogue.last->getResult(0).replaceAllUsesWith(fused.getResult());
  for (Operation *op : llvm::reverse(epilogue.chain)) {
    SmallVector<Value> inputs(op->getOperands());
    op->erase();
    // Broadcasts and constants that only the chain used go with it.
    for (Value input : inputs)
      if (Operation *producer = input.getDefiningOp();
          producer && input.use_empty() && isa<BroadcastOp, ConstantOp>(producer))
        producer->erase();
  }
  conv->erase();
  return success();
}

struct FuseConvEpiloguesPass
    : public dlc::impl::DlcFuseConvEpiloguesBase<FuseConvEpiloguesPass> {
  void runOnOperation() override {
    SmallVector<ConvOp> convs;
    getOperation().walk([&](ConvOp conv) {
      if (isFusableConv(conv))
        convs.push_back(conv);
    });
    for (ConvOp conv : convs) {
      Epilogue epilogue = matchChain(conv);
      if (epilogue.last && !feedsSpatialPadding(epilogue.last->getResult(0)))
        (void)fuse(conv, epilogue);
    }
  }
};

} // namespace
