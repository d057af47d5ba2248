//! Building the graph: every node goes in through here, so the op table's smart
//! constructors (constant folding, identities), hash-consing, kinds and activity are applied
//! in one place. `graph.rs` is the storage this writes to; `ops.rs` is the table it consults.

use proc_macro2::{Span, TokenStream};

use super::graph::{Block, BlockId, Branch, Graph, Id, Kind, Node, Opaque, ROOT};
use super::op::Op;
use super::ops;

impl Graph {
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

    /// An integer constant written as a `usize` literal (an index).
    pub fn int_constant(&mut self, k: usize) -> Id {
        let n = proc_macro2::Literal::usize_unsuffixed(k);
        self.opaques.push(crate::ir::graph::Opaque {
            tokens: quote::quote!(#n),
            span: Span::call_site(),
            kind: Kind::Int,
        });
        let id = self.add_raw(Op::Opaque((self.opaques.len() - 1) as u32), vec![]);
        self.mark_constant(id);
        id
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
}
