//! Reductions (`sum`, `mean`, per axis, `sum_to_shape`) and their inverse, `broadcast_to`.

use num_traits::Float;

use crate::shape::{broadcast_strides, broadcasts_to, numel};
use crate::{kernels, ShapeError, Tensor};

impl<T: Float> Tensor<T> {
    /// Sum of all elements (0 for an empty tensor), summed pairwise like NumPy.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// assert_eq!(tensor![[1., 2.], [3., 4.]].sum(), 10.);
    /// ```
    pub fn sum(&self) -> T {
        kernels::sum(&self.data)
    }

    /// Mean of all elements; NaN for an empty tensor, like NumPy.
    ///
    /// ```
    /// use autodiff_runtime::{tensor, Tensor};
    ///
    /// assert_eq!(tensor![[1., 2.], [3., 4.]].mean(), 2.5);
    /// assert!(Tensor::<f64>::zeros(&[0]).mean().is_nan());
    /// ```
    pub fn mean(&self) -> T {
        self.sum() / T::from(self.len()).unwrap()
    }

    /// Sum over one axis, which is dropped from the shape (NumPy's default).
    ///
    /// # Panics
    ///
    /// If `axis >= self.ndim()`.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let t = tensor![[1., 2., 3.], [4., 5., 6.]];
    /// assert_eq!(t.sum_axis(0), tensor![5., 7., 9.]);
    /// assert_eq!(t.sum_axis(1), tensor![6., 15.]);
    /// ```
    #[track_caller]
    pub fn sum_axis(&self, axis: usize) -> Tensor<T> {
        self.reduce_axis("sum_axis", axis, false)
    }

    /// Mean over one axis, which is dropped from the shape; NaN where that axis is empty.
    ///
    /// # Panics
    ///
    /// If `axis >= self.ndim()`.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let t = tensor![[1., 2., 3.], [4., 5., 6.]];
    /// assert_eq!(t.mean_axis(0), tensor![2.5, 3.5, 4.5]);
    /// assert_eq!(t.mean_axis(1), tensor![2., 5.]);
    /// ```
    #[track_caller]
    pub fn mean_axis(&self, axis: usize) -> Tensor<T> {
        self.reduce_axis("mean_axis", axis, true)
    }

    #[track_caller]
    fn reduce_axis(&self, op: &'static str, axis: usize, mean: bool) -> Tensor<T> {
        if axis >= self.ndim() {
            panic!(
                "{}",
                ShapeError::Axis {
                    op,
                    axis,
                    ndim: self.ndim()
                }
            );
        }
        let len = self.shape[axis];
        let outer = numel(&self.shape[..axis]);
        let inner = numel(&self.shape[axis + 1..]);
        let mut shape = self.shape.clone();
        shape.remove(axis);
        let mut out = Tensor::from_parts(kernels::sum_axis(&self.data, outer, len, inner), shape);
        if mean {
            let n = T::from(len).unwrap();
            out.map_assign(|x| x / n);
        }
        out
    }

    /// The reduction that undoes a broadcast: sums over the prepended axes and over
    /// every axis where `shape` has size 1, so that the result has shape `shape`.
    /// The gradient of every broadcasting operation goes through it.
    ///
    /// # Panics
    ///
    /// If `shape` does not broadcast to `self.shape()`.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let g = tensor![[1., 2., 3.], [4., 5., 6.]];
    /// assert_eq!(g.sum_to_shape(&[3]), tensor![5., 7., 9.]);
    /// assert_eq!(g.sum_to_shape(&[2, 1]), tensor![[6.], [15.]]);
    /// assert_eq!(g.sum_to_shape(&[]).item(), 21.);
    /// ```
    #[track_caller]
    pub fn sum_to_shape(&self, shape: &[usize]) -> Tensor<T> {
        match self.try_sum_to_shape(shape) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }

    /// Like [`Tensor::sum_to_shape`], but returns an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`ShapeError::SumToShape`] if `shape` does not broadcast to `self.shape()`.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let err = tensor![[1., 2., 3.]].try_sum_to_shape(&[2]).unwrap_err();
    /// assert_eq!(err.to_string(), "cannot sum shape [1, 3] to [2]: [2] does not broadcast to [1, 3]");
    /// ```
    pub fn try_sum_to_shape(&self, shape: &[usize]) -> Result<Tensor<T>, ShapeError> {
        if !broadcasts_to(shape, &self.shape) {
            return Err(ShapeError::SumToShape {
                from: self.shape.clone(),
                to: shape.to_vec(),
            });
        }
        if shape == &self.shape[..] {
            return Ok(self.clone());
        }
        let strides = broadcast_strides(shape, &self.shape);
        let data = kernels::scatter_add(&self.data, &self.shape, &strides, numel(shape));
        Ok(Tensor::from_parts(data, shape.to_vec()))
    }

    /// Copies the tensor into the larger shape it broadcasts to (NumPy's `broadcast_to`,
    /// materialised).
    ///
    /// # Panics
    ///
    /// If `self.shape()` does not broadcast to `shape`.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let t = tensor![1., 2., 3.];
    /// assert_eq!(t.broadcast_to(&[2, 3]), tensor![[1., 2., 3.], [1., 2., 3.]]);
    /// ```
    #[track_caller]
    pub fn broadcast_to(&self, shape: &[usize]) -> Tensor<T> {
        match self.try_broadcast_to(shape) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }

    /// Like [`Tensor::broadcast_to`], but returns an error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`ShapeError::BroadcastTo`] if `self.shape()` does not broadcast to `shape`.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let err = tensor![1., 2., 3.].try_broadcast_to(&[3, 2]).unwrap_err();
    /// assert_eq!(err.to_string(), "cannot broadcast shape [3] to [3, 2] for `broadcast_to`");
    /// ```
    pub fn try_broadcast_to(&self, shape: &[usize]) -> Result<Tensor<T>, ShapeError> {
        if !broadcasts_to(&self.shape, shape) {
            return Err(ShapeError::BroadcastTo {
                op: "broadcast_to",
                from: self.shape.clone(),
                to: shape.to_vec(),
            });
        }
        let strides = broadcast_strides(&self.shape, shape);
        let data = kernels::gather(&self.data, shape, &strides);
        Ok(Tensor::from_parts(data, shape.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use crate::shape::numel;
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

    fn arange(shape: &[usize]) -> Tensor<f64> {
        Tensor::arange(1., numel(shape) as f64 + 1., 1.).reshape(shape)
    }

    #[test]
    fn sums_and_means() {
        let t = arange(&[2, 3]); // [[1, 2, 3], [4, 5, 6]]
        assert_eq!((t.sum(), t.mean()), (21., 3.5));
        assert_eq!(Tensor::scalar(4.).sum(), 4.);
        assert_eq!(Tensor::<f64>::zeros(&[2, 0]).sum(), 0.);
        assert!(Tensor::<f64>::zeros(&[2, 0]).mean().is_nan());

        let c = arange(&[2, 3, 4]);
        assert_eq!(c.sum_axis(0).shape(), [3, 4]);
        assert_eq!(c.sum_axis(0)[[1, 2]], 7. + 19.);
        assert_eq!(
            c.sum_axis(1),
            tensor![[15., 18., 21., 24.], [51., 54., 57., 60.]]
        );
        assert_eq!(c.sum_axis(2), tensor![[10., 26., 42.], [58., 74., 90.]]);
        assert_eq!(
            c.mean_axis(2),
            tensor![[2.5, 6.5, 10.5], [14.5, 18.5, 22.5]]
        );
        assert_eq!(tensor![1., 2., 3.].sum_axis(0).shape(), [0usize; 0]);
        assert_eq!(tensor![1., 2., 3.].mean_axis(0).item(), 2.);
        let e = Tensor::<f64>::zeros(&[2, 0]);
        assert_eq!(e.sum_axis(1), tensor![0., 0.]);
        assert!(e.mean_axis(1).to_vec().iter().all(|x| x.is_nan()));
        assert_eq!(e.sum_axis(0).shape(), [0]);

        assert_eq!(
            panic_text(|| drop(t.sum_axis(2))),
            "axis 2 is out of bounds for `sum_axis` on a tensor of dimension 2"
        );
        assert_eq!(
            panic_text(|| drop(Tensor::scalar(1.).mean_axis(0))),
            "axis 0 is out of bounds for `mean_axis` on a tensor of dimension 0"
        );
    }

    /// (small, big): `small` broadcasts to `big`.
    const PAIRS: &[(&[usize], &[usize])] = &[
        (&[], &[]),
        (&[], &[3]),
        (&[], &[2, 3]),
        (&[1], &[4]),
        (&[3], &[3]),
        (&[3], &[2, 3]),
        (&[2, 1], &[2, 3]),
        (&[1, 3], &[2, 3]),
        (&[1, 1], &[2, 3]),
        (&[3, 1], &[4, 3, 5]),
        (&[4, 1, 5], &[2, 4, 3, 5]),
        (&[1, 3, 1], &[2, 3, 4]),
        (&[2, 3, 4], &[2, 3, 4]),
        (&[1], &[0]),
        (&[1, 3], &[0, 3]),
        (&[0, 1], &[0, 4]),
    ];

    #[test]
    fn sum_to_shape_inverts_broadcast() {
        for &(small, big) in PAIRS {
            // ones: each element of the sum counts how often it was copied
            let copies = numel(big) / numel(small).max(1);
            let ones = Tensor::<f64>::ones(small)
                .broadcast_to(big)
                .sum_to_shape(small);
            assert_eq!(
                ones,
                Tensor::full(small, copies as f64),
                "{small:?} -> {big:?}"
            );
            // arange: each element comes back multiplied by its number of copies
            let x = arange(small);
            let b = x.broadcast_to(big);
            assert_eq!(b.shape(), big);
            assert_eq!(b.sum(), x.sum() * copies as f64, "{small:?} -> {big:?}");
            assert_eq!(
                b.sum_to_shape(small),
                &x * copies as f64,
                "{small:?} -> {big:?}"
            );
            // broadcasting by an operator is the same as broadcast_to
            assert_eq!(&x + &Tensor::zeros(big), b);
        }
    }

    #[test]
    fn broadcast_to_values() {
        let col = tensor![[1.], [2.]];
        assert_eq!(
            col.broadcast_to(&[2, 3]),
            tensor![[1., 1., 1.], [2., 2., 2.]]
        );
        assert_eq!(col.broadcast_to(&[2, 2, 1]).to_vec(), [1., 2., 1., 2.]);
        assert_eq!(Tensor::scalar(7.).broadcast_to(&[2]), tensor![7., 7.]);
        // the gradient of z = x*y + y**2 (x: [3], y: [2, 1]) summed back to each input
        let x = tensor![1., 2., 3.];
        let y = tensor![[4.], [5.]];
        let ones = Tensor::<f64>::ones(&[2, 3]);
        let x_grad = (&ones * &y).sum_to_shape(x.shape());
        let y_grad = (&ones * &x + &y * 2.).sum_to_shape(y.shape());
        assert_eq!(x_grad, tensor![9., 9., 9.]);
        assert_eq!(y_grad, tensor![[30.], [36.]]);
    }

    #[test]
    fn sum_to_shape_errors() {
        let t = arange(&[2, 3]);
        let failures: &[&[usize]] = &[&[2], &[3, 2], &[1, 2, 3], &[4, 3], &[0, 3]];
        for &shape in failures {
            let err = ShapeError::SumToShape {
                from: vec![2, 3],
                to: shape.to_vec(),
            };
            assert_eq!(t.try_sum_to_shape(shape), Err(err.clone()));
            assert_eq!(panic_text(|| drop(t.sum_to_shape(shape))), err.to_string());
        }
        assert_eq!(
            panic_text(|| drop(t.sum_to_shape(&[2]))),
            "cannot sum shape [2, 3] to [2]: [2] does not broadcast to [2, 3]"
        );
        assert_eq!(
            t.try_broadcast_to(&[3]),
            Err(ShapeError::BroadcastTo {
                op: "broadcast_to",
                from: vec![2, 3],
                to: vec![3]
            })
        );
        assert_eq!(
            panic_text(|| drop(t.broadcast_to(&[4, 3]))),
            "cannot broadcast shape [2, 3] to [4, 3] for `broadcast_to`"
        );
    }
}
