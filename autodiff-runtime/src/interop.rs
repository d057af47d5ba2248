//! Conversions between [`Tensor`] and `ndarray` arrays (feature `ndarray`).
//!
//! ```
//! use autodiff_runtime::Tensor;
//! use ndarray::{array, Array2, ArrayD};
//!
//! let a: Array2<f64> = array![[1., 2., 3.], [4., 5., 6.]];
//! let t = Tensor::from(a.clone());
//! assert_eq!(t.shape(), &[2, 3]);
//! let back = Array2::try_from(t).unwrap();
//! assert_eq!(back, a);
//! let dynamic: ArrayD<f64> = Tensor::ones(&[2, 2]).into();
//! assert_eq!(dynamic.shape(), &[2, 2]);
//! ```

use ndarray::{Array, Array1, Array2, ArrayD, Dimension, IxDyn};
use num_traits::Float;

use crate::{ShapeError, Tensor};

fn from_array<T: Float, D: Dimension>(a: Array<T, D>) -> Tensor<T> {
    let shape = a.shape().to_vec();
    // Logical (row-major) order, whatever the array's memory layout.
    let data: Vec<T> = if a.is_standard_layout() {
        a.into_raw_vec_and_offset().0
    } else {
        a.iter().copied().collect()
    };
    Tensor::from_parts(data, shape)
}

impl<T: Float> From<ArrayD<T>> for Tensor<T> {
    fn from(a: ArrayD<T>) -> Tensor<T> {
        from_array(a)
    }
}

impl<T: Float> From<Array1<T>> for Tensor<T> {
    fn from(a: Array1<T>) -> Tensor<T> {
        from_array(a)
    }
}

impl<T: Float> From<Array2<T>> for Tensor<T> {
    fn from(a: Array2<T>) -> Tensor<T> {
        from_array(a)
    }
}

impl<T: Float> From<Tensor<T>> for ArrayD<T> {
    fn from(t: Tensor<T>) -> ArrayD<T> {
        let shape = t.shape().to_vec();
        ArrayD::from_shape_vec(IxDyn(&shape), t.to_vec())
            .expect("a tensor's data matches its shape")
    }
}

impl<T: Float> TryFrom<Tensor<T>> for Array1<T> {
    type Error = ShapeError;
    /// # Errors
    ///
    /// If the tensor is not 1-D.
    fn try_from(t: Tensor<T>) -> Result<Array1<T>, ShapeError> {
        match t.shape() {
            [_] => Ok(Array1::from(t.to_vec())),
            other => Err(ShapeError::Reshape {
                from: other.to_vec(),
                to: vec![t.len()],
            }),
        }
    }
}

impl<T: Float> TryFrom<Tensor<T>> for Array2<T> {
    type Error = ShapeError;
    /// # Errors
    ///
    /// If the tensor is not 2-D.
    fn try_from(t: Tensor<T>) -> Result<Array2<T>, ShapeError> {
        match *t.shape() {
            [m, n] => Ok(Array2::from_shape_vec((m, n), t.to_vec())
                .expect("a tensor's data matches its shape")),
            ref other => Err(ShapeError::Reshape {
                from: other.to_vec(),
                to: vec![t.len(), 1],
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn round_trips() {
        let a = array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]];
        let t = Tensor::from(a.clone());
        assert_eq!(t.shape(), &[3, 2]);
        assert_eq!(t.as_slice(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(Array2::try_from(t.clone()).unwrap(), a);
        let d: ArrayD<f64> = t.into();
        assert_eq!(d.shape(), &[3, 2]);
        assert_eq!(Tensor::from(d).shape(), &[3, 2]);
        let v = Tensor::from(array![1.0f32, 2.0]);
        assert_eq!(Array1::try_from(v).unwrap(), array![1.0f32, 2.0]);
    }

    #[test]
    fn transposed_layout_is_read_in_logical_order() {
        let a = array![[1.0, 2.0], [3.0, 4.0]].reversed_axes();
        assert_eq!(Tensor::from(a).as_slice(), &[1.0, 3.0, 2.0, 4.0]);
    }

    #[test]
    fn wrong_rank_is_an_error() {
        let err = Array1::try_from(Tensor::<f64>::zeros(&[2, 2])).unwrap_err();
        assert!(err.to_string().contains("[2, 2]"), "{err}");
        assert!(Array2::try_from(Tensor::<f64>::zeros(&[4])).is_err());
    }
}
