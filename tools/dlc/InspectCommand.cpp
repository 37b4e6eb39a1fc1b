//===- InspectCommand.cpp - `dlc inspect` -----------------------*- C++ -*-===//
//
// Shows what dlc makes of a model: the dlc ops it imported, the kernels the
// CPU pipeline turned them into (fused elementwise loop nests, GEMM calls)
// with their FLOPs, and the memory plan. Pictures: the kernel graph as
// Graphviz (--dot, or --svg through Graphviz's `dot`) and the memory plan
// as a timeline (--memory-svg).
//
//===----------------------------------------------------------------------===//

#include "tools/dlc/Commands.h"
#include "codegen/cpu/Buffers.h"
#include "codegen/cpu/KernelAbi.h"
#include "codegen/cpu/MemoryPlan.h"
#include "codegen/cpu/Passes.h"
#include "frontend/onnx/OnnxImporter.h"
#include "ir/Diagnostics.h"
#include "ir/DlcDialect.h"
#include "runtime/Artifact.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/ToolOutputFile.h"

#include <numeric>

using namespace llvm;
using namespace dlc;
using dlc::tool::fail;
using mlir::Value;
using mlir::ViewLikeOpInterface;

cl::SubCommand dlc::tool::inspectCommand(
    "inspect", "Show a model's kernels, FLOPs and memory plan, with pictures");

namespace {

cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                               cl::desc("<model.onnx | model.onnxtxt | model.dlc>"),
                               cl::sub(dlc::tool::inspectCommand),
                               cl::cat(dlc::tool::dlcCategory));
cl::list<std::string> shapes(
    "shape", cl::desc("Fix an input's shape: NAME=D1xD2x... (repeatable)"),
    cl::sub(dlc::tool::inspectCommand), cl::cat(dlc::tool::dlcCategory));
cl::opt<std::string> dotPath("dot", cl::desc("Write the kernel graph as Graphviz source"),
                             cl::value_desc("FILE.dot"), cl::sub(dlc::tool::inspectCommand),
                             cl::cat(dlc::tool::dlcCategory));
cl::opt<std::string> svgPath("svg",
                             cl::desc("Render the kernel graph with Graphviz's dot"),
                             cl::value_desc("FILE.svg"), cl::sub(dlc::tool::inspectCommand),
                             cl::cat(dlc::tool::dlcCategory));
cl::opt<std::string> memoryPath("memory-svg",
                                cl::desc("Draw the memory plan as a timeline"),
                                cl::value_desc("FILE.svg"),
                                cl::sub(dlc::tool::inspectCommand),
                                cl::cat(dlc::tool::dlcCategory));
cl::opt<unsigned> top("top", cl::desc("Kernels listed, by FLOPs (default 10)"), cl::init(10),
                      cl::sub(dlc::tool::inspectCommand), cl::cat(dlc::tool::dlcCategory));

/// One kernel of @main, in schedule order.
struct Kernel {
  std::string kind;     // "gemm", "linalg.generic", ...
  std::string location; // the ONNX node or layer it came from
  double flops = 0;
  SmallVector<Value> reads, writes; // root buffers
};

std::string shapeOf(Value buffer) {
  auto type = cast<mlir::MemRefType>(buffer.getType());
  return formatShape(type.getShape());
}

/// The product of `operands` at `positions` where all are constants (the
/// sizes of a fused pair's first kernel's output, which has no buffer).
std::optional<double> constantProduct(mlir::ValueRange operands,
                                      std::initializer_list<unsigned> positions) {
  double product = 1.0;
  for (unsigned position : positions) {
    std::optional<int64_t> d = mlir::getConstantIntValue(operands[position]);
    if (!d)
      return std::nullopt;
    product *= double(*d);
  }
  return product;
}

/// The runtime's product, its arguments `operands` (GemmF32Argument).
Kernel describeGemm(mlir::ValueRange operands, mlir::Location loc) {
  Kernel kernel{"gemm", describeLocation(loc)};
  Value a = dlc::addressedBuffer(operands[kGemmA]), b = dlc::addressedBuffer(operands[kGemmB]),
        c = dlc::addressedBuffer(operands[kGemmC]);
  if (!a || !b)
    return kernel;
  // The product's size from the operands' static shapes: C is [B,] M x N,
  // A is [B,] M x K (or M x K shared). A C that a fused pair never writes
  // has no buffer (dlc-cpu-pair-kernels): its sizes are constants.
  double product = 2.0 * cast<mlir::MemRefType>(a.getType()).getShape().back();
  if (c) {
    for (int64_t d : cast<mlir::MemRefType>(c.getType()).getShape())
      product *= double(d);
  } else if (std::optional<double> sizes =
                 constantProduct(operands, {kGemmBatch, kGemmM, kGemmN})) {
    product *= *sizes;
  } else {
    return kernel;
  }
  kernel.flops = product;
  kernel.reads = {dlc::bufferRoot(a), dlc::bufferRoot(b)};
  if (c)
    kernel.writes = {dlc::bufferRoot(c)};
  return kernel;
}

/// The runtime's convolution: 2·N·O·HO·WO·C·KH·KW FLOPs, from the static
/// shapes of its filter ([O, C, KH, KW], or a depthwise [C, KH, KW]) and
/// output ([N, O, HO, WO]); its arguments `operands` (Conv2dF32Argument).
Kernel describeConv(mlir::ValueRange operands, mlir::Location loc) {
  Kernel kernel{"conv", describeLocation(loc)};
  Value input = dlc::addressedBuffer(operands[kConvInput]),
        filter = dlc::addressedBuffer(operands[kConvFilter]),
        output = dlc::addressedBuffer(operands[kConvOutput]);
  if (!filter)
    return kernel;
  double flops = 2.0;
  for (int64_t d : cast<mlir::MemRefType>(filter.getType()).getShape().drop_front())
    flops *= double(d);
  if (output) {
    for (int64_t d : cast<mlir::MemRefType>(output.getType()).getShape())
      flops *= double(d);
  } else if (std::optional<double> sizes = constantProduct(
                 operands, {kConvImages, kConvOutChannels, kConvOutH, kConvOutW})) {
    // A fused pair's first convolution writes no buffer (the depthwise
    // convolution's input, which the fused kernel never writes).
    flops *= *sizes;
  } else {
    return kernel;
  }
  kernel.flops = flops;
  // (Nor has that depthwise convolution's input a buffer.)
  if (input)
    kernel.reads = {dlc::bufferRoot(input)};
  kernel.reads.push_back(dlc::bufferRoot(filter));
  if (output)
    kernel.writes = {dlc::bufferRoot(output)};
  return kernel;
}

/// The runtime's product (or convolution) and depthwise convolution as
/// one call (dlc-cpu-pair-kernels): the two kernels' work and buffers.
Kernel describePair(mlir::func::CallOp call, bool firstIsConv) {
  mlir::ValueRange operands = call.getOperands();
  const unsigned firstArguments = firstIsConv ? kConv2dF32Arguments : kGemmF32Arguments;
  Kernel first = firstIsConv
                     ? describeConv(operands.take_front(firstArguments), call.getLoc())
                     : describeGemm(operands.take_front(firstArguments), call.getLoc());
  Kernel depthwise = describeConv(operands.drop_front(firstArguments), call.getLoc());
  Kernel kernel{first.kind + " + depthwise", depthwise.location,
                first.flops + depthwise.flops, first.reads, first.writes};
  llvm::append_range(kernel.reads, depthwise.reads);
  llvm::append_range(kernel.writes, depthwise.writes);
  return kernel;
}

/// Whether `kernel` is one of the runtime's tuned kernels.
bool isRuntimeKernel(const Kernel &kernel) {
  return kernel.kind == "gemm" || kernel.kind == "conv" || kernel.kind == "gemm + depthwise" ||
         kernel.kind == "conv + depthwise";
}

Kernel describeCall(mlir::func::CallOp call, mlir::ModuleOp module) {
  if (call.getCallee() == kGemmF32Kernel)
    return describeGemm(call.getOperands(), call.getLoc());
  if (call.getCallee() == kConv2dF32Kernel || call.getCallee() == kDepthwiseConv2dF32Kernel)
    return describeConv(call.getOperands(), call.getLoc());
  if (call.getCallee() == kExpandDepthwiseF32Kernel)
    return describePair(call, /*firstIsConv=*/false);
  if (call.getCallee() == kConvDepthwiseF32Kernel)
    return describePair(call, /*firstIsConv=*/true);
  Kernel kernel{"call", describeLocation(call.getLoc())};
  auto callee = module.lookupSymbol<mlir::func::FuncOp>(call.getCallee());
  if (!callee || callee.isExternal())
    return kernel;
  // A row kernel (dlc-fuse-rows) holds several ops: its work is theirs.
  int ops = 0;
  callee.walk([&](mlir::linalg::LinalgOp op) {
    kernel.kind = ++ops == 1 ? op->getName().getStringRef().str()
                             : formatv("rows of {0} ops", ops).str();
    double points = 1;
    for (int64_t range : op.getStaticLoopRanges())
      points *= double(range);
    // One FLOP per arithmetic op of the body per iteration point.
    int64_t arithmetic = 0;
    op->getRegion(0).walk([&](mlir::Operation *inner) {
      if (isa<mlir::arith::ArithDialect, mlir::math::MathDialect>(inner->getDialect()) &&
          !isa<mlir::arith::ConstantOp>(inner))
        ++arithmetic;
    });
    kernel.flops += points * double(arithmetic);
    auto callOperand = [&](Value inner) -> Value {
      // A kernel on a slice makes its subview itself (dlc-outline-kernels),
      // a row kernel its reshapes (dlc-fuse-rows).
      inner = dlc::bufferRoot(inner);
      if (auto argument = dyn_cast<mlir::BlockArgument>(inner);
          argument && argument.getOwner()->getParentOp() == callee)
        return dlc::bufferRoot(call.getOperand(argument.getArgNumber()));
      return {};
    };
    for (mlir::OpOperand *input : op.getDpsInputOperands())
      if (Value buffer = callOperand(input->get()))
        kernel.reads.push_back(buffer);
    for (mlir::OpOperand &init : op.getDpsInitsMutable())
      if (Value buffer = callOperand(init.get()))
        kernel.writes.push_back(buffer);
  });
  return kernel;
}

std::string humanFlops(double flops) {
  if (flops >= 1e9)
    return formatv("{0:f2} GFLOP", flops / 1e9).str();
  if (flops >= 1e6)
    return formatv("{0:f1} MFLOP", flops / 1e6).str();
  return formatv("{0:f0} FLOP", flops).str();
}

/// Kernels as boxes, data flowing between them as edges labelled with the
/// buffer's shape; the model's inputs and outputs as ellipses.
void writeDot(raw_ostream &os, mlir::func::FuncOp main, ArrayRef<Kernel> kernels) {
  os << "digraph dlc {\n  rankdir=TB;\n"
        "  node [shape=box, style=\"rounded,filled\", fillcolor=white, fontname=Helvetica];\n"
        "  edge [fontname=Helvetica, fontsize=10];\n";
  DenseMap<Value, std::string> producer;
  for (auto [i, argument] : llvm::enumerate(main.getArguments())) {
    if (auto name = main.getArgAttrOfType<mlir::StringAttr>(i, kInputAttr)) {
      os << formatv("  arg{0} [shape=ellipse, label=\"{1}\\n{2}\"];\n", i, name.getValue(),
                    shapeOf(argument));
      producer[argument] = formatv("arg{0}", i).str();
    }
  }
  for (auto [i, kernel] : llvm::enumerate(kernels)) {
    std::string location = kernel.location;
    std::replace(location.begin(), location.end(), '"', '\'');
    os << formatv("  k{0} [label=\"{1}\\n{2}\\n{3}\"{4}];\n", i, kernel.kind, location,
                  humanFlops(kernel.flops),
                  isRuntimeKernel(kernel) ? ", fillcolor=\"#cfe2ff\"" : "");
    for (Value read : kernel.reads)
      if (auto it = producer.find(read); it != producer.end())
        os << formatv("  {0} -> k{1} [label=\"{2}\"];\n", it->second, i, shapeOf(read));
    for (Value write : kernel.writes)
      producer[write] = formatv("k{0}", i).str();
  }
  for (auto [i, argument] : llvm::enumerate(main.getArguments()))
    if (auto name = main.getArgAttrOfType<mlir::StringAttr>(i, kOutputAttr)) {
      os << formatv("  out{0} [shape=ellipse, label=\"{1}\\n{2}\"];\n", i, name.getValue(),
                    shapeOf(argument));
      if (auto it = producer.find(argument); it != producer.end())
        os << formatv("  {0} -> out{1};\n", it->second, i);
    }
  os << "}\n";
}

/// Each buffer a rectangle: across, its live range in the schedule; down,
/// its place in the arena.
void writeMemorySvg(raw_ostream &os, const FunctionMemoryPlan &plan) {
  const double width = 960, height = 480, left = 70, topMargin = 30;
  int64_t last = 1;
  for (const auto &buffer : plan.buffers)
    last = std::max(last, buffer.range.last + 1);
  double arena = std::max<double>(1, plan.arenaBytes);
  os << formatv("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
                "font-family=\"Helvetica\" font-size=\"12\">\n",
                width + left + 20, height + topMargin + 50);
  os << formatv("<text x=\"{0}\" y=\"18\">memory plan: {1:f1} MB arena for {2:f1} MB of "
                "buffers ({3} buffers)</text>\n",
                left, plan.arenaBytes / 1e6, plan.separateBytes / 1e6, plan.buffers.size());
  os << formatv("<rect x=\"{0}\" y=\"{1}\" width=\"{2}\" height=\"{3}\" fill=\"none\" "
                "stroke=\"#888\"/>\n",
                left, topMargin, width, height);
  for (const auto &buffer : plan.buffers) {
    double x = left + width * buffer.range.first / last;
    double w = std::max(1.0, width * (buffer.range.last + 1 - buffer.range.first) / last);
    double y = topMargin + height * buffer.offset / arena;
    double h = std::max(1.0, height * buffer.range.bytes / arena);
    os << formatv("<rect x=\"{0:f1}\" y=\"{1:f1}\" width=\"{2:f1}\" height=\"{3:f1}\" "
                  "fill=\"#4a90d9\" fill-opacity=\"0.6\" stroke=\"#1f4e79\" "
                  "stroke-width=\"0.5\"><title>{4:f3} MB at offset {5:f3} MB, steps "
                  "{6}-{7}</title></rect>\n",
                  x, y, w, h, buffer.range.bytes / 1e6, buffer.offset / 1e6,
                  buffer.range.first, buffer.range.last);
  }
  os << formatv("<text x=\"{0}\" y=\"{1}\">schedule (operations of @main) &#8594;</text>\n",
                left, topMargin + height + 20);
  os << formatv("<text x=\"10\" y=\"{0}\">0 MB</text><text x=\"10\" y=\"{1}\">{2:f1} MB</text>\n",
                topMargin + 12, topMargin + height, plan.arenaBytes / 1e6);
  os << "</svg>\n";
}

Error writeFile(StringRef path, function_ref<void(raw_ostream &)> write) {
  std::error_code ec;
  ToolOutputFile out(path, ec, sys::fs::OF_Text);
  if (ec)
    return createStringError("cannot write '%s': %s", path.str().c_str(),
                             ec.message().c_str());
  write(out.os());
  out.keep();
  return Error::success();
}

} // namespace

int dlc::tool::runInspectCommand() {
  mlir::DialectRegistry registry;
  registerCpuCodegenDialects(registry);
  mlir::MLIRContext context(registry);
  mlir::OwningOpRef<mlir::ModuleOp> module;
  if (isArtifactFile(modelPath)) {
    auto artifact = readArtifact(modelPath);
    if (!artifact)
      return fail(dlc::tool::inspectCommand, artifact.takeError());
    auto parsed = parseArtifactModule(context, *artifact);
    if (!parsed)
      return fail(dlc::tool::inspectCommand, parsed.takeError());
    module = std::move(*parsed);
  } else {
    OnnxImportOptions options;
    if (Error error = parseShapeOptions(shapes, options.shapes))
      return fail(dlc::tool::inspectCommand, std::move(error));
    auto model = importOnnxFile(context, modelPath, options);
    if (!model)
      return fail(dlc::tool::inspectCommand, model.takeError());
    module = std::move(model->module);
  }

  MapVector<StringRef, int64_t> dlcOps;
  int64_t dlcTotal = 0;
  module->walk([&](mlir::Operation *op) {
    if (isa<DlcDialect>(op->getDialect())) {
      ++dlcOps[op->getName().getStringRef()];
      ++dlcTotal;
    }
  });
  if (Error error = lowerForCpu(*module, CpuStage::Kernels))
    return fail(dlc::tool::inspectCommand, std::move(error));
  auto main = module->lookupSymbol<mlir::func::FuncOp>(kEntryFunction);
  if (!main)
    return fail(dlc::tool::inspectCommand, createStringError("the module has no @main"));

  // Kernels in program order, those in a loop (one image at a time) with
  // their work counted once per iteration.
  std::vector<Kernel> kernels;
  main.walk<mlir::WalkOrder::PreOrder>([&](mlir::Operation *op) {
    double repeats = 1;
    for (auto loop = op->getParentOfType<mlir::scf::ForOp>(); loop;
         loop = loop->getParentOfType<mlir::scf::ForOp>()) {
      auto lower = mlir::getConstantIntValue(loop.getLowerBound());
      auto upper = mlir::getConstantIntValue(loop.getUpperBound());
      auto step = mlir::getConstantIntValue(loop.getStep());
      if (lower && upper && step && *step > 0 && *upper > *lower)
        repeats *= double((*upper - *lower + *step - 1) / *step);
    }
    if (auto call = dyn_cast<mlir::func::CallOp>(op)) {
      kernels.push_back(describeCall(call, *module));
      kernels.back().flops *= repeats;
    } else if (auto copy = dyn_cast<mlir::memref::CopyOp>(op)) {
      kernels.push_back({"copy", describeLocation(copy.getLoc()), 0,
                         {dlc::bufferRoot(copy.getSource())}, {dlc::bufferRoot(copy.getTarget())}});
    }
  });
  double totalFlops = 0, runtimeFlops = 0;
  int64_t gemms = 0, convs = 0, pairs = 0, copies = 0;
  for (const Kernel &kernel : kernels) {
    totalFlops += kernel.flops;
    if (isRuntimeKernel(kernel))
      runtimeFlops += kernel.flops;
    // A pair counts as each of its kernels.
    gemms += kernel.kind == "gemm" || kernel.kind == "gemm + depthwise";
    convs += kernel.kind == "conv + depthwise"                            ? 2
             : kernel.kind == "conv" || kernel.kind == "gemm + depthwise" ? 1
                                                                          : 0;
    pairs += kernel.kind == "gemm + depthwise" || kernel.kind == "conv + depthwise";
    copies += kernel.kind == "copy" || kernel.kind == "linalg.copy";
  }
  FunctionMemoryPlan plan = planFunctionMemory(main);

  outs() << modelPath << "\n";
  if (auto split = (*module)->getAttrOfType<mlir::IntegerAttr>(kBatchSplitAttr))
    outs() << formatv("  batch of {0}, run one sample at a time over the threads; "
                      "the figures below are one sample's\n",
                      split.getInt());
  outs() << formatv("  dlc ops: {0} ({1} kinds)\n", dlcTotal, dlcOps.size());
  std::vector<std::pair<StringRef, int64_t>> byCount(dlcOps.begin(), dlcOps.end());
  llvm::stable_sort(byCount, [](auto &a, auto &b) { return a.second > b.second; });
  outs() << "   ";
  for (auto [name, count] : ArrayRef(byCount).take_front(8))
    outs() << " " << name << " " << count;
  outs() << "\n";
  outs() << formatv("  kernels: {0} ({1} GEMM calls, {2} convolution calls, {3} pairs of them "
                    "as one call, {4} generated loop nests, {5} copies)\n",
                    kernels.size(), gemms, convs, pairs,
                    int64_t(kernels.size()) - (gemms + convs - pairs) - copies, copies);
  outs() << formatv("  work: {0}, {1:f1}% of it in GEMM and convolution kernels\n",
                    humanFlops(totalFlops), totalFlops ? 100 * runtimeFlops / totalFlops : 0.0);
  outs() << formatv("  memory: {0} intermediate buffers, {1:f1} MB apart, in a {2:f1} MB "
                    "arena ({3:f1}%)\n",
                    plan.buffers.size(), plan.separateBytes / 1e6, plan.arenaBytes / 1e6,
                    plan.separateBytes ? 100.0 * plan.arenaBytes / plan.separateBytes : 0.0);
  std::vector<size_t> order(kernels.size());
  std::iota(order.begin(), order.end(), 0);
  llvm::stable_sort(order, [&](size_t a, size_t b) { return kernels[a].flops > kernels[b].flops; });
  outs() << formatv("  heaviest kernels:\n");
  for (size_t i : ArrayRef(order).take_front(top))
    outs() << formatv("    {0,12}  {1,-16} {2}\n", humanFlops(kernels[i].flops),
                      kernels[i].kind, kernels[i].location);

  if (!dotPath.empty())
    if (Error error = writeFile(dotPath, [&](raw_ostream &os) { writeDot(os, main, kernels); }))
      return fail(dlc::tool::inspectCommand, std::move(error));
  if (!svgPath.empty()) {
    auto dot = sys::findProgramByName("dot");
    if (!dot)
      return fail(dlc::tool::inspectCommand, createStringError("--svg needs Graphviz's `dot` (apt install graphviz); "
                                    "--dot FILE writes the graph's source without it"));
    SmallString<128> source;
    if (std::error_code ec = sys::fs::createTemporaryFile("dlc-inspect", "dot", source))
      return fail(dlc::tool::inspectCommand, createStringError("cannot create a temporary file: %s",
                                    ec.message().c_str()));
    if (Error error = writeFile(source, [&](raw_ostream &os) { writeDot(os, main, kernels); }))
      return fail(dlc::tool::inspectCommand, std::move(error));
    std::string message;
    StringRef args[] = {*dot, "-Tsvg", "-o", svgPath, source};
    int status = sys::ExecuteAndWait(*dot, args, std::nullopt, {}, 120, 0, &message);
    sys::fs::remove(source);
    if (status != 0)
      return fail(dlc::tool::inspectCommand, createStringError("dot failed: %s", message.c_str()));
  }
  if (!memoryPath.empty())
    if (Error error =
            writeFile(memoryPath, [&](raw_ostream &os) { writeMemorySvg(os, plan); }))
      return fail(dlc::tool::inspectCommand, std::move(error));
  return 0;
}
