//! Helpers for the forward-mode items (`f_jacobian`, `f_hessian` of a vector parameter): the
//! values a function takes and returns, seen as flat lists of floats, and basis directions
//! of the same shape.

use num_traits::Float;

use crate::Tensor;

/// A differentiated value that is not a single float (`[T; N]`, `&[T]`, `Vec<T>`,
/// `Tensor<T>`), as a flat list of floats in row-major order.
pub trait Flat {
    /// The float type.
    type Elem: Float;
    /// A direction of the same shape: the parameter's own type without `&`, `Vec<T>` for a
    /// slice.
    type Owned;
    /// Number of floats.
    fn flat_len(&self) -> usize;
    /// The shape (`[N]` for a sequence).
    fn flat_shape(&self) -> Vec<usize>;
    /// The floats, in order.
    fn flat_values(&self) -> Vec<Self::Elem>;
    /// Zero everywhere but 1 at flat index `j` (all zero when `j` is out of range).
    fn basis(&self, j: usize) -> Self::Owned;
}

impl<T: Float> Flat for [T] {
    type Elem = T;
    type Owned = Vec<T>;
    fn flat_len(&self) -> usize {
        self.len()
    }
    fn flat_shape(&self) -> Vec<usize> {
        vec![self.len()]
    }
    fn flat_values(&self) -> Vec<T> {
        self.to_vec()
    }
    fn basis(&self, j: usize) -> Vec<T> {
        let mut b = vec![T::zero(); self.len()];
        if let Some(e) = b.get_mut(j) {
            *e = T::one();
        }
        b
    }
}

impl<T: Float> Flat for Vec<T> {
    type Elem = T;
    type Owned = Vec<T>;
    fn flat_len(&self) -> usize {
        self.len()
    }
    fn flat_shape(&self) -> Vec<usize> {
        vec![self.len()]
    }
    fn flat_values(&self) -> Vec<T> {
        self.clone()
    }
    fn basis(&self, j: usize) -> Vec<T> {
        self.as_slice().basis(j)
    }
}

impl<T: Float, const N: usize> Flat for [T; N] {
    type Elem = T;
    type Owned = [T; N];
    fn flat_len(&self) -> usize {
        N
    }
    fn flat_shape(&self) -> Vec<usize> {
        vec![N]
    }
    fn flat_values(&self) -> Vec<T> {
        self.to_vec()
    }
    fn basis(&self, j: usize) -> [T; N] {
        let mut b = [T::zero(); N];
        if let Some(e) = b.get_mut(j) {
            *e = T::one();
        }
        b
    }
}

impl<T: Float> Flat for Tensor<T> {
    type Elem = T;
    type Owned = Tensor<T>;
    fn flat_len(&self) -> usize {
        self.len()
    }
    fn flat_shape(&self) -> Vec<usize> {
        self.shape().to_vec()
    }
    fn flat_values(&self) -> Vec<T> {
        self.as_slice().to_vec()
    }
    fn basis(&self, j: usize) -> Tensor<T> {
        let mut data = vec![T::zero(); self.len()];
        if let Some(e) = data.get_mut(j) {
            *e = T::one();
        }
        Tensor::from_vec(data, self.shape())
    }
}

impl<S: Flat + ?Sized> Flat for &S {
    type Elem = S::Elem;
    type Owned = S::Owned;
    fn flat_len(&self) -> usize {
        (**self).flat_len()
    }
    fn flat_shape(&self) -> Vec<usize> {
        (**self).flat_shape()
    }
    fn flat_values(&self) -> Vec<S::Elem> {
        (**self).flat_values()
    }
    fn basis(&self, j: usize) -> S::Owned {
        (**self).basis(j)
    }
}

/// `x.flat_len()`.
#[inline]
pub fn flat_len<S: Flat + ?Sized>(x: &S) -> usize {
    x.flat_len()
}

/// `x.flat_shape()`.
#[inline]
pub fn flat_shape<S: Flat + ?Sized>(x: &S) -> Vec<usize> {
    x.flat_shape()
}

/// `x.flat_values()`.
#[inline]
pub fn flat_values<S: Flat + ?Sized>(x: &S) -> Vec<S::Elem> {
    x.flat_values()
}

/// A direction shaped like `x`: 1 at flat index `j`, else 0.
#[inline]
pub fn basis<S: Flat + ?Sized>(x: &S, j: usize) -> S::Owned {
    x.basis(j)
}

/// The zero direction shaped like `x`.
#[inline]
pub fn basis_zero<S: Flat + ?Sized>(x: &S) -> S::Owned {
    x.basis(usize::MAX)
}

/// A Jacobian block as a tensor of shape `out_shape ++ in_shape`, from its rows (one flat
/// gradient per output float).
pub fn jac_from_rows<T: Float>(
    rows: Vec<Vec<T>>,
    out_shape: &[usize],
    in_shape: &[usize],
) -> Tensor<T> {
    let data: Vec<T> = rows.into_iter().flatten().collect();
    let shape: Vec<usize> = out_shape.iter().chain(in_shape).copied().collect();
    Tensor::from_vec(data, &shape)
}

/// A Jacobian block as a tensor of shape `out_shape ++ in_shape`, from its columns (one flat
/// tangent per input float).
pub fn jac_from_columns<T: Float>(
    columns: Vec<Vec<T>>,
    out_shape: &[usize],
    in_shape: &[usize],
) -> Tensor<T> {
    let n_in = columns.len();
    let n_out: usize = out_shape.iter().product();
    let mut data = vec![T::zero(); n_out * n_in];
    for (j, col) in columns.iter().enumerate() {
        for (o, &v) in col.iter().enumerate() {
            data[o * n_in + j] = v;
        }
    }
    let shape: Vec<usize> = out_shape.iter().chain(in_shape).copied().collect();
    Tensor::from_vec(data, &shape)
}

/// Entry `(o, j)` of a Jacobian block given as columns.
#[inline]
pub fn jac_entry<T: Float>(columns: &[Vec<T>], o: usize, j: usize) -> T {
    columns[j][o]
}

/// The inner product of a gradient component with a tangent of its parameter's type (the
/// tangent as the parameter is passed: `[T]` for a `&[T]` parameter, whose gradient is a
/// `Vec<T>`). The forward items of a function with only a custom `vjp` rule are built from it:
/// the directional derivative `Σᵢ <rule(x.., 1)ᵢ, tᵢ>`.
pub trait TangentDot<Tangent: ?Sized> {
    /// The float type.
    type Elem: Float;
    /// `Σⱼ self[j]·t[j]` over the floats in row-major order.
    ///
    /// # Panics
    ///
    /// If the tangent has another length (or, for a tensor, another shape) than the gradient.
    fn tangent_dot(&self, t: &Tangent) -> Self::Elem;
}

fn dot_slices<T: Float>(g: &[T], t: &[T]) -> T {
    assert_eq!(
        g.len(),
        t.len(),
        "tangent of length {} for a parameter of length {}",
        t.len(),
        g.len()
    );
    g.iter().zip(t).fold(T::zero(), |acc, (&a, &b)| acc + a * b)
}

impl<T: Float, const N: usize> TangentDot<[T; N]> for [T; N] {
    type Elem = T;
    fn tangent_dot(&self, t: &[T; N]) -> T {
        dot_slices(self, t)
    }
}

impl<T: Float> TangentDot<[T]> for Vec<T> {
    type Elem = T;
    fn tangent_dot(&self, t: &[T]) -> T {
        dot_slices(self, t)
    }
}

impl<T: Float> TangentDot<Vec<T>> for Vec<T> {
    type Elem = T;
    fn tangent_dot(&self, t: &Vec<T>) -> T {
        dot_slices(self, t)
    }
}

impl<T: Float> TangentDot<Tensor<T>> for Tensor<T> {
    type Elem = T;
    fn tangent_dot(&self, t: &Tensor<T>) -> T {
        assert_eq!(
            self.shape(),
            t.shape(),
            "tangent of shape {:?} for a parameter of shape {:?}",
            t.shape(),
            self.shape()
        );
        dot_slices(self.as_slice(), t.as_slice())
    }
}

/// `g.tangent_dot(t)`: `<g, t>` for an array, sequence or tensor gradient component.
#[inline]
pub fn tangent_dot<G: TangentDot<U>, U: ?Sized>(g: &G, t: &U) -> G::Elem {
    g.tangent_dot(t)
}
