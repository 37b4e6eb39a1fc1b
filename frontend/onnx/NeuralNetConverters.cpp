//===- NeuralNetConverters.cpp - ONNX layers: conv, pool, norms -*- C++ -*-===//
//
// Convolutions, pooling, normalizations, softmax-like ops, matrix products
// and the losses. Padding arithmetic follows the ONNX operator spec.
//
//===----------------------------------------------------------------------===//

#include "frontend/onnx/NodeImporter.h"

#include <cmath>

using namespace dlc;
using namespace dlc::onnx_import;
using MathFn = GraphBuilder::MathFn;

namespace {

llvm::SmallVector<int64_t> spatialDims(int64_t rank) { return dimsFrom(2, rank); }

/// Window geometry of a conv or pool node: kernel, strides, dilations and the
/// pads auto_pad or pads give, per spatial dimension.
struct Window {
  llvm::SmallVector<int64_t> kernel, strides, dilations, padLow, padHigh;
};

std::optional<Window> windowOf(NodeImporter &n, llvm::ArrayRef<int64_t> input,
                               llvm::ArrayRef<int64_t> kernel) {
  size_t spatial = kernel.size();
  Window w;
  w.kernel.assign(kernel.begin(), kernel.end());
  w.strides = n.intsAttr("strides");
  w.dilations = n.intsAttr("dilations");
  if (w.strides.empty())
    w.strides.assign(spatial, 1);
  if (w.dilations.empty())
    w.dilations.assign(spatial, 1);
  llvm::SmallVector<int64_t> pads = n.intsAttr("pads");
  if (pads.empty())
    pads.assign(2 * spatial, 0);
  if (w.strides.size() != spatial || w.dilations.size() != spatial ||
      pads.size() != 2 * spatial) {
    n.fail("strides, dilations and pads must match the " + llvm::Twine(spatial) +
           " spatial dimensions");
    return std::nullopt;
  }
  for (size_t i = 0; i < spatial; ++i)
    if (w.strides[i] < 1 || w.dilations[i] < 1 || kernel[i] < 1) {
      n.fail("kernel sizes, strides and dilations must be positive");
      return std::nullopt;
    }
  std::string autoPad = n.stringAttr("auto_pad", "NOTSET");
  for (size_t i = 0; i < spatial; ++i) {
    int64_t low = pads[i], high = pads[i + spatial];
    if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      int64_t out = (input[i] + w.strides[i] - 1) / w.strides[i];
      int64_t total = std::max<int64_t>(
          0, (out - 1) * w.strides[i] + (kernel[i] - 1) * w.dilations[i] + 1 - input[i]);
      low = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
      high = total - low;
    } else if (autoPad == "VALID") {
      low = high = 0;
    } else if (autoPad != "NOTSET") {
      n.fail("auto_pad '" + autoPad + "' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID");
      return std::nullopt;
    }
    w.padLow.push_back(low);
    w.padHigh.push_back(high);
  }
  return w;
}

void convertConv(NodeImporter &n) {
  Tensor x = n.required(0), filter = n.required(1);
  if (!x || !filter)
    return;
  if (x.rank() < 3 || filter.rank() != x.rank())
    return void(n.fail("needs input [N, C, D...] and filter [M, C/group, K...], got " +
                       formatShape(x.shape()) + " and " + formatShape(filter.shape())));
  auto w = windowOf(n, x.shape().drop_front(2), filter.shape().drop_front(2));
  if (!w)
    return;
  GraphBuilder::ConvOptions options;
  options.strides = w->strides;
  options.dilations = w->dilations;
  options.padLow = w->padLow;
  options.padHigh = w->padHigh;
  options.groups = n.intAttr("group", 1);
  n.setOutput(0, n.g.conv(x, filter, n.input(2), options));
}

void convertConvTranspose(NodeImporter &n) {
  Tensor x = n.required(0), filter = n.required(1);
  if (!x || !filter)
    return;
  if (x.rank() < 3 || filter.rank() != x.rank())
    return void(n.fail("needs input [N, C, D...] and filter [C, M/group, K...]"));
  int64_t groups = n.intAttr("group", 1);
  int64_t spatial = x.rank() - 2;
  int64_t C = filter.shape()[0], Mg = filter.shape()[1];
  if (groups < 1 || C % groups || x.shape()[1] != C)
    return void(n.fail("filter shape " + formatShape(filter.shape()) +
                       " does not fit the input's channels with " + llvm::Twine(groups) + " groups"));
  llvm::ArrayRef<int64_t> kernel = filter.shape().drop_front(2);
  llvm::SmallVector<int64_t> strides = n.intsAttr("strides"), dilations = n.intsAttr("dilations"),
                             outputPadding = n.intsAttr("output_padding"),
                             outputShape = n.intsAttr("output_shape"), pads = n.intsAttr("pads");
  if (strides.empty()) strides.assign(spatial, 1);
  if (dilations.empty()) dilations.assign(spatial, 1);
  if (llvm::any_of(llvm::concat<int64_t>(strides, dilations), [](int64_t v) { return v < 1; }))
    return void(n.fail("strides and dilations must be positive"));
  if (outputPadding.empty()) outputPadding.assign(spatial, 0);
  if (pads.empty()) pads.assign(2 * spatial, 0);
  if (int64_t(strides.size()) != spatial || int64_t(dilations.size()) != spatial ||
      int64_t(outputPadding.size()) != spatial || int64_t(pads.size()) != 2 * spatial ||
      (!outputShape.empty() && int64_t(outputShape.size()) < spatial))
    return void(n.fail("strides, dilations, output_padding, pads and output_shape "
                       "must match the " + llvm::Twine(spatial) + " spatial dimensions"));
  std::string autoPad = n.stringAttr("auto_pad", "NOTSET");
  llvm::SmallVector<int64_t> padLow(spatial), padHigh(spatial);
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t in = x.shape()[i + 2];
    int64_t full = strides[i] * (in - 1) + outputPadding[i] + (kernel[i] - 1) * dilations[i] + 1;
    if (!outputShape.empty() || autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      int64_t target = outputShape.empty() ? in * strides[i]
                                           : outputShape[outputShape.size() - spatial + i];
      int64_t total = full - target;
      // The spec divides with Python's floor division; total may be negative.
      int64_t half = total >= 0 ? total / 2 : -((1 - total) / 2);
      bool upper = autoPad == "SAME_UPPER";
      padLow[i] = upper ? half : total - half;
      padHigh[i] = total - padLow[i];
    } else if (autoPad == "VALID") {
      padLow[i] = padHigh[i] = 0;
    } else {
      padLow[i] = pads[i];
      padHigh[i] = pads[i + spatial];
    }
  }
  // A transposed convolution is a convolution of the stride-dilated input
  // with the flipped filter, its in and out channels swapped per group.
  llvm::SmallVector<int64_t> grouped = {groups, C / groups, Mg};
  llvm::append_range(grouped, kernel);
  llvm::SmallVector<int64_t> perm = {0, 2, 1};
  for (int64_t i = 0; i < spatial; ++i)
    perm.push_back(3 + i);
  llvm::SmallVector<int64_t> flat = {groups * Mg, C / groups};
  llvm::append_range(flat, kernel);
  Tensor w = n.g.reshape(n.g.transpose(n.g.reshape(filter, grouped), perm), flat);
  w = n.g.reverse(w, spatialDims(x.rank()));
  GraphBuilder::ConvOptions options;
  options.strides.assign(spatial, 1);
  options.dilations = dilations;
  options.lhsDilation = strides;
  options.groups = groups;
  llvm::SmallVector<int64_t> cropLow(x.rank(), 0), cropHigh(x.rank(), 0);
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t edge = (kernel[i] - 1) * dilations[i];
    int64_t low = edge - padLow[i], high = edge - padHigh[i] + outputPadding[i];
    options.padLow.push_back(std::max<int64_t>(low, 0));
    options.padHigh.push_back(std::max<int64_t>(high, 0));
    cropLow[i + 2] = std::max<int64_t>(-low, 0);
    cropHigh[i + 2] = std::max<int64_t>(-high, 0);
  }
  Tensor y = n.g.conv(x, w, n.input(2), options);
  if (y && llvm::any_of(llvm::concat<int64_t>(cropLow, cropHigh), [](int64_t v) { return v; })) {
    llvm::SmallVector<int64_t> limit(y.shape()), stride(y.rank(), 1);
    for (int64_t d = 0; d < y.rank(); ++d)
      limit[d] -= cropHigh[d];
    y = n.g.slice(y, cropLow, limit, stride);
  }
  n.setOutput(0, y);
}

/// MaxPool and AveragePool.
void convertPool(NodeImporter &n, bool isMax) {
  Tensor x = n.required(0);
  if (!x)
    return;
  if (n.wantsOutput(1))
    return void(n.fail("the Indices output of MaxPool is not supported"));
  llvm::SmallVector<int64_t> kernel = n.intsAttr("kernel_shape");
  if (x.rank() < 3 || static_cast<int64_t>(kernel.size()) != x.rank() - 2)
    return void(n.fail("kernel_shape must give one size per spatial dimension"));
  auto w = windowOf(n, x.shape().drop_front(2), kernel);
  if (!w)
    return;
  bool ceilMode = n.intAttr("ceil_mode", 0);
  GraphBuilder::WindowOptions options;
  options.window = {1, 1};
  options.strides = {1, 1};
  options.dilations = {1, 1};
  options.padLow = {0, 0};
  options.padHigh = {0, 0};
  llvm::SmallVector<llvm::SmallVector<double>> counts; // Elements per window, per dim.
  for (size_t i = 0; i < kernel.size(); ++i) {
    int64_t in = x.shape()[i + 2], stride = w->strides[i], dilation = w->dilations[i];
    int64_t span = (kernel[i] - 1) * dilation + 1;
    int64_t padded = in + w->padLow[i] + w->padHigh[i];
    int64_t out = (padded - span) / stride + 1;
    int64_t extra = 0;
    if (ceilMode) {
      int64_t ceilOut = (padded - span + stride - 1) / stride + 1;
      // The last window must start inside the input or its low padding.
      if ((ceilOut - 1) * stride >= in + w->padLow[i])
        --ceilOut;
      extra = std::max<int64_t>(0, (ceilOut - 1) * stride + span - padded);
      out = ceilOut;
    }
    if (!n.importSized(out * kernel[i], "average pooling"))
      return;
    options.window.push_back(kernel[i]);
    options.strides.push_back(stride);
    options.dilations.push_back(dilation);
    options.padLow.push_back(w->padLow[i]);
    options.padHigh.push_back(w->padHigh[i] + extra);
    bool includePad = n.intAttr("count_include_pad", 0);
    llvm::SmallVector<double> count;
    for (int64_t o = 0; o < out; ++o) {
      int64_t c = 0;
      for (int64_t k = 0; k < kernel[i]; ++k) {
        int64_t p = o * stride + k * dilation - w->padLow[i];
        bool inside = p >= 0 && p < in;
        bool inPads = p >= -w->padLow[i] && p < in + w->padHigh[i];
        c += inside || (includePad && inPads);
      }
      count.push_back(std::max<int64_t>(c, 1));
    }
    counts.push_back(std::move(count));
  }
  Tensor pooled = n.g.reduceWindow(isMax ? ReduceKind::max : ReduceKind::sum, x, options);
  if (isMax || !pooled)
    return n.setOutput(0, pooled);
  // Divide by the number of elements each window covered.
  Tensor divisor = n.g.scalar(1.0, x.elementType());
  for (size_t i = 0; i < counts.size(); ++i) {
    llvm::SmallVector<int64_t> shape(x.rank(), 1);
    shape[i + 2] = counts[i].size();
    llvm::SmallVector<float> values(counts[i].begin(), counts[i].end());
    Tensor c = n.g.convert(n.g.constant(HostTensor::fromFloats(shape, values)), x.elementType());
    divisor = n.g.mul(divisor, c);
  }
  n.setOutput(0, n.g.div(pooled, divisor));
}

/// Softmax, LogSoftmax, Hardmax: before opset 13 they flatten to 2-D at axis.
void convertSoftmaxLike(NodeImporter &n, int kind) {
  Tensor x = n.required(0);
  if (!x)
    return;
  auto compute = [&](Tensor t, int64_t axis) {
    if (kind == 0)
      return n.g.softmax(t, axis);
    if (kind == 1)
      return n.g.logSoftmax(t, axis);
    Tensor index = n.g.argMax(t, axis, /*keepDims=*/true, /*lastIndex=*/false);
    Tensor positions = n.g.iota(t.shape(), axis < 0 ? axis + t.rank() : axis, n.i64());
    return n.g.convert(n.g.compare(CompareDirection::eq, positions, index), t.elementType());
  };
  if (n.opset >= 13) {
    auto axis = n.axis(n.intAttr("axis", -1), x.rank());
    if (axis)
      n.setOutput(0, compute(x, *axis));
    return;
  }
  Tensor flat = flattenAt(n, x, n.intAttr("axis", 1));
  if (flat)
    n.setOutput(0, n.g.reshape(compute(flat, 1), x.shape()));
}

/// Mean and variance over `dims`, kept as size-1 dimensions.
std::pair<Tensor, Tensor> moments(GraphBuilder &g, Tensor x, llvm::ArrayRef<int64_t> dims) {
  Tensor mean = g.reduceMean(x, dims, true);
  Tensor centered = g.sub(x, mean);
  return {mean, g.reduceMean(g.mul(centered, centered), dims, true)};
}

Tensor perChannel(GraphBuilder &g, Tensor v, int64_t rank) {
  llvm::SmallVector<int64_t> shape(rank, 1);
  shape[1] = v.numElements();
  return g.reshape(v, shape);
}

/// BatchNormalization in a training step: normalized with the batch's
/// statistics, and the running statistics moved towards them with ONNX's
/// momentum, `running · momentum + batch · (1 - momentum)`, the batch's
/// variance biased (ONNX's reference, which PyTorch's running variance is
/// not: it uses the unbiased one).
void convertTrainingBatchNorm(NodeImporter &n, Tensor x) {
  Tensor scale = n.required(1), bias = n.required(2), mean = n.required(3),
         variance = n.required(4);
  if (!x || !scale || !bias || !mean || !variance)
    return;
  if (x.rank() < 2)
    return void(n.fail("the input needs a channel dimension"));
  llvm::SmallVector<int64_t> dims = {0};
  for (int64_t d = 2; d < x.rank(); ++d)
    dims.push_back(d);
  auto [batchMean, batchVariance] = moments(n.g, x, dims);
  Tensor epsilon = n.g.scalar(n.floatAttr("epsilon", 1e-5f), x.elementType());
  Tensor y = n.g.div(n.g.sub(x, batchMean),
                     n.g.math(MathFn::sqrt, n.g.add(batchVariance, epsilon)));
  n.setOutput(0, n.g.add(n.g.mul(y, perChannel(n.g, scale, x.rank())),
                         perChannel(n.g, bias, x.rank())));
  double momentum = n.floatAttr("momentum", 0.9f);
  auto moved = [&](Tensor running, Tensor batch) {
    Tensor current = n.g.convert(n.g.reshape(batch, running.shape()), running.elementType());
    return n.g.add(n.g.mul(running, n.g.scalar(momentum, running.elementType())),
                   n.g.mul(current, n.g.scalar(1 - momentum, running.elementType())));
  };
  Tensor newMean = moved(mean, batchMean), newVariance = moved(variance, batchVariance);
  n.updateInitializer(3, newMean);
  n.updateInitializer(4, newVariance);
  n.setOutput(1, newMean);
  n.setOutput(2, newVariance);
}

void convertBatchNorm(NodeImporter &n) {
  Tensor x = n.required(0);
  if (n.opset < 9 && n.intAttr("spatial", 1) == 0)
    return void(n.fail("spatial=0 (per-activation statistics) is not supported"));
  if (n.mode == OnnxImportMode::training)
    return convertTrainingBatchNorm(n, x);
  if (n.mode == OnnxImportMode::inference && n.opset >= 14 && n.intAttr("training_mode", 0))
    return void(n.fail("BatchNormalization in training mode is compiled by "
                       "`dlc train`, not at import"));
  for (size_t i = 1; i < n.numOutputs(); ++i)
    if (n.wantsOutput(i) && n.mode == OnnxImportMode::inference)
      return void(n.fail("the running statistics outputs exist in training mode only"));
  // Evaluating: the running statistics as they are.
  n.setOutput(0, n.g.batchNorm(x, n.required(1), n.required(2), n.required(3),
                               n.required(4), n.floatAttr("epsilon", 1e-5f)));
  for (size_t i = 1; i < 3 && i < n.numOutputs(); ++i)
    n.setOutput(i, n.input(2 + i));
}

void convertInstanceNorm(NodeImporter &n) {
  Tensor x = n.required(0), scale = n.required(1), bias = n.required(2);
  if (!x || !scale || !bias)
    return;
  auto [mean, variance] = moments(n.g, x, spatialDims(x.rank()));
  Tensor epsilon = n.g.scalar(n.floatAttr("epsilon", 1e-5f), x.elementType());
  Tensor y = n.g.div(n.g.sub(x, mean), n.g.math(MathFn::sqrt, n.g.add(variance, epsilon)));
  n.setOutput(0, n.g.add(n.g.mul(y, perChannel(n.g, scale, x.rank())),
                         perChannel(n.g, bias, x.rank())));
}

void convertLayerNorm(NodeImporter &n) {
  Tensor x = n.required(0), scale = n.required(1);
  if (!x || !scale)
    return;
  auto axis = n.axis(n.intAttr("axis", -1), x.rank());
  if (!axis)
    return;
  auto [mean, variance] = moments(n.g, x, dimsFrom(*axis, x.rank()));
  Tensor epsilon = n.g.scalar(n.floatAttr("epsilon", 1e-5f), x.elementType());
  Tensor inverse = n.g.div(n.g.scalar(1.0, x.elementType()),
                           n.g.math(MathFn::sqrt, n.g.add(variance, epsilon)));
  Tensor y = n.g.mul(n.g.mul(n.g.sub(x, mean), inverse), scale);
  if (n.hasInput(2))
    y = n.g.add(y, n.input(2));
  n.setOutput(0, y);
  n.setOutput(1, mean);
  n.setOutput(2, inverse);
}

void convertRMSNorm(NodeImporter &n) {
  Tensor x = n.required(0), scale = n.required(1);
  if (!x || !scale)
    return;
  auto axis = n.axis(n.intAttr("axis", -1), x.rank());
  if (!axis)
    return;
  Tensor meanSquare = n.g.reduceMean(n.g.mul(x, x), dimsFrom(*axis, x.rank()), true);
  Tensor epsilon = n.g.scalar(n.floatAttr("epsilon", 1e-5f), x.elementType());
  Tensor y = n.g.div(x, n.g.math(MathFn::sqrt, n.g.add(meanSquare, epsilon)));
  n.setOutput(0, n.g.mul(y, scale));
}

void convertGroupNorm(NodeImporter &n) {
  Tensor x = n.required(0), scale = n.required(1), bias = n.required(2);
  if (!x || !scale || !bias)
    return;
  int64_t groups = n.intAttr("num_groups", 0);
  int64_t channels = x.rank() >= 2 ? x.shape()[1] : 0;
  if (groups < 1 || channels % groups)
    return void(n.fail("num_groups must divide the channels"));
  int64_t N = x.shape()[0];
  Tensor grouped = n.g.reshape(x, {N, groups, -1});
  auto [mean, variance] = moments(n.g, grouped, {2});
  Tensor epsilon = n.g.scalar(n.floatAttr("epsilon", 1e-5f), x.elementType());
  Tensor y = n.g.div(n.g.sub(grouped, mean), n.g.math(MathFn::sqrt, n.g.add(variance, epsilon)));
  y = n.g.reshape(y, x.shape());
  if (scale.numElements() == groups && groups != channels) {
    // Opset 18: one scale and bias per group, repeated over its channels.
    auto expand = [&](Tensor v) {
      return n.g.reshape(n.g.broadcastTo(n.g.reshape(v, {groups, 1}),
                                         {groups, channels / groups}), {channels});
    };
    scale = expand(scale);
    bias = expand(bias);
  }
  n.setOutput(0, n.g.add(n.g.mul(y, perChannel(n.g, scale, x.rank())),
                         perChannel(n.g, bias, x.rank())));
}

void convertGemm(NodeImporter &n) {
  Tensor a = n.required(0), b = n.required(1);
  if (!a || !b)
    return;
  if (a.rank() != 2 || b.rank() != 2)
    return void(n.fail("A and B must be matrices"));
  if (n.intAttr("transA", 0))
    a = n.g.transpose(a, {1, 0});
  if (n.intAttr("transB", 0))
    b = n.g.transpose(b, {1, 0});
  Tensor y = n.g.matmul(a, b);
  double alpha = n.floatAttr("alpha", 1.0f), beta = n.floatAttr("beta", 1.0f);
  if (alpha != 1.0 && y)
    y = n.g.mul(y, n.g.scalar(alpha, y.elementType()));
  if (n.hasInput(2) && y) {
    Tensor c = n.input(2);
    if (beta != 1.0)
      c = n.g.mul(c, n.g.scalar(beta, c.elementType()));
    y = n.g.add(y, c);
  }
  n.setOutput(0, y);
}

void convertLpNormalization(NodeImporter &n) {
  Tensor x = n.required(0);
  if (!x)
    return;
  auto axis = n.axis(n.intAttr("axis", -1), x.rank());
  int64_t p = n.intAttr("p", 2);
  if (!axis)
    return;
  if (p != 1 && p != 2)
    return void(n.fail("p must be 1 or 2"));
  Tensor norm = p == 1 ? n.g.reduceSum(n.g.abs(x), {*axis}, true)
                       : n.g.math(MathFn::sqrt, n.g.reduceSum(n.g.mul(x, x), {*axis}, true));
  n.setOutput(0, n.g.div(x, norm));
}

void convertLRN(NodeImporter &n) {
  Tensor x = n.required(0);
  if (!x)
    return;
  int64_t size = n.intAttr("size", 0);
  if (size < 1 || x.rank() < 3)
    return void(n.fail("needs a positive size and an [N, C, D...] input"));
  GraphBuilder::WindowOptions window;
  window.window.assign(x.rank(), 1);
  window.window[1] = size;
  window.padLow.assign(x.rank(), 0);
  window.padHigh.assign(x.rank(), 0);
  window.padLow[1] = (size - 1) / 2;
  window.padHigh[1] = size - 1 - (size - 1) / 2;
  Tensor squares = n.g.reduceWindow(ReduceKind::sum, n.g.mul(x, x), window);
  mlir::Type t = x.elementType();
  Tensor scale = n.g.add(n.g.scalar(n.floatAttr("bias", 1.0f), t),
                         n.g.mul(n.g.scalar(n.floatAttr("alpha", 1e-4f) / size, t), squares));
  n.setOutput(0, n.g.div(x, n.g.pow(scale, n.g.scalar(n.floatAttr("beta", 0.75f), t))));
}

void convertMeanVarianceNormalization(NodeImporter &n) {
  Tensor x = n.required(0);
  if (!x)
    return;
  llvm::SmallVector<int64_t> axes = n.intsAttr("axes");
  if (axes.empty())
    axes = {0, 2, 3};
  auto [mean, variance] = moments(n.g, x, axes);
  Tensor denominator = n.g.add(n.g.math(MathFn::sqrt, variance),
                               n.g.scalar(1e-9, x.elementType()));
  n.setOutput(0, n.g.div(n.g.sub(x, mean), denominator));
}

/// NegativeLogLikelihoodLoss on log-probabilities [N, C, d...] and integer
/// targets [N, d...], with optional class weights and an ignored index.
Tensor negativeLogLikelihood(NodeImporter &n, Tensor input, Tensor target,
                             Tensor weight) {
  if (!input || !target)
    return {};
  if (input.rank() < 2 || target.rank() != input.rank() - 1) {
    n.fail("needs input [N, C, d...] and target [N, d...], got " +
           formatShape(input.shape()) + " and " + formatShape(target.shape()));
    return {};
  }
  std::string reduction = n.stringAttr("reduction", "mean");
  if (reduction != "mean" && reduction != "sum" && reduction != "none") {
    n.fail("reduction '" + reduction + "' is not mean, sum or none");
    return {};
  }
  mlir::Type t = input.elementType();
  int64_t classes = input.shape()[1];
  llvm::SmallVector<int64_t> expanded(target.shape());
  expanded.insert(expanded.begin() + 1, 1);
  Tensor label = n.g.reshape(n.g.convert(target, n.i64()), expanded);
  Tensor hot = n.g.compare(CompareDirection::eq, n.g.iota(input.shape(), 1, n.i64()), label);
  Tensor oneHot = n.g.convert(hot, t);
  Tensor picked = n.g.reduceSum(n.g.mul(input, oneHot), {1});
  Tensor weights = weight.valid()
                       ? n.g.reduceSum(n.g.mul(oneHot, perChannel(n.g, weight, input.rank())), {1})
                       : n.g.reshape(n.g.broadcastTo(n.g.scalar(1.0, t), target.shape()), target.shape());
  if (n.hasAttr("ignore_index")) {
    Tensor ignored = n.g.compare(CompareDirection::eq, n.g.convert(target, n.i64()),
                                 n.g.scalar(double(n.intAttr("ignore_index", 0)), n.i64()));
    weights = n.g.select(ignored, n.g.scalar(0, t), weights);
  }
  (void)classes;
  Tensor loss = n.g.neg(n.g.mul(picked, weights));
  if (reduction == "none")
    return loss;
  llvm::SmallVector<int64_t> all;
  for (int64_t d = 0; d < loss.rank(); ++d)
    all.push_back(d);
  Tensor total = n.g.reduceSum(loss, all);
  if (reduction == "sum")
    return total;
  return n.g.div(total, n.g.reduceSum(weights, all));
}

} // namespace

void onnx_import::registerNeuralNetConverters(ConverterTable &t) {
  t["Conv"] = convertConv;
  t["ConvTranspose"] = convertConvTranspose;
  t["MaxPool"] = [](NodeImporter &n) { convertPool(n, true); };
  t["AveragePool"] = [](NodeImporter &n) { convertPool(n, false); };
  t["GlobalAveragePool"] = [](NodeImporter &n) {
    if (Tensor x = n.required(0))
      n.setOutput(0, n.g.reduceMean(x, spatialDims(x.rank()), true));
  };
  t["GlobalMaxPool"] = [](NodeImporter &n) {
    if (Tensor x = n.required(0))
      n.setOutput(0, n.g.reduceMax(x, spatialDims(x.rank()), true));
  };
  t["BatchNormalization"] = convertBatchNorm;
  t["InstanceNormalization"] = convertInstanceNorm;
  t["LayerNormalization"] = convertLayerNorm;
  t["GroupNormalization"] = convertGroupNorm;
  t["RMSNormalization"] = convertRMSNorm;
  t["LpNormalization"] = convertLpNormalization;
  t["LRN"] = convertLRN;
  t["MeanVarianceNormalization"] = convertMeanVarianceNormalization;
  t["Softmax"] = [](NodeImporter &n) { convertSoftmaxLike(n, 0); };
  t["LogSoftmax"] = [](NodeImporter &n) { convertSoftmaxLike(n, 1); };
  t["Hardmax"] = [](NodeImporter &n) { convertSoftmaxLike(n, 2); };
  t["MatMul"] = [](NodeImporter &n) { n.setOutput(0, n.g.matmul(n.required(0), n.required(1))); };
  t["Gemm"] = convertGemm;
  t["NegativeLogLikelihoodLoss"] = [](NodeImporter &n) {
    n.setOutput(0, negativeLogLikelihood(n, n.required(0), n.required(1), n.input(2)));
  };
  t["SoftmaxCrossEntropyLoss"] = [](NodeImporter &n) {
    Tensor scores = n.required(0);
    if (!scores)
      return;
    if (scores.rank() < 2)
      return void(n.fail("scores must be [N, C, d...]"));
    Tensor logProb = n.g.logSoftmax(scores, 1);
    n.setOutput(0, negativeLogLikelihood(n, logProb, n.required(1), n.input(2)));
    n.setOutput(1, logProb);
  };
}
