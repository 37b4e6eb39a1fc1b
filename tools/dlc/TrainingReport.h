//===- TrainingReport.h - metrics and curves of `dlc train` -----*- C++ -*-===//
//
// `dlc train` writes its metrics as JSON lines (one object per step, one per
// epoch) and, beside them, an HTML page with the curves drawn as inline SVG:
// it opens in any browser, offline, and needs nothing installed.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_TOOLS_DLC_TRAININGREPORT_H
#define DLC_TOOLS_DLC_TRAININGREPORT_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dlc::tool {

struct StepRecord {
  int64_t step = 0;
  int64_t epoch = 0;
  double loss = 0;
  double learningRate = 0;
  double samplesPerSecond = 0;
  std::optional<double> gradientNorm;
};

struct EpochRecord {
  int64_t epoch = 0; ///< from 1
  int64_t step = 0;  ///< the last step of the epoch
  double trainLoss = 0;
  double seconds = 0;
  std::optional<double> validationLoss, validationAccuracy;
};

struct TrainingHistory {
  std::string title;
  std::vector<StepRecord> steps;
  std::vector<EpochRecord> epochs;

  /// One JSON line per record.
  static std::string toJsonLine(const StepRecord &record);
  static std::string toJsonLine(const EpochRecord &record);
  /// Reads the records of a metrics file that `toJsonLine` wrote, keeping
  /// those up to `lastStep`; lines that do not parse are skipped (a line cut
  /// short by a kill).
  static TrainingHistory readJsonLines(llvm::StringRef path, int64_t lastStep);
  /// Writes every record to `path`, atomically.
  llvm::Error writeJsonLines(llvm::StringRef path) const;
  /// The curves as a self-contained HTML page, written atomically.
  llvm::Error writeHtml(llvm::StringRef path) const;
};

} // namespace dlc::tool

#endif // DLC_TOOLS_DLC_TRAININGREPORT_H
