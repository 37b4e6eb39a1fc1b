//===- Jit.cpp - native code for the host CPU -------------------*- C++ -*-===//
//
// Code generation to an object file with a target machine for the host CPU,
// so that generated code uses every vector extension the host has, and
// loading of those objects with ORC's LLJIT.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/Jit.h"
#include "codegen/cpu/KernelAbi.h"
#include "ir/Diagnostics.h"

#include "mlir/ExecutionEngine/CRunnerUtils.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/Object/ELFObjectFile.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <unistd.h>

using namespace dlc;

namespace {

/// The prefix of the packed entry points: `_dlc_packed_main(void **args)`
/// calls `main(args[0], args[1], ...)`, so the runtime can call a function
/// of any arity through one C signature.
constexpr const char *kPackedPrefix = "_dlc_packed_";

void initializeNativeTarget() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

llvm::Expected<llvm::orc::JITTargetMachineBuilder> hostMachineBuilder() {
  initializeNativeTarget();
  auto builder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builder)
    return builder.takeError();
  builder->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  return builder;
}

llvm::Expected<std::unique_ptr<llvm::TargetMachine>> hostTargetMachine() {
  auto builder = hostMachineBuilder();
  if (!builder)
    return builder.takeError();
  return builder->createTargetMachine();
}

/// Adds `_dlc_packed_F(ptr args)` for every defined, externally visible
/// function F whose parameters are all pointers and that returns nothing:
/// the shape of a bare-pointer entry function with out-parameters.
void addPackedEntryPoints(llvm::Module &module) {
  llvm::SmallVector<llvm::Function *> entries;
  for (llvm::Function &function : module)
    if (!function.isDeclaration() && function.hasExternalLinkage() &&
        function.getReturnType()->isVoidTy() &&
        llvm::all_of(function.args(), [](llvm::Argument &argument) {
          return argument.getType()->isPointerTy();
        }))
      entries.push_back(&function);
  llvm::LLVMContext &context = module.getContext();
  llvm::Type *pointer = llvm::PointerType::getUnqual(context);
  for (llvm::Function *entry : entries) {
    auto *type = llvm::FunctionType::get(llvm::Type::getVoidTy(context), {pointer},
                                         /*isVarArg=*/false);
    auto *packed = llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage,
                                          kPackedPrefix + entry->getName(), module);
    llvm::IRBuilder<> builder(llvm::BasicBlock::Create(context, "entry", packed));
    llvm::SmallVector<llvm::Value *> arguments;
    for (unsigned i = 0; i < entry->arg_size(); ++i) {
      llvm::Value *slot =
          builder.CreateConstGEP1_64(pointer, packed->getArg(0), i);
      arguments.push_back(builder.CreateLoad(pointer, slot));
    }
    builder.CreateCall(entry, arguments);
    builder.CreateRetVoid();
  }
}

/// Calls of the kernels that dlc-parallel-kernels split (their last two
/// arguments are a range of their outer loop) become calls of the runtime's
/// dlc_parallel_for with a task function: the task unpacks the kernel's
/// other arguments from an array of 8-byte slots that the call site fills.
void addParallelCalls(llvm::Module &module) {
  llvm::LLVMContext &context = module.getContext();
  const llvm::DataLayout &layout = module.getDataLayout();
  llvm::Type *pointer = llvm::PointerType::getUnqual(context);
  llvm::Type *i64 = llvm::Type::getInt64Ty(context);
  llvm::Type *voidType = llvm::Type::getVoidTy(context);
  auto *taskType = llvm::FunctionType::get(voidType, {pointer, i64, i64}, false);
  llvm::SmallVector<llvm::Function *> kernels;
  for (llvm::Function &function : module) {
    if (function.isDeclaration() || !function.hasFnAttribute(kParallelForAttribute))
      continue;
    unsigned arguments = function.arg_size();
    bool slotted = arguments >= 2 &&
                   function.getArg(arguments - 1)->getType() == i64 &&
                   function.getArg(arguments - 2)->getType() == i64 &&
                   llvm::all_of(function.args(), [&](llvm::Argument &argument) {
                     return layout.getTypeAllocSize(argument.getType()) <= 8;
                   });
    // Otherwise the call stays as it is: the kernel runs the whole range.
    if (slotted)
      kernels.push_back(&function);
  }
  if (kernels.empty())
    return;
  llvm::FunctionCallee parallelFor = module.getOrInsertFunction(
      kParallelFor, llvm::FunctionType::get(voidType, {pointer, pointer, i64, i64}, false));
  // One slot array per caller, as long as the longest call needs:
  // dlc_parallel_for returns when the kernel is done, so calls reuse it.
  unsigned maxSlots = 1;
  for (llvm::Function *kernel : kernels)
    maxSlots = std::max(maxSlots, unsigned(kernel->arg_size() - 2));
  llvm::DenseMap<llvm::Function *, llvm::Value *> slotArrays;
  auto slotArrayOf = [&](llvm::Function *caller) {
    llvm::Value *&array = slotArrays[caller];
    if (!array) {
      llvm::IRBuilder<> entry(&*caller->getEntryBlock().getFirstInsertionPt());
      array = entry.CreateAlloca(llvm::ArrayType::get(i64, maxSlots));
    }
    return array;
  };
  for (llvm::Function *kernel : kernels) {
    unsigned slots = kernel->arg_size() - 2;
    // The calls to rewrite, before the task adds one of its own.
    llvm::SmallVector<llvm::CallInst *> calls;
    for (llvm::User *user : kernel->users())
      if (auto *call = llvm::dyn_cast<llvm::CallInst>(user);
          call && call->getCalledFunction() == kernel)
        calls.push_back(call);
    auto *task = llvm::Function::Create(taskType, llvm::GlobalValue::InternalLinkage,
                                        kernel->getName() + "_task", module);
    llvm::IRBuilder<> builder(llvm::BasicBlock::Create(context, "entry", task));
    llvm::SmallVector<llvm::Value *> arguments;
    for (unsigned i = 0; i < slots; ++i) {
      llvm::Value *slot = builder.CreateConstGEP1_64(i64, task->getArg(0), i);
      arguments.push_back(builder.CreateLoad(kernel->getArg(i)->getType(), slot));
    }
    arguments.push_back(task->getArg(1));
    arguments.push_back(task->getArg(2));
    builder.CreateCall(kernel, arguments);
    builder.CreateRetVoid();

    for (llvm::CallInst *call : calls) {
      llvm::Value *array = slotArrayOf(call->getFunction());
      llvm::IRBuilder<> at(call);
      for (unsigned i = 0; i < slots; ++i)
        at.CreateStore(call->getArgOperand(i), at.CreateConstGEP1_64(i64, array, i));
      at.CreateCall(parallelFor, {task, array, call->getArgOperand(slots),
                                  call->getArgOperand(slots + 1)});
      call->eraseFromParent();
    }
  }
}

/// Translates `module` (LLVM dialect) to LLVM IR.
llvm::Expected<std::unique_ptr<llvm::Module>> translate(mlir::ModuleOp module,
                                                        llvm::LLVMContext &context) {
  // Translation problems are reported as diagnostics; keep them with the
  // error instead of letting them reach stderr.
  DiagnosticCapture diagnostics(module.getContext());
  std::unique_ptr<llvm::Module> llvmModule =
      mlir::translateModuleToLLVMIR(module.getOperation(), context);
  if (!llvmModule)
    return diagnostics.takeError("cannot translate the module to LLVM IR");
  return llvmModule;
}

/// Translates `module` to LLVM IR for `targetMachine`, with packed entry
/// points, optimized at O3.
llvm::Expected<std::unique_ptr<llvm::Module>>
translateAndOptimize(mlir::ModuleOp module, llvm::LLVMContext &context,
                     llvm::TargetMachine &targetMachine) {
  auto translated = translate(module, context);
  if (!translated)
    return translated.takeError();
  std::unique_ptr<llvm::Module> llvmModule = std::move(*translated);
  llvmModule->setTargetTriple(targetMachine.getTargetTriple());
  llvmModule->setDataLayout(targetMachine.createDataLayout());
  addPackedEntryPoints(*llvmModule);
  addParallelCalls(*llvmModule);
  auto optimize = mlir::makeOptimizingTransformer(/*optLevel=*/3, /*sizeLevel=*/0,
                                                  &targetMachine);
  if (llvm::Error error = optimize(llvmModule.get()))
    return std::move(error);
  return llvmModule;
}

/// With DLC_PERF_MAP set, appends the address, size and name of every
/// function of `object` to /tmp/perf-PID.map, where `perf report` looks
/// for the symbols of JIT-compiled code. The JIT finds only exported
/// functions; an internal one (a kernel's parallel task body) is placed
/// from an exported function of its section, whose offset it shares.
void writePerfMap(llvm::orc::LLJIT &jit, llvm::StringRef object) {
  if (!std::getenv("DLC_PERF_MAP"))
    return;
  auto file = llvm::object::ObjectFile::createObjectFile(
      llvm::MemoryBufferRef(object, "dlc-module.o"));
  if (!file) {
    llvm::consumeError(file.takeError());
    return;
  }
  // Symbol sizes are read the ELF way (the JIT emits ELF on Linux, where
  // perf runs).
  if (!llvm::isa<llvm::object::ELFObjectFileBase>(**file))
    return;
  std::string path = ("/tmp/perf-" + llvm::Twine(::getpid()) + ".map").str();
  std::error_code error;
  llvm::raw_fd_ostream map(path, error, llvm::sys::fs::OF_Append);
  if (error) {
    // Asked for, so say why it is missing; the code itself runs either way.
    llvm::errs() << "dlc: DLC_PERF_MAP: cannot write " << path << ": " << error.message()
                 << "\n";
    return;
  }
  struct Function {
    llvm::StringRef name;
    uint64_t value, size;
    uint64_t section; // the section's index
  };
  std::vector<Function> functions;
  for (const llvm::object::SymbolRef &symbol : (*file)->symbols()) {
    auto type = symbol.getType();
    auto name = symbol.getName();
    auto value = symbol.getValue();
    auto section = symbol.getSection();
    if (!type || !name || !value || !section || *type != llvm::object::SymbolRef::ST_Function ||
        name->empty() || *section == (*file)->section_end()) {
      if (!type)
        llvm::consumeError(type.takeError());
      if (!name)
        llvm::consumeError(name.takeError());
      if (!value)
        llvm::consumeError(value.takeError());
      if (!section)
        llvm::consumeError(section.takeError());
      continue;
    }
    functions.push_back(
        {*name, *value, llvm::object::ELFSymbolRef(symbol).getSize(), (*section)->getIndex()});
  }
  // Where each section was loaded: an exported function's address less
  // its offset in the section.
  std::map<uint64_t, uint64_t> sectionStart;
  for (const Function &function : functions) {
    auto address = jit.lookup(function.name);
    if (!address) {
      llvm::consumeError(address.takeError());
      continue;
    }
    sectionStart.emplace(function.section, address->getValue() - function.value);
  }
  for (const Function &function : functions) {
    auto start = sectionStart.find(function.section);
    if (start == sectionStart.end())
      continue;
    map << llvm::format_hex_no_prefix(start->second + function.value, 1) << ' '
        << llvm::format_hex_no_prefix(function.size, 1) << ' ' << function.name << '\n';
  }
}

} // namespace

JitModule::JitModule(std::unique_ptr<llvm::orc::LLJIT> jit) : jit(std::move(jit)) {}

JitModule::~JitModule() = default;

llvm::Expected<std::unique_ptr<JitModule>>
JitModule::load(llvm::StringRef object, llvm::ArrayRef<Symbol> runtimeSymbols) {
  auto builder = hostMachineBuilder();
  if (!builder)
    return builder.takeError();
  auto jit = llvm::orc::LLJITBuilder()
                 .setJITTargetMachineBuilder(std::move(*builder))
                 .create();
  if (!jit)
    return jit.takeError();
  llvm::orc::JITDylib &library = (*jit)->getMainJITDylib();
  // libm's functions (erff, powf...) and libc's (memcpy) come from this
  // process; copies between strided buffers call MLIR's runtime helper.
  auto processSymbols = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      (*jit)->getDataLayout().getGlobalPrefix());
  if (!processSymbols)
    return processSymbols.takeError();
  library.addGenerator(std::move(*processSymbols));
  llvm::orc::SymbolMap helpers;
  helpers[(*jit)->mangleAndIntern("memrefCopy")] = {
      llvm::orc::ExecutorAddr::fromPtr(&memrefCopy), llvm::JITSymbolFlags::Exported};
  for (auto [name, address] : runtimeSymbols)
    helpers[(*jit)->mangleAndIntern(name)] = {llvm::orc::ExecutorAddr::fromPtr(address),
                                              llvm::JITSymbolFlags::Exported};
  if (llvm::Error error = library.define(llvm::orc::absoluteSymbols(std::move(helpers))))
    return std::move(error);
  if (llvm::Error error = (*jit)->addObjectFile(
          llvm::MemoryBuffer::getMemBufferCopy(object, "dlc-module.o")))
    return std::move(error);
  writePerfMap(**jit, object);
  return std::unique_ptr<JitModule>(new JitModule(std::move(*jit)));
}

llvm::Expected<JitModule::PackedFunction> JitModule::lookup(llvm::StringRef function) {
  auto address = jit->lookup((kPackedPrefix + function).str());
  if (!address)
    return address.takeError();
  return address->toPtr<PackedFunction>();
}

const void *JitModule::lookupGlobal(llvm::StringRef name) {
  auto address = jit->lookup(name);
  if (!address) {
    llvm::consumeError(address.takeError());
    return nullptr;
  }
  return address->toPtr<const void *>();
}

llvm::Expected<std::string> dlc::compileToObject(mlir::ModuleOp module) {
  auto targetMachine = hostTargetMachine();
  if (!targetMachine)
    return targetMachine.takeError();
  llvm::LLVMContext context;
  auto llvmModule = translateAndOptimize(module, context, **targetMachine);
  if (!llvmModule)
    return llvmModule.takeError();
  llvm::SmallVector<char, 0> object;
  llvm::raw_svector_ostream os(object);
  llvm::legacy::PassManager codegen;
  if ((*targetMachine)->addPassesToEmitFile(codegen, os, nullptr,
                                            llvm::CodeGenFileType::ObjectFile))
    return llvm::createStringError("the host target cannot emit object files");
  codegen.run(**llvmModule);
  return std::string(object.begin(), object.end());
}

llvm::Expected<std::string> dlc::translateToLLVMIR(mlir::ModuleOp module,
                                                   bool optimize) {
  llvm::LLVMContext context;
  auto llvmModule = [&]() -> llvm::Expected<std::unique_ptr<llvm::Module>> {
    if (!optimize)
      return translate(module, context);
    auto targetMachine = hostTargetMachine();
    if (!targetMachine)
      return targetMachine.takeError();
    return translateAndOptimize(module, context, **targetMachine);
  }();
  if (!llvmModule)
    return llvmModule.takeError();
  std::string text;
  llvm::raw_string_ostream os(text);
  (*llvmModule)->print(os, nullptr);
  return text;
}

std::string dlc::hostTargetKey() {
  std::string key = llvm::sys::getProcessTriple() + " " +
                    llvm::sys::getHostCPUName().str() + " LLVM " LLVM_VERSION_STRING;
  // The feature map is unordered; sort it so the key is stable.
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  std::vector<std::string> enabled;
  for (const auto &feature : features)
    if (feature.getValue())
      enabled.push_back(feature.getKey().str());
  llvm::sort(enabled);
  for (const std::string &feature : enabled)
    key += " +" + feature;
  return key;
}

std::string dlc::hostCpuDescription() {
  std::string description = llvm::sys::getHostCPUName().str();
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  for (const char *name : {"avx2", "fma", "avx512f"})
    if (features.lookup(name))
      description += std::string(" +") + name;
  return description;
}
