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

/// An operand of the chain that the group takes in a smaller form: the
/// splat value of a constant, or the operand of a broadcast.
struct SmallOperand {
  Attribute splat; ///< the constant's one value, or null
  Value source;    ///< the broadcast's operand, or null
};

/// One per-channel step of the chain: result = chain <kind> operand.
struct ChannelStep {
  enum Kind { Add, Sub, Mul, Div } kind;
  SmallOperand operand;
};

/// What a chain after a convolution folds into.
struct Epilogue {
  SmallVector<ChannelStep> steps;
  Value residual;
  std::optional<SmallOperand> min, max;
  SmallVector<Operation *> chain; ///< the ops after the convolution, in order
  Operation *last = nullptr;      ///< the chain's last op: the group replaces it
};

/// The splat value of a constant, if `value` is one.
Attribute splatOf(Value value) {
  auto constant = value.getDefiningOp<ConstantOp>();
  if (!constant)
    return {};
  auto elements = dyn_cast<DenseElementsAttr>(constant.getValue());
  if (!elements || !elements.isSplat())
    return {};
  return elements.getSplatValue<Attribute>();
}

/// `value` if it is the same along every dimension but 1 (the channels): a
/// splat constant, or a broadcast of a per-channel vector or of a scalar.
std::optional<SmallOperand> perChannel(Value value, int64_t channels) {
  if (Attribute splat = splatOf(value))
    return SmallOperand{splat, {}};
  auto broadcast = value.getDefiningOp<BroadcastOp>();
  if (!broadcast)
    return std::nullopt;
  auto source = broadcast.getOperand().getType();
  ArrayRef<int64_t> dims = broadcast.getDims();
  for (int64_t i = 0; i < source.getRank(); ++i)
    if (source.getDimSize(i) != 1 && dims[i] != 1)
      return std::nullopt;
  if (source.getNumElements() != channels && source.getNumElements() != 1)
    return std::nullopt;
  return SmallOperand{{}, broadcast.getOperand()};
}

/// `value` if all its elements are one value: a splat constant or a
/// broadcast of a single element.
std::optional<SmallOperand> scalar(Value value) {
  if (Attribute splat = splatOf(value))
    return SmallOperand{splat, {}};
  auto broadcast = value.getDefiningOp<BroadcastOp>();
  if (!broadcast || broadcast.getOperand().getType().getNumElements() != 1)
    return std::nullopt;
  return SmallOperand{{}, broadcast.getOperand()};
}

/// `operand` as a tensor of `type` ([channels] or 0-d), built at `b`.
Value build(OpBuilder &b, Location loc, const SmallOperand &operand, RankedTensorType type) {
  if (operand.splat)
    return ConstantOp::create(b, loc, DenseElementsAttr::get(type, operand.splat));
  auto source = cast<RankedTensorType>(operand.source.getType());
  if (source == type)
    return operand.source;
  if (source.getNumElements() == type.getNumElements())
    return ReshapeOp::create(b, loc, type, operand.source);
  // One element broadcast over the channels.
  Value one = ReshapeOp::create(b, loc, RankedTensorType::get({1}, type.getElementType()),
                                operand.source);
  return BroadcastOp::create(b, loc, type, one, b.getDenseI64ArrayAttr({0}));
}

/// Whether `conv` is one the group takes: float32, 2-D, no input
/// dilation, one group or depthwise (a group per input and output channel).
bool isFusableConv(ConvOp conv) {
  auto type = cast<RankedTensorType>(conv.getType());
  const int64_t groups = conv.getGroups();
  const int64_t channels = cast<RankedTensorType>(conv.getInput().getType()).getDimSize(1);
  const bool depthwise = groups == channels && groups == type.getDimSize(1);
  return type.getElementType().isF32() && type.getRank() == 4 && (groups == 1 || depthwise) &&
         llvm::all_of(conv.getLhsDilation(), [](int64_t d) { return d == 1; });
}

/// The chain after `conv` that folds into it; `last` is null when nothing
/// does.
Epilogue matchChain(ConvOp conv) {
  Epilogue epilogue;
  enum Phase { Affine, AfterResidual, AfterMax, Done } phase = Affine;
  auto type = cast<RankedTensorType>(conv.getType());
  Value current = conv.getResult();
  // Operands are recorded in their small form; fuse() builds them.
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
    int64_t channels = type.getDimSize(1);
    std::optional<SmallOperand> channelOperand = perChannel(other, channels);
    std::optional<SmallOperand> scalarOperand = scalar(other);
    bool broadcastLike = other.getDefiningOp<BroadcastOp>() || splatOf(other);
    if (isChannelOp && allowed && channelOperand) {
      ChannelStep::Kind kind = isa<AddOp>(user)   ? ChannelStep::Add
                               : isa<SubOp>(user) ? ChannelStep::Sub
                               : isa<MulOp>(user) ? ChannelStep::Mul
                                                  : ChannelStep::Div;
      epilogue.steps.push_back({kind, *channelOperand});
    } else if (isa<AddOp>(user) && phase == Affine && !broadcastLike) {
      epilogue.residual = other;
      phase = AfterResidual;
    } else if (isa<MaxOp>(user) && phase <= AfterResidual && scalarOperand) {
      epilogue.min = scalarOperand;
      phase = AfterMax;
    } else if (isa<MinOp>(user) && phase <= AfterMax && scalarOperand) {
      epilogue.max = scalarOperand;
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

/// Replaces `conv` and its chain with one dlc.fused_conv, its per-channel
/// scale and shift composed in front of the chain's last op.
void fuse(ConvOp conv, Epilogue &epilogue) {
  auto type = cast<RankedTensorType>(conv.getType());
  OpBuilder b(epilogue.last);
  Location loc = epilogue.last->getLoc();
  auto vectorType = RankedTensorType::get({type.getDimSize(1)}, b.getF32Type());
  Value scale, shift;
  for (ChannelStep &step : epilogue.steps) {
    Value v = build(b, loc, step.operand, vectorType);
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
  auto scalarType = RankedTensorType::get({}, b.getF32Type());
  Value min = epilogue.min ? build(b, loc, *epilogue.min, scalarType) : Value();
  Value max = epilogue.max ? build(b, loc, *epilogue.max, scalarType) : Value();
  auto fused = FusedConvOp::create(
      b, conv.getLoc(), type, conv.getInput(), conv.getFilter(), scale, shift,
      epilogue.residual, min, max, conv.getStridesAttr(), conv.getDilationsAttr(),
      conv.getPadLowAttr(), conv.getPadHighAttr(), conv.getGroupsAttr());
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
      if (epilogue.last)
        fuse(conv, epilogue);
    }
  }
};

} // namespace
