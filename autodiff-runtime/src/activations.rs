//! `Activations`: `sigmoid`, `relu` and `softplus` on floats, in numerically stable form.

use num_traits::Float;

/// Neural-network activations as methods on floats (`x.sigmoid()`), matching the
/// element-wise methods of the same name on `Tensor`.
///
/// Implemented for every `T: num_traits::Float`; all three are stable for large `|x|`.
///
/// ```
/// use autodiff_runtime::Activations;
///
/// assert_eq!(0.0_f64.sigmoid(), 0.5);
/// assert_eq!((-1000.0_f64).sigmoid(), 0.0);
/// assert_eq!((-2.0_f32).relu(), 0.0);
/// assert_eq!(1000.0_f64.softplus(), 1000.0);
/// assert!((0.0_f64.softplus() - 2f64.ln()).abs() < 1e-15);
/// ```
pub trait Activations: Sized {
    /// The logistic function `1 / (1 + e^-x)`.
    ///
    /// ```
    /// use autodiff_runtime::Activations;
    ///
    /// assert_eq!(0.0_f64.sigmoid(), 0.5);
    /// assert!((2.0_f64.sigmoid() - 1. / (1. + (-2.0_f64).exp())).abs() < 1e-16);
    /// ```
    fn sigmoid(self) -> Self;

    /// The rectifier `max(x, 0)`; NaN stays NaN.
    ///
    /// ```
    /// use autodiff_runtime::Activations;
    ///
    /// assert_eq!(3.0_f64.relu(), 3.0);
    /// assert_eq!((-3.0_f64).relu(), 0.0);
    /// assert!(f64::NAN.relu().is_nan());
    /// ```
    fn relu(self) -> Self;

    /// The smooth rectifier `ln(1 + e^x)`.
    ///
    /// ```
    /// use autodiff_runtime::Activations;
    ///
    /// assert!((1.0_f64.softplus() - 1f64.exp().ln_1p()).abs() < 1e-15);
    /// assert_eq!((-1000.0_f64).softplus(), 0.0);
    /// ```
    fn softplus(self) -> Self;
}

impl<T: Float> Activations for T {
    fn sigmoid(self) -> T {
        sigmoid(self)
    }

    fn relu(self) -> T {
        relu(self)
    }

    fn softplus(self) -> T {
        softplus(self)
    }
}

/// `1 / (1 + e^-x)`, evaluated so that `exp` never overflows.
pub(crate) fn sigmoid<T: Float>(x: T) -> T {
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

/// `max(x, 0)`, propagating NaN.
pub(crate) fn relu<T: Float>(x: T) -> T {
    if x > T::zero() || x.is_nan() {
        x
    } else {
        T::zero()
    }
}

/// `ln(1 + e^x)` as `max(x, 0) + ln(1 + e^-|x|)`, so that `exp` never overflows.
pub(crate) fn softplus<T: Float>(x: T) -> T {
    x.max(T::zero()) + (-x.abs()).exp().ln_1p()
}

#[cfg(test)]
mod tests {
    use super::Activations;

    #[test]
    fn sigmoid() {
        assert_eq!(0.0_f64.sigmoid(), 0.5);
        for x in [-30.0_f64, -2.5, -0.1, 0.1, 2.5, 30.] {
            let naive = 1. / (1. + (-x).exp());
            assert!((x.sigmoid() - naive).abs() <= 1e-16, "{x}");
        }
        assert_eq!(1000.0_f64.sigmoid(), 1.0);
        assert_eq!((-1000.0_f64).sigmoid(), 0.0);
        assert_eq!(f64::INFINITY.sigmoid(), 1.0);
        assert_eq!(f64::NEG_INFINITY.sigmoid(), 0.0);
        assert!(f64::NAN.sigmoid().is_nan());
        assert!(((-100.0_f32).sigmoid() - (-100.0_f32).exp()).abs() < 1e-45);
    }

    #[test]
    fn relu() {
        assert_eq!(2.0_f64.relu(), 2.0);
        assert_eq!((-2.0_f64).relu(), 0.0);
        assert_eq!(0.0_f32.relu(), 0.0);
        assert!((-0.0_f64).relu().is_sign_positive());
        assert!(f32::NAN.relu().is_nan());
        assert_eq!(f64::NEG_INFINITY.relu(), 0.0);
    }

    #[test]
    fn softplus() {
        for x in [-20.0_f64, -1., 0., 1., 20.] {
            assert!((x.softplus() - x.exp().ln_1p()).abs() < 1e-14, "{x}");
        }
        assert_eq!(1000.0_f64.softplus(), 1000.0);
        assert_eq!((-1000.0_f64).softplus(), 0.0);
        assert_eq!(f64::INFINITY.softplus(), f64::INFINITY);
        assert_eq!(f64::NEG_INFINITY.softplus(), 0.0);
        assert!(f64::NAN.softplus().is_nan());
        assert_eq!(100.0_f32.softplus(), 100.0);
    }
}
