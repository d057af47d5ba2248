//! Hidden helpers for generated code. Not a public API: names and signatures may change in
//! any release.
//!
//! The macro does not know whether a value is a float or a tensor; it calls these functions,
//! and the traits below give each one meaning for `T: Float`, `Tensor<T>`, and mixtures.

use num_traits::{NumCast, One, ToPrimitive, Zero};

pub use num_traits::Float;

pub use crate::hyperdual::DualArg;
pub use crate::HyperDual;

pub use crate::forward::{
    basis, basis_zero, flat_len, flat_shape, flat_values, jac_entry, jac_from_columns,
    jac_from_rows, Flat,
};
pub use crate::forward::{tangent_dot, TangentDot};

use crate::Tensor;

pub use crate::fused::{
    fused_mean, fused_mean_grad, fused_mean_poly, fused_mean_poly_grad, fused_sum, fused_sum_grad,
    fused_sum_poly, fused_sum_poly_grad, AsOperand, Grad, Monomial, Operand,
};

/// A float constant of the function's float type.
#[inline(always)]
pub fn lit<T: Float>(v: f64) -> T {
    <T as NumCast>::from(v).expect("every f64 converts to a float type")
}

/// An integer literal compared with a value kept as written (`self.k > 1`, `self.t > 0`):
/// the literal in that value's own type, an integer or a float. The value comes as a closure
/// that is never called: only its type is read, so the value is computed once.
#[inline(always)]
pub fn literal_like<T: NumCast>(_: impl FnOnce() -> T, v: i64) -> T {
    <T as NumCast>::from(v).expect("the literal is a value of the type it is compared with")
}

/// The float type of a value: the value's own for a float (also hyper-dual), the element
/// type for a tensor.
pub trait FloatOf {
    type Float: Float;
}

impl<T: Float> FloatOf for T {
    type Float = T;
}

impl<T: Float> FloatOf for Tensor<T> {
    type Float = T;
}

impl<T: Float> FloatOf for &Tensor<T> {
    type Float = T;
}

/// `v` in the float type of `like` (a run-time `powi` exponent, a scalar also for a tensor).
#[inline(always)]
pub fn lit_like<V: FloatOf>(like: &V, v: f64) -> V::Float {
    let _ = like;
    lit(v)
}

/// A value of a differentiable function: a float or a tensor of floats.
pub trait Value: Clone {
    type Elem: Float;
    /// Applies `f` element-wise; large tensors on several threads, so `f` must be a pure
    /// function (every caller in this module passes one).
    fn map_elems(&self, f: impl Fn(Self::Elem) -> Self::Elem) -> Self;
    fn total(&self) -> Self::Elem;
    fn count(&self) -> usize;
    fn zeros(&self) -> Self;
}

impl<T: Float> Value for T {
    type Elem = T;
    #[inline(always)]
    fn map_elems(&self, f: impl Fn(T) -> T) -> T {
        f(*self)
    }
    #[inline(always)]
    fn total(&self) -> T {
        *self
    }
    #[inline(always)]
    fn count(&self) -> usize {
        1
    }
    #[inline(always)]
    fn zeros(&self) -> T {
        T::zero()
    }
}

impl<T: Float> Value for Tensor<T> {
    type Elem = T;
    fn map_elems(&self, f: impl Fn(T) -> T) -> Tensor<T> {
        // SAFETY: the callers in this module pass pure closures (see the trait method).
        unsafe { self.map_pure(crate::parallel::PAR_MIN, f) }
    }
    fn total(&self) -> T {
        self.sum()
    }
    fn count(&self) -> usize {
        self.len()
    }
    fn zeros(&self) -> Tensor<T> {
        Tensor::zeros(self.shape())
    }
}

/// Element-wise binary operations with broadcasting, for every pairing of float and tensor.
pub trait Binary<Rhs> {
    type Elem: Float;
    type Output;
    fn zip_elems(
        &self,
        rhs: &Rhs,
        op: &'static str,
        f: impl Fn(Self::Elem, Self::Elem) -> Self::Elem,
    ) -> Self::Output;
}

impl<T: Float> Binary<T> for T {
    type Elem = T;
    type Output = T;
    #[inline(always)]
    fn zip_elems(&self, rhs: &T, _op: &'static str, f: impl Fn(T, T) -> T) -> T {
        f(*self, *rhs)
    }
}

impl<T: Float> Binary<Tensor<T>> for Tensor<T> {
    type Elem = T;
    type Output = Tensor<T>;
    #[track_caller]
    fn zip_elems(&self, rhs: &Tensor<T>, op: &'static str, f: impl Fn(T, T) -> T) -> Tensor<T> {
        // SAFETY: the callers in this module (`binary!`) pass pure closures.
        match unsafe { self.zip_map_pure(rhs, op, f) } {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }
}

impl<T: Float> Binary<T> for Tensor<T> {
    type Elem = T;
    type Output = Tensor<T>;
    fn zip_elems(&self, rhs: &T, op: &'static str, f: impl Fn(T, T) -> T) -> Tensor<T> {
        let r = *rhs;
        // SAFETY: the callers in this module (`binary!`) pass pure closures.
        unsafe { self.map_pure(crate::parallel::threshold(op), |x| f(x, r)) }
    }
}

impl<T: Float> Binary<Tensor<T>> for T {
    type Elem = T;
    type Output = Tensor<T>;
    fn zip_elems(&self, rhs: &Tensor<T>, op: &'static str, f: impl Fn(T, T) -> T) -> Tensor<T> {
        let l = *self;
        // SAFETY: the callers in this module (`binary!`) pass pure closures.
        unsafe { rhs.map_pure(crate::parallel::threshold(op), |y| f(l, y)) }
    }
}

/// A float kept as written (data, a constant) meeting a hyper-dual number in `f_hessian`.
impl<T: Float> Binary<HyperDual<T>> for T
where
    HyperDual<T>: Float,
{
    type Elem = HyperDual<T>;
    type Output = HyperDual<T>;
    #[inline(always)]
    fn zip_elems(
        &self,
        rhs: &HyperDual<T>,
        _op: &'static str,
        f: impl Fn(HyperDual<T>, HyperDual<T>) -> HyperDual<T>,
    ) -> HyperDual<T> {
        f(HyperDual::constant(*self), *rhs)
    }
}

/// A hyper-dual number meeting a float kept as written, in `f_hessian`.
impl<T: Float> Binary<T> for HyperDual<T>
where
    HyperDual<T>: Float,
{
    type Elem = HyperDual<T>;
    type Output = HyperDual<T>;
    #[inline(always)]
    fn zip_elems(
        &self,
        rhs: &T,
        _op: &'static str,
        f: impl Fn(HyperDual<T>, HyperDual<T>) -> HyperDual<T>,
    ) -> HyperDual<T> {
        f(*self, HyperDual::constant(*rhs))
    }
}

macro_rules! unary {
    ($($name:ident => $f:expr;)*) => {$(
        #[inline(always)]
        pub fn $name<V: Value>(x: &V) -> V {
            x.map_elems($f)
        }
    )*};
}

unary! {
    neg => |x| -x;
    sqrt => |x| x.sqrt();
    cbrt => |x| x.cbrt();
    exp => |x| x.exp();
    exp2 => |x| x.exp2();
    exp_m1 => |x| x.exp_m1();
    ln => |x| x.ln();
    ln_1p => |x| x.ln_1p();
    log2 => |x| x.log2();
    log10 => |x| x.log10();
    sin => |x| x.sin();
    cos => |x| x.cos();
    tan => |x| x.tan();
    asin => |x| x.asin();
    acos => |x| x.acos();
    atan => |x| x.atan();
    sinh => |x| x.sinh();
    cosh => |x| x.cosh();
    tanh => |x| x.tanh();
    asinh => |x| x.asinh();
    acosh => |x| x.acosh();
    atanh => |x| x.atanh();
    abs => |x| x.abs();
    signum => |x| x.signum();
    recip => |x| x.recip();
    floor => |x| x.floor();
    ceil => |x| x.ceil();
    round => |x| x.round();
    trunc => |x| x.trunc();
    sigmoid => crate::activations::sigmoid;
    relu => crate::activations::relu;
    softplus => crate::activations::softplus;
    sgn => |x| if x > V::Elem::zero() { V::Elem::one() } else if x < V::Elem::zero() { -V::Elem::one() } else { x * V::Elem::zero() };
    step => |x| if x > V::Elem::zero() { V::Elem::one() } else { V::Elem::zero() };
}

#[inline(always)]
pub fn powi<V: Value>(x: &V, n: i32) -> V {
    // `powi(2)` is `v * v` exactly; written out it is a multiply instead of a call into
    // compiler-rt's `__powisf2`/`__powidf2` for every element.
    if n == 2 {
        return x.map_elems(|v| v * v);
    }
    x.map_elems(|v| v.powi(n))
}

macro_rules! binary {
    ($($name:ident => $f:expr;)*) => {$(
        #[inline(always)]
        #[track_caller]
        pub fn $name<A: Binary<B>, B>(a: &A, b: &B) -> A::Output {
            a.zip_elems(b, stringify!($name), $f)
        }
    )*};
}

binary! {
    add => |x, y| x + y;
    sub => |x, y| x - y;
    mul => |x, y| x * y;
    div => |x, y| x / y;
    powf => |x, y| x.powf(y);
    log => |x, y| x.log(y);
    atan2 => |x, y| x.atan2(y);
    hypot => |x, y| x.hypot(y);
    max => |x, y| x.max(y);
    min => |x, y| x.min(y);
    max_weight => |x, y| {
        let one = A::Elem::one();
        if x > y { one } else if x == y { one / (one + one) } else { A::Elem::zero() }
    };
    powf_grad_x => |x, y| if y == A::Elem::zero() { A::Elem::zero() } else { y * x.powf(y - A::Elem::one()) };
    powf_grad_y => |x, y| if x == A::Elem::zero() && y >= A::Elem::zero() { A::Elem::zero() } else { x.powf(y) * x.ln() };
    powf_grad_xx => |x, y| {
        let one = A::Elem::one();
        if y == A::Elem::zero() || y == one { A::Elem::zero() } else { y * (y - one) * x.powf(y - one - one) }
    };
    powf_grad_yy => |x, y| if x == A::Elem::zero() && y > A::Elem::zero() { A::Elem::zero() } else { x.powf(y) * x.ln() * x.ln() };
}

/// One term `∂f/∂x · t` of a directional derivative: a zero tangent contributes nothing, also
/// where the partial derivative is infinite or NaN (the direction does not move along x).
#[inline(always)]
pub fn tangent_term<T: Float>(partial: T, t: T) -> T {
    if t == T::zero() {
        T::zero()
    } else {
        partial * t
    }
}

#[inline(always)]
pub fn clamp<V: Value>(x: &V, lo: &V::Elem, hi: &V::Elem) -> V {
    let (lo, hi) = (*lo, *hi);
    x.map_elems(|v| {
        if v < lo {
            lo
        } else if v > hi {
            hi
        } else {
            v
        }
    })
}

/// 1 strictly inside `(lo, hi)`, else 0: `clamp`'s derivative.
#[inline(always)]
pub fn clamp_weight<V: Value>(x: &V, lo: &V::Elem, hi: &V::Elem) -> V {
    let (lo, hi) = (*lo, *hi);
    x.map_elems(|v| {
        if v > lo && v < hi {
            V::Elem::one()
        } else {
            V::Elem::zero()
        }
    })
}

#[inline(always)]
pub fn sum<V: Value>(x: &V) -> V::Elem {
    x.total()
}

#[inline(always)]
pub fn mean<V: Value>(x: &V) -> V::Elem {
    x.total() / lit::<V::Elem>(x.count() as f64)
}

#[inline(always)]
pub fn numel<V: Value>(x: &V) -> V::Elem {
    lit::<V::Elem>(x.count() as f64)
}

#[inline(always)]
pub fn zeros_like<V: Value>(x: &V) -> V {
    x.zeros()
}

/// Sums a contribution back to the shape of the operand it belongs to.
pub trait SumTo<Like> {
    fn sum_to(&self, like: &Like) -> Like;
}

impl<T: Float> SumTo<T> for T {
    #[inline(always)]
    fn sum_to(&self, _like: &T) -> T {
        *self
    }
}

impl<T: Float> SumTo<Tensor<T>> for Tensor<T> {
    fn sum_to(&self, like: &Tensor<T>) -> Tensor<T> {
        if self.shape() == like.shape() {
            self.clone()
        } else {
            self.sum_to_shape(like.shape())
        }
    }
}

impl<T: Float> SumTo<T> for Tensor<T> {
    fn sum_to(&self, _like: &T) -> T {
        self.sum()
    }
}

impl<T: Float> SumTo<Tensor<T>> for T {
    fn sum_to(&self, like: &Tensor<T>) -> Tensor<T> {
        Tensor::full(like.shape(), *self)
    }
}

#[inline(always)]
pub fn sum_to<C: SumTo<L>, L>(c: &C, like: &L) -> L {
    c.sum_to(like)
}

/// `sum_to` of a contribution used nowhere else: moved through when it already has the shape.
pub trait SumToOwned<Like>: Sized {
    fn sum_to_owned(self, like: &Like) -> Like;
}

impl<T: Float> SumToOwned<T> for T {
    #[inline(always)]
    fn sum_to_owned(self, _like: &T) -> T {
        self
    }
}

impl<T: Float> SumToOwned<Tensor<T>> for Tensor<T> {
    fn sum_to_owned(self, like: &Tensor<T>) -> Tensor<T> {
        if self.shape() == like.shape() {
            self
        } else {
            self.sum_to_shape(like.shape())
        }
    }
}

impl<T: Float> SumToOwned<T> for Tensor<T> {
    fn sum_to_owned(self, _like: &T) -> T {
        self.sum()
    }
}

impl<T: Float> SumToOwned<Tensor<T>> for T {
    fn sum_to_owned(self, like: &Tensor<T>) -> Tensor<T> {
        Tensor::full(like.shape(), self)
    }
}

#[inline(always)]
pub fn sum_to_owned<C: SumToOwned<L>, L>(c: C, like: &L) -> L {
    c.sum_to_owned(like)
}

/// Broadcasts a value to the shape of another (the adjoint of a reduction).
pub trait BroadcastTo<Like> {
    fn broadcast_like(&self, like: &Like) -> Like;
}

impl<T: Float> BroadcastTo<T> for T {
    #[inline(always)]
    fn broadcast_like(&self, _like: &T) -> T {
        *self
    }
}

impl<T: Float> BroadcastTo<Tensor<T>> for T {
    fn broadcast_like(&self, like: &Tensor<T>) -> Tensor<T> {
        Tensor::full(like.shape(), *self)
    }
}

impl<T: Float> BroadcastTo<Tensor<T>> for Tensor<T> {
    fn broadcast_like(&self, like: &Tensor<T>) -> Tensor<T> {
        if self.shape() == like.shape() {
            self.clone()
        } else {
            self.broadcast_to(like.shape())
        }
    }
}

impl<T: Float> BroadcastTo<T> for Tensor<T> {
    fn broadcast_like(&self, _like: &T) -> T {
        self.sum()
    }
}

#[inline(always)]
pub fn broadcast_like<D: BroadcastTo<L>, L>(d: &D, like: &L) -> L {
    d.broadcast_like(like)
}

pub fn sum_axis<T: Float>(x: &Tensor<T>, axis: usize) -> Tensor<T> {
    x.sum_axis(axis)
}

pub fn mean_axis<T: Float>(x: &Tensor<T>, axis: usize) -> Tensor<T> {
    x.mean_axis(axis)
}

/// The adjoint of `sum_axis(axis)`: `d` with the axis put back, broadcast to `like`.
pub fn unsum_axis<T: Float>(d: &Tensor<T>, like: &Tensor<T>, axis: usize) -> Tensor<T> {
    let mut kept = like.shape().to_vec();
    kept[axis] = 1;
    d.reshape(&kept).broadcast_to(like.shape())
}

/// The adjoint of `mean_axis(axis)`.
pub fn unmean_axis<T: Float>(d: &Tensor<T>, like: &Tensor<T>, axis: usize) -> Tensor<T> {
    let n = lit::<T>(like.shape()[axis] as f64);
    unsum_axis(d, like, axis).map(|v| v / n)
}

pub fn matmul<T: Float>(a: &Tensor<T>, b: &Tensor<T>) -> Tensor<T> {
    a.matmul(b)
}

pub fn dot<T: Float>(a: &Tensor<T>, b: &Tensor<T>) -> T {
    a.dot(b)
}

pub fn transpose<T: Float>(a: &Tensor<T>) -> Tensor<T> {
    a.transpose()
}

pub fn reshape<T: Float>(a: &Tensor<T>, shape: &[usize]) -> Tensor<T> {
    a.reshape(shape)
}

pub fn reshape_like<T: Float>(d: &Tensor<T>, like: &Tensor<T>) -> Tensor<T> {
    d.reshape(like.shape())
}

fn outer<T: Float>(u: &Tensor<T>, v: &Tensor<T>) -> Tensor<T> {
    u.reshape(&[u.len(), 1]).matmul(&v.reshape(&[1, v.len()]))
}

/// ∂(a @ b)/∂a applied to `d`, for the 1-D and 2-D cases of `matmul`.
pub fn matmul_grad_lhs<T: Float>(d: &Tensor<T>, a: &Tensor<T>, b: &Tensor<T>) -> Tensor<T> {
    match (a.ndim(), b.ndim()) {
        (2, 2) => {
            let (m, n, k) = (d.shape()[0], d.shape()[1], b.shape()[0]);
            let data = crate::kernels::matmul_nt(d.as_slice(), b.as_slice(), m, n, k);
            Tensor::from_vec(data, &[m, k])
        }
        (2, 1) => outer(d, b),
        (1, 2) => b.matmul(d),
        (3, 2) => {
            // [b, m, k] x [k, n]: one product over the b·m rows.
            let (bs, m, n, k) = (d.shape()[0], d.shape()[1], d.shape()[2], b.shape()[0]);
            let data = crate::kernels::matmul_nt(d.as_slice(), b.as_slice(), bs * m, n, k);
            Tensor::from_vec(data, &[bs, m, k])
        }
        (3, 3) => {
            let (bs, m, n, k) = (d.shape()[0], d.shape()[1], d.shape()[2], b.shape()[1]);
            let mut out = Vec::with_capacity(bs * m * k);
            for (di, bi) in d
                .as_slice()
                .chunks_exact(m * n)
                .zip(b.as_slice().chunks_exact(k * n))
            {
                out.extend(crate::kernels::matmul_nt(di, bi, m, n, k));
            }
            Tensor::from_vec(out, &[bs, m, k])
        }
        _ => b.map(|v| v * d.sum()),
    }
}

/// ∂(a @ b)/∂b applied to `d`.
pub fn matmul_grad_rhs<T: Float>(d: &Tensor<T>, a: &Tensor<T>, b: &Tensor<T>) -> Tensor<T> {
    match (a.ndim(), b.ndim()) {
        (2, 2) | (2, 1) => {
            let (m, k) = (a.shape()[0], a.shape()[1]);
            let n = if b.ndim() == 2 { b.shape()[1] } else { 1 };
            let data = crate::kernels::matmul_tn(a.as_slice(), d.as_slice(), m, k, n);
            let shape = if b.ndim() == 2 { vec![k, n] } else { vec![k] };
            Tensor::from_vec(data, &shape)
        }
        (1, 2) => outer(a, d),
        (3, 2) => {
            // The shared [k, n] operand: its gradient sums over the batch, which is one
            // product over the b·m rows.
            let (bs, m, k, n) = (a.shape()[0], a.shape()[1], a.shape()[2], b.shape()[1]);
            let data = crate::kernels::matmul_tn(a.as_slice(), d.as_slice(), bs * m, k, n);
            Tensor::from_vec(data, &[k, n])
        }
        (3, 3) => {
            let (bs, m, k, n) = (a.shape()[0], a.shape()[1], a.shape()[2], b.shape()[2]);
            let mut out = Vec::with_capacity(bs * k * n);
            for (ai, di) in a
                .as_slice()
                .chunks_exact(m * k)
                .zip(d.as_slice().chunks_exact(m * n))
            {
                out.extend(crate::kernels::matmul_tn(ai, di, m, k, n));
            }
            Tensor::from_vec(out, &[bs, k, n])
        }
        _ => a.map(|v| v * d.sum()),
    }
}

pub fn max_all<T: Float>(x: &Tensor<T>) -> T {
    x.max_all()
}

pub fn min_all<T: Float>(x: &Tensor<T>) -> T {
    x.min_all()
}

pub fn logsumexp<T: Float>(x: &Tensor<T>) -> T {
    x.logsumexp()
}

pub fn max_axis<T: Float>(x: &Tensor<T>, axis: usize) -> Tensor<T> {
    x.max_axis(axis)
}

pub fn min_axis<T: Float>(x: &Tensor<T>, axis: usize) -> Tensor<T> {
    x.min_axis(axis)
}

pub fn logsumexp_axis<T: Float>(x: &Tensor<T>, axis: usize) -> Tensor<T> {
    x.logsumexp_axis(axis)
}

pub fn softmax<T: Float>(x: &Tensor<T>, axis: usize) -> Tensor<T> {
    x.softmax(axis)
}

pub fn log_softmax<T: Float>(x: &Tensor<T>, axis: usize) -> Tensor<T> {
    x.log_softmax(axis)
}

pub fn unsqueeze<T: Float>(x: &Tensor<T>, axis: usize) -> Tensor<T> {
    x.unsqueeze(axis)
}

/// The adjoint of `max_all`/`min_all` (value `m`): `d` shared evenly by the elements equal to
/// `m`.
pub fn extremum_grad<T: Float>(d: &T, x: &Tensor<T>, m: &T) -> Tensor<T> {
    crate::models::extremum_grad(*d, x, *m)
}

/// The adjoint of `max_axis(axis)`/`min_axis(axis)` (value `m`): in each lane, `d` shared
/// evenly by the elements equal to the lane's extremum.
pub fn extremum_axis_grad<T: Float>(
    d: &Tensor<T>,
    x: &Tensor<T>,
    m: &Tensor<T>,
    axis: usize,
) -> Tensor<T> {
    crate::models::extremum_axis_grad(d, x, m, axis)
}

/// `base ** exponent` in an expression kept as written.
pub fn pow<T: Float, E: ToPrimitive>(base: T, exponent: E) -> T {
    base.powf(<T as NumCast>::from(exponent).expect("exponent converts to the float type"))
}

/// The gradient slot of a parameter that the called function does not differentiate.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoGrad;

/// A value as a tensor, for traces: a float becomes a 0-d tensor.
pub trait ToTensor {
    type Elem: Float;
    fn to_tensor(&self) -> Tensor<Self::Elem>;
}

impl<T: Float> ToTensor for T {
    type Elem = T;
    fn to_tensor(&self) -> Tensor<T> {
        Tensor::scalar(*self)
    }
}

impl<T: Float> ToTensor for Tensor<T> {
    type Elem = T;
    fn to_tensor(&self) -> Tensor<T> {
        self.clone()
    }
}

/// The shape of a value a `_vjp` cotangent or a `_jvp` tangent must match: a tensor's shape,
/// a sequence's length.
pub trait CheckShape {
    fn check_shape(&self) -> Vec<usize>;
}

impl<S: CheckShape + ?Sized> CheckShape for &S {
    fn check_shape(&self) -> Vec<usize> {
        (**self).check_shape()
    }
}

impl<T: Float> CheckShape for Tensor<T> {
    fn check_shape(&self) -> Vec<usize> {
        self.shape().to_vec()
    }
}

impl<T: Float> CheckShape for [T] {
    fn check_shape(&self) -> Vec<usize> {
        vec![self.len()]
    }
}

impl<T: Float> CheckShape for Vec<T> {
    fn check_shape(&self) -> Vec<usize> {
        vec![self.len()]
    }
}

/// Panics unless `given` (a cotangent or a tangent) has the shape of `like` (the result or the
/// parameter it goes with), naming both, as PyTorch's `backward(grad)` and JAX's `vjp` do.
#[track_caller]
pub fn check_same_shape<A: CheckShape + ?Sized, B: CheckShape + ?Sized>(
    like: &A,
    given: &B,
    what: &str,
) {
    let (want, got) = (like.check_shape(), given.check_shape());
    if want != got {
        panic!("{what} has shape {got:?}, but it must have the shape {want:?}");
    }
}

/// A sequence parameter (`[T; N]`, `&[T]`, `Vec<T>`) as the 1-d tensor a trace shows.
pub fn seq_tensor<T: Float>(s: &[T]) -> Tensor<T> {
    Tensor::from_vec(s.to_vec(), &[s.len()])
}

/// Appends a node to a trace; `grad` is `None` where no gradient reaches the node (zero).
pub fn trace_node<V: ToTensor, G: ToTensor<Elem = V::Elem>>(
    trace: &mut crate::Trace<V::Elem>,
    name: &str,
    op: &'static str,
    inputs: &[usize],
    kind: crate::NodeKind,
    value: &V,
    grad: Option<&G>,
) -> usize {
    let value = value.to_tensor();
    let grad = match grad {
        Some(g) => {
            let g = g.to_tensor();
            if g.shape() == value.shape() {
                g
            } else {
                g.broadcast_to(value.shape())
            }
        }
        None => Tensor::zeros(value.shape()),
    };
    trace.push(crate::TraceNode {
        name: name.to_string(),
        op,
        inputs: inputs.to_vec(),
        kind,
        value,
        grad,
    })
}

/// A sequence of floats a function differentiates: `Vec<T>`, `[T; N]`, `&[T]`.
pub trait Seq {
    type Elem: Float;
    type Grad: Clone + AsRef<[Self::Elem]> + AsMut<[Self::Elem]>;
    fn elems(&self) -> &[Self::Elem];
    /// A zero gradient of the same length.
    fn zero_grad(&self) -> Self::Grad;
}

impl<T: Float> Seq for Vec<T> {
    type Elem = T;
    type Grad = Vec<T>;
    fn elems(&self) -> &[T] {
        self
    }
    fn zero_grad(&self) -> Vec<T> {
        vec![T::zero(); self.len()]
    }
}

impl<T: Float> Seq for [T] {
    type Elem = T;
    type Grad = Vec<T>;
    fn elems(&self) -> &[T] {
        self
    }
    fn zero_grad(&self) -> Vec<T> {
        vec![T::zero(); self.len()]
    }
}

impl<T: Float, const N: usize> Seq for [T; N] {
    type Elem = T;
    type Grad = [T; N];
    fn elems(&self) -> &[T] {
        self
    }
    fn zero_grad(&self) -> [T; N] {
        [T::zero(); N]
    }
}

impl<S: Seq + ?Sized> Seq for &S {
    type Elem = S::Elem;
    type Grad = S::Grad;
    fn elems(&self) -> &[S::Elem] {
        (**self).elems()
    }
    fn zero_grad(&self) -> S::Grad {
        (**self).zero_grad()
    }
}

/// The zero gradient of a sequence parameter (`Vec<T>` for slices and vectors).
#[inline]
pub fn seq_zeros<S: Seq + ?Sized>(s: &S) -> S::Grad {
    s.zero_grad()
}

/// The sum of two sequence gradients.
pub fn seq_add<G: Clone + AsMut<[T]> + AsRef<[T]>, T: Float>(a: &G, b: &G) -> G {
    let mut out = a.clone();
    for (o, &v) in out.as_mut().iter_mut().zip(b.as_ref()) {
        *o = *o + v;
    }
    out
}

/// `s[i]` for any sequence.
#[inline(always)]
#[track_caller]
pub fn seq_get<S: Seq + ?Sized>(s: &S, i: usize) -> S::Elem {
    s.elems()[i]
}

/// The number of iterations of `lo..hi` (or `lo..=hi`), for sizing a tape once.
#[inline(always)]
pub fn trip_count<I: num_traits::PrimInt>(lo: I, hi: I, inclusive: bool) -> usize {
    let (lo, hi) = (lo.to_i128().unwrap_or(0), hi.to_i128().unwrap_or(0));
    let n = if inclusive { hi - lo + 1 } else { hi - lo };
    n.max(0) as usize
}

/// A sequence gradient that is zero but for `v` at `i`.
#[track_caller]
/// A sequence gradient in the type of `like`'s gradient: a callee's `Vec<T>` gradient of a
/// `&[T]` parameter, for the caller's `[T; N]` argument.
pub fn seq_like<S: Seq + ?Sized, G: AsRef<[S::Elem]> + ?Sized>(g: &G, like: &S) -> S::Grad {
    let mut out = like.zero_grad();
    out.as_mut().copy_from_slice(g.as_ref());
    out
}

pub fn one_hot<S: Seq + ?Sized>(s: &S, i: usize, v: S::Elem) -> S::Grad {
    let mut g = s.zero_grad();
    g.as_mut()[i] = v;
    g
}

/// An integer literal passed to a differentiable function, converted to the parameter's
/// type: a float (`f(x, 2)` with `y: f64`) or an integer (`n: usize`).
pub trait FromIntLit {
    fn from_int_lit(n: i128) -> Self;
}

macro_rules! from_int_lit {
    (float: $($f:ty),*; int: $($i:ty),*) => {
        $(impl FromIntLit for $f {
            #[inline(always)]
            fn from_int_lit(n: i128) -> Self { n as $f }
        })*
        $(impl FromIntLit for $i {
            #[inline(always)]
            #[track_caller]
            fn from_int_lit(n: i128) -> Self {
                match <$i>::try_from(n) {
                    Ok(v) => v,
                    Err(_) => panic!("the literal {n} does not fit in `{}`", stringify!($i)),
                }
            }
        })*
    };
}
from_int_lit!(float: f32, f64; int: i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

impl<T: Float> FromIntLit for HyperDual<T> {
    #[inline(always)]
    fn from_int_lit(n: i128) -> Self {
        HyperDual::constant(T::from(n).expect("an integer literal converts to a float"))
    }
}

/// `FromIntLit::from_int_lit`, as generated code writes it: `int_lit(2)`.
#[inline(always)]
pub fn int_lit<V: FromIntLit>(n: i128) -> V {
    V::from_int_lit(n)
}

/// The zero gradient of a struct leaf that does not reach the output: `zeros_like` for a
/// `Differentiable` value, `NoGrad` for a constant field (an integer, a `bool`), which the
/// struct's setter ignores. Called as `(&&LeafZero(x)).leaf_zero()` (autoref specialization:
/// the impl on `&LeafZero` wins where it applies).
pub struct LeafZero<'a, D>(pub &'a D);

/// `LeafZero` of a `Differentiable` value.
pub trait LeafZeroDiff {
    type Out;
    fn leaf_zero(&self) -> Self::Out;
}

impl<D: crate::Differentiable> LeafZeroDiff for &LeafZero<'_, D> {
    type Out = D;
    #[inline(always)]
    fn leaf_zero(&self) -> D {
        self.0.zeros_like()
    }
}

/// `LeafZero` of any other value.
pub trait LeafZeroConst {
    fn leaf_zero(&self) -> NoGrad;
}

impl<D> LeafZeroConst for LeafZero<'_, D> {
    #[inline(always)]
    fn leaf_zero(&self) -> NoGrad {
        NoGrad
    }
}

/// `f` leaf by leaf over two values of one shape (constants copied from `a`): what `Binary`
/// does for a derived struct, so that two adjoints of one struct value add up.
pub fn zip_leaves<D: crate::Differentiable>(
    a: &D,
    b: &D,
    f: impl Fn(D::Scalar, D::Scalar) -> D::Scalar,
) -> D {
    let (x, y) = (a.to_flat(), b.to_flat());
    let z: Vec<D::Scalar> = x.iter().zip(&y).map(|(&p, &q)| f(p, q)).collect();
    a.from_flat(&z)
}

/// The zero gradient of a collection of struct leaves indexed in a loop (`self.layers[i]`):
/// one zero element per element.
pub fn leaf_zeros<D: crate::Differentiable>(x: &D) -> D {
    x.zeros_like()
}

/// The sum of two gradients of a struct leaf (or of a collection of them).
pub fn leaf_add<D: crate::Differentiable + Clone>(a: &D, b: &D) -> D {
    let mut out = a.clone();
    out.scaled_add(lit(1.0), b);
    out
}

/// An element read `self.layers[i]` of a struct leaf in a loop: a float is copied
/// (`ElemFloat`), anything else borrowed (`ElemRef`). Called as `(&&Elem(&x[i])).elem()`
/// (autoref specialization: the impl on `&Elem` wins where it applies).
pub struct Elem<'a, D>(pub &'a D);

/// `Elem` of a float: the value.
pub trait ElemFloat {
    type Out;
    fn elem(&self) -> Self::Out;
}

impl<T: Float> ElemFloat for &Elem<'_, T> {
    type Out = T;
    #[inline(always)]
    fn elem(&self) -> T {
        *self.0
    }
}

/// `Elem` of any other value: a reference.
pub trait ElemRef<'a> {
    type Out;
    fn elem(&self) -> Self::Out;
}

impl<'a, D> ElemRef<'a> for Elem<'a, D> {
    type Out = &'a D;
    #[inline(always)]
    fn elem(&self) -> &'a D {
        self.0
    }
}

/// `acc[i] += g` for the gradient of an element read `self.layers[i]` in a loop.
#[track_caller]
pub fn leaf_add_at<D: crate::Differentiable, C: core::ops::IndexMut<usize, Output = D> + ?Sized>(
    acc: &mut C,
    i: usize,
    g: &D,
) {
    acc[i].scaled_add(lit(1.0), g);
}

/// Whether a `#[differentiable]` method differentiates one of its parameters, as a type.
pub struct Wrt<const D: bool>;

/// Implemented by no type: the bound of a forward-mode item (`_jvp`, `_hvp`, `_jacobian`)
/// that a struct model's body cannot have, so that calling it is a compile error.
#[diagnostic::on_unimplemented(
    message = "this forward-mode item is not available for this #[differentiable] method or function",
    label = "not available here",
    note = "a body differentiating a struct gets `_jvp`, `_hvp` and `_jacobian` when it calls no differentiable function or method with differentiated arguments (and `_jacobian` for a float result); use `_grad` or `_vjp`"
)]
pub trait ForwardUnavailable {}

/// Implemented by no type: the bound of the `_hessian` of a method differentiating only its
/// float arguments whose body has a loop or a call, so that calling it is a compile error.
#[diagnostic::on_unimplemented(
    message = "this `_hessian` is not available for this #[differentiable] method",
    label = "not available here",
    note = "a method differentiating only its float arguments (`wrt(x)`) gets `_hessian` when its body has no loop and no call of a differentiable function; use `_hvp` once per direction"
)]
pub trait HessianUnavailable {}

/// Implemented by `Wrt<true>` only.
#[diagnostic::on_unimplemented(
    message = "this argument depends on a differentiated value, but the method called does not differentiate that parameter",
    label = "differentiated argument",
    note = "add the parameter to the method's `wrt(..)`, or pass a constant"
)]
pub trait Differentiated {}

impl Differentiated for Wrt<true> {}

/// Compiles only for `Wrt<true>`.
#[inline(always)]
pub fn require_differentiated<W: Differentiated>(_: W) {}

/// A traced value of a type the macro does not know (in a body with struct leaves): a float or
/// a tensor is recorded as usual, anything else (a struct) as a node with empty value and
/// gradient. Called as `(&&TraceAny(value, grad)).node(..)` (autoref specialization).
pub struct TraceAny<'a, V: ?Sized, G: ?Sized>(pub &'a V, pub Option<&'a G>);

/// `TraceAny` of a float or a tensor.
pub trait TraceTensor<T: Float> {
    fn node(
        &self,
        trace: &mut crate::Trace<T>,
        name: &str,
        op: &'static str,
        inputs: &[usize],
        kind: crate::NodeKind,
    ) -> usize;
}

impl<V: ToTensor, G: ToTensor<Elem = V::Elem>> TraceTensor<V::Elem> for &TraceAny<'_, V, G> {
    fn node(
        &self,
        trace: &mut crate::Trace<V::Elem>,
        name: &str,
        op: &'static str,
        inputs: &[usize],
        kind: crate::NodeKind,
    ) -> usize {
        trace_node(trace, name, op, inputs, kind, self.0, self.1)
    }
}

/// `TraceAny` of any other value.
pub trait TraceOther<T: Float> {
    fn node(
        &self,
        trace: &mut crate::Trace<T>,
        name: &str,
        op: &'static str,
        inputs: &[usize],
        kind: crate::NodeKind,
    ) -> usize;
}

impl<T: Float, V: ?Sized, G: ?Sized> TraceOther<T> for TraceAny<'_, V, G> {
    fn node(
        &self,
        trace: &mut crate::Trace<T>,
        name: &str,
        op: &'static str,
        inputs: &[usize],
        kind: crate::NodeKind,
    ) -> usize {
        trace.push(crate::TraceNode {
            name: name.to_string(),
            op,
            inputs: inputs.to_vec(),
            kind,
            value: Tensor::zeros(&[0]),
            grad: Tensor::zeros(&[0]),
        })
    }
}
