//===- Commands.h - the subcommands of dlc ----------------------*- C++ -*-===//
//
// Each subcommand lives in its own file and declares its options there with
// cl::sub(); dlc.cpp dispatches to the one the user named.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_TOOLS_DLC_COMMANDS_H
#define DLC_TOOLS_DLC_COMMANDS_H

#include "llvm/Support/CommandLine.h"

namespace dlc::tool {

/// Every dlc option belongs here; the options that libLLVM registers do not,
/// and are hidden from --help.
extern llvm::cl::OptionCategory dlcCategory;

extern llvm::cl::SubCommand exampleCommand;
/// Builds, compiles and runs a bundled builder example; returns the exit code.
int runExampleCommand();

} // namespace dlc::tool

#endif // DLC_TOOLS_DLC_COMMANDS_H
