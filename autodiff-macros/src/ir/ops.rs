//! THE op table: every operation's name, result kind, folding, and derivative rule.
//!
//! Adding an operation is one variant plus one arm in each `match` below; the matches have
//! no `_ =>` arm, so a new variant does not compile until its rule is written.

use super::graph::{Graph, Id, Kind};
use super::op::Op;

/// How an op is written in generated code.
pub(crate) enum Style {
    /// `a + b` on scalars, `__private::add(&a, &b)` otherwise.
    Infix(&'static str),
    /// `-a`.
    Prefix(&'static str),
    /// A method of `num_traits::Float`: `a.sin()` on scalars, `__private::sin(&a)` otherwise.
    FloatMethod,
    /// Always `__private::name(&a, ..)`.
    Runtime,
    /// Written by the emitter itself (leaves, structure).
    Special,
}

/// The name used in generated code, formulas and traces.
pub(crate) fn name(op: Op) -> &'static str {
    match op {
        Op::Param(_) => "param",
        Op::Const(_) => "const",
        Op::Cotangent => "cotangent",
        Op::Opaque(_) => "expr",
        Op::Index(_) => "index",
        Op::Call(_) => "call",
        Op::Pullback(_) => "pullback",
        Op::Pullback2(_) => "pullback2",
        Op::NoGrad => "no_grad",
        Op::Project(_) => "project",
        Op::Pack | Op::ArrayLit => "array",
        Op::Pushforward(_) => "pushforward",
        Op::PushforwardPullback(_) => "pushforward_pullback",
        Op::Phi(_) => "if",
        Op::IndexDyn => "index",
        Op::OneHot => "one_hot",
        Op::Fused(_) => "fused",
        Op::FusedGrad(_) => "fused_grad",
        Op::FusedPart(_) => "fused_part",
        Op::Loop(_) => "for",
        Op::LoopOut(_) => "loop_out",
        Op::LoopPullback(_) => "loop_pullback",
        Op::LoopGrad(_) => "loop_grad",
        Op::Lt => "lt",
        Op::Le => "le",
        Op::Gt => "gt",
        Op::Ge => "ge",
        Op::Eq => "eq",
        Op::Ne => "ne",
        Op::Not => "not",
        Op::And => "and",
        Op::Or => "or",
        Op::Neg => "neg",
        Op::Add => "add",
        Op::Sub => "sub",
        Op::Mul => "mul",
        Op::Div => "div",
        Op::Powi(_) => "powi",
        Op::Powf => "powf",
        Op::Sqrt => "sqrt",
        Op::Cbrt => "cbrt",
        Op::Exp => "exp",
        Op::Exp2 => "exp2",
        Op::ExpM1 => "exp_m1",
        Op::Ln => "ln",
        Op::Ln1p => "ln_1p",
        Op::Log => "log",
        Op::Log2 => "log2",
        Op::Log10 => "log10",
        Op::Sin => "sin",
        Op::Cos => "cos",
        Op::Tan => "tan",
        Op::Asin => "asin",
        Op::Acos => "acos",
        Op::Atan => "atan",
        Op::Atan2 => "atan2",
        Op::Sinh => "sinh",
        Op::Cosh => "cosh",
        Op::Tanh => "tanh",
        Op::Asinh => "asinh",
        Op::Acosh => "acosh",
        Op::Atanh => "atanh",
        Op::Abs => "abs",
        Op::Signum => "signum",
        Op::Recip => "recip",
        Op::Floor => "floor",
        Op::Ceil => "ceil",
        Op::Round => "round",
        Op::Trunc => "trunc",
        Op::Hypot => "hypot",
        Op::Max => "max",
        Op::Min => "min",
        Op::Clamp => "clamp",
        Op::MulAdd => "mul_add",
        Op::Sigmoid => "sigmoid",
        Op::Relu => "relu",
        Op::Softplus => "softplus",
        Op::Sum => "sum",
        Op::Mean => "mean",
        Op::SumAxis(_) => "sum_axis",
        Op::MeanAxis(_) => "mean_axis",
        Op::Matmul => "matmul",
        Op::Dot => "dot",
        Op::Transpose => "transpose",
        Op::Reshape(_) => "reshape",
        Op::Sgn => "sgn",
        Op::Step => "step",
        Op::MaxWeight => "max_weight",
        Op::ClampWeight => "clamp_weight",
        Op::PowfGradX => "powf_grad_x",
        Op::PowfGradY => "powf_grad_y",
        Op::PowfGradYY => "powf_grad_yy",
        Op::PowfGradXX => "powf_grad_xx",
        Op::SumTo => "sum_to",
        Op::BroadcastLike => "broadcast_like",
        Op::Numel => "numel",
        Op::UnsumAxis(_) => "unsum_axis",
        Op::UnmeanAxis(_) => "unmean_axis",
        Op::MatmulGradLhs => "matmul_grad_lhs",
        Op::MatmulGradRhs => "matmul_grad_rhs",
        Op::ReshapeLike => "reshape_like",
        Op::ZerosLike => "zeros_like",
        Op::MaxAll => "max_all",
        Op::MinAll => "min_all",
        Op::Logsumexp => "logsumexp",
        Op::MaxAxis(_) => "max_axis",
        Op::MinAxis(_) => "min_axis",
        Op::LogsumexpAxis(_) => "logsumexp_axis",
        Op::Softmax(_) => "softmax",
        Op::LogSoftmax(_) => "log_softmax",
        Op::Unsqueeze(_) => "unsqueeze",
        Op::ExtremumGrad => "extremum_grad",
        Op::ExtremumAxisGrad(_) => "extremum_axis_grad",
    }
}

pub(crate) fn style(op: Op) -> Style {
    match op {
        Op::Param(_)
        | Op::Const(_)
        | Op::Cotangent
        | Op::Opaque(_)
        | Op::Index(_)
        | Op::Call(_) => Style::Special,
        Op::Pullback(_) | Op::Project(_) | Op::Phi(_) | Op::Reshape(_) => Style::Special,
        Op::Pullback2(_) | Op::NoGrad | Op::Pack | Op::ArrayLit | Op::Pushforward(_) => {
            Style::Special
        }
        Op::PushforwardPullback(_) => Style::Special,
        Op::IndexDyn | Op::Loop(_) | Op::LoopOut(_) | Op::LoopPullback(_) | Op::LoopGrad(_) => {
            Style::Special
        }
        Op::OneHot | Op::Fused(_) | Op::FusedGrad(_) | Op::FusedPart(_) => Style::Special,
        Op::SumAxis(_) | Op::MeanAxis(_) | Op::UnsumAxis(_) | Op::UnmeanAxis(_) | Op::Powi(_) => {
            Style::Special
        }
        Op::Lt => Style::Infix("<"),
        Op::Le => Style::Infix("<="),
        Op::Gt => Style::Infix(">"),
        Op::Ge => Style::Infix(">="),
        Op::Eq => Style::Infix("=="),
        Op::Ne => Style::Infix("!="),
        Op::And => Style::Infix("&&"),
        Op::Or => Style::Infix("||"),
        Op::Not => Style::Prefix("!"),
        Op::Neg => Style::Prefix("-"),
        Op::Add => Style::Infix("+"),
        Op::Sub => Style::Infix("-"),
        Op::Mul => Style::Infix("*"),
        Op::Div => Style::Infix("/"),
        Op::Powf
        | Op::Sqrt
        | Op::Cbrt
        | Op::Exp
        | Op::Exp2
        | Op::ExpM1
        | Op::Ln
        | Op::Ln1p
        | Op::Log => Style::FloatMethod,
        Op::Log2
        | Op::Log10
        | Op::Sin
        | Op::Cos
        | Op::Tan
        | Op::Asin
        | Op::Acos
        | Op::Atan
        | Op::Atan2 => Style::FloatMethod,
        Op::Sinh
        | Op::Cosh
        | Op::Tanh
        | Op::Asinh
        | Op::Acosh
        | Op::Atanh
        | Op::Abs
        | Op::Signum => Style::FloatMethod,
        Op::Recip
        | Op::Floor
        | Op::Ceil
        | Op::Round
        | Op::Trunc
        | Op::Hypot
        | Op::Max
        | Op::Min => Style::FloatMethod,
        Op::MulAdd => Style::FloatMethod,
        Op::Clamp | Op::Sigmoid | Op::Relu | Op::Softplus | Op::Sum | Op::Mean => Style::Runtime,
        Op::Matmul
        | Op::Dot
        | Op::Transpose
        | Op::Sgn
        | Op::Step
        | Op::MaxWeight
        | Op::ClampWeight => Style::Runtime,
        Op::PowfGradX
        | Op::PowfGradY
        | Op::PowfGradYY
        | Op::PowfGradXX
        | Op::SumTo
        | Op::BroadcastLike
        | Op::Numel => Style::Runtime,
        Op::MatmulGradLhs | Op::MatmulGradRhs | Op::ReshapeLike | Op::ZerosLike => Style::Runtime,
        Op::MaxAll | Op::MinAll | Op::Logsumexp | Op::ExtremumGrad => Style::Runtime,
        Op::MaxAxis(_) | Op::MinAxis(_) | Op::LogsumexpAxis(_) | Op::Softmax(_) => Style::Special,
        Op::LogSoftmax(_) | Op::Unsqueeze(_) | Op::ExtremumAxisGrad(_) => Style::Special,
    }
}

/// Methods a body may call on a differentiable value, with their operand count (receiver
/// included). `powi`, `sum_axis`, `mean_axis` and `reshape` take a non-float argument and are
/// recognised by the parser.
pub(crate) const METHODS: &[(Op, usize)] = &[
    (Op::Powf, 2),
    (Op::Sqrt, 1),
    (Op::Cbrt, 1),
    (Op::Exp, 1),
    (Op::Exp2, 1),
    (Op::ExpM1, 1),
    (Op::Ln, 1),
    (Op::Ln1p, 1),
    (Op::Log, 2),
    (Op::Log2, 1),
    (Op::Log10, 1),
    (Op::Sin, 1),
    (Op::Cos, 1),
    (Op::Tan, 1),
    (Op::Asin, 1),
    (Op::Acos, 1),
    (Op::Atan, 1),
    (Op::Atan2, 2),
    (Op::Sinh, 1),
    (Op::Cosh, 1),
    (Op::Tanh, 1),
    (Op::Asinh, 1),
    (Op::Acosh, 1),
    (Op::Atanh, 1),
    (Op::Abs, 1),
    (Op::Signum, 1),
    (Op::Recip, 1),
    (Op::Floor, 1),
    (Op::Ceil, 1),
    (Op::Round, 1),
    (Op::Trunc, 1),
    (Op::Hypot, 2),
    (Op::Max, 2),
    (Op::Min, 2),
    (Op::Clamp, 3),
    (Op::MulAdd, 3),
    (Op::Sigmoid, 1),
    (Op::Relu, 1),
    (Op::Softplus, 1),
    (Op::Sum, 1),
    (Op::Mean, 1),
    (Op::Matmul, 2),
    (Op::Dot, 2),
    (Op::Transpose, 1),
    (Op::MaxAll, 1),
    (Op::MinAll, 1),
    (Op::Logsumexp, 1),
];

/// Methods that take one integer-literal axis (`x.softmax(1)`), recognised by the parser
/// beside `sum_axis` and `mean_axis`.
pub(crate) fn axis_method(method: &str, k: u32) -> Option<Op> {
    Some(match method {
        "max_axis" => Op::MaxAxis(k),
        "min_axis" => Op::MinAxis(k),
        "logsumexp_axis" => Op::LogsumexpAxis(k),
        "softmax" => Op::Softmax(k),
        "log_softmax" => Op::LogSoftmax(k),
        "unsqueeze" => Op::Unsqueeze(k),
        _ => return None,
    })
}

/// The op a method name stands for, and its operand count.
pub(crate) fn from_method(method: &str) -> Option<(Op, usize)> {
    METHODS.iter().copied().find(|(op, _)| name(*op) == method)
}

/// Every method name a body may call, for error messages.
pub(crate) fn method_names() -> String {
    let mut names: Vec<&str> = METHODS.iter().map(|(op, _)| name(*op)).collect();
    names.extend(["powi", "sum_axis", "mean_axis", "reshape"]);
    names.extend([
        "max_axis",
        "min_axis",
        "logsumexp_axis",
        "softmax",
        "log_softmax",
    ]);
    names.push("unsqueeze");
    // Written with the operations above (`parse/body.rs`).
    names.extend(["to_degrees", "to_radians", "fract"]);
    names.join(", ")
}

/// Operations whose derivative is zero wherever it exists (and booleans): their results do
/// not carry gradient.
pub(crate) fn propagates_activity(op: Op) -> bool {
    !matches!(
        op,
        Op::Lt
            | Op::Le
            | Op::Gt
            | Op::Ge
            | Op::Eq
            | Op::Ne
            | Op::Not
            | Op::And
            | Op::Or
            | Op::Signum
            | Op::Floor
            | Op::Ceil
            | Op::Round
            | Op::Trunc
            | Op::Sgn
            | Op::Step
            | Op::MaxWeight
            | Op::ClampWeight
            | Op::Numel
            | Op::ZerosLike
    )
}

pub(crate) fn result_kind(g: &Graph, op: Op, args: &[Id]) -> Kind {
    let k = |i: usize| g.kind(args[i]);
    match op {
        Op::Param(i) => g.params[i as usize].kind,
        // An element of a struct leaf (`self.layers[i]`) has the leaf's unknown kind.
        Op::IndexDyn if k(0) == Kind::Unknown => Kind::Unknown,
        Op::Const(_) | Op::Index(_) | Op::IndexDyn => Kind::Scalar,
        Op::Loop(_) | Op::LoopPullback(_) => Kind::Unknown,
        // Of a call's result (type unknown here): a sequence all the same, summed as one.
        Op::OneHot if k(1) == Kind::Unknown => Kind::Slice,
        Op::OneHot => k(1),
        Op::Fused(_) => Kind::Scalar,
        Op::FusedGrad(_) => Kind::Unknown,
        Op::FusedPart(i) => g.kind(g[args[0]].args[1 + i as usize]),
        Op::LoopOut(j) => {
            let info = &g.loops[loop_index(g, args[0]) as usize];
            let (_, body_node) = info.carried[j as usize];
            info.body.kind(body_node)
        }
        Op::LoopGrad(i) => {
            let lp = g[args[0]].args[0];
            g.kind(g[lp].args[i as usize])
        }
        Op::Cotangent => g.result_kind,
        Op::Opaque(k) => g.opaques[k as usize].kind,
        Op::Call(_) | Op::Pullback(_) | Op::Pullback2(_) | Op::NoGrad => Kind::Unknown,
        Op::Pushforward(_) | Op::PushforwardPullback(_) => Kind::Unknown,
        Op::Project(_) if matches!(g[args[0]].op, Op::Pushforward(_)) => Kind::Unknown,
        Op::Project(i) => g.kind(g[args[0]].args[i as usize]),
        Op::Pack => match g.result_kind {
            Kind::Slice => Kind::Slice,
            _ => Kind::Array,
        },
        Op::ArrayLit => Kind::Array,
        Op::Phi(_) => {
            if k(0) == k(1) {
                k(0)
            } else {
                k(0).join(k(1))
            }
        }
        Op::Lt | Op::Le | Op::Gt | Op::Ge | Op::Eq | Op::Ne | Op::Not | Op::And | Op::Or => {
            Kind::Bool
        }
        Op::Neg
        | Op::Powi(_)
        | Op::Sqrt
        | Op::Cbrt
        | Op::Exp
        | Op::Exp2
        | Op::ExpM1
        | Op::Ln
        | Op::Ln1p => k(0),
        Op::Log2 | Op::Log10 | Op::Sin | Op::Cos | Op::Tan | Op::Asin | Op::Acos | Op::Atan => k(0),
        Op::Sinh
        | Op::Cosh
        | Op::Tanh
        | Op::Asinh
        | Op::Acosh
        | Op::Atanh
        | Op::Abs
        | Op::Signum => k(0),
        Op::Recip
        | Op::Floor
        | Op::Ceil
        | Op::Round
        | Op::Trunc
        | Op::Sigmoid
        | Op::Relu
        | Op::Softplus => k(0),
        Op::Clamp | Op::ClampWeight | Op::Sgn | Op::Step | Op::ZerosLike => k(0),
        Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Powf | Op::Log | Op::Atan2 | Op::Hypot => {
            k(0).join(k(1))
        }
        Op::Max
        | Op::Min
        | Op::MaxWeight
        | Op::PowfGradX
        | Op::PowfGradY
        | Op::PowfGradYY
        | Op::PowfGradXX => k(0).join(k(1)),
        Op::MulAdd => k(0).join(k(1)).join(k(2)),
        Op::Sum | Op::Mean | Op::Dot | Op::Numel => Kind::Scalar,
        Op::SumAxis(_) | Op::MeanAxis(_) | Op::Matmul | Op::Transpose | Op::Reshape(_) => {
            Kind::Tensor
        }
        Op::SumTo | Op::BroadcastLike | Op::UnsumAxis(_) | Op::UnmeanAxis(_) | Op::ReshapeLike => {
            k(1)
        }
        Op::MatmulGradLhs => k(1),
        Op::MatmulGradRhs => k(2),
        Op::MaxAll | Op::MinAll | Op::Logsumexp => Kind::Scalar,
        Op::MaxAxis(_) | Op::MinAxis(_) | Op::LogsumexpAxis(_) | Op::Softmax(_) => Kind::Tensor,
        Op::LogSoftmax(_) | Op::Unsqueeze(_) => Kind::Tensor,
        Op::ExtremumGrad | Op::ExtremumAxisGrad(_) => k(1),
    }
}

/// Evaluates an op on constant scalars (for folding), where that is exact to do in f64.
fn eval(op: Op, a: &[f64]) -> Option<f64> {
    Some(match op {
        Op::Neg => -a[0],
        Op::Add => a[0] + a[1],
        Op::Sub => a[0] - a[1],
        Op::Mul => a[0] * a[1],
        Op::Div => a[0] / a[1],
        Op::Powi(n) => a[0].powi(n),
        Op::Powf => a[0].powf(a[1]),
        Op::Sqrt => a[0].sqrt(),
        Op::Exp => a[0].exp(),
        Op::Ln => a[0].ln(),
        Op::Abs => a[0].abs(),
        Op::Recip => 1.0 / a[0],
        _ => return None,
    })
}

/// The smart-constructor rewrites: constant folding and identities that hold exactly in
/// IEEE arithmetic for every value of the other operand. `None`: build the node as asked.
pub(crate) fn simplify(g: &mut Graph, op: Op, args: &[Id]) -> Option<Id> {
    let c = |g: &Graph, i: usize| g.as_const(args[i]);
    let consts: Option<Vec<f64>> = args.iter().map(|&a| g.as_const(a)).collect();
    if let Some(values) = consts {
        if !args.is_empty() {
            if let Some(v) = eval(op, &values) {
                return Some(g.constant(v));
            }
        }
    }
    match op {
        Op::Add if c(g, 0) == Some(0.0) => Some(args[1]),
        Op::Add | Op::Sub if c(g, 1) == Some(0.0) => Some(args[0]),
        Op::Sub if c(g, 0) == Some(0.0) => Some(g.neg(args[1])),
        Op::Mul => {
            // Constants first: `c * x`, and `c1 * (c2 * x)` is `(c1 c2) * x`.
            if c(g, 0).is_none() && c(g, 1).is_some() {
                return Some(g.mul(args[1], args[0]));
            }
            // A constant factor inside either operand moves to the front, where it meets
            // other constants: `(c a) * b` is `c * (a b)`; a negation becomes a factor -1.
            if c(g, 0).is_none() {
                for (side, other) in [(0, 1), (1, 0)] {
                    let inner = &g[args[side]];
                    if inner.op == Op::Mul {
                        if let Some(k) = g.as_const(inner.args[0]) {
                            let rest = inner.args[1];
                            let (a, b) = if side == 0 {
                                (rest, args[other])
                            } else {
                                (args[other], rest)
                            };
                            let ab = g.mul(a, b);
                            let kk = g.constant(k);
                            return Some(g.mul(kk, ab));
                        }
                    }
                    if inner.op == Op::Neg {
                        let rest = inner.args[0];
                        let (a, b) = if side == 0 {
                            (rest, args[other])
                        } else {
                            (args[other], rest)
                        };
                        let ab = g.mul(a, b);
                        return Some(g.neg(ab));
                    }
                }
            }
            let k = c(g, 0)?;
            let x = args[1];
            if k == 1.0 {
                return Some(x);
            }
            if k == -1.0 {
                return Some(g.neg(x));
            }
            if g[x].op == Op::Mul {
                if let Some(k2) = g.as_const(g[x].args[0]) {
                    let inner = g[x].args[1];
                    let kk = g.constant(k * k2);
                    return Some(g.mul(kk, inner));
                }
            }
            if g[x].op == Op::Neg {
                let inner = g[x].args[0];
                let kk = g.constant(-k);
                return Some(g.mul(kk, inner));
            }
            None
        }
        Op::Div if c(g, 1) == Some(1.0) => Some(args[0]),
        Op::Neg => match g[args[0]].op {
            Op::Neg => Some(g[args[0]].args[0]),
            // -(c a) is (-c) a.
            Op::Mul if g.as_const(g[args[0]].args[0]).is_some() => {
                let (k, a) = (
                    g.as_const(g[args[0]].args[0]).unwrap_or(0.0),
                    g[args[0]].args[1],
                );
                let kk = g.constant(-k);
                Some(g.mul(kk, a))
            }
            _ => None,
        },
        // a + a is 2a (exact).
        Op::Add if args[0] == args[1] => {
            let two = g.constant(2.0);
            Some(g.mul(two, args[0]))
        }
        // a + (-b) is a - b; (-a) + b is b - a; a - (-b) is a + b.
        Op::Add if g[args[1]].op == Op::Neg => {
            let b = g[args[1]].args[0];
            Some(g.minus(args[0], b))
        }
        Op::Add if g[args[0]].op == Op::Neg => {
            let a = g[args[0]].args[0];
            Some(g.minus(args[1], a))
        }
        Op::Sub if g[args[1]].op == Op::Neg => {
            let b = g[args[1]].args[0];
            Some(g.plus(args[0], b))
        }
        Op::Powi(1) => Some(args[0]),
        _ => None,
    }
}

/// Why a reverse sweep cannot go through a node.
pub(crate) enum NoRule {
    /// An expression kept as written depends on a differentiated value.
    Opaque,
    /// A second derivative through a call, a loop or a matrix product.
    SecondOrder,
    /// An element read (`v[0]`) of an array that is not a parameter.
    Element,
    /// A loop: the sweep builds its pullback from the adjoints of all its outputs.
    Loop,
}

/// Operations applied element by element, which a fused kernel can compute per element.
pub(crate) fn is_elementwise(op: Op) -> bool {
    matches!(
        op,
        Op::Neg
            | Op::Add
            | Op::Sub
            | Op::Mul
            | Op::Div
            | Op::Powi(_)
            | Op::Powf
            | Op::Sqrt
            | Op::Cbrt
            | Op::Exp
            | Op::Exp2
            | Op::ExpM1
            | Op::Ln
            | Op::Ln1p
            | Op::Log
            | Op::Log2
            | Op::Log10
            | Op::Sin
            | Op::Cos
            | Op::Tan
            | Op::Asin
            | Op::Acos
            | Op::Atan
            | Op::Atan2
            | Op::Sinh
            | Op::Cosh
            | Op::Tanh
            | Op::Asinh
            | Op::Acosh
            | Op::Atanh
            | Op::Abs
            | Op::Signum
            | Op::Recip
            | Op::Floor
            | Op::Ceil
            | Op::Round
            | Op::Trunc
            | Op::Hypot
            | Op::Max
            | Op::Min
            | Op::Sigmoid
            | Op::Relu
            | Op::Softplus
    )
}

/// The loop number of a `Loop` node.
pub(crate) fn loop_index(g: &Graph, id: Id) -> u32 {
    match g[id].op {
        Op::Loop(k) => k,
        _ => unreachable!("a LoopOut reads a Loop"),
    }
}

/// One contribution per differentiated operand: component i of `backward`, a node that
/// computes the adjoints of all operands at once.
fn components(g: &mut Graph, operands: &[Id], backward: Id, part: fn(u32) -> Op) -> Vec<(Id, Id)> {
    let mut out = Vec::new();
    for (i, &arg) in operands.iter().enumerate() {
        if g.is_active(arg) {
            out.push((arg, g.add_raw(part(i as u32), vec![backward])));
        }
    }
    out
}

fn sum_to(g: &mut Graph, c: Id, like: Id) -> Id {
    if g.kind(c) == Kind::Scalar && g.kind(like) == Kind::Scalar {
        c
    } else {
        g.binary(Op::SumTo, c, like)
    }
}

fn square(g: &mut Graph, x: Id) -> Id {
    g.unary(Op::Powi(2), x)
}

/// `d / sqrt(1 - x²)`-style helper: `d / f`.
fn over(g: &mut Graph, d: Id, f: Id) -> Id {
    g.div(d, f)
}

/// The two partial derivatives of a derivative helper of `x^y` (`PowfGradX`, `PowfGradY`,
/// `PowfGradYY`), written with the helpers again so that their values at x = 0 follow the same
/// convention as the first derivatives (`0^y·ln 0` is 0 for y >= 0), and a Hessian of `x**y`
/// is finite where its gradient is:
/// - y·x^(y-1): ∂x = PowfGradXX(x, y), ∂y = x^(y-1) + y·PowfGradY(x, y-1);
/// - y·(y-1)·x^(y-2): ∂x = y·PowfGradXX(x, y-1), ∂y = (2y-1)·x^(y-2) + y·(y-1)·PowfGradY(x, y-2);
/// - x^y·ln x: ∂x = x^(y-1) + y·PowfGradY(x, y-1), ∂y = PowfGradYY(x, y);
/// - x^y·(ln x)²: ∂x = 2·PowfGradY(x, y-1) + y·PowfGradYY(x, y-1), ∂y = PowfGradYY(x, y)·ln x.
fn powf_partials(g: &mut Graph, op: Op, x: Id, y: Id) -> (Id, Id) {
    let o = g.constant(1.0);
    let y1 = g.minus(y, o);
    match op {
        Op::PowfGradX => {
            let dx = g.binary(Op::PowfGradXX, x, y);
            let p = g.binary(Op::Powf, x, y1);
            let q = g.binary(Op::PowfGradY, x, y1);
            let yq = g.mul(y, q);
            (dx, g.plus(p, yq))
        }
        Op::PowfGradY => {
            let p = g.binary(Op::Powf, x, y1);
            let q = g.binary(Op::PowfGradY, x, y1);
            let yq = g.mul(y, q);
            (g.plus(p, yq), g.binary(Op::PowfGradYY, x, y))
        }
        Op::PowfGradXX => {
            let w = g.binary(Op::PowfGradXX, x, y1);
            let dx = g.mul(y, w);
            let two = g.constant(2.0);
            let y2 = g.minus(y1, o);
            let c = g.mul(two, y);
            let c = g.minus(c, o);
            let p = g.binary(Op::Powf, x, y2);
            let cp = g.mul(c, p);
            let yy = g.mul(y, y1);
            let q = g.binary(Op::PowfGradY, x, y2);
            let yq = g.mul(yy, q);
            (dx, g.plus(cp, yq))
        }
        _ => {
            let two = g.constant(2.0);
            let q = g.binary(Op::PowfGradY, x, y1);
            let q2 = g.mul(two, q);
            let r = g.binary(Op::PowfGradYY, x, y1);
            let yr = g.mul(y, r);
            let w = g.binary(Op::PowfGradYY, x, y);
            let lx = g.unary(Op::Ln, x);
            (g.plus(q2, yr), g.mul(w, lx))
        }
    }
}

/// The vector-Jacobian product of one node: given `d`, the adjoint of `out`, the
/// contribution to each operand's adjoint. Contributions to the same operand are summed by
/// the caller. Rules at non-differentiable points follow PyTorch (see `Sgn`, `Step`,
/// `MaxWeight`, `ClampWeight`, `PowfGradX`, `PowfGradY`).
pub(crate) fn vjp(g: &mut Graph, out: Id, d: Id) -> Result<Vec<(Id, Id)>, NoRule> {
    let node = g[out].clone();
    let a = |i: usize| node.args[i];
    let one = |g: &mut Graph| g.constant(1.0);
    Ok(match node.op {
        // Leaves and booleans carry no gradient further.
        Op::Param(_) | Op::Const(_) | Op::Cotangent => vec![],
        Op::Lt | Op::Le | Op::Gt | Op::Ge | Op::Eq | Op::Ne | Op::Not | Op::And | Op::Or => vec![],
        Op::Opaque(_) => return Err(NoRule::Opaque),
        // The array gradient is assembled from its elements' adjoints by the emitter.
        // A parameter's elements: its gradient is assembled from theirs where it is written.
        Op::Index(_) if matches!(g[a(0)].op, Op::Param(_)) => vec![],
        // An element of a call's result: a cotangent that is zero but at `k`.
        Op::Index(k) if matches!(g[a(0)].op, Op::Call(_)) => {
            let at = g.int_constant(k as usize);
            vec![(a(0), g.add_raw(Op::OneHot, vec![d, a(0), at]))]
        }
        Op::Index(_) => return Err(NoRule::Element),
        // A float element read inside an arm: to its twin at the top of the body.
        Op::IndexDyn if g.element_slots.contains_key(&out) => vec![(g.element_slots[&out], d)],
        Op::Call(k) => {
            let mut pb_args = node.args.clone();
            pb_args.push(d);
            let pb = g.add_raw(Op::Pullback(k), pb_args);
            components(g, &node.args, pb, Op::Project)
        }
        // A pullback's second-order rule needs the adjoints of all its components: the sweep
        // gathers them (see `diff::Sweep::call_pullback`).
        Op::Pullback(_) | Op::NoGrad => vec![],
        Op::Project(_) if matches!(g[a(0)].op, Op::Pullback(_)) => vec![],
        // The tangent out of a call's pushforward: the callee's pullback of its pushforward.
        Op::Project(1) if matches!(g[a(0)].op, Op::Pushforward(_)) => {
            let pf = g[a(0)].clone();
            let Op::Pushforward(k) = pf.op else {
                unreachable!("matched above")
            };
            let mut pb_args = pf.args.clone();
            pb_args.push(d);
            let pb = g.add_raw(Op::PushforwardPullback(k), pb_args);
            components(g, &pf.args, pb, Op::Project)
        }
        Op::Project(_) | Op::Pullback2(_) | Op::Pushforward(_) => return Err(NoRule::SecondOrder),
        Op::PushforwardPullback(_) => return Err(NoRule::SecondOrder),
        // Element i of the array takes element i of the cotangent.
        Op::Pack | Op::ArrayLit => node
            .args
            .iter()
            .enumerate()
            .map(|(i, &x)| (x, g.add_raw(Op::Index(i as u32), vec![d])))
            .collect(),
        // Handled by the sweep itself, which knows the arms.
        Op::Phi(_) => vec![],
        // At the top level of a body the emitter scatters the adjoint into the sequence's
        // gradient; inside an `if` arm it leaves the arm as a one-hot sequence gradient.
        Op::IndexDyn if g.block_of(out) == crate::ir::graph::ROOT => vec![],
        Op::IndexDyn => vec![(a(0), g.add_raw(Op::OneHot, vec![d, a(0), a(1)]))],
        // Second derivatives through a call's array result go through its `__g_pullback2`,
        // which takes scalars only.
        Op::OneHot if matches!(g[a(1)].op, Op::Call(_)) => return Err(NoRule::SecondOrder),
        Op::OneHot => vec![(a(0), g.add_raw(Op::IndexDyn, vec![d, a(2)]))],
        // One backward loop for all carried variables: each `LoopOut` forwards its adjoint to
        // the loop, whose pullback takes them all.
        Op::LoopOut(_) => vec![],
        Op::Loop(_) => return Err(NoRule::Loop),
        Op::LoopPullback(_) | Op::LoopGrad(_) => return Err(NoRule::SecondOrder),
        // One backward pass for all operands.
        Op::Fused(k) => {
            let mut grad_args = vec![d];
            grad_args.extend(node.args.iter().copied());
            let fg = g.add_raw(Op::FusedGrad(k), grad_args);
            components(g, &node.args, fg, Op::FusedPart)
        }
        Op::FusedGrad(_) | Op::FusedPart(_) => return Err(NoRule::SecondOrder),

        Op::Neg => vec![(a(0), g.neg(d))],
        Op::Add => vec![(a(0), sum_to(g, d, a(0))), (a(1), sum_to(g, d, a(1)))],
        Op::Sub => {
            let nd = g.neg(d);
            vec![(a(0), sum_to(g, d, a(0))), (a(1), sum_to(g, nd, a(1)))]
        }
        // a·a: one contribution 2·d·a rather than two.
        Op::Mul if a(0) == a(1) => {
            let two = g.constant(2.0);
            let da = g.mul(d, a(0));
            let da = g.mul(two, da);
            vec![(a(0), sum_to(g, da, a(0)))]
        }
        Op::Mul => {
            let da = g.mul(d, a(1));
            let db = g.mul(d, a(0));
            vec![(a(0), sum_to(g, da, a(0))), (a(1), sum_to(g, db, a(1)))]
        }
        Op::Div => {
            // out = a / b: ∂a = d / b, ∂b = -d·out / b.
            let da = g.div(d, a(1));
            let mut res = vec![(a(0), sum_to(g, da, a(0)))];
            if g.is_active(a(1)) {
                let t = g.mul(d, out);
                let t = g.div(t, a(1));
                let db = g.neg(t);
                res.push((a(1), sum_to(g, db, a(1))));
            }
            res
        }
        // x^n: n·x^(n-1); n = 0 gives no contribution at all (0 everywhere, x = 0 included).
        Op::Powi(0) => vec![],
        Op::Powi(n) => {
            let k = g.constant(n as f64);
            let p = g.unary(Op::Powi(n - 1), a(0));
            let dp = g.mul(k, p);
            vec![(a(0), g.mul(d, dp))]
        }
        Op::Powf => {
            let (x, y) = (a(0), a(1));
            let mut res = Vec::new();
            if let Some(c) = g.as_const(y) {
                if c != 0.0 {
                    let k = g.constant(c);
                    let c1 = g.constant(c - 1.0);
                    let p = g.binary(Op::Powf, x, c1);
                    let dp = g.mul(k, p);
                    let dx = g.mul(d, dp);
                    res.push((x, sum_to(g, dx, x)));
                }
            } else {
                if g.is_active(x) {
                    let w = g.binary(Op::PowfGradX, x, y);
                    let dx = g.mul(d, w);
                    res.push((x, sum_to(g, dx, x)));
                }
                if g.is_active(y) {
                    let w = g.binary(Op::PowfGradY, x, y);
                    let dy = g.mul(d, w);
                    res.push((y, sum_to(g, dy, y)));
                }
            }
            res
        }
        Op::PowfGradX | Op::PowfGradY | Op::PowfGradYY | Op::PowfGradXX => {
            let (x, y) = (a(0), a(1));
            let (dx, dy) = powf_partials(g, node.op, x, y);
            let dx = g.mul(d, dx);
            let dy = g.mul(d, dy);
            vec![(x, sum_to(g, dx, x)), (y, sum_to(g, dy, y))]
        }
        Op::Sqrt => {
            // 1 / (2 sqrt x): +inf at 0.
            let two = g.constant(2.0);
            let den = g.mul(two, out);
            vec![(a(0), over(g, d, den))]
        }
        Op::Cbrt => {
            let three = g.constant(3.0);
            let sq = square(g, out);
            let den = g.mul(three, sq);
            vec![(a(0), over(g, d, den))]
        }
        Op::Exp => vec![(a(0), g.mul(d, out))],
        Op::Exp2 => {
            let ln2 = g.constant(std::f64::consts::LN_2);
            let t = g.mul(ln2, out);
            vec![(a(0), g.mul(d, t))]
        }
        Op::ExpM1 => {
            let o = one(g);
            let t = g.plus(out, o);
            vec![(a(0), g.mul(d, t))]
        }
        Op::Ln => vec![(a(0), over(g, d, a(0)))],
        Op::Ln1p => {
            let o = one(g);
            let t = g.plus(a(0), o);
            vec![(a(0), over(g, d, t))]
        }
        Op::Log2 | Op::Log10 => {
            let base = if node.op == Op::Log2 {
                std::f64::consts::LN_2
            } else {
                std::f64::consts::LN_10
            };
            let k = g.constant(base);
            let t = g.mul(k, a(0));
            vec![(a(0), over(g, d, t))]
        }
        Op::Log => {
            // log_b x = ln x / ln b: ∂x = d / (x ln b), ∂b = -d·out / (b ln b).
            let (x, b) = (a(0), a(1));
            let lb = g.unary(Op::Ln, b);
            let t = g.mul(x, lb);
            let dx = over(g, d, t);
            let mut res = vec![(x, sum_to(g, dx, x))];
            if g.is_active(b) {
                let n = g.mul(d, out);
                let den = g.mul(b, lb);
                let q = g.div(n, den);
                let db = g.neg(q);
                res.push((b, sum_to(g, db, b)));
            }
            res
        }
        Op::Sin => {
            let c = g.unary(Op::Cos, a(0));
            vec![(a(0), g.mul(d, c))]
        }
        Op::Cos => {
            let s = g.unary(Op::Sin, a(0));
            let t = g.mul(d, s);
            vec![(a(0), g.neg(t))]
        }
        Op::Tan => {
            let o = one(g);
            let sq = square(g, out);
            let t = g.plus(o, sq);
            vec![(a(0), g.mul(d, t))]
        }
        Op::Asin | Op::Acos => {
            let o = one(g);
            let sq = square(g, a(0));
            let t = g.minus(o, sq);
            let r = g.unary(Op::Sqrt, t);
            let q = over(g, d, r);
            vec![(a(0), if node.op == Op::Asin { q } else { g.neg(q) })]
        }
        Op::Atan => {
            let o = one(g);
            let sq = square(g, a(0));
            let t = g.plus(o, sq);
            vec![(a(0), over(g, d, t))]
        }
        Op::Atan2 => {
            // atan2(y, x): ∂y = d·x / (x² + y²), ∂x = -d·y / (x² + y²).
            let (y, x) = (a(0), a(1));
            let x2 = square(g, x);
            let y2 = square(g, y);
            let r = g.plus(x2, y2);
            let dy = g.mul(d, x);
            let dy = g.div(dy, r);
            let dx = g.mul(d, y);
            let dx = g.div(dx, r);
            let dx = g.neg(dx);
            vec![(y, sum_to(g, dy, y)), (x, sum_to(g, dx, x))]
        }
        Op::Sinh => {
            let c = g.unary(Op::Cosh, a(0));
            vec![(a(0), g.mul(d, c))]
        }
        Op::Cosh => {
            let s = g.unary(Op::Sinh, a(0));
            vec![(a(0), g.mul(d, s))]
        }
        Op::Tanh => {
            let o = one(g);
            let sq = square(g, out);
            let t = g.minus(o, sq);
            vec![(a(0), g.mul(d, t))]
        }
        Op::Asinh | Op::Acosh => {
            let o = one(g);
            let sq = square(g, a(0));
            let t = if node.op == Op::Asinh {
                g.plus(sq, o)
            } else {
                g.minus(sq, o)
            };
            let r = g.unary(Op::Sqrt, t);
            vec![(a(0), over(g, d, r))]
        }
        Op::Atanh => {
            let o = one(g);
            let sq = square(g, a(0));
            let t = g.minus(o, sq);
            vec![(a(0), over(g, d, t))]
        }
        // |x|: sign(x), and 0 at 0 (the minimum-norm subgradient).
        Op::Abs => {
            let s = g.unary(Op::Sgn, a(0));
            vec![(a(0), g.mul(d, s))]
        }
        // Piecewise constant: derivative 0 wherever it exists.
        Op::Signum | Op::Floor | Op::Ceil | Op::Round | Op::Trunc => vec![],
        Op::Sgn | Op::Step | Op::MaxWeight | Op::ClampWeight | Op::Numel | Op::ZerosLike => vec![],
        Op::Recip => {
            let sq = square(g, out);
            let t = g.mul(d, sq);
            vec![(a(0), g.neg(t))]
        }
        Op::Hypot => {
            let (x, y) = (a(0), a(1));
            let dx = g.mul(d, x);
            let dx = g.div(dx, out);
            let dy = g.mul(d, y);
            let dy = g.div(dy, out);
            vec![(x, sum_to(g, dx, x)), (y, sum_to(g, dy, y))]
        }
        // max(a, b): 1 to the larger, 0.5 to each at a tie.
        Op::Max | Op::Min => {
            let (x, y) = (a(0), a(1));
            let (wx, wy) = if node.op == Op::Max {
                ((x, y), (y, x))
            } else {
                ((y, x), (x, y))
            };
            let wa = g.binary(Op::MaxWeight, wx.0, wx.1);
            let wb = g.binary(Op::MaxWeight, wy.0, wy.1);
            let dx = g.mul(d, wa);
            let dy = g.mul(d, wb);
            vec![(x, sum_to(g, dx, x)), (y, sum_to(g, dy, y))]
        }
        // clamp(x, lo, hi): to x 1 strictly inside, 0 at and beyond the bounds; to lo where
        // x < lo, to hi where x > hi (so at a tie, 0 to all three).
        Op::Clamp => {
            let (x, lo, hi) = (a(0), a(1), a(2));
            let w = g.add(Op::ClampWeight, vec![x, lo, hi]);
            let mut res = vec![(x, g.mul(d, w))];
            for (bound, below, above) in [(lo, lo, x), (hi, x, hi)] {
                if g.is_active(bound) {
                    let gap = g.minus(below, above);
                    let s = g.unary(Op::Step, gap);
                    let c = g.mul(d, s);
                    res.push((bound, sum_to(g, c, bound)));
                }
            }
            res
        }
        Op::MulAdd => {
            let da = g.mul(d, a(1));
            let db = g.mul(d, a(0));
            vec![(a(0), da), (a(1), db), (a(2), d)]
        }
        Op::Sigmoid => {
            let o = one(g);
            let t = g.minus(o, out);
            let t = g.mul(out, t);
            vec![(a(0), g.mul(d, t))]
        }
        // relu: 1 where x > 0, 0 at and below 0.
        Op::Relu => {
            let s = g.unary(Op::Step, a(0));
            vec![(a(0), g.mul(d, s))]
        }
        Op::Softplus => {
            let s = g.unary(Op::Sigmoid, a(0));
            vec![(a(0), g.mul(d, s))]
        }
        Op::Sum => vec![(a(0), g.binary(Op::BroadcastLike, d, a(0)))],
        Op::Mean => {
            let b = g.binary(Op::BroadcastLike, d, a(0));
            let n = g.unary(Op::Numel, a(0));
            vec![(a(0), g.div(b, n))]
        }
        Op::SumAxis(k) => vec![(a(0), g.binary(Op::UnsumAxis(k), d, a(0)))],
        Op::MeanAxis(k) => vec![(a(0), g.binary(Op::UnmeanAxis(k), d, a(0)))],
        Op::Matmul => {
            let da = g.add(Op::MatmulGradLhs, vec![d, a(0), a(1)]);
            let db = g.add(Op::MatmulGradRhs, vec![d, a(0), a(1)]);
            vec![(a(0), da), (a(1), db)]
        }
        Op::MatmulGradLhs | Op::MatmulGradRhs => return Err(NoRule::SecondOrder),
        Op::Dot => vec![(a(0), g.mul(d, a(1))), (a(1), g.mul(d, a(0)))],
        Op::Transpose => vec![(a(0), g.unary(Op::Transpose, d))],
        Op::Reshape(_) => vec![(a(0), g.binary(Op::ReshapeLike, d, a(0)))],
        Op::ReshapeLike => vec![(a(0), g.binary(Op::ReshapeLike, d, a(0)))],
        Op::SumTo => vec![(a(0), g.binary(Op::BroadcastLike, d, a(0)))],
        Op::BroadcastLike => vec![(a(0), sum_to(g, d, a(0)))],
        Op::UnsumAxis(k) => vec![(a(0), g.unary(Op::SumAxis(k), d))],
        Op::UnmeanAxis(k) => vec![(a(0), g.unary(Op::MeanAxis(k), d))],
        // max/min: the adjoint shared evenly by the elements equal to the extremum (PyTorch's
        // amax/amin).
        Op::MaxAll | Op::MinAll => vec![(a(0), g.add(Op::ExtremumGrad, vec![d, a(0), out]))],
        Op::MaxAxis(k) | Op::MinAxis(k) => {
            vec![(a(0), g.add(Op::ExtremumAxisGrad(k), vec![d, a(0), out]))]
        }
        Op::ExtremumGrad | Op::ExtremumAxisGrad(_) => return Err(NoRule::SecondOrder),
        // logsumexp: d·softmax(x) = d·exp(x - out), with out (and d) put back on the axis.
        Op::Logsumexp => {
            let c = g.minus(a(0), out);
            let e = g.unary(Op::Exp, c);
            vec![(a(0), g.mul(d, e))]
        }
        Op::LogsumexpAxis(k) => {
            let ou = g.unary(Op::Unsqueeze(k), out);
            let du = g.unary(Op::Unsqueeze(k), d);
            let c = g.minus(a(0), ou);
            let e = g.unary(Op::Exp, c);
            vec![(a(0), g.mul(du, e))]
        }
        // softmax s: s·(d - Σ_k d·s).
        Op::Softmax(k) => {
            let ds = g.mul(d, out);
            let t = g.unary(Op::SumAxis(k), ds);
            let tu = g.unary(Op::Unsqueeze(k), t);
            let r = g.minus(d, tu);
            vec![(a(0), g.mul(out, r))]
        }
        // log-softmax: d - exp(out)·Σ_k d.
        Op::LogSoftmax(k) => {
            let s = g.unary(Op::Exp, out);
            let t = g.unary(Op::SumAxis(k), d);
            let tu = g.unary(Op::Unsqueeze(k), t);
            let st = g.mul(s, tu);
            vec![(a(0), g.minus(d, st))]
        }
        Op::Unsqueeze(_) => vec![(a(0), g.binary(Op::ReshapeLike, d, a(0)))],
    })
}

/// `a + b` of two optional tangents (`None` is zero).
fn tsum(g: &mut Graph, a: Option<Id>, b: Option<Id>) -> Option<Id> {
    match (a, b) {
        (Some(a), Some(b)) => Some(g.plus(a, b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// `t * w` for an optional tangent `t`.
fn tmul(g: &mut Graph, t: Option<Id>, w: Id) -> Option<Id> {
    t.map(|t| g.mul(t, w))
}

/// The tangent of a unary element-wise op: its Jacobian is diagonal, so the reverse rule
/// applied to the tangent (`ṫ · f'(x)`) is the forward rule.
fn diagonal(g: &mut Graph, out: Id, t: Option<Id>) -> Result<Option<Id>, NoRule> {
    let Some(t) = t else { return Ok(None) };
    Ok(vjp(g, out, t)?.into_iter().next().map(|(_, c)| c))
}

/// The Jacobian-vector product of one node (forward mode): given the tangent of each operand
/// (`None`: zero, the operand does not depend on a differentiated value), the tangent of
/// `out`. Tangent nodes are built in the same graph with the smart constructors. Leaves,
/// `if` and loops are handled by the forward sweep (`diff_forward`), which knows the seeds,
/// the arms and the loop bodies. At non-differentiable points the rules agree with `vjp`
/// (ties of `max` split, `abs` and `relu` 0 at 0), so that `<v, J t> = <Jᵀ v, t>` holds.
pub(crate) fn jvp(g: &mut Graph, out: Id, t: &[Option<Id>]) -> Result<Option<Id>, NoRule> {
    let node = g[out].clone();
    let a = |i: usize| node.args[i];
    let ta = |i: usize| t.get(i).copied().flatten();
    Ok(match node.op {
        // Seeded by the sweep (parameters), or constant.
        Op::Param(_) | Op::Const(_) | Op::Cotangent | Op::NoGrad => None,
        Op::Lt | Op::Le | Op::Gt | Op::Ge | Op::Eq | Op::Ne | Op::Not | Op::And | Op::Or => None,
        Op::Opaque(_) => return Err(NoRule::Opaque),
        Op::Index(k) => ta(0).map(|s| g.add_raw(Op::Index(k), vec![s])),
        Op::IndexDyn => ta(0).map(|s| g.add_raw(Op::IndexDyn, vec![s, a(1)])),
        Op::OneHot => ta(0).map(|d| g.add_raw(Op::OneHot, vec![d, a(1), a(2)])),
        Op::Pack | Op::ArrayLit => {
            if t.iter().all(Option::is_none) {
                None
            } else {
                let parts: Vec<Id> = (0..node.args.len())
                    .map(|i| ta(i).unwrap_or_else(|| g.constant(0.0)))
                    .collect();
                Some(g.add_raw(node.op, parts))
            }
        }
        // A call: the callee's pushforward, fed a tangent for every argument (a zero of the
        // argument's kind where it has none).
        Op::Call(k) => {
            let mut pf_args = node.args.clone();
            let int_literal = g.calls[k as usize].int_literal.clone();
            for (i, &arg) in node.args.iter().enumerate() {
                let tangent = match (ta(i), g.kind(arg)) {
                    (Some(t), _) => t,
                    // An integer literal may fill an integer parameter: its slot's own type.
                    (None, _) if int_literal[i] => g.add_raw(Op::NoGrad, vec![]),
                    (None, Kind::Scalar) => g.constant(0.0),
                    // A constant passed by reference (`&tensor![..]`): a tensor's zero.
                    (None, Kind::Unknown) if g.calls[k as usize].by_ref[i] => {
                        g.add_raw(Op::ZerosLike, vec![arg])
                    }
                    (None, Kind::Tensor | Kind::Array | Kind::Slice) => {
                        g.add_raw(Op::ZerosLike, vec![arg])
                    }
                    (None, _) => g.add_raw(Op::NoGrad, vec![]),
                };
                pf_args.push(tangent);
            }
            let pf = g.add_raw(Op::Pushforward(k), pf_args);
            Some(g.add_raw(Op::Project(1), vec![pf]))
        }
        Op::Pullback(_) | Op::Pullback2(_) | Op::Project(_) | Op::Pushforward(_) => {
            return Err(NoRule::SecondOrder)
        }
        Op::PushforwardPullback(_) => return Err(NoRule::SecondOrder),
        Op::Phi(_) | Op::Loop(_) | Op::LoopOut(_) => return Err(NoRule::Loop),
        Op::LoopPullback(_) | Op::LoopGrad(_) => return Err(NoRule::SecondOrder),
        // The forward sweep runs on the graph before fusion.
        Op::Fused(_) | Op::FusedGrad(_) | Op::FusedPart(_) => return Err(NoRule::SecondOrder),

        Op::Neg => ta(0).map(|x| g.neg(x)),
        Op::Add => tsum(g, ta(0), ta(1)),
        Op::Sub => {
            let nb = ta(1).map(|b| g.neg(b));
            tsum(g, ta(0), nb)
        }
        Op::Mul if a(0) == a(1) => ta(0).map(|x| {
            let two = g.constant(2.0);
            let xa = g.mul(x, a(0));
            g.mul(two, xa)
        }),
        Op::Mul => {
            let l = tmul(g, ta(0), a(1));
            let r = ta(1).map(|b| g.mul(a(0), b));
            tsum(g, l, r)
        }
        // (ȧ - out·ḃ) / b.
        Op::Div => {
            let l = ta(0).map(|x| g.div(x, a(1)));
            let r = ta(1).map(|b| {
                let ob = g.mul(out, b);
                let q = g.div(ob, a(1));
                g.neg(q)
            });
            tsum(g, l, r)
        }
        Op::Powi(_)
        | Op::Sqrt
        | Op::Cbrt
        | Op::Exp
        | Op::Exp2
        | Op::ExpM1
        | Op::Ln
        | Op::Ln1p
        | Op::Log2
        | Op::Log10 => diagonal(g, out, ta(0))?,
        Op::Sin | Op::Cos | Op::Tan | Op::Asin | Op::Acos | Op::Atan => diagonal(g, out, ta(0))?,
        Op::Sinh | Op::Cosh | Op::Tanh | Op::Asinh | Op::Acosh | Op::Atanh => {
            diagonal(g, out, ta(0))?
        }
        Op::Abs | Op::Recip | Op::Sigmoid | Op::Relu | Op::Softplus => diagonal(g, out, ta(0))?,
        Op::Signum | Op::Floor | Op::Ceil | Op::Round | Op::Trunc => None,
        Op::Sgn | Op::Step | Op::MaxWeight | Op::ClampWeight | Op::Numel | Op::ZerosLike => None,
        Op::Powf => {
            let (x, y) = (a(0), a(1));
            if let Some(c) = g.as_const(y) {
                if c == 0.0 {
                    None
                } else {
                    let k = g.constant(c);
                    let c1 = g.constant(c - 1.0);
                    let p = g.binary(Op::Powf, x, c1);
                    let w = g.mul(k, p);
                    tmul(g, ta(0), w)
                }
            } else {
                let l = match ta(0) {
                    Some(tx) => {
                        let w = g.binary(Op::PowfGradX, x, y);
                        Some(g.mul(tx, w))
                    }
                    None => None,
                };
                let r = match ta(1) {
                    Some(ty) => {
                        let w = g.binary(Op::PowfGradY, x, y);
                        Some(g.mul(ty, w))
                    }
                    None => None,
                };
                tsum(g, l, r)
            }
        }
        Op::PowfGradX | Op::PowfGradY | Op::PowfGradYY | Op::PowfGradXX => {
            let (x, y) = (a(0), a(1));
            let (wx, wy) = powf_partials(g, node.op, x, y);
            let l = ta(0).map(|tx| g.mul(tx, wx));
            let r = ta(1).map(|ty| g.mul(ty, wy));
            tsum(g, l, r)
        }
        Op::Log => {
            // log_b x: ẋ / (x ln b) - ḃ·out / (b ln b).
            let (x, b) = (a(0), a(1));
            let lb = g.unary(Op::Ln, b);
            let l = match ta(0) {
                Some(tx) => {
                    let den = g.mul(x, lb);
                    Some(g.div(tx, den))
                }
                None => None,
            };
            let r = match ta(1) {
                Some(tb) => {
                    let n = g.mul(tb, out);
                    let den = g.mul(b, lb);
                    let q = g.div(n, den);
                    Some(g.neg(q))
                }
                None => None,
            };
            tsum(g, l, r)
        }
        Op::Atan2 => {
            // atan2(y, x): (ẏ·x - ẋ·y) / (x² + y²).
            let (y, x) = (a(0), a(1));
            let x2 = square(g, x);
            let y2 = square(g, y);
            let r2 = g.plus(x2, y2);
            let l = ta(0).map(|ty| g.mul(ty, x));
            let r = ta(1).map(|tx| {
                let p = g.mul(tx, y);
                g.neg(p)
            });
            tsum(g, l, r).map(|n| g.div(n, r2))
        }
        Op::Hypot => {
            let l = tmul(g, ta(0), a(0));
            let r = tmul(g, ta(1), a(1));
            tsum(g, l, r).map(|n| g.div(n, out))
        }
        Op::Max | Op::Min => {
            let (x, y) = (a(0), a(1));
            let (wx, wy) = if node.op == Op::Max {
                ((x, y), (y, x))
            } else {
                ((y, x), (x, y))
            };
            let l = match ta(0) {
                Some(tx) => {
                    let w = g.binary(Op::MaxWeight, wx.0, wx.1);
                    Some(g.mul(tx, w))
                }
                None => None,
            };
            let r = match ta(1) {
                Some(ty) => {
                    let w = g.binary(Op::MaxWeight, wy.0, wy.1);
                    Some(g.mul(ty, w))
                }
                None => None,
            };
            tsum(g, l, r)
        }
        Op::Clamp => {
            let (x, lo, hi) = (a(0), a(1), a(2));
            let mut t = match ta(0) {
                Some(tx) => {
                    let w = g.add(Op::ClampWeight, vec![x, lo, hi]);
                    Some(g.mul(tx, w))
                }
                None => None,
            };
            for (tb, below, above) in [(ta(1), lo, x), (ta(2), x, hi)] {
                if let Some(tb) = tb {
                    let gap = g.minus(below, above);
                    let s = g.unary(Op::Step, gap);
                    let c = g.mul(tb, s);
                    t = tsum(g, t, Some(c));
                }
            }
            t
        }
        Op::MulAdd => {
            let l = tmul(g, ta(0), a(1));
            let r = ta(1).map(|tb| g.mul(a(0), tb));
            let s = tsum(g, l, r);
            tsum(g, s, ta(2))
        }
        // Linear operations: the same operation on the tangent.
        Op::Sum | Op::Mean | Op::Transpose => ta(0).map(|x| g.unary(node.op, x)),
        Op::SumAxis(_) | Op::MeanAxis(_) => ta(0).map(|x| g.unary(node.op, x)),
        Op::Reshape(_) => ta(0).map(|x| {
            let mut args = node.args.clone();
            args[0] = x;
            g.add_raw(node.op, args)
        }),
        Op::SumTo | Op::BroadcastLike | Op::ReshapeLike => {
            ta(0).map(|x| g.binary(node.op, x, a(1)))
        }
        Op::UnsumAxis(_) | Op::UnmeanAxis(_) => ta(0).map(|x| g.binary(node.op, x, a(1))),
        // Bilinear: one term per operand.
        Op::Matmul | Op::Dot => {
            let l = ta(0).map(|x| g.binary(node.op, x, a(1)));
            let r = ta(1).map(|y| g.binary(node.op, a(0), y));
            tsum(g, l, r)
        }
        // d·bᵀ (shaped like a): linear in d and in b.
        Op::MatmulGradLhs => {
            let l = ta(0).map(|d| g.add(Op::MatmulGradLhs, vec![d, a(1), a(2)]));
            let r = ta(2).map(|b| g.add(Op::MatmulGradLhs, vec![a(0), a(1), b]));
            tsum(g, l, r)
        }
        // aᵀ·d (shaped like b): linear in d and in a.
        Op::MatmulGradRhs => {
            let l = ta(0).map(|d| g.add(Op::MatmulGradRhs, vec![d, a(1), a(2)]));
            let r = ta(1).map(|x| g.add(Op::MatmulGradRhs, vec![a(0), x, a(2)]));
            tsum(g, l, r)
        }
        // max/min: the tangent of the elements equal to the extremum, shared evenly (the
        // weights of the reverse rule).
        Op::MaxAll | Op::MinAll => ta(0).map(|tx| {
            let one = g.constant(1.0);
            let w = g.add(Op::ExtremumGrad, vec![one, a(0), out]);
            let p = g.mul(w, tx);
            g.unary(Op::Sum, p)
        }),
        Op::MaxAxis(k) | Op::MinAxis(k) => ta(0).map(|tx| {
            let zeros = g.add_raw(Op::ZerosLike, vec![out]);
            let one = g.constant(1.0);
            let ones = g.plus(zeros, one);
            let w = g.add(Op::ExtremumAxisGrad(k), vec![ones, a(0), out]);
            let p = g.mul(w, tx);
            g.unary(Op::SumAxis(k), p)
        }),
        Op::ExtremumGrad | Op::ExtremumAxisGrad(_) => return Err(NoRule::SecondOrder),
        // logsumexp: Σ softmax(x)·ṫ.
        Op::Logsumexp => ta(0).map(|tx| {
            let c = g.minus(a(0), out);
            let e = g.unary(Op::Exp, c);
            let p = g.mul(e, tx);
            g.unary(Op::Sum, p)
        }),
        Op::LogsumexpAxis(k) => ta(0).map(|tx| {
            let ou = g.unary(Op::Unsqueeze(k), out);
            let c = g.minus(a(0), ou);
            let e = g.unary(Op::Exp, c);
            let p = g.mul(e, tx);
            g.unary(Op::SumAxis(k), p)
        }),
        // softmax s: s·(ṫ - Σ_k s·ṫ).
        Op::Softmax(k) => ta(0).map(|tx| {
            let st = g.mul(out, tx);
            let t = g.unary(Op::SumAxis(k), st);
            let tu = g.unary(Op::Unsqueeze(k), t);
            let r = g.minus(tx, tu);
            g.mul(out, r)
        }),
        // log-softmax: ṫ - Σ_k exp(out)·ṫ.
        Op::LogSoftmax(k) => ta(0).map(|tx| {
            let s = g.unary(Op::Exp, out);
            let st = g.mul(s, tx);
            let t = g.unary(Op::SumAxis(k), st);
            let tu = g.unary(Op::Unsqueeze(k), t);
            g.minus(tx, tu)
        }),
        Op::Unsqueeze(k) => ta(0).map(|tx| g.unary(Op::Unsqueeze(k), tx)),
    })
}
