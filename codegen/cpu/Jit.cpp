//===- Jit.cpp - JIT compilation of lowered modules -------------*- C++ -*-===//
//
// ORC JIT through MLIR's ExecutionEngine, with a target machine for the host
// CPU so that generated code uses every vector extension the host has.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/Jit.h"
#include "ir/Diagnostics.h"

#include "mlir/ExecutionEngine/CRunnerUtils.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"

#include <mutex>

using namespace dlc;

namespace {

void initializeNativeTarget() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

llvm::Expected<std::unique_ptr<llvm::TargetMachine>> hostTargetMachine() {
  initializeNativeTarget();
  auto builder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builder)
    return builder.takeError();
  builder->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  return builder->createTargetMachine();
}

} // namespace

JitModule::JitModule(std::unique_ptr<mlir::ExecutionEngine> engine)
    : engine(std::move(engine)) {}

JitModule::~JitModule() = default;

llvm::Error JitModule::call(llvm::StringRef function,
                            llvm::ArrayRef<void *> pointers) {
  // The packed wrapper takes the address of each argument.
  llvm::SmallVector<void *> pointerAddresses;
  llvm::SmallVector<void *> storage(pointers.begin(), pointers.end());
  for (void *&pointer : storage)
    pointerAddresses.push_back(&pointer);
  return engine->invokePacked(function, pointerAddresses);
}

llvm::Expected<std::unique_ptr<JitModule>> dlc::jitCompile(mlir::ModuleOp module) {
  auto targetMachine = hostTargetMachine();
  if (!targetMachine)
    return targetMachine.takeError();
  auto transformer = mlir::makeOptimizingTransformer(
      /*optLevel=*/3, /*sizeLevel=*/0, targetMachine->get());
  // Translation problems are reported as diagnostics; keep them with the
  // error instead of letting them reach stderr.
  DiagnosticCapture diagnostics(module.getContext());
  mlir::ExecutionEngineOptions options;
  options.transformer = transformer;
  options.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Aggressive;
  options.enableGDBNotificationListener = false;
  options.enablePerfNotificationListener = false;
  auto engine = mlir::ExecutionEngine::create(module.getOperation(), options,
                                              std::move(*targetMachine));
  if (!engine)
    return diagnostics.takeError("JIT compilation failed: " +
                                 llvm::toString(engine.takeError()));
  // Copies between strided buffers call MLIR's runtime helper.
  (*engine)->registerSymbols([](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap symbols;
    symbols[interner("memrefCopy")] = {llvm::orc::ExecutorAddr::fromPtr(&memrefCopy),
                                       llvm::JITSymbolFlags::Exported};
    return symbols;
  });
  return std::make_unique<JitModule>(std::move(*engine));
}

llvm::Expected<std::string> dlc::translateToLLVMIR(mlir::ModuleOp module,
                                                   bool optimize) {
  llvm::LLVMContext context;
  std::unique_ptr<llvm::Module> llvmModule =
      mlir::translateModuleToLLVMIR(module.getOperation(), context);
  if (!llvmModule)
    return llvm::createStringError("cannot translate the module to LLVM IR");
  if (optimize) {
    auto targetMachine = hostTargetMachine();
    if (!targetMachine)
      return targetMachine.takeError();
    mlir::ExecutionEngine::setupTargetTripleAndDataLayout(llvmModule.get(),
                                                          targetMachine->get());
    auto transformer = mlir::makeOptimizingTransformer(3, 0, targetMachine->get());
    if (llvm::Error error = transformer(llvmModule.get()))
      return std::move(error);
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  llvmModule->print(os, nullptr);
  return text;
}

std::string dlc::hostCpuDescription() {
  std::string description = llvm::sys::getHostCPUName().str();
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  for (const char *name : {"avx2", "fma", "avx512f"})
    if (features.lookup(name))
      description += std::string(" +") + name;
  return description;
}
