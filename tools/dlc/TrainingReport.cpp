//===- TrainingReport.cpp - metrics and curves of `dlc train` ---*- C++ -*-===//

#include "tools/dlc/TrainingReport.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>

using namespace llvm;
using namespace dlc::tool;

namespace {

struct Series {
  std::string name, color;
  std::vector<std::pair<double, double>> points; // (step, value)
};

/// A line chart of `series` against the step, as inline SVG.
std::string chart(StringRef title, const std::vector<Series> &series, bool logScale) {
  const double width = 640, height = 300, left = 60, right = 20, top = 30, bottom = 40;
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  auto yOf = [&](double v) { return logScale ? std::log10(std::max(v, 1e-12)) : v; };
  for (const Series &s : series)
    for (auto [x, y] : s.points) {
      if (!std::isfinite(y))
        continue;
      x0 = std::min(x0, x), x1 = std::max(x1, x);
      y0 = std::min(y0, yOf(y)), y1 = std::max(y1, yOf(y));
    }
  std::string svg;
  raw_string_ostream os(svg);
  os << formatv("<svg width=\"{0}\" height=\"{1}\" xmlns=\"http://www.w3.org/2000/svg\" "
                "font-family=\"sans-serif\" font-size=\"12\">\n",
                width, height);
  os << formatv("<text x=\"{0}\" y=\"18\" font-weight=\"bold\">{1}</text>\n", left, title);
  if (!(x0 <= x1)) {
    os << formatv("<text x=\"{0}\" y=\"{1}\">no data yet</text></svg>\n", left, height / 2);
    return svg;
  }
  if (x1 == x0)
    x1 = x0 + 1;
  if (y1 == y0)
    y1 = y0 + 1;
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * (width - left - right); };
  auto py = [&](double y) { return top + (y1 - yOf(y)) / (y1 - y0) * (height - top - bottom); };
  os << formatv("<rect x=\"{0}\" y=\"{1}\" width=\"{2}\" height=\"{3}\" fill=\"none\" "
                "stroke=\"#999\"/>\n",
                left, top, width - left - right, height - top - bottom);
  for (int i = 0; i <= 4; ++i) { // value ticks
    double v = y0 + (y1 - y0) * i / 4, shown = logScale ? std::pow(10, v) : v;
    double y = top + (y1 - v) / (y1 - y0) * (height - top - bottom);
    os << formatv("<text x=\"{0}\" y=\"{1}\" text-anchor=\"end\">{2}</text>\n", left - 4, y + 4,
                  formatv("{0:g}", shown).str().substr(0, 8));
    os << formatv("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"#eee\"/>\n", left,
                  width - right, y);
  }
  os << formatv("<text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\">step ({2} to {3})</text>\n",
                (left + width - right) / 2, height - 10, int64_t(x0), int64_t(x1));
  double legendX = left + 10;
  for (const Series &s : series) {
    os << "<polyline fill=\"none\" stroke=\"" << s.color << "\" stroke-width=\"1.5\" points=\"";
    for (auto [x, y] : s.points)
      if (std::isfinite(y))
        os << formatv("{0:f1},{1:f1} ", px(x), py(y));
    os << "\"/>\n";
    if (s.points.size() == 1)
      os << formatv("<circle cx=\"{0:f1}\" cy=\"{1:f1}\" r=\"3\" fill=\"{2}\"/>\n",
                    px(s.points[0].first), py(s.points[0].second), s.color);
    os << formatv("<text x=\"{0}\" y=\"{1}\" fill=\"{2}\">{3}</text>\n", legendX, top + 16,
                  s.color, s.name);
    legendX += 12 + 7 * s.name.size();
  }
  os << "</svg>\n";
  return svg;
}

std::string escape(StringRef text) {
  std::string out;
  for (char c : text)
    out += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : std::string(1, c);
  return out;
}

Error writeAtomically(StringRef path, const std::string &text) {
  return writeToOutput(path, [&](raw_ostream &os) {
    os << text;
    return Error::success();
  });
}

} // namespace

std::string TrainingHistory::toJsonLine(const StepRecord &r) {
  json::Object object{{"step", r.step},
                      {"epoch", r.epoch},
                      {"loss", r.loss},
                      {"lr", r.learningRate},
                      {"samples_per_s", r.samplesPerSecond}};
  if (r.gradientNorm)
    object["grad_norm"] = *r.gradientNorm;
  return formatv("{0}", json::Value(std::move(object))).str();
}

std::string TrainingHistory::toJsonLine(const EpochRecord &r) {
  json::Object object{{"epoch_end", r.epoch},
                      {"step", r.step},
                      {"train_loss", r.trainLoss},
                      {"seconds", r.seconds}};
  if (r.validationLoss)
    object["val_loss"] = *r.validationLoss;
  if (r.validationAccuracy)
    object["val_accuracy"] = *r.validationAccuracy;
  return formatv("{0}", json::Value(std::move(object))).str();
}

TrainingHistory TrainingHistory::readJsonLines(StringRef path, int64_t lastStep) {
  TrainingHistory history;
  auto file = MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!file)
    return history;
  SmallVector<StringRef> lines;
  (*file)->getBuffer().split(lines, '\n', -1, /*KeepEmpty=*/false);
  for (StringRef line : lines) {
    Expected<json::Value> value = json::parse(line);
    if (!value) {
      consumeError(value.takeError());
      continue;
    }
    const json::Object *object = value->getAsObject();
    if (!object)
      continue;
    std::optional<int64_t> step = object->getInteger("step");
    if (!step || *step > lastStep)
      continue;
    auto number = [&](StringRef key) { return object->getNumber(key).value_or(0); };
    if (std::optional<int64_t> epoch = object->getInteger("epoch_end")) {
      EpochRecord r{*epoch, *step, number("train_loss"), number("seconds"),
                    object->getNumber("val_loss"), object->getNumber("val_accuracy")};
      history.epochs.push_back(r);
    } else {
      StepRecord r{*step, object->getInteger("epoch").value_or(0), number("loss"),
                   number("lr"), number("samples_per_s"), object->getNumber("grad_norm")};
      history.steps.push_back(r);
    }
  }
  return history;
}

Error TrainingHistory::writeJsonLines(StringRef path) const {
  std::string text;
  size_t nextEpoch = 0;
  for (const StepRecord &r : steps) {
    text += toJsonLine(r) + "\n";
    while (nextEpoch < epochs.size() && epochs[nextEpoch].step == r.step)
      text += toJsonLine(epochs[nextEpoch++]) + "\n";
  }
  for (; nextEpoch < epochs.size(); ++nextEpoch)
    text += toJsonLine(epochs[nextEpoch]) + "\n";
  return writeAtomically(path, text);
}

Error TrainingHistory::writeHtml(StringRef path) const {
  Series stepLoss{"training loss (each step)", "#9bb7d4", {}};
  // Many steps make a noisy line; draw at most ~600 points.
  size_t stride = std::max<size_t>(1, steps.size() / 600);
  for (size_t i = 0; i < steps.size(); i += stride)
    stepLoss.points.emplace_back(steps[i].step, steps[i].loss);
  Series epochLoss{"training loss (epoch mean)", "#1f5fa8", {}};
  Series validationLoss{"validation loss", "#d9534f", {}};
  Series accuracy{"validation accuracy", "#2e8b57", {}};
  for (const EpochRecord &r : epochs) {
    epochLoss.points.emplace_back(r.step, r.trainLoss);
    if (r.validationLoss)
      validationLoss.points.emplace_back(r.step, *r.validationLoss);
    if (r.validationAccuracy)
      accuracy.points.emplace_back(r.step, *r.validationAccuracy);
  }
  Series rate{"learning rate", "#8a6d3b", {}};
  for (size_t i = 0; i < steps.size(); i += stride)
    rate.points.emplace_back(steps[i].step, steps[i].learningRate);

  std::string html;
  raw_string_ostream os(html);
  os << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" << escape(title)
     << "</title></head>\n<body style=\"font-family:sans-serif\">\n<h2>" << escape(title)
     << "</h2>\n";
  if (!epochs.empty()) {
    const EpochRecord &last = epochs.back();
    os << formatv("<p>After epoch {0} (step {1}): training loss {2:f5}", last.epoch, last.step,
                  last.trainLoss);
    if (last.validationLoss)
      os << formatv(", validation loss {0:f5}", *last.validationLoss);
    if (last.validationAccuracy)
      os << formatv(", validation accuracy {0:f2}%", 100 * *last.validationAccuracy);
    os << ".</p>\n";
  }
  std::vector<Series> losses = {stepLoss, epochLoss};
  if (!validationLoss.points.empty())
    losses.push_back(validationLoss);
  os << chart("Loss (log scale)", losses, /*logScale=*/true) << "<br>\n";
  if (!accuracy.points.empty())
    os << chart("Validation accuracy", {accuracy}, /*logScale=*/false) << "<br>\n";
  os << chart("Learning rate", {rate}, /*logScale=*/false) << "\n";
  os << "<p>Data: metrics.jsonl beside this page.</p>\n</body></html>\n";
  return writeAtomically(path, html);
}
