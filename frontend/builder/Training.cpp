//===- Training.cpp - training steps built around an inference model -*- C++ -*-===//

#include "frontend/builder/Training.h"
#include "frontend/builder/GraphBuilder.h"
#include "ir/Signature.h"

#include "llvm/Support/Regex.h"

using namespace mlir;
using namespace dlc;

namespace {

constexpr std::pair<LossKind, const char *> kLossNames[] = {
    {LossKind::meanSquaredError, "mse"},
    {LossKind::l1, "l1"},
    {LossKind::softmaxCrossEntropy, "softmax_cross_entropy"},
    {LossKind::binaryCrossEntropyWithLogits, "bce_with_logits"},
};
constexpr std::pair<OptimizerKind, const char *> kOptimizerNames[] = {
    {OptimizerKind::sgd, "sgd"},         {OptimizerKind::adam, "adam"},
    {OptimizerKind::adamw, "adamw"},     {OptimizerKind::adagrad, "adagrad"},
    {OptimizerKind::rmsprop, "rmsprop"},
};

template <typename Kind, size_t N>
llvm::Expected<Kind> parseKind(const std::pair<Kind, const char *> (&names)[N],
                               llvm::StringRef what, llvm::StringRef name) {
  std::string known;
  for (const auto &[kind, kindName] : names) {
    if (name == kindName)
      return kind;
    known += (known.empty() ? "" : ", ") + std::string(kindName);
  }
  return llvm::createStringError("unknown %s '%s' (known: %s)", what.str().c_str(),
                                 name.str().c_str(), known.c_str());
}

template <typename Kind, size_t N>
const char *kindName(const std::pair<Kind, const char *> (&names)[N], Kind kind) {
  for (const auto &[known, name] : names)
    if (known == kind)
      return name;
  return "?";
}

/// The inference model's entry function.
func::FuncOp entryOf(const Model &model) {
  return model.module.get().lookupSymbol<func::FuncOp>(kEntryFunction);
}

/// The loss of `prediction` against `labels`, or a failure recorded in `g`.
Tensor lossOf(GraphBuilder &g, const TrainingGraphConfig &config, Tensor prediction,
              Tensor labels, GraphBuilder::LossReduction reduction) {
  Tensor loss;
  switch (config.loss) {
  case LossKind::meanSquaredError:
    loss = g.mseLoss(prediction, labels, reduction);
    break;
  case LossKind::l1:
    loss = g.l1Loss(prediction, labels, reduction);
    break;
  case LossKind::softmaxCrossEntropy:
    loss = g.softmaxCrossEntropy(prediction, labels, config.labelSmoothing, reduction);
    break;
  case LossKind::binaryCrossEntropyWithLogits:
    loss = g.binaryCrossEntropyWithLogits(prediction, labels, reduction);
    break;
  }
  // Losses are reported as float32 whatever the model computes in.
  if (!g.failed() && !isa<Float32Type>(loss.elementType()))
    loss = g.convert(loss, g.scalar(0).elementType());
  return loss;
}

/// The labels' shape: class indices [N] for softmax cross-entropy with
/// integer labels, the prediction's shape otherwise.
std::vector<int64_t> labelShapeOf(const TrainingGraphConfig &config,
                                  const TensorSpec &prediction) {
  std::vector<int64_t> shape = prediction.shape;
  if (config.loss == LossKind::softmaxCrossEntropy && !isFloat(config.labelType))
    shape.resize(std::min<size_t>(shape.size(), 1));
  return shape;
}

/// Scales `gradients` so that their global L2 norm is at most `maxNorm`, as
/// torch.nn.utils.clip_grad_norm_ does (factor maxNorm / (norm + 1e-6),
/// never above 1). Returns the norm before clipping.
Tensor clipByGlobalNorm(GraphBuilder &g, std::vector<Tensor> &gradients, double maxNorm) {
  Type f32 = g.scalar(0).elementType();
  Tensor sumOfSquares = g.scalar(0);
  for (Tensor gradient : gradients) {
    std::vector<int64_t> all;
    for (int64_t d = 0; d < gradient.rank(); ++d)
      all.push_back(d);
    Tensor squares = g.reduceSum(g.mul(gradient, gradient), all);
    sumOfSquares = g.add(sumOfSquares, g.convert(squares, f32));
  }
  Tensor norm = g.math(GraphBuilder::MathFn::sqrt, sumOfSquares);
  Tensor factor = g.min(g.scalar(1), g.div(g.scalar(maxNorm), g.add(norm, g.scalar(1e-6))));
  for (Tensor &gradient : gradients)
    gradient = g.mul(gradient, g.convert(factor, gradient.elementType()));
  return norm;
}

/// Builds the updated parameter and state of one parameter; `state` holds
/// its slots in stateSlots() order and receives their updated values.
Tensor update(GraphBuilder &g, const OptimizerConfig &config, Tensor param, Tensor gradient,
              std::vector<Tensor> &state, Tensor learningRate, Tensor step) {
  auto epsilonOr = [&](double fallback) { return config.epsilon < 0 ? fallback : config.epsilon; };
  switch (config.kind) {
  case OptimizerKind::sgd: {
    GraphBuilder::SgdOptions options;
    options.scheduledRate = learningRate;
    options.momentum = config.momentum;
    options.nesterov = config.nesterov;
    options.weightDecay = config.weightDecay;
    auto [newParam, velocity] =
        g.sgdStep(param, gradient, state.empty() ? Tensor() : state[0], options);
    if (!state.empty())
      state[0] = velocity;
    return newParam;
  }
  case OptimizerKind::adam:
  case OptimizerKind::adamw: {
    GraphBuilder::AdamOptions options;
    options.scheduledRate = learningRate;
    options.beta1 = config.beta1;
    options.beta2 = config.beta2;
    options.epsilon = epsilonOr(1e-8);
    options.weightDecay = config.weightDecay;
    options.decoupled = config.kind == OptimizerKind::adamw;
    auto [newParam, m, v] = g.adamStep(param, gradient, state[0], state[1], step, options);
    state = {m, v};
    return newParam;
  }
  case OptimizerKind::adagrad: {
    GraphBuilder::AdagradOptions options;
    options.scheduledRate = learningRate;
    options.epsilon = epsilonOr(1e-10);
    options.weightDecay = config.weightDecay;
    auto [newParam, sum] = g.adagradStep(param, gradient, state[0], options);
    state = {sum};
    return newParam;
  }
  case OptimizerKind::rmsprop: {
    GraphBuilder::RmsPropOptions options;
    options.scheduledRate = learningRate;
    options.alpha = config.alpha;
    options.epsilon = epsilonOr(1e-8);
    options.weightDecay = config.weightDecay;
    auto [newParam, meanSquare] = g.rmspropStep(param, gradient, state[0], options);
    state = {meanSquare};
    return newParam;
  }
  }
  return {};
}

} // namespace

llvm::Expected<LossKind> dlc::parseLossKind(llvm::StringRef name) {
  return parseKind(kLossNames, "loss", name);
}
llvm::Expected<OptimizerKind> dlc::parseOptimizerKind(llvm::StringRef name) {
  return parseKind(kOptimizerNames, "optimizer", name);
}
const char *dlc::lossKindName(LossKind kind) { return kindName(kLossNames, kind); }
const char *dlc::optimizerKindName(OptimizerKind kind) {
  return kindName(kOptimizerNames, kind);
}

std::vector<std::string> OptimizerConfig::stateSlots() const {
  switch (kind) {
  case OptimizerKind::sgd:
    return momentum != 0 ? std::vector<std::string>{"velocity"} : std::vector<std::string>{};
  case OptimizerKind::adam:
  case OptimizerKind::adamw:
    return {"m", "v"};
  case OptimizerKind::adagrad:
    return {"sum"};
  case OptimizerKind::rmsprop:
    return {"square_avg"};
  }
  return {};
}

llvm::Expected<TrainingGraphs> dlc::buildTrainingGraphs(MLIRContext &context, const Model &model,
                                                        const TrainingGraphConfig &config) {
  return buildTrainingGraphs(context, model, model, config);
}

llvm::Expected<TrainingGraphs> dlc::buildTrainingGraphs(MLIRContext &context,
                                                        const Model &training,
                                                        const Model &evaluation,
                                                        const TrainingGraphConfig &config) {
  auto trainingSignature = readSignature(training.module.get());
  if (!trainingSignature)
    return trainingSignature.takeError();
  auto signature = readSignature(evaluation.module.get());
  if (!signature)
    return signature.takeError();
  if (signature->outputs.empty())
    return llvm::createStringError("the model has no outputs to train");
  size_t predictionIndex = 0;
  if (!config.prediction.empty()) {
    auto found = llvm::find_if(signature->outputs, [&](const TensorSpec &spec) {
      return spec.name == config.prediction;
    });
    if (found == signature->outputs.end()) {
      std::string names;
      for (const TensorSpec &spec : signature->outputs)
        names += (names.empty() ? "" : ", ") + spec.name;
      return llvm::createStringError("the model has no output '%s' (its outputs: %s)",
                                     config.prediction.c_str(), names.c_str());
    }
    predictionIndex = found - signature->outputs.begin();
  }
  const TensorSpec &prediction = signature->outputs[predictionIndex];
  if (!isFloat(prediction.dtype))
    return llvm::createStringError("the model's output '%s' is %s: only a float output can be "
                                   "trained against labels",
                                   prediction.name.c_str(), dtypeName(prediction.dtype).data());

  // The training-step model is the evaluated one plus random inputs and
  // update outputs; anything else means they are not the same model.
  auto mismatch = [] {
    return llvm::createStringError("internal: the training and evaluation imports of the model "
                                   "differ");
  };
  TrainingGraphs graphs;
  std::vector<const TensorSpec *> randomSpecs;
  for (const TensorSpec &input : trainingSignature->inputs) {
    if (llvm::StringRef(input.name).starts_with(kRandomInputPrefix)) {
      randomSpecs.push_back(&input);
      graphs.randomInputs.push_back(input.shape);
    }
  }
  if (trainingSignature->inputs.size() != signature->inputs.size() + randomSpecs.size() ||
      training.weights.size() != evaluation.weights.size() ||
      trainingSignature->outputs.size() < signature->outputs.size() ||
      trainingSignature->outputs[predictionIndex].name != prediction.name)
    return mismatch();
  llvm::StringMap<size_t> updateOutputs; // buffer name -> the training model's output
  for (auto [i, output] : llvm::enumerate(trainingSignature->outputs))
    if (llvm::StringRef(output.name).starts_with(kUpdateOutputPrefix))
      updateOutputs[llvm::StringRef(output.name).drop_front(strlen(kUpdateOutputPrefix))] = i;

  llvm::Regex freeze(config.freeze);
  std::string regexError;
  if (!config.freeze.empty() && !freeze.isValid(regexError))
    return llvm::createStringError("--freeze '%s' is not a regular expression: %s",
                                   config.freeze.c_str(), regexError.c_str());
  enum class Role { trainable, frozen, buffer };
  std::vector<Role> roles;
  for (auto [weight, other] : llvm::zip(evaluation.weights, training.weights)) {
    const auto &[name, value] = weight;
    if (other.first != name)
      return mismatch();
    Role role = updateOutputs.contains(name)                                   ? Role::buffer
                : isFloat(value.dtype()) && (config.freeze.empty() || !freeze.match(name))
                    ? Role::trainable
                    : Role::frozen;
    roles.push_back(role);
    if (role == Role::trainable)
      graphs.trainable.emplace_back(name, value);
    else if (role == Role::buffer)
      graphs.buffers.emplace_back(name, value);
    else
      graphs.frozen.push_back(name);
  }
  if (graphs.trainable.empty())
    return llvm::createStringError(
        "the model has no trainable parameters (%zu float parameter(s), all frozen%s%s)",
        graphs.frozen.size(), config.freeze.empty() ? "" : " by --freeze ",
        config.freeze.c_str());
  for (const TensorSpec &input : signature->inputs)
    graphs.inputs.push_back(input.name);
  graphs.stateSlots = config.optimizer.stateSlots();
  graphs.reportsGradientNorm = config.optimizer.clipNorm > 0;

  auto declareData = [&](GraphBuilder &g) {
    llvm::StringMap<Tensor> data;
    for (const TensorSpec &input : signature->inputs)
      data[input.name] = g.input(input.name, input.shape, input.dtype);
    return data;
  };
  auto declare = [&](GraphBuilder &g, llvm::StringRef prefix,
                     const std::vector<std::pair<std::string, HostTensor>> &values) {
    std::vector<Tensor> tensors;
    for (const auto &[name, value] : values)
      tensors.push_back(g.input((prefix + name).str(), value.shape(), value.dtype()));
    return tensors;
  };
  // The inlined model's arguments: its inputs by name, then each
  // parameter: a trainable one or a buffer from the function's inputs, a
  // frozen one as a weight.
  auto argumentsOf = [&](GraphBuilder &g, const Signature &callee,
                         const llvm::StringMap<Tensor> &inputs, const std::vector<Tensor> &params,
                         const std::vector<Tensor> &buffers) {
    std::vector<Tensor> arguments;
    for (const TensorSpec &input : callee.inputs)
      arguments.push_back(inputs.lookup(input.name));
    size_t nextParam = 0, nextBuffer = 0;
    for (auto [i, weight] : llvm::enumerate(evaluation.weights))
      arguments.push_back(roles[i] == Role::trainable ? params[nextParam++]
                          : roles[i] == Role::buffer  ? buffers[nextBuffer++]
                                                      : g.parameter(weight.first, weight.second));
    return arguments;
  };

  { // The step.
    GraphBuilder g(context);
    llvm::StringMap<Tensor> inputs = declareData(g);
    for (const TensorSpec *random : randomSpecs)
      inputs[random->name] = g.input(random->name, random->shape, random->dtype);
    Tensor labels = g.input("labels", labelShapeOf(config, prediction), config.labelType);
    Tensor learningRate = g.input("learning_rate", {}, DType::f32);
    Tensor step = g.input("step", {}, DType::f32);
    std::vector<Tensor> params = declare(g, "param:", graphs.trainable);
    std::vector<std::vector<Tensor>> state(graphs.trainable.size());
    for (const std::string &slot : graphs.stateSlots)
      for (auto [i, param] : llvm::enumerate(graphs.trainable))
        state[i].push_back(g.input("state:" + slot + ":" + param.first,
                                   param.second.shape(), param.second.dtype()));
    std::vector<Tensor> buffers = declare(g, "buffer:", graphs.buffers);
    std::vector<Tensor> results = g.inlineFunction(
        entryOf(training), argumentsOf(g, *trainingSignature, inputs, params, buffers));
    if (g.failed())
      return g.finish().takeError();
    Tensor loss = lossOf(g, config, results[predictionIndex], labels,
                         GraphBuilder::LossReduction::mean);
    g.output("loss", loss);
    std::vector<Tensor> gradients = g.gradients(loss, params);
    if (graphs.reportsGradientNorm && !g.failed())
      g.output("gradient_norm", clipByGlobalNorm(g, gradients, config.optimizer.clipNorm));
    std::vector<Tensor> newParams;
    for (size_t i = 0; i < params.size() && !g.failed(); ++i)
      newParams.push_back(
          update(g, config.optimizer, params[i], gradients[i], state[i], learningRate, step));
    for (size_t i = 0; i < newParams.size(); ++i)
      g.output("param:" + graphs.trainable[i].first, newParams[i]);
    for (auto [s, slot] : llvm::enumerate(graphs.stateSlots))
      for (size_t i = 0; i < newParams.size(); ++i)
        g.output("state:" + slot + ":" + graphs.trainable[i].first, state[i][s]);
    for (const auto &[name, value] : graphs.buffers)
      g.output("buffer:" + name, results[updateOutputs.lookup(name)]);
    auto built = g.finish();
    if (!built)
      return built.takeError();
    graphs.step = std::move(*built);
  }
  { // The evaluation.
    GraphBuilder g(context);
    llvm::StringMap<Tensor> inputs = declareData(g);
    Tensor labels = g.input("labels", labelShapeOf(config, prediction), config.labelType);
    std::vector<Tensor> params = declare(g, "param:", graphs.trainable);
    std::vector<Tensor> buffers = declare(g, "buffer:", graphs.buffers);
    std::vector<Tensor> results = g.inlineFunction(
        entryOf(evaluation), argumentsOf(g, *signature, inputs, params, buffers));
    if (!g.failed()) {
      g.output(prediction.name, results[predictionIndex]);
      g.output("loss", lossOf(g, config, results[predictionIndex], labels,
                              GraphBuilder::LossReduction::perSample));
    }
    auto built = g.finish();
    if (!built)
      return built.takeError();
    graphs.evaluation = std::move(*built);
  }
  return graphs;
}
