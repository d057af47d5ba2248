//! Element kernels: the only loops over elements. Shape logic lives in the callers.
//!
//! Broadcast operands are read through strides (0 on stretched axes) while an
//! odometer walks the rows of the output; each row is one tight loop over slices.

use num_traits::Float;

use crate::shape::{broadcast_shape, broadcast_strides, broadcasts_to, contiguous_strides, numel};
use crate::{ShapeError, Tensor};

impl<T: Float> Tensor<T> {
    /// Applies `f` to every element, keeping the shape.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let t = tensor![[1., 2.], [3., 4.]];
    /// let u = t.map(|x| 10. * x + 1.);
    /// assert_eq!(u, tensor![[11., 21.], [31., 41.]]);
    /// ```
    pub fn map(&self, f: impl Fn(T) -> T) -> Tensor<T> {
        Tensor::from_parts(
            self.data.iter().map(|&x| f(x)).collect(),
            self.shape.clone(),
        )
    }

    /// Combines two tensors element by element with NumPy broadcasting; `op` names
    /// the operation in the error.
    ///
    /// # Errors
    ///
    /// [`ShapeError::Broadcast`] if the shapes do not broadcast.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let x = tensor![1., 2., 3.];
    /// let y = tensor![[4.], [5.]];
    /// let z = x.zip_map(&y, "hypot", f64::hypot).unwrap();
    /// assert_eq!(z.shape(), [2, 3]);
    /// assert_eq!(z[[1, 0]], 1f64.hypot(5.));
    ///
    /// let err = x.zip_map(&tensor![1., 2.], "hypot", f64::hypot).unwrap_err();
    /// assert_eq!(err.to_string(), "cannot broadcast shapes [3] and [2] for `hypot`");
    /// ```
    pub fn zip_map(
        &self,
        other: &Tensor<T>,
        op: &'static str,
        f: impl Fn(T, T) -> T,
    ) -> Result<Tensor<T>, ShapeError> {
        if self.shape == other.shape {
            let data = self
                .data
                .iter()
                .zip(&other.data)
                .map(|(&a, &b)| f(a, b))
                .collect();
            return Ok(Tensor::from_parts(data, self.shape.clone()));
        }
        let shape = broadcast_shape(op, &self.shape, &other.shape)?;
        // A one-element operand: the result has as many elements as the other one.
        if let [b] = other.data[..] {
            return Ok(Tensor::from_parts(
                self.data.iter().map(|&a| f(a, b)).collect(),
                shape,
            ));
        }
        if let [a] = self.data[..] {
            return Ok(Tensor::from_parts(
                other.data.iter().map(|&b| f(a, b)).collect(),
                shape,
            ));
        }
        let lhs_strides = broadcast_strides(&self.shape, &shape);
        let rhs_strides = broadcast_strides(&other.shape, &shape);
        let (n, sa, sb) = row(&shape, &lhs_strides, &rhs_strides);
        let (a, b) = (&self.data[..], &other.data[..]);
        let mut out = Vec::with_capacity(numel(&shape));
        for_each_row(&shape, [&lhs_strides, &rhs_strides], |[oa, ob]| {
            match (sa, sb) {
                (0, 0) => out.extend(std::iter::repeat_n(f(a[oa], b[ob]), n)),
                (0, _) => out.extend(b[ob..ob + n].iter().map(|&y| f(a[oa], y))),
                (_, 0) => out.extend(a[oa..oa + n].iter().map(|&x| f(x, b[ob]))),
                _ => out.extend(
                    a[oa..oa + n]
                        .iter()
                        .zip(&b[ob..ob + n])
                        .map(|(&x, &y)| f(x, y)),
                ),
            }
        });
        Ok(Tensor::from_parts(out, shape))
    }

    /// [`Tensor::map`] for this crate's own closures: a tensor (of `f32` or `f64`) of `min`
    /// elements or more is split across rayon's threads.
    ///
    /// # Safety
    ///
    /// `f` must be a pure function of its argument (nothing it captures has interior
    /// mutability), as it may run on several threads at once.
    pub(crate) unsafe fn map_pure(&self, min: usize, f: impl Fn(T) -> T) -> Tensor<T> {
        if crate::parallel::worth::<T>(self.data.len(), min) {
            // SAFETY: `worth` held; `f` is pure by this function's contract.
            let data = unsafe { crate::parallel::map(&self.data, &f) };
            return Tensor::from_parts(data, self.shape.clone());
        }
        self.map(f)
    }

    /// [`Tensor::zip_map`] for this crate's own closures: operands of the same shape, or one of
    /// them with a single element, are split across rayon's threads when large (the threshold
    /// depends on `op`: [`crate::parallel::threshold`]).
    ///
    /// # Safety
    ///
    /// As for [`Tensor::map_pure`].
    pub(crate) unsafe fn zip_map_pure(
        &self,
        other: &Tensor<T>,
        op: &'static str,
        f: impl Fn(T, T) -> T,
    ) -> Result<Tensor<T>, ShapeError> {
        let n = self.data.len().max(other.data.len());
        if crate::parallel::worth::<T>(n, crate::parallel::threshold(op)) {
            // SAFETY: `worth` held; `f` is pure by this function's contract.
            unsafe {
                if self.shape == other.shape {
                    let data = crate::parallel::zip(&self.data, &other.data, &f);
                    return Ok(Tensor::from_parts(data, self.shape.clone()));
                }
                let shape = broadcast_shape(op, &self.shape, &other.shape)?;
                if let [b] = other.data[..] {
                    let data = crate::parallel::map(&self.data, &|a| f(a, b));
                    return Ok(Tensor::from_parts(data, shape));
                }
                if let [a] = self.data[..] {
                    let data = crate::parallel::map(&other.data, &|b| f(a, b));
                    return Ok(Tensor::from_parts(data, shape));
                }
            }
        }
        self.zip_map(other, op, f)
    }

    /// Applies `f` to every element in place.
    pub(crate) fn map_assign(&mut self, f: impl Fn(T) -> T) {
        for x in &mut self.data {
            *x = f(*x);
        }
    }

    /// `self[i] = f(self[i], other[i])` with `other` broadcast to `self`'s shape.
    pub(crate) fn try_zip_assign(
        &mut self,
        other: &Tensor<T>,
        op: &'static str,
        f: impl Fn(T, T) -> T,
    ) -> Result<(), ShapeError> {
        if self.shape == other.shape {
            for (x, &y) in self.data.iter_mut().zip(&other.data) {
                *x = f(*x, y);
            }
            return Ok(());
        }
        if !broadcasts_to(&other.shape, &self.shape) {
            return Err(ShapeError::BroadcastTo {
                op,
                from: other.shape.clone(),
                to: self.shape.clone(),
            });
        }
        if let [y] = other.data[..] {
            self.map_assign(|x| f(x, y));
            return Ok(());
        }
        let self_strides = contiguous_strides(&self.shape);
        let other_strides = broadcast_strides(&other.shape, &self.shape);
        let (n, _, sb) = row(&self.shape, &self_strides, &other_strides);
        let (a, b) = (&mut self.data[..], &other.data[..]);
        for_each_row(&self.shape, [&self_strides, &other_strides], |[oa, ob]| {
            if sb == 0 {
                a[oa..oa + n].iter_mut().for_each(|x| *x = f(*x, b[ob]));
            } else {
                a[oa..oa + n]
                    .iter_mut()
                    .zip(&b[ob..ob + n])
                    .for_each(|(x, &y)| *x = f(*x, y));
            }
        });
        Ok(())
    }
}

/// Length of the last axis of `shape` (1 for rank 0) and the two operands' strides along it.
fn row(shape: &[usize], lhs: &[usize], rhs: &[usize]) -> (usize, usize, usize) {
    (
        shape.last().copied().unwrap_or(1),
        lhs.last().copied().unwrap_or(0),
        rhs.last().copied().unwrap_or(0),
    )
}

/// Walks the rows of `shape` (every axis but the last) in row-major order and calls
/// `f` with each operand's offset of the row start, read through its strides.
/// Nothing is called for an empty shape; a 0-d shape has one row.
pub(crate) fn for_each_row<const K: usize>(
    shape: &[usize],
    strides: [&[usize]; K],
    mut f: impl FnMut([usize; K]),
) {
    if shape.contains(&0) {
        return;
    }
    let outer = shape.len().saturating_sub(1);
    let mut index = vec![0; outer];
    let mut offsets = [0; K];
    loop {
        f(offsets);
        let mut axis = outer;
        loop {
            if axis == 0 {
                return;
            }
            axis -= 1;
            index[axis] += 1;
            if index[axis] < shape[axis] {
                for (offset, s) in offsets.iter_mut().zip(&strides) {
                    *offset += s[axis];
                }
                break;
            }
            for (offset, s) in offsets.iter_mut().zip(&strides) {
                *offset -= s[axis] * (shape[axis] - 1);
            }
            index[axis] = 0;
        }
    }
}

/// Reads `data` through `strides` as a tensor of `shape`, contiguously (broadcast, transpose).
pub(crate) fn gather<T: Float>(data: &[T], shape: &[usize], strides: &[usize]) -> Vec<T> {
    let (n, s, _) = row(shape, strides, strides);
    let mut out = Vec::with_capacity(numel(shape));
    for_each_row(shape, [strides], |[o]| match s {
        0 => out.extend(std::iter::repeat_n(data[o], n)),
        1 => out.extend_from_slice(&data[o..o + n]),
        _ => out.extend((0..n).map(|j| data[o + j * s])),
    });
    out
}

/// Sum of a tensor of `shape` into a buffer of `len` elements read through `strides`
/// (0 on the axes being summed over): the reverse of [`gather`] with broadcast strides.
pub(crate) fn scatter_add<T: Float>(
    data: &[T],
    shape: &[usize],
    strides: &[usize],
    len: usize,
) -> Vec<T> {
    let contiguous = contiguous_strides(shape);
    let (n, _, s) = row(shape, &contiguous, strides);
    let mut out = vec![T::zero(); len];
    for_each_row(shape, [&contiguous, strides], |[i, o]| {
        let src = &data[i..i + n];
        if s == 0 {
            out[o] = out[o] + sum(src);
        } else {
            out[o..o + n]
                .iter_mut()
                .zip(src)
                .for_each(|(acc, &x)| *acc = *acc + x);
        }
    });
    out
}

/// Pairwise sum, as NumPy computes it: eight interleaved partial sums per block of up
/// to 128 elements (vectorisable), halves combined recursively (error O(log n)).
pub(crate) fn sum<T: Float>(data: &[T]) -> T {
    const BLOCK: usize = 128;
    let n = data.len();
    if crate::parallel::worth::<T>(n, crate::parallel::PAR_MIN) {
        // SAFETY: `worth` held.
        return unsafe { crate::parallel::sum(data) };
    }
    if n < 8 {
        data.iter().fold(T::zero(), |acc, &x| acc + x)
    } else if n <= BLOCK {
        let mut r = [T::zero(); 8];
        r.copy_from_slice(&data[..8]);
        let chunks = data[8..].chunks_exact(8);
        let tail = chunks.remainder();
        for chunk in chunks {
            for (acc, &x) in r.iter_mut().zip(chunk) {
                *acc = *acc + x;
            }
        }
        let total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        tail.iter().fold(total, |acc, &x| acc + x)
    } else {
        let half = n / 2 - (n / 2) % 8;
        sum(&data[..half]) + sum(&data[half..])
    }
}

/// Sums a row-major `[outer, len, inner]` block over its middle axis, giving `[outer, inner]`.
pub(crate) fn sum_axis<T: Float>(data: &[T], outer: usize, len: usize, inner: usize) -> Vec<T> {
    let mut out = vec![T::zero(); outer * inner];
    if inner == 0 {
        return out;
    }
    for (o, acc_row) in out.chunks_exact_mut(inner).enumerate() {
        for k in 0..len {
            let start = (o * len + k) * inner;
            let src = &data[start..start + inner];
            acc_row
                .iter_mut()
                .zip(src)
                .for_each(|(acc, &x)| *acc = *acc + x);
        }
    }
    out
}

/// Products with fewer multiply-adds than this (about 16³) run on the loops below: there the
/// GEMM's packing costs more than it saves (measured in BENCHMARKS.md, "GEMM").
const GEMM_MIN_WORK: usize = 4096;

/// A strided matrix operand: `data[i * rows + j * cols]` is element (i, j).
#[derive(Clone, Copy)]
struct View<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
}

/// `a · b` for an `[m, k]` and a `[k, n]` operand read through their strides, into a
/// row-major `[m, n]` buffer, by `matrixmultiply` (packed, vectorised, and threaded for large
/// products); `None` when `T` is neither `f32` nor `f64`.
fn gemm<T: Float>(m: usize, k: usize, n: usize, a: View<T>, b: View<T>) -> Option<Vec<T>> {
    use std::mem::{align_of, size_of};
    let name = std::any::type_name::<T>();
    let mut out = vec![T::zero(); m * n];
    let (rsa, csa) = (a.rows as isize, a.cols as isize);
    let (rsb, csb) = (b.rows as isize, b.cols as isize);
    let (pa, pb, pc) = (a.data.as_ptr(), b.data.as_ptr(), out.as_mut_ptr());
    // SAFETY: `type_name` is exactly "f32" or "f64" only for the primitive types (any other
    // type's name carries its path), and size and alignment are checked too, so the casts
    // reinterpret f32 as f32 and f64 as f64. The callers give `m`, `k`, `n` and strides that
    // stay inside `a.data` and `b.data`; `out` holds `m * n` elements, row-major.
    unsafe {
        if name == "f32" && size_of::<T>() == 4 && align_of::<T>() == 4 {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                1.0,
                pa.cast(),
                rsa,
                csa,
                pb.cast(),
                rsb,
                csb,
                0.0,
                pc.cast(),
                n as isize,
                1,
            );
        } else if name == "f64" && size_of::<T>() == 8 && align_of::<T>() == 8 {
            matrixmultiply::dgemm(
                m,
                k,
                n,
                1.0,
                pa.cast(),
                rsa,
                csa,
                pb.cast(),
                rsb,
                csb,
                0.0,
                pc.cast(),
                n as isize,
                1,
            );
        } else {
            return None;
        }
    }
    Some(out)
}

/// Whether a product of this size goes to [`gemm`]: enough work, and every operand non-empty
/// (the loops handle the degenerate cases).
fn use_gemm(m: usize, k: usize, n: usize) -> bool {
    m > 0 && k > 0 && n > 0 && m.saturating_mul(k).saturating_mul(n) >= GEMM_MIN_WORK
}

/// Row-major `[m, k] x [k, n]` product. Large products run on `matrixmultiply`; small ones
/// in i-k-j order: the innermost loop runs over a row of `b` and a row of the output, both
/// contiguous.
pub(crate) fn matmul<T: Float>(a: &[T], b: &[T], m: usize, k: usize, n: usize) -> Vec<T> {
    if n > 1 && use_gemm(m, k, n) {
        let va = View {
            data: a,
            rows: k,
            cols: 1,
        };
        let vb = View {
            data: b,
            rows: n,
            cols: 1,
        };
        if let Some(out) = gemm(m, k, n, va, vb) {
            return out;
        }
    }
    if n == 1 {
        // A matrix times a column: one inner product per row.
        return match k {
            0 => vec![T::zero(); m],
            _ => a.chunks_exact(k).take(m).map(|row| dot(row, b)).collect(),
        };
    }
    if n == 0 || k == 0 {
        return vec![T::zero(); m * n];
    }
    // Each output row starts as its first term (no zero fill), then accumulates the rest.
    let mut out = Vec::with_capacity(m * n);
    for a_row in a.chunks_exact(k).take(m) {
        let start = out.len();
        out.extend(b[..n].iter().map(|&b0j| a_row[0] * b0j));
        let out_row = &mut out[start..];
        for (p, &aip) in a_row.iter().enumerate().skip(1) {
            axpy(out_row, aip, &b[p * n..(p + 1) * n]);
        }
    }
    out
}

/// `aᵀ · d` for row-major `a` [m, k] and `d` [m, n], without forming `aᵀ`: row i of `a`
/// adds `a[i, p] · d[i, ..]` to row p of the [k, n] result.
pub(crate) fn matmul_tn<T: Float>(a: &[T], d: &[T], m: usize, k: usize, n: usize) -> Vec<T> {
    if use_gemm(k, m, n) {
        // aᵀ is `a` read with its strides swapped: no copy.
        let va = View {
            data: a,
            rows: 1,
            cols: k,
        };
        let vd = View {
            data: d,
            rows: n,
            cols: 1,
        };
        if let Some(out) = gemm(k, m, n, va, vd) {
            return out;
        }
    }
    if m == 0 || k == 0 || n == 0 {
        return vec![T::zero(); k * n];
    }
    // The first row of `a` writes the result (no zero fill); the others accumulate.
    let (d0, a0) = (&d[..n], &a[..k]);
    let mut out = Vec::with_capacity(k * n);
    for &a0p in a0 {
        out.extend(d0.iter().map(|&d0j| a0p * d0j));
    }
    for (a_row, d_row) in a.chunks_exact(k).zip(d.chunks_exact(n)).take(m).skip(1) {
        if n == 1 {
            axpy(&mut out, d_row[0], a_row);
        } else {
            for (out_row, &aip) in out.chunks_exact_mut(n).zip(a_row) {
                axpy(out_row, aip, d_row);
            }
        }
    }
    out
}

/// `d · bᵀ` for row-major `d` [m, n] and `b` [k, n], without forming `bᵀ`: entry (i, p) is
/// the inner product of row i of `d` and row p of `b`.
pub(crate) fn matmul_nt<T: Float>(d: &[T], b: &[T], m: usize, n: usize, k: usize) -> Vec<T> {
    if k > 1 && use_gemm(m, n, k) {
        let vd = View {
            data: d,
            rows: n,
            cols: 1,
        };
        let vb = View {
            data: b,
            rows: 1,
            cols: n,
        };
        if let Some(out) = gemm(m, n, k, vd, vb) {
            return out;
        }
    }
    if n == 0 || k == 0 {
        return vec![T::zero(); m * k];
    }
    let mut out = Vec::with_capacity(m * k);
    for d_row in d.chunks_exact(n).take(m) {
        if n == 1 {
            // An outer product: row i is d[i] times the column b.
            out.extend(b[..k].iter().map(|&bp| d_row[0] * bp));
        } else {
            out.extend(b.chunks_exact(n).take(k).map(|b_row| dot(d_row, b_row)));
        }
    }
    out
}

/// `acc += alpha · x`, element-wise.
fn axpy<T: Float>(acc: &mut [T], alpha: T, x: &[T]) {
    acc.iter_mut()
        .zip(x)
        .for_each(|(a, &xi)| *a = *a + alpha * xi);
}

/// Inner product of two slices of equal length, summed in order.
pub(crate) fn dot<T: Float>(a: &[T], b: &[T]) -> T {
    a.iter().zip(b).fold(T::zero(), |acc, (&x, &y)| acc + x * y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor;

    #[test]
    fn zip_map_paths() {
        // same shape
        let a = tensor![[1., 2.], [3., 4.]];
        let b = tensor![[10., 20.], [30., 40.]];
        assert_eq!(
            a.zip_map(&b, "add", |x, y| x + y).unwrap(),
            tensor![[11., 22.], [33., 44.]]
        );
        // one-element operand on either side, with extra axes
        let one = tensor![[[2.]]];
        let r = a.zip_map(&one, "sub", |x, y| x - y).unwrap();
        assert_eq!(
            (r.shape(), r.to_vec()),
            (&[1, 2, 2][..], vec![-1., 0., 1., 2.])
        );
        let r = one.zip_map(&a, "sub", |x, y| x - y).unwrap();
        assert_eq!(
            (r.shape(), r.to_vec()),
            (&[1, 2, 2][..], vec![1., 0., -1., -2.])
        );
        // strided: row against column
        let x = tensor![1., 2., 3.];
        let y = tensor![[4.], [5.]];
        let r = x.zip_map(&y, "mul", |p, q| p * q).unwrap();
        assert_eq!(r, tensor![[4., 8., 12.], [5., 10., 15.]]);
        let r = y.zip_map(&x, "sub", |p, q| p - q).unwrap();
        assert_eq!(r, tensor![[3., 2., 1.], [4., 3., 2.]]);
        // strided: both stride 0 on the last axis
        let col = tensor![[1.], [2.]];
        let r = col
            .zip_map(&tensor![[[10.]], [[20.]]], "add", |p, q| p + q)
            .unwrap();
        assert_eq!(
            (r.shape(), r.to_vec()),
            (&[2, 2, 1][..], vec![11., 12., 21., 22.])
        );
        // 3-D against 2-D
        let c = Tensor::arange(0., 12., 1.).reshape(&[2, 3, 2]);
        let r = c.zip_map(
            &tensor![[100., 200.], [300., 400.], [500., 600.]],
            "add",
            |p, q| p + q,
        );
        let expected = [
            100., 201., 302., 403., 504., 605., 106., 207., 308., 409., 510., 611.,
        ];
        assert_eq!(r.unwrap().to_vec(), expected);
        // size-0 axes
        let e = Tensor::<f64>::zeros(&[0, 3]);
        let r = e.zip_map(&x, "add", |p, q| p + q).unwrap();
        assert_eq!((r.shape(), r.len()), (&[0, 3][..], 0));
        // failure
        let err = x
            .zip_map(&tensor![1., 2.], "div", |p, q| p / q)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot broadcast shapes [3] and [2] for `div`"
        );
    }

    #[test]
    fn zip_assign() {
        let mut a = tensor![[1., 2., 3.], [4., 5., 6.]];
        a.try_zip_assign(&tensor![10., 20., 30.], "add_assign", |x, y| x + y)
            .unwrap();
        assert_eq!(a, tensor![[11., 22., 33.], [14., 25., 36.]]);
        a.try_zip_assign(&tensor![[1.], [2.]], "mul_assign", |x, y| x * y)
            .unwrap();
        assert_eq!(a, tensor![[11., 22., 33.], [28., 50., 72.]]);
        a.try_zip_assign(&Tensor::scalar(1.), "sub_assign", |x, y| x - y)
            .unwrap();
        assert_eq!(a, tensor![[10., 21., 32.], [27., 49., 71.]]);
        let err = tensor![1., 2., 3.]
            .try_zip_assign(&tensor![[1., 2., 3.]], "add_assign", |x, y| x + y)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot broadcast shape [1, 3] to [3] for `add_assign`"
        );
    }

    #[test]
    fn pairwise_sum() {
        for n in [0_usize, 1, 7, 8, 9, 127, 128, 129, 1000, 4099] {
            let data: Vec<f64> = (0..n).map(|i| i as f64).collect();
            assert_eq!(sum(&data), (n * n.saturating_sub(1) / 2) as f64, "n = {n}");
        }
        // 0.1 added 10^6 times: pairwise keeps the error tiny, a plain loop does not.
        let data = vec![0.1_f32; 1_000_000];
        assert!((sum(&data) - 100_000.).abs() < 1.0);
    }

    #[test]
    fn gather_and_scatter() {
        let data = [1., 2., 3.];
        assert_eq!(gather(&data, &[2, 3], &[0, 1]), [1., 2., 3., 1., 2., 3.]);
        assert_eq!(gather(&data, &[3, 2], &[1, 0]), [1., 1., 2., 2., 3., 3.]);
        assert_eq!(
            gather(&[1., 2., 3., 4., 5., 6.], &[3, 2], &[1, 3]),
            [1., 4., 2., 5., 3., 6.]
        );
        assert_eq!(gather(&[5.], &[], &[]), [5.]);
        let big = [1., 2., 3., 4., 5., 6.];
        assert_eq!(scatter_add(&big, &[2, 3], &[0, 1], 3), [5., 7., 9.]);
        assert_eq!(scatter_add(&big, &[2, 3], &[1, 0], 2), [6., 15.]);
        assert_eq!(scatter_add(&big, &[2, 3], &[0, 0], 1), [21.]);
    }

    #[test]
    fn matmul_dot_kernels() {
        let a = [1., 2., 3., 4., 5., 6.]; // [2, 3]
        let b = [7., 8., 9., 10., 11., 12.]; // [3, 2]
        assert_eq!(matmul(&a, &b, 2, 3, 2), [58., 64., 139., 154.]);
        assert_eq!(matmul::<f64>(&[], &[], 2, 0, 3), [0.; 6]);
        assert_eq!(matmul(&a, &[1., 1., 1.], 2, 3, 1), [6., 15.]);
        // aᵀ·d and d·bᵀ against the transposes written out.
        let at = [1., 4., 2., 5., 3., 6.]; // [3, 2]
        let d = [1., 2., 3., 4.]; // [2, 2]
        assert_eq!(matmul_tn(&a, &d, 2, 3, 2), matmul(&at, &d, 3, 2, 2));
        assert_eq!(
            matmul_tn(&a, &[1., 2.], 2, 3, 1),
            matmul(&at, &[1., 2.], 3, 2, 1)
        );
        assert_eq!(matmul_nt(&d, &at, 2, 2, 3), matmul(&d, &a, 2, 2, 3));
        assert_eq!(
            matmul_nt(&[1., 2.], &[3., 4., 5.], 2, 1, 3),
            [3., 4., 5., 6., 8., 10.]
        );
        assert_eq!(dot(&[1., 2., 3.], &[4., 5., 6.]), 32.);
        assert_eq!(sum_axis(&a, 1, 2, 3), [5., 7., 9.]);
        assert_eq!(sum_axis(&a, 2, 3, 1), [6., 15.]);
    }

    #[test]
    fn gemm_against_loops() {
        // Sizes above the GEMM threshold, f64 and f32, against the loops.
        let (m, k, n) = (17, 23, 19);
        let a: Vec<f64> = (0..m * k).map(|i| ((i * 7 % 13) as f64) - 6.).collect();
        let b: Vec<f64> = (0..k * n).map(|i| ((i * 5 % 11) as f64) - 5.).collect();
        let d: Vec<f64> = (0..m * n).map(|i| ((i * 3 % 7) as f64) - 3.).collect();
        let loops = |a: &[f64], b: &[f64], m, k, n| -> Vec<f64> {
            let mut out = vec![0.; m * n];
            for i in 0..m {
                for p in 0..k {
                    for j in 0..n {
                        out[i * n + j] += a[i * k + p] * b[p * n + j];
                    }
                }
            }
            out
        };
        let transpose = |x: &[f64], r: usize, c: usize| -> Vec<f64> {
            (0..c * r).map(|i| x[(i % r) * c + i / r]).collect()
        };
        assert!(use_gemm(m, k, n));
        assert_eq!(matmul(&a, &b, m, k, n), loops(&a, &b, m, k, n));
        assert_eq!(
            matmul_tn(&a, &d, m, k, n),
            loops(&transpose(&a, m, k), &d, k, m, n)
        );
        assert_eq!(
            matmul_nt(&d, &b, m, n, k),
            loops(&d, &transpose(&b, k, n), m, n, k)
        );
        let a32: Vec<f32> = a.iter().map(|&v| v as f32).collect();
        let b32: Vec<f32> = b.iter().map(|&v| v as f32).collect();
        let want: Vec<f32> = loops(&a, &b, m, k, n).iter().map(|&v| v as f32).collect();
        assert_eq!(matmul(&a32, &b32, m, k, n), want);
    }
}
