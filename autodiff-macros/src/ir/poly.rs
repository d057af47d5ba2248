//! A node as a polynomial with constant coefficients in a few variables, when it is one.
//!
//! Serves the fused kernels (a polynomial in the kernel's operands is summed term by term,
//! see `fuse`) and the Horner rewrite of gradients (a polynomial in one value, see
//! `horner`). Sums, differences, negation, products, division by a constant and small integer
//! powers are expanded; any other node is a variable if the caller's `leaf` says so, else the
//! node is not a polynomial.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::{Graph, Id, Op};

/// Terms of a polynomial: the power of each variable → the coefficient.
pub(crate) type Terms = BTreeMap<Vec<u32>, f64>;

/// How far to expand: the largest integer power, and the most terms any subexpression may
/// have (beyond either, the node is not treated as a polynomial).
#[derive(Clone, Copy)]
pub(crate) struct Limits {
    pub max_power: i32,
    pub max_terms: usize,
}

/// `id` as a polynomial in `k` variables. `leaf` names the variable a node stands for (its
/// index below `k`), or `None` when the node is not one; results are memoised per node.
pub(crate) fn terms(
    g: &Graph,
    id: Id,
    k: usize,
    limits: Limits,
    leaf: &mut dyn FnMut(Id) -> Option<usize>,
    memo: &mut FxHashMap<Id, Option<Terms>>,
) -> Option<Terms> {
    if let Some(t) = memo.get(&id) {
        return t.clone();
    }
    let node = &g[id];
    let mut arg = |i: usize, leaf: &mut dyn FnMut(Id) -> Option<usize>| {
        terms(g, node.args[i], k, limits, leaf, memo)
    };
    let result = match node.op {
        Op::Const(bits) => Some(Terms::from([(vec![0; k], f64::from_bits(bits))])),
        Op::Add => arg(0, leaf)
            .zip(arg(1, leaf))
            .map(|(a, b)| combine(a, &b, 1.0)),
        Op::Sub => arg(0, leaf)
            .zip(arg(1, leaf))
            .map(|(a, b)| combine(a, &b, -1.0)),
        Op::Neg => arg(0, leaf).map(|a| scale(a, -1.0)),
        Op::Mul => arg(0, leaf)
            .zip(arg(1, leaf))
            .and_then(|(a, b)| product(&a, &b, limits)),
        Op::Div => match g.as_const(node.args[1]) {
            Some(c) => arg(0, leaf).map(|a| scale(a, 1.0 / c)),
            None => variable(id, k, leaf),
        },
        Op::Powi(n) if (0..=limits.max_power).contains(&n) => arg(0, leaf).and_then(|a| {
            let mut out = Terms::from([(vec![0; k], 1.0)]);
            for _ in 0..n {
                out = product(&out, &a, limits)?;
            }
            Some(out)
        }),
        _ => variable(id, k, leaf),
    };
    let result = result.filter(|t| t.len() <= limits.max_terms);
    memo.insert(id, result.clone());
    result
}

fn variable(id: Id, k: usize, leaf: &mut dyn FnMut(Id) -> Option<usize>) -> Option<Terms> {
    let v = leaf(id).filter(|&v| v < k)?;
    let mut powers = vec![0; k];
    powers[v] = 1;
    Some(Terms::from([(powers, 1.0)]))
}

fn scale(a: Terms, c: f64) -> Terms {
    a.into_iter()
        .map(|(p, x)| (p, x * c))
        .filter(|(_, x)| *x != 0.0)
        .collect()
}

fn combine(mut a: Terms, b: &Terms, sign: f64) -> Terms {
    for (p, c) in b {
        *a.entry(p.clone()).or_insert(0.0) += sign * c;
    }
    a.retain(|_, c| *c != 0.0);
    a
}

fn product(a: &Terms, b: &Terms, limits: Limits) -> Option<Terms> {
    if a.len() * b.len() > limits.max_terms * limits.max_terms {
        return None;
    }
    let mut out = Terms::new();
    for (pa, ca) in a {
        for (pb, cb) in b {
            let p: Vec<u32> = pa.iter().zip(pb).map(|(x, y)| x + y).collect();
            *out.entry(p).or_insert(0.0) += ca * cb;
        }
    }
    out.retain(|_, c| *c != 0.0);
    Some(out)
}
