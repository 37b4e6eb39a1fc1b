//===- DlcDialect.td - the dlc dialect declaration ----------*- tablegen -*-===//
//
// The dlc dialect: value-semantics tensor ops with static shapes, the one IR
// that every dlc model goes through from import to code generation.
//
//===----------------------------------------------------------------------===//

#ifndef DLC_DIALECT_TD
#define DLC_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/EnumAttr.td"

def Dlc_Dialect : Dialect {
  let name = "dlc";
  let summary = "Tensor operations of the dlc deep-learning compiler";
  let description = [{
    A small set of primitive tensor operations on ranked tensors with static
    shapes, in the spirit of XLA's HLO: elementwise arithmetic, broadcast,
    reshape, transpose, reduce and dot. Composite operations (softmax, layer
    norm, linear layers...) are built from these by the GraphBuilder API.
    Elementwise operations take operands of one shape: broadcasting is always
    an explicit `dlc.broadcast`.
  }];
  let cppNamespace = "::dlc";
  let hasConstantMaterializer = 1;
}

// The element types dlc computes with: floats, and integers for indices,
// masks (i1) and shapes.
// Unsigned ONNX types keep their signedness (ui8...) so that division,
// comparison and conversion know it.
def Dlc_Tensor : StaticShapeTensorOf<[AnyFloat, AnySignlessInteger, AnyUnsignedInteger]>;
def Dlc_FloatTensor : StaticShapeTensorOf<[AnyFloat]>;
def Dlc_IntTensor : StaticShapeTensorOf<[AnySignlessInteger, AnyUnsignedInteger]>;
def Dlc_BoolTensor : StaticShapeTensorOf<[I1]>;

class Dlc_Op<string mnemonic, list<Trait> traits = []>
    : Op<Dlc_Dialect, mnemonic, traits>;

def Dlc_ReduceKind : I32EnumAttr<"ReduceKind", "how dlc.reduce combines elements", [
    I32EnumAttrCase<"sum", 0>,
    I32EnumAttrCase<"prod", 1>,
    I32EnumAttrCase<"max", 2>,
    I32EnumAttrCase<"min", 3>,
  ]> {
  let cppNamespace = "::dlc";
}

def Dlc_CompareDirection : I32EnumAttr<"CompareDirection",
    "how dlc.compare compares", [
    I32EnumAttrCase<"eq", 0>,
    I32EnumAttrCase<"ne", 1>,
    I32EnumAttrCase<"lt", 2>,
    I32EnumAttrCase<"le", 3>,
    I32EnumAttrCase<"gt", 4>,
    I32EnumAttrCase<"ge", 5>,
  ]> {
  let cppNamespace = "::dlc";
}

def Dlc_ScatterKind : I32EnumAttr<"ScatterKind",
    "how dlc.scatter combines an update with the element it lands on", [
    I32EnumAttrCase<"none", 0>,
    I32EnumAttrCase<"add", 1>,
    I32EnumAttrCase<"mul", 2>,
    I32EnumAttrCase<"max", 3>,
    I32EnumAttrCase<"min", 4>,
  ]> {
  let cppNamespace = "::dlc";
}

#endif // DLC_DIALECT_TD
