//! Arithmetic: `+ - * /` and their `try_*` forms (one macro row per operator), `Neg`,
//! the compound assignments, and the element-wise math methods.

use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use num_traits::Float;

use crate::activations;
use crate::shape::broadcasts_to;
use crate::{ShapeError, Tensor};

/// One row per operator: `try_*`, the tensor-tensor impls for owned and borrowed
/// operands (all forwarding to the `try_*` kernel), tensor-scalar impls, scalar-tensor
/// impls for `f32` and `f64`, and the compound assignments.
macro_rules! binary_op {
    ($Op:ident, $op:ident, $try_op:ident, $OpAssign:ident, $op_assign:ident, $sym:tt, $what:literal, $example:literal) => {
        impl<T: Float> Tensor<T> {
            #[doc = concat!("Element-wise ", $what, " (`", stringify!($sym), "`) with NumPy broadcasting,")]
            /// returning an error instead of panicking.
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
            #[doc = concat!("let z = x.", stringify!($try_op), "(&y).unwrap();")]
            #[doc = concat!("assert_eq!(z, ", $example, ");")]
            ///
            #[doc = concat!("let err = x.", stringify!($try_op), "(&tensor![1., 2.]).unwrap_err();")]
            #[doc = concat!("assert_eq!(err.to_string(), \"cannot broadcast shapes [3] and [2] for `", stringify!($op), "`\");")]
            /// ```
            pub fn $try_op(&self, rhs: &Tensor<T>) -> Result<Tensor<T>, ShapeError> {
                // SAFETY: an arithmetic operator, a pure function.
                unsafe { self.zip_map_pure(rhs, stringify!($op), |a, b| a $sym b) }
            }
        }

        #[doc = concat!("Element-wise ", $what, " with NumPy broadcasting.")]
        ///
        /// # Panics
        ///
        /// If the shapes do not broadcast; the message names both shapes.
        impl<T: Float> $Op<&Tensor<T>> for &Tensor<T> {
            type Output = Tensor<T>;

            #[track_caller]
            fn $op(self, rhs: &Tensor<T>) -> Tensor<T> {
                match self.$try_op(rhs) {
                    Ok(t) => t,
                    Err(e) => panic!("{e}"),
                }
            }
        }

        #[doc = concat!("Element-wise ", $what, " with NumPy broadcasting.")]
        ///
        /// # Panics
        ///
        /// If the shapes do not broadcast; the message names both shapes.
        impl<T: Float> $Op<Tensor<T>> for &Tensor<T> {
            type Output = Tensor<T>;

            #[track_caller]
            fn $op(self, rhs: Tensor<T>) -> Tensor<T> {
                self $sym &rhs
            }
        }

        #[doc = concat!("Element-wise ", $what, " with NumPy broadcasting; reuses `self`'s buffer when it can.")]
        ///
        /// # Panics
        ///
        /// If the shapes do not broadcast; the message names both shapes.
        impl<T: Float> $Op<&Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;

            #[track_caller]
            fn $op(mut self, rhs: &Tensor<T>) -> Tensor<T> {
                if broadcasts_to(&rhs.shape, &self.shape) {
                    $OpAssign::$op_assign(&mut self, rhs);
                    self
                } else {
                    &self $sym rhs
                }
            }
        }

        #[doc = concat!("Element-wise ", $what, " with NumPy broadcasting; reuses `self`'s buffer when it can.")]
        ///
        /// # Panics
        ///
        /// If the shapes do not broadcast; the message names both shapes.
        impl<T: Float> $Op<Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;

            #[track_caller]
            fn $op(self, rhs: Tensor<T>) -> Tensor<T> {
                self $sym &rhs
            }
        }

        #[doc = concat!("Element-wise ", $what, " with a scalar, in place.")]
        impl<T: Float> $Op<T> for Tensor<T> {
            type Output = Tensor<T>;

            fn $op(mut self, rhs: T) -> Tensor<T> {
                self.map_assign(|a| a $sym rhs);
                self
            }
        }

        #[doc = concat!("Element-wise ", $what, " with a scalar.")]
        impl<T: Float> $Op<T> for &Tensor<T> {
            type Output = Tensor<T>;

            fn $op(self, rhs: T) -> Tensor<T> {
                // SAFETY: an arithmetic operator, a pure function.
                unsafe { self.map_pure(crate::parallel::PAR_MIN_ARITH, |a| a $sym rhs) }
            }
        }

        scalar_lhs!($Op, $op, $sym, $what, f32);
        scalar_lhs!($Op, $op, $sym, $what, f64);

        #[doc = concat!("In-place element-wise ", $what, ", `rhs` broadcast to `self`'s shape.")]
        ///
        /// # Panics
        ///
        /// If `rhs`'s shape does not broadcast to `self`'s shape; the message names both.
        impl<T: Float> $OpAssign<&Tensor<T>> for Tensor<T> {
            #[track_caller]
            fn $op_assign(&mut self, rhs: &Tensor<T>) {
                match self.try_zip_assign(rhs, stringify!($op_assign), |a, b| a $sym b) {
                    Ok(()) => {}
                    Err(e) => panic!("{e}"),
                }
            }
        }

        #[doc = concat!("In-place element-wise ", $what, ", `rhs` broadcast to `self`'s shape.")]
        ///
        /// # Panics
        ///
        /// If `rhs`'s shape does not broadcast to `self`'s shape; the message names both.
        impl<T: Float> $OpAssign<Tensor<T>> for Tensor<T> {
            #[track_caller]
            fn $op_assign(&mut self, rhs: Tensor<T>) {
                $OpAssign::$op_assign(self, &rhs);
            }
        }

        #[doc = concat!("In-place element-wise ", $what, " with a scalar.")]
        impl<T: Float> $OpAssign<T> for Tensor<T> {
            fn $op_assign(&mut self, rhs: T) {
                self.map_assign(|a| a $sym rhs);
            }
        }
    };
}

/// Scalar on the left, for one concrete float type: coherence forbids
/// `impl<T> Add<Tensor<T>> for T`.
macro_rules! scalar_lhs {
    ($Op:ident, $op:ident, $sym:tt, $what:literal, $f:ty) => {
        #[doc = concat!("Element-wise ", $what, " of a scalar and a tensor, in place.")]
        impl $Op<Tensor<$f>> for $f {
            type Output = Tensor<$f>;

            fn $op(self, mut rhs: Tensor<$f>) -> Tensor<$f> {
                rhs.map_assign(|b| self $sym b);
                rhs
            }
        }

        #[doc = concat!("Element-wise ", $what, " of a scalar and a tensor.")]
        impl $Op<&Tensor<$f>> for $f {
            type Output = Tensor<$f>;

            fn $op(self, rhs: &Tensor<$f>) -> Tensor<$f> {
                // SAFETY: an arithmetic operator, a pure function.
                unsafe { rhs.map_pure(crate::parallel::PAR_MIN_ARITH, |b| self $sym b) }
            }
        }
    };
}

binary_op!(Add, add, try_add, AddAssign, add_assign, +, "addition", "tensor![[5., 6., 7.], [6., 7., 8.]]");
binary_op!(Sub, sub, try_sub, SubAssign, sub_assign, -, "subtraction", "tensor![[-3., -2., -1.], [-4., -3., -2.]]");
binary_op!(Mul, mul, try_mul, MulAssign, mul_assign, *, "multiplication", "tensor![[4., 8., 12.], [5., 10., 15.]]");
binary_op!(Div, div, try_div, DivAssign, div_assign, /, "division", "tensor![[0.25, 0.5, 0.75], [0.2, 0.4, 0.6]]");

/// Element-wise negation, in place.
impl<T: Float> Neg for Tensor<T> {
    type Output = Tensor<T>;

    fn neg(mut self) -> Tensor<T> {
        self.map_assign(|a| -a);
        self
    }
}

/// Element-wise negation.
impl<T: Float> Neg for &Tensor<T> {
    type Output = Tensor<T>;

    fn neg(self) -> Tensor<T> {
        self.map(|a| -a)
    }
}

/// One row per element-wise method that forwards to the `Float` method of the same
/// name: the name, two example inputs, and what it computes.
macro_rules! unary_op {
    ($($name:ident($a:literal, $b:literal) $what:literal;)*) => {
        impl<T: Float> Tensor<T> {
            $(
                #[doc = concat!("Element-wise ", $what, ".")]
                ///
                /// ```
                /// use autodiff_runtime::tensor;
                ///
                #[doc = concat!("let t = tensor![", stringify!($a), ", ", stringify!($b), "];")]
                #[doc = concat!(
                    "assert_eq!(t.", stringify!($name), "().to_vec(), [",
                    stringify!($a), "_f64.", stringify!($name), "(), ",
                    "(", stringify!($b), "_f64).", stringify!($name), "()]);"
                )]
                /// ```
                pub fn $name(&self) -> Tensor<T> {
                    // SAFETY: a float method, a pure function.
                    unsafe { self.map_pure(crate::parallel::PAR_MIN, T::$name) }
                }
            )*
        }
    };
}

unary_op! {
    sqrt(0.5, 4.0) "square root";
    cbrt(-8.0, 0.5) "cube root";
    exp(0.5, -2.0) "exponential `e^x`";
    exp2(0.5, -2.0) "power of two `2^x`";
    exp_m1(1e-10, -2.0) "`e^x - 1`, accurate near 0";
    ln(0.5, 4.0) "natural logarithm";
    ln_1p(1e-10, 4.0) "`ln(1 + x)`, accurate near 0";
    log2(0.5, 4.0) "base-2 logarithm";
    log10(0.5, 4.0) "base-10 logarithm";
    sin(0.5, -2.0) "sine (radians)";
    cos(0.5, -2.0) "cosine (radians)";
    tan(0.5, -2.0) "tangent (radians)";
    asin(0.5, -0.25) "arcsine";
    acos(0.5, -0.25) "arccosine";
    atan(0.5, -2.0) "arctangent";
    sinh(0.5, -2.0) "hyperbolic sine";
    cosh(0.5, -2.0) "hyperbolic cosine";
    tanh(0.5, -2.0) "hyperbolic tangent";
    asinh(0.5, -2.0) "inverse hyperbolic sine";
    acosh(1.5, 4.0) "inverse hyperbolic cosine";
    atanh(0.5, -0.25) "inverse hyperbolic tangent";
    abs(0.5, -2.0) "absolute value";
    signum(0.5, -2.0) "sign (`1`, `-1`, or NaN for NaN; `0.` counts as positive)";
    recip(0.5, -2.0) "reciprocal `1 / x`";
    floor(1.5, -2.5) "largest integer less than or equal to `x`";
    ceil(1.5, -2.5) "smallest integer greater than or equal to `x`";
    round(1.5, -2.5) "nearest integer, halfway cases away from zero";
    trunc(1.5, -2.5) "integer part";
}

impl<T: Float> Tensor<T> {
    /// Element-wise logistic sigmoid `1 / (1 + e^-x)`, stable for large `|x|`.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let t = tensor![0., 1000., -1000.];
    /// assert_eq!(t.sigmoid().to_vec(), [0.5, 1., 0.]);
    /// ```
    pub fn sigmoid(&self) -> Tensor<T> {
        // SAFETY: a pure function.
        unsafe { self.map_pure(crate::parallel::PAR_MIN, activations::sigmoid) }
    }

    /// Element-wise rectifier `max(x, 0)`; NaN stays NaN.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let t = tensor![-1., 0., 2.];
    /// assert_eq!(t.relu().to_vec(), [0., 0., 2.]);
    /// ```
    pub fn relu(&self) -> Tensor<T> {
        // SAFETY: a pure function.
        unsafe { self.map_pure(crate::parallel::PAR_MIN, activations::relu) }
    }

    /// Element-wise softplus `ln(1 + e^x)`, stable for large `|x|`.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let t = tensor![0., 1000., -1000.];
    /// assert_eq!(t.softplus().to_vec(), [2f64.ln(), 1000., 0.]);
    /// ```
    pub fn softplus(&self) -> Tensor<T> {
        // SAFETY: a pure function.
        unsafe { self.map_pure(crate::parallel::PAR_MIN, activations::softplus) }
    }

    /// Element-wise integer power `x^n`.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let t = tensor![1., 2., -3.];
    /// assert_eq!(t.powi(3).to_vec(), [1., 8., -27.]);
    /// assert_eq!(t.powi(-1).to_vec(), [1., 0.5, -1. / 3.]);
    /// ```
    pub fn powi(&self, n: i32) -> Tensor<T> {
        self.map(|x| x.powi(n))
    }

    /// Element-wise float power `x^e`.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let t = tensor![4., 9.];
    /// assert_eq!(t.powf(0.5).to_vec(), [2., 3.]);
    /// ```
    pub fn powf(&self, e: T) -> Tensor<T> {
        self.map(|x| x.powf(e))
    }

    /// Element-wise logarithm in the given base.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let t = tensor![8., 0.5];
    /// assert_eq!(t.log(2.).to_vec(), [8f64.log(2.), 0.5f64.log(2.)]);
    /// ```
    pub fn log(&self, base: T) -> Tensor<T> {
        self.map(|x| x.log(base))
    }

    /// Element-wise maximum with a scalar (`Float::max`: a NaN operand is ignored).
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let t = tensor![-1., 0.5, 2.];
    /// assert_eq!(t.max(1.).to_vec(), [1., 1., 2.]);
    /// ```
    pub fn max(&self, other: T) -> Tensor<T> {
        self.map(|x| x.max(other))
    }

    /// Element-wise minimum with a scalar (`Float::min`: a NaN operand is ignored).
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let t = tensor![-1., 0.5, 2.];
    /// assert_eq!(t.min(1.).to_vec(), [-1., 0.5, 1.]);
    /// ```
    pub fn min(&self, other: T) -> Tensor<T> {
        self.map(|x| x.min(other))
    }

    /// Element-wise clamp to `[lo, hi]`; NaN stays NaN.
    ///
    /// # Panics
    ///
    /// If `lo > hi` or either bound is NaN.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let t = tensor![-2., 0.5, 3.];
    /// assert_eq!(t.clamp(0., 1.).to_vec(), [0., 0.5, 1.]);
    /// ```
    #[track_caller]
    pub fn clamp(&self, lo: T, hi: T) -> Tensor<T> {
        assert!(lo <= hi, "`clamp` needs lo <= hi, neither of them NaN");
        self.map(|x| {
            if x < lo {
                lo
            } else if x > hi {
                hi
            } else {
                x
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::tensor;
    use crate::{ShapeError, Tensor};
    use std::ops::AddAssign;
    use std::panic::{catch_unwind, AssertUnwindSafe};

    fn panic_text(f: impl FnOnce()) -> String {
        let payload = catch_unwind(AssertUnwindSafe(f)).unwrap_err();
        match payload.downcast::<String>() {
            Ok(s) => *s,
            Err(p) => p.downcast::<&str>().unwrap().to_string(),
        }
    }

    #[test]
    fn tensor_tensor_all_forms() {
        let x = tensor![1., 2., 3.];
        let y = tensor![[4.], [5.]];
        let sum = tensor![[5., 6., 7.], [6., 7., 8.]];
        assert_eq!(&x + &y, sum);
        assert_eq!(&x + y.clone(), sum);
        assert_eq!(x.clone() + &y, sum);
        assert_eq!(x.clone() + y.clone(), sum);
        // owned lhs whose shape is the result's: computed in place
        assert_eq!(sum.clone() + &x, tensor![[6., 8., 10.], [7., 9., 11.]]);

        assert_eq!(&x - &y, tensor![[-3., -2., -1.], [-4., -3., -2.]]);
        assert_eq!(&y - &x, tensor![[3., 2., 1.], [4., 3., 2.]]);
        assert_eq!(y.clone() - x.clone(), tensor![[3., 2., 1.], [4., 3., 2.]]);
        assert_eq!(&x * &y, tensor![[4., 8., 12.], [5., 10., 15.]]);
        assert_eq!(
            x.clone() * y.clone(),
            tensor![[4., 8., 12.], [5., 10., 15.]]
        );
        assert_eq!(&x / &y, tensor![[0.25, 0.5, 0.75], [0.2, 0.4, 0.6]]);
        assert_eq!(
            &y / x.clone(),
            tensor![[4., 2., 4. / 3.], [5., 2.5, 5. / 3.]]
        );

        // the notebook's broadcasting example: z = x*y + y**2, sum 177
        let z = &x * &y + y.powi(2);
        assert_eq!(z, tensor![[20., 24., 28.], [30., 35., 40.]]);
        assert_eq!(z.sum(), 177.);

        // 0-d with anything
        let s = Tensor::scalar(10.);
        assert_eq!(&s * &y, tensor![[40.], [50.]]);
        assert_eq!((&s - &s).shape(), [0usize; 0]);
    }

    #[test]
    fn scalars_both_sides() {
        let x = tensor![1., 2., 4.];
        assert_eq!(&x + 1., tensor![2., 3., 5.]);
        assert_eq!(x.clone() - 1., tensor![0., 1., 3.]);
        assert_eq!(&x * 2., tensor![2., 4., 8.]);
        assert_eq!(&x / 2., tensor![0.5, 1., 2.]);
        assert_eq!(1. + &x, tensor![2., 3., 5.]);
        assert_eq!(1. - &x, tensor![0., -1., -3.]);
        assert_eq!(2. * x.clone(), tensor![2., 4., 8.]);
        assert_eq!(8. / &x, tensor![8., 4., 2.]);
        let xf: Tensor<f32> = tensor![1., 2.];
        assert_eq!(3.0_f32 - &xf, tensor![2.0_f32, 1.]);
        assert_eq!(1.0_f32 / xf, tensor![1.0_f32, 0.5]);
        assert_eq!(-&x, tensor![-1., -2., -4.]);
        assert_eq!(-x, tensor![-1., -2., -4.]);
    }

    #[test]
    fn generic_scalar_rhs() {
        fn affine<T: num_traits::Float>(x: &Tensor<T>, a: T, b: T) -> Tensor<T> {
            x * a + b
        }
        assert_eq!(affine(&tensor![1., 2.], 3., 2.), tensor![5., 8.]);
    }

    #[test]
    fn assign_ops() {
        let mut a = tensor![[1., 2.], [3., 4.]];
        a += &tensor![10., 20.];
        assert_eq!(a, tensor![[11., 22.], [13., 24.]]);
        a -= tensor![[1.], [3.]];
        assert_eq!(a, tensor![[10., 21.], [10., 21.]]);
        a *= 2.;
        assert_eq!(a, tensor![[20., 42.], [20., 42.]]);
        a /= Tensor::scalar(2.);
        assert_eq!(a, tensor![[10., 21.], [10., 21.]]);
        a += 1.;
        a -= 1.;
        a /= 10.;
        assert_eq!(a, tensor![[1., 2.1], [1., 2.1]]);

        let mut v = tensor![1., 2., 3.];
        assert_eq!(
            panic_text(|| v += tensor![[1., 2., 3.], [4., 5., 6.]]),
            "cannot broadcast shape [2, 3] to [3] for `add_assign`"
        );
        assert_eq!(
            panic_text(|| v *= &tensor![1., 2.]),
            "cannot broadcast shape [2] to [3] for `mul_assign`"
        );
    }

    #[test]
    fn shape_errors() {
        let a = tensor![[1., 2., 3.], [4., 5., 6.]];
        let b = tensor![1., 2., 3., 4.];
        let expected = |op| ShapeError::Broadcast {
            op,
            lhs: vec![2, 3],
            rhs: vec![4],
        };
        assert_eq!(a.try_add(&b), Err(expected("add")));
        assert_eq!(a.try_sub(&b), Err(expected("sub")));
        assert_eq!(a.try_mul(&b), Err(expected("mul")));
        assert_eq!(a.try_div(&b), Err(expected("div")));
        assert_eq!(
            a.try_mul(&tensor![2., 2., 2.]),
            Ok(tensor![[2., 4., 6.], [8., 10., 12.]])
        );

        type Case<'a> = (&'static str, Box<dyn Fn() + 'a>);
        let cases: [Case; 6] = [
            ("add", Box::new(|| drop(&a + &b))),
            ("sub", Box::new(|| drop(a.clone() - &b))),
            ("mul", Box::new(|| drop(&a * b.clone()))),
            ("div", Box::new(|| drop(a.clone() / b.clone()))),
            ("add", Box::new(|| drop(a.clone() + b.clone()))),
            ("mul", Box::new(|| drop(a.clone() * &b))),
        ];
        for (op, f) in cases {
            assert_eq!(
                panic_text(f),
                format!("cannot broadcast shapes [2, 3] and [4] for `{op}`")
            );
        }
        assert_eq!(
            panic_text(|| drop(&b + &a)),
            "cannot broadcast shapes [4] and [2, 3] for `add`"
        );
    }

    /// Where `f` panics, as the panic hook sees it (only panics on this thread count).
    fn panic_location(f: impl FnOnce()) -> (String, u32) {
        use std::sync::Mutex;
        static LOCATION: Mutex<Option<(String, u32)>> = Mutex::new(None);
        let me = std::thread::current().id();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().id() == me {
                let loc = info.location().unwrap();
                *LOCATION.lock().unwrap() = Some((loc.file().to_string(), loc.line()));
            }
        }));
        let result = catch_unwind(AssertUnwindSafe(f));
        std::panic::set_hook(previous);
        assert!(result.is_err());
        LOCATION.lock().unwrap().take().unwrap()
    }

    #[test]
    fn panics_point_at_the_callers_line() {
        let a = tensor![1., 2.];
        let b = tensor![1., 2., 3.];
        let here = |line| (file!().to_string(), line);
        let (loc, line) = (panic_location(|| drop(a.clone() + b.clone())), line!());
        assert_eq!(loc, here(line));
        let (loc, line) = (panic_location(|| drop(&a - &b)), line!());
        assert_eq!(loc, here(line));
        let (loc, line) = (panic_location(|| drop(a.clone() * &b)), line!());
        assert_eq!(loc, here(line));
        let (loc, line) = (panic_location(|| drop(&a / b.clone())), line!());
        assert_eq!(loc, here(line));
        let (loc, line) = (panic_location(|| a.clone().add_assign(b.clone())), line!());
        assert_eq!(loc, here(line));
        let (loc, line) = (panic_location(|| drop(a.matmul(&b))), line!());
        assert_eq!(loc, here(line));
        let (loc, line) = (panic_location(|| drop(a.sum_to_shape(&[3]))), line!());
        assert_eq!(loc, here(line));
        let line = line!() + 1;
        let loc = panic_location(|| drop(Tensor::from_vec(vec![1.], &[2])));
        assert_eq!(loc, here(line));
        let (loc, line) = (panic_location(|| _ = a[[5]]), line!());
        assert_eq!(loc, here(line));
        let (loc, line) = (panic_location(|| drop(tensor![[1.], [2., 3.]])), line!());
        assert_eq!(loc, here(line));
    }

    #[test]
    fn unary_math() {
        let t = tensor![0.25, 1., 4.];
        assert_eq!(t.sqrt(), tensor![0.5, 1., 2.]);
        assert_eq!(t.log2(), tensor![-2., 0., 2.]);
        assert_eq!(t.recip(), tensor![4., 1., 0.25]);
        assert_eq!(t.powi(2), tensor![0.0625, 1., 16.]);
        assert_eq!(t.powf(0.5), tensor![0.5, 1., 2.]);
        assert_eq!(t.log(4.).to_vec(), [0.25_f64.log(4.), 0., 1.]);
        assert_eq!(tensor![-8., 27.].cbrt(), tensor![-2., 3.]);
        assert_eq!(tensor![0.].exp(), tensor![1.]);
        assert_eq!(tensor![3.].exp2(), tensor![8.]);
        assert_eq!(tensor![100.].log10(), tensor![2.]);
        assert_eq!(tensor![1.].ln(), tensor![0.]);
        let r = tensor![-2.5, -0.5, 0.5, 2.5];
        assert_eq!(r.floor(), tensor![-3., -1., 0., 2.]);
        assert_eq!(r.ceil(), tensor![-2., -0., 1., 3.]);
        assert_eq!(r.round(), tensor![-3., -1., 1., 3.]);
        assert_eq!(r.trunc(), tensor![-2., -0., 0., 2.]);
        assert_eq!(r.abs(), tensor![2.5, 0.5, 0.5, 2.5]);
        assert_eq!(r.signum(), tensor![-1., -1., 1., 1.]);
        assert_eq!(r.max(0.), tensor![0., 0., 0.5, 2.5]);
        assert_eq!(r.min(0.), tensor![-2.5, -0.5, 0., 0.]);
        assert_eq!(r.clamp(-1., 1.), tensor![-1., -0.5, 0.5, 1.]);
        assert!(tensor![f64::NAN].clamp(0., 1.).item().is_nan());
        assert_eq!(r.relu(), tensor![0., 0., 0.5, 2.5]);
        assert_eq!(tensor![-800., 0., 800.].sigmoid(), tensor![0., 0.5, 1.]);
        assert_eq!(tensor![-800., 800.].softplus(), tensor![0., 800.]);
        assert_eq!(
            panic_text(|| drop(r.clamp(1., -1.))),
            "`clamp` needs lo <= hi, neither of them NaN"
        );
        let angles = tensor![0.5_f32, -0.25];
        for (t, f) in [
            (angles.sin(), f32::sin as fn(f32) -> f32),
            (angles.cos(), f32::cos),
            (angles.tan(), f32::tan),
            (angles.asin(), f32::asin),
            (angles.acos(), f32::acos),
            (angles.atan(), f32::atan),
            (angles.sinh(), f32::sinh),
            (angles.cosh(), f32::cosh),
            (angles.tanh(), f32::tanh),
            (angles.asinh(), f32::asinh),
            (angles.atanh(), f32::atanh),
            (angles.exp_m1(), f32::exp_m1),
            (angles.ln_1p(), f32::ln_1p),
        ] {
            assert_eq!(t.to_vec(), [f(0.5), f(-0.25)]);
        }
        assert_eq!(tensor![1.].acosh(), tensor![0.]);
    }
}
