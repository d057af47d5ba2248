//! Shape arithmetic: pure functions over `&[usize]`, no element type and no data.
//!
//! Shapes follow NumPy: row-major, and two shapes broadcast when, aligned on the
//! right, each pair of sizes is equal or one of them is 1 (missing axes count as 1).

use crate::ShapeError;

/// The shape of the result of broadcasting `lhs` with `rhs` (NumPy rule).
///
/// Shapes are aligned on the right; missing leading axes count as 1; each pair
/// of sizes must be equal or contain a 1, and the result takes the other size.
/// A size-0 axis broadcasts with 1 (giving 0) but not with any other size.
/// `op` only names the operation in the error.
///
/// ```
/// use autodiff_runtime::shape::broadcast_shape;
///
/// assert_eq!(broadcast_shape("mul", &[3], &[2, 1]).unwrap(), [2, 3]);
/// assert_eq!(broadcast_shape("add", &[], &[4]).unwrap(), [4]);
/// let err = broadcast_shape("add", &[2, 3], &[4]).unwrap_err();
/// assert_eq!(err.to_string(), "cannot broadcast shapes [2, 3] and [4] for `add`");
/// ```
pub fn broadcast_shape(
    op: &'static str,
    lhs: &[usize],
    rhs: &[usize],
) -> Result<Vec<usize>, ShapeError> {
    let n = lhs.len().max(rhs.len());
    let dim = |s: &[usize], i: usize| {
        if i < n - s.len() {
            1
        } else {
            s[i - (n - s.len())]
        }
    };
    (0..n)
        .map(|i| match (dim(lhs, i), dim(rhs, i)) {
            (a, b) if a == b || b == 1 => Ok(a),
            (1, b) => Ok(b),
            _ => Err(ShapeError::Broadcast {
                op,
                lhs: lhs.to_vec(),
                rhs: rhs.to_vec(),
            }),
        })
        .collect()
}

/// Whether `from` broadcasts to exactly `to`: it has at most as many axes, and
/// each of its sizes, aligned on the right, equals the target size or is 1.
///
/// ```
/// use autodiff_runtime::shape::broadcasts_to;
///
/// assert!(broadcasts_to(&[3], &[2, 3]));
/// assert!(broadcasts_to(&[2, 1], &[2, 3]));
/// assert!(!broadcasts_to(&[2, 3], &[3]));
/// assert!(!broadcasts_to(&[2], &[2, 3]));
/// ```
pub fn broadcasts_to(from: &[usize], to: &[usize]) -> bool {
    from.len() <= to.len()
        && from
            .iter()
            .rev()
            .zip(to.iter().rev())
            .all(|(&f, &t)| f == t || f == 1)
}

/// Row-major strides, in elements, of a contiguous tensor of this shape.
///
/// ```
/// use autodiff_runtime::shape::contiguous_strides;
///
/// assert_eq!(contiguous_strides(&[2, 3, 4]), [12, 4, 1]);
/// assert_eq!(contiguous_strides(&[]), [0usize; 0]);
/// ```
pub fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![0; shape.len()];
    let mut stride = 1;
    for (s, &d) in strides.iter_mut().zip(shape).rev() {
        *s = stride;
        stride *= d;
    }
    strides
}

/// Strides that read a contiguous tensor of shape `from` as if it had shape `to`:
/// stretched (size-1) axes and prepended axes get stride 0, so broadcasting is a
/// view, never a copy.
///
/// # Panics
///
/// If `from` does not broadcast to `to` (see [`broadcasts_to`]).
///
/// ```
/// use autodiff_runtime::shape::broadcast_strides;
///
/// assert_eq!(broadcast_strides(&[3], &[2, 3]), [0, 1]);
/// assert_eq!(broadcast_strides(&[2, 1], &[2, 3]), [1, 0]);
/// assert_eq!(broadcast_strides(&[], &[2, 3]), [0, 0]);
/// ```
#[track_caller]
pub fn broadcast_strides(from: &[usize], to: &[usize]) -> Vec<usize> {
    assert!(
        broadcasts_to(from, to),
        "cannot broadcast shape {from:?} to {to:?}"
    );
    let lead = to.len() - from.len();
    let mut strides = vec![0; to.len()];
    for ((s, &f), c) in strides[lead..]
        .iter_mut()
        .zip(from)
        .zip(contiguous_strides(from))
    {
        *s = if f == 1 { 0 } else { c };
    }
    strides
}

/// Number of elements of a tensor of this shape: the product of its sizes, 1 for rank 0.
///
/// ```
/// use autodiff_runtime::shape::numel;
///
/// assert_eq!(numel(&[2, 3]), 6);
/// assert_eq!(numel(&[]), 1);
/// assert_eq!(numel(&[4, 0]), 0);
/// ```
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_table() {
        // (lhs, rhs, result)
        let ok: &[(&[usize], &[usize], &[usize])] = &[
            (&[], &[], &[]),
            (&[], &[3], &[3]),
            (&[2, 3], &[], &[2, 3]),
            (&[3], &[3], &[3]),
            (&[1], &[3], &[3]),
            (&[3], &[1], &[3]),
            (&[3], &[2, 1], &[2, 3]),
            (&[2, 1], &[3], &[2, 3]),
            (&[2, 1], &[1, 3], &[2, 3]),
            (&[4, 1, 5], &[3, 1], &[4, 3, 5]),
            (&[1, 1, 1], &[7], &[1, 1, 7]),
            (&[5, 1, 3], &[2, 5, 4, 1], &[2, 5, 4, 3]),
            (&[0], &[1], &[0]),
            (&[1], &[0], &[0]),
            (&[0], &[0], &[0]),
            (&[2, 0], &[1], &[2, 0]),
            (&[0, 3], &[3], &[0, 3]),
            (&[0, 1], &[1, 4], &[0, 4]),
            (&[], &[0], &[0]),
        ];
        for &(lhs, rhs, result) in ok {
            assert_eq!(
                broadcast_shape("add", lhs, rhs).unwrap(),
                result,
                "{lhs:?} {rhs:?}"
            );
            assert!(broadcasts_to(lhs, result) && broadcasts_to(rhs, result));
        }
        let failures: &[(&[usize], &[usize])] = &[
            (&[2], &[3]),
            (&[2, 3], &[4]),
            (&[2, 3], &[3, 2]),
            (&[3, 1], &[2, 2]),
            (&[0], &[2]),
            (&[2], &[0]),
            (&[2, 0], &[3]),
            (&[4, 1, 5], &[3, 4]),
        ];
        for &(lhs, rhs) in failures {
            let err = broadcast_shape("mul", lhs, rhs).unwrap_err();
            assert_eq!(
                err,
                ShapeError::Broadcast {
                    op: "mul",
                    lhs: lhs.to_vec(),
                    rhs: rhs.to_vec()
                }
            );
            assert_eq!(
                err.to_string(),
                format!("cannot broadcast shapes {lhs:?} and {rhs:?} for `mul`")
            );
        }
    }

    #[test]
    fn broadcasts_to_table() {
        let cases: &[(&[usize], &[usize], bool)] = &[
            (&[], &[], true),
            (&[], &[2, 3], true),
            (&[1], &[], false),
            (&[3], &[2, 3], true),
            (&[1, 3], &[2, 3], true),
            (&[2, 1], &[2, 3], true),
            (&[2, 3], &[3], false),
            (&[2], &[2, 3], false),
            (&[1], &[0], true),
            (&[0], &[3], false),
            (&[3], &[0], false),
        ];
        for &(from, to, expected) in cases {
            assert_eq!(broadcasts_to(from, to), expected, "{from:?} -> {to:?}");
        }
    }

    #[test]
    fn strides() {
        assert_eq!(contiguous_strides(&[]), Vec::<usize>::new());
        assert_eq!(contiguous_strides(&[5]), [1]);
        assert_eq!(contiguous_strides(&[2, 3, 4]), [12, 4, 1]);
        assert_eq!(contiguous_strides(&[2, 0, 4]), [0, 4, 1]);

        let cases: &[(&[usize], &[usize], &[usize])] = &[
            (&[], &[], &[]),
            (&[], &[2, 3], &[0, 0]),
            (&[3], &[3], &[1]),
            (&[3], &[2, 3], &[0, 1]),
            (&[2, 1], &[2, 3], &[1, 0]),
            (&[1, 3], &[2, 3], &[0, 1]),
            (&[4, 1, 5], &[2, 4, 3, 5], &[0, 5, 0, 1]),
            (&[1], &[0], &[0]),
            (&[2, 3], &[2, 3], &[3, 1]),
        ];
        for &(from, to, strides) in cases {
            assert_eq!(broadcast_strides(from, to), strides, "{from:?} -> {to:?}");
        }
    }

    #[test]
    #[should_panic(expected = "cannot broadcast shape [2, 3] to [3]")]
    fn broadcast_strides_panics() {
        broadcast_strides(&[2, 3], &[3]);
    }

    #[test]
    fn numel_table() {
        assert_eq!(numel(&[]), 1);
        assert_eq!(numel(&[0]), 0);
        assert_eq!(numel(&[3]), 3);
        assert_eq!(numel(&[2, 3, 4]), 24);
        assert_eq!(numel(&[2, 0, 4]), 0);
    }
}
