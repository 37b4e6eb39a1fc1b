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

// The element types dlc computes with. Indices, masks and shapes arrive with
// the importer; arithmetic here is float and signless integer.
def Dlc_Element : AnyTypeOf<[AnyFloat, AnySignlessInteger]>;
def Dlc_Tensor : StaticShapeTensorOf<[AnyFloat, AnySignlessInteger]>;
def Dlc_FloatTensor : StaticShapeTensorOf<[AnyFloat]>;

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

#endif // DLC_DIALECT_TD
