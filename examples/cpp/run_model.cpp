//===- run_model.cpp - using dlc from C++ -----------------------*- C++ -*-===//
//
// A small program on dlc's public API: compiles an ONNX model (or loads a
// .dlc artifact), feeds each input a ramp of values, runs it and prints the
// outputs; with --save it also writes the artifact.
//
//   dlc-run-model MODEL.onnx|MODEL.dlc [NAME=D1xD2... ...] [--save OUT.dlc]
//
//===----------------------------------------------------------------------===//

#include <dlc/dlc.h>

#include <cstdio>
#include <cstring>
#include <sstream>

namespace {

/// "x=5x4" → {"x", {5, 4}}.
std::pair<std::string, std::vector<int64_t>> parseShape(const std::string &text) {
  size_t equals = text.find('=');
  if (equals == std::string::npos)
    throw dlc::Error("expected NAME=D1xD2..., got '" + text + "'");
  std::vector<int64_t> shape;
  std::stringstream dims(text.substr(equals + 1));
  for (std::string dim; std::getline(dims, dim, 'x');)
    shape.push_back(std::stoll(dim));
  return {text.substr(0, equals), shape};
}

void printArray(const std::string &name, const dlc::Array &array) {
  std::printf("%s: %s[", name.c_str(), dlc::elementTypeName(array.type()));
  for (size_t i = 0; i < array.shape().size(); ++i)
    std::printf("%s%lld", i ? "x" : "", static_cast<long long>(array.shape()[i]));
  std::printf("]");
  if (array.type() == dlc::ElementType::Float32)
    for (int64_t i = 0; i < array.numElements() && i < 6; ++i)
      std::printf(" %.6g", array.as<float>()[i]);
  std::printf("\n");
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.onnx|MODEL.dlc [NAME=DIMS ...] [--save OUT.dlc]\n",
                 argv[0]);
    return 2;
  }
  try {
    std::string path = argv[1], savePath;
    dlc::CompileOptions options;
    for (int i = 2; i < argc; ++i) {
      if (std::strcmp(argv[i], "--save") == 0 && i + 1 < argc)
        savePath = argv[++i];
      else
        options.shapes.insert(parseShape(argv[i]));
    }
    bool artifact = path.size() > 4 && path.substr(path.size() - 4) == ".dlc";
    dlc::CompiledModel model = artifact ? dlc::CompiledModel::load(path)
                                        : dlc::CompiledModel::compile(path, options);
    std::printf("%s %s (%s, %u threads)\n", artifact ? "loaded" : "compiled", path.c_str(),
                model.loadedFromCache() ? "code from the cache" : "code generated",
                model.threads());

    std::map<std::string, dlc::Array> inputs;
    for (const dlc::TensorInfo &input : model.inputs()) {
      dlc::Array array(input.type, input.shape);
      if (input.type == dlc::ElementType::Float32)
        for (int64_t i = 0; i < array.numElements(); ++i)
          array.as<float>()[i] = float(i % 7) / 7.0f - 0.5f;
      inputs.emplace(input.name, array);
    }
    for (const auto &[name, output] : model.run(inputs))
      printArray(name, output);
    if (!savePath.empty()) {
      model.save(savePath);
      std::printf("saved %s\n", savePath.c_str());
    }
    return 0;
  } catch (const dlc::Error &error) {
    std::fprintf(stderr, "error: %s\n", error.what());
    return 1;
  }
}
