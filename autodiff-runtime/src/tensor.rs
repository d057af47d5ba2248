//! `Tensor<T>`: the type, its constructors, accessors, indexing and the `tensor!` literal.

use std::ops::{Index, IndexMut};

use num_traits::Float;

use crate::shape::{contiguous_strides, numel};
use crate::ShapeError;

/// An n-dimensional array of floats: row-major, contiguous, with NumPy broadcasting.
///
/// Invariant: `data.len() == shape.iter().product()`; a 0-d tensor (shape `[]`)
/// holds one element.
///
/// ```
/// use autodiff_runtime::{tensor, Tensor};
///
/// let x = tensor![1., 2., 3.];
/// let y = tensor![[4.], [5.]];
/// let z = &x * &y + 1.0;
/// assert_eq!(z.shape(), [2, 3]);
/// assert_eq!(z.to_vec(), [5., 9., 13., 6., 11., 16.]);
/// assert_eq!(z.sum(), 60.);
/// ```
#[derive(Clone, PartialEq)]
pub struct Tensor<T> {
    pub(crate) data: Vec<T>,
    pub(crate) shape: Vec<usize>,
}

/// Builds a [`Tensor`] from a (nested) literal, like `torch.tensor`.
///
/// One level of brackets gives a 1-D tensor, two a 2-D one, and so on.
///
/// # Panics
///
/// If the literal is ragged (rows of different lengths).
///
/// ```
/// use autodiff_runtime::tensor;
///
/// let v = tensor![1., 2., 3.];
/// assert_eq!(v.shape(), [3]);
/// let m = tensor![[2., 3., 1.], [4., 5., 3.]];
/// assert_eq!(m.shape(), [2, 3]);
/// assert_eq!(m[[1, 0]], 4.);
/// let c = tensor![[[1., 2.], [3., 4.]], [[5., 6.], [7., 8.]]];
/// assert_eq!(c.shape(), [2, 2, 2]);
/// assert_eq!(c[[1, 0, 1]], 6.);
/// ```
///
/// ```should_panic
/// use autodiff_runtime::tensor;
///
/// // panics: ragged `tensor!` literal: rows of shapes [2] and [1]
/// let _ = tensor![[1., 2.], [3.]];
/// ```
#[macro_export]
macro_rules! tensor {
    ($([$($row:tt)*]),+ $(,)?) => {
        $crate::Tensor::__stack(::std::vec![$($crate::tensor![$($row)*]),+])
    };
    ($($x:expr),* $(,)?) => {{
        let data = ::std::vec![$($x),*];
        let len = data.len();
        $crate::Tensor::from_vec(data, &[len])
    }};
}

impl<T: Float> Tensor<T> {
    /// Builds a tensor from row-major `data` and its `shape`.
    ///
    /// # Panics
    ///
    /// If `data.len()` is not the number of elements of `shape`.
    ///
    /// ```
    /// use autodiff_runtime::Tensor;
    ///
    /// let t = Tensor::from_vec(vec![1., 2., 3., 4., 5., 6.], &[2, 3]);
    /// assert_eq!(t[[1, 2]], 6.);
    /// ```
    #[track_caller]
    pub fn from_vec(data: Vec<T>, shape: &[usize]) -> Tensor<T> {
        match Tensor::try_from_vec(data, shape) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }

    /// Like [`Tensor::from_vec`], but returns an error instead of panicking.
    ///
    /// ```
    /// use autodiff_runtime::Tensor;
    ///
    /// let err = Tensor::try_from_vec(vec![1., 2., 3.], &[2, 2]).unwrap_err();
    /// assert_eq!(err.to_string(), "data of length 3 does not match shape [2, 2] (4 elements)");
    /// ```
    pub fn try_from_vec(data: Vec<T>, shape: &[usize]) -> Result<Tensor<T>, ShapeError> {
        if data.len() == numel(shape) {
            Ok(Tensor {
                data,
                shape: shape.to_vec(),
            })
        } else {
            Err(ShapeError::Data {
                len: data.len(),
                shape: shape.to_vec(),
            })
        }
    }

    /// A 0-d tensor (shape `[]`) holding `value`.
    ///
    /// ```
    /// use autodiff_runtime::Tensor;
    ///
    /// let t = Tensor::scalar(2.5);
    /// assert_eq!(t.shape(), [0usize; 0]);
    /// assert_eq!(t.item(), 2.5);
    /// ```
    pub fn scalar(value: T) -> Tensor<T> {
        Tensor {
            data: vec![value],
            shape: Vec::new(),
        }
    }

    /// A tensor of the given shape filled with `value`.
    ///
    /// ```
    /// use autodiff_runtime::Tensor;
    ///
    /// let t = Tensor::full(&[2, 2], 7.);
    /// assert_eq!(t.to_vec(), [7., 7., 7., 7.]);
    /// ```
    pub fn full(shape: &[usize], value: T) -> Tensor<T> {
        Tensor {
            data: vec![value; numel(shape)],
            shape: shape.to_vec(),
        }
    }

    /// A tensor of the given shape filled with zeros.
    ///
    /// ```
    /// use autodiff_runtime::Tensor;
    ///
    /// let t = Tensor::<f64>::zeros(&[2, 3]);
    /// assert_eq!(t.shape(), [2, 3]);
    /// assert_eq!(t.sum(), 0.);
    /// ```
    pub fn zeros(shape: &[usize]) -> Tensor<T> {
        Tensor::full(shape, T::zero())
    }

    /// A tensor of the given shape filled with ones.
    ///
    /// ```
    /// use autodiff_runtime::Tensor;
    ///
    /// let t = Tensor::<f32>::ones(&[3]);
    /// assert_eq!(t.to_vec(), [1., 1., 1.]);
    /// ```
    pub fn ones(shape: &[usize]) -> Tensor<T> {
        Tensor::full(shape, T::one())
    }

    /// Evenly spaced values in the half-open interval `[start, end)`, like `numpy.arange`:
    /// `ceil((end - start) / step)` elements (none if that is negative), `start + i * step`.
    ///
    /// # Panics
    ///
    /// If `step` is zero, or if `start`, `end` or `step` is not finite.
    ///
    /// ```
    /// use autodiff_runtime::Tensor;
    ///
    /// assert_eq!(Tensor::arange(0., 5., 1.).to_vec(), [0., 1., 2., 3., 4.]);
    /// assert_eq!(Tensor::arange(1., 2., 0.25).to_vec(), [1., 1.25, 1.5, 1.75]);
    /// assert_eq!(Tensor::arange(3., 0., -1.).to_vec(), [3., 2., 1.]);
    /// assert!(Tensor::arange(3., 0., 1.).is_empty());
    /// ```
    #[track_caller]
    pub fn arange(start: T, end: T, step: T) -> Tensor<T> {
        assert!(
            start.is_finite() && end.is_finite() && step.is_finite(),
            "`arange` needs finite start, end and step"
        );
        assert!(step != T::zero(), "`arange` step must not be zero");
        let n = ((end - start) / step).ceil().to_usize().unwrap_or(0);
        let data = (0..n).map(|i| start + T::from(i).unwrap() * step).collect();
        Tensor {
            data,
            shape: vec![n],
        }
    }

    /// `n` evenly spaced values from `start` to `end`, both included, like `numpy.linspace`.
    ///
    /// ```
    /// use autodiff_runtime::Tensor;
    ///
    /// assert_eq!(Tensor::linspace(0., 1., 5).to_vec(), [0., 0.25, 0.5, 0.75, 1.]);
    /// assert_eq!(Tensor::linspace(2., 3., 1).to_vec(), [2.]);
    /// assert!(Tensor::<f64>::linspace(0., 1., 0).is_empty());
    /// ```
    pub fn linspace(start: T, end: T, n: usize) -> Tensor<T> {
        let mut data: Vec<T> = match n {
            0 => Vec::new(),
            1 => vec![start],
            _ => {
                let step = (end - start) / T::from(n - 1).unwrap();
                (0..n).map(|i| start + T::from(i).unwrap() * step).collect()
            }
        };
        if n > 1 {
            // Like NumPy: the last point is exactly `end`, whatever the rounding.
            data[n - 1] = end;
        }
        Tensor {
            data,
            shape: vec![n],
        }
    }

    /// The single element of a tensor holding exactly one (of any shape, such as `[]` or `[1, 1]`).
    ///
    /// # Panics
    ///
    /// If the tensor does not hold exactly one element.
    ///
    /// ```
    /// use autodiff_runtime::{tensor, Tensor};
    ///
    /// assert_eq!(Tensor::scalar(3.).item(), 3.);
    /// assert_eq!(tensor![[4.]].item(), 4.);
    /// ```
    #[track_caller]
    pub fn item(&self) -> T {
        match self.data[..] {
            [x] => x,
            _ => panic!(
                "{}",
                ShapeError::Item {
                    shape: self.shape.clone()
                }
            ),
        }
    }

    /// Stacks equally shaped tensors along a new first axis: the `tensor!` macro's rows.
    #[doc(hidden)]
    #[track_caller]
    pub fn __stack(rows: Vec<Tensor<T>>) -> Tensor<T> {
        let first = rows[0].shape.clone();
        let mut data = Vec::with_capacity(rows.len() * numel(&first));
        for row in &rows {
            if row.shape != first {
                panic!(
                    "{}",
                    ShapeError::Stack {
                        first,
                        other: row.shape.clone()
                    }
                );
            }
            data.extend_from_slice(&row.data);
        }
        let mut shape = vec![rows.len()];
        shape.extend_from_slice(&first);
        Tensor { data, shape }
    }
}

impl<T> Tensor<T> {
    /// Builds a tensor from parts the caller has checked: `data.len() == numel(&shape)`.
    pub(crate) fn from_parts(data: Vec<T>, shape: Vec<usize>) -> Tensor<T> {
        debug_assert_eq!(data.len(), numel(&shape), "shape {shape:?}");
        Tensor { data, shape }
    }

    /// The size of each axis; `[]` for a 0-d tensor.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// assert_eq!(tensor![[1., 2., 3.], [4., 5., 6.]].shape(), [2, 3]);
    /// ```
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of axes: 0 for a scalar tensor.
    ///
    /// ```
    /// use autodiff_runtime::{tensor, Tensor};
    ///
    /// assert_eq!(tensor![[1., 2.]].ndim(), 2);
    /// assert_eq!(Tensor::scalar(1.).ndim(), 0);
    /// ```
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// The total number of elements (like ndarray's `len`, NumPy's `size`).
    ///
    /// ```
    /// use autodiff_runtime::{tensor, Tensor};
    ///
    /// assert_eq!(tensor![[1., 2., 3.], [4., 5., 6.]].len(), 6);
    /// assert_eq!(Tensor::scalar(1.).len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the tensor has no elements (some axis has size 0).
    ///
    /// ```
    /// use autodiff_runtime::Tensor;
    ///
    /// assert!(Tensor::<f64>::zeros(&[2, 0]).is_empty());
    /// assert!(!Tensor::scalar(1.).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The elements in row-major order.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// assert_eq!(tensor![[1., 2.], [3., 4.]].as_slice(), [1., 2., 3., 4.]);
    /// ```
    pub fn as_slice(&self) -> &[T] {
        &self.data
    }

    /// The elements in row-major order, mutably.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// let mut t = tensor![1., 2.];
    /// t.as_mut_slice()[1] = 5.;
    /// assert_eq!(t.to_vec(), [1., 5.]);
    /// ```
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.data
    }

    /// A copy of the elements in row-major order.
    ///
    /// ```
    /// use autodiff_runtime::tensor;
    ///
    /// assert_eq!(tensor![[1., 2.], [3., 4.]].to_vec(), vec![1., 2., 3., 4.]);
    /// ```
    pub fn to_vec(&self) -> Vec<T>
    where
        T: Clone,
    {
        self.data.clone()
    }

    /// The position in `data` of a multi-index.
    #[track_caller]
    fn offset(&self, index: &[usize]) -> usize {
        let in_bounds =
            index.len() == self.shape.len() && index.iter().zip(&self.shape).all(|(i, d)| i < d);
        if !in_bounds {
            panic!(
                "{}",
                ShapeError::Index {
                    index: index.to_vec(),
                    shape: self.shape.clone()
                }
            );
        }
        index
            .iter()
            .zip(contiguous_strides(&self.shape))
            .map(|(i, s)| i * s)
            .sum()
    }
}

/// `t[[i, j]]` reads one element; the index has one entry per axis (`t[[]]` for 0-d).
///
/// # Panics
///
/// If the index has the wrong length or is out of bounds.
///
/// ```
/// use autodiff_runtime::tensor;
///
/// let t = tensor![[1., 2., 3.], [4., 5., 6.]];
/// assert_eq!(t[[1, 2]], 6.);
/// ```
impl<T, const N: usize> Index<[usize; N]> for Tensor<T> {
    type Output = T;

    #[track_caller]
    fn index(&self, index: [usize; N]) -> &T {
        &self.data[self.offset(&index)]
    }
}

/// `t[[i, j]] = v` writes one element.
///
/// # Panics
///
/// If the index has the wrong length or is out of bounds.
///
/// ```
/// use autodiff_runtime::tensor;
///
/// let mut t = tensor![[1., 2.], [3., 4.]];
/// t[[0, 1]] = 9.;
/// assert_eq!(t.to_vec(), [1., 9., 3., 4.]);
/// ```
impl<T, const N: usize> IndexMut<[usize; N]> for Tensor<T> {
    #[track_caller]
    fn index_mut(&mut self, index: [usize; N]) -> &mut T {
        let offset = self.offset(&index);
        &mut self.data[offset]
    }
}

#[cfg(test)]
mod tests {
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
    fn constructors() {
        let t = Tensor::from_vec(vec![1., 2., 3., 4., 5., 6.], &[3, 2]);
        assert_eq!(t.shape(), [3, 2]);
        assert_eq!(t.ndim(), 2);
        assert_eq!(t.len(), 6);
        assert_eq!(t.as_slice(), [1., 2., 3., 4., 5., 6.]);

        let s = Tensor::scalar(4.0_f32);
        assert_eq!(
            (s.shape(), s.ndim(), s.len(), s.item()),
            (&[][..], 0, 1, 4.0)
        );

        assert_eq!(Tensor::<f64>::zeros(&[2, 2]).to_vec(), [0.; 4]);
        assert_eq!(Tensor::<f64>::ones(&[3]).to_vec(), [1.; 3]);
        assert_eq!(Tensor::full(&[1, 2], 2.5).to_vec(), [2.5, 2.5]);
        assert_eq!(Tensor::<f64>::zeros(&[]).to_vec(), [0.]);
        let empty = Tensor::<f64>::ones(&[0, 3]);
        assert!(empty.is_empty());
        assert_eq!((empty.len(), empty.shape()), (0, &[0, 3][..]));

        assert_eq!(
            Tensor::try_from_vec(vec![1.0_f64; 5], &[2, 3]),
            Err(ShapeError::Data {
                len: 5,
                shape: vec![2, 3]
            })
        );
        assert_eq!(
            panic_text(|| {
                Tensor::from_vec(vec![1.0_f64; 5], &[2, 3]);
            }),
            "data of length 5 does not match shape [2, 3] (6 elements)"
        );
    }

    #[test]
    fn arange_linspace() {
        assert_eq!(Tensor::arange(0., 3., 1.).to_vec(), [0., 1., 2.]);
        assert_eq!(Tensor::arange(0., 3.5, 1.).to_vec(), [0., 1., 2., 3.]);
        assert_eq!(Tensor::arange(2., -1., -1.5).to_vec(), [2., 0.5]);
        assert_eq!(Tensor::arange(0., 0., 1.).shape(), [0]);
        assert_eq!(Tensor::arange(0., 1., -1.).shape(), [0]);
        assert_eq!(
            panic_text(|| {
                Tensor::arange(0., 1., 0.);
            }),
            "`arange` step must not be zero"
        );

        assert_eq!(
            Tensor::linspace(-1., 1., 5).to_vec(),
            [-1., -0.5, 0., 0.5, 1.]
        );
        assert_eq!(Tensor::linspace(0.0_f32, 1., 2).to_vec(), [0., 1.]);
        let t = Tensor::linspace(0., 1., 7);
        assert_eq!((t.shape(), t[[6]]), (&[7][..], 1.));
    }

    #[test]
    fn macro_literals() {
        let v = tensor![1., 2., 3.];
        assert_eq!((v.shape(), v.to_vec()), (&[3][..], vec![1., 2., 3.]));
        let v = tensor![1., 2., 3.,];
        assert_eq!(v.shape(), [3]);
        let m = tensor![[2., 3., 1.], [4., 5., 3.]];
        assert_eq!(
            (m.shape(), m.to_vec()),
            (&[2, 3][..], vec![2., 3., 1., 4., 5., 3.])
        );
        let c = tensor![
            [[1., 2.], [3., 4.], [5., 6.]],
            [[7., 8.], [9., 10.], [11., 12.]]
        ];
        assert_eq!(c.shape(), [2, 3, 2]);
        assert_eq!(c.to_vec(), (1..=12).map(f64::from).collect::<Vec<_>>());
        let col = tensor![[4.0_f32], [5.]];
        assert_eq!(col.shape(), [2, 1]);
        let neg = tensor![-1., 2. * 3., -(4.)];
        assert_eq!(neg.to_vec(), [-1., 6., -4.]);
        let empty: Tensor<f64> = tensor![];
        assert_eq!(empty.shape(), [0]);

        assert_eq!(
            panic_text(|| {
                tensor![[1., 2.], [3.]];
            }),
            "ragged `tensor!` literal: rows of shapes [2] and [1]"
        );
        assert_eq!(
            panic_text(|| {
                tensor![[[1.], [2.]], [[3.]]];
            }),
            "ragged `tensor!` literal: rows of shapes [2, 1] and [1, 1]"
        );
    }

    #[test]
    fn indexing() {
        let mut t = tensor![[1., 2., 3.], [4., 5., 6.]];
        assert_eq!(
            (t[[0, 0]], t[[0, 2]], t[[1, 0]], t[[1, 2]]),
            (1., 3., 4., 6.)
        );
        t[[1, 1]] = -5.;
        t[[0, 0]] += 10.;
        assert_eq!(t.to_vec(), [11., 2., 3., 4., -5., 6.]);

        let mut s = Tensor::scalar(2.);
        s[[]] = 3.;
        assert_eq!(s[[]], 3.);

        let c = Tensor::arange(0., 24., 1.).reshape(&[2, 3, 4]);
        assert_eq!(c[[1, 2, 3]], 23.);
        assert_eq!(c[[1, 0, 2]], 14.);

        assert_eq!(
            panic_text(|| {
                let _ = t[[2, 0]];
            }),
            "index [2, 0] is out of bounds for shape [2, 3]"
        );
        assert_eq!(
            panic_text(|| {
                let _ = t[[0, 3]];
            }),
            "index [0, 3] is out of bounds for shape [2, 3]"
        );
        assert_eq!(
            panic_text(|| {
                let _ = t[[1]];
            }),
            "index [1] has length 1 but the tensor of shape [2, 3] has 2 dimensions"
        );
        assert_eq!(
            panic_text(|| {
                t[[0, 0, 0]] = 1.;
            }),
            "index [0, 0, 0] has length 3 but the tensor of shape [2, 3] has 2 dimensions"
        );
    }

    #[test]
    fn item() {
        assert_eq!(tensor![[[7.]]].item(), 7.);
        assert_eq!(
            panic_text(|| {
                tensor![1., 2.].item();
            }),
            "`item` needs a tensor with exactly one element, got shape [2]"
        );
        assert_eq!(
            panic_text(|| {
                Tensor::<f64>::zeros(&[0]).item();
            }),
            "`item` needs a tensor with exactly one element, got shape [0]"
        );
    }
}
