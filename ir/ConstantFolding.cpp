//===- ConstantFolding.cpp - element-level helpers for folders --*- C++ -*-===//

#include "ir/ConstantFolding.h"

using namespace mlir;

std::optional<SmallVector<Attribute>> dlc::constantElements(Attribute operand) {
  auto dense = dyn_cast_or_null<DenseElementsAttr>(operand);
  if (!dense || dense.getNumElements() > kFoldLimit)
    return std::nullopt;
  auto values = dense.getValues<Attribute>();
  return SmallVector<Attribute>(values.begin(), values.end());
}

Attribute dlc::buildElements(ShapedType type,
                             function_ref<Attribute(int64_t)> element) {
  if (type.getNumElements() > kFoldLimit)
    return {};
  SmallVector<Attribute> values;
  values.reserve(type.getNumElements());
  for (int64_t i = 0; i < type.getNumElements(); ++i) {
    Attribute value = element(i);
    if (!value)
      return {};
    values.push_back(value);
  }
  return DenseElementsAttr::get(type, values);
}

Attribute dlc::mapElements(ArrayRef<Attribute> operands, ShapedType type,
                           function_ref<Attribute(ArrayRef<Attribute>)> fn) {
  SmallVector<DenseElementsAttr> dense;
  bool allSplat = true;
  for (Attribute operand : operands) {
    auto d = dyn_cast_or_null<DenseElementsAttr>(operand);
    if (!d)
      return {};
    allSplat &= d.isSplat();
    dense.push_back(d);
  }
  if (allSplat) {
    SmallVector<Attribute> elements;
    for (DenseElementsAttr d : dense)
      elements.push_back(d.getSplatValue<Attribute>());
    Attribute value = fn(elements);
    return value ? DenseElementsAttr::get(type, value) : Attribute();
  }
  SmallVector<SmallVector<Attribute>> all;
  for (Attribute operand : operands) {
    auto elements = constantElements(operand);
    if (!elements)
      return {};
    all.push_back(std::move(*elements));
  }
  SmallVector<Attribute> args(operands.size());
  return buildElements(type, [&](int64_t i) {
    for (size_t k = 0; k < all.size(); ++k)
      args[k] = all[k].size() == 1 ? all[k][0] : all[k][i];
    return fn(args);
  });
}

SmallVector<int64_t> dlc::delinearize(int64_t index, ArrayRef<int64_t> shape) {
  SmallVector<int64_t> result(shape.size());
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    result[d] = shape[d] == 0 ? 0 : index % shape[d];
    index = shape[d] == 0 ? 0 : index / shape[d];
  }
  return result;
}

int64_t dlc::linearize(ArrayRef<int64_t> index, ArrayRef<int64_t> shape) {
  int64_t result = 0;
  for (size_t d = 0; d < shape.size(); ++d)
    result = result * shape[d] + index[d];
  return result;
}

bool dlc::isUnsignedType(Type type) { return type.isUnsignedInteger(); }
