//! `ShapeError`: every way a shape can be wrong, each variant naming the shapes involved.

use std::fmt;

/// A shape mismatch: operands that do not broadcast, a bad reshape, an axis out of range.
///
/// `Display` (and `Debug`, so that `.unwrap()` reads well) names the shapes involved.
///
/// ```
/// use autodiff_runtime::{tensor, ShapeError};
///
/// let a = tensor![[1., 2., 3.], [4., 5., 6.]];
/// let b = tensor![1., 2., 3., 4.];
/// let err = a.try_add(&b).unwrap_err();
/// assert_eq!(
///     err,
///     ShapeError::Broadcast { op: "add", lhs: vec![2, 3], rhs: vec![4] },
/// );
/// assert_eq!(err.to_string(), "cannot broadcast shapes [2, 3] and [4] for `add`");
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShapeError {
    /// The two operands of a binary operation do not broadcast (NumPy rule).
    Broadcast {
        /// The operation, such as `"add"`.
        op: &'static str,
        /// Shape of the left operand.
        lhs: Vec<usize>,
        /// Shape of the right operand.
        rhs: Vec<usize>,
    },
    /// A shape does not broadcast to a given target shape (`broadcast_to`, `+=`).
    BroadcastTo {
        /// The operation, such as `"add_assign"`.
        op: &'static str,
        /// Shape being broadcast.
        from: Vec<usize>,
        /// Target shape.
        to: Vec<usize>,
    },
    /// `matmul` operands that are not 1-D or 2-D, or whose inner dimensions differ.
    MatMul {
        /// Shape of the left operand.
        lhs: Vec<usize>,
        /// Shape of the right operand.
        rhs: Vec<usize>,
    },
    /// `dot` operands that are not two 1-D tensors of equal length.
    Dot {
        /// Shape of the left operand.
        lhs: Vec<usize>,
        /// Shape of the right operand.
        rhs: Vec<usize>,
    },
    /// `reshape` to a shape with a different number of elements.
    Reshape {
        /// Shape of the tensor.
        from: Vec<usize>,
        /// Requested shape.
        to: Vec<usize>,
    },
    /// `sum_to_shape` to a shape that does not broadcast to the tensor's shape.
    SumToShape {
        /// Shape of the tensor.
        from: Vec<usize>,
        /// Requested shape.
        to: Vec<usize>,
    },
    /// An axis argument out of range.
    Axis {
        /// The operation, such as `"sum_axis"`.
        op: &'static str,
        /// The axis asked for.
        axis: usize,
        /// Number of dimensions of the tensor.
        ndim: usize,
    },
    /// Batched `matmul` operands (`[b, m, k] x [b, k, n]` or `[b, m, k] x [k, n]`) whose
    /// batch or inner sizes differ.
    BatchMatMul {
        /// Shape of the left operand.
        lhs: Vec<usize>,
        /// Shape of the right operand.
        rhs: Vec<usize>,
    },
    /// A maximum or minimum over no elements (`max_all` of an empty tensor, `max_axis` along
    /// an axis of length 0), which has no value, as in NumPy and PyTorch.
    Empty {
        /// The operation, such as `"max_all"`.
        op: &'static str,
        /// Shape of the tensor.
        shape: Vec<usize>,
    },
    /// A `one_hot` label that is not below the number of classes.
    OneHot {
        /// Position of the label in the list.
        index: usize,
        /// The label.
        label: usize,
        /// Number of classes.
        classes: usize,
    },
    /// Data whose length does not match the shape it is given.
    Data {
        /// Length of the data.
        len: usize,
        /// Requested shape.
        shape: Vec<usize>,
    },
    /// `item` on a tensor that does not hold exactly one element.
    Item {
        /// Shape of the tensor.
        shape: Vec<usize>,
    },
    /// An index with the wrong number of axes or out of bounds.
    Index {
        /// The index.
        index: Vec<usize>,
        /// Shape of the tensor.
        shape: Vec<usize>,
    },
    /// The rows of a nested `tensor!` literal differ in shape (a ragged literal).
    Stack {
        /// Shape of the first row.
        first: Vec<usize>,
        /// Shape of the first row that differs from it.
        other: Vec<usize>,
    },
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            ShapeError::Broadcast { op, lhs, rhs } => {
                write!(f, "cannot broadcast shapes {lhs:?} and {rhs:?} for `{op}`")
            }
            ShapeError::BroadcastTo { op, from, to } => {
                write!(f, "cannot broadcast shape {from:?} to {to:?} for `{op}`")
            }
            ShapeError::MatMul { lhs, rhs } => write!(
                f,
                "cannot multiply shapes {lhs:?} and {rhs:?} for `matmul`: \
                 expected 1-D or 2-D operands with equal inner dimensions"
            ),
            ShapeError::Dot { lhs, rhs } => write!(
                f,
                "cannot multiply shapes {lhs:?} and {rhs:?} for `dot`: \
                 expected two 1-D tensors of equal length"
            ),
            ShapeError::Reshape { from, to } => write!(
                f,
                "cannot reshape shape {from:?} ({} elements) to {to:?} ({} elements)",
                crate::shape::numel(from),
                crate::shape::numel(to),
            ),
            ShapeError::SumToShape { from, to } => write!(
                f,
                "cannot sum shape {from:?} to {to:?}: {to:?} does not broadcast to {from:?}"
            ),
            ShapeError::Axis { op, axis, ndim } => write!(
                f,
                "axis {axis} is out of bounds for `{op}` on a tensor of dimension {ndim}"
            ),
            ShapeError::BatchMatMul { lhs, rhs } => write!(
                f,
                "cannot multiply shapes {lhs:?} and {rhs:?} for batched `matmul`: \
                 expected [b, m, k] x [b, k, n] or [b, m, k] x [k, n]"
            ),
            ShapeError::Empty { op, shape } => write!(
                f,
                "`{op}` of a tensor of shape {shape:?} reduces over no elements, and has no value"
            ),
            ShapeError::OneHot {
                index,
                label,
                classes,
            } => write!(
                f,
                "label {label} (at position {index}) is out of range for `one_hot` \
                 with {classes} classes: labels must be below {classes}"
            ),
            ShapeError::Data { len, shape } => write!(
                f,
                "data of length {len} does not match shape {shape:?} ({} elements)",
                crate::shape::numel(shape),
            ),
            ShapeError::Item { shape } => write!(
                f,
                "`item` needs a tensor with exactly one element, got shape {shape:?}"
            ),
            ShapeError::Index { index, shape } if index.len() != shape.len() => write!(
                f,
                "index {index:?} has length {} but the tensor of shape {shape:?} has {} dimensions",
                index.len(),
                shape.len(),
            ),
            ShapeError::Index { index, shape } => {
                write!(f, "index {index:?} is out of bounds for shape {shape:?}")
            }
            ShapeError::Stack { first, other } => write!(
                f,
                "ragged `tensor!` literal: rows of shapes {first:?} and {other:?}"
            ),
        }
    }
}

impl fmt::Debug for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for ShapeError {}

#[cfg(test)]
mod tests {
    use super::ShapeError;

    #[test]
    fn display() {
        let cases = [
            (
                ShapeError::Broadcast {
                    op: "add",
                    lhs: vec![2, 3],
                    rhs: vec![4],
                },
                "cannot broadcast shapes [2, 3] and [4] for `add`",
            ),
            (
                ShapeError::BroadcastTo {
                    op: "add_assign",
                    from: vec![2, 3],
                    to: vec![3],
                },
                "cannot broadcast shape [2, 3] to [3] for `add_assign`",
            ),
            (
                ShapeError::MatMul {
                    lhs: vec![2, 3],
                    rhs: vec![2, 3],
                },
                "cannot multiply shapes [2, 3] and [2, 3] for `matmul`: \
                 expected 1-D or 2-D operands with equal inner dimensions",
            ),
            (
                ShapeError::Dot {
                    lhs: vec![3],
                    rhs: vec![2],
                },
                "cannot multiply shapes [3] and [2] for `dot`: \
                 expected two 1-D tensors of equal length",
            ),
            (
                ShapeError::Reshape {
                    from: vec![2, 3],
                    to: vec![4],
                },
                "cannot reshape shape [2, 3] (6 elements) to [4] (4 elements)",
            ),
            (
                ShapeError::SumToShape {
                    from: vec![2, 3],
                    to: vec![2],
                },
                "cannot sum shape [2, 3] to [2]: [2] does not broadcast to [2, 3]",
            ),
            (
                ShapeError::Axis {
                    op: "sum_axis",
                    axis: 2,
                    ndim: 2,
                },
                "axis 2 is out of bounds for `sum_axis` on a tensor of dimension 2",
            ),
            (
                ShapeError::BatchMatMul {
                    lhs: vec![2, 3, 4],
                    rhs: vec![3, 4, 5],
                },
                "cannot multiply shapes [2, 3, 4] and [3, 4, 5] for batched `matmul`: \
                 expected [b, m, k] x [b, k, n] or [b, m, k] x [k, n]",
            ),
            (
                ShapeError::Empty {
                    op: "max_all",
                    shape: vec![0, 3],
                },
                "`max_all` of a tensor of shape [0, 3] reduces over no elements, and has no value",
            ),
            (
                ShapeError::OneHot {
                    index: 2,
                    label: 7,
                    classes: 3,
                },
                "label 7 (at position 2) is out of range for `one_hot` with 3 classes: \
                 labels must be below 3",
            ),
            (
                ShapeError::Data {
                    len: 5,
                    shape: vec![2, 3],
                },
                "data of length 5 does not match shape [2, 3] (6 elements)",
            ),
            (
                ShapeError::Item { shape: vec![2] },
                "`item` needs a tensor with exactly one element, got shape [2]",
            ),
            (
                ShapeError::Index {
                    index: vec![1],
                    shape: vec![2, 3],
                },
                "index [1] has length 1 but the tensor of shape [2, 3] has 2 dimensions",
            ),
            (
                ShapeError::Index {
                    index: vec![2, 0],
                    shape: vec![2, 3],
                },
                "index [2, 0] is out of bounds for shape [2, 3]",
            ),
            (
                ShapeError::Stack {
                    first: vec![2],
                    other: vec![1],
                },
                "ragged `tensor!` literal: rows of shapes [2] and [1]",
            ),
        ];
        for (err, text) in cases {
            assert_eq!(err.to_string(), text);
            assert_eq!(format!("{err:?}"), text);
        }
    }

    #[test]
    fn is_std_error() {
        let err: Box<dyn std::error::Error> = Box::new(ShapeError::Item { shape: vec![] });
        assert_eq!(
            err.to_string(),
            "`item` needs a tensor with exactly one element, got shape []"
        );
    }
}
