//! Fusion: `sum` or `mean` of an element-wise expression over tensors becomes one kernel that
//! walks the broadcast index once, forward and backward, with no temporary of the broadcast
//! shape.
//!
//! ```text
//! Before: z = x * y + y**2; z.sum()          (x [n], y [n, 1]: two [n, n] temporaries)
//! After:  fused_sum([x, y], |[x, y]| x * y + y.powi(2))
//! ```
//!
//! The element-wise expression is copied into a scalar graph (`Kernel::body`) and
//! differentiated there by the ordinary sweep, so the backward kernel computes every operand's
//! partial per element and adds it at the operand's own position: the broadcast is summed back
//! as it goes.

use rustc_hash::FxHashMap;

use crate::diff;
use crate::ir::graph::{Kernel, ParamInfo};
use crate::ir::{ops, poly};
use crate::ir::{Graph, Id, Kind, Op};

/// Whether `g` has a reduction that `fuse` would rewrite.
pub(crate) fn has_candidates(g: &Graph) -> bool {
    g.ids().any(|id| candidate(g, id))
}

fn candidate(g: &Graph, id: Id) -> bool {
    matches!(g[id].op, Op::Sum | Op::Mean) && {
        let arg = g[id].args[0];
        g.kind(arg) == Kind::Tensor && ops::is_elementwise(g[arg].op)
    }
}

/// Rewrites every fusable reduction of `g` in place; returns how many.
pub(crate) fn fuse(g: &mut Graph) -> usize {
    let ids: Vec<Id> = g.ids().filter(|&id| candidate(g, id)).collect();
    let mut count = 0;
    for id in ids {
        let mean = g[id].op == Op::Mean;
        let Some((kernel, operands)) = kernel_of(g, g[id].args[0], mean) else {
            continue;
        };
        g.kernels.push(kernel);
        let k = (g.kernels.len() - 1) as u32;
        g.replace(id, Op::Fused(k), operands);
        count += 1;
    }
    count
}

/// The element-wise region under `root`, copied into a scalar graph; its leaves (tensors and
/// floats that are not element-wise results) become the kernel's operands.
fn kernel_of(g: &Graph, root: Id, mean: bool) -> Option<(Kernel, Vec<Id>)> {
    let mut body = Graph::new(Vec::new(), Kind::Scalar);
    let mut operands: Vec<Id> = Vec::new();
    let mut map: FxHashMap<Id, Id> = FxHashMap::default();
    let out = copy(g, root, &mut body, &mut operands, &mut map)?;
    let seed = body.params.len();
    body.params.push(ParamInfo {
        kind: Kind::Scalar,
        active: false,
    });
    let seed_id = body.param(seed);
    let adj = diff::reverse(&mut body, out, seed_id).ok()?;
    let partials = (0..operands.len())
        .map(|k| {
            let param = body.ids().find(|&b| body[b].op == Op::Param(k as u16))?;
            adj.get(param.index()).copied().flatten()
        })
        .collect();
    let poly = polynomial(&body, out, operands.len(), &mut FxHashMap::default());
    Some((
        Kernel {
            body,
            out,
            partials,
            mean,
            poly,
        },
        operands,
    ))
}

/// Polynomial kernels: powers up to 4, at most 16 terms.
const LIMITS: poly::Limits = poly::Limits {
    max_power: 4,
    max_terms: 16,
};

/// `id` as a polynomial in the kernel's operands (its first `k` parameters), if it is one.
fn polynomial(
    body: &Graph,
    id: Id,
    k: usize,
    memo: &mut FxHashMap<Id, Option<poly::Terms>>,
) -> Option<Vec<(f64, Vec<u32>)>> {
    let mut operand = |leaf: Id| match body[leaf].op {
        Op::Param(p) => Some(p as usize),
        _ => None,
    };
    poly::terms(body, id, k, LIMITS, &mut operand, memo)
        .map(|t| t.into_iter().map(|(p, c)| (c, p)).collect())
}

fn copy(
    g: &Graph,
    id: Id,
    body: &mut Graph,
    operands: &mut Vec<Id>,
    map: &mut FxHashMap<Id, Id>,
) -> Option<Id> {
    if let Some(&b) = map.get(&id) {
        return Some(b);
    }
    let node = &g[id];
    let b = if let Some(v) = g.as_const(id) {
        body.constant(v)
    } else if ops::is_elementwise(node.op) && matches!(g.kind(id), Kind::Tensor | Kind::Scalar) {
        let mut args = Vec::with_capacity(node.args.len());
        for &a in &node.args {
            args.push(copy(g, a, body, operands, map)?);
        }
        body.add_raw(node.op, args)
    } else {
        if !matches!(g.kind(id), Kind::Tensor | Kind::Scalar) {
            return None;
        }
        let k = operands.len();
        operands.push(id);
        body.params.push(ParamInfo {
            kind: Kind::Scalar,
            active: g.is_active(id),
        });
        body.param(k)
    };
    map.insert(id, b);
    Some(b)
}
