//! [`Differentiable`]: values whose gradient has their own shape (floats, arrays, tensors and
//! the structs of a model).

use num_traits::Float;

use crate::Tensor;

/// A value with a gradient of its own type: a float, an array, a `Vec`, a [`Tensor`], or a
/// struct of them (a model), as a JAX pytree or a PyTorch module's `.grad`s.
///
/// `#[derive(Differentiable)]` implements it for a struct: its leaves are its fields in order
/// (elements of a `Vec`/array field in order, nested structs recursively); integer and `bool`
/// fields and fields marked `#[autodiff(skip)]` are constants, copied from `self` by
/// [`zeros_like`](Differentiable::zeros_like) and [`from_flat`](Differentiable::from_flat) and
/// left alone by [`scaled_add`](Differentiable::scaled_add).
///
/// ```
/// use autodiff_runtime::{tensor, Differentiable};
///
/// let mut w = vec![tensor![1., 2.], tensor![3.]];
/// assert_eq!(w.num_params(), 3);
/// assert_eq!(w.to_flat(), vec![1., 2., 3.]);
/// let g = w.from_flat(&[1., 1., 2.]);
/// w.scaled_add(-0.5, &g); // one step of gradient descent
/// assert_eq!(w, vec![tensor![0.5, 1.5], tensor![2.]]);
/// ```
///
/// A hand-written implementation gives `zeros_like`, `scaled_add`, `num_params`, and either
/// `to_flat` and `from_flat` or the hidden `write_flat` and `read_flat` they are built from.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be differentiated: it does not implement `autodiff::Differentiable`",
    label = "not `Differentiable`",
    note = "add `#[derive(autodiff::Differentiable)]` to the type; a model's field that is not a parameter (an enum, a flag, a setting) is marked `#[autodiff(skip)]`; a function's parameter is left out of `wrt(..)`: either is then a constant"
)]
pub trait Differentiable: Sized {
    /// The float type of the leaves.
    type Scalar: Float;

    /// A value of the same shape with every leaf zero; constant fields are copied.
    fn zeros_like(&self) -> Self;

    /// `self += alpha * other`, leaf by leaf (constant fields are left alone).
    ///
    /// # Panics
    ///
    /// If a `Vec` or tensor leaf of `other` has another length than `self`'s.
    fn scaled_add(&mut self, alpha: Self::Scalar, other: &Self);

    /// The number of scalar leaves.
    fn num_params(&self) -> usize;

    /// Every scalar leaf in order (JAX's `ravel_pytree`).
    fn to_flat(&self) -> Vec<Self::Scalar> {
        let mut out = Vec::with_capacity(self.num_params());
        self.write_flat(&mut out);
        out
    }

    /// A value shaped like `self` whose leaves are `flat`, in [`to_flat`](Self::to_flat)'s
    /// order; constant fields are copied from `self`.
    ///
    /// # Panics
    ///
    /// If `flat.len()` is not [`num_params`](Self::num_params); the message names both lengths.
    #[track_caller]
    #[allow(clippy::wrong_self_convention)] // the API's name: `self` gives the shape
    fn from_flat(&self, flat: &[Self::Scalar]) -> Self {
        let n = self.num_params();
        if flat.len() != n {
            panic!(
                "from_flat: got {} values, but the value has {} parameters",
                flat.len(),
                n
            );
        }
        let mut pos = 0;
        self.read_flat(flat, &mut pos)
    }

    /// Appends the leaves to `out` (what `to_flat` is built from).
    #[doc(hidden)]
    fn write_flat(&self, out: &mut Vec<Self::Scalar>) {
        out.extend(self.to_flat());
    }

    /// Reads `self.num_params()` leaves from `flat[*pos..]` and advances `pos` (what
    /// `from_flat` is built from).
    #[doc(hidden)]
    fn read_flat(&self, flat: &[Self::Scalar], pos: &mut usize) -> Self {
        let n = self.num_params();
        let out = self.from_flat(&flat[*pos..*pos + n]);
        *pos += n;
        out
    }
}

macro_rules! float_leaf {
    ($t:ty) => {
        impl Differentiable for $t {
            type Scalar = $t;
            #[inline]
            fn zeros_like(&self) -> $t {
                0.0
            }
            #[inline]
            fn scaled_add(&mut self, alpha: $t, other: &$t) {
                *self += alpha * *other;
            }
            #[inline]
            fn num_params(&self) -> usize {
                1
            }
            #[inline]
            fn write_flat(&self, out: &mut Vec<$t>) {
                out.push(*self);
            }
            #[inline]
            fn read_flat(&self, flat: &[$t], pos: &mut usize) -> $t {
                *pos += 1;
                flat[*pos - 1]
            }
        }
    };
}

float_leaf!(f32);
float_leaf!(f64);

impl<T: Float> Differentiable for Tensor<T> {
    type Scalar = T;
    fn zeros_like(&self) -> Tensor<T> {
        Tensor::zeros(self.shape())
    }
    #[track_caller]
    fn scaled_add(&mut self, alpha: T, other: &Tensor<T>) {
        if self.shape() != other.shape() {
            panic!(
                "scaled_add: shapes {:?} and {:?} differ",
                self.shape(),
                other.shape()
            );
        }
        for (a, &b) in self.as_mut_slice().iter_mut().zip(other.as_slice()) {
            *a = *a + alpha * b;
        }
    }
    fn num_params(&self) -> usize {
        self.len()
    }
    fn write_flat(&self, out: &mut Vec<T>) {
        out.extend_from_slice(self.as_slice());
    }
    fn read_flat(&self, flat: &[T], pos: &mut usize) -> Tensor<T> {
        let n = self.len();
        let out = Tensor::from_vec(flat[*pos..*pos + n].to_vec(), self.shape());
        *pos += n;
        out
    }
}

impl<D: Differentiable> Differentiable for Vec<D> {
    type Scalar = D::Scalar;
    fn zeros_like(&self) -> Vec<D> {
        self.iter().map(D::zeros_like).collect()
    }
    #[track_caller]
    fn scaled_add(&mut self, alpha: D::Scalar, other: &Vec<D>) {
        if self.len() != other.len() {
            panic!(
                "scaled_add: lengths {} and {} differ",
                self.len(),
                other.len()
            );
        }
        for (a, b) in self.iter_mut().zip(other) {
            a.scaled_add(alpha, b);
        }
    }
    fn num_params(&self) -> usize {
        self.iter().map(D::num_params).sum()
    }
    fn write_flat(&self, out: &mut Vec<D::Scalar>) {
        for d in self {
            d.write_flat(out);
        }
    }
    fn read_flat(&self, flat: &[D::Scalar], pos: &mut usize) -> Vec<D> {
        self.iter().map(|d| d.read_flat(flat, pos)).collect()
    }
}

impl<D: Differentiable, const N: usize> Differentiable for [D; N] {
    type Scalar = D::Scalar;
    fn zeros_like(&self) -> [D; N] {
        std::array::from_fn(|i| self[i].zeros_like())
    }
    fn scaled_add(&mut self, alpha: D::Scalar, other: &[D; N]) {
        for (a, b) in self.iter_mut().zip(other) {
            a.scaled_add(alpha, b);
        }
    }
    fn num_params(&self) -> usize {
        self.iter().map(D::num_params).sum()
    }
    fn write_flat(&self, out: &mut Vec<D::Scalar>) {
        for d in self {
            d.write_flat(out);
        }
    }
    fn read_flat(&self, flat: &[D::Scalar], pos: &mut usize) -> [D; N] {
        let mut out: Vec<D> = Vec::with_capacity(N);
        for d in self {
            out.push(d.read_flat(flat, pos));
        }
        match out.try_into() {
            Ok(a) => a,
            Err(_) => unreachable!("N elements were read"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor;

    #[test]
    fn leaves_in_order() {
        let v: Vec<[f64; 2]> = vec![[1.0, 2.0], [3.0, 4.0]];
        assert_eq!(v.num_params(), 4);
        assert_eq!(v.to_flat(), vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(
            v.from_flat(&[5.0, 6.0, 7.0, 8.0]),
            vec![[5.0, 6.0], [7.0, 8.0]]
        );
        let t = tensor![[1.0f32, 2.0], [3.0, 4.0]];
        let back = t.from_flat(&t.to_flat());
        assert_eq!(back, t);
        assert_eq!(t.zeros_like(), Tensor::zeros(&[2, 2]));
    }

    #[test]
    fn scaled_add_is_axpy() {
        let mut a = [1.0f64, 2.0];
        a.scaled_add(2.0, &[10.0, 20.0]);
        assert_eq!(a, [21.0, 42.0]);
        let mut t = tensor![1.0, 1.0];
        t.scaled_add(-1.0, &tensor![0.5, 2.0]);
        assert_eq!(t, tensor![0.5, -1.0]);
        let mut x = 1.5f32;
        x.scaled_add(2.0, &0.25);
        assert_eq!(x, 2.0);
    }

    #[test]
    #[should_panic(expected = "from_flat: got 3 values, but the value has 2 parameters")]
    fn from_flat_wrong_length() {
        [1.0f64, 2.0].from_flat(&[1.0, 2.0, 3.0]);
    }

    #[test]
    #[should_panic(expected = "scaled_add: lengths 2 and 1 differ")]
    fn scaled_add_wrong_length() {
        vec![1.0f64, 2.0].scaled_add(1.0, &vec![1.0]);
    }
}
