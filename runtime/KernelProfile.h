//===- KernelProfile.h - time spent in the runtime's kernels ----*- C++ -*-===//
//
// What `dlc bench --profile` prints: for each runtime kernel and shape
// (dlc_gemm_f32, dlc_conv2d_f32, ...), its calls, time and FLOPs, summed
// over the runs made while a profile is current on the calling thread.
// The kernels' entry points time themselves with a KernelProfile::Timer,
// which costs three thread-local accesses when no profile is current; a
// kernel called by another (a GEMM run as a convolution) is its caller's
// time, not an entry of its own. Code that
// dlc generates (elementwise and reduction loop nests) is not timed one
// kernel at a time: it is what a run's time leaves over.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_RUNTIME_KERNELPROFILE_H
#define DLC_RUNTIME_KERNELPROFILE_H

#include "llvm/ADT/StringRef.h"

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace dlc {

class KernelProfile {
public:
  /// One kernel at one shape.
  struct Entry {
    std::string kernel, shape;
    int64_t calls = 0;
    double seconds = 0, flops = 0;
  };

  /// Adds a call of `kernel` at `shape` that took `seconds` and did
  /// `flops` floating-point operations (0: not counted).
  void add(llvm::StringRef kernel, llvm::StringRef shape, double seconds, double flops);

  /// The entries, most time first.
  std::vector<Entry> entries() const;

  /// The profile kernels on this thread add to, or null.
  static KernelProfile *current();

  /// Makes `profile` this thread's current profile while in scope.
  class Scope {
  public:
    explicit Scope(KernelProfile *profile);
    ~Scope();
    Scope(const Scope &) = delete;
    Scope &operator=(const Scope &) = delete;

  private:
    KernelProfile *previous;
  };

  /// Times a kernel call from its construction to its destruction and adds
  /// it to the current profile, if any; `shape` (a callable that returns
  /// the shape's text) is called only then. Kernels it calls in the
  /// meantime on this thread are its time, not entries of their own (a
  /// GEMM that runs as a convolution is one entry).
  template <typename Shape> class Timer {
  public:
    Timer(const char *kernel, Shape shape, double flops)
        : profile(current()), nested(nullptr), kernel(kernel), shape(std::move(shape)),
          flops(flops) {
      if (profile)
        start = std::chrono::steady_clock::now();
    }
    ~Timer() {
      if (profile)
        profile->add(kernel, shape(),
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                         .count(),
                     flops);
    }
    /// Names the call otherwise (a kernel that chose one of its methods).
    void rename(const char *name) { kernel = name; }
    Timer(const Timer &) = delete;
    Timer &operator=(const Timer &) = delete;

  private:
    KernelProfile *profile;
    Scope nested; ///< no current profile while the call runs
    const char *kernel;
    Shape shape;
    double flops;
    std::chrono::steady_clock::time_point start;
  };
  /// `Timer timer("gemm", [&] { ... }, flops);` deduces its Shape.
  template <typename Shape> Timer(const char *, Shape, double) -> Timer<Shape>;

private:
  mutable std::mutex mutex;
  std::map<std::pair<std::string, std::string>, Entry> table;
};

} // namespace dlc

#endif // DLC_RUNTIME_KERNELPROFILE_H
