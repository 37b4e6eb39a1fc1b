//===- TrainerTest.cpp - training graphs, the Trainer and its API -*- C++ -*-===//
//
// buildTrainingGraphs around a built model (its errors, and an evaluation
// that computes what the model does), learning-rate schedules, the
// Trainer's checkpoints (round trip, damage, mismatch), and the public
// TrainingSession on an ONNX model written in ONNX's text syntax.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "dlc/dlc.h"
#include "frontend/builder/Training.h"
#include "runtime/NumPyIO.h"
#include "runtime/Trainer.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <fstream>

using namespace dlc;
using namespace dlc::test;

namespace {

constexpr int64_t kBatch = 8, kFeatures = 4, kClasses = 3;

/// x [8, 4] -> linear (w [4, 3], b [3]) -> logits, and a second output.
Model linearModel(mlir::MLIRContext &context, Rng &rng) {
  GraphBuilder g(context);
  Tensor x = g.input("x", {kBatch, kFeatures});
  Tensor w = g.parameter("w", randomUniform({kFeatures, kClasses}, -0.5, 0.5, rng));
  Tensor b = g.parameter("b", randomUniform({kClasses}, -0.5, 0.5, rng));
  Tensor logits = g.linear(x, w, b);
  g.output("logits", logits);
  g.output("classes", g.argMax(logits, 1, false, false));
  return cantFail(g.finish());
}

std::string errorOf(llvm::Expected<TrainingGraphs> graphs) {
  return graphs ? "" : llvm::toString(graphs.takeError());
}

/// Separable data: the label is the index of the largest of the first three
/// features.
std::pair<HostTensor, HostTensor> classes(int64_t n, Rng &rng) {
  HostTensor x = randomUniform({n, kFeatures}, -1, 1, rng);
  HostTensor y(DType::i64, {n});
  for (int64_t i = 0; i < n; ++i) {
    const float *row = x.dataAs<float>() + i * kFeatures;
    y.dataAs<int64_t>()[i] = std::max_element(row, row + kClasses) - row;
  }
  return {x, y};
}

std::unique_ptr<Trainer> makeTrainer(mlir::MLIRContext &context, Rng &rng,
                                     OptimizerKind optimizer) {
  Model model = linearModel(context, rng);
  TrainingGraphConfig config;
  config.optimizer.kind = optimizer;
  auto graphs = buildTrainingGraphs(context, model, config);
  EXPECT_TRUE(bool(graphs)) << errorOf(std::move(graphs));
  TrainingLayout layout;
  layout.numInputs = 1;
  layout.stateSlots = graphs->stateSlots;
  layout.classification = true;
  std::vector<HostTensor> initial;
  for (auto &[name, value] : graphs->trainable) {
    layout.trainable.push_back(name);
    initial.push_back(value);
  }
  LearningRateSchedule schedule;
  schedule.base = 0.1;
  auto trainer =
      Trainer::create(graphs->step, graphs->evaluation, layout, initial, {}, schedule);
  EXPECT_TRUE(bool(trainer)) << (trainer ? "" : llvm::toString(trainer.takeError()));
  return trainer ? std::move(*trainer) : nullptr;
}

std::string temporaryPath(llvm::StringRef name, llvm::StringRef suffix) {
  llvm::SmallString<128> path;
  EXPECT_FALSE(llvm::sys::fs::createTemporaryFile(name, suffix, path));
  return path.str().str();
}

} // namespace

TEST(TrainerTest, TrainingGraphsRefuseWhatCannotTrain) {
  mlir::MLIRContext context;
  Rng rng(1);
  Model model = linearModel(context, rng);
  TrainingGraphConfig config;
  config.prediction = "probabilities";
  EXPECT_EQ(errorOf(buildTrainingGraphs(context, model, config)),
            "the model has no output 'probabilities' (its outputs: logits, classes)");
  config.prediction = "classes";
  EXPECT_EQ(errorOf(buildTrainingGraphs(context, model, config)),
            "the model's output 'classes' is int64: only a float output can be trained "
            "against labels");
  config.prediction = "";
  config.freeze = "(";
  EXPECT_NE(errorOf(buildTrainingGraphs(context, model, config))
                .find("--freeze '(' is not a regular expression"),
            std::string::npos);
  config.freeze = "^[wb]$";
  EXPECT_EQ(errorOf(buildTrainingGraphs(context, model, config)),
            "the model has no trainable parameters (2 float parameter(s), all frozen by "
            "--freeze ^[wb]$)");
  config.freeze = "^w$";
  auto graphs = buildTrainingGraphs(context, model, config);
  ASSERT_TRUE(bool(graphs)) << errorOf(std::move(graphs));
  ASSERT_EQ(graphs->trainable.size(), 1u);
  EXPECT_EQ(graphs->trainable[0].first, "b");
  EXPECT_EQ(graphs->frozen, std::vector<std::string>{"w"});
}

TEST(TrainerTest, EvaluationComputesWhatTheModelDoes) {
  mlir::MLIRContext context;
  Rng rng(2);
  Model model = linearModel(context, rng);
  NamedTensors weights = model.weights;
  TrainingGraphConfig config;
  config.optimizer.kind = OptimizerKind::adam;
  auto graphs = buildTrainingGraphs(context, model, config);
  ASSERT_TRUE(bool(graphs)) << errorOf(std::move(graphs));
  EXPECT_EQ(graphs->stateSlots, (std::vector<std::string>{"m", "v"}));
  auto signature = readSignature(graphs->step.module.get());
  ASSERT_TRUE(bool(signature));
  std::vector<std::string> names;
  for (const TensorSpec &spec : signature->inputs)
    names.push_back(spec.name);
  EXPECT_EQ(names, (std::vector<std::string>{"x", "labels", "learning_rate", "step", "param:w",
                                             "param:b", "state:m:w", "state:m:b", "state:v:w",
                                             "state:v:b"}));

  // The evaluation's prediction is x·w + b, its loss per sample the
  // cross-entropy, both recomputed here in float64.
  auto [x, y] = classes(kBatch, rng);
  auto evaluation = Executable::compile(graphs->evaluation);
  ASSERT_TRUE(bool(evaluation));
  auto outputs = (*evaluation)->run({x, y, weights[0].second, weights[1].second});
  ASSERT_TRUE(bool(outputs)) << llvm::toString(outputs.takeError());
  const float *w = weights[0].second.dataAs<float>(), *b = weights[1].second.dataAs<float>();
  for (int64_t i = 0; i < kBatch; ++i) {
    double logits[kClasses], largest = -INFINITY, sum = 0;
    for (int64_t c = 0; c < kClasses; ++c) {
      logits[c] = b[c];
      for (int64_t k = 0; k < kFeatures; ++k)
        logits[c] += double(x.dataAs<float>()[i * kFeatures + k]) * w[k * kClasses + c];
      EXPECT_NEAR((*outputs)[0].dataAs<float>()[i * kClasses + c], logits[c], 1e-5);
      largest = std::max(largest, logits[c]);
    }
    for (double logit : logits)
      sum += std::exp(logit - largest);
    double loss = -(logits[y.dataAs<int64_t>()[i]] - largest - std::log(sum));
    EXPECT_NEAR((*outputs)[1].dataAs<float>()[i], loss, 1e-5) << "sample " << i;
  }
}

TEST(TrainerTest, LearningRateSchedules) {
  LearningRateSchedule constant = cantFail(LearningRateSchedule::parse("constant", 0.1));
  EXPECT_DOUBLE_EQ(constant.at(1), 0.1);
  EXPECT_DOUBLE_EQ(constant.at(1000), 0.1);
  LearningRateSchedule step = cantFail(LearningRateSchedule::parse("step:10:0.5", 0.1));
  EXPECT_DOUBLE_EQ(step.at(10), 0.1);
  EXPECT_DOUBLE_EQ(step.at(11), 0.05);
  EXPECT_DOUBLE_EQ(step.at(25), 0.025);
  LearningRateSchedule cosine = cantFail(LearningRateSchedule::parse("cosine:0.01", 0.1));
  cosine.totalSteps = 100;
  cosine.warmupSteps = 10;
  EXPECT_DOUBLE_EQ(cosine.at(5), 0.05); // half-way through the warm-up
  EXPECT_DOUBLE_EQ(cosine.at(10), 0.1);
  EXPECT_DOUBLE_EQ(cosine.at(11), 0.1); // the decay starts at the top
  EXPECT_NEAR(cosine.at(61), 0.01 + 0.09 * 0.5, 1e-12); // half-way: the mean
  EXPECT_NEAR(cosine.at(111), 0.01, 1e-12);
  EXPECT_NEAR(cosine.at(500), 0.01, 1e-12);
  for (const char *bad : {"linear", "step", "step:0", "step:x", "cosine:a:b", "step:3:z"}) {
    auto parsed = LearningRateSchedule::parse(bad, 0.1);
    EXPECT_FALSE(bool(parsed)) << bad;
    if (!parsed)
      llvm::consumeError(parsed.takeError());
  }
}

TEST(TrainerTest, CheckpointsRoundTripAndRefuseDamage) {
  mlir::MLIRContext context;
  Rng rng(3);
  auto trainer = makeTrainer(context, rng, OptimizerKind::adam);
  ASSERT_TRUE(trainer);
  auto [x, y] = classes(kBatch, rng);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(bool(trainer->step({x}, y)));
  std::string path = temporaryPath("dlc-checkpoint", "npz");
  HostTensor note(DType::u8, {2});
  ASSERT_FALSE(bool(trainer->save(path, {{"my/note", note}})));
  NamedTensors saved = trainer->parameters();

  // Two more steps, then back to the checkpoint: the same parameters, the
  // step count, and the same next step.
  auto fourth = trainer->step({x}, y);
  ASSERT_TRUE(bool(fourth));
  NamedTensors afterFour = trainer->parameters();
  ASSERT_TRUE(bool(trainer->step({x}, y)));
  auto extra = trainer->load(path);
  ASSERT_TRUE(bool(extra)) << llvm::toString(extra.takeError());
  ASSERT_EQ(extra->size(), 1u);
  EXPECT_EQ((*extra)[0].first, "my/note");
  EXPECT_EQ(trainer->steps(), 3);
  for (auto [a, b] : llvm::zip(saved, trainer->parameters()))
    EXPECT_EQ(std::memcmp(a.second.data(), b.second.data(), a.second.byteSize()), 0);
  auto again = trainer->step({x}, y);
  ASSERT_TRUE(bool(again));
  EXPECT_EQ(again->loss, fourth->loss);
  for (auto [a, b] : llvm::zip(afterFour, trainer->parameters()))
    EXPECT_EQ(std::memcmp(a.second.data(), b.second.data(), a.second.byteSize()), 0);

  // One flipped bit in a parameter's bytes: refused, nothing changed.
  auto bytes = llvm::MemoryBuffer::getFile(path, false, false);
  ASSERT_TRUE(bool(bytes));
  std::string content = (*bytes)->getBuffer().str();
  // The archive stores arrays as they are: find w's bytes and flip a bit.
  const HostTensor &w = saved[0].second;
  size_t at = content.find(std::string(static_cast<const char *>(w.data()), w.byteSize()));
  ASSERT_NE(at, std::string::npos);
  std::string damaged = content;
  damaged[at + 5] ^= 1;
  std::string damagedPath = temporaryPath("dlc-damaged", "npz");
  std::ofstream(damagedPath, std::ios::binary) << damaged;
  auto refused = trainer->load(damagedPath);
  ASSERT_FALSE(bool(refused));
  EXPECT_NE(llvm::toString(refused.takeError()).find("its checksum does not match"),
            std::string::npos);
  EXPECT_EQ(trainer->steps(), 4);

  // A checkpoint of another optimizer lacks this one's state.
  auto sgd = makeTrainer(context, rng, OptimizerKind::sgd);
  ASSERT_TRUE(sgd);
  std::string sgdPath = temporaryPath("dlc-sgd", "npz");
  ASSERT_FALSE(bool(sgd->save(sgdPath)));
  auto wrongState = trainer->load(sgdPath);
  ASSERT_FALSE(bool(wrongState));
  EXPECT_NE(llvm::toString(wrongState.takeError()).find("has no 'state/m/w'"), std::string::npos);
  // Callers' entries may not use the reserved prefixes.
  llvm::Error reserved = trainer->save(sgdPath, {{"meta/x", note}});
  ASSERT_TRUE(bool(reserved));
  EXPECT_NE(llvm::toString(std::move(reserved)).find("reserved prefix"), std::string::npos);
  for (const std::string &file : {path, damagedPath, sgdPath})
    llvm::sys::fs::remove(file);
}

TEST(TrainerTest, PublicTrainingSessionTrainsAndExports) {
  // A linear classifier in ONNX's text syntax, zero-initialized.
  std::string onnxPath = temporaryPath("dlc-linear", "onnxtxt");
  std::ofstream(onnxPath) << R"(<ir_version: 8, opset_import: ["" : 17]>
linear (float[N, 4] x) => (float[N, 3] logits)
<float[3, 4] w = {0,0,0,0, 0,0,0,0, 0,0,0,0}, float[3] b = {0, 0, 0}> {
  logits = Gemm<transB = 1>(x, w, b)
}
)";
  dlc::TrainingOptions options;
  options.shapes["x"] = {kBatch, kFeatures};
  options.optimizer = "sgd";
  options.learningRate = 0.5;
  options.momentum = 0.9;
  dlc::TrainingSession session = dlc::TrainingSession::create(onnxPath, options);
  EXPECT_EQ(session.batchSize(), kBatch);
  Rng rng(4);
  auto [x, y] = classes(256, rng);
  auto arrayOf = [](const HostTensor &tensor, int64_t start, int64_t rows) {
    std::vector<int64_t> shape(tensor.shape().begin(), tensor.shape().end());
    shape[0] = rows;
    dlc::Array array(dlc::ElementType(int(tensor.dtype())), shape);
    size_t rowBytes = tensor.byteSize() / tensor.shape()[0];
    std::memcpy(array.data(), static_cast<const char *>(tensor.data()) + start * rowBytes,
                rows * rowBytes);
    return array;
  };
  float first = 0, last = 0;
  for (int epoch = 0; epoch < 3; ++epoch)
    for (int64_t start = 0; start < 256; start += kBatch) {
      last = session.step({{"x", arrayOf(x, start, kBatch)}}, arrayOf(y, start, kBatch)).loss;
      if (session.steps() == 1)
        first = last;
    }
  EXPECT_NEAR(first, std::log(3.0), 1e-6); // zero weights: uniform over 3 classes
  dlc::EvaluationReport report =
      session.evaluate({{"x", arrayOf(x, 0, 256)}}, arrayOf(y, 0, 256));
  EXPECT_EQ(report.samples, 256);
  EXPECT_GT(report.accuracy, 0.95);
  EXPECT_LT(report.loss, 0.3);
  EXPECT_THROW(session.step({{"z", arrayOf(x, 0, kBatch)}}, arrayOf(y, 0, kBatch)), dlc::Error);

  // The exported model, compiled as any ONNX model, predicts what the
  // session does.
  std::string exported = temporaryPath("dlc-trained", "onnx");
  session.exportOnnx(exported);
  dlc::CompileOptions compileOptions;
  compileOptions.shapes["x"] = {kBatch, kFeatures};
  dlc::CompiledModel model = dlc::CompiledModel::compile(exported, compileOptions);
  dlc::Array batch = arrayOf(x, 0, kBatch);
  dlc::Array expected = session.predict({{"x", batch}});
  dlc::Array actual = model.run({{"x", batch}}).at("logits");
  for (int64_t i = 0; i < kBatch * kClasses; ++i)
    EXPECT_NEAR(actual.as<float>()[i], expected.as<float>()[i], 1e-6);
  EXPECT_THROW(dlc::TrainingSession::create(onnxPath, [] {
                 dlc::TrainingOptions bad;
                 bad.optimizer = "lion";
                 return bad;
               }()),
               dlc::Error);
  llvm::sys::fs::remove(onnxPath);
  llvm::sys::fs::remove(exported);
}
