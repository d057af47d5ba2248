//! PyTorch-style `Display` (and `Debug`) for `Tensor`: `tensor([[ 1.,  2.], [30., 40.]])`.
//!
//! Follows `torch/_tensor_str.py`: one format for all elements (integral floats as `2.`,
//! else 4 decimals, scientific when magnitudes span more than 1000x), right-aligned to a
//! common width, rows wrapped at 80 columns, more than 1000 elements summarised with `...`.

use std::fmt;

use num_traits::Float;

use crate::shape::contiguous_strides;
use crate::Tensor;

const LINE_WIDTH: usize = 80;
const THRESHOLD: usize = 1000;
const EDGE_ITEMS: usize = 3;
const PREFIX: &str = "tensor(";

/// Prints like PyTorch; `{:.N}` sets the number of decimals (default 4).
///
/// ```
/// use autodiff_runtime::{tensor, Tensor};
///
/// assert_eq!(Tensor::scalar(1040.).to_string(), "tensor(1040.)");
/// assert_eq!(tensor![0.5, 1.25].to_string(), "tensor([0.5000, 1.2500])");
/// assert_eq!(format!("{:.2}", tensor![0.5, 1.25]), "tensor([0.50, 1.25])");
/// assert_eq!(
///     tensor![[30.], [36.]].to_string(),
///     "tensor([[30.],\n        [36.]])",
/// );
/// ```
impl<T: Float> fmt::Display for Tensor<T> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.is_empty() {
            return match self.shape() {
                [_] => f.write_str("tensor([])"),
                shape => {
                    let sizes: Vec<String> = shape.iter().map(usize::to_string).collect();
                    write!(f, "tensor([], size=({}))", sizes.join(", "))
                }
            };
        }
        let printer = Printer::new(self, f.precision().unwrap_or(4));
        let body = printer.tensor(0, 0, PREFIX.len());
        write!(f, "{PREFIX}{body})")
    }
}

/// Prints like `Display`, so that `assert_eq!` failures and `dbg!` read well.
///
/// ```
/// use autodiff_runtime::tensor;
///
/// assert_eq!(format!("{:?}", tensor![9., 9., 9.]), "tensor([9., 9., 9.])");
/// ```
impl<T: Float> fmt::Debug for Tensor<T> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

struct Printer<'a> {
    data: Vec<f64>,
    shape: &'a [usize],
    strides: Vec<usize>,
    summarize: bool,
    format: ElementFormat,
}

impl<'a> Printer<'a> {
    fn new<T: Float>(tensor: &'a Tensor<T>, precision: usize) -> Printer<'a> {
        // Converting to f64 is exact for f32 and f64, and PyTorch formats Python floats.
        let data: Vec<f64> = tensor
            .as_slice()
            .iter()
            .map(|x| x.to_f64().unwrap())
            .collect();
        let shape = tensor.shape();
        let strides = contiguous_strides(shape);
        let summarize = tensor.len() > THRESHOLD;
        let mut shown = Vec::new();
        collect_shown(&data, shape, &strides, 0, summarize, &mut shown);
        let format = ElementFormat::new(&shown, precision);
        Printer {
            data,
            shape,
            strides,
            summarize,
            format,
        }
    }

    /// The sub-tensor starting at `offset` whose first axis is `axis`.
    fn tensor(&self, offset: usize, axis: usize, indent: usize) -> String {
        if axis == self.shape.len() {
            return self.format.format(self.data[offset]);
        }
        let rank = self.shape.len() - axis;
        let items = shown_indices(self.shape[axis], self.summarize);
        if rank == 1 {
            let elements: Vec<String> = items
                .into_iter()
                .map(|i| match i {
                    Some(i) => self
                        .format
                        .format(self.data[offset + i * self.strides[axis]]),
                    None => " ...".to_string(),
                })
                .collect();
            let per_line = (LINE_WIDTH.saturating_sub(indent) / (self.format.width + 2)).max(1);
            let lines: Vec<String> = elements
                .chunks(per_line)
                .map(|line| line.join(", "))
                .collect();
            return format!(
                "[{}]",
                lines.join(&format!(",\n{}", " ".repeat(indent + 1)))
            );
        }
        let slices: Vec<String> = items
            .into_iter()
            .map(|i| match i {
                Some(i) => self.tensor(offset + i * self.strides[axis], axis + 1, indent + 1),
                None => "...".to_string(),
            })
            .collect();
        let separator = format!(",{}{}", "\n".repeat(rank - 1), " ".repeat(indent + 1));
        format!("[{}]", slices.join(&separator))
    }
}

/// Indices printed along an axis of length `len`; `None` marks the `...`.
fn shown_indices(len: usize, summarize: bool) -> Vec<Option<usize>> {
    if summarize && len > 2 * EDGE_ITEMS {
        (0..EDGE_ITEMS)
            .map(Some)
            .chain([None])
            .chain((len - EDGE_ITEMS..len).map(Some))
            .collect()
    } else {
        (0..len).map(Some).collect()
    }
}

/// The values that will be printed: the format is chosen from these only, like PyTorch.
fn collect_shown(
    data: &[f64],
    shape: &[usize],
    strides: &[usize],
    offset: usize,
    summarize: bool,
    out: &mut Vec<f64>,
) {
    match shape {
        [] => out.push(data[offset]),
        [len, rest @ ..] => {
            for i in shown_indices(*len, summarize).into_iter().flatten() {
                collect_shown(
                    data,
                    rest,
                    &strides[1..],
                    offset + i * strides[0],
                    summarize,
                    out,
                );
            }
        }
    }
}

/// One format for every element of a tensor (PyTorch's `_Formatter`).
struct ElementFormat {
    int_mode: bool,
    sci_mode: bool,
    precision: usize,
    width: usize,
}

impl ElementFormat {
    fn new(values: &[f64], precision: usize) -> ElementFormat {
        let mut format = ElementFormat {
            int_mode: true,
            sci_mode: false,
            precision,
            width: 1,
        };
        let finite: Vec<f64> = values
            .iter()
            .copied()
            .filter(|v| v.is_finite() && *v != 0.)
            .collect();
        if finite.is_empty() {
            return format;
        }
        let max = finite.iter().fold(0., |m: f64, v| m.max(v.abs()));
        let min = finite
            .iter()
            .fold(f64::INFINITY, |m: f64, v| m.min(v.abs()));
        format.int_mode = finite.iter().all(|v| *v == v.ceil());
        format.sci_mode = max / min > 1000. || max > 1e8 || (!format.int_mode && min < 1e-4);
        format.width = finite
            .iter()
            .map(|&v| format.text(v).len())
            .max()
            .unwrap_or(1);
        format
    }

    /// A finite value, unpadded.
    fn text(&self, v: f64) -> String {
        if self.sci_mode {
            scientific(v, self.precision)
        } else if self.int_mode {
            format!("{v:.0}.")
        } else {
            format!("{v:.*}", self.precision)
        }
    }

    /// Any value, right-aligned to the common width.
    fn format(&self, v: f64) -> String {
        let text = if v.is_nan() {
            "nan".to_string()
        } else if v.is_infinite() {
            if v > 0. { "inf" } else { "-inf" }.to_string()
        } else {
            self.text(v)
        };
        format!("{text:>width$}", width = self.width)
    }
}

/// Python's `{:.Ne}`: `1.2346e+04`, a sign and at least two exponent digits.
fn scientific(v: f64, precision: usize) -> String {
    let text = format!("{v:.precision$e}");
    let (mantissa, exponent) = text.split_once('e').unwrap();
    let exponent: i32 = exponent.parse().unwrap();
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
}

#[cfg(test)]
mod tests {
    use crate::tensor;
    use crate::Tensor;

    #[test]
    fn notebook_strings() {
        assert_eq!(Tensor::scalar(1040.).to_string(), "tensor(1040.)");
        assert_eq!(tensor![9., 9., 9.].to_string(), "tensor([9., 9., 9.])");
        assert_eq!(
            tensor![[16., 33., 5.], [56., 85., 33.], [161., 120., 56.]].to_string(),
            "tensor([[ 16.,  33.,   5.],\n        [ 56.,  85.,  33.],\n        [161., 120.,  56.]])"
        );
        assert_eq!(
            tensor![[12., 36., 2.], [80., 150., 36.], [392., 252., 80.]].to_string(),
            "tensor([[ 12.,  36.,   2.],\n        [ 80., 150.,  36.],\n        [392., 252.,  80.]])"
        );
        assert_eq!(
            tensor![[30.], [36.]].to_string(),
            "tensor([[30.],\n        [36.]])"
        );
        assert_eq!(tensor![0.5, 1.25].to_string(), "tensor([0.5000, 1.2500])");
        assert_eq!(
            tensor![[10., 16., 22.], [22., 16., 10.]].to_string(),
            "tensor([[10., 16., 22.],\n        [22., 16., 10.]])"
        );
        assert_eq!(tensor![1.0_f32, 2.].to_string(), "tensor([1., 2.])");
    }

    #[test]
    fn element_formats() {
        assert_eq!(tensor![-1., 2.5].to_string(), "tensor([-1.0000,  2.5000])");
        // only nonzero finite values set the width, so `-0.` is not aligned
        assert_eq!(tensor![0., -0.].to_string(), "tensor([0., -0.])");
        assert_eq!(
            tensor![0.1_f32, 0.2].to_string(),
            "tensor([0.1000, 0.2000])"
        );
        assert_eq!(Tensor::scalar(0.25).to_string(), "tensor(0.2500)");
        assert_eq!(Tensor::scalar(-3.).to_string(), "tensor(-3.)");
        // scientific: tiny values, or magnitudes more than 1000x apart
        assert_eq!(
            tensor![1e-5, 1.].to_string(),
            "tensor([1.0000e-05, 1.0000e+00])"
        );
        assert_eq!(
            tensor![1., 2000.].to_string(),
            "tensor([1.0000e+00, 2.0000e+03])"
        );
        assert_eq!(tensor![1., 1000.].to_string(), "tensor([   1., 1000.])");
        assert_eq!(Tensor::scalar(1e9).to_string(), "tensor(1.0000e+09)");
        assert_eq!(Tensor::scalar(1.5e-120).to_string(), "tensor(1.5000e-120)");
        // non-finite values do not choose the format, and are padded like the others
        assert_eq!(tensor![1., f64::NAN].to_string(), "tensor([1., nan])");
        assert_eq!(
            tensor![100., f64::INFINITY, f64::NEG_INFINITY].to_string(),
            "tensor([100.,  inf, -inf])"
        );
        assert_eq!(
            tensor![0.5, f64::NAN].to_string(),
            "tensor([0.5000,    nan])"
        );
        assert_eq!(Tensor::scalar(f64::NAN).to_string(), "tensor(nan)");
        assert_eq!(tensor![0., 0.].to_string(), "tensor([0., 0.])");
    }

    #[test]
    fn precision() {
        assert_eq!(format!("{:.2}", tensor![0.5, 1.25]), "tensor([0.50, 1.25])");
        assert_eq!(
            format!("{:.1}", tensor![1e-5, 1.]),
            "tensor([1.0e-05, 1.0e+00])"
        );
        assert_eq!(format!("{:.2}", tensor![1., 2.]), "tensor([1., 2.])");
        assert_eq!(format!("{:.6?}", Tensor::scalar(0.5)), "tensor(0.500000)");
    }

    #[test]
    fn nesting_and_empty() {
        let c = Tensor::<f64>::ones(&[2, 2, 3]);
        assert_eq!(
            c.to_string(),
            "tensor([[[1., 1., 1.],\n         [1., 1., 1.]],\n\n        [[1., 1., 1.],\n         [1., 1., 1.]]])"
        );
        assert_eq!(Tensor::<f64>::zeros(&[0]).to_string(), "tensor([])");
        assert_eq!(
            Tensor::<f64>::zeros(&[2, 0]).to_string(),
            "tensor([], size=(2, 0))"
        );
        assert_eq!(tensor![[1.]].to_string(), "tensor([[1.]])");
    }

    #[test]
    fn wrapping_and_summary() {
        // width 3 ("29."): (80 - 7) / (3 + 2) = 14 elements per line
        let t = Tensor::arange(0., 30., 1.);
        assert_eq!(
            t.to_string(),
            "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n        \
             14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,\n        \
             28., 29.])"
        );
        let t = Tensor::arange(0., 2000., 1.);
        assert_eq!(
            t.to_string(),
            "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n        \
             1.9990e+03])"
        );
        let t = Tensor::arange(100., 1110., 1.).reshape(&[101, 10]);
        assert_eq!(
            t.to_string(),
            "tensor([[ 100.,  101.,  102.,  ...,  107.,  108.,  109.],\n        \
             [ 110.,  111.,  112.,  ...,  117.,  118.,  119.],\n        \
             [ 120.,  121.,  122.,  ...,  127.,  128.,  129.],\n        \
             ...,\n        \
             [1080., 1081., 1082.,  ..., 1087., 1088., 1089.],\n        \
             [1090., 1091., 1092.,  ..., 1097., 1098., 1099.],\n        \
             [1100., 1101., 1102.,  ..., 1107., 1108., 1109.]])"
        );
    }
}
