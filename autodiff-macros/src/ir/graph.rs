//! `Graph`: a function body in SSA form, hash-consed, with structured branches.

use rustc_hash::FxHashMap;
use std::ops::Index;

use proc_macro2::{Span, TokenStream};

use super::op::Op;

/// Index of a node. Invariant: every operand of node `i` has an index below `i`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub(crate) struct Id(pub(super) u32);

impl Id {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A block of straight-line code: the body (`ROOT`) or one arm of an `if`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct BlockId(pub u32);

pub(crate) const ROOT: BlockId = BlockId(0);

#[derive(Clone, Debug)]
pub(crate) struct Block {
    pub parent: Option<BlockId>,
}

/// One `if`: its condition and its two arms. The `Phi` nodes of a branch, in the parent
/// block, read values from the arms. Every node created between `start` and the first `Phi`
/// lies in an arm (or deeper), so the arms occupy one contiguous range of ids.
#[derive(Clone, Debug)]
pub(crate) struct Branch {
    pub cond: Id,
    pub then_block: BlockId,
    pub else_block: BlockId,
    pub start: u32,
}

/// What a value is at run time, as far as the macro can tell.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Kind {
    /// The function's float type.
    Scalar,
    /// `Tensor<T>`.
    Tensor,
    /// `[T; N]`: read by index.
    Array,
    /// `&[T]` or `Vec<T>`: read by index; its gradient is a `Vec<T>`.
    Slice,
    /// An integer: counters, sizes.
    Int,
    Bool,
    /// Anything else (data parameters, results of calls): generated code goes through
    /// runtime traits, which work for every value type.
    Unknown,
}

impl Kind {
    /// The kind of an element-wise result.
    pub fn join(self, other: Kind) -> Kind {
        match (self, other) {
            (a, b) if a == b && matches!(a, Kind::Array | Kind::Slice) => a,
            (Kind::Scalar, Kind::Scalar) => Kind::Scalar,
            (Kind::Tensor, Kind::Scalar | Kind::Tensor) | (Kind::Scalar, Kind::Tensor) => {
                Kind::Tensor
            }
            _ => Kind::Unknown,
        }
    }
}

/// An expression kept as written (it touches no differentiated value, or its use is checked
/// when the gradient needs it). Local names in `tokens` are replaced by `__ad_ref{k}`,
/// standing for `deps[k]`.
#[derive(Clone, Debug)]
pub(crate) struct Opaque {
    pub tokens: TokenStream,
    pub span: Span,
    pub kind: Kind,
}

/// A `for` loop: its body is a graph of its own, whose parameters are the enclosing
/// variables (inputs), the loop variable, and one seed per carried variable.
#[derive(Clone)]
pub(crate) struct LoopInfo {
    pub body: Graph,
    /// The loop variable as written (`i`, `_step`, `_`).
    pub var: proc_macro2::TokenStream,
    pub inclusive: bool,
    /// Number of inputs: body parameter p is argument 2 + p of the `Loop` node.
    pub n_inputs: usize,
    /// Variables the body assigns: (input position, body node of the value at the end of an
    /// iteration).
    pub carried: Vec<(usize, Id)>,
    /// Body parameter holding the adjoint of each carried variable (backward pass).
    pub seeds: Vec<usize>,
    /// The body's reverse sweep, seeded by `seeds`, if any input is differentiated.
    pub adj: Option<Vec<Option<Id>>>,
    /// A `while` loop: the body node of its condition, tested at the start of every
    /// iteration (the body is `if cond { .. }`); the loop stops after the first iteration
    /// where it is false, and its range is not read. The trip count is known only then:
    /// the tape grows, and the backward pass runs as many iterations as the forward one.
    pub while_cond: Option<Id>,
}

/// A call to another `#[differentiable]` function; its pullback is `__{name}_pullback`.
#[derive(Clone)]
pub(crate) struct CallSite {
    /// The callee's path, as written.
    pub path: syn::Path,
    /// Per argument: written as `&arg`.
    pub by_ref: Vec<bool>,
    /// Per argument: where it is written.
    pub arg_spans: Vec<Span>,
    /// Per argument: an integer literal, written `int_lit(n)` so that the callee's parameter
    /// type (a float or an integer) decides its type.
    pub int_literal: Vec<bool>,
    pub span: Span,
    /// A method call `args[0].name(args[1..])` on a struct leaf (`self.l1.forward(x)`):
    /// `path` is the method's name; its pullback is the method `args[0].__name_pullback(..)`.
    pub method: bool,
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Node {
    pub op: Op,
    pub args: Vec<Id>,
    pub block: BlockId,
}

/// Per parameter: its kind, and whether it is differentiated.
#[derive(Clone, Debug)]
pub(crate) struct ParamInfo {
    pub kind: Kind,
    pub active: bool,
}

/// An element-wise expression reduced by `sum` or `mean`, compiled to one pass over the
/// broadcast index (see `fuse`). `body` is a scalar graph: parameter k is operand k at one
/// element, the last parameter the adjoint of the reduction.
#[derive(Clone)]
pub(crate) struct Kernel {
    pub body: Graph,
    pub out: Id,
    /// ∂(seed·out)/∂operand k, if operand k carries a gradient.
    pub partials: Vec<Option<Id>>,
    pub mean: bool,
    /// `out` as a polynomial in the operands, `(coefficient, power of each operand)`, when it
    /// is one: the runtime can then sum separable terms without walking the broadcast index.
    pub poly: Option<Vec<(f64, Vec<u32>)>>,
}

/// A body in SSA form. Nodes are hash-consed per block; smart constructors fold constants
/// and drop identities (`1*x`, `x+0`) as they build.
#[derive(Clone)]
pub(crate) struct Graph {
    pub(super) nodes: Vec<Node>,
    pub(super) kinds: Vec<Kind>,
    pub(super) active: Vec<bool>,
    pub(super) dedup: FxHashMap<Node, Id>,
    pub blocks: Vec<Block>,
    pub branches: Vec<Branch>,
    pub opaques: Vec<Opaque>,
    pub calls: Vec<CallSite>,
    /// Where in the source a node was written, for errors found later (by the sweep).
    pub spans: FxHashMap<Id, Span>,
    /// The `let` (or assigned) name of a node, for traces: the first name it got.
    pub names: FxHashMap<Id, String>,
    pub loops: Vec<LoopInfo>,
    pub kernels: Vec<Kernel>,
    pub params: Vec<ParamInfo>,
    /// Kind of the seed of the reverse sweep (the function's result).
    pub result_kind: Kind,
    /// The block new nodes go into.
    pub current: BlockId,
    /// Blocks created by a reverse sweep, keyed by the block they mirror.
    pub mirror: FxHashMap<BlockId, BlockId>,
    /// Copies of branches made to recompute values inside a mirror block.
    pub(super) branch_copies: FxHashMap<(u32, BlockId), u32>,
    /// Sums of two gradient contributions to a value of unknown kind (a struct leaf, a
    /// collection of them): both terms have the value's type, so the sum may be written with
    /// `Differentiable` where element-wise `+` is not defined (`Vec<Layer>`).
    pub grad_sums: rustc_hash::FxHashSet<Id>,
    /// A float element read inside an `if` arm (`w[i]` under a condition) whose sequence and
    /// index are defined at the top of the body: the same read at the top, which takes the
    /// arm's adjoint (a float leaving the arm through a `Phi`), so the gradient is scattered
    /// once per read (`g[i] += d`) instead of the arm building a one-hot sequence.
    pub element_slots: FxHashMap<Id, Id>,
}

impl Index<Id> for Graph {
    type Output = Node;
    fn index(&self, id: Id) -> &Node {
        &self.nodes[id.index()]
    }
}

impl Graph {
    pub fn new(params: Vec<ParamInfo>, result_kind: Kind) -> Graph {
        Graph {
            nodes: Vec::new(),
            kinds: Vec::new(),
            active: Vec::new(),
            dedup: FxHashMap::default(),
            blocks: vec![Block { parent: None }],
            branches: Vec::new(),
            opaques: Vec::new(),
            calls: Vec::new(),
            spans: FxHashMap::default(),
            names: FxHashMap::default(),
            loops: Vec::new(),
            kernels: Vec::new(),
            params,
            result_kind,
            current: super::graph::ROOT,
            mirror: FxHashMap::default(),
            branch_copies: FxHashMap::default(),
            grad_sums: Default::default(),
            element_slots: Default::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn kind(&self, id: Id) -> Kind {
        self.kinds[id.index()]
    }

    /// Gives a value of unknown kind the kind its declared type says (`let k: f64 = K;`).
    pub fn declare_kind(&mut self, id: Id, kind: Kind) {
        if self.kinds[id.index()] == Kind::Unknown {
            self.kinds[id.index()] = kind;
        }
    }

    /// Whether the node depends on a differentiated parameter.
    pub fn is_active(&self, id: Id) -> bool {
        self.active[id.index()]
    }

    pub fn ids(&self) -> impl DoubleEndedIterator<Item = Id> + ExactSizeIterator {
        (0..self.nodes.len() as u32).map(Id)
    }

    pub fn id(&self, index: usize) -> Id {
        assert!(index < self.nodes.len());
        Id(index as u32)
    }

    /// The constant value of a node, if it is one.
    pub fn as_const(&self, id: Id) -> Option<f64> {
        match self[id].op {
            Op::Const(bits) => Some(f64::from_bits(bits)),
            _ => None,
        }
    }

    pub fn block_of(&self, id: Id) -> BlockId {
        self[id].block
    }

    pub fn is_ancestor_or_self(&self, ancestor: BlockId, mut block: BlockId) -> bool {
        loop {
            if block == ancestor {
                return true;
            }
            match self.blocks[block.0 as usize].parent {
                Some(p) => block = p,
                None => return false,
            }
        }
    }

    /// Whether input p of loop k gets a gradient from the body: its parameter has an adjoint, or
    /// the body indexes it.
    pub fn loop_input_has_grad(&self, k: u32, p: usize) -> bool {
        let info = &self.loops[k as usize];
        let Some(adj) = &info.adj else { return false };
        let body = &info.body;
        let param = body.ids().find(|&b| body[b].op == Op::Param(p as u16));
        let Some(param) = param else { return false };
        adj.get(param.index()).copied().flatten().is_some()
            || body.ids().any(|b| {
                body[b].op == Op::IndexDyn
                    && body[b].args[0] == param
                    && adj.get(b.index()).copied().flatten().is_some()
            })
    }

    /// Whether `id` is the top-of-body twin of an element read inside an `if` arm (see
    /// `element_slots`): its index may be out of range where the arm is not taken, so its
    /// gradient is scattered with a checked write (the adjoint there is zero).
    pub fn is_element_slot(&self, id: Id) -> bool {
        self.element_slots.values().any(|&s| s == id)
    }

    pub fn opaque(&self, id: Id) -> Option<&Opaque> {
        match self[id].op {
            Op::Opaque(k) | Op::Reshape(k) => Some(&self.opaques[k as usize]),
            _ => None,
        }
    }
}
