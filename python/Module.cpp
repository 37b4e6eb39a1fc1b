//===- Module.cpp - the _dlc Python extension -------------------*- C++ -*-===//
//
// Binds compiling an ONNX model and running it on NumPy arrays. Inputs that
// are C-contiguous and of the model's dtype are viewed, not copied; outputs
// become NumPy arrays that own the runtime's buffers.
//
//===----------------------------------------------------------------------===//

#include "frontend/onnx/OnnxImporter.h"
#include "runtime/Artifact.h"
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

/// A view of `array` (no copy) when it is C-contiguous, aligned and in the
/// host's byte order; otherwise a view of a copy that is.
HostTensor tensorOf(const std::string &name, py::array array) {
  std::optional<DType> dtype = dtypeOf(array.dtype());
  if (!dtype)
    raise(llvm::createStringError("input '%s' has NumPy dtype %s, which dlc does not take",
                                  name.c_str(), std::string(py::str(array.dtype())).c_str()));
  if (array.dtype().attr("byteorder").cast<std::string>() == ">")
    array = array.attr("astype")(array.dtype().attr("newbyteorder")("="));
  bool aligned = reinterpret_cast<uintptr_t>(array.data()) % itemSize(array.dtype()) == 0;
  if (!(array.flags() & py::array::c_style) || !aligned)
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
  unsigned threads() const { return executable->threads(); }
  void setThreads(unsigned threads) { executable->setThreads(threads); }

private:
  std::unique_ptr<Executable> executable;
  std::vector<std::string> bound;
};

PyModel compileModel(const std::string &path, const py::dict &examples,
                     const std::map<std::string, std::vector<int64_t>> &shapes) {
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
      .def_property("threads", &PyModel::threads, &PyModel::setThreads,
                    "Threads the kernels use (setting 0 means one per core); not to be "
                    "set while another thread runs the model");
  m.def("compile", &compileModel, py::arg("path"),
        py::arg("example_inputs") = py::dict(),
        py::arg("shapes") = std::map<std::string, std::vector<int64_t>>(),
        "Imports an ONNX model and compiles it for this CPU. Symbolic "
        "dimensions are fixed by example_inputs (name -> array; shape-setting "
        "inputs are bound to their values) or by shapes (name -> dims).");
  m.def("load", &loadArtifact, py::arg("path"),
        "Loads a .dlc artifact (from `dlc compile` or Model.save).");
  // For tests: the address the compiled code would read `array` from.
  m.def("_input_address", [](py::array array) {
    return reinterpret_cast<uintptr_t>(tensorOf("array", std::move(array)).data());
  });
}
