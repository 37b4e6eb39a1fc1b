//===- TrainingSetup.cpp - a runtime Trainer from an ONNX model -*- C++ -*-===//

#include "api/TrainingSetup.h"
#include "dlc/dlc.h"
#include "frontend/onnx/OnnxImporter.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/raw_ostream.h"

using namespace dlc;

llvm::Expected<TrainingSetup> dlc::trainingSetupFrom(const TrainingOptions &options) {
  TrainingSetup setup;
  for (const auto &[name, shape] : options.shapes)
    setup.shapes[name] = shape;
  TrainingGraphConfig &graph = setup.graph;
  auto loss = parseLossKind(options.loss);
  if (!loss)
    return loss.takeError();
  auto optimizer = parseOptimizerKind(options.optimizer);
  if (!optimizer)
    return optimizer.takeError();
  graph.loss = *loss;
  graph.labelSmoothing = options.labelSmoothing;
  graph.labelType = DType(int(options.labelType)); // the same order (Api.cpp checks)
  graph.optimizer.kind = *optimizer;
  graph.optimizer.momentum = options.momentum;
  graph.optimizer.nesterov = options.nesterov;
  graph.optimizer.weightDecay = options.weightDecay;
  graph.optimizer.clipNorm = options.clipNorm;
  graph.freeze = options.freeze;
  graph.prediction = options.prediction;
  setup.seed = options.seed;
  auto schedule = LearningRateSchedule::parse(options.schedule, options.learningRate);
  if (!schedule)
    return schedule.takeError();
  setup.schedule = *schedule;
  setup.schedule.warmupSteps = options.warmupSteps;
  if (setup.schedule.kind == LearningRateSchedule::Kind::cosine) {
    if (options.totalSteps <= 0)
      return llvm::createStringError("a cosine schedule needs the run's total steps");
    setup.schedule.totalSteps = std::max<int64_t>(1, options.totalSteps - options.warmupSteps);
  }
  return setup;
}

llvm::Expected<OnnxTrainer>
dlc::createOnnxTrainer(llvm::StringRef onnxPath, const TrainingSetup &setup) {
  // The compiled session keeps nothing of the context.
  mlir::MLIRContext context;
  OnnxImportOptions importOptions;
  importOptions.shapes = setup.shapes;
  importOptions.mode = OnnxImportMode::training;
  auto training = importOnnxFile(context, onnxPath, importOptions);
  if (!training)
    return training.takeError();
  importOptions.mode = OnnxImportMode::evaluation;
  auto evaluation = importOnnxFile(context, onnxPath, importOptions);
  if (!evaluation)
    return evaluation.takeError();
  auto graphs = buildTrainingGraphs(context, *training, *evaluation, setup.graph);
  if (!graphs)
    return llvm::joinErrors(
        llvm::createStringError("%s: cannot train", onnxPath.str().c_str()),
        graphs.takeError());
  if (!setup.stepIrPath.empty()) {
    std::error_code ec;
    llvm::raw_fd_ostream out(setup.stepIrPath, ec);
    if (ec)
      return llvm::createStringError("cannot write '%s': %s", setup.stepIrPath.c_str(),
                                     ec.message().c_str());
    graphs->step.module->print(out);
  }
  TrainingLayout layout;
  layout.numInputs = graphs->inputs.size();
  layout.randomInputs = graphs->randomInputs;
  layout.seed = setup.seed;
  layout.stateSlots = graphs->stateSlots;
  layout.reportsGradientNorm = graphs->reportsGradientNorm;
  layout.classification = setup.graph.loss == LossKind::softmaxCrossEntropy;
  OnnxTrainer result;
  std::vector<HostTensor> initial;
  for (auto &[name, value] : graphs->trainable) {
    layout.trainable.push_back(name);
    initial.push_back(value);
    result.trainableElements += value.numElements();
  }
  std::vector<HostTensor> buffers;
  for (auto &[name, value] : graphs->buffers) {
    layout.buffers.push_back(name);
    buffers.push_back(value);
    result.buffers.push_back(name);
  }
  auto session = Trainer::create(graphs->step, graphs->evaluation, std::move(layout),
                                 std::move(initial), std::move(buffers), setup.schedule);
  if (!session)
    return session.takeError();
  result.trainer = std::move(*session);
  result.inputs = graphs->inputs;
  result.frozen = graphs->frozen;
  return result;
}
