//! Linear algebra and shape changes: `matmul`, `dot`, `transpose`, `reshape`.

use num_traits::Float;

use crate::shape::{contiguous_strides, numel};
use crate::{kernels, ShapeError, Tensor};

impl<T: Float> Tensor<T> {
    /// Matrix product with NumPy's rules for 1-D and 2-D operands:
    /// `[m, k] x [k, n] -> [m, n]`, `[m, k] x [k] -> [m]`, `[k] x [k, n] -> [n]`,
    /// and `[k] x [k] -> []` (a 0-d tensor); batched, `[b, m, k] x [b, k, n] -> [b, m, n]`
    /// (one product per batch entry) and `[b, m, k] x [k, n] -> [b, m, n]` (the matrix
    /// shared by every entry). Products run on the `matrixmultiply` GEMM kernels.
    ///
    /// # Panics
    ///
    /// If the shapes are none of the above, or the inner (or batch) dimensions differ; the
    /// message names both shapes.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let a = tensor![[1., 2.], [3., 4.]];
    /// let b = tensor![[5., 6.], [7., 8.]];
    /// assert_eq!(a.matmul(&b), tensor![[19., 22.], [43., 50.]]);
    /// assert_eq!(a.matmul(&tensor![1., 1.]), tensor![3., 7.]);
    /// assert_eq!(tensor![1., 1.].matmul(&a), tensor![4., 6.]);
    /// assert_eq!(tensor![1., 2.].matmul(&tensor![3., 4.]).item(), 11.);
    ///
    /// // A batch of two matrices, each times its own, or all times the same one.
    /// let x = tensor![[[1., 2.]], [[3., 4.]]]; // [2, 1, 2]
    /// assert_eq!(x.matmul(&a), tensor![[[7., 10.]], [[15., 22.]]]);
    /// let y = tensor![[[1.], [0.]], [[0.], [1.]]]; // [2, 2, 1]
    /// assert_eq!(x.matmul(&y), tensor![[[1.]], [[4.]]]);
    /// ```
    #[track_caller]
    pub fn matmul(&self, other: &Tensor<T>) -> Tensor<T> {
        match self.try_matmul(other) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }

    /// Like [`Tensor::matmul`], but returns an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`ShapeError::MatMul`] naming both shapes; [`ShapeError::BatchMatMul`] when an
    /// operand is 3-D.
    ///
    /// ```
    /// use autodiff_runtime::{tensor, ShapeError};
    ///
    /// let a = tensor![[1., 2., 3.], [4., 5., 6.]];
    /// let err = a.try_matmul(&a).unwrap_err();
    /// assert_eq!(err, ShapeError::MatMul { lhs: vec![2, 3], rhs: vec![2, 3] });
    /// ```
    pub fn try_matmul(&self, other: &Tensor<T>) -> Result<Tensor<T>, ShapeError> {
        let (a, b) = (&self.data[..], &other.data[..]);
        match (&self.shape[..], &other.shape[..]) {
            (&[m, k], &[k2, n]) if k == k2 => Ok(Tensor::from_parts(
                kernels::matmul(a, b, m, k, n),
                vec![m, n],
            )),
            (&[m, k], &[k2]) if k == k2 => {
                let data = match k {
                    0 => vec![T::zero(); m],
                    _ => a.chunks_exact(k).map(|row| kernels::dot(row, b)).collect(),
                };
                Ok(Tensor::from_parts(data, vec![m]))
            }
            (&[k], &[k2, n]) if k == k2 => {
                Ok(Tensor::from_parts(kernels::matmul(a, b, 1, k, n), vec![n]))
            }
            (&[k], &[k2]) if k == k2 => Ok(Tensor::scalar(kernels::dot(a, b))),
            (&[bs, m, k], &[k2, n]) if k == k2 => Ok(Tensor::from_parts(
                kernels::matmul(a, b, bs * m, k, n),
                vec![bs, m, n],
            )),
            (&[bs, m, k], &[bs2, k2, n]) if bs == bs2 && k == k2 => {
                let mut out = Vec::with_capacity(bs * m * n);
                for i in 0..bs {
                    out.extend(kernels::matmul(
                        &a[i * m * k..(i + 1) * m * k],
                        &b[i * k * n..(i + 1) * k * n],
                        m,
                        k,
                        n,
                    ));
                }
                Ok(Tensor::from_parts(out, vec![bs, m, n]))
            }
            _ if self.ndim() == 3 || other.ndim() == 3 => Err(ShapeError::BatchMatMul {
                lhs: self.shape.clone(),
                rhs: other.shape.clone(),
            }),
            _ => Err(ShapeError::MatMul {
                lhs: self.shape.clone(),
                rhs: other.shape.clone(),
            }),
        }
    }

    /// Inner product of two 1-D tensors of equal length.
    ///
    /// # Panics
    ///
    /// If either tensor is not 1-D or their lengths differ.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// assert_eq!(tensor![1., 2., 3.].dot(&tensor![4., 5., 6.]), 32.);
    /// ```
    #[track_caller]
    pub fn dot(&self, other: &Tensor<T>) -> T {
        match (&self.shape[..], &other.shape[..]) {
            ([k], [k2]) if k == k2 => kernels::dot(&self.data, &other.data),
            _ => panic!(
                "{}",
                ShapeError::Dot {
                    lhs: self.shape.clone(),
                    rhs: other.shape.clone()
                }
            ),
        }
    }

    /// The axes in reverse order, like NumPy's `.T`: a matrix is transposed, 0-d and
    /// 1-D tensors come back unchanged.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let t = tensor![[1., 2., 3.], [4., 5., 6.]];
    /// assert_eq!(t.transpose(), tensor![[1., 4.], [2., 5.], [3., 6.]]);
    /// assert_eq!(tensor![1., 2.].transpose(), tensor![1., 2.]);
    /// ```
    pub fn transpose(&self) -> Tensor<T> {
        if self.ndim() < 2 {
            return self.clone();
        }
        let shape: Vec<usize> = self.shape.iter().rev().copied().collect();
        let strides: Vec<usize> = contiguous_strides(&self.shape).into_iter().rev().collect();
        Tensor::from_parts(kernels::gather(&self.data, &shape, &strides), shape)
    }

    /// The same elements, in the same row-major order, with a new shape.
    ///
    /// # Panics
    ///
    /// If `shape` does not have as many elements as the tensor.
    ///
    /// ```
    /// use autodiff_runtime::{tensor, Tensor};
    ///
    /// let t = Tensor::arange(0., 6., 1.).reshape(&[2, 3]);
    /// assert_eq!(t, tensor![[0., 1., 2.], [3., 4., 5.]]);
    /// assert_eq!(t.reshape(&[6]), Tensor::arange(0., 6., 1.));
    /// ```
    #[track_caller]
    pub fn reshape(&self, shape: &[usize]) -> Tensor<T> {
        match self.try_reshape(shape) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }

    /// Like [`Tensor::reshape`], but returns an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`ShapeError::Reshape`] if the element counts differ.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let err = tensor![1., 2., 3.].try_reshape(&[2, 2]).unwrap_err();
    /// assert_eq!(err.to_string(), "cannot reshape shape [3] (3 elements) to [2, 2] (4 elements)");
    /// ```
    pub fn try_reshape(&self, shape: &[usize]) -> Result<Tensor<T>, ShapeError> {
        if numel(shape) == self.len() {
            Ok(Tensor::from_parts(self.data.clone(), shape.to_vec()))
        } else {
            Err(ShapeError::Reshape {
                from: self.shape.clone(),
                to: shape.to_vec(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::tensor;
    use crate::{ShapeError, Tensor};
    use std::panic::{catch_unwind, AssertUnwindSafe};

    fn panic_text(f: impl FnOnce()) -> String {
        let payload = catch_unwind(AssertUnwindSafe(f)).unwrap_err();
        match payload.downcast::<String>() {
            Ok(s) => *s,
            Err(p) => p.downcast::<&str>().unwrap().to_string(),
        }
    }

    #[test]
    fn matmul_by_hand() {
        // [2, 3] x [3, 2]: row i of a against column j of b
        let a = tensor![[1., 2., 3.], [4., 5., 6.]];
        let b = tensor![[7., 8.], [9., 10.], [11., 12.]];
        // 1*7 + 2*9 + 3*11 = 58, 1*8 + 2*10 + 3*12 = 64, 4*7 + 5*9 + 6*11 = 139, ...
        assert_eq!(a.matmul(&b), tensor![[58., 64.], [139., 154.]]);
        assert_eq!(
            b.matmul(&a),
            tensor![[39., 54., 69.], [49., 68., 87.], [59., 82., 105.]]
        );
        // [2, 3] x [3] -> [2]
        assert_eq!(a.matmul(&tensor![1., 0., -1.]), tensor![-2., -2.]);
        // [2] x [2, 3] -> [3]
        assert_eq!(tensor![1., -1.].matmul(&a), tensor![-3., -3., -3.]);
        // [3] x [3] -> []
        let s = tensor![1., 2., 3.].matmul(&tensor![4., 5., 6.]);
        assert_eq!((s.shape(), s.item()), (&[][..], 32.));
        // [2, 1] x [1, 3]: outer product
        let outer = tensor![[1.], [2.]].matmul(&tensor![[3., 4., 5.]]);
        assert_eq!(outer, tensor![[3., 4., 5.], [6., 8., 10.]]);
        // empty inner dimension gives zeros
        let z = Tensor::<f64>::zeros(&[2, 0]).matmul(&Tensor::zeros(&[0, 3]));
        assert_eq!(z, Tensor::zeros(&[2, 3]));
        assert_eq!(
            Tensor::<f64>::zeros(&[2, 0]).matmul(&Tensor::zeros(&[0])),
            tensor![0., 0.]
        );
        // the notebook's layer: x @ W^T
        let x = tensor![[2., 3., 1.], [4., 5., 3.]];
        assert_eq!(x.matmul(&x.transpose()), tensor![[14., 26.], [26., 50.]]);
    }

    #[test]
    fn matmul_errors() {
        let cases: &[(&[usize], &[usize])] = &[
            (&[2, 3], &[2, 3]),
            (&[2, 3], &[2]),
            (&[3], &[2, 3]),
            (&[3], &[2]),
            (&[], &[3]),
            (&[3], &[]),
            (&[2, 2, 2, 2], &[2, 2]),
        ];
        for &(l, r) in cases {
            let (a, b) = (Tensor::<f64>::ones(l), Tensor::<f64>::ones(r));
            let err = ShapeError::MatMul {
                lhs: l.to_vec(),
                rhs: r.to_vec(),
            };
            assert_eq!(a.try_matmul(&b), Err(err.clone()));
            assert_eq!(panic_text(|| drop(a.matmul(&b))), err.to_string());
        }
        assert_eq!(
            panic_text(|| drop(Tensor::<f64>::ones(&[2, 3]).matmul(&Tensor::ones(&[2, 3])))),
            "cannot multiply shapes [2, 3] and [2, 3] for `matmul`: \
             expected 1-D or 2-D operands with equal inner dimensions"
        );
    }

    #[test]
    fn batched_matmul() {
        let a = Tensor::arange(0., 12., 1.).reshape(&[2, 2, 3]);
        let b = Tensor::arange(0., 12., 1.).reshape(&[2, 3, 2]);
        let c = a.matmul(&b);
        assert_eq!(c.shape(), [2, 2, 2]);
        for i in 0..2 {
            let ai = Tensor::from_vec(a.as_slice()[i * 6..(i + 1) * 6].to_vec(), &[2, 3]);
            let bi = Tensor::from_vec(b.as_slice()[i * 6..(i + 1) * 6].to_vec(), &[3, 2]);
            assert_eq!(&c.as_slice()[i * 4..(i + 1) * 4], ai.matmul(&bi).as_slice());
        }
        // [2, 2, 3] x [3, 2]: the same matrix for both entries
        let w = tensor![[1., 0.], [0., 1.], [1., 1.]];
        assert_eq!(
            a.matmul(&w),
            tensor![[[2., 3.], [8., 9.]], [[14., 15.], [20., 21.]]]
        );
        let cases: &[(&[usize], &[usize])] = &[
            (&[2, 2, 3], &[3, 3, 2]),
            (&[2, 2, 3], &[2, 2, 2]),
            (&[2, 2, 3], &[2, 2]),
            (&[2, 2, 3], &[3]),
            (&[2, 3], &[2, 3, 2]),
        ];
        for &(l, r) in cases {
            let (x, y) = (Tensor::<f64>::ones(l), Tensor::<f64>::ones(r));
            let err = ShapeError::BatchMatMul {
                lhs: l.to_vec(),
                rhs: r.to_vec(),
            };
            assert_eq!(x.try_matmul(&y), Err(err.clone()));
            assert_eq!(panic_text(|| drop(x.matmul(&y))), err.to_string());
        }
        assert_eq!(
            panic_text(|| drop(Tensor::<f64>::ones(&[2, 2, 3]).matmul(&Tensor::ones(&[3, 3, 2])))),
            "cannot multiply shapes [2, 2, 3] and [3, 3, 2] for batched `matmul`: \
             expected [b, m, k] x [b, k, n] or [b, m, k] x [k, n]"
        );
    }

    #[test]
    fn dot() {
        assert_eq!(tensor![1., 2., 3.].dot(&tensor![-1., 0., 2.]), 5.);
        assert_eq!(Tensor::<f64>::zeros(&[0]).dot(&Tensor::zeros(&[0])), 0.);
        assert_eq!(
            panic_text(|| {
                tensor![1., 2., 3.].dot(&tensor![1., 2.]);
            }),
            "cannot multiply shapes [3] and [2] for `dot`: expected two 1-D tensors of equal length"
        );
        assert_eq!(
            panic_text(|| {
                tensor![[1., 2.]].dot(&tensor![1., 2.]);
            }),
            "cannot multiply shapes [1, 2] and [2] for `dot`: expected two 1-D tensors of equal length"
        );
    }

    #[test]
    fn transpose_and_reshape() {
        assert_eq!(Tensor::scalar(3.).transpose(), Tensor::scalar(3.));
        assert_eq!(tensor![[1., 2.]].transpose(), tensor![[1.], [2.]]);
        let c = Tensor::arange(0., 24., 1.).reshape(&[2, 3, 4]);
        let t = c.transpose();
        assert_eq!(t.shape(), [4, 3, 2]);
        for i in 0..2 {
            for j in 0..3 {
                for k in 0..4 {
                    assert_eq!(t[[k, j, i]], c[[i, j, k]]);
                }
            }
        }
        assert_eq!(t.transpose(), c);
        assert_eq!(Tensor::<f64>::zeros(&[0, 2]).transpose().shape(), [2, 0]);

        assert_eq!(c.reshape(&[4, 6])[[1, 0]], 6.);
        assert_eq!(Tensor::scalar(5.).reshape(&[1, 1]), tensor![[5.]]);
        assert_eq!(tensor![[5.]].reshape(&[]).item(), 5.);
        assert_eq!(
            c.try_reshape(&[5, 5]),
            Err(ShapeError::Reshape {
                from: vec![2, 3, 4],
                to: vec![5, 5]
            })
        );
        assert_eq!(
            panic_text(|| drop(c.reshape(&[5]))),
            "cannot reshape shape [2, 3, 4] (24 elements) to [5] (5 elements)"
        );
    }
}
