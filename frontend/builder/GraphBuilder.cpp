//===- GraphBuilder.cpp - the C++ API that builds dlc models ----*- C++ -*-===//

#include "frontend/builder/GraphBuilder.h"
#include "ir/Diagnostics.h"
#include "ir/Signature.h"
#include "passes/Autodiff.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace dlc;

GraphBuilder::GraphBuilder(MLIRContext &context)
    : builder(&context), location(UnknownLoc::get(&context)) {
  context.loadDialect<DlcDialect, func::FuncDialect>();
  module = ModuleOp::create(location);
  builder.setInsertionPointToEnd(module->getBody());
  function = func::FuncOp::create(builder, location, kEntryFunction,
                                  builder.getFunctionType({}, {}));
  builder.setInsertionPointToEnd(function.addEntryBlock());
}

void GraphBuilder::setLocation(llvm::StringRef name) {
  location = name.empty() ? Location(UnknownLoc::get(&context()))
                          : Location(NameLoc::get(builder.getStringAttr(name)));
}

void GraphBuilder::fail(const llvm::Twine &message) {
  if (firstError)
    return;
  std::string where;
  if (!isa<UnknownLoc>(location))
    where = " at " + describeLocation(location);
  firstError = message.str() + where;
}

bool GraphBuilder::usable(std::initializer_list<Tensor> tensors) {
  if (failed())
    return false;
  for (const Tensor &tensor : tensors)
    if (!tensor.valid()) {
      fail("an operand is an invalid tensor");
      return false;
    }
  return true;
}

bool GraphBuilder::checkSize(llvm::StringRef op, llvm::ArrayRef<int64_t> shape) {
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(count, d, &count) || count > kMaxElements) {
      fail(op + ": shape " + formatShape(shape) + (d < 0 ? " has a negative dimension"
                                                     : " has too many elements"));
      return false;
    }
  }
  return true;
}

//===----------------------------------------------------------------------===//
// The graph's interface
//===----------------------------------------------------------------------===//

Tensor GraphBuilder::input(llvm::StringRef name, llvm::ArrayRef<int64_t> shape,
                           DType dtype) {
  if (llvm::any_of(shape, [](int64_t d) { return d < 0; })) {
    fail("input '" + name + "' has a negative dimension in " +
         formatShape(shape));
    return {};
  }
  if (!checkSize("input '" + name.str() + "'", shape))
    return {};
  auto type = RankedTensorType::get(shape, toMlirType(context(), dtype));
  Block &entry = function.front();
  Value argument = entry.insertArgument(numInputs++, type, location);
  inputNames.push_back(name.str());
  return Tensor(argument);
}

Tensor GraphBuilder::parameter(llvm::StringRef name, HostTensor initialValue) {
  auto type = RankedTensorType::get(initialValue.shape(),
                                    toMlirType(context(), initialValue.dtype()));
  Value argument = function.front().addArgument(type, location);
  weights.emplace_back(name.str(), std::move(initialValue));
  return Tensor(argument);
}

void GraphBuilder::output(llvm::StringRef name, Tensor value) {
  if (!usable({value}))
    return;
  outputs.emplace_back(name.str(), value.value());
}

llvm::Expected<Model> GraphBuilder::finish() {
  if (firstError)
    return llvm::createStringError(*firstError);
  if (outputs.empty())
    return llvm::createStringError("the graph has no outputs");

  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  for (auto &[name, value] : outputs) {
    results.push_back(value);
    resultTypes.push_back(value.getType());
  }
  func::ReturnOp::create(builder, location, results);
  Block &entry = function.front();
  function.setFunctionType(
      builder.getFunctionType(entry.getArgumentTypes(), resultTypes));
  for (unsigned i = 0; i < entry.getNumArguments(); ++i) {
    bool isInput = i < numInputs;
    const std::string &name =
        isInput ? inputNames[i] : weights[i - numInputs].first;
    function.setArgAttr(i, isInput ? kInputAttr : kParamAttr,
                        builder.getStringAttr(name));
  }
  for (auto [i, output] : llvm::enumerate(outputs))
    function.setResultAttr(i, kOutputAttr, builder.getStringAttr(output.first));

  // Folding leaves constants behind that nothing uses any more.
  Block &body = function.front();
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body)))
    if (isOpTriviallyDead(&op))
      op.erase();

  DiagnosticCapture diagnostics(&context());
  if (mlir::failed(mlir::verify(*module)))
    return diagnostics.takeError("the built graph does not verify");
  return Model{std::move(module), std::move(weights)};
}

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

DenseElementsAttr GraphBuilder::elementsAttr(MLIRContext &context,
                                             const HostTensor &value) {
  Type elementType = toMlirType(context, value.dtype());
  auto type = RankedTensorType::get(value.shape(), elementType);
  if (value.dtype() == DType::i1) {
    // Booleans are one byte each in a HostTensor but packed in the attribute.
    const auto *bytes = value.dataAs<uint8_t>();
    SmallVector<bool> bits;
    for (int64_t i = 0; i < value.numElements(); ++i)
      bits.push_back(bytes[i] != 0);
    return DenseElementsAttr::get(type, bits);
  }
  return DenseElementsAttr::getFromRawBuffer(
      type, llvm::ArrayRef<char>(static_cast<const char *>(value.data()),
                                 value.byteSize()));
}

Tensor GraphBuilder::constant(const HostTensor &value) {
  if (failed())
    return {};
  return Tensor(
      ConstantOp::create(builder, location, elementsAttr(context(), value)));
}

Tensor GraphBuilder::scalar(double value, Type elementType) {
  if (failed())
    return {};
  if (!elementType) {
    fail("scalar: no element type (an operand is missing)");
    return {};
  }
  auto type = RankedTensorType::get({}, elementType);
  Attribute element;
  if (auto floatType = dyn_cast<FloatType>(elementType)) {
    element = builder.getFloatAttr(floatType, value);
  } else {
    // 2^63 itself does not fit; compare against it exclusively.
    if (!(value >= -0x1p63 && value < 0x1p63)) {
      fail("scalar: " + std::to_string(value) + " does not fit an integer");
      return {};
    }
    element = builder.getIntegerAttr(elementType, static_cast<int64_t>(value));
  }
  return Tensor(ConstantOp::create(builder, location,
                                   DenseElementsAttr::get(type, element)));
}

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

std::optional<SmallVector<int64_t>>
GraphBuilder::broadcastShape(llvm::StringRef op, llvm::ArrayRef<int64_t> a,
                             llvm::ArrayRef<int64_t> b) {
  size_t rank = std::max(a.size(), b.size());
  SmallVector<int64_t> shape(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1) {
      fail(op + ": shapes " + formatShape(a) + " and " + formatShape(b) +
           " do not broadcast");
      return std::nullopt;
    }
    shape[i] = da == 1 ? db : da;
  }
  return shape;
}

template <typename OpTy>
Tensor GraphBuilder::binary(llvm::StringRef name, Tensor lhs, Tensor rhs) {
  if (!usable({lhs, rhs}))
    return {};
  if (lhs.elementType() != rhs.elementType()) {
    std::string lhsType, rhsType;
    llvm::raw_string_ostream(lhsType) << lhs.elementType();
    llvm::raw_string_ostream(rhsType) << rhs.elementType();
    fail(name + ": element types differ (" + lhsType + " and " + rhsType + ")");
    return {};
  }
  auto shape = broadcastShape(name, lhs.shape(), rhs.shape());
  if (!shape)
    return {};
  lhs = broadcastTo(lhs, *shape);
  rhs = broadcastTo(rhs, *shape);
  return Tensor(builder.createOrFold<OpTy>(location, lhs.value(), rhs.value()));
}

Tensor GraphBuilder::add(Tensor lhs, Tensor rhs) { return binary<AddOp>("add", lhs, rhs); }
Tensor GraphBuilder::sub(Tensor lhs, Tensor rhs) { return binary<SubOp>("sub", lhs, rhs); }
Tensor GraphBuilder::mul(Tensor lhs, Tensor rhs) { return binary<MulOp>("mul", lhs, rhs); }
Tensor GraphBuilder::div(Tensor lhs, Tensor rhs) { return binary<DivOp>("div", lhs, rhs); }
Tensor GraphBuilder::max(Tensor lhs, Tensor rhs) { return binary<MaxOp>("max", lhs, rhs); }
Tensor GraphBuilder::min(Tensor lhs, Tensor rhs) { return binary<MinOp>("min", lhs, rhs); }

Tensor GraphBuilder::rem(Tensor lhs, Tensor rhs) { return binary<RemOp>("rem", lhs, rhs); }
Tensor GraphBuilder::pow(Tensor lhs, Tensor rhs) { return binary<PowOp>("pow", lhs, rhs); }

Tensor GraphBuilder::bitAnd(Tensor lhs, Tensor rhs) {
  if (usable({lhs, rhs}) && isa<FloatType>(lhs.elementType())) {
    fail("and: needs integer or boolean tensors");
    return {};
  }
  return binary<AndOp>("and", lhs, rhs);
}
Tensor GraphBuilder::bitOr(Tensor lhs, Tensor rhs) {
  if (usable({lhs, rhs}) && isa<FloatType>(lhs.elementType())) {
    fail("or: needs integer or boolean tensors");
    return {};
  }
  return binary<OrOp>("or", lhs, rhs);
}
Tensor GraphBuilder::bitXor(Tensor lhs, Tensor rhs) {
  if (usable({lhs, rhs}) && isa<FloatType>(lhs.elementType())) {
    fail("xor: needs integer or boolean tensors");
    return {};
  }
  return binary<XorOp>("xor", lhs, rhs);
}
Tensor GraphBuilder::exp(Tensor operand) {
  if (!usable({operand}))
    return {};
  if (!isa<FloatType>(operand.elementType())) {
    fail("exp: needs a floating-point tensor");
    return {};
  }
  return Tensor(builder.createOrFold<ExpOp>(location, operand.value()));
}

Tensor GraphBuilder::neg(Tensor operand) {
  if (!usable({operand}))
    return {};
  return Tensor(builder.createOrFold<NegOp>(location, operand.value()));
}

//===----------------------------------------------------------------------===//
// Shapes
//===----------------------------------------------------------------------===//

Tensor GraphBuilder::broadcastTo(Tensor operand, llvm::ArrayRef<int64_t> shape) {
  if (!usable({operand}))
    return {};
  if (operand.shape() == shape)
    return operand;
  if (!checkSize("broadcast", shape))
    return {};
  int64_t rank = static_cast<int64_t>(shape.size());
  int64_t offset = rank - operand.rank();
  bool compatible = offset >= 0;
  SmallVector<int64_t> dims;
  for (int64_t i = 0; compatible && i < operand.rank(); ++i) {
    int64_t from = operand.shape()[i];
    compatible = from == 1 || from == shape[offset + i];
    dims.push_back(offset + i);
  }
  if (!compatible) {
    fail("broadcast: " + formatShape(operand.shape()) +
         " does not broadcast to " + formatShape(shape));
    return {};
  }
  auto type = RankedTensorType::get(shape, operand.elementType());
  return Tensor(builder.createOrFold<BroadcastOp>(location, type, operand.value(),
                                    builder.getDenseI64ArrayAttr(dims)));
}

Tensor GraphBuilder::reshape(Tensor operand, llvm::ArrayRef<int64_t> shape) {
  if (!usable({operand}))
    return {};
  SmallVector<int64_t> target(shape);
  int64_t known = 1;
  int64_t inferred = -1;
  for (auto [i, dim] : llvm::enumerate(target)) {
    if (dim == -1 && inferred == -1) {
      inferred = i;
    } else if (dim < 0) {
      fail("reshape: target shape [" + formatShape(shape) +
           "] may hold one -1 and no other negative size");
      return {};
    } else if (__builtin_mul_overflow(known, dim, &known)) {
      fail("reshape: target shape [" + formatShape(shape) + "] is too large");
      return {};
    }
  }
  int64_t count = operand.numElements();
  if (inferred >= 0) {
    if (known == 0 || count % known != 0) {
      fail("reshape: cannot infer the -1 in [" + formatShape(shape) +
           "] for " + std::to_string(count) + " elements");
      return {};
    }
    target[inferred] = count / known;
    known *= target[inferred];
  }
  if (known != count) {
    fail("reshape: cannot reshape " + formatShape(operand.shape()) + " (" +
         std::to_string(count) + " elements) to " + formatShape(target));
    return {};
  }
  if (operand.shape() == ArrayRef<int64_t>(target))
    return operand;
  auto type = RankedTensorType::get(target, operand.elementType());
  return Tensor(builder.createOrFold<ReshapeOp>(location, type, operand.value()));
}

Tensor GraphBuilder::transpose(Tensor operand, llvm::ArrayRef<int64_t> perm) {
  if (!usable({operand}))
    return {};
  SmallVector<bool> seen(operand.rank(), false);
  bool valid = static_cast<int64_t>(perm.size()) == operand.rank();
  for (int64_t p : perm) {
    valid = valid && p >= 0 && p < operand.rank() && !seen[p];
    if (valid)
      seen[p] = true;
  }
  if (!valid) {
    std::string text;
    llvm::raw_string_ostream os(text);
    llvm::interleaveComma(perm, os);
    fail("transpose: [" + text + "] is not a permutation of " +
         std::to_string(operand.rank()) + " dimensions");
    return {};
  }
  return Tensor(builder.createOrFold<TransposeOp>(location, operand.value(),
                                    builder.getDenseI64ArrayAttr(perm)));
}

//===----------------------------------------------------------------------===//
// Reductions and products
//===----------------------------------------------------------------------===//

std::optional<SmallVector<int64_t>>
GraphBuilder::normalizeDims(llvm::StringRef op, llvm::ArrayRef<int64_t> dims,
                            int64_t rank) {
  SmallVector<int64_t> normalized;
  for (int64_t dim : dims) {
    int64_t d = dim < 0 ? dim + rank : dim;
    if (d < 0 || d >= rank) {
      fail(op + ": dimension " + std::to_string(dim) +
           " is out of range for rank " + std::to_string(rank));
      return std::nullopt;
    }
    normalized.push_back(d);
  }
  llvm::sort(normalized);
  if (std::adjacent_find(normalized.begin(), normalized.end()) !=
      normalized.end()) {
    fail(op + ": a dimension is listed twice");
    return std::nullopt;
  }
  return normalized;
}

Tensor GraphBuilder::reduce(ReduceKind kind, Tensor operand,
                            llvm::ArrayRef<int64_t> dims, bool keepDims) {
  if (!usable({operand}))
    return {};
  auto normalized = normalizeDims("reduce", dims, operand.rank());
  if (!normalized)
    return {};
  Tensor reduced(builder.createOrFold<ReduceOp>(
      location, kind, operand.value(), builder.getDenseI64ArrayAttr(*normalized)));
  if (!keepDims)
    return reduced;
  SmallVector<int64_t> kept(operand.shape());
  for (int64_t d : *normalized)
    kept[d] = 1;
  return reshape(reduced, kept);
}

Tensor GraphBuilder::reduceMean(Tensor operand, llvm::ArrayRef<int64_t> dims,
                                bool keepDims) {
  Tensor sum = reduceSum(operand, dims, keepDims);
  if (!sum)
    return {};
  int64_t count = operand.numElements() / sum.numElements();
  return div(sum, scalar(static_cast<double>(count), operand.elementType()));
}

Tensor GraphBuilder::matmul(Tensor lhs, Tensor rhs) {
  if (!usable({lhs, rhs}))
    return {};
  if (lhs.rank() == 0 || rhs.rank() == 0) {
    fail("matmul: operands must have at least one dimension");
    return {};
  }
  if (lhs.elementType() != rhs.elementType()) {
    fail("matmul: operands have different element types");
    return {};
  }
  bool lhsVector = lhs.rank() == 1, rhsVector = rhs.rank() == 1;
  if (lhsVector)
    lhs = reshape(lhs, {1, lhs.shape()[0]});
  if (rhsVector)
    rhs = reshape(rhs, {rhs.shape()[0], 1});
  if (!lhs || !rhs)
    return {};
  int64_t k = lhs.shape().back();
  if (rhs.shape()[rhs.rank() - 2] != k) {
    fail("matmul: cannot multiply " + formatShape(lhs.shape()) + " by " +
         formatShape(rhs.shape()) + " (inner dimensions " + std::to_string(k) +
         " and " + std::to_string(rhs.shape()[rhs.rank() - 2]) + " differ)");
    return {};
  }
  auto batch = broadcastShape("matmul", lhs.shape().drop_back(2),
                              rhs.shape().drop_back(2));
  if (!batch)
    return {};
  SmallVector<int64_t> lhsShape(*batch), rhsShape(*batch);
  lhsShape.append({lhs.shape()[lhs.rank() - 2], k});
  rhsShape.append({k, rhs.shape().back()});
  lhs = broadcastTo(lhs, lhsShape);
  rhs = broadcastTo(rhs, rhsShape);
  Tensor product(builder.createOrFold<DotOp>(location, lhs.value(), rhs.value()));
  if (!lhsVector && !rhsVector)
    return product;
  SmallVector<int64_t> shape(*batch);
  if (!lhsVector)
    shape.push_back(lhsShape[lhsShape.size() - 2]);
  if (!rhsVector)
    shape.push_back(rhsShape.back());
  return reshape(product, shape);
}

//===----------------------------------------------------------------------===//
// Gradients
//===----------------------------------------------------------------------===//

std::vector<Tensor> GraphBuilder::inlineFunction(func::FuncOp callee,
                                                 llvm::ArrayRef<Tensor> arguments) {
  if (failed())
    return {};
  if (!callee || !callee.getBody().hasOneBlock()) {
    fail("inline: the function has no body of one block");
    return {};
  }
  Block &body = callee.getBody().front();
  if (body.getNumArguments() != arguments.size()) {
    fail("inline: " + callee.getName() + " takes " + llvm::Twine(body.getNumArguments()) +
         " arguments, not " + llvm::Twine(arguments.size()));
    return {};
  }
  IRMapping mapping;
  for (auto [argument, tensor] : llvm::zip(body.getArguments(), arguments)) {
    if (!usable({tensor}))
      return {};
    if (argument.getType() != tensor.value().getType()) {
      fail("inline: an argument of " + callee.getName() + " has another type");
      return {};
    }
    mapping.map(argument, tensor.value());
  }
  std::vector<Tensor> results;
  for (Operation &op : body) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      for (Value value : ret.getOperands())
        results.emplace_back(mapping.lookup(value));
      return results;
    }
    builder.clone(op, mapping);
  }
  fail("inline: " + callee.getName() + " does not end in a return");
  return {};
}

std::vector<Tensor> GraphBuilder::gradients(Tensor y, llvm::ArrayRef<Tensor> xs) {
  std::vector<Tensor> result(xs.size());
  if (!usable({y}) || llvm::any_of(xs, [](Tensor x) { return !x.valid(); }))
    return result;
  for (Tensor t : llvm::concat<const Tensor>(llvm::ArrayRef(y), xs))
    if (!isa<FloatType>(t.elementType())) {
      std::string type;
      llvm::raw_string_ostream(type) << t.elementType();
      fail("gradients: only float tensors are differentiated, not " + type);
      return result;
    }
  Value seed = ConstantOp::create(
      builder, location,
      DenseElementsAttr::get(y.type(), builder.getFloatAttr(y.elementType(), 1.0)));
  SmallVector<Value> values;
  for (Tensor x : xs)
    values.push_back(x.value());
  std::string message;
  ScopedDiagnosticHandler handler(&context(), [&](Diagnostic &diagnostic) {
    if (message.empty())
      message = describeLocation(diagnostic.getLocation()) + ": " + diagnostic.str();
    return success();
  });
  FailureOr<SmallVector<Value>> gradients = buildGradients(builder, y.value(), seed, values);
  if (mlir::failed(gradients)) {
    fail("gradients: " + message);
    return result;
  }
  for (auto [i, gradient] : llvm::enumerate(*gradients))
    result[i] = Tensor(gradient);
  return result;
}
