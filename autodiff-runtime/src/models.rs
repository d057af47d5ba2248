//! Operations for models: `max_all`/`min_all`, `max_axis`/`min_axis`, `logsumexp`,
//! `softmax`, `log_softmax`, `unsqueeze` and `Tensor::one_hot`.
//!
//! Every per-axis operation views the tensor as a row-major `[outer, len, inner]` block,
//! `len` being the axis: a lane is `len` elements `inner` apart, and the kernels below walk
//! `inner` lanes at once (contiguous rows, vectorisable) or one contiguous lane when the axis
//! is the last one.

use num_traits::Float;

use crate::shape::numel;
use crate::{ShapeError, Tensor};

/// `(outer, len, inner)` of `shape` around `axis`.
fn lanes(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (
        numel(&shape[..axis]),
        shape[axis],
        numel(&shape[axis + 1..]),
    )
}

/// `x` if it is larger than `acc` or NaN (NaN propagates, as in NumPy and PyTorch).
#[inline(always)]
fn larger<T: Float>(acc: T, x: T) -> T {
    if x > acc || x.is_nan() {
        x
    } else {
        acc
    }
}

#[inline(always)]
fn smaller<T: Float>(acc: T, x: T) -> T {
    if x < acc || x.is_nan() {
        x
    } else {
        acc
    }
}

/// Reduces a `[outer, len, inner]` block over its middle axis with `pick`, starting from
/// `init` (the identity of `pick`).
fn fold_axis<T: Float>(
    data: &[T],
    (outer, len, inner): (usize, usize, usize),
    init: T,
    pick: impl Fn(T, T) -> T,
) -> Vec<T> {
    let mut out = vec![init; outer * inner];
    if inner == 0 {
        return out;
    }
    for (o, acc) in out.chunks_exact_mut(inner).enumerate() {
        let block = &data[o * len * inner..(o + 1) * len * inner];
        for row in block.chunks_exact(inner) {
            acc.iter_mut().zip(row).for_each(|(a, &x)| *a = pick(*a, x));
        }
    }
    out
}

impl<T: Float> Tensor<T> {
    #[track_caller]
    /// A maximum or minimum along `axis` needs at least one element per lane.
    fn check_lanes(&self, op: &'static str, axis: usize) -> Result<(), ShapeError> {
        if self.shape[axis] == 0 {
            return Err(ShapeError::Empty {
                op,
                shape: self.shape.clone(),
            });
        }
        Ok(())
    }

    fn check_axis(&self, op: &'static str, axis: usize) -> Result<(), ShapeError> {
        if axis < self.ndim() {
            Ok(())
        } else {
            Err(ShapeError::Axis {
                op,
                axis,
                ndim: self.ndim(),
            })
        }
    }

    /// The largest element; NaN if any element is NaN.
    /// Not to be confused with `max(c)`, the element-wise maximum with a float.
    ///
    /// Its gradient is shared evenly between the elements equal to the maximum (PyTorch's
    /// `amax`).
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// assert_eq!(tensor![[1., 5.], [3., -2.]].max_all(), 5.);
    /// ```
    ///
    /// # Panics
    ///
    /// For an empty tensor ([`ShapeError::Empty`]), as NumPy and PyTorch do.
    #[track_caller]
    pub fn max_all(&self) -> T {
        self.nonempty("max_all");
        self.data
            .iter()
            .fold(T::neg_infinity(), |a, &x| larger(a, x))
    }

    /// The smallest element; NaN if any element is NaN.
    ///
    /// # Panics
    ///
    /// For an empty tensor ([`ShapeError::Empty`]), as NumPy and PyTorch do.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// assert_eq!(tensor![[1., 5.], [3., -2.]].min_all(), -2.);
    /// ```
    #[track_caller]
    pub fn min_all(&self) -> T {
        self.nonempty("min_all");
        self.data.iter().fold(T::infinity(), |a, &x| smaller(a, x))
    }

    /// Panics with [`ShapeError::Empty`] if the tensor has no element.
    #[track_caller]
    fn nonempty(&self, op: &'static str) {
        if self.data.is_empty() {
            panic!(
                "{}",
                ShapeError::Empty {
                    op,
                    shape: self.shape.clone()
                }
            );
        }
    }

    /// The maximum over axis `axis`, which is dropped from the shape (as `sum_axis` drops it).
    ///
    /// # Panics
    ///
    /// If `axis >= self.ndim()`, or if axis `axis` has length 0 (no maximum).
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let t = tensor![[1., 5., 2.], [4., 0., 6.]];
    /// assert_eq!(t.max_axis(0), tensor![4., 5., 6.]);
    /// assert_eq!(t.max_axis(1), tensor![5., 6.]);
    /// ```
    #[track_caller]
    pub fn max_axis(&self, axis: usize) -> Tensor<T> {
        self.try_max_axis(axis).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`Tensor::max_axis`], but returns an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`ShapeError::Axis`] if `axis >= self.ndim()`, [`ShapeError::Empty`] if the axis has
    /// length 0.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let err = tensor![[1., 2.]].try_max_axis(2).unwrap_err();
    /// assert_eq!(err.to_string(), "axis 2 is out of bounds for `max_axis` on a tensor of dimension 2");
    /// ```
    pub fn try_max_axis(&self, axis: usize) -> Result<Tensor<T>, ShapeError> {
        self.check_axis("max_axis", axis)?;
        self.check_lanes("max_axis", axis)?;
        let data = fold_axis(
            &self.data,
            lanes(&self.shape, axis),
            T::neg_infinity(),
            larger,
        );
        Ok(Tensor::from_parts(data, dropped(&self.shape, axis)))
    }

    /// The minimum over axis `axis`, which is dropped from the shape.
    ///
    /// # Panics
    ///
    /// If `axis >= self.ndim()`, or if axis `axis` has length 0 (no minimum).
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let t = tensor![[1., 5., 2.], [4., 0., 6.]];
    /// assert_eq!(t.min_axis(0), tensor![1., 0., 2.]);
    /// assert_eq!(t.min_axis(1), tensor![1., 0.]);
    /// ```
    #[track_caller]
    pub fn min_axis(&self, axis: usize) -> Tensor<T> {
        self.try_min_axis(axis).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`Tensor::min_axis`], but returns an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`ShapeError::Axis`] if `axis >= self.ndim()`.
    pub fn try_min_axis(&self, axis: usize) -> Result<Tensor<T>, ShapeError> {
        self.check_axis("min_axis", axis)?;
        self.check_lanes("min_axis", axis)?;
        let data = fold_axis(&self.data, lanes(&self.shape, axis), T::infinity(), smaller);
        Ok(Tensor::from_parts(data, dropped(&self.shape, axis)))
    }

    /// `ln Σ exp(x)` over all elements, computed stably as `m + ln Σ exp(x - m)` with `m`
    /// the maximum (no overflow at logits of 1000); `-inf` for an empty tensor.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let t = tensor![1000., 1000.];
    /// assert!((t.logsumexp() - (1000. + 2f64.ln())).abs() < 1e-12);
    /// ```
    pub fn logsumexp(&self) -> T {
        if self.data.is_empty() {
            return T::neg_infinity();
        }
        let m = self.max_all();
        if m.is_infinite() || m.is_nan() {
            return m;
        }
        let s = self
            .data
            .iter()
            .fold(T::zero(), |acc, &x| acc + (x - m).exp());
        m + s.ln()
    }

    /// `ln Σ exp(x)` over axis `axis`, which is dropped from the shape; stable like
    /// [`Tensor::logsumexp`].
    ///
    /// # Panics
    ///
    /// If `axis >= self.ndim()`.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let t = tensor![[0., 0.], [1000., 1000.]];
    /// let l = t.logsumexp_axis(1);
    /// assert!((l[[0]] - 2f64.ln()).abs() < 1e-12);
    /// assert!((l[[1]] - (1000. + 2f64.ln())).abs() < 1e-12);
    /// ```
    #[track_caller]
    pub fn logsumexp_axis(&self, axis: usize) -> Tensor<T> {
        self.try_logsumexp_axis(axis)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`Tensor::logsumexp_axis`], but returns an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`ShapeError::Axis`] if `axis >= self.ndim()`.
    pub fn try_logsumexp_axis(&self, axis: usize) -> Result<Tensor<T>, ShapeError> {
        self.check_axis("logsumexp_axis", axis)?;
        let (max, sums) = self.max_and_sum_lanes(lanes(&self.shape, axis));
        // m + ln Σ exp(x - m), and m itself where it is infinite (all -inf, or a +inf).
        let data = sums
            .iter()
            .zip(&max)
            .map(|(&s, &m)| if m.is_infinite() { m } else { m + s.ln() })
            .collect();
        Ok(Tensor::from_parts(data, dropped(&self.shape, axis)))
    }

    /// Softmax along axis `axis`: `exp(x - m) / Σ exp(x - m)` over each lane, `m` its
    /// maximum, so that logits of 1000 neither overflow nor give NaN (PyTorch's formula).
    /// The shape is kept.
    ///
    /// # Panics
    ///
    /// If `axis >= self.ndim()`.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let p = tensor![[1000., 1000.], [0., 2f64.ln()]].softmax(1);
    /// assert_eq!(p.shape(), [2, 2]);
    /// assert_eq!((p[[0, 0]], p[[0, 1]]), (0.5, 0.5));
    /// assert!((p[[1, 0]] - 1. / 3.).abs() < 1e-15 && (p[[1, 1]] - 2. / 3.).abs() < 1e-15);
    /// ```
    #[track_caller]
    pub fn softmax(&self, axis: usize) -> Tensor<T> {
        self.try_softmax(axis).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`Tensor::softmax`], but returns an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`ShapeError::Axis`] if `axis >= self.ndim()`.
    pub fn try_softmax(&self, axis: usize) -> Result<Tensor<T>, ShapeError> {
        self.check_axis("softmax", axis)?;
        let dims = lanes(&self.shape, axis);
        Ok(self.map_lanes(dims, |v, s| v.exp() / s))
    }

    /// Log-softmax along axis `axis`: `x - logsumexp(x)` over each lane, computed stably as
    /// `(x - m) - ln Σ exp(x - m)` (finite at logits of 1000). The shape is kept.
    ///
    /// # Panics
    ///
    /// If `axis >= self.ndim()`.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let l = tensor![[1000., 1000.]].log_softmax(1);
    /// assert!(l.as_slice().iter().all(|v| (v + 2f64.ln()).abs() < 1e-12));
    /// ```
    #[track_caller]
    pub fn log_softmax(&self, axis: usize) -> Tensor<T> {
        self.try_log_softmax(axis).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`Tensor::log_softmax`], but returns an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`ShapeError::Axis`] if `axis >= self.ndim()`.
    pub fn try_log_softmax(&self, axis: usize) -> Result<Tensor<T>, ShapeError> {
        self.check_axis("log_softmax", axis)?;
        let dims = lanes(&self.shape, axis);
        Ok(self.map_lanes(dims, |v, s| v - s.ln()))
    }

    /// The maximum `m` of every lane and `Σ exp(x - m)` over it, each `[outer, inner]`.
    fn max_and_sum_lanes(&self, dims: (usize, usize, usize)) -> (Vec<T>, Vec<T>) {
        let (outer, len, inner) = dims;
        let max = fold_axis(&self.data, dims, T::neg_infinity(), larger);
        let mut sums = vec![T::zero(); outer * inner];
        if inner > 0 {
            for (o, (acc, m)) in sums
                .chunks_exact_mut(inner)
                .zip(max.chunks_exact(inner))
                .enumerate()
            {
                let block = &self.data[o * len * inner..(o + 1) * len * inner];
                for row in block.chunks_exact(inner) {
                    for ((a, &x), &mi) in acc.iter_mut().zip(row).zip(m) {
                        *a = *a + (x - mi).exp();
                    }
                }
            }
        }
        (max, sums)
    }

    /// `f(x - m, s)` element-wise, the lane's maximum `m` and exponential sum `s` read per
    /// lane.
    fn map_lanes(&self, dims: (usize, usize, usize), f: impl Fn(T, T) -> T) -> Tensor<T> {
        let (_, len, inner) = dims;
        let (max, sums) = self.max_and_sum_lanes(dims);
        let mut out = Vec::with_capacity(self.data.len());
        if inner > 0 {
            for (o, (m, sm)) in max
                .chunks_exact(inner)
                .zip(sums.chunks_exact(inner))
                .enumerate()
            {
                let block = &self.data[o * len * inner..(o + 1) * len * inner];
                for row in block.chunks_exact(inner) {
                    out.extend(
                        row.iter()
                            .zip(m)
                            .zip(sm)
                            .map(|((&x, &mi), &si)| f(x - mi, si)),
                    );
                }
            }
        }
        Tensor::from_parts(out, self.shape.clone())
    }

    /// The same elements with an axis of length 1 inserted at position `axis`
    /// (`0 <= axis <= ndim`), like PyTorch's `unsqueeze` and NumPy's `expand_dims`.
    ///
    /// # Panics
    ///
    /// If `axis > self.ndim()`.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let t = tensor![1., 2., 3.];
    /// assert_eq!(t.unsqueeze(0), tensor![[1., 2., 3.]]);
    /// assert_eq!(t.unsqueeze(1), tensor![[1.], [2.], [3.]]);
    /// ```
    #[track_caller]
    pub fn unsqueeze(&self, axis: usize) -> Tensor<T> {
        self.try_unsqueeze(axis).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`Tensor::unsqueeze`], but returns an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`ShapeError::Axis`] if `axis > self.ndim()`.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let err = tensor![1., 2.].try_unsqueeze(2).unwrap_err();
    /// assert_eq!(err.to_string(), "axis 2 is out of bounds for `unsqueeze` on a tensor of dimension 1");
    /// ```
    pub fn try_unsqueeze(&self, axis: usize) -> Result<Tensor<T>, ShapeError> {
        if axis > self.ndim() {
            return Err(ShapeError::Axis {
                op: "unsqueeze",
                axis,
                ndim: self.ndim(),
            });
        }
        let mut shape = self.shape.clone();
        shape.insert(axis, 1);
        Ok(Tensor::from_parts(self.data.clone(), shape))
    }

    /// A `[labels.len(), classes]` tensor of 0 and 1: row i has its 1 in column `labels[i]`.
    /// Not differentiated (a constant of a loss).
    ///
    /// # Panics
    ///
    /// If a label is not below `classes`, naming the label and the class count.
    ///
    /// ```
    /// use autodiff_runtime::{tensor, Tensor};
    ///
    /// let y = Tensor::<f64>::one_hot(&[2, 0], 3);
    /// assert_eq!(y, tensor![[0., 0., 1.], [1., 0., 0.]]);
    /// ```
    #[track_caller]
    pub fn one_hot(labels: &[usize], classes: usize) -> Tensor<T> {
        Self::try_one_hot(labels, classes).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`Tensor::one_hot`], but returns an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`ShapeError::OneHot`] for the first label that is not below `classes`.
    ///
    /// ```
    /// use autodiff_runtime::{ShapeError, Tensor};
    ///
    /// let err = Tensor::<f64>::try_one_hot(&[0, 3], 3).unwrap_err();
    /// assert_eq!(err, ShapeError::OneHot { index: 1, label: 3, classes: 3 });
    /// ```
    pub fn try_one_hot(labels: &[usize], classes: usize) -> Result<Tensor<T>, ShapeError> {
        let mut data = vec![T::zero(); labels.len() * classes];
        for (index, (&label, row)) in labels
            .iter()
            .zip(data.chunks_exact_mut(classes.max(1)))
            .enumerate()
        {
            if label >= classes {
                return Err(ShapeError::OneHot {
                    index,
                    label,
                    classes,
                });
            }
            row[label] = T::one();
        }
        if classes == 0 {
            if let Some(&label) = labels.first() {
                return Err(ShapeError::OneHot {
                    index: 0,
                    label,
                    classes,
                });
            }
        }
        Ok(Tensor::from_parts(data, vec![labels.len(), classes]))
    }
}

/// `shape` without axis `axis`.
fn dropped(shape: &[usize], axis: usize) -> Vec<usize> {
    let mut s = shape.to_vec();
    s.remove(axis);
    s
}

/// The gradient of `max_all`/`min_all` (value `m`) for the adjoint `d`: `d` shared evenly
/// between the elements equal to `m`, 0 elsewhere (PyTorch's `amax`/`amin`).
pub(crate) fn extremum_grad<T: Float>(d: T, x: &Tensor<T>, m: T) -> Tensor<T> {
    let hits = x
        .data
        .iter()
        .filter(|&&v| v == m || (v.is_nan() && m.is_nan()))
        .count();
    let share = d / T::from(hits.max(1)).unwrap();
    x.map(|v| {
        if v == m || (v.is_nan() && m.is_nan()) {
            share
        } else {
            T::zero()
        }
    })
}

/// The gradient of `max_axis(axis)`/`min_axis(axis)` (value `m`, axis dropped) for the
/// adjoint `d` (shape of `m`): in each lane, `d` shared evenly between the elements equal to
/// the lane's extremum.
pub(crate) fn extremum_axis_grad<T: Float>(
    d: &Tensor<T>,
    x: &Tensor<T>,
    m: &Tensor<T>,
    axis: usize,
) -> Tensor<T> {
    let (outer, len, inner) = lanes(&x.shape, axis);
    let hit = |v: T, mi: T| v == mi || (v.is_nan() && mi.is_nan());
    let mut counts = vec![T::zero(); outer * inner];
    let mut out = vec![T::zero(); x.data.len()];
    if inner == 0 || len == 0 {
        return Tensor::from_parts(out, x.shape.clone());
    }
    for o in 0..outer {
        let block = &x.data[o * len * inner..(o + 1) * len * inner];
        let (c, mo) = (
            &mut counts[o * inner..(o + 1) * inner],
            &m.data[o * inner..(o + 1) * inner],
        );
        for row in block.chunks_exact(inner) {
            for ((ci, &v), &mi) in c.iter_mut().zip(row).zip(mo) {
                if hit(v, mi) {
                    *ci = *ci + T::one();
                }
            }
        }
        let dout = &d.data[o * inner..(o + 1) * inner];
        let oblock = &mut out[o * len * inner..(o + 1) * len * inner];
        for (orow, row) in oblock
            .chunks_exact_mut(inner)
            .zip(block.chunks_exact(inner))
        {
            for i in 0..inner {
                if hit(row[i], mo[i]) {
                    orow[i] = dout[i] / c[i];
                }
            }
        }
    }
    Tensor::from_parts(out, x.shape.clone())
}

#[cfg(test)]
mod tests {
    use super::{extremum_axis_grad, extremum_grad};
    use crate::{tensor, ShapeError, Tensor};

    fn close(a: &Tensor<f64>, b: &Tensor<f64>) -> bool {
        a.shape() == b.shape()
            && a.as_slice()
                .iter()
                .zip(b.as_slice())
                .all(|(x, y)| (x - y).abs() <= 1e-12 * (1. + y.abs()))
    }

    #[test]
    fn extrema() {
        let t = tensor![[1., 5., 5.], [-4., 0., -4.]];
        assert_eq!((t.max_all(), t.min_all()), (5., -4.));
        assert_eq!(t.max_axis(1), tensor![5., 0.]);
        assert_eq!(t.min_axis(0), tensor![-4., 0., -4.]);
        assert!(tensor![1., f64::NAN, 3.].max_all().is_nan());
        assert!(tensor![f64::NAN, 1.].min_axis(0).item().is_nan());
        assert_eq!(Tensor::<f64>::zeros(&[0]).logsumexp(), f64::NEG_INFINITY);
        let c = Tensor::arange(0., 24., 1.).reshape(&[2, 3, 4]);
        assert_eq!(
            c.max_axis(1),
            tensor![[8., 9., 10., 11.], [20., 21., 22., 23.]]
        );
        assert_eq!(c.min_axis(2), tensor![[0., 4., 8.], [12., 16., 20.]]);
        assert_eq!(
            t.try_min_axis(2),
            Err(ShapeError::Axis {
                op: "min_axis",
                axis: 2,
                ndim: 2
            })
        );
    }

    #[test]
    fn extrema_of_nothing_are_errors() {
        let empty = Tensor::<f64>::zeros(&[0, 3]);
        assert_eq!(
            empty.try_max_axis(0),
            Err(ShapeError::Empty {
                op: "max_axis",
                shape: vec![0, 3]
            })
        );
        // Along the other axis there are no lanes: an empty result, not an error.
        assert_eq!(empty.max_axis(1).shape(), &[0]);
        let msg = std::panic::catch_unwind(|| Tensor::<f64>::zeros(&[0]).min_all())
            .unwrap_err()
            .downcast::<String>()
            .unwrap();
        assert_eq!(
            *msg,
            "`min_all` of a tensor of shape [0] reduces over no elements, and has no value"
        );
    }

    #[test]
    fn tie_gradients() {
        let t = tensor![[1., 5., 5.], [-4., 0., -4.]];
        // Two elements equal 5: each gets half of the adjoint.
        assert_eq!(
            extremum_grad(1., &t, t.max_all()),
            tensor![[0., 0.5, 0.5], [0., 0., 0.]]
        );
        assert_eq!(
            extremum_grad(3., &t, t.min_all()),
            tensor![[0., 0., 0.], [1.5, 0., 1.5]]
        );
        let m = t.min_axis(1);
        assert_eq!(
            extremum_axis_grad(&tensor![2., 4.], &t, &m, 1),
            tensor![[2., 0., 0.], [2., 0., 2.]]
        );
        let m = t.max_axis(0);
        assert_eq!(
            extremum_axis_grad(&tensor![1., 1., 1.], &t, &m, 0),
            tensor![[1., 1., 1.], [0., 0., 0.]]
        );
    }

    #[test]
    fn logsumexp_softmax() {
        let t = tensor![[1., 2., 3.], [1000., 1000., 1000.]];
        let lse = t.logsumexp_axis(1);
        let e = (1f64.exp() + 2f64.exp() + 3f64.exp()).ln();
        assert!(close(&lse, &tensor![e, 1000. + 3f64.ln()]));
        assert!((tensor![1., 2., 3.].logsumexp() - e).abs() < 1e-12);
        assert_eq!(Tensor::<f64>::zeros(&[0]).logsumexp(), f64::NEG_INFINITY);
        assert_eq!(
            tensor![f64::NEG_INFINITY, f64::NEG_INFINITY].logsumexp(),
            f64::NEG_INFINITY
        );
        let p = t.softmax(1);
        let row: Vec<f64> = [1f64, 2., 3.].iter().map(|x| (x - e).exp()).collect();
        let third = 1. / 3.;
        assert!(close(
            &p,
            &Tensor::from_vec([row, vec![third; 3]].concat(), &[2, 3])
        ));
        assert!(close(&t.log_softmax(1), &p.map(f64::ln)));
        // along axis 0, with a 3-D tensor
        let c = Tensor::arange(0., 24., 1.).reshape(&[2, 3, 4]);
        let s = c.softmax(0);
        assert!(close(&s.sum_axis(0), &Tensor::ones(&[3, 4])));
        let expected = 1. / (1. + 12f64.exp());
        assert!((s[[0, 1, 2]] - expected).abs() < 1e-15);
        assert!(close(&c.log_softmax(1).map(f64::exp), &c.softmax(1)));
        assert!(close(
            &c.logsumexp_axis(2),
            &c.map(f64::exp).sum_axis(2).map(f64::ln)
        ));
        // f32 at large logits stays finite
        let big = Tensor::<f32>::from_vec(vec![1000., 999., -1000.], &[3]);
        assert!(big.log_softmax(0).as_slice().iter().all(|x| x.is_finite()));
        assert_eq!(big.softmax(0).sum(), 1.);
        assert_eq!(
            t.try_softmax(2),
            Err(ShapeError::Axis {
                op: "softmax",
                axis: 2,
                ndim: 2
            })
        );
        assert!(t.try_log_softmax(5).is_err());
        assert!(t.try_logsumexp_axis(2).is_err());
    }

    #[test]
    fn unsqueeze_and_one_hot() {
        let t = tensor![[1., 2., 3.], [4., 5., 6.]];
        assert_eq!(t.unsqueeze(0).shape(), [1, 2, 3]);
        assert_eq!(t.unsqueeze(1).shape(), [2, 1, 3]);
        assert_eq!(t.unsqueeze(2).shape(), [2, 3, 1]);
        assert_eq!(Tensor::scalar(2.).unsqueeze(0), tensor![2.]);
        assert_eq!(t.unsqueeze(2).to_vec(), t.to_vec());
        assert_eq!(
            t.try_unsqueeze(3),
            Err(ShapeError::Axis {
                op: "unsqueeze",
                axis: 3,
                ndim: 2
            })
        );
        let y = Tensor::<f32>::one_hot(&[1, 0, 1], 2);
        assert_eq!(y.shape(), [3, 2]);
        assert_eq!(y.to_vec(), [0., 1., 1., 0., 0., 1.]);
        assert_eq!(Tensor::<f64>::one_hot(&[], 4).shape(), [0, 4]);
        assert_eq!(
            Tensor::<f64>::try_one_hot(&[0], 0),
            Err(ShapeError::OneHot {
                index: 0,
                label: 0,
                classes: 0
            })
        );
        let err = std::panic::catch_unwind(|| Tensor::<f64>::one_hot(&[1, 5], 4)).unwrap_err();
        assert_eq!(
            err.downcast_ref::<String>().unwrap(),
            "label 5 (at position 1) is out of range for `one_hot` with 4 classes: \
             labels must be below 4"
        );
    }
}
