//===- NumPyIOTest.cpp - .npy parsing and writing ---------------*- C++ -*-===//

#include "runtime/NumPyIO.h"

#include "gtest/gtest.h"

#include <cstring>

using namespace dlc;

namespace {

std::string errorOf(llvm::StringRef bytes) {
  auto tensor = parseNpy(bytes, "x.npy");
  return tensor ? "no error" : llvm::toString(tensor.takeError());
}

TEST(NumPyIOTest, RoundTripsEveryDType) {
  for (DType dtype : {DType::f32, DType::f64, DType::f16, DType::i1, DType::i8,
                      DType::i16, DType::i32, DType::i64, DType::u8, DType::u16,
                      DType::u32, DType::u64}) {
    HostTensor tensor(dtype, {2, 3});
    for (size_t i = 0; i < tensor.byteSize(); ++i)
      static_cast<uint8_t *>(tensor.data())[i] = dtype == DType::i1 ? i % 2 : uint8_t(i * 7);
    std::string bytes = serializeNpy(tensor);
    // The header is padded to a multiple of 64 bytes, as NumPy requires.
    EXPECT_EQ((bytes.size() - tensor.byteSize()) % 64, 0u);
    auto parsed = parseNpy(bytes, "x.npy");
    ASSERT_TRUE(static_cast<bool>(parsed)) << llvm::toString(parsed.takeError());
    EXPECT_EQ(parsed->dtype(), dtype);
    EXPECT_EQ(formatShape(parsed->shape()), "2x3");
    EXPECT_EQ(0, std::memcmp(parsed->data(), tensor.data(), tensor.byteSize()));
  }
  HostTensor scalar(DType::f32, {});
  auto parsed = parseNpy(serializeNpy(scalar), "s.npy");
  ASSERT_TRUE(static_cast<bool>(parsed));
  EXPECT_EQ(parsed->rank(), 0);
}

TEST(NumPyIOTest, RefusesMalformedFiles) {
  std::string good = serializeNpy(HostTensor(DType::f32, {4}));
  EXPECT_EQ(errorOf("hello"), "x.npy: not a .npy file (no \\x93NUMPY magic)");
  EXPECT_EQ(errorOf(good.substr(0, good.size() - 4)),
            "x.npy: holds 12 bytes of data, expected 16 for shape (4,)");
  std::string bigEndian = good;
  bigEndian.replace(bigEndian.find("'<f4'"), 5, "'>f4'");
  EXPECT_EQ(errorOf(bigEndian),
            "x.npy: element type '>f4' is not supported (little-endian bool, "
            "int8-64, uint8-64, float16/32/64 are)");
  std::string fortran = good;
  fortran.replace(fortran.find("False"), 5, "True ");
  EXPECT_EQ(errorOf(fortran), "x.npy: Fortran-ordered arrays are not supported; "
                              "save with np.ascontiguousarray");
  std::string truncated = good.substr(0, 20);
  EXPECT_EQ(errorOf(truncated), "x.npy: truncated header");
}

} // namespace
