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
use super::{poly, Graph, Id, Kind, Op};

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
    let (coeffs, x) = coefficients(g, root)?;
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

/// The coefficients of `id` by ascending degree in its single non-constant scalar leaf, and
/// that leaf; `None` when `id` is not such a polynomial.
fn coefficients(g: &Graph, id: Id) -> Option<(Vec<f64>, Id)> {
    let mut atom = None;
    let mut one_value = |leaf: Id| {
        if g.kind(leaf) != Kind::Scalar || atom.is_some_and(|a| a != leaf) {
            return None;
        }
        atom = Some(leaf);
        Some(0)
    };
    let limits = poly::Limits {
        max_power: MAX_DEGREE as i32,
        max_terms: MAX_DEGREE + 1,
    };
    let terms = poly::terms(g, id, 1, limits, &mut one_value, &mut FxHashMap::default())?;
    let degree = terms.keys().map(|p| p[0] as usize).max().unwrap_or(0);
    if degree > MAX_DEGREE {
        return None;
    }
    let mut coeffs = vec![0.0; degree + 1];
    for (p, c) in terms {
        coeffs[p[0] as usize] = c;
    }
    Some((coeffs, atom?))
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
        let (coeffs, atom) = coefficients(&g, h).unwrap();
        assert_eq!(coeffs, vec![5.0, 6.0, 3.0, 8.0]);
        assert_eq!(atom, x);
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
