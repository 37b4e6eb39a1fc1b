//===- ConformanceCommand.cpp - `dlc conformance` ---------------*- C++ -*-===//
//
// Runs ONNX backend test folders (model.onnx + test_data_set_*/input_*.pb,
// output_*.pb): imports and compiles each model, runs every data set and
// compares with ONNX's tolerances. Each test runs in a child process with a
// time limit, so that a crash or a hang is reported as such and the run
// goes on.
//
//===----------------------------------------------------------------------===//

#include "tools/dlc/Commands.h"
#include "frontend/onnx/OnnxImporter.h"
#include "runtime/Executable.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/LineIterator.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/WithColor.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>

using namespace llvm;
using namespace dlc;

cl::SubCommand dlc::tool::conformanceCommand(
    "conformance", "Run ONNX backend test folders and compare with their outputs");

namespace {

cl::list<std::string> testDirs(cl::Positional, cl::OneOrMore,
                               cl::desc("<test folder or folder of tests>..."),
                               cl::sub(dlc::tool::conformanceCommand),
                               cl::cat(dlc::tool::dlcCategory));
cl::opt<std::string> expectedFailures(
    "expected-failures",
    cl::desc("A file of 'TEST  reason' lines: these tests are expected not to "
             "pass; any other failure, and any of these passing, fails the run"),
    cl::sub(dlc::tool::conformanceCommand), cl::cat(dlc::tool::dlcCategory));
cl::opt<unsigned> timeoutSeconds("timeout", cl::desc("Seconds per test (default 60)"),
                                 cl::init(60), cl::sub(dlc::tool::conformanceCommand),
                                 cl::cat(dlc::tool::dlcCategory));
cl::opt<std::string> filter("filter", cl::desc("Only run tests whose name matches this regex"),
                            cl::sub(dlc::tool::conformanceCommand),
                            cl::cat(dlc::tool::dlcCategory));
cl::opt<bool> quiet("quiet", cl::desc("Print only failures and the totals"),
                    cl::sub(dlc::tool::conformanceCommand),
                    cl::cat(dlc::tool::dlcCategory));

// ONNX's backend test tolerances.
constexpr double kRelativeTolerance = 1e-3;
constexpr double kAbsoluteTolerance = 1e-7;

enum class Outcome { Pass, Fail, Unsupported, Crash };

StringRef outcomeName(Outcome outcome) {
  switch (outcome) {
  case Outcome::Pass: return "PASS";
  case Outcome::Fail: return "FAIL";
  case Outcome::Unsupported: return "UNSUPPORTED";
  case Outcome::Crash: return "CRASH";
  }
  llvm_unreachable("unknown outcome");
}

struct Result {
  Outcome outcome;
  std::string message;
};

/// The data sets of a test folder, sorted by name.
std::vector<std::string> dataSets(StringRef dir) {
  std::vector<std::string> sets;
  std::error_code ec;
  for (sys::fs::directory_iterator it(dir, ec), end; it != end && !ec; it.increment(ec))
    if (sys::path::filename(it->path()).starts_with("test_data_set_"))
      sets.push_back(it->path());
  llvm::sort(sets);
  return sets;
}

/// Reads `prefix`_0.pb, `prefix`_1.pb... of one data set.
Expected<NamedTensors> readTensors(StringRef set, StringRef prefix) {
  NamedTensors tensors;
  for (int i = 0;; ++i) {
    SmallString<256> path(set);
    sys::path::append(path, prefix + "_" + Twine(i) + ".pb");
    if (!sys::fs::exists(path))
      return tensors;
    auto tensor = readOnnxTensorFile(path);
    if (!tensor)
      return tensor.takeError();
    tensors.push_back(std::move(*tensor));
  }
}

/// ONNX's test data stores bfloat16 tensors as uint16 (NumPy has no
/// bfloat16): reads `tensor` as `wanted` when that is the case.
HostTensor asStoredType(const HostTensor &tensor, DType wanted) {
  if (tensor.dtype() == DType::u16 && wanted == DType::bf16) {
    HostTensor view(DType::bf16, tensor.shape());
    std::memcpy(view.data(), tensor.data(), tensor.byteSize());
    return view;
  }
  return tensor;
}

/// Compares one output with ONNX's tolerances; describes the first mismatch.
std::optional<std::string> compare(const HostTensor &actual,
                                   const HostTensor &expectedAsStored, StringRef name) {
  HostTensor expected = asStoredType(expectedAsStored, actual.dtype());
  if (actual.shape() != expected.shape())
    return ("output '" + name + "' has shape " + formatShape(actual.shape()) +
            ", expected " + formatShape(expected.shape())).str();
  if (actual.dtype() != expected.dtype())
    return ("output '" + name + "' is " + dtypeName(actual.dtype()) + ", expected " +
            dtypeName(expected.dtype())).str();
  for (int64_t i = 0; i < actual.numElements(); ++i) {
    double a = actual.elementAsDouble(i), e = expected.elementAsDouble(i);
    if (std::isnan(a) && std::isnan(e))
      continue;
    if (a == e)
      continue;
    if (!(std::abs(a - e) <= kAbsoluteTolerance + kRelativeTolerance * std::abs(e)))
      return formatv("output '{0}' element {1}: got {2}, expected {3}", name, i, a, e).str();
  }
  return std::nullopt;
}

/// Imports, compiles and runs one test, in the current process.
Result runTest(StringRef dir) {
  std::vector<std::string> sets = dataSets(dir);
  SmallString<256> modelPath(dir);
  sys::path::append(modelPath, "model.onnx");
  mlir::MLIRContext context;
  NamedTensors firstInputs;
  if (!sets.empty()) {
    auto inputs = readTensors(sets.front(), "input");
    if (!inputs)
      return {Outcome::Fail, toString(inputs.takeError())};
    firstInputs = std::move(*inputs);
  }
  // Graph inputs that set shapes are bound to the first data set's values.
  std::vector<std::string> bound;
  auto model = importOnnxForInputs(context, modelPath, firstInputs, bound);
  if (!model)
    return {Outcome::Unsupported, toString(model.takeError())};
  // Each test compiles once; caching its code would only fill the disk.
  auto executable = Executable::compile(*model, CompileCache(""));
  if (!executable)
    return {Outcome::Unsupported, toString(executable.takeError())};
  for (const std::string &set : sets) {
    auto inputs = readTensors(set, "input");
    auto outputs = readTensors(set, "output");
    if (!inputs)
      return {Outcome::Fail, toString(inputs.takeError())};
    if (!outputs)
      return {Outcome::Fail, toString(outputs.takeError())};
    NamedTensors fed;
    const Signature &signature = (*executable)->signature();
    for (auto &[name, tensor] : *inputs) {
      if (llvm::is_contained(bound, name))
        continue;
      auto spec = llvm::find_if(signature.inputs,
                                [&, &name = name](const TensorSpec &s) { return s.name == name; });
      fed.emplace_back(name, spec == signature.inputs.end() ? tensor
                                                            : asStoredType(tensor, spec->dtype));
    }
    auto results = (*executable)->run(fed);
    if (!results)
      return {Outcome::Fail, sys::path::filename(set).str() + ": " + toString(results.takeError())};
    if (results->size() != outputs->size())
      return {Outcome::Fail, formatv("{0} outputs, expected {1}", results->size(), outputs->size()).str()};
    for (size_t i = 0; i < results->size(); ++i)
      if (auto mismatch = compare((*results)[i].second, (*outputs)[i].second,
                                  (*results)[i].first))
        return {Outcome::Fail, sys::path::filename(set).str() + ": " + *mismatch};
  }
  return {Outcome::Pass, ""};
}

/// Runs runTest in a child process with a time limit.
Result runIsolated(StringRef dir) {
  int fds[2];
  if (pipe(fds) != 0)
    return {Outcome::Crash, "cannot create a pipe"};
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    Result result = runTest(dir);
    std::string line = outcomeName(result.outcome).str() + "\t" + result.message;
    (void)!write(fds[1], line.data(), line.size());
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  std::string output;
  char buffer[4096];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSeconds);
  bool timedOut = false;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      timedOut = true;
      break;
    }
    pollfd poller = {fds[0], POLLIN, 0};
    if (poll(&poller, 1, static_cast<int>(left)) <= 0)
      continue;
    ssize_t n = read(fds[0], buffer, sizeof buffer);
    if (n <= 0)
      break;
    output.append(buffer, n);
  }
  close(fds[0]);
  if (timedOut)
    kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  if (timedOut)
    return {Outcome::Crash, formatv("timed out after {0} s", unsigned(timeoutSeconds)).str()};
  if (WIFSIGNALED(status))
    return {Outcome::Crash, formatv("killed by signal {0}", WTERMSIG(status)).str()};
  auto [name, message] = StringRef(output).split('\t');
  for (Outcome o : {Outcome::Pass, Outcome::Fail, Outcome::Unsupported})
    if (name == outcomeName(o))
      return {o, message.str()};
  return {Outcome::Crash, "exited without a result"};
}

std::vector<std::string> collectTests() {
  std::vector<std::string> tests;
  Regex pattern(filter.empty() ? ".*" : filter.getValue());
  for (const std::string &dir : testDirs) {
    SmallString<256> model(dir);
    sys::path::append(model, "model.onnx");
    if (sys::fs::exists(model)) {
      tests.push_back(dir);
      continue;
    }
    std::error_code ec;
    for (sys::fs::directory_iterator it(dir, ec), end; it != end && !ec; it.increment(ec)) {
      SmallString<256> inner(it->path());
      sys::path::append(inner, "model.onnx");
      if (sys::fs::exists(inner) && pattern.match(sys::path::filename(it->path())))
        tests.push_back(it->path());
    }
  }
  llvm::sort(tests);
  return tests;
}

} // namespace

int dlc::tool::runConformanceCommand() {
  StringMap<std::string> expected;
  if (!expectedFailures.empty()) {
    auto file = MemoryBuffer::getFile(expectedFailures);
    if (!file) {
      WithColor::error(errs(), "dlc conformance")
          << "cannot read '" << expectedFailures << "': " << file.getError().message() << "\n";
      return 2;
    }
    for (line_iterator line(**file, /*SkipBlanks=*/true, '#'); !line.is_at_end(); ++line) {
      auto [name, reason] = line->trim().split(' ');
      expected[name] = reason.trim().str();
    }
  }
  std::vector<std::string> tests = collectTests();
  if (tests.empty()) {
    WithColor::error(errs(), "dlc conformance") << "no tests (folders with model.onnx) found\n";
    return 2;
  }
  std::map<Outcome, int> counts;
  int unexpected = 0;
  for (const std::string &test : tests) {
    StringRef name = sys::path::filename(test);
    Result result = runIsolated(test);
    ++counts[result.outcome];
    bool expectedToFail = expected.count(name);
    bool surprise = (result.outcome == Outcome::Pass) == expectedToFail;
    if (!expectedFailures.empty() && surprise)
      ++unexpected;
    if (!quiet || (result.outcome != Outcome::Pass && !expectedToFail) || surprise) {
      outs() << outcomeName(result.outcome) << " " << name;
      if (!result.message.empty())
        outs() << ": " << StringRef(result.message).split('\n').first.take_front(300);
      if (!expectedFailures.empty() && surprise)
        outs() << (expectedToFail ? "  [UNEXPECTED PASS]" : "  [UNEXPECTED FAILURE]");
      outs() << "\n";
    }
  }
  size_t total = tests.size();
  outs() << formatv("Conformance: {0} tests: {1} passed ({2:P1}), {3} failed, {4} "
                    "unsupported, {5} crashed or timed out\n",
                    total, counts[Outcome::Pass], double(counts[Outcome::Pass]) / total,
                    counts[Outcome::Fail], counts[Outcome::Unsupported],
                    counts[Outcome::Crash]);
  if (!expectedFailures.empty()) {
    outs() << formatv("{0} unexpected results against {1}\n", unexpected,
                      expectedFailures.getValue());
    return unexpected ? 1 : 0;
  }
  return counts[Outcome::Crash] ? 1 : 0;
}
