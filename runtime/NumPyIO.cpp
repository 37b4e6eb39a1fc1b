//===- NumPyIO.cpp - tensors in NumPy's .npy and .npz files -----*- C++ -*-===//

#include "runtime/NumPyIO.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <zip.h>

#include <cstring>
#include <unistd.h>

using namespace dlc;

namespace {

constexpr llvm::StringLiteral kMagic("\x93NUMPY");

/// NumPy's descr for each dtype ('<' little-endian, '|' not applicable).
llvm::StringRef descrOf(DType dtype) {
  switch (dtype) {
  case DType::f32: return "<f4";
  case DType::f64: return "<f8";
  case DType::f16: return "<f2";
  case DType::bf16: return "<u2";
  case DType::i1: return "|b1";
  case DType::i8: return "|i1";
  case DType::i16: return "<i2";
  case DType::i32: return "<i4";
  case DType::i64: return "<i8";
  case DType::u8: return "|u1";
  case DType::u16: return "<u2";
  case DType::u32: return "<u4";
  case DType::u64: return "<u8";
  }
  llvm_unreachable("unknown dtype");
}

std::optional<DType> dtypeOfDescr(llvm::StringRef descr) {
  // '=' is native order, which is little-endian on every machine dlc runs on.
  if (!descr.empty() && descr.front() == '=')
    descr = descr.drop_front();
  else if (!descr.empty() && (descr.front() == '<' || descr.front() == '|'))
    descr = descr.drop_front();
  else
    return std::nullopt;
  return llvm::StringSwitch<std::optional<DType>>(descr)
      .Case("f4", DType::f32).Case("f8", DType::f64).Case("f2", DType::f16)
      .Case("b1", DType::i1).Case("i1", DType::i8).Case("i2", DType::i16)
      .Case("i4", DType::i32).Case("i8", DType::i64).Case("u1", DType::u8)
      .Case("u2", DType::u16).Case("u4", DType::u32).Case("u8", DType::u64)
      .Default(std::nullopt);
}

/// The value of `key` in the header dict, up to the next top-level comma.
std::optional<llvm::StringRef> headerValue(llvm::StringRef header, llvm::StringRef key) {
  size_t at = header.find(("'" + key + "'").str());
  if (at == llvm::StringRef::npos)
    return std::nullopt;
  llvm::StringRef rest = header.drop_front(at + key.size() + 2).ltrim();
  if (!rest.consume_front(":"))
    return std::nullopt;
  rest = rest.ltrim();
  if (rest.starts_with("(")) {
    size_t close = rest.find(')');
    return close == llvm::StringRef::npos ? std::nullopt
                                          : std::optional(rest.take_front(close + 1));
  }
  return rest.take_until([](char c) { return c == ',' || c == '}'; }).trim();
}

} // namespace

llvm::Expected<HostTensor> dlc::parseNpy(llvm::StringRef bytes, llvm::StringRef what) {
  auto fail = [&](const llvm::Twine &message) {
    return llvm::createStringError((what + ": " + message).str());
  };
  if (!bytes.starts_with(kMagic) || bytes.size() < 10)
    return fail("not a .npy file (no \\x93NUMPY magic)");
  uint8_t major = bytes[6];
  size_t headerLength, headerStart;
  if (major == 1) {
    headerLength = uint8_t(bytes[8]) | (uint8_t(bytes[9]) << 8);
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return fail("truncated header");
    headerLength = uint32_t(uint8_t(bytes[8])) | (uint32_t(uint8_t(bytes[9])) << 8) |
                   (uint32_t(uint8_t(bytes[10])) << 16) | (uint32_t(uint8_t(bytes[11])) << 24);
    headerStart = 12;
  } else {
    return fail("unknown .npy format version " + llvm::Twine(int(major)));
  }
  if (bytes.size() < headerStart + headerLength)
    return fail("truncated header");
  llvm::StringRef header = bytes.substr(headerStart, headerLength);
  auto descr = headerValue(header, "descr");
  auto fortran = headerValue(header, "fortran_order");
  auto shapeText = headerValue(header, "shape");
  if (!descr || !fortran || !shapeText)
    return fail("malformed header: " + header.trim());
  std::optional<DType> dtype = dtypeOfDescr(descr->trim("'\""));
  if (!dtype)
    return fail("element type " + *descr +
                " is not supported (little-endian bool, int8-64, uint8-64, "
                "float16/32/64 are)");
  if (*fortran != "False")
    return fail("Fortran-ordered arrays are not supported; save with "
                "np.ascontiguousarray");
  std::vector<int64_t> shape;
  llvm::SmallVector<llvm::StringRef> parts;
  shapeText->trim("()").split(parts, ',', -1, /*KeepEmpty=*/false);
  uint64_t count = 1;
  for (llvm::StringRef part : parts) {
    int64_t d;
    if (part.trim().getAsInteger(10, d) || d < 0 ||
        __builtin_mul_overflow(count, uint64_t(d), &count) || count > (uint64_t(1) << 36))
      return fail("bad shape " + *shapeText);
    shape.push_back(d);
  }
  llvm::StringRef data = bytes.drop_front(headerStart + headerLength);
  size_t expected = count * dtypeSize(*dtype);
  if (data.size() != expected)
    return fail("holds " + llvm::Twine(data.size()) + " bytes of data, expected " +
                llvm::Twine(expected) + " for shape " + *shapeText);
  HostTensor tensor(*dtype, shape);
  std::memcpy(tensor.data(), data.data(), expected);
  return tensor;
}

std::string dlc::serializeNpy(const HostTensor &tensor) {
  std::string shape = "(";
  for (int64_t d : tensor.shape())
    shape += std::to_string(d) + (tensor.rank() == 1 ? "," : ", ");
  if (tensor.rank() > 1)
    shape.resize(shape.size() - 2);
  shape += ")";
  std::string header = "{'descr': '" + descrOf(tensor.dtype()).str() +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // The header, with its 10 bytes of preamble, is padded with spaces to a
  // multiple of 64 bytes and ends in a newline.
  size_t total = (10 + header.size() + 1 + 63) / 64 * 64;
  header.append(total - 10 - header.size() - 1, ' ');
  header += '\n';
  std::string out = kMagic.str();
  out += char(1);
  out += char(0);
  out += char(header.size() & 0xff);
  out += char(header.size() >> 8);
  out += header;
  out.append(static_cast<const char *>(tensor.data()), tensor.byteSize());
  return out;
}

llvm::Expected<NamedTensors> dlc::readNumPyFile(llvm::StringRef path) {
  auto file = llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
  if (!file)
    return llvm::createStringError("cannot read '%s': %s", path.str().c_str(),
                                   file.getError().message().c_str());
  llvm::StringRef bytes = (*file)->getBuffer();
  if (bytes.starts_with(kMagic)) {
    auto tensor = parseNpy(bytes, path);
    if (!tensor)
      return tensor.takeError();
    return NamedTensors{{llvm::sys::path::stem(path).str(), std::move(*tensor)}};
  }
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t *source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  zip_t *archive = source ? zip_open_from_source(source, ZIP_RDONLY, &error) : nullptr;
  if (!archive) {
    std::string message = zip_error_strerror(&error);
    if (source)
      zip_source_free(source);
    zip_error_fini(&error);
    return llvm::createStringError("'%s' is neither a .npy file nor an .npz archive (%s)",
                                   path.str().c_str(), message.c_str());
  }
  llvm::scope_exit closeArchive([&] { zip_discard(archive); });
  NamedTensors tensors;
  zip_int64_t entries = zip_get_num_entries(archive, 0);
  for (zip_int64_t i = 0; i < entries; ++i) {
    zip_stat_t stat;
    if (zip_stat_index(archive, i, 0, &stat) != 0)
      return llvm::createStringError("%s: cannot read entry %lld", path.str().c_str(),
                                     static_cast<long long>(i));
    llvm::StringRef name = stat.name;
    if (stat.size > (uint64_t(1) << 38))
      return llvm::createStringError("%s: entry '%s' is too large", path.str().c_str(), stat.name);
    std::string content(stat.size, '\0');
    zip_file_t *entry = zip_fopen_index(archive, i, 0);
    if (!entry)
      return llvm::createStringError("%s: cannot open entry '%s'", path.str().c_str(), stat.name);
    zip_int64_t read = zip_fread(entry, content.data(), stat.size);
    zip_fclose(entry);
    if (read < 0 || uint64_t(read) != stat.size)
      return llvm::createStringError("%s: entry '%s' is damaged", path.str().c_str(), stat.name);
    auto tensor = parseNpy(content, (path + ":" + name).str());
    if (!tensor)
      return tensor.takeError();
    name.consume_back(".npy");
    tensors.emplace_back(name.str(), std::move(*tensor));
  }
  return tensors;
}

llvm::Error dlc::writeNumPyFile(llvm::StringRef path, const NamedTensors &tensors) {
  // Write beside the target, then rename: a reader never sees half a file.
  llvm::SmallString<256> temporary;
  int fd;
  if (std::error_code ec = llvm::sys::fs::createUniqueFile(path + ".tmp-%%%%%%", fd, temporary))
    return llvm::createStringError("cannot create a file beside '%s': %s",
                                   path.str().c_str(), ec.message().c_str());
  ::close(fd);
  llvm::scope_exit removeTemporary([&] { llvm::sys::fs::remove(temporary); });
  if (path.ends_with(".npy")) {
    if (tensors.size() != 1)
      return llvm::createStringError("'%s': a .npy file holds one tensor, not %zu; use .npz",
                                     path.str().c_str(), tensors.size());
    std::error_code ec;
    llvm::raw_fd_ostream out(temporary, ec);
    if (!ec) {
      out << serializeNpy(tensors.front().second);
      out.close();
      ec = out.error();
    }
    if (ec)
      return llvm::createStringError("cannot write '%s': %s", path.str().c_str(),
                                     ec.message().c_str());
  } else {
    int error = 0;
    zip_t *archive = zip_open(temporary.c_str(), ZIP_TRUNCATE, &error);
    if (!archive)
      return llvm::createStringError("cannot write '%s' (zip error %d)", path.str().c_str(), error);
    // libzip reads the buffers when the archive is closed: keep them alive.
    std::vector<std::string> contents;
    contents.reserve(tensors.size());
    for (const auto &[name, tensor] : tensors) {
      contents.push_back(serializeNpy(tensor));
      zip_source_t *source =
          zip_source_buffer(archive, contents.back().data(), contents.back().size(), 0);
      zip_int64_t index =
          source ? zip_file_add(archive, (name + ".npy").c_str(), source, ZIP_FL_ENC_UTF_8) : -1;
      if (index < 0) {
        if (source)
          zip_source_free(source);
        std::string message = zip_strerror(archive);
        zip_discard(archive);
        return llvm::createStringError("cannot add '%s' to '%s': %s", name.c_str(),
                                       path.str().c_str(), message.c_str());
      }
      zip_set_file_compression(archive, index, ZIP_CM_STORE, 0);
    }
    if (zip_close(archive) != 0) {
      std::string message = zip_strerror(archive);
      zip_discard(archive);
      return llvm::createStringError("cannot write '%s': %s", path.str().c_str(), message.c_str());
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(temporary, path))
    return llvm::createStringError("cannot write '%s': %s", path.str().c_str(),
                                   ec.message().c_str());
  removeTemporary.release();
  return llvm::Error::success();
}
