//===- Diagnostics.cpp - MLIR diagnostics as llvm::Error --------*- C++ -*-===//

#include "ir/Diagnostics.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Location.h"
#include "llvm/Support/raw_ostream.h"

using namespace dlc;

std::string dlc::describeLocation(mlir::Location loc) {
  if (auto name = mlir::dyn_cast<mlir::NameLoc>(loc)) {
    std::string text = "'" + name.getName().str() + "'";
    if (!mlir::isa<mlir::UnknownLoc>(name.getChildLoc()))
      text += " (" + describeLocation(name.getChildLoc()) + ")";
    return text;
  }
  if (auto fused = mlir::dyn_cast<mlir::FusedLoc>(loc)) {
    std::string text;
    for (mlir::Location part : fused.getLocations())
      text += (text.empty() ? "" : ", ") + describeLocation(part);
    return text;
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  loc.print(os);
  return text;
}

DiagnosticCapture::DiagnosticCapture(mlir::MLIRContext *context)
    : handler(context, [this](mlir::Diagnostic &diagnostic) {
        llvm::raw_string_ostream os(messages);
        if (!mlir::isa<mlir::UnknownLoc>(diagnostic.getLocation()))
          os << describeLocation(diagnostic.getLocation()) << ": ";
        switch (diagnostic.getSeverity()) {
        case mlir::DiagnosticSeverity::Error: os << "error: "; break;
        case mlir::DiagnosticSeverity::Warning: os << "warning: "; break;
        case mlir::DiagnosticSeverity::Note: os << "note: "; break;
        case mlir::DiagnosticSeverity::Remark: os << "remark: "; break;
        }
        os << diagnostic.str() << "\n";
        for (const mlir::Diagnostic &note : diagnostic.getNotes())
          os << "  note: " << note.str() << "\n";
        return mlir::success();
      }) {}

llvm::Error DiagnosticCapture::takeError(llvm::StringRef what) {
  std::string text = what.str();
  if (!messages.empty())
    text += ":\n" + llvm::StringRef(messages).rtrim().str();
  messages.clear();
  return llvm::createStringError(text);
}
