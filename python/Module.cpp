//===- Module.cpp - the _dlc Python extension -------------------*- C++ -*-===//
//
// Binds compiling an ONNX model and running it on NumPy arrays. Inputs that
// are C-contiguous and of the model's dtype are viewed, not copied; outputs
// become NumPy arrays that own the runtime's buffers.
//
//===----------------------------------------------------------------------===//

#include "api/TrainingSetup.h"
#include "dlc/dlc.h"
#include "frontend/onnx/OnnxImporter.h"
#include "runtime/Artifact.h"
#include "runtime/CompilerProcess.h"
#include "runtime/Executable.h"

#include "mlir/IR/MLIRContext.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <map>

namespace py = pybind11;
using namespace dlc;

namespace {

/// Raised for every dlc error, with dlc's message.
PyObject *errorType = nullptr;

[[noreturn]] void raise(llvm::Error error) {
  PyErr_SetString(errorType, llvm::toString(std::move(error)).c_str());
  throw py::error_already_set();
}

// Debian's pybind11 (2.10) reads dtype fields from NumPy 1's struct layout,
// which NumPy 2 changed; dtypes are therefore inspected through their Python
// attributes, and output arrays are given explicit strides.

size_t itemSize(const py::dtype &dtype) { return dtype.attr("itemsize").cast<size_t>(); }

std::optional<DType> dtypeOf(const py::dtype &dtype) {
  char kind = dtype.attr("kind").cast<std::string>()[0];
  size_t size = itemSize(dtype);
  if (kind == 'f')
    return size == 4 ? std::optional(DType::f32) : size == 8 ? std::optional(DType::f64)
           : size == 2 ? std::optional(DType::f16) : std::nullopt;
  if (kind == 'b')
    return DType::i1;
  if (kind == 'i')
    return size == 1 ? std::optional(DType::i8) : size == 2 ? std::optional(DType::i16)
           : size == 4 ? std::optional(DType::i32) : size == 8 ? std::optional(DType::i64)
           : std::nullopt;
  if (kind == 'u')
    return size == 1 ? std::optional(DType::u8) : size == 2 ? std::optional(DType::u16)
           : size == 4 ? std::optional(DType::u32) : size == 8 ? std::optional(DType::u64)
           : std::nullopt;
  return std::nullopt;
}

py::dtype numpyDtype(DType dtype) {
  switch (dtype) {
  case DType::f32: return py::dtype("float32");
  case DType::f64: return py::dtype("float64");
  case DType::f16: return py::dtype("float16");
  case DType::bf16: return py::dtype("uint16");
  case DType::i1: return py::dtype("bool");
  case DType::i8: return py::dtype("int8");
  case DType::i16: return py::dtype("int16");
  case DType::i32: return py::dtype("int32");
  case DType::i64: return py::dtype("int64");
  case DType::u8: return py::dtype("uint8");
  case DType::u16: return py::dtype("uint16");
  case DType::u32: return py::dtype("uint32");
  case DType::u64: return py::dtype("uint64");
  }
  throw std::logic_error("unknown dtype");
}

/// A view of `array` (no copy) when it is C-contiguous, aligned, writeable
/// and in the host's byte order; otherwise a view of a copy that is (a
/// read-only array, as np.frombuffer and onnx.numpy_helper give, is never
/// handed to code that may update its inputs in place).
HostTensor tensorOf(const std::string &name, py::array array) {
  std::optional<DType> dtype = dtypeOf(array.dtype());
  if (!dtype)
    raise(llvm::createStringError("input '%s' has NumPy dtype %s, which dlc does not take",
                                  name.c_str(), std::string(py::str(array.dtype())).c_str()));
  if (array.dtype().attr("byteorder").cast<std::string>() == ">")
    array = array.attr("astype")(array.dtype().attr("newbyteorder")("="));
  bool aligned = reinterpret_cast<uintptr_t>(array.data()) % itemSize(array.dtype()) == 0;
  if (!(array.flags() & py::array::c_style) || !aligned || !array.writeable())
    array = array.attr("copy")();
  std::vector<int64_t> shape(array.shape(), array.shape() + array.ndim());
  auto owner = std::shared_ptr<void>(new py::object(array), [](void *object) {
    py::gil_scoped_acquire gil;
    delete static_cast<py::object *>(object);
  });
  return HostTensor::view(*dtype, shape, array.mutable_data(), std::move(owner));
}

py::array arrayOf(const HostTensor &tensor) {
  // The array keeps a copy of the HostTensor (which shares the buffer).
  auto *keep = new HostTensor(tensor);
  py::capsule owner(keep, [](void *p) { delete static_cast<HostTensor *>(p); });
  std::vector<py::ssize_t> shape(tensor.shape().begin(), tensor.shape().end());
  std::vector<py::ssize_t> strides(shape.size());
  py::ssize_t stride = py::ssize_t(dtypeSize(tensor.dtype()));
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return py::array(numpyDtype(tensor.dtype()), shape, strides,
                   const_cast<void *>(tensor.data()), owner);
}

py::list specsOf(const std::vector<TensorSpec> &specs) {
  py::list list;
  for (const TensorSpec &spec : specs)
    list.append(py::make_tuple(spec.name, py::tuple(py::cast(spec.shape)),
                               std::string(dtypeName(spec.dtype))));
  return list;
}

/// A compiled model; `bound` inputs were folded into it at compile time
/// and are skipped when given to run().
class PyModel {
public:
  PyModel(std::unique_ptr<Executable> executable, std::vector<std::string> bound)
      : executable(std::move(executable)), bound(std::move(bound)) {}

  py::dict run(const py::dict &inputs) {
    NamedTensors named;
    for (auto [key, value] : inputs) {
      std::string name = py::cast<std::string>(key);
      if (llvm::is_contained(bound, name))
        continue;
      named.emplace_back(name, tensorOf(name, py::array::ensure(value)));
    }
    llvm::Expected<NamedTensors> outputs = [&] {
      py::gil_scoped_release release;
      return executable->run(named);
    }();
    if (!outputs)
      raise(outputs.takeError());
    py::dict result;
    for (const auto &[name, tensor] : *outputs)
      result[py::str(name)] = arrayOf(tensor);
    return result;
  }

  void save(const std::string &path) const {
    if (llvm::Error error = writeArtifact(path, executable->artifact()))
      raise(std::move(error));
  }

  py::list inputs() const { return specsOf(executable->signature().inputs); }
  py::list outputs() const { return specsOf(executable->signature().outputs); }
  bool cacheHit() const { return executable->compileReport().cacheHit; }
  /// The report as `dlc compile --report` writes it, as a dict.
  py::dict compileReport() const {
    return py::module_::import("json").attr("loads")(executable->compileReport().toJson());
  }
  int64_t samples() const { return executable->signature().samples; }
  unsigned threads() const { return executable->threads(); }
  void setThreads(unsigned threads) { executable->setThreads(threads); }

private:
  std::unique_ptr<Executable> executable;
  std::vector<std::string> bound;
};

PyModel compileModel(const std::string &path, const py::dict &examples,
                     const std::map<std::string, std::vector<int64_t>> &shapes,
                     bool inProcess) {
  // Shapes alone can be passed on to `dlc compile` in a child process;
  // example inputs may bind shape-setting inputs, which only an import
  // here can do.
  if (!inProcess && examples.empty()) {
    auto executable = [&] {
      py::gil_scoped_release release;
      return tryCompileInChildProcess(path, shapes);
    }();
    if (!executable)
      raise(executable.takeError());
    if (*executable)
      return PyModel(std::move(*executable), {});
  }
  NamedTensors inputs;
  for (auto [key, value] : examples) {
    std::string name = py::cast<std::string>(key);
    inputs.emplace_back(name, tensorOf(name, py::array::ensure(value)));
  }
  mlir::MLIRContext context;
  std::vector<std::string> bound;
  llvm::Expected<Model> model = [&]() -> llvm::Expected<Model> {
    if (!inputs.empty()) {
      if (!shapes.empty())
        return llvm::createStringError("give example_inputs or shapes, not both");
      return importOnnxForInputs(context, path, inputs, bound);
    }
    OnnxImportOptions options;
    for (const auto &[name, shape] : shapes)
      options.shapes[name] = shape;
    return importOnnxFile(context, path, options);
  }();
  if (!model)
    raise(model.takeError());
  auto executable = [&] {
    py::gil_scoped_release release;
    return Executable::compile(*model);
  }();
  if (!executable)
    raise(executable.takeError());
  return PyModel(std::move(*executable), std::move(bound));
}

PyModel loadArtifact(const std::string &path) {
  auto executable = [&]() -> llvm::Expected<std::unique_ptr<Executable>> {
    py::gil_scoped_release release;
    return Executable::loadFile(path);
  }();
  if (!executable)
    raise(executable.takeError());
  return PyModel(std::move(*executable), {});
}

/// A training session over an ONNX model (the Python face of
/// api/TrainingSetup.h and runtime/Trainer.h).
class PyTrainingSession {
public:
  PyTrainingSession(OnnxTrainer created, std::string onnxPath)
      : created(std::move(created)), onnxPath(std::move(onnxPath)) {}

  float step(const py::object &inputs, const py::object &labels) {
    std::vector<HostTensor> batch = inputsOf(inputs);
    HostTensor target = labelsOf(labels);
    auto result = [&] {
      py::gil_scoped_release release;
      return trainer().step(batch, target);
    }();
    if (!result)
      raise(result.takeError());
    lastLearningRate = result->learningRate;
    lastGradientNorm = result->gradientNorm;
    return result->loss;
  }

  py::dict evaluate(const py::object &inputs, const py::object &labels) {
    std::vector<HostTensor> data = inputsOf(inputs);
    HostTensor target = labelsOf(labels);
    auto result = [&] {
      py::gil_scoped_release release;
      return trainer().evaluate(data, target);
    }();
    if (!result)
      raise(result.takeError());
    py::dict report;
    report["loss"] = result->loss;
    report["accuracy"] = result->accuracy;
    report["samples"] = result->samples;
    return report;
  }

  py::array predict(const py::object &inputs) {
    std::vector<HostTensor> batch = inputsOf(inputs);
    auto result = [&] {
      py::gil_scoped_release release;
      return trainer().predict(batch);
    }();
    if (!result)
      raise(result.takeError());
    return arrayOf(*result);
  }

  py::dict parameters() const {
    py::dict result;
    for (const auto &[name, tensor] : created.trainer->weights())
      result[py::str(name)] = arrayOf(tensor);
    return result;
  }

  void save(const std::string &path) const {
    if (llvm::Error error = created.trainer->save(path))
      raise(std::move(error));
  }
  void load(const std::string &path) {
    if (auto extra = trainer().load(path); !extra)
      raise(extra.takeError());
  }
  void exportOnnx(const std::string &path) const {
    if (auto summary = exportOnnxWithWeights(onnxPath, created.trainer->weights(), path);
        !summary)
      raise(summary.takeError());
  }

  int64_t steps() const { return created.trainer->steps(); }
  int64_t batchSize() const { return created.trainer->batchSize(); }
  void setThreads(unsigned threads) { trainer().setThreads(threads); }
  double learningRate() const { return lastLearningRate; }
  double gradientNorm() const { return lastGradientNorm; }

private:
  Trainer &trainer() { return *created.trainer; }

  /// The model's inputs from a dict by name (or one array for a model with
  /// one input), converted to the types the step takes.
  std::vector<HostTensor> inputsOf(const py::object &inputs) const {
    const auto &specs = created.trainer->stepSignature().inputs;
    py::dict named;
    if (py::isinstance<py::dict>(inputs)) {
      named = inputs.cast<py::dict>();
    } else if (created.inputs.size() == 1) {
      named[py::str(created.inputs[0])] = inputs;
    } else {
      raise(llvm::createStringError("the model has %zu inputs: give a dict of arrays by name",
                                    created.inputs.size()));
    }
    std::vector<HostTensor> tensors;
    for (auto [i, name] : llvm::enumerate(created.inputs)) {
      if (!named.contains(name))
        raise(llvm::createStringError("no array for the model's input '%s'", name.c_str()));
      tensors.push_back(tensorOf(name, converted(named[py::str(name)], specs[i].dtype)));
    }
    if (named.size() != created.inputs.size())
      raise(llvm::createStringError("%zu arrays for the model's %zu inputs", named.size(),
                                    created.inputs.size()));
    return tensors;
  }
  HostTensor labelsOf(const py::object &labels) const {
    return tensorOf("labels", converted(labels, created.trainer->labelSpec().dtype));
  }
  /// `value` as a C-contiguous array of `dtype`: itself when it is one.
  static py::array converted(const py::object &value, DType dtype) {
    py::dtype wanted = numpyDtype(dtype);
    if (py::isinstance<py::array>(value)) {
      auto array = value.cast<py::array>();
      if (array.dtype().equal(wanted) && (array.flags() & py::array::c_style))
        return array;
    }
    py::module_ numpy = py::module_::import("numpy");
    return numpy.attr("ascontiguousarray")(value, wanted).cast<py::array>();
  }

  OnnxTrainer created;
  std::string onnxPath;
  double lastLearningRate = 0, lastGradientNorm = 0;
};

PyTrainingSession trainSession(const std::string &path,
                               const std::map<std::string, std::vector<int64_t>> &shapes,
                               const std::string &loss, const std::string &optimizer,
                               double lr, const std::string &schedule, int64_t warmupSteps,
                               int64_t totalSteps, double momentum, bool nesterov,
                               double weightDecay, double clipNorm, double labelSmoothing,
                               const std::string &labelDtype, const std::string &freeze,
                               const std::string &prediction, uint64_t seed) {
  TrainingOptions options;
  options.shapes = shapes;
  options.loss = loss;
  options.optimizer = optimizer;
  options.learningRate = lr;
  options.schedule = schedule;
  options.warmupSteps = warmupSteps;
  options.totalSteps = totalSteps;
  options.momentum = momentum;
  options.nesterov = nesterov;
  options.weightDecay = weightDecay;
  options.clipNorm = clipNorm;
  options.labelSmoothing = labelSmoothing;
  if (labelDtype == "int64")
    options.labelType = ElementType::Int64;
  else if (labelDtype == "float32")
    options.labelType = ElementType::Float32;
  else
    raise(llvm::createStringError("label_dtype must be 'int64' or 'float32', not '%s'",
                                  labelDtype.c_str()));
  options.freeze = freeze;
  options.prediction = prediction;
  options.seed = seed;
  auto setup = trainingSetupFrom(options);
  if (!setup)
    raise(setup.takeError());
  auto created = [&] {
    py::gil_scoped_release release;
    return createOnnxTrainer(path, *setup);
  }();
  if (!created)
    raise(created.takeError());
  return PyTrainingSession(std::move(*created), path);
}

} // namespace

PYBIND11_MODULE(_dlc, m) {
  m.doc() = "dlc's compiler and runtime (see the dlc package)";
  static py::exception<std::runtime_error> error(m, "Error");
  errorType = error.ptr();
  py::class_<PyModel>(m, "Model", "A model compiled for this CPU")
      .def("run", &PyModel::run, py::arg("inputs"),
           "Runs the model on a dict of NumPy arrays keyed by input name; "
           "returns a dict of arrays keyed by output name.")
      .def("save", &PyModel::save, py::arg("path"),
           "Writes the model as a .dlc artifact, which dlc.load reads.")
      .def_property_readonly("inputs", &PyModel::inputs,
                             "(name, shape, dtype) of each input")
      .def_property_readonly("outputs", &PyModel::outputs,
                             "(name, shape, dtype) of each output")
      .def_property_readonly("cache_hit", &PyModel::cacheHit,
                             "Whether the native code came from the compile cache")
      .def_property_readonly(
          "compile_report", &PyModel::compileReport,
          "How the native code was made: seconds of lowering, codegen and linking, "
          "cache_hit, the memory plan (arena_bytes, intermediate_bytes; 0 when the code "
          "came from the cache) and compiler_peak_bytes, the peak memory of the child "
          "process that compiled (0 when compiled or loaded in this process)")
      .def_property_readonly("samples", &PyModel::samples,
                             "How many samples a run computes one at a time, spread over "
                             "the threads (the batch, for a convolutional model whose nodes "
                             "keep its samples apart), or 1: the batch at once")
      .def_property("threads", &PyModel::threads, &PyModel::setThreads,
                    "Threads the kernels use (setting 0 means one per core); not to be "
                    "set while another thread runs the model");
  m.def("compile", &compileModel, py::arg("path"),
        py::arg("example_inputs") = py::dict(),
        py::arg("shapes") = std::map<std::string, std::vector<int64_t>>(),
        py::arg("in_process") = false,
        "Imports an ONNX model and compiles it for this CPU. Symbolic "
        "dimensions are fixed by example_inputs (name -> array; shape-setting "
        "inputs are bound to their values) or by shapes (name -> dims). Without "
        "example_inputs the compiler runs in a child process (`dlc compile`; "
        "$DLC_COMPILER names the program) and this process loads its artifact, "
        "so the compiler's memory is never this process's; in_process=True "
        "compiles here.");
  py::class_<PyTrainingSession>(m, "TrainingSession",
                                 "A compiled training step and evaluation of an ONNX model")
      .def("step", &PyTrainingSession::step, py::arg("inputs"), py::arg("labels"),
           "One optimizer step on one batch (a dict of arrays by input name, or one "
           "array for a one-input model); returns the batch's loss before the update.")
      .def("evaluate", &PyTrainingSession::evaluate, py::arg("inputs"), py::arg("labels"),
           "Loss and accuracy over whole data sets (first dimension: samples) with the "
           "current weights: {'loss', 'accuracy', 'samples'}.")
      .def("predict", &PyTrainingSession::predict, py::arg("inputs"),
           "The model's prediction for one batch of the batch size.")
      .def("parameters", &PyTrainingSession::parameters,
           "The weights training changes (trainable parameters and batch-norm running "
           "statistics), by initializer name.")
      .def("save", &PyTrainingSession::save, py::arg("path"),
           "Writes a checkpoint (.npz, atomically, with a checksum).")
      .def("load", &PyTrainingSession::load, py::arg("path"),
           "Continues from a checkpoint of the same model and optimizer.")
      .def("export_onnx", &PyTrainingSession::exportOnnx, py::arg("path"),
           "Writes the ONNX model with the trained weights.")
      .def_property_readonly("steps", &PyTrainingSession::steps, "Steps taken so far")
      .def_property_readonly("batch_size", &PyTrainingSession::batchSize)
      .def_property_readonly("learning_rate", &PyTrainingSession::learningRate,
                             "The learning rate of the last step")
      .def_property_readonly("gradient_norm", &PyTrainingSession::gradientNorm,
                             "The last step's gradient norm before clipping (with clip_norm)")
      .def("set_threads", &PyTrainingSession::setThreads, py::arg("threads"));
  m.def("train_session", &trainSession, py::arg("path"), py::arg("shapes"),
        py::arg("loss") = "softmax_cross_entropy", py::arg("optimizer") = "adam",
        py::arg("lr") = 1e-3, py::arg("schedule") = "constant", py::arg("warmup_steps") = 0,
        py::arg("total_steps") = 0, py::arg("momentum") = 0.0, py::arg("nesterov") = false,
        py::arg("weight_decay") = 0.0, py::arg("clip_norm") = 0.0,
        py::arg("label_smoothing") = 0.0, py::arg("label_dtype") = "int64",
        py::arg("freeze") = "", py::arg("prediction") = "", py::arg("seed") = 0,
        "Compiles a training step of an ONNX model for the batch size that `shapes` "
        "gives every input (name -> dims). Every float initializer trains unless it "
        "matches the `freeze` regular expression.");
  m.def("load", &loadArtifact, py::arg("path"),
        "Loads a .dlc artifact (from `dlc compile` or Model.save).");
  // For tests: the address the compiled code would read `array` from.
  m.def("_input_address", [](py::array array) {
    return reinterpret_cast<uintptr_t>(tensorOf("array", std::move(array)).data());
  });
}
