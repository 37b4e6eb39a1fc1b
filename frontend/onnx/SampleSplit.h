//===- SampleSplit.h - does a graph keep a batch's samples apart? -*- C++ -*-===//
//
// An inference model whose every node computes each sample of the batch
// (dimension 0 of every graph input) from that sample alone can run a batch
// as single samples, one per thread (Signature::samples): a convolutional
// network's intermediate tensors then fit in cache, and its kernels run
// without synchronizing (MobileNetV2 at batch 32: ~1.3× the throughput of
// the whole batch on two threads). The importer imports such a model at
// batch 1 and asks, node by node, whether each keeps the samples apart; a
// node it cannot show does so (an unknown op, a reduction over dimension 0,
// a Shape of a batched tensor) makes it import the whole batch instead.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_FRONTEND_ONNX_SAMPLESPLIT_H
#define DLC_FRONTEND_ONNX_SAMPLESPLIT_H

#include "frontend/builder/GraphBuilder.h"

#include "onnx/onnx_pb.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace dlc::onnx_import {

/// Whether `node`, imported at batch 1 with `inputs` (invalid where absent)
/// and `results`, computes each sample of its batched inputs (those
/// `batched` names) from that sample alone, its results batched in
/// dimension 0: "" if so (or if no input is batched: its results do not
/// depend on the batch), otherwise why not ("ReduceMean over dimension 0").
std::string sampleSplitRefusal(const onnx::NodeProto &node, int64_t opset,
                               llvm::ArrayRef<Tensor> inputs, llvm::ArrayRef<Tensor> results,
                               llvm::function_ref<bool(llvm::StringRef)> batched);

} // namespace dlc::onnx_import

#endif // DLC_FRONTEND_ONNX_SAMPLESPLIT_H
