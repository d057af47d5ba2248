//! `Graph`: a function body in SSA form, hash-consed, with structured branches.

use rustc_hash::FxHashMap;
use std::ops::Index;

use proc_macro2::{Span, TokenStream};

use super::ops::{self, Op};

/// Index of a node. Invariant: every operand of node `i` has an index below `i`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub(crate) struct Id(u32);

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
    nodes: Vec<Node>,
    kinds: Vec<Kind>,
    active: Vec<bool>,
    dedup: FxHashMap<Node, Id>,
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
    branch_copies: FxHashMap<(u32, BlockId), u32>,
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

    /// Adds a node to the current block, exactly as given (no simplification). Operands not
    /// visible from the current block are recomputed in it first.
    pub fn add_raw(&mut self, op: Op, args: Vec<Id>) -> Id {
        // A Phi reads its operands from inside the arms, where they are visible.
        let args: Vec<Id> = match op {
            Op::Phi(_) => args,
            _ => args.into_iter().map(|a| self.visible(a)).collect(),
        };
        let node = Node {
            op,
            args,
            block: self.current,
        };
        if let Some(&id) = self.dedup.get(&node) {
            return id;
        }
        let kind = ops::result_kind(self, op, &node.args);
        let active = match op {
            Op::Param(i) => self.params[i as usize].active,
            // The seed of `_vjp`: second derivatives (`__f_pullback2`) differentiate with
            // respect to it.
            Op::Cotangent => true,
            _ => node.args.iter().any(|&a| self.is_active(a)) && ops::propagates_activity(op),
        };
        let id = Id(self.nodes.len() as u32);
        self.nodes.push(node.clone());
        self.kinds.push(kind);
        self.active.push(active);
        self.dedup.insert(node, id);
        id
    }

    /// Adds a node through the smart constructor of the op table (constant folding,
    /// identities).
    pub fn add(&mut self, op: Op, args: Vec<Id>) -> Id {
        match ops::simplify(self, op, &args) {
            Some(id) => id,
            None => self.add_raw(op, args),
        }
    }

    /// A stand-in for a value whose expression had an error: active, so that later
    /// constructs using it are still checked (and reported) as if it were differentiated.
    pub fn poison(&mut self, span: Span) -> Id {
        self.opaques.push(Opaque {
            tokens: TokenStream::new(),
            span,
            kind: Kind::Unknown,
        });
        let id = self.add_raw(Op::Opaque((self.opaques.len() - 1) as u32), vec![]);
        self.active[id.index()] = true;
        id
    }

    /// Rewrites node `id` in place; the new operands must come before it.
    pub fn replace(&mut self, id: Id, op: Op, args: Vec<Id>) {
        debug_assert!(args.iter().all(|a| a.index() < id.index()));
        let old = self.nodes[id.index()].clone();
        if self.dedup.get(&old) == Some(&id) {
            self.dedup.remove(&old);
        }
        let node = Node {
            op,
            args,
            block: old.block,
        };
        self.kinds[id.index()] = ops::result_kind(self, op, &node.args);
        self.nodes[id.index()] = node.clone();
        self.dedup.entry(node).or_insert(id);
    }

    /// Declares that a node carries no gradient although it reads differentiated values
    /// (sizes: `x.len()`).
    pub fn mark_constant(&mut self, id: Id) {
        self.active[id.index()] = false;
    }

    /// Remembers where `id` was written, if nothing was remembered yet.
    pub fn note_span(&mut self, id: Id, span: Span) {
        self.spans.entry(id).or_insert(span);
    }

    pub fn constant(&mut self, v: f64) -> Id {
        // Normalise -0.0 + 0.0 distinctions away only for zero: both print as zero.
        self.add_raw(Op::Const(v.to_bits()), vec![])
    }

    pub fn param(&mut self, i: usize) -> Id {
        // Parameters live in the root block so that every block sees them.
        let saved = std::mem::replace(&mut self.current, ROOT);
        let id = self.add_raw(Op::Param(i as u16), vec![]);
        self.current = saved;
        id
    }

    pub fn unary(&mut self, op: Op, a: Id) -> Id {
        self.add(op, vec![a])
    }

    pub fn binary(&mut self, op: Op, a: Id, b: Id) -> Id {
        self.add(op, vec![a, b])
    }

    pub fn neg(&mut self, a: Id) -> Id {
        self.add(Op::Neg, vec![a])
    }

    pub fn mul(&mut self, a: Id, b: Id) -> Id {
        self.add(Op::Mul, vec![a, b])
    }

    pub fn div(&mut self, a: Id, b: Id) -> Id {
        self.add(Op::Div, vec![a, b])
    }

    pub fn plus(&mut self, a: Id, b: Id) -> Id {
        self.add(Op::Add, vec![a, b])
    }

    pub fn minus(&mut self, a: Id, b: Id) -> Id {
        self.add(Op::Sub, vec![a, b])
    }

    /// A new `if` on `cond` whose arms are children of the current block.
    pub fn new_branch(&mut self, cond: Id) -> u32 {
        let parent = self.current;
        let then_block = self.new_block(parent);
        let else_block = self.new_block(parent);
        self.branches.push(Branch {
            cond,
            then_block,
            else_block,
            start: self.nodes.len() as u32,
        });
        (self.branches.len() - 1) as u32
    }

    pub fn new_block(&mut self, parent: BlockId) -> BlockId {
        self.blocks.push(Block {
            parent: Some(parent),
        });
        BlockId((self.blocks.len() - 1) as u32)
    }

    pub fn parent(&self, block: BlockId) -> Option<BlockId> {
        self.blocks[block.0 as usize].parent
    }

    /// The branch and arm (`true` for `then`) that `block` is, if it is an arm.
    pub fn arm_of(&self, block: BlockId) -> Option<(u32, bool)> {
        self.branches.iter().enumerate().find_map(|(i, b)| {
            if b.then_block == block {
                Some((i as u32, true))
            } else if b.else_block == block {
                Some((i as u32, false))
            } else {
                None
            }
        })
    }

    /// `id` if the current block can see it, else a recomputation of it in the current
    /// block. A mirror block (of the reverse sweep) cannot see the arm it mirrors, so the
    /// values it needs from there are computed again.
    pub fn visible(&mut self, id: Id) -> Id {
        if self.is_ancestor_or_self(self.block_of(id), self.current) {
            return id;
        }
        let node = self[id].clone();
        if let Op::Phi(b) = node.op {
            let copy = self.copy_branch(b);
            let (then_v, else_v) = (node.args[0], node.args[1]);
            let (tb, eb) = (
                self.branches[copy as usize].then_block,
                self.branches[copy as usize].else_block,
            );
            let here = self.current;
            self.current = tb;
            let t = self.visible(then_v);
            self.current = eb;
            let e = self.visible(else_v);
            self.current = here;
            return self.add_raw(Op::Phi(copy), vec![t, e]);
        }
        self.add_raw(node.op, node.args)
    }

    fn copy_branch(&mut self, b: u32) -> u32 {
        if let Some(&c) = self.branch_copies.get(&(b, self.current)) {
            return c;
        }
        let cond = self.branches[b as usize].cond;
        let cond = self.visible(cond);
        let c = self.new_branch(cond);
        self.branch_copies.insert((b, self.current), c);
        c
    }

    /// The mirror of `block` for the reverse sweep: the root is its own mirror; an arm's
    /// mirror is the same arm of a mirror branch, a child of the parent's mirror.
    pub fn mirror_block(&mut self, block: BlockId) -> BlockId {
        if block == ROOT {
            return ROOT;
        }
        if let Some(&m) = self.mirror.get(&block) {
            return m;
        }
        let (b, is_then) = self.arm_of(block).expect("every non-root block is an arm");
        let parent = self.parent(block).expect("arm has a parent");
        let parent_mirror = self.mirror_block(parent);
        let here = std::mem::replace(&mut self.current, parent_mirror);
        let cond = self.branches[b as usize].cond;
        let cond = self.visible(cond);
        let m = self.new_branch(cond);
        self.current = here;
        let (tb, eb) = (
            self.branches[m as usize].then_block,
            self.branches[m as usize].else_block,
        );
        let other = if is_then {
            self.branches[b as usize].else_block
        } else {
            self.branches[b as usize].then_block
        };
        self.mirror.insert(block, if is_then { tb } else { eb });
        self.mirror.insert(other, if is_then { eb } else { tb });
        self.mirror[&block]
    }

    /// Forgets the mirrors of one sweep, so that a second sweep (the Hessian) makes its own.
    pub fn clear_mirrors(&mut self) {
        self.mirror.clear();
    }

    pub fn opaque(&self, id: Id) -> Option<&Opaque> {
        match self[id].op {
            Op::Opaque(k) | Op::Reshape(k) => Some(&self.opaques[k as usize]),
            _ => None,
        }
    }
}
