//===- Layers.cpp - composite layers of GraphBuilder ------------*- C++ -*-===//
//
// Layers that frameworks treat as single ops, written as dlc primitives so
// that fusion, autodiff and both code generators see only primitives.
//
//===----------------------------------------------------------------------===//

#include "frontend/builder/GraphBuilder.h"

#include <cmath>

using namespace mlir;
using namespace dlc;

Tensor GraphBuilder::relu(Tensor operand) {
  if (!usable({operand}))
    return {};
  return max(operand, scalar(0.0, operand.elementType()));
}

Tensor GraphBuilder::linear(Tensor x, Tensor weight, Tensor bias) {
  Tensor y = matmul(x, weight);
  return bias.valid() ? add(y, bias) : y;
}

Tensor GraphBuilder::sigmoid(Tensor x) {
  if (!usable({x}))
    return {};
  Tensor one = scalar(1.0, x.elementType());
  return div(one, add(one, exp(neg(x))));
}

Tensor GraphBuilder::gelu(Tensor x, bool tanhApproximation) {
  if (!usable({x}))
    return {};
  Type t = x.elementType();
  Tensor half = mul(scalar(0.5, t), x);
  Tensor one = scalar(1.0, t);
  if (tanhApproximation) {
    Tensor cube = mul(mul(x, x), x);
    Tensor inner = mul(scalar(std::sqrt(2.0 / M_PI), t),
                       add(x, mul(scalar(0.044715, t), cube)));
    return mul(half, add(one, math(MathFn::tanh, inner)));
  }
  return mul(half, add(one, math(MathFn::erf, mul(x, scalar(M_SQRT1_2, t)))));
}

Tensor GraphBuilder::softmax(Tensor x, int64_t axis) {
  Tensor shifted = sub(x, reduceMax(x, {axis}, true));
  Tensor e = exp(shifted);
  return div(e, reduceSum(e, {axis}, true));
}

Tensor GraphBuilder::logSoftmax(Tensor x, int64_t axis) {
  Tensor shifted = sub(x, reduceMax(x, {axis}, true));
  return sub(shifted, math(MathFn::log, reduceSum(exp(shifted), {axis}, true)));
}

Tensor GraphBuilder::layerNorm(Tensor x, Tensor scale, Tensor bias,
                               int64_t axis, double epsilon) {
  if (!usable({x}))
    return {};
  if (axis < 0)
    axis += x.rank();
  SmallVector<int64_t> dims;
  for (int64_t d = axis; d < x.rank(); ++d)
    dims.push_back(d);
  Tensor centered = sub(x, reduceMean(x, dims, true));
  Tensor variance = reduceMean(mul(centered, centered), dims, true);
  Tensor y = div(centered, math(MathFn::sqrt, add(variance, scalar(epsilon, x.elementType()))));
  if (scale.valid())
    y = mul(y, scale);
  if (bias.valid())
    y = add(y, bias);
  return y;
}

Tensor GraphBuilder::batchNorm(Tensor x, Tensor scale, Tensor bias, Tensor mean,
                               Tensor variance, double epsilon) {
  if (!usable({x, scale, bias, mean, variance}))
    return {};
  if (x.rank() < 2) {
    fail("batch_norm: needs at least [N, C]");
    return {};
  }
  SmallVector<int64_t> channelShape(x.rank(), 1);
  channelShape[1] = x.shape()[1];
  auto perChannel = [&](Tensor t) { return reshape(t, channelShape); };
  Tensor inverse = div(perChannel(scale),
                       math(MathFn::sqrt, add(perChannel(variance),
                                              scalar(epsilon, x.elementType()))));
  return add(mul(sub(x, perChannel(mean)), inverse), perChannel(bias));
}

Tensor GraphBuilder::conv2d(Tensor input, Tensor filter, Tensor bias,
                            int64_t stride, int64_t padding) {
  ConvOptions options;
  options.strides = {stride, stride};
  options.padLow = {padding, padding};
  options.padHigh = {padding, padding};
  return conv(input, filter, bias, options);
}

Tensor GraphBuilder::attention(Tensor q, Tensor k, Tensor v, Tensor mask) {
  if (!usable({q, k, v}))
    return {};
  if (q.rank() < 2 || k.rank() != q.rank()) {
    fail("attention: q and k need the same rank, at least 2");
    return {};
  }
  SmallVector<int64_t> perm;
  for (int64_t d = 0; d < k.rank(); ++d)
    perm.push_back(d);
  std::swap(perm[k.rank() - 1], perm[k.rank() - 2]);
  double scale = 1.0 / std::sqrt(static_cast<double>(q.shape().back()));
  Tensor scores = mul(matmul(q, transpose(k, perm)), scalar(scale, q.elementType()));
  if (mask.valid())
    scores = add(scores, mask);
  return matmul(softmax(scores, -1), v);
}

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

Tensor GraphBuilder::meanOfAll(Tensor value) {
  if (!usable({value}))
    return {};
  SmallVector<int64_t> all;
  for (int64_t d = 0; d < value.rank(); ++d)
    all.push_back(d);
  return reduceMean(value, all, /*keepDims=*/false);
}

Tensor GraphBuilder::meanOver(Tensor value, LossReduction reduction) {
  if (reduction == LossReduction::mean || !usable({value}))
    return meanOfAll(value);
  if (value.rank() == 0) {
    fail("a per-sample loss needs a batch dimension");
    return {};
  }
  SmallVector<int64_t> rest;
  for (int64_t d = 1; d < value.rank(); ++d)
    rest.push_back(d);
  return rest.empty() ? value : reduceMean(value, rest, /*keepDims=*/false);
}

Tensor GraphBuilder::mseLoss(Tensor prediction, Tensor target, LossReduction reduction) {
  Tensor difference = sub(prediction, target);
  return meanOver(mul(difference, difference), reduction);
}

Tensor GraphBuilder::l1Loss(Tensor prediction, Tensor target, LossReduction reduction) {
  return meanOver(abs(sub(prediction, target)), reduction);
}

Tensor GraphBuilder::softmaxCrossEntropy(Tensor logits, Tensor labels, double labelSmoothing,
                                         LossReduction reduction) {
  if (!usable({logits, labels}))
    return {};
  if (logits.rank() != 2 || !isa<FloatType>(logits.elementType())) {
    fail("softmax cross-entropy: logits must be float [N, C]");
    return {};
  }
  if (labelSmoothing < 0 || labelSmoothing > 1) {
    fail("softmax cross-entropy: label smoothing must be in [0, 1]");
    return {};
  }
  int64_t n = logits.shape()[0], classes = logits.shape()[1];
  Type type = logits.elementType();
  Tensor target = labels;
  if (isa<IntegerType>(labels.elementType())) {
    if (labels.rank() != 1 || labels.shape()[0] != n) {
      fail("softmax cross-entropy: class indices must be [N] = [" + std::to_string(n) + "]");
      return {};
    }
    // One-hot: class c of row i is 1 where c equals the row's label.
    Tensor classIds = iota({n, classes}, 1, labels.elementType());
    Tensor rowLabels = reshape(labels, {n, 1});
    target = convert(compare(CompareDirection::eq, classIds, rowLabels), type);
  } else if (labels.shape() != logits.shape()) {
    fail("softmax cross-entropy: probabilities must have the logits' shape");
    return {};
  }
  if (labelSmoothing > 0)
    target = add(mul(target, scalar(1 - labelSmoothing, type)),
                 scalar(labelSmoothing / double(classes), type));
  Tensor perRow = reduceSum(mul(target, logSoftmax(logits, 1)), {1}, /*keepDims=*/false);
  return neg(meanOver(perRow, reduction));
}

Tensor GraphBuilder::binaryCrossEntropyWithLogits(Tensor logits, Tensor targets,
                                                  LossReduction reduction) {
  if (!usable({logits, targets}))
    return {};
  Type type = logits.elementType();
  Tensor zero = scalar(0, type), one = scalar(1, type);
  Tensor softplus = math(MathFn::log, add(one, exp(neg(abs(logits)))));
  return meanOver(add(sub(max(logits, zero), mul(logits, targets)), softplus), reduction);
}

//===----------------------------------------------------------------------===//
// Optimizer steps
//===----------------------------------------------------------------------===//

std::pair<Tensor, Tensor> GraphBuilder::sgdStep(Tensor param, Tensor gradient, Tensor velocity,
                                                const SgdOptions &options) {
  if (!usable({param, gradient}) || (options.momentum != 0 && !usable({velocity})))
    return {};
  Type type = param.elementType();
  Tensor g = gradient;
  if (options.weightDecay != 0)
    g = add(g, mul(scalar(options.weightDecay, type), param));
  Tensor newVelocity;
  Tensor direction = g;
  if (options.momentum != 0) {
    newVelocity = add(mul(scalar(options.momentum, type), velocity), g);
    direction = options.nesterov ? add(g, mul(scalar(options.momentum, type), newVelocity))
                                 : newVelocity;
  }
  Tensor lr = learningRate(options.learningRate, options.scheduledRate, type);
  return {sub(param, mul(lr, direction)), newVelocity};
}

std::tuple<Tensor, Tensor, Tensor> GraphBuilder::adamStep(Tensor param, Tensor gradient,
                                                          Tensor m, Tensor v, Tensor step,
                                                          const AdamOptions &options) {
  if (!usable({param, gradient, m, v, step}))
    return {};
  Type type = param.elementType();
  auto c = [&](double value) { return scalar(value, type); };
  Tensor lr = learningRate(options.learningRate, options.scheduledRate, type);
  Tensor g = gradient, decayed = param;
  if (options.weightDecay != 0) {
    if (options.decoupled)
      decayed = mul(param, sub(c(1), mul(lr, c(options.weightDecay))));
    else
      g = add(g, mul(c(options.weightDecay), param));
  }
  Tensor newM = add(mul(c(options.beta1), m), mul(c(1 - options.beta1), g));
  Tensor newV = add(mul(c(options.beta2), v), mul(c(1 - options.beta2), mul(g, g)));
  Tensor t = convert(step, type);
  Tensor mHat = div(newM, sub(c(1), pow(c(options.beta1), t)));
  Tensor vHat = div(newV, sub(c(1), pow(c(options.beta2), t)));
  Tensor update = div(mHat, add(math(MathFn::sqrt, vHat), c(options.epsilon)));
  return {sub(decayed, mul(lr, update)), newM, newV};
}

std::pair<Tensor, Tensor> GraphBuilder::adagradStep(Tensor param, Tensor gradient,
                                                    Tensor sumOfSquares,
                                                    const AdagradOptions &options) {
  if (!usable({param, gradient, sumOfSquares}))
    return {};
  Type type = param.elementType();
  Tensor g = gradient;
  if (options.weightDecay != 0)
    g = add(g, mul(scalar(options.weightDecay, type), param));
  Tensor newSum = add(sumOfSquares, mul(g, g));
  Tensor lr = learningRate(options.learningRate, options.scheduledRate, type);
  Tensor update = div(g, add(math(MathFn::sqrt, newSum), scalar(options.epsilon, type)));
  return {sub(param, mul(lr, update)), newSum};
}

std::pair<Tensor, Tensor> GraphBuilder::rmspropStep(Tensor param, Tensor gradient,
                                                    Tensor meanSquare,
                                                    const RmsPropOptions &options) {
  if (!usable({param, gradient, meanSquare}))
    return {};
  Type type = param.elementType();
  auto c = [&](double value) { return scalar(value, type); };
  Tensor g = gradient;
  if (options.weightDecay != 0)
    g = add(g, mul(c(options.weightDecay), param));
  Tensor newMean = add(mul(c(options.alpha), meanSquare), mul(c(1 - options.alpha), mul(g, g)));
  Tensor lr = learningRate(options.learningRate, options.scheduledRate, type);
  Tensor update = div(g, add(math(MathFn::sqrt, newMean), c(options.epsilon)));
  return {sub(param, mul(lr, update)), newMean};
}

Tensor GraphBuilder::learningRate(double fixed, Tensor scheduled, Type type) {
  if (!scheduled.valid())
    return scalar(fixed, type);
  if (scheduled.rank() != 0 || !isa<FloatType>(scheduled.elementType())) {
    fail("an optimizer's scheduled learning rate must be a 0-d float tensor");
    return {};
  }
  return scheduled.elementType() == type ? scheduled : convert(scheduled, type);
}
