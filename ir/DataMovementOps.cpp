//===- DataMovementOps.cpp - shape rules of the structural ops --*- C++ -*-===//
//
// Iota, slice, reverse, concat, pad, gather, scatter, convolution, windowed
// reduction and top-k: their verifiers, result-type rules and folders.
//
//===----------------------------------------------------------------------===//

#include "ir/ConstantFolding.h"
#include "ir/DlcOps.h"
#include "ir/HostTensor.h"

using namespace mlir;
using namespace dlc;

namespace {

/// Checks that each of `arrays` has `rank` entries.
LogicalResult checkRank(std::optional<Location> loc, StringRef op, int64_t rank,
                        ArrayRef<std::pair<StringRef, ArrayRef<int64_t>>> arrays) {
  for (auto [name, values] : arrays)
    if (static_cast<int64_t>(values.size()) != rank)
      return emitOptionalError(loc, "'dlc.", op, "' needs one ", name,
                               " entry per dimension (", rank, "), got ",
                               values.size());
  return success();
}

/// The output size of a window sweep: `(dilate(in) + low + high -
/// dilate(window)) / stride + 1`, or -1 if the window does not fit.
int64_t windowOutputSize(int64_t in, int64_t window, int64_t stride,
                         int64_t dilation, int64_t inputDilation, int64_t low,
                         int64_t high) {
  int64_t dilatedIn = in == 0 ? 0 : (in - 1) * inputDilation + 1;
  int64_t dilatedWindow = (window - 1) * dilation + 1;
  int64_t span = dilatedIn + low + high - dilatedWindow;
  return span < 0 ? -1 : span / stride + 1;
}

} // namespace

//===----------------------------------------------------------------------===//
// IotaOp
//===----------------------------------------------------------------------===//

LogicalResult IotaOp::verify() {
  auto type = cast<RankedTensorType>(getType());
  if (getDim() < 0 || getDim() >= type.getRank())
    return emitOpError("dim ") << getDim() << " is not a dimension of "
                               << type;
  return success();
}

OpFoldResult IotaOp::fold(FoldAdaptor) {
  auto type = cast<RankedTensorType>(getType());
  Type elementType = type.getElementType();
  return buildElements(type, [&](int64_t i) -> Attribute {
    int64_t value = delinearize(i, type.getShape())[getDim()];
    if (isa<FloatType>(elementType))
      return FloatAttr::get(elementType, static_cast<double>(value));
    return IntegerAttr::get(elementType, value);
  });
}

//===----------------------------------------------------------------------===//
// SliceOp
//===----------------------------------------------------------------------===//

LogicalResult SliceOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &results) {
  auto type = cast<RankedTensorType>(adaptor.getOperand().getType());
  ArrayRef<int64_t> start = adaptor.getStart(), limit = adaptor.getLimit(),
                    strides = adaptor.getStrides();
  if (failed(checkRank(loc, "slice", type.getRank(),
                       {{"start", start}, {"limit", limit}, {"strides", strides}})))
    return failure();
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    if (start[d] < 0 || limit[d] < start[d] || limit[d] > type.getDimSize(d) ||
        strides[d] <= 0)
      return emitOptionalError(loc, "'dlc.slice' dimension ", d, " of size ",
                               type.getDimSize(d), " cannot be sliced from ",
                               start[d], " to ", limit[d], " by ", strides[d]);
    shape.push_back((limit[d] - start[d] + strides[d] - 1) / strides[d]);
  }
  results.push_back(RankedTensorType::get(shape, type.getElementType()));
  return success();
}

OpFoldResult SliceOp::fold(FoldAdaptor adaptor) {
  if (getOperand().getType() == getType())
    return getOperand();
  auto elements = constantElements(adaptor.getOperand());
  if (!elements)
    return {};
  ArrayRef<int64_t> inShape = getOperand().getType().getShape();
  ArrayRef<int64_t> outShape = getType().getShape();
  return buildElements(getType(), [&](int64_t i) {
    SmallVector<int64_t> index = delinearize(i, outShape);
    for (size_t d = 0; d < index.size(); ++d)
      index[d] = getStart()[d] + index[d] * getStrides()[d];
    return (*elements)[linearize(index, inShape)];
  });
}

//===----------------------------------------------------------------------===//
// ReverseOp
//===----------------------------------------------------------------------===//

LogicalResult ReverseOp::verify() {
  int64_t rank = getType().getRank();
  for (int64_t d : getDims())
    if (d < 0 || d >= rank)
      return emitOpError("dims holds ") << d << ", not a dimension of rank "
                                        << rank;
  return success();
}

//===----------------------------------------------------------------------===//
// ConcatOp
//===----------------------------------------------------------------------===//

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  if (adaptor.getInputs().empty())
    return emitOptionalError(loc, "'dlc.concat' needs at least one operand");
  auto first = cast<RankedTensorType>(adaptor.getInputs().front().getType());
  int64_t dim = adaptor.getDim();
  if (dim < 0 || dim >= first.getRank())
    return emitOptionalError(loc, "'dlc.concat' dim ", dim,
                             " is not a dimension of rank ", first.getRank());
  SmallVector<int64_t> shape(first.getShape());
  shape[dim] = 0;
  for (Value input : adaptor.getInputs()) {
    auto type = cast<RankedTensorType>(input.getType());
    bool compatible = type.getElementType() == first.getElementType() &&
                      type.getRank() == first.getRank();
    for (int64_t d = 0; compatible && d < type.getRank(); ++d)
      compatible = d == dim || type.getDimSize(d) == first.getDimSize(d);
    if (!compatible)
      return emitOptionalError(loc, "'dlc.concat' operands ", first, " and ",
                               type, " differ outside dimension ", dim);
    shape[dim] += type.getDimSize(dim);
  }
  results.push_back(RankedTensorType::get(shape, first.getElementType()));
  return success();
}

OpFoldResult ConcatOp::fold(FoldAdaptor adaptor) {
  if (getInputs().size() == 1)
    return getInputs().front();
  SmallVector<SmallVector<Attribute>> parts;
  for (Attribute operand : adaptor.getInputs()) {
    auto elements = constantElements(operand);
    if (!elements)
      return {};
    parts.push_back(std::move(*elements));
  }
  int64_t dim = getDim();
  ArrayRef<int64_t> outShape = getType().getShape();
  return buildElements(getType(), [&](int64_t i) {
    SmallVector<int64_t> index = delinearize(i, outShape);
    for (auto [part, input] : llvm::zip(parts, getInputs())) {
      ArrayRef<int64_t> shape = cast<RankedTensorType>(input.getType()).getShape();
      if (index[dim] < shape[dim])
        return part[linearize(index, shape)];
      index[dim] -= shape[dim];
    }
    return Attribute();
  });
}

//===----------------------------------------------------------------------===//
// PadOp
//===----------------------------------------------------------------------===//

LogicalResult PadOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &results) {
  auto type = cast<RankedTensorType>(adaptor.getOperand().getType());
  auto value = cast<RankedTensorType>(adaptor.getValue().getType());
  if (value.getRank() != 0 || value.getElementType() != type.getElementType())
    return emitOptionalError(loc, "'dlc.pad' value must be a rank-0 tensor of ",
                             type.getElementType(), ", got ", value);
  if (failed(checkRank(loc, "pad", type.getRank(),
                       {{"low", adaptor.getLow()}, {"high", adaptor.getHigh()}})))
    return failure();
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    int64_t low = adaptor.getLow()[d], high = adaptor.getHigh()[d];
    if (low < 0 || high < 0)
      return emitOptionalError(loc, "'dlc.pad' pads must not be negative, got ",
                               low, " and ", high, " in dimension ", d);
    shape.push_back(type.getDimSize(d) + low + high);
  }
  results.push_back(RankedTensorType::get(shape, type.getElementType()));
  return success();
}

OpFoldResult PadOp::fold(FoldAdaptor adaptor) {
  if (getOperand().getType() == getType())
    return getOperand();
  auto elements = constantElements(adaptor.getOperand());
  auto value = constantElements(adaptor.getValue());
  if (!elements || !value)
    return {};
  ArrayRef<int64_t> inShape = getOperand().getType().getShape();
  ArrayRef<int64_t> outShape = getType().getShape();
  return buildElements(getType(), [&](int64_t i) {
    SmallVector<int64_t> index = delinearize(i, outShape);
    for (size_t d = 0; d < index.size(); ++d) {
      index[d] -= getLow()[d];
      if (index[d] < 0 || index[d] >= inShape[d])
        return value->front();
    }
    return (*elements)[linearize(index, inShape)];
  });
}

//===----------------------------------------------------------------------===//
// GatherOp
//===----------------------------------------------------------------------===//

LogicalResult GatherOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  auto data = cast<RankedTensorType>(adaptor.getData().getType());
  auto indices = cast<RankedTensorType>(adaptor.getIndices().getType());
  int64_t axis = adaptor.getAxis();
  if (axis < 0 || axis >= data.getRank())
    return emitOptionalError(loc, "'dlc.gather' axis ", axis,
                             " is not a dimension of ", data);
  SmallVector<int64_t> shape(data.getShape().take_front(axis));
  llvm::append_range(shape, indices.getShape());
  llvm::append_range(shape, data.getShape().drop_front(axis + 1));
  results.push_back(RankedTensorType::get(shape, data.getElementType()));
  return success();
}

OpFoldResult GatherOp::fold(FoldAdaptor adaptor) {
  auto data = constantElements(adaptor.getData());
  auto indices = constantElements(adaptor.getIndices());
  if (!data || !indices)
    return {};
  auto dataType = getData().getType();
  ArrayRef<int64_t> dataShape = dataType.getShape();
  ArrayRef<int64_t> indexShape = getIndices().getType().getShape();
  ArrayRef<int64_t> outShape = getType().getShape();
  int64_t axis = getAxis();
  return buildElements(getType(), [&](int64_t i) -> Attribute {
    SmallVector<int64_t> outIndex = delinearize(i, outShape);
    ArrayRef<int64_t> out(outIndex);
    ArrayRef<int64_t> position = out.slice(axis, indexShape.size());
    int64_t index = cast<IntegerAttr>((*indices)[linearize(position, indexShape)])
                        .getValue()
                        .getSExtValue();
    if (index < 0 || index >= dataShape[axis])
      return {};
    SmallVector<int64_t> dataIndex(out.take_front(axis));
    dataIndex.push_back(index);
    llvm::append_range(dataIndex, out.drop_front(axis + indexShape.size()));
    return (*data)[linearize(dataIndex, dataShape)];
  });
}

//===----------------------------------------------------------------------===//
// ScatterOp
//===----------------------------------------------------------------------===//

LogicalResult ScatterOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  auto data = cast<RankedTensorType>(adaptor.getData().getType());
  auto indices = cast<RankedTensorType>(adaptor.getIndices().getType());
  auto updates = cast<RankedTensorType>(adaptor.getUpdates().getType());
  if (data.getRank() != 1 || indices.getRank() != 1 || updates.getRank() != 1)
    return emitOptionalError(loc, "'dlc.scatter' works on rank-1 tensors; got ",
                             data, ", ", indices, " and ", updates);
  if (indices.getDimSize(0) != updates.getDimSize(0) ||
      updates.getElementType() != data.getElementType())
    return emitOptionalError(loc, "'dlc.scatter' needs one update of ",
                             data.getElementType(), " per index; got ",
                             indices, " and ", updates);
  results.push_back(data);
  return success();
}

//===----------------------------------------------------------------------===//
// ConvOp
//===----------------------------------------------------------------------===//

namespace {

/// The result shape of a convolution of `input` by `filter` (op `name`,
/// "conv" or "fused_conv"), or an error at `loc` saying what is wrong.
FailureOr<SmallVector<int64_t>>
convResultShape(std::optional<Location> loc, StringRef name, RankedTensorType input,
                RankedTensorType filter, ArrayRef<int64_t> strides,
                ArrayRef<int64_t> dilations, ArrayRef<int64_t> lhsDilation,
                ArrayRef<int64_t> padLow, ArrayRef<int64_t> padHigh, int64_t groups) {
  int64_t spatial = input.getRank() - 2;
  if (spatial < 1 || filter.getRank() != input.getRank())
    return emitOptionalError(loc, "'dlc.", name, "' needs input [N, C, D...] and "
                             "filter [O, C/groups, K...] of one rank; got ",
                             input, " and ", filter);
  if (input.getElementType() != filter.getElementType())
    return emitOptionalError(loc, "'dlc.", name, "' operands have different element "
                                                 "types");
  if (failed(checkRank(loc, name, spatial,
                       {{"strides", strides},
                        {"dilations", dilations},
                        {"lhs_dilation", lhsDilation},
                        {"pad_low", padLow},
                        {"pad_high", padHigh}})))
    return failure();
  int64_t channels = input.getDimSize(1), outChannels = filter.getDimSize(0);
  if (groups < 1 || channels % groups || outChannels % groups ||
      filter.getDimSize(1) * groups != channels)
    return emitOptionalError(loc, "'dlc.", name, "' with ", groups, " groups cannot "
                             "take ", channels, " input channels with a "
                             "filter of shape ",
                             formatShape(filter.getShape()));
  SmallVector<int64_t> shape = {input.getDimSize(0), outChannels};
  for (int64_t i = 0; i < spatial; ++i) {
    if (strides[i] < 1 || dilations[i] < 1 || lhsDilation[i] < 1)
      return emitOptionalError(loc, "'dlc.", name, "' strides and dilations must be "
                                                   "positive");
    int64_t size = windowOutputSize(input.getDimSize(i + 2), filter.getDimSize(i + 2),
                                    strides[i], dilations[i], lhsDilation[i], padLow[i],
                                    padHigh[i]);
    if (size < 0)
      return emitOptionalError(loc, "'dlc.", name, "' filter of spatial size ",
                               filter.getDimSize(i + 2),
                               " does not fit the padded input in dimension ", i + 2);
    shape.push_back(size);
  }
  return shape;
}

} // namespace

LogicalResult ConvOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &results) {
  auto input = cast<RankedTensorType>(adaptor.getInput().getType());
  auto filter = cast<RankedTensorType>(adaptor.getFilter().getType());
  FailureOr<SmallVector<int64_t>> shape = convResultShape(
      loc, "conv", input, filter, adaptor.getStrides(), adaptor.getDilations(),
      adaptor.getLhsDilation(), adaptor.getPadLow(), adaptor.getPadHigh(), adaptor.getGroups());
  if (failed(shape))
    return failure();
  results.push_back(RankedTensorType::get(*shape, input.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// FusedConvOp
//===----------------------------------------------------------------------===//

LogicalResult FusedConvOp::verify() {
  auto input = cast<RankedTensorType>(getInput().getType());
  auto filter = cast<RankedTensorType>(getFilter().getType());
  auto type = cast<RankedTensorType>(getType());
  if (!input.getElementType().isF32() || !filter.getElementType().isF32() ||
      !type.getElementType().isF32())
    return emitOpError("takes float32 tensors only");
  if (input.getRank() != 4 || type.getRank() != 4)
    return emitOpError("needs input [N, C, H, W], filter [O, C / groups, KH, KW] and result "
                       "[N, O, HO, WO]; got ")
           << input << ", " << filter << " and " << type;
  // One group, or depthwise: a filter per channel.
  const int64_t groups = getGroups();
  if (groups != 1 && (groups != input.getDimSize(1) || groups != filter.getDimSize(0)))
    return emitOpError("takes one group or one per channel (depthwise); got ")
           << groups << " groups for " << input.getDimSize(1) << " input and "
           << filter.getDimSize(0) << " output channels";
  FailureOr<SmallVector<int64_t>> shape =
      convResultShape(getLoc(), "fused_conv", input, filter, getStrides(), getDilations(),
                      {1, 1}, getPadLow(), getPadHigh(), groups);
  if (failed(shape))
    return failure();
  if (type.getShape() != ArrayRef<int64_t>(*shape))
    return emitOpError("result should have shape ") << formatShape(*shape) << ", not "
                                                    << formatShape(type.getShape());
  auto checkType = [&](Value value, const char *name, ArrayRef<int64_t> expected) -> LogicalResult {
    if (!value)
      return success();
    auto valueType = cast<RankedTensorType>(value.getType());
    if (valueType.getShape() != expected || !valueType.getElementType().isF32())
      return emitOpError() << name << " must be float32 of shape " << formatShape(expected)
                           << ", not " << valueType;
    return success();
  };
  int64_t channels = filter.getDimSize(0);
  if (failed(checkType(getScale(), "scale", {channels})) ||
      failed(checkType(getShift(), "shift", {channels})) ||
      failed(checkType(getResidual(), "residual", type.getShape())) ||
      failed(checkType(getMin(), "min", {})) || failed(checkType(getMax(), "max", {})))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// ReduceWindowOp
//===----------------------------------------------------------------------===//

bool ReduceWindowOp::windowsTileOperand() {
  auto type = cast<RankedTensorType>(getOperand().getType());
  auto outType = cast<RankedTensorType>(getType());
  for (int64_t d = 0; d < type.getRank(); ++d) {
    int64_t window = getWindow()[d];
    if (getStrides()[d] != window || (window > 1 && getDilations()[d] != 1) ||
        getPadLow()[d] || getPadHigh()[d] ||
        type.getDimSize(d) != outType.getDimSize(d) * window)
      return false;
  }
  return true;
}

LogicalResult ReduceWindowOp::inferReturnTypes(MLIRContext *,
                                               std::optional<Location> loc,
                                               Adaptor adaptor,
                                               SmallVectorImpl<Type> &results) {
  auto type = cast<RankedTensorType>(adaptor.getOperand().getType());
  if (failed(checkRank(loc, "reduce_window", type.getRank(),
                       {{"window", adaptor.getWindow()},
                        {"strides", adaptor.getStrides()},
                        {"dilations", adaptor.getDilations()},
                        {"pad_low", adaptor.getPadLow()},
                        {"pad_high", adaptor.getPadHigh()}})))
    return failure();
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    int64_t window = adaptor.getWindow()[d], stride = adaptor.getStrides()[d];
    int64_t dilation = adaptor.getDilations()[d];
    if (window < 1 || stride < 1 || dilation < 1)
      return emitOptionalError(loc, "'dlc.reduce_window' window, strides and "
                                    "dilations must be positive");
    int64_t size = windowOutputSize(type.getDimSize(d), window, stride, dilation,
                                    1, adaptor.getPadLow()[d], adaptor.getPadHigh()[d]);
    if (size < 0)
      return emitOptionalError(loc, "'dlc.reduce_window' window of size ", window,
                               " does not fit dimension ", d, " of size ",
                               type.getDimSize(d));
    shape.push_back(size);
  }
  results.push_back(RankedTensorType::get(shape, type.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// TopKOp
//===----------------------------------------------------------------------===//

LogicalResult TopKOp::inferReturnTypes(MLIRContext *context,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &results) {
  auto type = cast<RankedTensorType>(adaptor.getOperand().getType());
  int64_t dim = adaptor.getDim(), k = adaptor.getK();
  if (dim < 0 || dim >= type.getRank())
    return emitOptionalError(loc, "'dlc.top_k' dim ", dim,
                             " is not a dimension of ", type);
  if (k < 0 || k > type.getDimSize(dim))
    return emitOptionalError(loc, "'dlc.top_k' k = ", k, " is not in [0, ",
                             type.getDimSize(dim), "]");
  SmallVector<int64_t> shape(type.getShape());
  shape[dim] = k;
  results.push_back(RankedTensorType::get(shape, type.getElementType()));
  results.push_back(RankedTensorType::get(shape, IntegerType::get(context, 64)));
  return success();
}
