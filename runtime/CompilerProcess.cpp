//===- CompilerProcess.cpp - compiling a model in a child process -*- C++ -*-===//

#include "runtime/CompilerProcess.h"
#include "ir/HostTensor.h"
#include "runtime/Executable.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"

extern char **environ;

using namespace dlc;

namespace {

/// What the child wrote to stderr, without trailing blank lines; its
/// diagnostics start with "dlc compile: error:", which the caller's own
/// error message would repeat, so that prefix goes.
std::string diagnosticOf(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return "";
  std::string text = (*buffer)->getBuffer().rtrim().str();
  llvm::StringRef prefix = "dlc compile: error: ";
  if (llvm::StringRef(text).starts_with(prefix))
    text.erase(0, prefix.size());
  return text;
}

/// This environment with DLC_CACHE_DIR set to `cacheDir`.
std::vector<std::string> childEnvironment(llvm::StringRef cacheDir) {
  std::vector<std::string> variables;
  for (char **entry = environ; *entry; ++entry)
    if (!llvm::StringRef(*entry).starts_with("DLC_CACHE_DIR="))
      variables.emplace_back(*entry);
  variables.push_back(("DLC_CACHE_DIR=" + cacheDir).str());
  return variables;
}

} // namespace

llvm::Expected<std::optional<std::string>> dlc::findCompilerProgram() {
  if (const char *named = std::getenv("DLC_COMPILER"); named && *named) {
    // A bare name is looked up on PATH, as a shell would.
    if (!llvm::StringRef(named).contains('/'))
      if (llvm::ErrorOr<std::string> found = llvm::sys::findProgramByName(named))
        return *found;
    if (!llvm::sys::fs::can_execute(named))
      return llvm::createStringError(
          "DLC_COMPILER is '%s', which is not an executable file (it names the `dlc` "
          "program that compiles models in a child process)",
          named);
    return std::string(named);
  }
#ifdef DLC_BUILD_COMPILER
  if (llvm::sys::fs::can_execute(DLC_BUILD_COMPILER))
    return std::string(DLC_BUILD_COMPILER);
#endif
  return std::nullopt;
}

llvm::Expected<std::unique_ptr<Executable>>
dlc::compileInChildProcess(llvm::StringRef compiler, llvm::StringRef onnxPath,
                           const std::map<std::string, std::vector<int64_t>> &shapes,
                           const CompileCache &cache) {
  // The child's files: in the cache's directory, or, with caching off or
  // a cache that cannot be written (a read-only home: in this process
  // that costs a compilation, nothing more), in a temporary directory that
  // serves as the cache for this compile only.
  llvm::SmallString<256> dir, artifactPath, reportPath, stderrPath;
  bool temporary = false;
  auto removeFiles = llvm::make_scope_exit([&] {
    for (const auto &path : {artifactPath, reportPath, stderrPath})
      if (!path.empty())
        llvm::sys::fs::remove(path);
    if (temporary)
      llvm::sys::fs::remove_directories(dir);
  });
  auto createFiles = [&]() -> std::error_code {
    for (auto [path, model] : {std::pair{&artifactPath, "compile-%%%%%%%%.dlc"},
                               std::pair{&reportPath, "compile-%%%%%%%%.json"},
                               std::pair{&stderrPath, "compile-%%%%%%%%.log"}}) {
      llvm::SmallString<256> pattern(dir);
      llvm::sys::path::append(pattern, model);
      int fd;
      if (std::error_code ec = llvm::sys::fs::createUniqueFile(pattern, fd, *path))
        return ec;
      llvm::sys::Process::SafelyCloseFileDescriptor(fd);
    }
    return {};
  };
  bool inCache = false;
  if (cache.enabled()) {
    dir = cache.directory();
    inCache = !llvm::sys::fs::create_directories(dir) && !createFiles();
  }
  if (!inCache) {
    for (auto *path : {&artifactPath, &reportPath, &stderrPath})
      if (!path->empty())
        llvm::sys::fs::remove(*path), path->clear();
    if (std::error_code ec = llvm::sys::fs::createUniqueDirectory("dlc-compile", dir))
      return llvm::createStringError("cannot create a temporary directory: %s",
                                     ec.message().c_str());
    temporary = true; // (only now: removeFiles then removes this directory)
    if (std::error_code ec = createFiles())
      return llvm::createStringError("cannot create a file in '%s': %s", dir.c_str(),
                                     ec.message().c_str());
  }

  std::vector<std::string> arguments{compiler.str(), "compile"};
  for (const auto &[name, dims] : shapes) {
    arguments.push_back("--shape");
    arguments.push_back(name + "=" + formatShape(dims)); // NAME=D1xD2x... or NAME=scalar
  }
  for (const auto &[flag, value] :
       {std::pair{"-o", artifactPath.str()}, std::pair{"--report", reportPath.str()}}) {
    arguments.push_back(flag);
    arguments.push_back(value.str());
  }
  arguments.push_back("--quiet");
  // After "--" a path that starts with "-" is still the model's.
  arguments.push_back("--");
  arguments.push_back(onnxPath.str());
  std::vector<llvm::StringRef> argumentRefs(arguments.begin(), arguments.end());
  std::vector<std::string> environment = childEnvironment(dir);
  std::vector<llvm::StringRef> environmentRefs(environment.begin(), environment.end());
  std::optional<llvm::StringRef> redirects[] = {llvm::StringRef(""), llvm::StringRef(""),
                                                llvm::StringRef(stderrPath)};
  std::string message;
  int status = llvm::sys::ExecuteAndWait(compiler, argumentRefs, environmentRefs, redirects,
                                         /*SecondsToWait=*/0, /*MemoryLimit=*/0, &message);
  if (status != 0) {
    std::string diagnostic = diagnosticOf(stderrPath);
    if (status > 0 && !diagnostic.empty())
      return llvm::createStringError("%s", diagnostic.c_str());
    std::string what = status == -1   ? "could not be started (" + message + ")"
                       : status == -2 ? "died (" + message + ")"
                                      : "failed with exit status " + std::to_string(status);
    return llvm::createStringError(
        "the compiler process (%s compile %s) %s%s%s", compiler.str().c_str(),
        onnxPath.str().c_str(), what.c_str(), diagnostic.empty() ? "" : ": ",
        diagnostic.c_str());
  }

  auto reportText = llvm::MemoryBuffer::getFile(reportPath, /*IsText=*/true);
  if (!reportText)
    return llvm::createStringError("cannot read the compiler's report '%s': %s",
                                   reportPath.c_str(), reportText.getError().message().c_str());
  auto report = CompileReport::fromJson((*reportText)->getBuffer());
  if (!report)
    return llvm::createStringError("the compiler's report '%s': %s", reportPath.c_str(),
                                   llvm::toString(report.takeError()).c_str());
  // The artifact's weights are mapped from its file, which stays readable
  // after removeFiles unlinks it.
  auto executable = Executable::loadFile(artifactPath, CompileCache(std::string(dir)));
  if (!executable)
    return executable.takeError();
  report->linking = (*executable)->compileReport().linking;
  (*executable)->setCompileReport(*report);
  return executable;
}

llvm::Expected<std::unique_ptr<Executable>>
dlc::tryCompileInChildProcess(llvm::StringRef onnxPath,
                              const std::map<std::string, std::vector<int64_t>> &shapes) {
  auto compiler = findCompilerProgram();
  if (!compiler)
    return compiler.takeError();
  if (!*compiler)
    return nullptr;
  return compileInChildProcess(**compiler, onnxPath, shapes);
}
