//===- OnnxExport.cpp - trained weights back into an ONNX model -*- C++ -*-===//
//
// Replaces initializers of an ONNX model by tensors of the same name, type
// and shape (trained weights), leaving every node, input and output as it
// was, and writes the model atomically. Replaced initializers are stored
// inline (raw data), whether they were inline or external before.
//
//===----------------------------------------------------------------------===//

#include "frontend/onnx/NodeImporter.h"
#include "frontend/onnx/OnnxImporter.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

using namespace dlc;

llvm::Expected<OnnxExportSummary> dlc::exportOnnxWithWeights(llvm::StringRef originalPath,
                                                             const NamedTensors &weights,
                                                             llvm::StringRef outputPath) {
  auto model = onnx_import::loadModel(originalPath);
  if (!model)
    return model.takeError();
  llvm::StringMap<const HostTensor *> byName;
  for (const auto &[name, tensor] : weights)
    byName[name] = &tensor;
  llvm::StringRef directory = llvm::sys::path::parent_path(originalPath);
  OnnxExportSummary summary;
  for (onnx::TensorProto &initializer : *model->mutable_graph()->mutable_initializer()) {
    auto found = byName.find(initializer.name());
    if (found == byName.end()) {
      summary.kept.push_back(initializer.name());
      continue;
    }
    const HostTensor &weight = *found->second;
    auto original = onnx_import::tensorFromProto(initializer, directory);
    if (!original)
      return original.takeError();
    if (original->dtype() != weight.dtype() || original->shape() != weight.shape())
      return llvm::createStringError(
          "%s: initializer '%s' is %s%s; the weights give %s%s (trained from another model?)",
          originalPath.str().c_str(), initializer.name().c_str(),
          dtypeName(original->dtype()).data(), bracketedShape(original->shape()).c_str(),
          dtypeName(weight.dtype()).data(), bracketedShape(weight.shape()).c_str());
    int dataType = initializer.data_type();
    std::string name = initializer.name();
    auto dims = initializer.dims();
    initializer.Clear();
    initializer.set_name(name);
    initializer.set_data_type(dataType);
    *initializer.mutable_dims() = dims;
    initializer.set_raw_data(weight.data(), weight.byteSize()); // little-endian hosts only
    summary.replaced.push_back(name);
    byName.erase(found);
  }
  for (const auto &[name, tensor] : weights)
    if (byName.contains(name))
      summary.unused.push_back(name);
  if (summary.replaced.empty())
    return llvm::createStringError("none of the %zu weights names an initializer of %s "
                                   "(were they trained from another model?); nothing written",
                                   weights.size(), originalPath.str().c_str());
  if (model->ByteSizeLong() > size_t(INT32_MAX))
    return llvm::createStringError("%s: the model with its weights inline is over 2 GiB, "
                                   "more than one protobuf holds",
                                   outputPath.str().c_str());
  std::string bytes;
  if (!model->SerializeToString(&bytes))
    return llvm::createStringError("cannot serialize the model for %s",
                                   outputPath.str().c_str());
  if (llvm::Error error = llvm::writeToOutput(outputPath, [&](llvm::raw_ostream &os) {
        os << bytes;
        return llvm::Error::success();
      }))
    return std::move(error);
  return summary;
}
