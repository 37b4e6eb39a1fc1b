//===- Trainer.cpp - compiled training steps, run and saved -----*- C++ -*-===//

#include "runtime/Trainer.h"
#include "runtime/NumPyIO.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/xxhash.h"

#include <cmath>
#include <cstring>
#include <random>

using namespace dlc;

namespace {

constexpr const char *kStepEntry = "meta/step";
constexpr const char *kChecksumEntry = "meta/checksum";

HostTensor scalarF32(double value) {
  HostTensor tensor(DType::f32, {});
  tensor.dataAs<float>()[0] = float(value);
  return tensor;
}

/// The index of the largest of `count` elements from `first`.
int64_t argMax(const HostTensor &tensor, int64_t first, int64_t count) {
  int64_t best = 0;
  for (int64_t j = 1; j < count; ++j)
    if (tensor.elementAsDouble(first + j) > tensor.elementAsDouble(first + best))
      best = j;
  return best;
}

/// Whether a checkpoint entry's name is one the Trainer writes.
bool isReserved(llvm::StringRef name) {
  return name.starts_with("meta/") || name.starts_with("param/") || name.starts_with("state/") ||
         name.starts_with("buffer/");
}

} // namespace

HostTensor dlc::gatherRows(const HostTensor &tensor, llvm::ArrayRef<int64_t> rows,
                           int64_t padTo) {
  llvm::SmallVector<int64_t> shape(tensor.shape());
  size_t rowBytes = shape[0] ? tensor.byteSize() / size_t(shape[0]) : 0;
  shape[0] = std::max<int64_t>(padTo, rows.size());
  HostTensor gathered(tensor.dtype(), shape); // zeros past the rows
  for (auto [i, row] : llvm::enumerate(rows))
    std::memcpy(static_cast<char *>(gathered.data()) + i * rowBytes,
                static_cast<const char *>(tensor.data()) + row * rowBytes, rowBytes);
  return gathered;
}

//===----------------------------------------------------------------------===//
// Learning-rate schedules
//===----------------------------------------------------------------------===//

double LearningRateSchedule::at(int64_t step) const {
  if (warmupSteps > 0 && step <= warmupSteps)
    return base * double(step) / double(warmupSteps);
  int64_t t = step - std::max<int64_t>(warmupSteps, 0); // 1 on the first step after warm-up
  switch (kind) {
  case Kind::constant:
    return base;
  case Kind::step:
    return base * std::pow(gamma, double((t - 1) / std::max<int64_t>(stepSize, 1)));
  case Kind::cosine: {
    double progress = std::min(1.0, double(t - 1) / double(std::max<int64_t>(totalSteps, 1)));
    return minimum + (base - minimum) * 0.5 * (1 + std::cos(M_PI * progress));
  }
  }
  return base;
}

llvm::Expected<LearningRateSchedule> LearningRateSchedule::parse(llvm::StringRef text,
                                                                 double base) {
  LearningRateSchedule schedule;
  schedule.base = base;
  llvm::SmallVector<llvm::StringRef> parts;
  text.split(parts, ':');
  auto number = [&](size_t i, double &out) -> bool {
    return i >= parts.size() || llvm::to_float(parts[i], out);
  };
  auto bad = [&] {
    return llvm::createStringError(
        "learning-rate schedule '%s' is not one of: constant, step:SIZE[:GAMMA], "
        "cosine[:MINIMUM]",
        text.str().c_str());
  };
  if (parts[0] == "constant" && parts.size() == 1)
    return schedule;
  if (parts[0] == "step" && parts.size() >= 2 && parts.size() <= 3) {
    schedule.kind = Kind::step;
    if (parts[1].getAsInteger(10, schedule.stepSize) || schedule.stepSize < 1 ||
        !number(2, schedule.gamma))
      return bad();
    return schedule;
  }
  if (parts[0] == "cosine" && parts.size() <= 2) {
    schedule.kind = Kind::cosine;
    if (!number(1, schedule.minimum))
      return bad();
    return schedule;
  }
  return bad();
}

std::string LearningRateSchedule::describe() const {
  std::string text;
  switch (kind) {
  case Kind::constant:
    text = llvm::formatv("constant {0}", llvm::format("%g", base)).str();
    break;
  case Kind::step:
    text = llvm::formatv("{0}, times {1} every {2} steps", llvm::format("%g", base),
                         llvm::format("%g", gamma), stepSize)
               .str();
    break;
  case Kind::cosine:
    text = llvm::formatv("cosine from {0} to {1} over {2} steps", llvm::format("%g", base),
                         llvm::format("%g", minimum), totalSteps)
               .str();
    break;
  }
  if (warmupSteps > 0)
    text += llvm::formatv(", {0} warm-up steps", warmupSteps).str();
  return text;
}

//===----------------------------------------------------------------------===//
// The session
//===----------------------------------------------------------------------===//

llvm::Expected<std::unique_ptr<Trainer>>
Trainer::create(const Model &step, const Model &evaluation, TrainingLayout layout,
                std::vector<HostTensor> initialParameters, std::vector<HostTensor> initialBuffers,
                LearningRateSchedule schedule, const CompileCache &cache) {
  if (initialParameters.size() != layout.trainable.size() ||
      initialBuffers.size() != layout.buffers.size())
    return llvm::createStringError("%zu initial parameters and %zu buffers for %zu and %zu",
                                   initialParameters.size(), initialBuffers.size(),
                                   layout.trainable.size(), layout.buffers.size());
  std::unique_ptr<Trainer> trainer(new Trainer());
  auto stepCode = Executable::compile(step, cache);
  if (!stepCode)
    return llvm::joinErrors(llvm::createStringError("compiling the training step:"),
                            stepCode.takeError());
  auto evaluationCode = Executable::compile(evaluation, cache);
  if (!evaluationCode)
    return llvm::joinErrors(llvm::createStringError("compiling the evaluation:"),
                            evaluationCode.takeError());
  trainer->stepCode = std::move(*stepCode);
  trainer->evaluationCode = std::move(*evaluationCode);
  const Signature &signature = trainer->stepCode->signature();
  size_t expected = layout.numInputs + layout.randomInputs.size() + 3 +
                    layout.trainable.size() * (1 + layout.stateSlots.size()) +
                    layout.buffers.size();
  if (signature.inputs.size() != expected || layout.numInputs == 0)
    return llvm::createStringError("the training step takes %zu inputs; its layout says %zu",
                                   signature.inputs.size(), expected);
  trainer->batch = signature.inputs[0].shape.empty() ? 1 : signature.inputs[0].shape[0];
  // The step's inputs after data, random numbers, labels, learning rate and
  // step number.
  size_t firstParam = layout.numInputs + layout.randomInputs.size() + 3;
  for (auto [i, param] : llvm::enumerate(initialParameters)) {
    const TensorSpec &spec = signature.inputs[firstParam + i];
    if (param.dtype() != spec.dtype || param.shape() != llvm::ArrayRef(spec.shape))
      return llvm::createStringError("parameter '%s' is %s%s; the step takes %s%s",
                                     layout.trainable[i].c_str(),
                                     dtypeName(param.dtype()).data(),
                                     bracketedShape(param.shape()).c_str(),
                                     dtypeName(spec.dtype).data(),
                                     bracketedShape(spec.shape).c_str());
  }
  for (size_t slot = 0; slot < layout.stateSlots.size(); ++slot)
    for (const HostTensor &param : initialParameters)
      trainer->state.emplace_back(param.dtype(), param.shape()); // zeros
  trainer->params = std::move(initialParameters);
  trainer->buffers = std::move(initialBuffers);
  trainer->places = std::move(layout);
  trainer->rates = schedule;
  return trainer;
}

llvm::Expected<StepResult> Trainer::step(llvm::ArrayRef<HostTensor> inputs,
                                                 const HostTensor &labels) {
  if (inputs.size() != places.numInputs)
    return llvm::createStringError("a training step takes %zu input(s), not %zu",
                                   places.numInputs, inputs.size());
  StepResult result;
  result.learningRate = rates.at(stepCount + 1);
  std::vector<HostTensor> arguments(inputs.begin(), inputs.end());
  // Random numbers from the seed and the step alone, so that a resumed run
  // draws what an uninterrupted one does.
  std::mt19937_64 generator(places.seed * 0x9E3779B97F4A7C15ull ^ uint64_t(stepCount + 1));
  for (const std::vector<int64_t> &shape : places.randomInputs) {
    HostTensor uniform(DType::f32, shape);
    for (float &value : llvm::MutableArrayRef(uniform.dataAs<float>(), uniform.numElements()))
      value = float(generator() >> 40) * 0x1.0p-24f;
    arguments.push_back(std::move(uniform));
  }
  arguments.push_back(labels);
  arguments.push_back(scalarF32(result.learningRate));
  arguments.push_back(scalarF32(double(stepCount + 1)));
  // The trainer's parameters, state and buffers move into the step's
  // inputs, so that it can tell whether anyone else holds them.
  const size_t firstHeld = arguments.size();
  for (std::vector<HostTensor> *held : {&params, &state, &buffers})
    for (HostTensor &tensor : *held)
      arguments.push_back(std::move(tensor));
  // A new value the step computes in place (dlc-in-place-outputs) goes
  // into its old value's memory, unless someone else holds that; any
  // other into the memory the previous step's inputs held, unless someone
  // else holds it too: no allocation, no page faults, and the step's
  // memory stays small enough for the last-level cache.
  const std::vector<TensorSpec> &specs = stepCode->signature().outputs;
  llvm::ArrayRef<int64_t> inPlace = stepCode->inPlaceInputs();
  std::vector<HostTensor> outputs;
  for (auto [i, spec] : llvm::enumerate(specs)) {
    if (inPlace[i] >= 0 && arguments[inPlace[i]].soleOwner())
      outputs.push_back(arguments[inPlace[i]]);
    else if (i < spare.size() && spare[i].soleOwner())
      outputs.push_back(std::move(spare[i]));
    else
      outputs.emplace_back(spec.dtype, spec.shape);
  }
  if (llvm::Error error = stepCode->runInto(arguments, outputs)) {
    // Nothing ran: everything goes back where it was.
    size_t argument = firstHeld;
    for (std::vector<HostTensor> *held : {&params, &state, &buffers})
      for (HostTensor &tensor : *held)
        tensor = std::move(arguments[argument++]);
    return std::move(error);
  }
  spare.assign(specs.size(), HostTensor());
  size_t next = 0;
  result.loss = outputs[next++].dataAs<float>()[0];
  if (places.reportsGradientNorm)
    result.gradientNorm = outputs[next++].dataAs<float>()[0];
  size_t argument = firstHeld;
  for (std::vector<HostTensor> *held : {&params, &state, &buffers})
    for (HostTensor &tensor : *held) {
      HostTensor old = std::move(arguments[argument++]);
      if (old.data() != outputs[next].data())
        spare[next] = std::move(old);
      tensor = std::move(outputs[next++]);
    }
  arguments.clear();
  ++stepCount;
  return result;
}

llvm::Expected<HostTensor> Trainer::predict(llvm::ArrayRef<HostTensor> inputs) {
  if (inputs.size() != places.numInputs)
    return llvm::createStringError("the model takes %zu input(s), not %zu", places.numInputs,
                                   inputs.size());
  const TensorSpec &labelSpec = evaluationCode->signature().inputs[places.numInputs];
  std::vector<HostTensor> arguments(inputs.begin(), inputs.end());
  arguments.emplace_back(labelSpec.dtype, labelSpec.shape); // unused: zeros
  arguments.insert(arguments.end(), params.begin(), params.end());
  arguments.insert(arguments.end(), buffers.begin(), buffers.end());
  auto outputs = evaluationCode->run(arguments);
  if (!outputs)
    return outputs.takeError();
  return std::move((*outputs)[0]);
}

llvm::Expected<Evaluation> Trainer::evaluate(llvm::ArrayRef<HostTensor> inputs,
                                                     const HostTensor &labels) {
  if (inputs.size() != places.numInputs)
    return llvm::createStringError("evaluation takes %zu input(s), not %zu", places.numInputs,
                                   inputs.size());
  int64_t samples = labels.rank() ? labels.shape()[0] : 0;
  for (const HostTensor &input : inputs)
    if (!input.rank() || input.shape()[0] != samples)
      return llvm::createStringError("the evaluation data's inputs and labels have different "
                                     "numbers of samples");
  Evaluation evaluation;
  evaluation.samples = samples;
  int64_t correct = 0;
  for (int64_t start = 0; start < samples; start += batch) {
    int64_t rows = std::min(batch, samples - start);
    auto indices = llvm::to_vector(llvm::seq<int64_t>(start, start + rows));
    std::vector<HostTensor> arguments;
    for (const HostTensor &input : inputs)
      arguments.push_back(gatherRows(input, indices, batch));
    HostTensor batchLabels = gatherRows(labels, indices, batch);
    arguments.push_back(batchLabels);
    arguments.insert(arguments.end(), params.begin(), params.end());
    arguments.insert(arguments.end(), buffers.begin(), buffers.end());
    auto outputs = evaluationCode->run(arguments);
    if (!outputs)
      return outputs.takeError();
    const HostTensor &prediction = (*outputs)[0], &losses = (*outputs)[1];
    for (int64_t i = 0; i < rows; ++i)
      evaluation.loss += losses.dataAs<float>()[i];
    if (!places.classification || prediction.rank() != 2)
      continue;
    int64_t classes = prediction.shape()[1];
    for (int64_t i = 0; i < rows; ++i) {
      int64_t predicted = argMax(prediction, i * classes, classes);
      int64_t label = batchLabels.rank() == 1 ? int64_t(batchLabels.elementAsDouble(i))
                                              : argMax(batchLabels, i * classes, classes);
      correct += predicted == label;
    }
  }
  if (samples) {
    evaluation.loss /= double(samples);
    evaluation.accuracy = double(correct) / double(samples);
  }
  return evaluation;
}

NamedTensors Trainer::parameters() const {
  NamedTensors named;
  for (auto [name, param] : llvm::zip(places.trainable, params))
    named.emplace_back(name, param);
  return named;
}

NamedTensors Trainer::weights() const {
  NamedTensors named = parameters();
  for (auto [name, buffer] : llvm::zip(places.buffers, buffers))
    named.emplace_back(name, buffer);
  return named;
}

void Trainer::setThreads(unsigned threads) {
  stepCode->setThreads(threads);
  evaluationCode->setThreads(threads);
}

//===----------------------------------------------------------------------===//
// Checkpoints
//===----------------------------------------------------------------------===//

uint64_t dlc::checkpointChecksum(const NamedTensors &entries) {
  std::string header;
  uint64_t hash = 0;
  for (const auto &[name, tensor] : entries) {
    header = name + "|" + dtypeName(tensor.dtype()).str() + "|" + bracketedShape(tensor.shape());
    uint64_t parts[3] = {
        hash, llvm::xxh3_64bits(llvm::arrayRefFromStringRef(header)),
        llvm::xxh3_64bits(llvm::ArrayRef(static_cast<const uint8_t *>(tensor.data()),
                                         tensor.byteSize()))};
    hash = llvm::xxh3_64bits(
        llvm::ArrayRef(reinterpret_cast<const uint8_t *>(parts), sizeof(parts)));
  }
  return hash;
}

std::vector<std::string> Trainer::checkpointNames() const {
  std::vector<std::string> names;
  for (const std::string &name : places.trainable)
    names.push_back("param/" + name);
  for (const std::string &slot : places.stateSlots)
    for (const std::string &name : places.trainable)
      names.push_back("state/" + slot + "/" + name);
  for (const std::string &name : places.buffers)
    names.push_back("buffer/" + name);
  return names;
}

NamedTensors dlc::checkpointWeights(const NamedTensors &entries) {
  NamedTensors weights;
  for (const auto &[name, tensor] : entries) {
    llvm::StringRef entry = name;
    if (entry.consume_front("param/") || entry.consume_front("buffer/"))
      weights.emplace_back(entry.str(), tensor);
  }
  return weights;
}

llvm::Error Trainer::save(llvm::StringRef path, const NamedTensors &extra) const {
  NamedTensors entries;
  for (auto [name, tensor] :
       llvm::zip_equal(checkpointNames(), llvm::concat<const HostTensor>(params, state, buffers)))
    entries.emplace_back(name, tensor);
  HostTensor count(DType::i64, {});
  count.dataAs<int64_t>()[0] = stepCount;
  entries.emplace_back(kStepEntry, count);
  for (const auto &[name, tensor] : extra) {
    if (isReserved(name))
      return llvm::createStringError("checkpoint entry '%s' uses a reserved prefix",
                                     name.c_str());
    entries.emplace_back(name, tensor);
  }
  HostTensor checksum(DType::u64, {});
  checksum.dataAs<uint64_t>()[0] = checkpointChecksum(entries);
  entries.emplace_back(kChecksumEntry, checksum);
  return writeNumPyFile(path, entries);
}

llvm::Expected<NamedTensors> dlc::readCheckpoint(llvm::StringRef path) {
  auto entries = readNumPyFile(path);
  if (!entries)
    return entries.takeError();
  auto damaged = [&](const llvm::Twine &why) {
    return llvm::createStringError("checkpoint '" + path + "' is damaged or not a dlc "
                                   "checkpoint: " + why);
  };
  if (entries->empty() || entries->back().first != kChecksumEntry ||
      entries->back().second.dtype() != DType::u64 || entries->back().second.numElements() != 1)
    return damaged("it has no checksum");
  uint64_t expected = entries->back().second.dataAs<uint64_t>()[0];
  entries->pop_back();
  if (checkpointChecksum(*entries) != expected)
    return damaged("its checksum does not match its contents");
  return entries;
}

llvm::Expected<NamedTensors> Trainer::load(llvm::StringRef path) {
  auto entries = readCheckpoint(path);
  if (!entries)
    return entries.takeError();
  llvm::StringMap<HostTensor *> byName;
  for (auto &[name, tensor] : *entries)
    byName[name] = &tensor;
  auto find = [&](const std::string &name, const HostTensor &like) -> llvm::Expected<HostTensor> {
    auto found = byName.find(name);
    if (found == byName.end())
      return llvm::createStringError("checkpoint '%s' has no '%s': it was written for another "
                                     "model or optimizer",
                                     path.str().c_str(), name.c_str());
    HostTensor &tensor = *found->second;
    if (tensor.dtype() != like.dtype() || tensor.shape() != like.shape())
      return llvm::createStringError("checkpoint '%s': '%s' is %s%s, the session's is %s%s",
                                     path.str().c_str(), name.c_str(),
                                     dtypeName(tensor.dtype()).data(),
                                     bracketedShape(tensor.shape()).c_str(),
                                     dtypeName(like.dtype()).data(),
                                     bracketedShape(like.shape()).c_str());
    return std::move(tensor); // the file's own copy, read for this
  };
  // Everything is read before anything changes.
  std::vector<HostTensor> restored;
  for (auto [name, tensor] :
       llvm::zip_equal(checkpointNames(), llvm::concat<const HostTensor>(params, state, buffers))) {
    auto value = find(name, tensor);
    if (!value)
      return value.takeError();
    restored.push_back(std::move(*value));
  }
  HostTensor stepLike(DType::i64, {});
  auto count = find(kStepEntry, stepLike);
  if (!count)
    return count.takeError();
  for (auto [tensor, value] :
       llvm::zip_equal(llvm::concat<HostTensor>(params, state, buffers), restored))
    tensor = std::move(value);
  stepCount = count->dataAs<int64_t>()[0];
  NamedTensors extra;
  for (auto &[name, tensor] : *entries) {
    if (!isReserved(name))
      extra.emplace_back(name, std::move(tensor));
  }
  return extra;
}
