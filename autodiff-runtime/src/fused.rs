//! Fused kernels: an element-wise expression over broadcast operands, reduced by `sum` or
//! `mean`, in one pass over the broadcast index: no temporary of the broadcast shape, forward
//! or backward. The macro writes the per-element closures.

use num_traits::Float;

use crate::shape::{broadcast_shape, broadcast_strides};
use crate::Tensor;

/// An operand of a fused kernel: a float (the same for every element) or a tensor.
#[derive(Clone, Copy)]
pub enum Operand<'a, T> {
    /// A float, the same at every element.
    Scalar(T),
    /// A tensor, broadcast to the kernel's shape.
    Tensor(&'a Tensor<T>),
}

/// Converts a value into an [`Operand`].
pub trait AsOperand<T> {
    /// The value as a kernel operand.
    fn operand(&self) -> Operand<'_, T>;
}

impl<T: Float> AsOperand<T> for T {
    #[inline(always)]
    fn operand(&self) -> Operand<'_, T> {
        Operand::Scalar(*self)
    }
}

impl<T: Float> AsOperand<T> for Tensor<T> {
    #[inline(always)]
    fn operand(&self) -> Operand<'_, T> {
        Operand::Tensor(self)
    }
}

/// One operand's gradient from a fused backward pass.
pub enum Grad<T> {
    /// The gradient of a float operand.
    Scalar(T),
    /// The gradient of a tensor operand, of its shape.
    Tensor(Tensor<T>),
}

impl<T: Float> Grad<T> {
    /// The gradient of a float operand.
    pub fn scalar(&self) -> T {
        match self {
            Grad::Scalar(v) => *v,
            Grad::Tensor(t) => t.sum(),
        }
    }

    /// The gradient of a tensor operand.
    pub fn tensor(&self) -> Tensor<T> {
        match self {
            Grad::Tensor(t) => t.clone(),
            Grad::Scalar(v) => Tensor::scalar(*v),
        }
    }
}

/// The broadcast shape of the operands, and each operand's strides into it.
type Layout<const K: usize> = (Vec<usize>, [Vec<usize>; K]);

/// The number of elements of a layout's shape, as a float.
fn count<T: Float, const K: usize>(layout: &Layout<K>) -> T {
    T::from(layout.0.iter().product::<usize>()).expect("a count converts to a float")
}

/// The broadcast shape of the operands, and each tensor operand's strides into it.
#[track_caller]
fn layout<T: Float, const K: usize>(ops: &[Operand<'_, T>; K], op: &'static str) -> Layout<K> {
    let mut shape: Vec<usize> = Vec::new();
    for o in ops {
        if let Operand::Tensor(t) = o {
            shape = match broadcast_shape(op, &shape, t.shape()) {
                Ok(s) => s,
                Err(e) => panic!("{e}"),
            };
        }
    }
    let strides = std::array::from_fn(|i| match &ops[i] {
        Operand::Tensor(t) => broadcast_strides(t.shape(), &shape),
        Operand::Scalar(_) => vec![0; shape.len()],
    });
    (shape, strides)
}

/// Visits every row (the innermost axis) of `shape` in row-major order: each operand's flat
/// offset at the row's start, the row's length, and each operand's stride along it.
#[inline(always)]
fn for_each_row<const K: usize>(
    shape: &[usize],
    strides: &[Vec<usize>; K],
    mut f: impl FnMut([usize; K], usize, [usize; K]),
) {
    let n: usize = shape.iter().product();
    if n == 0 {
        return;
    }
    let rank = shape.len();
    if rank == 0 {
        f([0; K], 1, [0; K]);
        return;
    }
    // Every operand either covers the whole shape contiguously or is one value: one row.
    let contiguous = crate::shape::contiguous_strides(shape);
    if strides
        .iter()
        .all(|s| *s == contiguous || s.iter().all(|&x| x == 0))
    {
        let step = std::array::from_fn(|k| usize::from(strides[k] == contiguous));
        f([0; K], n, step);
        return;
    }
    let inner = shape[rank - 1];
    let inner_strides: [usize; K] = std::array::from_fn(|k| strides[k][rank - 1]);
    // An odometer over the outer axes.
    let mut index = vec![0usize; rank - 1];
    let mut base = [0usize; K];
    loop {
        f(base, inner, inner_strides);
        let mut axis = rank - 1;
        loop {
            if axis == 0 {
                return;
            }
            axis -= 1;
            index[axis] += 1;
            for k in 0..K {
                base[k] += strides[k][axis];
            }
            if index[axis] < shape[axis] {
                break;
            }
            for k in 0..K {
                base[k] -= strides[k][axis] * shape[axis];
            }
            index[axis] = 0;
        }
    }
}

/// Each operand's elements: a tensor's data, or a float as a one-element slice (its strides
/// are all 0), so that the inner loop reads every operand the same way.
fn elements<'a, T: Float, const K: usize>(
    ops: &'a [Operand<'a, T>; K],
    scalars: &'a [T; K],
) -> [&'a [T]; K] {
    std::array::from_fn(|k| match &ops[k] {
        Operand::Scalar(_) => std::slice::from_ref(&scalars[k]),
        Operand::Tensor(t) => t.as_slice(),
    })
}

fn scalars<T: Float, const K: usize>(ops: &[Operand<'_, T>; K]) -> [T; K] {
    std::array::from_fn(|k| match &ops[k] {
        Operand::Scalar(v) => *v,
        Operand::Tensor(_) => T::zero(),
    })
}

#[inline(always)]
fn gather<T: Float, const K: usize>(data: &[&[T]; K], at: [usize; K]) -> [T; K] {
    // In bounds: `at[k]` walks operand k's own shape through its broadcast strides.
    std::array::from_fn(|k| data[k][at[k]])
}

/// Each operand's gradient buffer as a [`Grad`] of the operand's shape.
fn into_grads<T: Float, const K: usize>(
    ops: &[Operand<'_, T>; K],
    bufs: [Vec<T>; K],
) -> [Grad<T>; K] {
    let mut bufs = bufs.into_iter();
    std::array::from_fn(|k| {
        let buf = bufs.next().expect("one buffer per operand");
        match &ops[k] {
            Operand::Scalar(_) => Grad::Scalar(buf[0]),
            Operand::Tensor(t) => Grad::Tensor(Tensor::from_parts(buf, t.shape().to_vec())),
        }
    })
}

/// `Σ f(operands)` over the broadcast index.
#[track_caller]
pub fn fused_sum<T: Float, const K: usize>(ops: [Operand<'_, T>; K], f: impl Fn([T; K]) -> T) -> T {
    let layout = layout(&ops, "sum");
    sum_in(ops, f, &layout)
}

/// `fused_sum` over a layout already computed.
fn sum_in<T: Float, const K: usize>(
    ops: [Operand<'_, T>; K],
    f: impl Fn([T; K]) -> T,
    (shape, strides): &Layout<K>,
) -> T {
    let values = scalars(&ops);
    let data = elements(&ops, &values);
    let mut acc = T::zero();
    for_each_row(shape, strides, |base, len, step| {
        let mut at = base;
        for _ in 0..len {
            acc = acc + f(gather(&data, at));
            for k in 0..K {
                at[k] += step[k];
            }
        }
    });
    acc
}

/// The mean of `f(operands)` over the broadcast index.
#[track_caller]
pub fn fused_mean<T: Float, const K: usize>(
    ops: [Operand<'_, T>; K],
    f: impl Fn([T; K]) -> T,
) -> T {
    let layout = layout(&ops, "mean");
    sum_in(ops, f, &layout) / count(&layout)
}

/// The gradient of `fused_sum(ops, f)` scaled by `d`: `partials` gives d·∂f/∂operand_k at one
/// element; each operand's gradient accumulates at its own (broadcast) position, which sums
/// it back to the operand's shape.
#[track_caller]
pub fn fused_sum_grad<T: Float, const K: usize>(
    ops: [Operand<'_, T>; K],
    d: T,
    partials: impl Fn([T; K], T) -> [T; K],
) -> [Grad<T>; K] {
    let layout = layout(&ops, "sum");
    sum_grad_in(ops, d, partials, &layout)
}

/// `fused_sum_grad` over a layout already computed.
fn sum_grad_in<T: Float, const K: usize>(
    ops: [Operand<'_, T>; K],
    d: T,
    partials: impl Fn([T; K], T) -> [T; K],
    (shape, strides): &Layout<K>,
) -> [Grad<T>; K] {
    let values = scalars(&ops);
    let data = elements(&ops, &values);
    // A float's gradient is one slot, which its all-zero strides always address.
    let mut bufs: [Vec<T>; K] = std::array::from_fn(|k| vec![T::zero(); data[k].len()]);
    for_each_row(shape, strides, |base, len, step| {
        // An operand that does not move along the row sums its partials in a register and
        // writes once per row.
        let mut row = [T::zero(); K];
        let mut at = base;
        for _ in 0..len {
            let p = partials(gather(&data, at), d);
            for k in 0..K {
                if step[k] == 0 {
                    row[k] = row[k] + p[k];
                } else {
                    bufs[k][at[k]] = bufs[k][at[k]] + p[k];
                }
                at[k] += step[k];
            }
        }
        for k in 0..K {
            if step[k] == 0 {
                bufs[k][base[k]] = bufs[k][base[k]] + row[k];
            }
        }
    });
    into_grads(&ops, bufs)
}

/// The gradient of `fused_mean(ops, f)` scaled by `d`.
#[track_caller]
pub fn fused_mean_grad<T: Float, const K: usize>(
    ops: [Operand<'_, T>; K],
    d: T,
    partials: impl Fn([T; K], T) -> [T; K],
) -> [Grad<T>; K] {
    let layout = layout(&ops, "mean");
    sum_grad_in(ops, d / count(&layout), partials, &layout)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor;

    #[test]
    fn sum_over_a_broadcast_without_the_temporary() {
        // Σ (x y + y²) with x [3], y [2, 1]: 177.
        let (x, y) = (tensor![1., 2., 3.], tensor![[4.], [5.]]);
        let s = fused_sum([x.operand(), y.operand()], |[a, b]| a * b + b * b);
        assert_eq!(s, 177.0);
        let [gx, gy] = fused_sum_grad([x.operand(), y.operand()], 1.0, |[a, b], d| {
            [d * b, d * (a + 2.0 * b)]
        });
        assert_eq!(gx.tensor(), tensor![9., 9., 9.]);
        assert_eq!(gy.tensor(), tensor![[30.], [36.]]);
    }

    #[test]
    fn scalars_rank_zero_and_empty() {
        let x = tensor![[1., 2.], [3., 4.]];
        assert_eq!(
            fused_mean([x.operand(), 2.0.operand()], |[a, c]| a * c),
            5.0
        );
        let [gx, gc] = fused_mean_grad([x.operand(), 2.0.operand()], 1.0, |[a, c], d| {
            [d * c, d * a]
        });
        assert_eq!(gx.tensor(), Tensor::full(&[2, 2], 0.5));
        assert_eq!(gc.scalar(), 2.5);
        let s = Tensor::scalar(3.0);
        assert_eq!(fused_sum([s.operand()], |[a]| a * a), 9.0);
        let e = Tensor::<f64>::zeros(&[0, 3]);
        assert_eq!(fused_sum([e.operand()], |[a]| a), 0.0);
    }

    #[test]
    #[should_panic(expected = "cannot broadcast shapes [2] and [3] for `sum`")]
    fn shapes_that_do_not_broadcast() {
        let (a, b) = (tensor![1., 2.], tensor![1., 2., 3.]);
        fused_sum([a.operand(), b.operand()], |[p, q]| p + q);
    }
}

/// One term `c · Π_k operand_k^p_k` of a polynomial kernel.
pub type Monomial<T, const K: usize> = (T, [u32; K]);

/// Which axes of the broadcast shape each operand varies along (its size there is not 1).
fn varying_axes<T: Float, const K: usize>(
    ops: &[Operand<'_, T>; K],
    rank: usize,
) -> [Vec<usize>; K] {
    std::array::from_fn(|k| match &ops[k] {
        Operand::Scalar(_) => Vec::new(),
        Operand::Tensor(t) => {
            let offset = rank - t.ndim();
            (0..t.ndim())
                .filter(|&a| t.shape()[a] != 1)
                .map(|a| a + offset)
                .collect()
        }
    })
}

/// Whether the operands of every term vary along disjoint axes: then each term's sum over the
/// broadcast index is a product of per-operand sums (Σᵢⱼ xⱼ yᵢ = Σⱼ xⱼ · Σᵢ yᵢ), O(n) instead
/// of O(n²).
fn separable<const K: usize>(terms: &[[u32; K]], axes: &[Vec<usize>; K]) -> bool {
    terms.iter().all(|powers| {
        let mut seen: Vec<usize> = Vec::new();
        (0..K).filter(|&k| powers[k] > 0).all(|k| {
            let clash = axes[k].iter().any(|a| seen.contains(a));
            seen.extend(&axes[k]);
            !clash
        })
    })
}

/// vᵖ for the small integer powers of a polynomial kernel.
#[inline(always)]
fn power<T: Float>(v: T, p: u32) -> T {
    match p {
        0 => T::one(),
        1 => v,
        2 => v * v,
        3 => v * v * v,
        _ => v.powi(p as i32),
    }
}

/// Σ over an operand's elements of vᵖ.
fn power_sum<T: Float>(data: &[T], p: u32) -> T {
    data.iter().fold(T::zero(), |acc, &v| acc + power(v, p))
}

/// The product of the sizes of the axes no operand of the term varies along.
fn free_size<const K: usize>(shape: &[usize], powers: &[u32; K], axes: &[Vec<usize>; K]) -> usize {
    (0..shape.len())
        .filter(|a| !(0..K).any(|k| powers[k] > 0 && axes[k].contains(a)))
        .map(|a| shape[a])
        .product()
}

/// `fused_sum` for a polynomial kernel: term by term in O(size of the operands) when the
/// operands of each term vary along disjoint axes (the algebra XLA applies to a sum of a
/// broadcast product), else the one-pass kernel `f`.
#[track_caller]
pub fn fused_sum_poly<T: Float, const K: usize>(
    ops: [Operand<'_, T>; K],
    terms: &[Monomial<T, K>],
    f: impl Fn([T; K]) -> T,
) -> T {
    let layout = layout(&ops, "sum");
    sum_poly_in(ops, terms, f, &layout)
}

/// `fused_sum_poly` over a layout already computed.
fn sum_poly_in<T: Float, const K: usize>(
    ops: [Operand<'_, T>; K],
    terms: &[Monomial<T, K>],
    f: impl Fn([T; K]) -> T,
    layout: &Layout<K>,
) -> T {
    let shape = &layout.0;
    let axes = varying_axes(&ops, shape.len());
    let powers: Vec<[u32; K]> = terms.iter().map(|t| t.1).collect();
    if !separable(&powers, &axes) {
        return sum_in(ops, f, layout);
    }
    let values = scalars(&ops);
    let data = elements(&ops, &values);
    terms.iter().fold(T::zero(), |acc, (c, p)| {
        let free = T::from(free_size(shape, p, &axes)).expect("a count converts to a float");
        let product = (0..K)
            .filter(|&k| p[k] > 0)
            .fold(*c * free, |prod, k| prod * power_sum(data[k], p[k]));
        acc + product
    })
}

/// The gradient of `fused_sum_poly`, scaled by `d`: for operand j of a separable term
/// c·Π xₖ^pₖ, element e gets c·pⱼ·e^(pⱼ−1) times the other operands' sums and the free size.
#[track_caller]
pub fn fused_sum_poly_grad<T: Float, const K: usize>(
    ops: [Operand<'_, T>; K],
    d: T,
    terms: &[Monomial<T, K>],
    partials: impl Fn([T; K], T) -> [T; K],
) -> [Grad<T>; K] {
    let layout = layout(&ops, "sum");
    sum_poly_grad_in(ops, d, terms, partials, &layout)
}

/// `fused_sum_poly_grad` over a layout already computed.
fn sum_poly_grad_in<T: Float, const K: usize>(
    ops: [Operand<'_, T>; K],
    d: T,
    terms: &[Monomial<T, K>],
    partials: impl Fn([T; K], T) -> [T; K],
    layout: &Layout<K>,
) -> [Grad<T>; K] {
    let shape = &layout.0;
    let axes = varying_axes(&ops, shape.len());
    let powers: Vec<[u32; K]> = terms.iter().map(|t| t.1).collect();
    if !separable(&powers, &axes) {
        return sum_grad_in(ops, d, partials, layout);
    }
    let values = scalars(&ops);
    let data = elements(&ops, &values);
    let mut bufs: [Vec<T>; K] = std::array::from_fn(|k| vec![T::zero(); data[k].len()]);
    for (c, p) in terms {
        let free = T::from(free_size(shape, p, &axes)).expect("a count converts to a float");
        let sums: [T; K] = std::array::from_fn(|k| {
            if p[k] > 0 {
                power_sum(data[k], p[k])
            } else {
                T::one()
            }
        });
        for j in (0..K).filter(|&j| p[j] > 0) {
            let others = (0..K)
                .filter(|&k| k != j && p[k] > 0)
                .fold(d * *c * free, |prod, k| prod * sums[k]);
            let pj = T::from(p[j]).expect("a power converts to a float");
            let scale = others * pj;
            for (slot, &e) in bufs[j].iter_mut().zip(data[j]) {
                *slot = *slot + scale * power(e, p[j] - 1);
            }
        }
    }
    into_grads(&ops, bufs)
}

/// `fused_mean` for a polynomial kernel.
#[track_caller]
pub fn fused_mean_poly<T: Float, const K: usize>(
    ops: [Operand<'_, T>; K],
    terms: &[Monomial<T, K>],
    f: impl Fn([T; K]) -> T,
) -> T {
    let layout = layout(&ops, "mean");
    sum_poly_in(ops, terms, f, &layout) / count(&layout)
}

/// The gradient of `fused_mean_poly`, scaled by `d`.
#[track_caller]
pub fn fused_mean_poly_grad<T: Float, const K: usize>(
    ops: [Operand<'_, T>; K],
    d: T,
    terms: &[Monomial<T, K>],
    partials: impl Fn([T; K], T) -> [T; K],
) -> [Grad<T>; K] {
    let layout = layout(&ops, "mean");
    sum_poly_grad_in(ops, d / count(&layout), terms, partials, &layout)
}

#[cfg(test)]
mod poly_tests {
    use super::*;
    use crate::tensor;

    #[test]
    fn separable_terms_match_the_one_pass_kernel() {
        // Σ (x y + y²) with x [3], y [2, 1]: x·y and y² are separable.
        let (x, y) = (tensor![1., 2., 3.], tensor![[4.], [5.]]);
        let terms = [(1.0, [1, 1]), (1.0, [0, 2])];
        let s = fused_sum_poly([x.operand(), y.operand()], &terms, |[a, b]| a * b + b * b);
        assert_eq!(s, 177.0);
        let [gx, gy] = fused_sum_poly_grad([x.operand(), y.operand()], 1.0, &terms, |[_, _], _| {
            unreachable!("separable")
        });
        assert_eq!(gx.tensor(), tensor![9., 9., 9.]);
        assert_eq!(gy.tensor(), tensor![[30.], [36.]]);
    }

    #[test]
    fn overlapping_axes_fall_back() {
        // x and z both vary along the last axis: x·z is not separable.
        let (x, z) = (tensor![1., 2., 3.], tensor![[1., 1., 1.], [2., 2., 2.]]);
        let terms = [(2.0, [1, 1])];
        let s = fused_sum_poly([x.operand(), z.operand()], &terms, |[a, b]| 2.0 * a * b);
        assert_eq!(s, 2.0 * (6.0 + 12.0));
        let [gx, gz] = fused_sum_poly_grad([x.operand(), z.operand()], 1.0, &terms, |[a, b], d| {
            [2.0 * d * b, 2.0 * d * a]
        });
        assert_eq!(gx.tensor(), tensor![6., 6., 6.]);
        assert_eq!(gz.tensor(), tensor![[2., 4., 6.], [2., 4., 6.]]);
    }

    #[test]
    fn scalars_constants_and_means() {
        // mean over [2, 2] of (3 + c x²) with c a float: 3 + c·mean(x²).
        let x = tensor![[1., 2.], [3., 4.]];
        let terms = [(3.0, [0, 0]), (1.0, [1, 2])];
        let m = fused_mean_poly([2.0.operand(), x.operand()], &terms, |[c, a]| {
            3.0 + c * a * a
        });
        assert_eq!(m, 3.0 + 2.0 * 30.0 / 4.0);
        let [gc, gx] = fused_mean_poly_grad(
            [2.0.operand(), x.operand()],
            1.0,
            &terms,
            |[_, _], _| unreachable!(),
        );
        assert_eq!(gc.scalar(), 30.0 / 4.0);
        assert_eq!(gx.tensor(), tensor![[1., 2.], [3., 4.]]);
    }
}
