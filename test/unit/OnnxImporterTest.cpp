//===- OnnxImporterTest.cpp - the importer on hand-built models -*- C++ -*-===//
//
// Initializers in external data files, and the errors for external data
// that is missing, too short or outside the model's folder.
//
//===----------------------------------------------------------------------===//

#include "frontend/onnx/OnnxImporter.h"

#include "mlir/IR/MLIRContext.h"
#include "onnx/onnx_pb.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include "gtest/gtest.h"

#include <fstream>

using namespace dlc;

namespace {

class OnnxImporterTest : public ::testing::Test {
protected:
  void SetUp() override {
    llvm::SmallString<128> path;
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("dlc-onnx-test", path));
    directory = std::string(path);
  }
  void TearDown() override { llvm::sys::fs::remove_directories(directory); }

  std::string file(llvm::StringRef name) {
    llvm::SmallString<128> path(directory);
    llvm::sys::path::append(path, name);
    return std::string(path);
  }

  /// y = x + w, with w (4 floats) stored externally at `location`.
  std::string writeModel(llvm::StringRef location, int64_t offset, int64_t length) {
    onnx::ModelProto model;
    model.set_ir_version(8);
    model.add_opset_import()->set_version(13);
    onnx::GraphProto *graph = model.mutable_graph();
    auto addValue = [](onnx::ValueInfoProto *value, const char *name) {
      value->set_name(name);
      auto *type = value->mutable_type()->mutable_tensor_type();
      type->set_elem_type(onnx::TensorProto::FLOAT);
      type->mutable_shape()->add_dim()->set_dim_value(4);
    };
    addValue(graph->add_input(), "x");
    addValue(graph->add_output(), "y");
    onnx::TensorProto *w = graph->add_initializer();
    w->set_name("w");
    w->set_data_type(onnx::TensorProto::FLOAT);
    w->add_dims(4);
    w->set_data_location(onnx::TensorProto::EXTERNAL);
    auto addEntry = [&](const char *key, const std::string &value) {
      auto *entry = w->add_external_data();
      entry->set_key(key);
      entry->set_value(value);
    };
    addEntry("location", location.str());
    addEntry("offset", std::to_string(offset));
    addEntry("length", std::to_string(length));
    onnx::NodeProto *node = graph->add_node();
    node->set_op_type("Add");
    node->set_name("add");
    node->add_input("x");
    node->add_input("w");
    node->add_output("y");
    std::string path = file("model.onnx");
    std::ofstream out(path, std::ios::binary);
    model.SerializeToOstream(&out);
    return path;
  }

  void writeWeights(const char *name, int64_t padding, int count) {
    std::ofstream out(file(name), std::ios::binary);
    std::vector<char> zeros(padding, 0);
    out.write(zeros.data(), zeros.size());
    for (int i = 0; i < count; ++i) {
      float v = 1.5f * (i + 1);
      out.write(reinterpret_cast<const char *>(&v), sizeof v);
    }
  }

  std::string importError(const std::string &path) {
    mlir::MLIRContext context;
    auto model = importOnnxFile(context, path);
    return model ? "no error" : llvm::toString(model.takeError());
  }

  std::string directory;
};

TEST_F(OnnxImporterTest, ReadsExternalData) {
  writeWeights("weights.bin", 8, 4);
  std::string path = writeModel("weights.bin", 8, 16);
  mlir::MLIRContext context;
  auto model = importOnnxFile(context, path);
  ASSERT_TRUE(static_cast<bool>(model)) << llvm::toString(model.takeError());
  ASSERT_EQ(model->weights.size(), 1u);
  EXPECT_EQ(model->weights[0].first, "w");
  const float *w = model->weights[0].second.dataAs<float>();
  EXPECT_EQ(w[0], 1.5f);
  EXPECT_EQ(w[3], 6.0f);
}

TEST_F(OnnxImporterTest, RefusesBadExternalData) {
  writeWeights("short.bin", 0, 2);
  EXPECT_NE(importError(writeModel("short.bin", 0, 16)).find(
                "is too short for tensor 'w' (16 bytes at offset 0)"),
            std::string::npos);
  EXPECT_NE(importError(writeModel("absent.bin", 0, 16)).find(
                "cannot read external data"),
            std::string::npos);
  EXPECT_NE(importError(writeModel("../outside.bin", 0, 16)).find(
                "must be a relative path inside the model's folder"),
            std::string::npos);
  writeWeights("weights.bin", 0, 4);
  EXPECT_NE(importError(writeModel("weights.bin", 0, 12)).find(
                "has length 12, expected 16 bytes"),
            std::string::npos);
}

} // namespace
