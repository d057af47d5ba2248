//! Horner form for gradients that are polynomials in one value.
//!
//! The reverse sweep leaves the derivative of `2x⁴ + x³ + 3x² + 5x + 1` as the sum of its
//! terms, `8x³ + 3x² + 6x + 5`: five multiplications and three additions once the powers are
//! shared. Written as `((8x + 3)x + 6)x + 5` it needs three of each, which is what a careful
//! person writes by hand. This pass finds gradient components that are polynomials with
//! constant coefficients in a single value (a parameter or any other node) and rebuilds them
//! in Horner form; everything else is left as it is.

use rustc_hash::FxHashMap;

use super::graph::ROOT;
use super::{Graph, Id, Kind, Op};

/// Beyond this degree a polynomial is left as written (`x.powi(20)` is cheaper than twenty
/// multiplications).
const MAX_DEGREE: usize = 8;

/// Rewrites the adjoint of every scalar parameter that is a polynomial in one value.
pub(crate) fn rewrite(g: &mut Graph, adj: &mut [Option<Id>]) {
    let params: Vec<Id> = g
        .ids()
        .filter(|&id| matches!(g[id].op, Op::Param(_)) && g.kind(id) == Kind::Scalar)
        .collect();
    for p in params {
        let Some(Some(root)) = adj.get(p.index()).copied() else {
            continue;
        };
        if let Some(h) = horner(g, root) {
            adj[p.index()] = Some(h);
        }
    }
}

/// `root` in Horner form, if it is a polynomial of degree at least 2 with two or more terms
/// in one value.
fn horner(g: &mut Graph, root: Id) -> Option<Id> {
    let mut atom = None;
    let coeffs = poly(g, root, &mut atom, &mut FxHashMap::default())?;
    let x = atom?;
    let terms = coeffs.iter().filter(|&&c| c != 0.0).count();
    if coeffs.len() < 3 || terms < 2 || g.block_of(x) != ROOT {
        return None;
    }
    let saved = std::mem::replace(&mut g.current, ROOT);
    let (top, rest) = coeffs.split_last().expect("degree at least 2");
    let mut acc = g.constant(*top);
    for &c in rest.iter().rev() {
        acc = g.mul(acc, x);
        if c != 0.0 {
            let c = g.constant(c);
            acc = g.plus(acc, c);
        }
    }
    g.current = saved;
    Some(acc)
}

/// The coefficients of `id` by ascending degree in the single non-constant leaf `atom`;
/// `None` when `id` is not such a polynomial.
fn poly(
    g: &Graph,
    id: Id,
    atom: &mut Option<Id>,
    memo: &mut FxHashMap<Id, Option<Vec<f64>>>,
) -> Option<Vec<f64>> {
    if let Some(p) = memo.get(&id) {
        return p.clone();
    }
    let node = &g[id];
    let arg = |i: usize, atom: &mut Option<Id>, memo: &mut FxHashMap<Id, Option<Vec<f64>>>| {
        poly(g, node.args[i], atom, memo)
    };
    let p = match node.op {
        Op::Const(bits) => Some(vec![f64::from_bits(bits)]),
        Op::Add => combine(arg(0, atom, memo)?, arg(1, atom, memo)?, 1.0),
        Op::Sub => combine(arg(0, atom, memo)?, arg(1, atom, memo)?, -1.0),
        Op::Neg => Some(arg(0, atom, memo)?.iter().map(|c| -c).collect()),
        Op::Mul => product(&arg(0, atom, memo)?, &arg(1, atom, memo)?),
        Op::Div => match g.as_const(node.args[1]) {
            Some(d) => Some(arg(0, atom, memo)?.iter().map(|c| c / d).collect()),
            None => leaf(g, id, atom),
        },
        Op::Powi(n) if (0..=MAX_DEGREE as i32).contains(&n) => {
            let base = arg(0, atom, memo)?;
            let mut out = vec![1.0];
            for _ in 0..n {
                out = product(&out, &base)?;
            }
            Some(out)
        }
        _ => leaf(g, id, atom),
    };
    memo.insert(id, p.clone());
    p
}

/// A value the polynomial is in: there may be only one.
fn leaf(g: &Graph, id: Id, atom: &mut Option<Id>) -> Option<Vec<f64>> {
    if g.kind(id) != Kind::Scalar {
        return None;
    }
    match *atom {
        None => *atom = Some(id),
        Some(a) if a == id => {}
        Some(_) => return None,
    }
    Some(vec![0.0, 1.0])
}

fn combine(mut p: Vec<f64>, q: Vec<f64>, sign: f64) -> Option<Vec<f64>> {
    if p.len() < q.len() {
        p.resize(q.len(), 0.0);
    }
    for (a, b) in p.iter_mut().zip(q) {
        *a += sign * b;
    }
    while p.len() > 1 && p.last() == Some(&0.0) {
        p.pop();
    }
    Some(p)
}

fn product(p: &[f64], q: &[f64]) -> Option<Vec<f64>> {
    let degree = (p.len() - 1) + (q.len() - 1);
    if degree > MAX_DEGREE {
        return None;
    }
    let mut out = vec![0.0; degree + 1];
    for (i, a) in p.iter().enumerate() {
        for (j, b) in q.iter().enumerate() {
            out[i + j] += a * b;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::graph::ParamInfo;

    fn scalars(n: usize) -> Graph {
        let info = ParamInfo {
            kind: Kind::Scalar,
            active: true,
        };
        Graph::new(vec![info; n], Kind::Scalar)
    }

    /// `8x³ + 3x² + 6x + 5` becomes `((8x + 3)x + 6)x + 5`, whose value is the same.
    #[test]
    fn quartic_gradient_in_horner_form() {
        let mut g = scalars(1);
        let x = g.param(0);
        let x2 = g.add(Op::Powi(2), vec![x]);
        let x3 = g.add(Op::Powi(3), vec![x]);
        let (c8, c3, c6, c5) = (
            g.constant(8.0),
            g.constant(3.0),
            g.constant(6.0),
            g.constant(5.0),
        );
        let t3 = g.mul(c8, x3);
        let t2 = g.mul(c3, x2);
        let t1 = g.mul(c6, x);
        let s = g.plus(t3, t2);
        let s = g.plus(s, t1);
        let root = g.plus(s, c5);
        let h = horner(&mut g, root).expect("a polynomial in x");
        let mut atom = None;
        let coeffs = poly(&g, h, &mut atom, &mut FxHashMap::default()).unwrap();
        assert_eq!(coeffs, vec![5.0, 6.0, 3.0, 8.0]);
        assert_eq!(atom, Some(x));
        // Three multiplications: the Horner steps, and no powers.
        let mut muls = 0;
        let mut stack = vec![h];
        while let Some(id) = stack.pop() {
            assert!(!matches!(g[id].op, Op::Powi(_)));
            muls += usize::from(g[id].op == Op::Mul);
            stack.extend(g[id].args.iter().copied());
        }
        assert_eq!(muls, 3);
    }

    /// Two different values, or a single term, are left alone.
    #[test]
    fn other_expressions_are_left_alone() {
        let mut g = scalars(2);
        let (x, y) = (g.param(0), g.param(1));
        let xy = g.mul(x, y);
        let x2 = g.add(Op::Powi(2), vec![x]);
        let two_vars = g.plus(xy, x2);
        assert_eq!(horner(&mut g, two_vars), None);
        let c = g.constant(3.0);
        let monomial = g.mul(c, x2);
        assert_eq!(horner(&mut g, monomial), None);
    }
}
