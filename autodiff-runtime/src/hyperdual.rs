//! Hyper-dual numbers: `v + a·ε₁ + b·ε₂ + ab·ε₁ε₂` with ε₁² = ε₂² = 0. Evaluating a function
//! on `x + ε₁eᵢ + ε₂eⱼ` gives ∂²f/∂xᵢ∂xⱼ exactly in the ε₁ε₂ part. The generated `f_hessian`
//! uses them for bodies with loops, whose backward pass has no second-order rule: the forward
//! code is run again on hyper-dual numbers, loops and all.

use std::cmp::Ordering;
use std::num::FpCategory;
use std::ops::{Add, Div, Mul, Neg, Rem, Sub};

use num_traits::{Float, Num, NumCast, One, ToPrimitive, Zero};

/// A hyper-dual number over the float type `T`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HyperDual<T> {
    /// The value.
    pub v: T,
    /// The derivative along ε₁.
    pub a: T,
    /// The derivative along ε₂.
    pub b: T,
    /// The second derivative along ε₁ and ε₂.
    pub ab: T,
}

impl<T: Float> HyperDual<T> {
    /// A constant: all derivatives zero.
    pub fn constant(v: T) -> Self {
        HyperDual {
            v,
            a: T::zero(),
            b: T::zero(),
            ab: T::zero(),
        }
    }

    /// A variable moving along ε₁ (`first`) and/or ε₂ (`second`).
    pub fn variable(v: T, first: bool, second: bool) -> Self {
        let one = |on: bool| if on { T::one() } else { T::zero() };
        HyperDual {
            v,
            a: one(first),
            b: one(second),
            ab: T::zero(),
        }
    }

    /// `f(self)` given f(v), f'(v) and f''(v).
    #[inline]
    fn chain(self, f: T, d1: T, d2: T) -> Self {
        HyperDual {
            v: f,
            a: d1 * self.a,
            b: d1 * self.b,
            ab: d1 * self.ab + d2 * self.a * self.b,
        }
    }
}

impl<T: Float> Add for HyperDual<T> {
    type Output = Self;
    #[inline]
    fn add(self, o: Self) -> Self {
        HyperDual {
            v: self.v + o.v,
            a: self.a + o.a,
            b: self.b + o.b,
            ab: self.ab + o.ab,
        }
    }
}

impl<T: Float> Sub for HyperDual<T> {
    type Output = Self;
    #[inline]
    fn sub(self, o: Self) -> Self {
        HyperDual {
            v: self.v - o.v,
            a: self.a - o.a,
            b: self.b - o.b,
            ab: self.ab - o.ab,
        }
    }
}

impl<T: Float> Mul for HyperDual<T> {
    type Output = Self;
    #[inline]
    fn mul(self, o: Self) -> Self {
        HyperDual {
            v: self.v * o.v,
            a: self.a * o.v + self.v * o.a,
            b: self.b * o.v + self.v * o.b,
            ab: self.ab * o.v + self.a * o.b + self.b * o.a + self.v * o.ab,
        }
    }
}

impl<T: Float> Div for HyperDual<T> {
    type Output = Self;
    #[inline]
    #[allow(clippy::suspicious_arithmetic_impl)] // a / b = a · (1/b), with 1/b's own derivatives
    fn div(self, o: Self) -> Self {
        self * o.recip()
    }
}

impl<T: Float> Rem for HyperDual<T> {
    type Output = Self;
    fn rem(self, o: Self) -> Self {
        self - o * (self / o).trunc()
    }
}

impl<T: Float> Neg for HyperDual<T> {
    type Output = Self;
    #[inline]
    fn neg(self) -> Self {
        HyperDual {
            v: -self.v,
            a: -self.a,
            b: -self.b,
            ab: -self.ab,
        }
    }
}

/// Mixed arithmetic with plain floats (data read from slices, `n as f64`), both ways.
macro_rules! mixed {
    ($($t:ty),*) => {$(
        impl Add<$t> for HyperDual<$t> { type Output = Self; #[inline] fn add(self, o: $t) -> Self { self + HyperDual::constant(o) } }
        impl Sub<$t> for HyperDual<$t> { type Output = Self; #[inline] fn sub(self, o: $t) -> Self { self - HyperDual::constant(o) } }
        impl Mul<$t> for HyperDual<$t> { type Output = Self; #[inline] fn mul(self, o: $t) -> Self { self * HyperDual::constant(o) } }
        impl Div<$t> for HyperDual<$t> { type Output = Self; #[inline] fn div(self, o: $t) -> Self { self / HyperDual::constant(o) } }
        impl Add<HyperDual<$t>> for $t { type Output = HyperDual<$t>; #[inline] fn add(self, o: HyperDual<$t>) -> HyperDual<$t> { HyperDual::constant(self) + o } }
        impl Sub<HyperDual<$t>> for $t { type Output = HyperDual<$t>; #[inline] fn sub(self, o: HyperDual<$t>) -> HyperDual<$t> { HyperDual::constant(self) - o } }
        impl Mul<HyperDual<$t>> for $t { type Output = HyperDual<$t>; #[inline] fn mul(self, o: HyperDual<$t>) -> HyperDual<$t> { HyperDual::constant(self) * o } }
        impl Div<HyperDual<$t>> for $t { type Output = HyperDual<$t>; #[inline] fn div(self, o: HyperDual<$t>) -> HyperDual<$t> { HyperDual::constant(self) / o } }
        impl PartialEq<$t> for HyperDual<$t> { fn eq(&self, o: &$t) -> bool { self.v == *o } }
        impl PartialOrd<$t> for HyperDual<$t> { fn partial_cmp(&self, o: &$t) -> Option<Ordering> { self.v.partial_cmp(o) } }
        impl PartialEq<HyperDual<$t>> for $t { fn eq(&self, o: &HyperDual<$t>) -> bool { *self == o.v } }
        impl PartialOrd<HyperDual<$t>> for $t { fn partial_cmp(&self, o: &HyperDual<$t>) -> Option<Ordering> { self.partial_cmp(&o.v) } }
    )*};
}
mixed!(f32, f64);

impl<T: Float> PartialOrd for HyperDual<T> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        self.v.partial_cmp(&o.v)
    }
}

impl<T: Float> Zero for HyperDual<T> {
    fn zero() -> Self {
        HyperDual::constant(T::zero())
    }
    fn is_zero(&self) -> bool {
        self.v.is_zero() && self.a.is_zero() && self.b.is_zero() && self.ab.is_zero()
    }
}

impl<T: Float> One for HyperDual<T> {
    fn one() -> Self {
        HyperDual::constant(T::one())
    }
}

impl<T: Float> Num for HyperDual<T> {
    type FromStrRadixErr = T::FromStrRadixErr;
    fn from_str_radix(s: &str, radix: u32) -> Result<Self, Self::FromStrRadixErr> {
        T::from_str_radix(s, radix).map(HyperDual::constant)
    }
}

impl<T: Float> ToPrimitive for HyperDual<T> {
    fn to_i64(&self) -> Option<i64> {
        self.v.to_i64()
    }
    fn to_u64(&self) -> Option<u64> {
        self.v.to_u64()
    }
    fn to_f64(&self) -> Option<f64> {
        self.v.to_f64()
    }
}

impl<T: Float> NumCast for HyperDual<T> {
    fn from<N: ToPrimitive>(n: N) -> Option<Self> {
        <T as NumCast>::from(n).map(HyperDual::constant)
    }
}

macro_rules! constant_fns {
    ($($name:ident),*) => {$(
        fn $name() -> Self {
            HyperDual::constant(T::$name())
        }
    )*};
}

macro_rules! value_predicates {
    ($($name:ident),*) => {$(
        fn $name(self) -> bool {
            self.v.$name()
        }
    )*};
}

/// Piecewise-constant functions: derivative zero.
macro_rules! flat {
    ($($name:ident),*) => {$(
        fn $name(self) -> Self {
            HyperDual::constant(self.v.$name())
        }
    )*};
}

impl<T: Float> Float for HyperDual<T> {
    constant_fns!(
        nan,
        infinity,
        neg_infinity,
        neg_zero,
        min_value,
        min_positive_value,
        max_value,
        epsilon
    );
    value_predicates!(
        is_nan,
        is_infinite,
        is_finite,
        is_normal,
        is_sign_positive,
        is_sign_negative
    );
    flat!(floor, ceil, round, trunc, signum);

    fn classify(self) -> FpCategory {
        self.v.classify()
    }
    fn fract(self) -> Self {
        self - self.trunc()
    }
    fn abs(self) -> Self {
        if self.v < T::zero() {
            -self
        } else if self.v > T::zero() {
            self
        } else {
            // The minimum-norm subgradient at the kink.
            self.chain(self.v.abs(), T::zero(), T::zero())
        }
    }
    fn mul_add(self, a: Self, b: Self) -> Self {
        self * a + b
    }
    fn recip(self) -> Self {
        let r = self.v.recip();
        self.chain(r, -r * r, (T::one() + T::one()) * r * r * r)
    }
    fn powi(self, n: i32) -> Self {
        let nf = T::from(n).expect("an i32 converts to a float");
        match n {
            0 => Self::one(),
            1 => self,
            _ => self.chain(
                self.v.powi(n),
                nf * self.v.powi(n - 1),
                nf * (nf - T::one()) * self.v.powi(n - 2),
            ),
        }
    }
    fn powf(self, n: Self) -> Self {
        if n.a.is_zero() && n.b.is_zero() && n.ab.is_zero() {
            let c = n.v;
            // x^0 and x^1 have no second (x^0 no first) derivative, also at x = 0.
            if c.is_zero() {
                return Self::one();
            }
            if c == T::one() {
                return self;
            }
            return self.chain(
                self.v.powf(c),
                c * self.v.powf(c - T::one()),
                c * (c - T::one()) * self.v.powf(c - T::one() - T::one()),
            );
        }
        (n * self.ln()).exp()
    }
    fn sqrt(self) -> Self {
        let s = self.v.sqrt();
        let two = T::one() + T::one();
        self.chain(s, (two * s).recip(), -(two * two * s * self.v).recip())
    }
    fn exp(self) -> Self {
        let e = self.v.exp();
        self.chain(e, e, e)
    }
    fn exp2(self) -> Self {
        let e = self.v.exp2();
        let l = T::from(std::f64::consts::LN_2).expect("ln 2 converts");
        self.chain(e, e * l, e * l * l)
    }
    fn ln(self) -> Self {
        let r = self.v.recip();
        self.chain(self.v.ln(), r, -r * r)
    }
    fn log(self, base: Self) -> Self {
        self.ln() / base.ln()
    }
    fn log2(self) -> Self {
        self.ln() / HyperDual::constant(T::from(std::f64::consts::LN_2).expect("ln 2 converts"))
    }
    fn log10(self) -> Self {
        self.ln() / HyperDual::constant(T::from(std::f64::consts::LN_10).expect("ln 10 converts"))
    }
    fn max(self, o: Self) -> Self {
        if self.v >= o.v {
            self
        } else {
            o
        }
    }
    fn min(self, o: Self) -> Self {
        if self.v <= o.v {
            self
        } else {
            o
        }
    }
    fn abs_sub(self, o: Self) -> Self {
        if self.v > o.v {
            self - o
        } else {
            Self::zero()
        }
    }
    fn cbrt(self) -> Self {
        let c = self.v.cbrt();
        let three = T::one() + T::one() + T::one();
        let d1 = (three * c * c).recip();
        self.chain(c, d1, -(T::one() + T::one()) * d1 / (three * self.v))
    }
    fn hypot(self, o: Self) -> Self {
        (self * self + o * o).sqrt()
    }
    fn sin(self) -> Self {
        let (s, c) = self.v.sin_cos();
        self.chain(s, c, -s)
    }
    fn cos(self) -> Self {
        let (s, c) = self.v.sin_cos();
        self.chain(c, -s, -c)
    }
    fn tan(self) -> Self {
        let t = self.v.tan();
        let d1 = T::one() + t * t;
        self.chain(t, d1, (T::one() + T::one()) * t * d1)
    }
    fn asin(self) -> Self {
        let q = T::one() - self.v * self.v;
        let d1 = q.sqrt().recip();
        self.chain(self.v.asin(), d1, self.v * d1 / q)
    }
    fn acos(self) -> Self {
        let q = T::one() - self.v * self.v;
        let d1 = -q.sqrt().recip();
        self.chain(self.v.acos(), d1, self.v * d1 / q)
    }
    fn atan(self) -> Self {
        let q = T::one() + self.v * self.v;
        self.chain(
            self.v.atan(),
            q.recip(),
            -(T::one() + T::one()) * self.v / (q * q),
        )
    }
    fn atan2(self, o: Self) -> Self {
        // atan(y/x) has the derivatives of atan2(y, x); only the value needs the quadrant.
        let local = (self / o).atan();
        HyperDual {
            v: self.v.atan2(o.v),
            ..local
        }
    }
    fn sin_cos(self) -> (Self, Self) {
        (self.sin(), self.cos())
    }
    fn exp_m1(self) -> Self {
        let e = self.v.exp();
        self.chain(self.v.exp_m1(), e, e)
    }
    fn ln_1p(self) -> Self {
        let r = (T::one() + self.v).recip();
        self.chain(self.v.ln_1p(), r, -r * r)
    }
    fn sinh(self) -> Self {
        let (s, c) = (self.v.sinh(), self.v.cosh());
        self.chain(s, c, s)
    }
    fn cosh(self) -> Self {
        let (s, c) = (self.v.sinh(), self.v.cosh());
        self.chain(c, s, c)
    }
    fn tanh(self) -> Self {
        let t = self.v.tanh();
        let d1 = T::one() - t * t;
        self.chain(t, d1, -(T::one() + T::one()) * t * d1)
    }
    fn asinh(self) -> Self {
        let q = self.v * self.v + T::one();
        let d1 = q.sqrt().recip();
        self.chain(self.v.asinh(), d1, -self.v * d1 / q)
    }
    fn acosh(self) -> Self {
        let q = self.v * self.v - T::one();
        let d1 = q.sqrt().recip();
        self.chain(self.v.acosh(), d1, -self.v * d1 / q)
    }
    fn atanh(self) -> Self {
        let q = T::one() - self.v * self.v;
        self.chain(
            self.v.atanh(),
            q.recip(),
            (T::one() + T::one()) * self.v / (q * q),
        )
    }
    fn integer_decode(self) -> (u64, i16, i8) {
        self.v.integer_decode()
    }
}

/// An argument of a call in code written over hyper-dual numbers, converted into the type of
/// the callee's parameter: a hyper-dual number stays one where the callee differentiates the
/// parameter, and a constant becomes its value where the callee does not.
#[doc(hidden)]
pub trait DualArg<Target> {
    /// `self` as a `Target`.
    fn dual_arg(self) -> Target;
}

impl<X> DualArg<X> for X {
    #[inline]
    fn dual_arg(self) -> X {
        self
    }
}

impl<T: Float> DualArg<T> for HyperDual<T> {
    /// Only constants go into a slot that is not differentiated (callers check it at compile
    /// time), so nothing is lost.
    #[inline]
    fn dual_arg(self) -> T {
        self.v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ∂²f/∂x∂y by hyper-dual evaluation.
    fn second<F: Fn(HyperDual<f64>, HyperDual<f64>) -> HyperDual<f64>>(
        f: F,
        x: f64,
        y: f64,
        i: usize,
        j: usize,
    ) -> f64 {
        let hx = HyperDual::variable(x, i == 0, j == 0);
        let hy = HyperDual::variable(y, i == 1, j == 1);
        f(hx, hy).ab
    }

    #[test]
    fn rosenbrock_hessian_at_the_minimum() {
        let f = |x: HyperDual<f64>, y: HyperDual<f64>| {
            (1.0 - x).powi(2) + 100.0 * (y - x.powi(2)).powi(2)
        };
        assert_eq!(second(f, 1.0, 1.0, 0, 0), 802.0);
        assert_eq!(second(f, 1.0, 1.0, 0, 1), -400.0);
        assert_eq!(second(f, 1.0, 1.0, 1, 1), 200.0);
    }

    #[test]
    fn elementary_functions_against_closed_forms() {
        let x = 0.7;
        let d2 = |f: fn(HyperDual<f64>) -> HyperDual<f64>| f(HyperDual::variable(x, true, true)).ab;
        assert!((d2(|u| u.sin()) + x.sin()).abs() < 1e-15);
        assert!((d2(|u| u.exp()) - x.exp()).abs() < 1e-15);
        assert!((d2(|u| u.ln()) + 1.0 / (x * x)).abs() < 1e-14);
        assert!((d2(|u| u.sqrt()) + 0.25 * x.powf(-1.5)).abs() < 1e-14);
        assert!((d2(|u| u.tanh()) + 2.0 * x.tanh() * (1.0 - x.tanh().powi(2))).abs() < 1e-14);
        assert!((d2(|u| u.atan()) + 2.0 * x / (1.0 + x * x).powi(2)).abs() < 1e-14);
        assert!((d2(|u| u.powf(HyperDual::constant(2.5))) - 2.5 * 1.5 * x.powf(0.5)).abs() < 1e-14);
        assert!((d2(|u| u.cbrt()) + 2.0 / 9.0 * x.powf(-5.0 / 3.0)).abs() < 1e-14);
    }

    #[test]
    fn mixed_with_plain_floats() {
        let x = HyperDual::<f64>::variable(3.0, true, true);
        let y = 2.0 * x * x + 1.0 - x / 2.0;
        assert_eq!((y.v, y.a, y.ab), (17.5, 11.5, 4.0));
        assert!(x > 2.0 && 4.0 > x);
    }
}
