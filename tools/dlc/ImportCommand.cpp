//===- ImportCommand.cpp - `dlc import` -------------------------*- C++ -*-===//
//
// Imports an ONNX model and prints its dlc IR, so a user can see what dlc
// made of each node (every op carries its node's name as location).
//
//===----------------------------------------------------------------------===//

#include "tools/dlc/Commands.h"
#include "frontend/onnx/OnnxImporter.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace llvm;
using namespace dlc;
using dlc::tool::fail;

cl::SubCommand dlc::tool::importCommand(
    "import", "Import an ONNX model and print its dlc IR");

namespace {

cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                               cl::desc("<model.onnx | model.onnxtxt>"),
                               cl::sub(dlc::tool::importCommand),
                               cl::cat(dlc::tool::dlcCategory));
cl::list<std::string> shapes(
    "shape", cl::desc("Fix an input's shape: NAME=D1xD2x... (repeatable)"),
    cl::sub(dlc::tool::importCommand), cl::cat(dlc::tool::dlcCategory));
cl::list<std::string> constantInputs(
    "constant-input",
    cl::desc("Bind an input to a value known when compiling: NAME=FILE.pb "
             "(an ONNX TensorProto; repeatable)"),
    cl::sub(dlc::tool::importCommand), cl::cat(dlc::tool::dlcCategory));
cl::opt<std::string> outputPath("o", cl::desc("Write the IR here (default: stdout)"),
                                cl::value_desc("OUT.mlir"), cl::init("-"),
                                cl::sub(dlc::tool::importCommand),
                                cl::cat(dlc::tool::dlcCategory));
cl::opt<bool> printLocations("print-locations",
                             cl::desc("Print each op's location (its ONNX node)"),
                             cl::sub(dlc::tool::importCommand),
                             cl::cat(dlc::tool::dlcCategory));

} // namespace

Expected<std::pair<std::string, std::vector<int64_t>>>
dlc::tool::parseShapeOption(StringRef text) {
  auto [name, dims] = text.split('=');
  if (name.empty() || dims.empty())
    return createStringError("--shape expects NAME=D1xD2x..., got '%s'",
                             text.str().c_str());
  std::vector<int64_t> shape;
  if (dims == "scalar")
    return std::make_pair(name.str(), shape);
  SmallVector<StringRef> parts;
  dims.split(parts, dims.contains(',') ? ',' : 'x');
  for (StringRef part : parts) {
    int64_t d;
    if (part.trim().getAsInteger(10, d) || d < 0)
      return createStringError("--shape %s: '%s' is not a dimension size",
                               name.str().c_str(), part.str().c_str());
    shape.push_back(d);
  }
  return std::make_pair(name.str(), shape);
}

Error dlc::tool::parseShapeOptions(ArrayRef<std::string> texts,
                                   StringMap<std::vector<int64_t>> &shapes) {
  for (const std::string &text : texts) {
    auto shape = parseShapeOption(text);
    if (!shape)
      return shape.takeError();
    shapes[shape->first] = shape->second;
  }
  return Error::success();
}

int dlc::tool::runImportCommand() {
  OnnxImportOptions options;
  if (Error error = parseShapeOptions(shapes, options.shapes))
    return fail(dlc::tool::importCommand, std::move(error));
  for (const std::string &text : constantInputs) {
    auto [name, file] = StringRef(text).split('=');
    if (name.empty() || file.empty())
      return fail(dlc::tool::importCommand, createStringError("--constant-input expects NAME=FILE.pb"));
    auto tensor = readOnnxTensorFile(file);
    if (!tensor)
      return fail(dlc::tool::importCommand, tensor.takeError());
    options.constantInputs[name] = tensor->second;
  }
  mlir::MLIRContext context;
  auto model = importOnnxFile(context, modelPath, options);
  if (!model)
    return fail(dlc::tool::importCommand, model.takeError());
  std::error_code ec;
  ToolOutputFile out(outputPath, ec, sys::fs::OF_Text);
  if (ec)
    return fail(dlc::tool::importCommand, createStringError("cannot write '%s': %s", outputPath.c_str(),
                                  ec.message().c_str()));
  mlir::OpPrintingFlags flags;
  if (printLocations)
    flags.enableDebugInfo();
  model->module->print(out.os(), flags);
  out.os() << "\n";
  out.keep();
  return 0;
}
