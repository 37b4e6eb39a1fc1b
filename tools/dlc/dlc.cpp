//===- dlc.cpp - the dlc command --------------------------------*- C++ -*-===//
//
// Entry point of `dlc`: parses the command line and runs a subcommand.
//
//===----------------------------------------------------------------------===//

#include "tools/dlc/Commands.h"
#include "codegen/cpu/Jit.h"
#include "runtime/Artifact.h"

#include "llvm/Config/llvm-config.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

static void printVersion(raw_ostream &os) {
  os << "dlc " << dlc::dlcVersion() << "\n"
     << "  built with LLVM/MLIR " << LLVM_VERSION_STRING << "\n"
     << "  host CPU: " << dlc::hostCpuDescription() << "\n";
}

cl::OptionCategory dlc::tool::dlcCategory("dlc options");

int dlc::tool::fail(const cl::SubCommand &command, Error error) {
  WithColor::error(errs(), ("dlc " + command.getName()).str()) << toString(std::move(error))
                                                                << "\n";
  return 1;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::SetVersionPrinter(printVersion);
  for (cl::SubCommand *sub : {&cl::SubCommand::getTopLevel(),
                              &dlc::tool::exampleCommand,
                              &dlc::tool::importCommand,
                              &dlc::tool::conformanceCommand,
                              &dlc::tool::runCommand,
                              &dlc::tool::compileCommand,
                              &dlc::tool::benchCommand,
                              &dlc::tool::inspectCommand,
                              &dlc::tool::trainCommand,
                              &dlc::tool::exportCommand,
                              &dlc::tool::cacheCommand})
    cl::HideUnrelatedOptions(dlc::tool::dlcCategory, *sub);
  cl::ParseCommandLineOptions(
      argc, argv,
      "dlc: a deep-learning compiler and runtime\n\n"
      "  dlc compile MODEL.onnx [-o MODEL.dlc]   compile a model into an artifact\n"
      "  dlc run MODEL.onnx|MODEL.dlc --inputs IN.npz [--out OUT.npz]   run a model\n"
      "  dlc bench MODEL.onnx|MODEL.dlc [--shape ...]   time a model on random inputs\n"
      "  dlc inspect MODEL [--dot G.dot] [--memory-svg M.svg]   kernels, FLOPs, memory plan\n"
      "  dlc train MODEL.onnx --data TRAIN.npz [--val VAL.npz]   train a model\n"
      "  dlc export CHECKPOINT.npz|MODEL.dlc --onnx MODEL.onnx -o TRAINED.onnx   trained weights\n"
      "  dlc import MODEL.onnx   print the dlc IR of an ONNX model\n"
      "  dlc conformance DIR...  run ONNX backend test folders\n"
      "  dlc cache [--clear]     what the compile cache holds, or clear it\n"
      "  dlc example mlp         build, compile and run the bundled MLP example\n\n"
      "Run 'dlc SUBCOMMAND --help' for the options of a subcommand.\n");

  if (dlc::tool::exampleCommand)
    return dlc::tool::runExampleCommand();
  if (dlc::tool::importCommand)
    return dlc::tool::runImportCommand();
  if (dlc::tool::conformanceCommand)
    return dlc::tool::runConformanceCommand();
  if (dlc::tool::runCommand)
    return dlc::tool::runRunCommand();
  if (dlc::tool::compileCommand)
    return dlc::tool::runCompileCommand();
  if (dlc::tool::benchCommand)
    return dlc::tool::runBenchCommand();
  if (dlc::tool::inspectCommand)
    return dlc::tool::runInspectCommand();
  if (dlc::tool::trainCommand)
    return dlc::tool::runTrainCommand();
  if (dlc::tool::exportCommand)
    return dlc::tool::runExportCommand();
  if (dlc::tool::cacheCommand)
    return dlc::tool::runCacheCommand();

  WithColor::error(errs(), "dlc") << "no subcommand given; run 'dlc --help' "
                                     "to see them\n";
  return 2;
}
