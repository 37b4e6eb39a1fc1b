//===- TrainCommand.cpp - `dlc train` ---------------------------*- C++ -*-===//
//
// Trains an ONNX model on arrays from an .npz file: compiles one training
// step (forward, loss, gradients, optimizer update) and an evaluation for
// the batch size, then runs epochs over shuffled batches. Shows progress,
// writes metrics (JSON lines) and curves (HTML) and atomic checkpoints, and
// resumes from the newest valid checkpoint. A fixed seed makes runs, and
// runs resumed after a kill, bit-identical.
//
//===----------------------------------------------------------------------===//

#include "tools/dlc/Commands.h"
#include "tools/dlc/TrainingReport.h"
#include "api/TrainingSetup.h"
#include "dlc/dlc.h"
#include "frontend/onnx/OnnxImporter.h"
#include "runtime/NumPyIO.h"
#include "runtime/Trainer.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"

#include <cmath>
#include <random>

using namespace llvm;
using namespace dlc;
using dlc::tool::fail;

cl::SubCommand dlc::tool::trainCommand(
    "train", "Train an ONNX model on arrays from an .npz file (compiled training steps)");

namespace {

cl::SubCommand &sub = dlc::tool::trainCommand;
cl::OptionCategory &cat = dlc::tool::dlcCategory;

cl::opt<std::string> modelPath(cl::Positional, cl::Required, cl::desc("<model.onnx>"),
                               cl::sub(sub), cl::cat(cat));
cl::opt<std::string> dataPath("data", cl::Required,
                              cl::desc("Training data: an .npz holding the model's inputs "
                                       "and the labels, first dimension the samples"),
                              cl::value_desc("TRAIN.npz"), cl::sub(sub), cl::cat(cat));
cl::opt<std::string> validationPath("val", cl::desc("Validation data, evaluated each epoch"),
                                    cl::value_desc("VAL.npz"), cl::sub(sub), cl::cat(cat));
cl::list<std::string> inputNames("inputs",
                                 cl::desc("The arrays fed to the model's inputs, in order "
                                          "(default: arrays named like the model's inputs)"),
                                 cl::CommaSeparated, cl::value_desc("NAME,..."), cl::sub(sub),
                                 cl::cat(cat));
cl::opt<std::string> labelsName("labels", cl::desc("The array of labels (default y)"),
                                cl::init("y"), cl::value_desc("NAME"), cl::sub(sub),
                                cl::cat(cat));
cl::opt<std::string> predictionName("prediction",
                                    cl::desc("The model output the loss compares with the "
                                             "labels (default: the first)"),
                                    cl::value_desc("OUTPUT"), cl::sub(sub), cl::cat(cat));
cl::opt<std::string> lossName("loss",
                              cl::desc("softmax_cross_entropy (default), mse, l1, "
                                       "bce_with_logits"),
                              cl::init("softmax_cross_entropy"), cl::value_desc("NAME"), cl::sub(sub), cl::cat(cat));
cl::opt<double> labelSmoothing("label-smoothing",
                               cl::desc("Label smoothing of softmax cross-entropy"),
                               cl::init(0), cl::value_desc("EPSILON"), cl::sub(sub), cl::cat(cat));
cl::opt<std::string> optimizerName("optimizer",
                                   cl::desc("adam (default), adamw, sgd, adagrad, rmsprop"),
                                   cl::init("adam"), cl::value_desc("NAME"), cl::sub(sub), cl::cat(cat));
cl::opt<double> learningRate("lr", cl::desc("Learning rate (default 1e-3)"), cl::init(1e-3),
                             cl::value_desc("RATE"), cl::sub(sub), cl::cat(cat));
cl::opt<std::string> scheduleText("schedule",
                                  cl::desc("Learning-rate schedule: constant (default), "
                                           "step:SIZE[:GAMMA], cosine[:MINIMUM]"),
                                  cl::init("constant"), cl::value_desc("SCHEDULE"), cl::sub(sub), cl::cat(cat));
cl::opt<int64_t> warmupSteps("warmup", cl::desc("Steps of linear learning-rate warm-up"),
                             cl::init(0), cl::value_desc("N"), cl::sub(sub), cl::cat(cat));
cl::opt<double> momentum("momentum", cl::desc("SGD momentum"), cl::init(0), cl::value_desc("M"), cl::sub(sub),
                         cl::cat(cat));
cl::opt<bool> nesterov("nesterov", cl::desc("Nesterov momentum (SGD)"), cl::sub(sub),
                       cl::cat(cat));
cl::opt<double> weightDecay("weight-decay",
                            cl::desc("Weight decay (L2; decoupled for adamw)"), cl::init(0),
                            cl::value_desc("W"), cl::sub(sub), cl::cat(cat));
cl::opt<double> clipNorm("clip-norm", cl::desc("Clip gradients to this global L2 norm"),
                         cl::init(0), cl::value_desc("NORM"), cl::sub(sub), cl::cat(cat));
cl::opt<std::string> freeze("freeze",
                            cl::desc("Parameters whose names match this regular expression "
                                     "stay fixed"),
                            cl::value_desc("REGEX"), cl::sub(sub), cl::cat(cat));
cl::opt<int64_t> batchSize("batch", cl::desc("Batch size (default 64)"), cl::init(64),
                           cl::value_desc("N"), cl::sub(sub), cl::cat(cat));
cl::opt<int64_t> epochs("epochs", cl::desc("Epochs (default 5)"), cl::init(5), cl::value_desc("N"), cl::sub(sub),
                        cl::cat(cat));
cl::opt<uint64_t> seed("seed", cl::desc("Seed of the batch order and of Dropout (default 0)"),
                       cl::init(0),
                       cl::value_desc("N"), cl::sub(sub), cl::cat(cat));
cl::opt<std::string> checkpointDir("checkpoint-dir",
                                   cl::desc("Where checkpoints, metrics.jsonl and curves.html "
                                            "go (default dlc-train)"),
                                   cl::init("dlc-train"), cl::value_desc("DIR"), cl::sub(sub),
                                   cl::cat(cat));
cl::opt<int64_t> checkpointEvery("checkpoint-every",
                                 cl::desc("Write a checkpoint every N steps (default: at the "
                                          "end of each epoch)"),
                                 cl::init(0), cl::value_desc("N"), cl::sub(sub), cl::cat(cat));
cl::opt<bool> resume("resume", cl::desc("Continue from the newest valid checkpoint"),
                     cl::sub(sub), cl::cat(cat));
cl::opt<std::string> stepIrPath("emit-step",
                                cl::desc("Also write the training step's dlc IR (MLIR) here"),
                                cl::value_desc("STEP.mlir"), cl::sub(sub), cl::cat(cat));
cl::opt<unsigned> threads("threads", cl::desc("Threads (default: one per core)"), cl::init(0),
                          cl::value_desc("N"), cl::sub(sub), cl::cat(cat));

/// The data of one split: the model's inputs in order, and the labels.
struct DataSet {
  std::vector<HostTensor> inputs;
  HostTensor labels;
  int64_t samples = 0;
};

/// `tensor` with its elements converted to `dtype` (a copy), or itself.
Expected<HostTensor> convertTo(const HostTensor &tensor, DType dtype, StringRef what) {
  if (tensor.dtype() == dtype)
    return tensor;
  bool toFloat = isFloat(dtype), fromFloat = isFloat(tensor.dtype());
  if (fromFloat && !toFloat)
    return createStringError("%s is %s; it must be %s", what.str().c_str(),
                             dtypeName(tensor.dtype()).data(), dtypeName(dtype).data());
  HostTensor converted(dtype, tensor.shape());
  for (int64_t i = 0; i < tensor.numElements(); ++i) {
    double value = tensor.elementAsDouble(i);
    switch (dtype) {
    case DType::f32: converted.dataAs<float>()[i] = float(value); break;
    case DType::f64: converted.dataAs<double>()[i] = value; break;
    case DType::i64: converted.dataAs<int64_t>()[i] = int64_t(value); break;
    case DType::i32: converted.dataAs<int32_t>()[i] = int32_t(value); break;
    default:
      return createStringError("%s is %s; it must be %s", what.str().c_str(),
                               dtypeName(tensor.dtype()).data(), dtypeName(dtype).data());
    }
  }
  return converted;
}

/// Reads `path` and picks the named arrays, checking they count the same
/// samples. Labels of float type stay float; integer labels become int64.
Expected<DataSet> readDataSet(StringRef path, ArrayRef<std::string> names) {
  auto arrays = readNumPyFile(path);
  if (!arrays)
    return arrays.takeError();
  auto find = [&](StringRef name) -> Expected<HostTensor> {
    for (auto &[arrayName, tensor] : *arrays)
      if (arrayName == name)
        return tensor;
    std::string known;
    for (auto &[arrayName, tensor] : *arrays)
      known += (known.empty() ? "" : ", ") + arrayName;
    return createStringError("%s has no array '%s' (it has: %s)", path.str().c_str(),
                             name.str().c_str(), known.c_str());
  };
  DataSet data;
  for (const std::string &name : names) {
    auto tensor = find(name);
    if (!tensor)
      return tensor.takeError();
    data.inputs.push_back(std::move(*tensor));
  }
  auto labels = find(labelsName);
  if (!labels)
    return labels.takeError();
  data.labels = isFloat(labels->dtype()) ? std::move(*labels)
                                         : cantFail(convertTo(*labels, DType::i64, ""));
  data.samples = data.labels.rank() ? data.labels.shape()[0] : 0;
  for (auto [name, tensor] : zip(names, data.inputs))
    if (!tensor.rank() || tensor.shape()[0] != data.samples)
      return createStringError("%s: array '%s' has %lld samples, labels '%s' have %lld",
                               path.str().c_str(), name.c_str(),
                               (long long)(tensor.rank() ? tensor.shape()[0] : 0),
                               labelsName.c_str(), (long long)data.samples);
  if (data.samples == 0)
    return createStringError("%s has no samples", path.str().c_str());
  return data;
}

/// The order of the samples in `epoch` (from 0): a Fisher-Yates shuffle by a
/// generator seeded from the seed and the epoch, so that a resumed run
/// visits the batches an uninterrupted one does.
std::vector<int64_t> epochOrder(int64_t samples, uint64_t runSeed, int64_t epoch) {
  std::vector<int64_t> order(samples);
  for (int64_t i = 0; i < samples; ++i)
    order[i] = i;
  std::mt19937_64 generator(runSeed * 0x9E3779B97F4A7C15ull + uint64_t(epoch) + 1);
  for (int64_t i = samples - 1; i > 0; --i)
    std::swap(order[i], order[generator() % uint64_t(i + 1)]);
  return order;
}

std::string checkpointPath(int64_t step) {
  SmallString<256> path(checkpointDir);
  sys::path::append(path, formatv("step-{0:d8}.npz", step).str());
  return path.str().str();
}

/// The checkpoints in the directory, newest first.
std::vector<std::pair<int64_t, std::string>> listCheckpoints() {
  std::vector<std::pair<int64_t, std::string>> found;
  std::error_code ec;
  for (sys::fs::directory_iterator it(checkpointDir, ec), end; it != end && !ec;
       it.increment(ec)) {
    StringRef name = sys::path::filename(it->path());
    int64_t step;
    if (name.consume_front("step-") && name.consume_back(".npz") && !name.getAsInteger(10, step))
      found.emplace_back(step, it->path());
  }
  std::sort(found.rbegin(), found.rend());
  return found;
}

/// What must not change between a run and its resumption.
std::string settingsOf(const Trainer &session, int64_t samples) {
  auto g = [](double value) { return format("%g", value); };
  return formatv("model={0};samples={1};batch={2};seed={3};loss={4};label_smoothing={5};"
                 "optimizer={6};momentum={7};nesterov={8};weight_decay={9};clip={10};"
                 "schedule={11};freeze={12}",
                 sys::path::filename(modelPath), samples, session.batchSize(), seed.getValue(),
                 lossName.getValue(), g(labelSmoothing), optimizerName.getValue(),
                 g(momentum), nesterov.getValue(), g(weightDecay), g(clipNorm),
                 session.schedule().describe(), freeze.getValue())
      .str();
}

HostTensor bytesTensor(StringRef text) {
  HostTensor tensor(DType::u8, {int64_t(text.size())});
  std::memcpy(tensor.data(), text.data(), text.size());
  return tensor;
}

std::string formatDuration(double seconds) {
  int64_t s = int64_t(std::lround(seconds));
  if (s >= 3600)
    return formatv("{0}h{1:d2}m", s / 3600, (s / 60) % 60).str();
  if (s >= 60)
    return formatv("{0}m{1:d2}s", s / 60, s % 60).str();
  return formatv("{0}s", s).str();
}

/// The progress line of an epoch: redrawn in place on a terminal.
class ProgressBar {
public:
  ProgressBar(int64_t epoch, int64_t epochs, int64_t steps)
      : epoch(epoch), epochs(epochs), total(steps),
        interactive(sys::Process::StandardErrIsDisplayed()) {}

  void update(int64_t done, double loss, double samplesPerSecond, double secondsLeft) {
    if (!interactive)
      return;
    auto now = std::chrono::steady_clock::now();
    if (done < total && now - lastDraw < std::chrono::milliseconds(100))
      return;
    lastDraw = now;
    const int width = 24;
    int filled = int(width * done / std::max<int64_t>(total, 1));
    errs() << formatv("\repoch {0}/{1} [{2}{3}] {4}/{5} loss {6:f4} {7:f0} samples/s ETA {8}  ",
                      epoch, epochs, std::string(filled, '#'), std::string(width - filled, '.'),
                      done, total, loss, samplesPerSecond, formatDuration(secondsLeft));
  }
  void finish() {
    if (interactive)
      errs() << "\r\033[K";
  }

private:
  int64_t epoch, epochs, total;
  bool interactive;
  std::chrono::steady_clock::time_point lastDraw;
};

} // namespace

int dlc::tool::runTrainCommand() {
  auto failWith = [](llvm::Error error) { return fail(dlc::tool::trainCommand, std::move(error)); };
  if (batchSize < 1 || epochs < 1)
    return failWith(createStringError("--batch and --epochs must be at least 1"));

  // The model's inputs come from arrays named like them unless --inputs says.
  auto graphInputs = onnxInputNames(modelPath);
  if (!graphInputs)
    return failWith(graphInputs.takeError());
  std::vector<std::string> arrays(inputNames.begin(), inputNames.end());
  if (arrays.empty())
    arrays = *graphInputs;
  if (arrays.size() != graphInputs->size())
    return failWith(createStringError("%s has %zu input(s); --inputs names %zu array(s)",
                                      modelPath.c_str(), graphInputs->size(), arrays.size()));
  auto train = readDataSet(dataPath, arrays);
  if (!train)
    return failWith(train.takeError());
  std::optional<DataSet> validation;
  if (!validationPath.empty()) {
    auto read = readDataSet(validationPath, arrays);
    if (!read)
      return failWith(read.takeError());
    validation = std::move(*read);
  }
  const int64_t stepsPerEpoch = train->samples / batchSize;
  if (stepsPerEpoch == 0)
    return failWith(createStringError("%s has %lld samples, fewer than one batch of %lld",
                                      dataPath.c_str(), (long long)train->samples,
                                      (long long)batchSize.getValue()));
  const int64_t totalSteps = stepsPerEpoch * epochs;

  // The same options the public API takes, then the import for the batch
  // size, the step built and compiled.
  dlc::TrainingOptions options;
  for (auto [name, tensor] : zip(*graphInputs, train->inputs)) {
    options.shapes[name] = {tensor.shape().begin(), tensor.shape().end()};
    options.shapes[name][0] = batchSize;
  }
  options.loss = lossName;
  options.labelSmoothing = labelSmoothing;
  options.labelType = dlc::ElementType(int(train->labels.dtype()));
  options.optimizer = optimizerName;
  options.learningRate = learningRate;
  options.schedule = scheduleText;
  options.warmupSteps = warmupSteps;
  options.totalSteps = totalSteps;
  options.momentum = momentum;
  options.nesterov = nesterov;
  options.weightDecay = weightDecay;
  options.clipNorm = clipNorm;
  options.freeze = freeze;
  options.prediction = predictionName;
  options.seed = seed;
  auto setup = trainingSetupFrom(options);
  if (!setup)
    return failWith(setup.takeError());
  setup->stepIrPath = stepIrPath;
  auto start = std::chrono::steady_clock::now();
  auto created = createOnnxTrainer(modelPath, *setup);
  if (!created)
    return failWith(created.takeError());
  // Inputs arrive in the model's order.
  if (created->inputs != *graphInputs)
    return failWith(createStringError("internal: the step's inputs are out of order"));
  Trainer &trainer = *created->trainer;
  const TrainingLayout &layout = trainer.layout();
  if (threads)
    trainer.setThreads(threads);
  {
    const TensorSpec &labelSpec = trainer.labelSpec();
    for (DataSet *data : {&*train, validation ? &*validation : nullptr}) {
      if (!data)
        continue;
      for (auto [i, tensor] : enumerate(data->inputs)) {
        const TensorSpec &spec = trainer.stepSignature().inputs[i];
        auto converted = convertTo(tensor, spec.dtype, "input '" + spec.name + "'");
        if (!converted)
          return failWith(converted.takeError());
        tensor = std::move(*converted);
      }
      auto labels = convertTo(data->labels, labelSpec.dtype, "the labels");
      if (!labels)
        return failWith(labels.takeError());
      data->labels = std::move(*labels);
    }
  }
  outs() << formatv("{0}: {1} trainable parameters in {2} tensors ({3} frozen{4}); {5} loss, "
                    "{6}, learning rate {7}\n",
                    modelPath.getValue(), created->trainableElements, layout.trainable.size(),
                    created->frozen.size(),
                    created->buffers.empty()
                        ? std::string()
                        : formatv(", {0} running statistics", created->buffers.size()).str(),
                    lossKindName(setup->graph.loss), optimizerKindName(setup->graph.optimizer.kind),
                    trainer.schedule().describe());
  outs() << formatv("compiled the training step and the evaluation in {0:f2} s ({1}); {2} "
                    "samples, {3} steps of {4} per epoch{5}\n",
                    secondsSince(start), trainer.stepExecutable().compileReport().summary(),
                    train->samples, stepsPerEpoch, batchSize.getValue(),
                    train->samples % batchSize
                        ? formatv(" ({0} left out of each epoch, a different {0} each time)",
                                  train->samples % batchSize)
                              .str()
                        : std::string());
  outs().flush();

  if (std::error_code ec = sys::fs::create_directories(checkpointDir))
    return failWith(createStringError("cannot create '%s': %s", checkpointDir.c_str(),
                                      ec.message().c_str()));
  const std::string settings = settingsOf(trainer, train->samples);
  SmallString<256> metricsPath(checkpointDir), htmlPath(checkpointDir);
  sys::path::append(metricsPath, "metrics.jsonl");
  sys::path::append(htmlPath, "curves.html");

  // Resume from the newest checkpoint that reads back whole. A fresh run
  // never mixes its checkpoints with an earlier run's.
  if (!resume && !listCheckpoints().empty())
    return failWith(createStringError("%s holds checkpoints of an earlier run: pass --resume "
                                      "to continue it, or choose another --checkpoint-dir",
                                      checkpointDir.c_str()));
  if (resume) {
    bool resumed = false;
    for (auto &[step, path] : listCheckpoints()) {
      auto extra = trainer.load(path);
      if (!extra) {
        errs() << "dlc train: skipping checkpoint " << path << ": "
               << toString(extra.takeError()) << "\n";
        continue;
      }
      std::string saved;
      for (auto &[name, tensor] : *extra)
        if (name == "train/settings")
          saved.assign(static_cast<const char *>(tensor.data()), tensor.byteSize());
      if (saved != settings)
        return failWith(createStringError(
            "checkpoint %s was written with other settings; resume with the same ones or use "
            "another --checkpoint-dir\n  it has:  %s\n  now:     %s",
            path.c_str(), saved.c_str(), settings.c_str()));
      outs() << formatv("resumed from {0} (step {1})\n", path, trainer.steps());
      resumed = true;
      break;
    }
    if (!resumed)
      outs() << "no checkpoint to resume from in " << checkpointDir << "; starting afresh\n";
  }
  TrainingHistory history = TrainingHistory::readJsonLines(
      metricsPath, resume ? trainer.steps() : -1);
  history.title = formatv("dlc train {0}", sys::path::filename(modelPath)).str();
  if (llvm::Error error = history.writeJsonLines(metricsPath))
    return failWith(std::move(error));
  std::error_code ec;
  raw_fd_ostream metrics(metricsPath, ec, sys::fs::OF_Append | sys::fs::OF_Text);
  if (ec)
    return failWith(createStringError("cannot append to %s: %s", metricsPath.c_str(),
                                      ec.message().c_str()));

  auto saveCheckpoint = [&](int64_t step) -> llvm::Error {
    NamedTensors extra = {{"train/settings", bytesTensor(settings)}};
    return trainer.save(checkpointPath(step), extra);
  };
  int64_t lastSaved = trainer.steps();
  auto runStart = std::chrono::steady_clock::now();
  int64_t stepsThisRun = 0;
  for (int64_t epoch = trainer.steps() / stepsPerEpoch; epoch < epochs; ++epoch) {
    std::vector<int64_t> order = epochOrder(train->samples, seed, epoch);
    int64_t first = trainer.steps() - epoch * stepsPerEpoch;
    ProgressBar bar(epoch + 1, epochs, stepsPerEpoch);
    auto epochStart = std::chrono::steady_clock::now();
    double lossSum = 0;
    for (int64_t b = first; b < stepsPerEpoch; ++b) {
      ArrayRef<int64_t> indices = ArrayRef(order).slice(b * batchSize, batchSize);
      std::vector<HostTensor> batch;
      for (const HostTensor &input : train->inputs)
        batch.push_back(gatherRows(input, indices));
      auto stepStart = std::chrono::steady_clock::now();
      auto result = trainer.step(batch, gatherRows(train->labels, indices));
      if (!result)
        return failWith(result.takeError());
      if (!std::isfinite(result->loss))
        return failWith(createStringError(
            "the loss is %f at step %lld: training diverged; try a lower --lr or --clip-norm "
            "(the checkpoints written so far are kept)",
            result->loss, (long long)trainer.steps()));
      ++stepsThisRun;
      lossSum += result->loss;
      StepRecord record;
      record.step = trainer.steps();
      record.epoch = epoch + 1;
      record.loss = result->loss;
      record.learningRate = result->learningRate;
      record.samplesPerSecond = double(batchSize) / secondsSince(stepStart);
      if (layout.reportsGradientNorm)
        record.gradientNorm = result->gradientNorm;
      metrics << TrainingHistory::toJsonLine(record) << "\n";
      history.steps.push_back(record);
      double perStep = secondsSince(runStart) / double(stepsThisRun);
      bar.update(b + 1, result->loss, double(batchSize) / perStep,
                 perStep * double(totalSteps - record.step));
      if (checkpointEvery > 0 && record.step % checkpointEvery == 0) {
        metrics.flush();
        if (llvm::Error error = saveCheckpoint(record.step))
          return failWith(std::move(error));
        lastSaved = record.step;
      }
    }
    bar.finish();
    EpochRecord summary;
    summary.epoch = epoch + 1;
    summary.step = trainer.steps();
    summary.trainLoss = lossSum / double(std::max<int64_t>(1, stepsPerEpoch - first));
    std::string line = formatv("epoch {0}/{1}: loss {2:f4}", epoch + 1, epochs.getValue(),
                               summary.trainLoss)
                           .str();
    if (validation) {
      auto evaluation = trainer.evaluate(validation->inputs, validation->labels);
      if (!evaluation)
        return failWith(evaluation.takeError());
      summary.validationLoss = evaluation->loss;
      line += formatv(", val loss {0:f4}", evaluation->loss).str();
      if (layout.classification) {
        summary.validationAccuracy = evaluation->accuracy;
        line += formatv(", val accuracy {0:f2}%", 100 * evaluation->accuracy).str();
      }
    }
    summary.seconds = secondsSince(epochStart);
    double perStep = secondsSince(runStart) / double(std::max<int64_t>(1, stepsThisRun));
    outs() << line
           << formatv(" ({0:f1} s, {1:f0} samples/s, {2} left)\n", summary.seconds,
                      double(batchSize) / perStep,
                      formatDuration(perStep * double(totalSteps - summary.step)));
    outs().flush();
    metrics << TrainingHistory::toJsonLine(summary) << "\n";
    metrics.flush();
    history.epochs.push_back(summary);
    if (llvm::Error error = history.writeHtml(htmlPath))
      return failWith(std::move(error));
    if (checkpointEvery == 0 && lastSaved != summary.step) {
      if (llvm::Error error = saveCheckpoint(summary.step))
        return failWith(std::move(error));
      lastSaved = summary.step;
    }
  }
  if (lastSaved != trainer.steps() || !sys::fs::exists(checkpointPath(lastSaved)))
    if (llvm::Error error = saveCheckpoint(trainer.steps()))
      return failWith(std::move(error));
  outs() << formatv("trained {0} steps; weights in {1}\nmetrics in {2}, curves in {3}\n"
                    "export: dlc export {1} --onnx {4} -o trained.onnx\n",
                    trainer.steps(), checkpointPath(trainer.steps()), metricsPath,
                    htmlPath, modelPath.getValue());
  return 0;
}
