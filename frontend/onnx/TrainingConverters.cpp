//===- TrainingConverters.cpp - ONNX training optimizer ops -----*- C++ -*-===//
//
// The optimizer update ops of the ai.onnx.preview.training domain
// (Adagrad, Momentum, Adam), each one step for any number of tensors, as
// elementwise dlc ops. The formulas are the ONNX specification's.
//
//===----------------------------------------------------------------------===//

#include "frontend/onnx/NodeImporter.h"

using namespace dlc;
using namespace dlc::onnx_import;
using MathFn = GraphBuilder::MathFn;

namespace {

/// The inputs every optimizer op takes first: the learning rate R and the
/// step count T (scalars), then `groups` runs of n tensors each (X, G, and
/// the optimizer's state). Fails unless the runs have one length.
struct OptimizerInputs {
  Tensor rate, step;
  int64_t count = 0; ///< n, the tensors updated
  /// The i-th tensor of run `group` (0: X, 1: G, ...).
  Tensor at(NodeImporter &n, int64_t group, int64_t i) const {
    return n.required(2 + group * count + i);
  }
};

std::optional<OptimizerInputs> optimizerInputs(NodeImporter &n, int64_t groups) {
  int64_t tensors = int64_t(n.numInputs()) - 2;
  if (tensors <= 0 || tensors % groups != 0) {
    n.fail("takes R, T and " + llvm::Twine(groups) + " runs of tensors of one length; got " +
           llvm::Twine(n.numInputs()) + " inputs");
    return std::nullopt;
  }
  OptimizerInputs inputs{n.required(0), n.required(1), tensors / groups};
  if (!inputs.rate || !inputs.step)
    return std::nullopt;
  return inputs;
}

/// `value` as a scalar of `like`'s element type.
Tensor scalarOf(NodeImporter &n, double value, Tensor like) {
  return n.g.scalar(value, like.elementType());
}

/// The step count T > 0.
Tensor afterFirstStep(NodeImporter &n, Tensor step) {
  return n.g.compare(CompareDirection::gt, step, n.g.scalar(0, step.elementType()));
}

/// norm_coefficient · X + G: the gradient with L2 regularization.
Tensor regularized(NodeImporter &n, Tensor x, Tensor g, float normCoefficient) {
  return n.g.add(n.g.mul(scalarOf(n, normCoefficient, x), x), g);
}

} // namespace

void onnx_import::registerTrainingConverters(ConverterTable &t) {
  // X_new = X - R / (1 + T · decay) · G' / (sqrt(H_new) + ε), H_new = H + G'²
  t["Adagrad"] = [](NodeImporter &n) {
    std::optional<OptimizerInputs> in = optimizerInputs(n, 3);
    if (!in)
      return;
    float decay = n.floatAttr("decay_factor", 0), epsilon = n.floatAttr("epsilon", 1e-6f);
    float normCoefficient = n.floatAttr("norm_coefficient", 0);
    for (int64_t i = 0; i < in->count; ++i) {
      Tensor x = in->at(n, 0, i), g = in->at(n, 1, i), h = in->at(n, 2, i);
      if (!x || !g || !h)
        return;
      Tensor rate = n.g.convert(in->rate, x.elementType());
      Tensor step = n.g.convert(in->step, x.elementType());
      Tensor decayed = n.g.div(rate, n.g.add(scalarOf(n, 1, x),
                                             n.g.mul(step, scalarOf(n, decay, x))));
      Tensor gradient = regularized(n, x, g, normCoefficient);
      Tensor hNew = n.g.add(h, n.g.mul(gradient, gradient));
      Tensor denominator = n.g.add(n.g.math(MathFn::sqrt, hNew), scalarOf(n, epsilon, x));
      n.setOutput(i, n.g.sub(x, n.g.div(n.g.mul(decayed, gradient), denominator)));
      n.setOutput(in->count + i, hNew);
    }
  };
  // V_new = α · V + β' · G' (β' = 1 on the first step), then
  // X_new = X - R · V_new, or X - R · (G' + α · V_new) for Nesterov.
  t["Momentum"] = [](NodeImporter &n) {
    std::optional<OptimizerInputs> in = optimizerInputs(n, 3);
    if (!in)
      return;
    for (const char *name : {"alpha", "beta", "mode", "norm_coefficient"})
      if (!n.hasAttr(name)) {
        n.fail("needs attribute '" + llvm::Twine(name) + "'");
        return;
      }
    float alpha = n.floatAttr("alpha", 0), beta = n.floatAttr("beta", 0);
    float normCoefficient = n.floatAttr("norm_coefficient", 0);
    std::string mode = n.stringAttr("mode", "standard");
    if (mode != "standard" && mode != "nesterov") {
      n.fail("mode must be 'standard' or 'nesterov', not '" + llvm::Twine(mode) + "'");
      return;
    }
    for (int64_t i = 0; i < in->count; ++i) {
      Tensor x = in->at(n, 0, i), g = in->at(n, 1, i), v = in->at(n, 2, i);
      if (!x || !g || !v)
        return;
      Tensor rate = n.g.convert(in->rate, x.elementType());
      Tensor betaNow = n.g.select(afterFirstStep(n, in->step), scalarOf(n, beta, x),
                                  scalarOf(n, 1, x));
      Tensor gradient = regularized(n, x, g, normCoefficient);
      Tensor vNew = n.g.add(n.g.mul(scalarOf(n, alpha, x), v), n.g.mul(betaNow, gradient));
      Tensor direction =
          mode == "nesterov" ? n.g.add(gradient, n.g.mul(scalarOf(n, alpha, x), vNew)) : vNew;
      n.setOutput(i, n.g.sub(x, n.g.mul(rate, direction)));
      n.setOutput(in->count + i, vNew);
    }
  };
  // V_new = α · V + (1 - α) · G', H_new = β · H + (1 - β) · G'²,
  // R' = R · sqrt(1 - β^T) / (1 - α^T) after the first step (R before it),
  // X_new = (1 - norm_coefficient_post) · (X - R' · V_new / (sqrt(H_new) + ε)).
  t["Adam"] = [](NodeImporter &n) {
    std::optional<OptimizerInputs> in = optimizerInputs(n, 4);
    if (!in)
      return;
    float alpha = n.floatAttr("alpha", 0.9f), beta = n.floatAttr("beta", 0.999f);
    float epsilon = n.floatAttr("epsilon", 1e-6f);
    float normCoefficient = n.floatAttr("norm_coefficient", 0);
    float normCoefficientPost = n.floatAttr("norm_coefficient_post", 0);
    for (int64_t i = 0; i < in->count; ++i) {
      Tensor x = in->at(n, 0, i), g = in->at(n, 1, i), v = in->at(n, 2, i),
             h = in->at(n, 3, i);
      if (!x || !g || !v || !h)
        return;
      auto c = [&](double value) { return scalarOf(n, value, x); };
      Tensor rate = n.g.convert(in->rate, x.elementType());
      Tensor step = n.g.convert(in->step, x.elementType());
      Tensor gradient = regularized(n, x, g, normCoefficient);
      Tensor vNew = n.g.add(n.g.mul(c(alpha), v), n.g.mul(c(1.0 - alpha), gradient));
      Tensor hNew = n.g.add(n.g.mul(c(beta), h),
                            n.g.mul(c(1.0 - beta), n.g.mul(gradient, gradient)));
      Tensor denominator = n.g.add(n.g.math(MathFn::sqrt, hNew), c(epsilon));
      Tensor corrected = n.g.div(
          n.g.mul(rate, n.g.math(MathFn::sqrt, n.g.sub(c(1), n.g.pow(c(beta), step)))),
          n.g.sub(c(1), n.g.pow(c(alpha), step)));
      Tensor adjusted = n.g.select(afterFirstStep(n, in->step), corrected, rate);
      Tensor xNew = n.g.sub(x, n.g.mul(adjusted, n.g.div(vNew, denominator)));
      n.setOutput(i, n.g.mul(c(1.0 - normCoefficientPost), xNew));
      n.setOutput(in->count + i, vNew);
      n.setOutput(2 * in->count + i, hNew);
    }
  };
  // The gradient of the sum of y's elements with respect to each of xs:
  // the node's inputs are xs' values (then zs', which only feed y).
  t["Gradient"] = [](NodeImporter &n) {
    const onnx::AttributeProto *xsAttr = n.attr("xs"), *yAttr = n.attr("y");
    if (!xsAttr || !yAttr) {
      n.fail("needs attributes 'xs' and 'y'");
      return;
    }
    int64_t count = xsAttr->strings_size();
    if (count == 0 || int64_t(n.numInputs()) < count || int64_t(n.numOutputs()) != count) {
      n.fail("takes the " + llvm::Twine(count) + " tensors of 'xs' as its first inputs and "
             "gives one gradient for each; got " + llvm::Twine(n.numInputs()) +
             " inputs and " + llvm::Twine(n.numOutputs()) + " outputs");
      return;
    }
    Tensor y = n.valueNamed(yAttr->s());
    if (!y) {
      n.fail("y '" + llvm::Twine(yAttr->s()) + "' is not produced by an earlier node");
      return;
    }
    std::vector<Tensor> xs;
    for (int64_t i = 0; i < count; ++i)
      xs.push_back(n.required(i));
    std::vector<Tensor> gradients = n.g.gradients(y, xs);
    for (int64_t i = 0; i < count; ++i)
      n.setOutput(i, gradients[i]);
  };
}
