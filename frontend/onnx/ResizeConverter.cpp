//===- ResizeConverter.cpp - ONNX Resize and Upsample -----------*- C++ -*-===//
//
// Resizing is separable: each resized axis is a weighted sum of a few
// gathers along that axis. The taps (source indices and weights of each
// output position) are computed here, at import, from the ONNX spec's
// coordinate transformations and interpolation kernels, and become
// constants.
//
//===----------------------------------------------------------------------===//

#include "frontend/onnx/NodeImporter.h"

#include <algorithm>
#include <cmath>

using namespace dlc;
using namespace dlc::onnx_import;

namespace {

struct ResizeAttrs {
  std::string mode, coordinates, nearestMode;
  double cubicA = -0.75;
  bool excludeOutside = false;
  double extrapolation = 0;
};

/// Maps an output coordinate to the input, as coordinate_transformation_mode
/// says. `scale` is the scale the user gave (or out / in).
double sourceCoordinate(const ResizeAttrs &a, int64_t o, int64_t in, int64_t out,
                        double scale, double roiStart, double roiEnd) {
  const std::string &m = a.coordinates;
  if (m == "asymmetric")
    return o / scale;
  if (m == "align_corners") {
    // The spec's length_resized is in * scale, before any rounding.
    double resized = in * scale;
    return resized <= 1 ? 0 : o * double(in - 1) / (resized - 1);
  }
  if (m == "pytorch_half_pixel")
    return out > 1 ? (o + 0.5) / scale - 0.5 : 0;
  if (m == "tf_half_pixel_for_nn")
    return (o + 0.5) / scale;
  if (m == "tf_crop_and_resize")
    return out > 1 ? roiStart * (in - 1) + o * (roiEnd - roiStart) * (in - 1) / double(out - 1)
                   : 0.5 * (roiStart + roiEnd) * (in - 1);
  if (m == "half_pixel_symmetric") {
    double adjustment = out / (scale * in);
    double offset = in / 2.0 * (1 - adjustment);
    return offset + (o + 0.5) / scale - 0.5;
  }
  return (o + 0.5) / scale - 0.5; // half_pixel
}

int64_t nearestIndex(const std::string &mode, double x) {
  if (mode == "floor")
    return static_cast<int64_t>(std::floor(x));
  if (mode == "ceil")
    return static_cast<int64_t>(std::ceil(x));
  if (mode == "round_prefer_ceil")
    return static_cast<int64_t>(std::floor(x + 0.5));
  return static_cast<int64_t>(std::ceil(x - 0.5)); // round_prefer_floor
}

double cubicWeight(double d, double a) {
  d = std::abs(d);
  if (d <= 1)
    return ((a + 2) * d - (a + 3)) * d * d + 1;
  if (d < 2)
    return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
  return 0;
}

/// Resizes axis `axis` of `x` to `out` elements.
Tensor resizeAxis(NodeImporter &n, Tensor x, int64_t axis, int64_t out,
                  double scale, double roiStart, double roiEnd,
                  const ResizeAttrs &a) {
  int64_t in = x.shape()[axis];
  if (!n.importSized(out, "resizing"))
    return {};
  int64_t taps = a.mode == "nearest" ? 1 : a.mode == "linear" ? 2 : 4;
  std::vector<std::vector<int64_t>> index(taps, std::vector<int64_t>(out));
  std::vector<std::vector<float>> weight(taps, std::vector<float>(out));
  std::vector<uint8_t> outside(out, 0);
  for (int64_t o = 0; o < out; ++o) {
    // Clamped far outside the input so that the integer conversions below
    // stay defined whatever the scale.
    double src = std::clamp(sourceCoordinate(a, o, in, out, scale, roiStart, roiEnd),
                            -double(in) - 4, 2.0 * in + 4);
    if (a.coordinates == "tf_crop_and_resize" && (src < 0 || src > in - 1))
      outside[o] = 1;
    auto clampIndex = [&](int64_t i) { return std::min(std::max<int64_t>(i, 0), in - 1); };
    if (a.mode == "nearest") {
      index[0][o] = clampIndex(nearestIndex(a.nearestMode, src));
      weight[0][o] = 1;
    } else if (a.mode == "linear") {
      double x = std::min(std::max(src, 0.0), double(in - 1));
      int64_t i0 = static_cast<int64_t>(std::floor(x));
      double t = x - i0;
      index[0][o] = clampIndex(i0);
      index[1][o] = clampIndex(i0 + 1);
      weight[0][o] = static_cast<float>(1 - t);
      weight[1][o] = static_cast<float>(t);
    } else {
      int64_t base = static_cast<int64_t>(std::floor(src));
      double t = src - base, total = 0;
      double w[4];
      for (int k = 0; k < 4; ++k) {
        int64_t i = base - 1 + k;
        w[k] = cubicWeight(t - (k - 1), a.cubicA);
        if (a.excludeOutside && (i < 0 || i >= in))
          w[k] = 0;
        total += w[k];
        index[k][o] = clampIndex(i);
      }
      for (int k = 0; k < 4; ++k)
        weight[k][o] = static_cast<float>(a.excludeOutside && total != 0 ? w[k] / total : w[k]);
    }
  }
  llvm::SmallVector<int64_t> weightShape(x.rank(), 1);
  weightShape[axis] = out;
  Tensor result;
  for (int64_t k = 0; k < taps; ++k) {
    HostTensor indices(DType::i64, {out});
    std::copy(index[k].begin(), index[k].end(), indices.dataAs<int64_t>());
    Tensor gathered = n.g.gather(x, n.g.constant(indices), axis);
    if (taps > 1) {
      Tensor w = n.g.convert(n.g.constant(HostTensor::fromFloats(weightShape, weight[k])),
                             x.elementType());
      gathered = n.g.mul(gathered, w);
    }
    result = result.valid() ? n.g.add(result, gathered) : gathered;
  }
  if (llvm::is_contained(outside, 1)) {
    HostTensor mask(DType::i1, weightShape);
    std::copy(outside.begin(), outside.end(), mask.dataAs<uint8_t>());
    result = n.g.select(n.g.constant(mask), n.g.scalar(a.extrapolation, x.elementType()), result);
  }
  return result;
}

void convertResize(NodeImporter &n, bool upsample) {
  Tensor x = n.required(0);
  if (!x)
    return;
  ResizeAttrs a;
  a.mode = n.stringAttr("mode", "nearest");
  if (a.mode == "bilinear" || a.mode == "trilinear")
    a.mode = "linear";
  if (a.mode != "nearest" && a.mode != "linear" && a.mode != "cubic")
    return void(n.fail("mode '" + a.mode + "' is not nearest, linear or cubic"));
  bool legacy = upsample || n.opset < 11;
  a.coordinates = legacy ? "asymmetric"
                         : n.stringAttr("coordinate_transformation_mode", "half_pixel");
  a.nearestMode = legacy ? "floor" : n.stringAttr("nearest_mode", "round_prefer_floor");
  a.cubicA = n.floatAttr("cubic_coeff_a", -0.75f);
  a.excludeOutside = n.intAttr("exclude_outside", 0);
  a.extrapolation = n.floatAttr("extrapolation_value", 0.0f);
  if (n.intAttr("antialias", 0))
    return void(n.fail("antialias is not supported"));

  int64_t rank = x.rank();
  llvm::SmallVector<int64_t> axes = n.intsAttr("axes");
  for (int64_t &axis : axes) {
    auto normalized = n.axis(axis, rank);
    if (!normalized)
      return;
    axis = *normalized;
  }
  if (axes.empty())
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);

  llvm::SmallVector<double> scales(rank, 1.0), roiStart(rank, 0), roiEnd(rank, 1);
  llvm::SmallVector<int64_t> sizes(x.shape());
  size_t scalesInput = legacy ? 1 : 2;
  bool haveSizes = !legacy && n.hasInput(3);
  if (upsample && n.opset < 9) {
    auto given = n.floatsAttr("scales");
    if (static_cast<int64_t>(given.size()) != rank)
      return void(n.fail("scales needs one entry per dimension"));
    scales.assign(given.begin(), given.end());
  } else if (!haveSizes) {
    auto given = n.constantFloats(scalesInput, "scales");
    if (!given)
      return;
    if (given->size() != axes.size())
      return void(n.fail("scales has " + llvm::Twine(given->size()) +
                         " entries for " + llvm::Twine(axes.size()) + " axes"));
    for (size_t i = 0; i < axes.size(); ++i)
      scales[axes[i]] = (*given)[i];
  }
  if (haveSizes) {
    auto given = n.constantInts(3, "sizes");
    if (!given)
      return;
    if (given->size() != axes.size())
      return void(n.fail("sizes has " + llvm::Twine(given->size()) +
                         " entries for " + llvm::Twine(axes.size()) + " axes"));
    std::string policy = n.stringAttr("keep_aspect_ratio_policy", "stretch");
    if (policy == "stretch") {
      for (size_t i = 0; i < axes.size(); ++i) {
        sizes[axes[i]] = (*given)[i];
        scales[axes[i]] = double((*given)[i]) / x.shape()[axes[i]];
      }
    } else {
      double scale = policy == "not_larger" ? INFINITY : 0;
      for (size_t i = 0; i < axes.size(); ++i) {
        double s = double((*given)[i]) / x.shape()[axes[i]];
        scale = policy == "not_larger" ? std::min(scale, s) : std::max(scale, s);
      }
      for (int64_t axis : axes) {
        scales[axis] = scale;
        double size = std::round(scale * x.shape()[axis]);
        if (!(size >= 0 && size <= double(1 << 24)))
          return void(n.fail("sizes give an output dimension of " + std::to_string(size)));
        sizes[axis] = static_cast<int64_t>(size);
      }
    }
  } else {
    for (int64_t d = 0; d < rank; ++d) {
      double size = std::floor(x.shape()[d] * scales[d]);
      if (!(size >= 0 && size <= double(1 << 24)))
        return void(n.fail("scales give an output dimension of " + std::to_string(size)));
      sizes[d] = static_cast<int64_t>(size);
    }
  }
  if (a.coordinates == "tf_crop_and_resize") {
    auto roi = n.constantFloats(1, "roi");
    if (!roi)
      return;
    if (roi->size() != 2 * axes.size())
      return void(n.fail("roi needs a start and an end per axis"));
    for (size_t i = 0; i < axes.size(); ++i) {
      roiStart[axes[i]] = (*roi)[i];
      roiEnd[axes[i]] = (*roi)[i + axes.size()];
    }
  }
  for (int64_t d = 0; d < rank && x; ++d) {
    if (!(scales[d] > 0 && std::isfinite(scales[d])))
      return void(n.fail("scales must be positive and finite"));
    if (sizes[d] <= 0)
      return void(n.fail("the output would have an empty dimension"));
    bool identity = sizes[d] == x.shape()[d] && scales[d] == 1.0 &&
                    a.coordinates != "tf_crop_and_resize";
    if (!identity)
      x = resizeAxis(n, x, d, sizes[d], scales[d], roiStart[d], roiEnd[d], a);
  }
  n.setOutput(0, x);
}

} // namespace

void onnx_import::registerResizeConverters(ConverterTable &t) {
  t["Resize"] = [](NodeImporter &n) { convertResize(n, false); };
  t["Upsample"] = [](NodeImporter &n) { convertResize(n, true); };
}
