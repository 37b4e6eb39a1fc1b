//===- Executable.cpp - a compiled model, ready to run ----------*- C++ -*-===//

#include "runtime/Executable.h"
#include "codegen/cpu/Jit.h"
#include "codegen/cpu/Passes.h"

#include "llvm/ADT/StringSet.h"

#include <chrono>

using namespace dlc;

namespace {

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

/// Checks that `tensor` matches `spec` exactly.
llvm::Error checkTensor(const HostTensor &tensor, const TensorSpec &spec,
                        llvm::StringRef what) {
  if (tensor.dtype() != spec.dtype || tensor.shape() != llvm::ArrayRef(spec.shape))
    return llvm::createStringError(
        "%s '%s' must be %s[%s], got %s", what.str().c_str(), spec.name.c_str(),
        dtypeName(spec.dtype).str().c_str(), formatShape(spec.shape).c_str(),
        tensor.describe().c_str());
  return llvm::Error::success();
}

} // namespace

Executable::Executable(Signature signature, std::vector<HostTensor> weights,
                       std::unique_ptr<JitModule> code, CompileTimes times)
    : sig(std::move(signature)), weights(std::move(weights)),
      code(std::move(code)), times(times) {}

Executable::~Executable() = default;

llvm::Expected<std::unique_ptr<Executable>> Executable::compile(Model model) {
  if (!model.module)
    return llvm::createStringError("there is no module to compile");
  auto signature = readSignature(*model.module);
  if (!signature)
    return signature.takeError();
  if (model.weights.size() != signature->params.size())
    return llvm::createStringError(
        "the model has %zu parameters but %zu weights",
        signature->params.size(), model.weights.size());
  std::vector<HostTensor> weights;
  for (auto [spec, weight] : llvm::zip(signature->params, model.weights)) {
    if (weight.first != spec.name)
      return llvm::createStringError("weight '%s' is given where parameter "
                                     "'%s' is expected",
                                     weight.first.c_str(), spec.name.c_str());
    if (llvm::Error error = checkTensor(weight.second, spec, "weight"))
      return std::move(error);
    weights.push_back(weight.second);
  }

  CompileTimes times;
  auto start = std::chrono::steady_clock::now();
  if (llvm::Error error = lowerForCpu(*model.module, CpuStage::LLVMDialect))
    return std::move(error);
  times.lowering = secondsSince(start);
  start = std::chrono::steady_clock::now();
  auto code = jitCompile(*model.module);
  if (!code)
    return code.takeError();
  times.jit = secondsSince(start);
  return std::unique_ptr<Executable>(new Executable(
      std::move(*signature), std::move(weights), std::move(*code), times));
}

llvm::Expected<std::vector<HostTensor>>
Executable::run(llvm::ArrayRef<HostTensor> inputs) {
  if (inputs.size() != sig.inputs.size())
    return llvm::createStringError("the model takes %zu inputs, got %zu",
                                   sig.inputs.size(), inputs.size());
  std::vector<void *> pointers;
  for (auto [tensor, spec] : llvm::zip(inputs, sig.inputs)) {
    if (llvm::Error error = checkTensor(tensor, spec, "input"))
      return std::move(error);
    // The generated code never writes to its inputs.
    pointers.push_back(const_cast<void *>(tensor.data()));
  }
  for (HostTensor &weight : weights)
    pointers.push_back(weight.data());
  std::vector<HostTensor> outputs;
  for (const TensorSpec &spec : sig.outputs) {
    outputs.emplace_back(spec.dtype, spec.shape);
    pointers.push_back(outputs.back().data());
  }
  if (llvm::Error error = code->call(kEntryFunction, pointers))
    return std::move(error);
  return outputs;
}

llvm::Expected<NamedTensors> Executable::run(const NamedTensors &inputs) {
  llvm::StringMap<const HostTensor *> byName;
  for (const auto &[name, tensor] : inputs) {
    bool known = llvm::any_of(sig.inputs, [&, &name = name](const TensorSpec &s) {
      return s.name == name;
    });
    if (!known) {
      std::string expected;
      for (const TensorSpec &spec : sig.inputs)
        expected += (expected.empty() ? "'" : ", '") + spec.name + "'";
      return llvm::createStringError("the model has no input '%s' (its inputs: %s)",
                                     name.c_str(), expected.c_str());
    }
    if (!byName.try_emplace(name, &tensor).second)
      return llvm::createStringError("input '%s' is given twice", name.c_str());
  }
  std::vector<HostTensor> ordered;
  for (const TensorSpec &spec : sig.inputs) {
    auto it = byName.find(spec.name);
    if (it == byName.end())
      return llvm::createStringError("input '%s' (%s[%s]) is missing",
                                     spec.name.c_str(),
                                     dtypeName(spec.dtype).str().c_str(),
                                     formatShape(spec.shape).c_str());
    ordered.push_back(*it->second);
  }
  auto outputs = run(ordered);
  if (!outputs)
    return outputs.takeError();
  NamedTensors named;
  for (auto [spec, tensor] : llvm::zip(sig.outputs, *outputs))
    named.emplace_back(spec.name, std::move(tensor));
  return named;
}
