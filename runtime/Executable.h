//===- Executable.h - a compiled model, ready to run ------------*- C++ -*-===//
//
// An Executable owns the native code of one model and its weights, and runs
// it on host tensors. Inputs are checked against the model's signature
// before anything runs.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_RUNTIME_EXECUTABLE_H
#define DLC_RUNTIME_EXECUTABLE_H

#include "ir/HostTensor.h"
#include "ir/Model.h"
#include "ir/Signature.h"

#include "llvm/Support/Error.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace dlc {

class JitModule;

/// How long each compile stage took, in seconds.
struct CompileTimes {
  double lowering = 0;
  double jit = 0;
};

class Executable {
public:
  ~Executable();

  /// Compiles `model` for the host CPU. The model's module is lowered in
  /// place and then dropped; its context must outlive this call only.
  static llvm::Expected<std::unique_ptr<Executable>> compile(Model model);

  const Signature &signature() const { return sig; }
  const CompileTimes &compileTimes() const { return times; }

  /// Runs the model on `inputs`, given in the signature's order; returns the
  /// outputs in the signature's order.
  llvm::Expected<std::vector<HostTensor>> run(llvm::ArrayRef<HostTensor> inputs);

  /// Runs the model on named inputs (any order, each input exactly once).
  llvm::Expected<NamedTensors> run(const NamedTensors &inputs);

private:
  Executable(Signature signature, std::vector<HostTensor> weights,
             std::unique_ptr<JitModule> code, CompileTimes times);

  Signature sig;
  std::vector<HostTensor> weights;
  std::unique_ptr<JitModule> code;
  CompileTimes times;
};

} // namespace dlc

#endif // DLC_RUNTIME_EXECUTABLE_H
