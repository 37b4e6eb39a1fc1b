//===- ElementwiseConverters.cpp - ONNX elementwise ops ---------*- C++ -*-===//
//
// Arithmetic, logic, comparisons, activations and casts. ONNX broadcasts
// NumPy style; GraphBuilder does the same, so most converters are one call.
//
//===----------------------------------------------------------------------===//

#include "frontend/onnx/NodeImporter.h"

#include <limits>

using namespace dlc;
using namespace dlc::onnx_import;
using MathFn = GraphBuilder::MathFn;

namespace {

Tensor scalarLike(NodeImporter &n, double value, Tensor like) {
  return n.g.scalar(value, like.elementType());
}

/// Registers an op computed by one builder call on its inputs.
void addBinary(ConverterTable &t, llvm::StringRef op,
               Tensor (GraphBuilder::*fn)(Tensor, Tensor)) {
  t[op] = [fn](NodeImporter &n) {
    n.setOutput(0, (n.g.*fn)(n.required(0), n.required(1)));
  };
}

void addMath(ConverterTable &t, llvm::StringRef op, MathFn fn) {
  t[op] = [fn](NodeImporter &n) { n.setOutput(0, n.g.math(fn, n.required(0))); };
}

void addCompare(ConverterTable &t, llvm::StringRef op, CompareDirection d) {
  t[op] = [d](NodeImporter &n) {
    n.setOutput(0, n.g.compare(d, n.required(0), n.required(1)));
  };
}

/// Max, Min, Sum, Mean: any number of inputs, broadcast together.
void addVariadic(ConverterTable &t, llvm::StringRef op,
                 Tensor (GraphBuilder::*fn)(Tensor, Tensor), bool mean) {
  t[op] = [fn, mean](NodeImporter &n) {
    Tensor result = n.required(0);
    for (size_t i = 1; i < n.numInputs(); ++i)
      result = (n.g.*fn)(result, n.required(i));
    if (mean && result)
      result = n.g.div(result, scalarLike(n, double(n.numInputs()), result));
    n.setOutput(0, result);
  };
}

/// x < 0 ? negative(x) : x, the shape of ELU-like activations.
Tensor whereNegative(NodeImporter &n, Tensor x, Tensor negative) {
  Tensor zero = scalarLike(n, 0, x);
  return n.g.select(n.g.compare(CompareDirection::lt, x, zero), negative, x);
}

Tensor softplus(GraphBuilder &g, Tensor x) {
  // log(1 + exp(x)) = max(x, 0) + log(1 + exp(-|x|)), stable for large |x|.
  Tensor one = g.scalar(1.0, x.elementType());
  return g.add(g.relu(x), g.math(MathFn::log, g.add(one, g.exp(g.neg(g.abs(x))))));
}

void convertCast(NodeImporter &n, mlir::Type to) {
  if (!to)
    return void(n.fail("the target type is not supported (strings and "
                       "8-bit floats are not)"));
  n.setOutput(0, n.g.convert(n.required(0), to));
}

void convertClip(NodeImporter &n) {
  Tensor x = n.required(0);
  if (!x)
    return;
  Tensor low, high;
  if (n.opset < 11) {
    double lowest = -std::numeric_limits<float>::infinity();
    low = scalarLike(n, n.floatAttr("min", lowest), x);
    high = scalarLike(n, n.floatAttr("max", -lowest), x);
  } else {
    low = n.input(1);
    high = n.input(2);
  }
  if (low.valid())
    x = n.g.max(x, n.g.reshape(low, {}));
  if (high.valid())
    x = n.g.min(x, n.g.reshape(high, {}));
  n.setOutput(0, x);
}

void convertDropout(NodeImporter &n) {
  Tensor x = n.required(0);
  bool training = false;
  if (n.opset >= 12 && n.hasInput(2)) {
    auto mode = n.constantInts(2, "training_mode");
    if (!mode)
      return;
    training = !mode->empty() && mode->front() != 0;
  } else if (n.opset < 7) {
    training = n.intAttr("is_test", 0) == 0;
  }
  double ratio = n.opset >= 12 ? 0.5 : n.floatAttr("ratio", 0.5);
  if (n.opset >= 12 && n.hasInput(1)) {
    auto r = n.constantFloats(1, "ratio");
    if (!r)
      return;
    ratio = r->empty() ? 0.5 : r->front();
  }
  if (n.mode == OnnxImportMode::training && x) {
    // Active in every training step, whatever the node says: each element
    // kept with probability 1 - ratio and scaled by 1 / (1 - ratio).
    if (ratio < 0 || ratio >= 1)
      return void(n.fail("the ratio must be in [0, 1)"));
    Tensor keep = n.g.compare(CompareDirection::ge, n.randomUniform(x.shape()),
                              n.g.scalar(ratio));
    Tensor scaled = n.g.mul(x, n.g.scalar(1 / (1 - ratio), x.elementType()));
    n.setOutput(0, n.g.select(keep, scaled, n.g.scalar(0, x.elementType())));
    n.setOutput(1, keep);
    return;
  }
  if (n.mode == OnnxImportMode::inference && training && ratio > 0)
    return void(n.fail("Dropout in training mode is compiled by `dlc train`, "
                       "not at import"));
  n.setOutput(0, x);
  if (n.wantsOutput(1) && x) {
    HostTensor ones(DType::i1, x.shape());
    std::memset(ones.data(), 1, ones.byteSize());
    n.setOutput(1, n.g.constant(ones));
  }
}

} // namespace

void onnx_import::registerElementwiseConverters(ConverterTable &t) {
  addBinary(t, "Add", &GraphBuilder::add);
  addBinary(t, "Sub", &GraphBuilder::sub);
  addBinary(t, "Mul", &GraphBuilder::mul);
  addBinary(t, "Div", &GraphBuilder::div);
  addBinary(t, "And", &GraphBuilder::bitAnd);
  addBinary(t, "Or", &GraphBuilder::bitOr);
  addBinary(t, "Xor", &GraphBuilder::bitXor);
  addBinary(t, "BitwiseAnd", &GraphBuilder::bitAnd);
  addBinary(t, "BitwiseOr", &GraphBuilder::bitOr);
  addBinary(t, "BitwiseXor", &GraphBuilder::bitXor);
  addVariadic(t, "Max", &GraphBuilder::max, false);
  addVariadic(t, "Min", &GraphBuilder::min, false);
  addVariadic(t, "Sum", &GraphBuilder::add, false);
  addVariadic(t, "Mean", &GraphBuilder::add, true);
  addCompare(t, "Equal", CompareDirection::eq);
  addCompare(t, "Less", CompareDirection::lt);
  addCompare(t, "LessOrEqual", CompareDirection::le);
  addCompare(t, "Greater", CompareDirection::gt);
  addCompare(t, "GreaterOrEqual", CompareDirection::ge);

  addMath(t, "Log", MathFn::log);
  addMath(t, "Sqrt", MathFn::sqrt);
  addMath(t, "Tanh", MathFn::tanh);
  addMath(t, "Erf", MathFn::erf);
  addMath(t, "Floor", MathFn::floor);
  addMath(t, "Ceil", MathFn::ceil);
  addMath(t, "Round", MathFn::round);
  addMath(t, "Sin", MathFn::sin);
  addMath(t, "Cos", MathFn::cos);
  addMath(t, "Tan", MathFn::tan);
  addMath(t, "Asin", MathFn::asin);
  addMath(t, "Acos", MathFn::acos);
  addMath(t, "Atan", MathFn::atan);
  addMath(t, "Sinh", MathFn::sinh);
  addMath(t, "Cosh", MathFn::cosh);
  addMath(t, "Asinh", MathFn::asinh);
  addMath(t, "Acosh", MathFn::acosh);
  addMath(t, "Atanh", MathFn::atanh);

  t["Pow"] = [](NodeImporter &n) {
    Tensor base = n.required(0), exponent = n.required(1);
    if (base && exponent)
      exponent = n.g.convert(exponent, base.elementType());
    n.setOutput(0, n.g.pow(base, exponent));
  };
  t["Mod"] = [](NodeImporter &n) {
    Tensor a = n.required(0), b = n.required(1);
    if (!a || !b)
      return;
    Tensor r = n.g.rem(a, b);
    if (n.intAttr("fmod", 0) == 0 && !mlir::isa<mlir::FloatType>(a.elementType())) {
      // Python's sign convention: the remainder takes the divisor's sign.
      Tensor zero = scalarLike(n, 0, a);
      Tensor differ = n.g.bitXor(n.g.compare(CompareDirection::lt, r, zero),
                                 n.g.compare(CompareDirection::lt, b, zero));
      Tensor fix = n.g.bitAnd(n.g.compare(CompareDirection::ne, r, zero), differ);
      r = n.g.select(fix, n.g.add(r, b), r);
    }
    n.setOutput(0, r);
  };
  t["Abs"] = [](NodeImporter &n) { n.setOutput(0, n.g.abs(n.required(0))); };
  t["Neg"] = [](NodeImporter &n) { n.setOutput(0, n.g.neg(n.required(0))); };
  t["Exp"] = [](NodeImporter &n) { n.setOutput(0, n.g.exp(n.required(0))); };
  t["Sign"] = [](NodeImporter &n) { n.setOutput(0, n.g.sign(n.required(0))); };
  t["Not"] = [](NodeImporter &n) { n.setOutput(0, n.g.bitNot(n.required(0))); };
  t["BitwiseNot"] = [](NodeImporter &n) { n.setOutput(0, n.g.bitNot(n.required(0))); };
  t["Identity"] = [](NodeImporter &n) { n.setOutput(0, n.required(0)); };
  t["Reciprocal"] = [](NodeImporter &n) {
    Tensor x = n.required(0);
    if (x)
      n.setOutput(0, n.g.div(scalarLike(n, 1, x), x));
  };
  t["Relu"] = [](NodeImporter &n) { n.setOutput(0, n.g.relu(n.required(0))); };
  t["Sigmoid"] = [](NodeImporter &n) { n.setOutput(0, n.g.sigmoid(n.required(0))); };
  t["Softplus"] = [](NodeImporter &n) {
    if (Tensor x = n.required(0))
      n.setOutput(0, softplus(n.g, x));
  };
  t["Softsign"] = [](NodeImporter &n) {
    if (Tensor x = n.required(0))
      n.setOutput(0, n.g.div(x, n.g.add(scalarLike(n, 1, x), n.g.abs(x))));
  };
  t["Mish"] = [](NodeImporter &n) {
    if (Tensor x = n.required(0))
      n.setOutput(0, n.g.mul(x, n.g.math(MathFn::tanh, softplus(n.g, x))));
  };
  t["Gelu"] = [](NodeImporter &n) {
    std::string approximate = n.stringAttr("approximate", "none");
    if (approximate != "none" && approximate != "tanh")
      return void(n.fail("approximate must be 'none' or 'tanh', got '" +
                         approximate + "'"));
    n.setOutput(0, n.g.gelu(n.required(0), approximate == "tanh"));
  };
  t["LeakyRelu"] = [](NodeImporter &n) {
    if (Tensor x = n.required(0))
      n.setOutput(0, whereNegative(n, x, n.g.mul(x, scalarLike(n, n.floatAttr("alpha", 0.01f), x))));
  };
  t["PRelu"] = [](NodeImporter &n) {
    Tensor x = n.required(0), slope = n.required(1);
    if (x && slope)
      n.setOutput(0, whereNegative(n, x, n.g.mul(x, slope)));
  };
  t["Elu"] = [](NodeImporter &n) {
    if (Tensor x = n.required(0)) {
      Tensor alpha = scalarLike(n, n.floatAttr("alpha", 1.0f), x);
      n.setOutput(0, whereNegative(n, x, n.g.mul(alpha, n.g.sub(n.g.exp(x), scalarLike(n, 1, x)))));
    }
  };
  t["Selu"] = [](NodeImporter &n) {
    if (Tensor x = n.required(0)) {
      Tensor alpha = scalarLike(n, n.floatAttr("alpha", 1.67326319217681884765625f), x);
      Tensor gamma = scalarLike(n, n.floatAttr("gamma", 1.05070102214813232421875f), x);
      Tensor negative = n.g.sub(n.g.mul(alpha, n.g.exp(x)), alpha);
      Tensor zero = scalarLike(n, 0, x);
      n.setOutput(0, n.g.mul(gamma, n.g.select(n.g.compare(CompareDirection::gt, x, zero), x, negative)));
    }
  };
  t["Celu"] = [](NodeImporter &n) {
    if (Tensor x = n.required(0)) {
      Tensor alpha = scalarLike(n, n.floatAttr("alpha", 1.0f), x);
      Tensor zero = scalarLike(n, 0, x);
      Tensor negative = n.g.mul(alpha, n.g.sub(n.g.exp(n.g.div(x, alpha)), scalarLike(n, 1, x)));
      n.setOutput(0, n.g.add(n.g.max(zero, x), n.g.min(zero, negative)));
    }
  };
  t["HardSigmoid"] = [](NodeImporter &n) {
    if (Tensor x = n.required(0)) {
      Tensor y = n.g.add(n.g.mul(x, scalarLike(n, n.floatAttr("alpha", 0.2f), x)),
                         scalarLike(n, n.floatAttr("beta", 0.5f), x));
      n.setOutput(0, n.g.max(scalarLike(n, 0, x), n.g.min(scalarLike(n, 1, x), y)));
    }
  };
  t["HardSwish"] = [](NodeImporter &n) {
    if (Tensor x = n.required(0)) {
      Tensor y = n.g.add(n.g.mul(x, scalarLike(n, 1.0 / 6, x)), scalarLike(n, 0.5, x));
      n.setOutput(0, n.g.mul(x, n.g.max(scalarLike(n, 0, x), n.g.min(scalarLike(n, 1, x), y))));
    }
  };
  t["ThresholdedRelu"] = [](NodeImporter &n) {
    if (Tensor x = n.required(0)) {
      Tensor alpha = scalarLike(n, n.floatAttr("alpha", 1.0f), x);
      n.setOutput(0, n.g.select(n.g.compare(CompareDirection::gt, x, alpha), x, scalarLike(n, 0, x)));
    }
  };
  t["Shrink"] = [](NodeImporter &n) {
    if (Tensor x = n.required(0)) {
      Tensor bias = scalarLike(n, n.floatAttr("bias", 0.0f), x);
      Tensor lambd = scalarLike(n, n.floatAttr("lambd", 0.5f), x);
      Tensor below = n.g.compare(CompareDirection::lt, x, n.g.neg(lambd));
      Tensor above = n.g.compare(CompareDirection::gt, x, lambd);
      n.setOutput(0, n.g.select(below, n.g.add(x, bias),
                                n.g.select(above, n.g.sub(x, bias), scalarLike(n, 0, x))));
    }
  };
  t["IsNaN"] = [](NodeImporter &n) {
    if (Tensor x = n.required(0))
      n.setOutput(0, n.g.compare(CompareDirection::ne, x, x));
  };
  t["IsInf"] = [](NodeImporter &n) {
    Tensor x = n.required(0);
    if (!x)
      return;
    double inf = std::numeric_limits<double>::infinity();
    Tensor positive = n.g.compare(CompareDirection::eq, x, scalarLike(n, inf, x));
    Tensor negative = n.g.compare(CompareDirection::eq, x, scalarLike(n, -inf, x));
    bool detectPositive = n.intAttr("detect_positive", 1);
    bool detectNegative = n.intAttr("detect_negative", 1);
    Tensor result = detectPositive && detectNegative ? n.g.bitOr(positive, negative)
                    : detectPositive                 ? positive
                    : detectNegative                 ? negative
                    : n.g.compare(CompareDirection::ne, x, x); // Never true but NaN.
    if (!detectPositive && !detectNegative)
      result = n.g.bitAnd(result, n.g.bitNot(result));
    n.setOutput(0, result);
  };
  t["Where"] = [](NodeImporter &n) {
    n.setOutput(0, n.g.select(n.required(0), n.required(1), n.required(2)));
  };
  t["Clip"] = convertClip;
  t["Dropout"] = convertDropout;
  t["Cast"] = [](NodeImporter &n) {
    convertCast(n, elementTypeOf(n.g.context(), n.intAttr("to", 0)));
  };
  t["CastLike"] = [](NodeImporter &n) {
    Tensor like = n.required(1);
    if (like)
      convertCast(n, like.elementType());
  };
}
