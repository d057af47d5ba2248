//! The operations of the graph: one variant per op, payloads in the op (`Powi(3)`).
//!
//! Only the data type lives here; its table of names, kinds, folding and derivative rules is
//! `ops.rs`, which reads the graph, while the graph itself needs only this type.

/// An operation. Payloads are part of the op (`Powi(3)`); operands are `Id`s.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Op {
    // Leaves.
    /// The i-th parameter of the function.
    Param(u16),
    /// A float constant (`f64::to_bits`, so it hashes).
    Const(u64),
    /// The seed of `_vjp`: the cotangent parameter.
    Cotangent,
    /// An expression kept as written: `Graph::opaques[k]`; operands are the locals it reads.
    Opaque(u32),

    // Structure.
    /// `x[k]` for a constant `k`, on a `[T; N]` parameter.
    Index(u32),
    /// A call of another differentiable function: `Graph::calls[k]`.
    Call(u32),
    /// The call's pullback: operands are the call's arguments, then the cotangent.
    Pullback(u32),
    /// The vjp of a call's pullback (second derivatives): operands are the call's arguments,
    /// the pullback's cotangent, then one seed per argument; its value holds the adjoint of
    /// each argument and, last, of the cotangent. Calls `__{name}_pullback2`.
    Pullback2(u32),
    /// The gradient slot of a parameter that is not differentiated.
    NoGrad,
    /// Component `i` of a pullback's gradient tuple.
    Project(u32),
    /// A call's forward pass with tangents (forward mode): operands are the call's arguments,
    /// then one tangent per argument; its value is `(value, tangent)`. Calls
    /// `__{name}_pushforward`.
    Pushforward(u32),
    /// The vjp of a call's pushforward (Hessian-vector products through calls): operands are
    /// the pushforward's operands, then the adjoint of its tangent; its value holds the adjoint
    /// of each operand. Calls `__{name}_pushforward_pullback`.
    PushforwardPullback(u32),
    /// An array literal `[a, b, ..]` (or `vec![..]`): a function's `[T; M]` / `Vec<T>` result.
    Pack,
    /// An array literal `[a, b, ..]` elsewhere in a body: a `[T; M]` value (a call's argument,
    /// a `let`).
    ArrayLit,
    /// The value of an `if`: `Graph::branches[b]`; operands are the `then` and `else` values.
    Phi(u32),
    /// `x[i]` for an index computed at run time; operands: the sequence, the index.
    IndexDyn,
    /// A `for` loop: `Graph::loops[k]`; operands: the bounds, then the body's inputs. Its value
    /// is the tuple of the carried variables' final values (and, when a pullback needs it, the
    /// tape of their values at the start of every iteration).
    Loop(u32),
    /// A sequence gradient: zero but for the adjoint `d` at one index; operands `d`, the
    /// sequence, the index.
    OneHot,
    /// A fused reduction: `Graph::kernels[k]` over the operands.
    Fused(u32),
    /// Its backward pass: operands are the adjoint, then the kernel's operands; its value
    /// holds each operand's gradient, already summed back to the operand's shape.
    FusedGrad(u32),
    /// Operand i's gradient, from a `FusedGrad`.
    FusedPart(u32),
    /// Carried variable j of a loop, after it.
    LoopOut(u32),
    /// The backward loop: operands are the `Loop` node and the adjoint of each carried
    /// variable; its value holds the adjoint of every input of the loop.
    LoopPullback(u32),
    /// Adjoint of argument i of a loop, from its pullback.
    LoopGrad(u32),

    // Booleans (conditions): not differentiable, never active.
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    Not,
    And,
    Or,

    // Arithmetic.
    Neg,
    Add,
    Sub,
    Mul,
    Div,
    Powi(i32),
    Powf,
    Sqrt,
    Cbrt,
    Exp,
    Exp2,
    ExpM1,
    Ln,
    Ln1p,
    Log,
    Log2,
    Log10,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Atan2,
    Sinh,
    Cosh,
    Tanh,
    Asinh,
    Acosh,
    Atanh,
    Abs,
    Signum,
    Recip,
    Floor,
    Ceil,
    Round,
    Trunc,
    Hypot,
    Max,
    Min,
    Clamp,
    MulAdd,
    Sigmoid,
    Relu,
    Softplus,

    // Tensors.
    Sum,
    Mean,
    SumAxis(u32),
    MeanAxis(u32),
    Matmul,
    Dot,
    Transpose,
    /// `x.reshape(shape)`: the shape expression is `Graph::opaques[k]`.
    Reshape(u32),
    // Tensors for models (API.md "Tensor operations for models").
    MaxAll,
    MinAll,
    Logsumexp,
    MaxAxis(u32),
    MinAxis(u32),
    LogsumexpAxis(u32),
    Softmax(u32),
    LogSoftmax(u32),
    Unsqueeze(u32),

    // Derivative helpers.
    /// PyTorch's `sign`: 0 at 0 (`f64::signum(0.0)` is 1).
    Sgn,
    /// 1 where x > 0, else 0 (`relu`'s derivative; 0 at the kink).
    Step,
    /// 1 where a > b, 0.5 where a == b, 0 where a < b (`max`'s derivative, ties split).
    MaxWeight,
    /// 1 strictly inside (lo, hi), else 0 (`clamp`'s derivative).
    ClampWeight,
    /// ∂(x^y)/∂x = y·x^(y-1), and 0 where y = 0.
    PowfGradX,
    /// ∂(x^y)/∂y = x^y·ln x, and 0 where x = 0 and y >= 0.
    PowfGradY,
    /// ∂²(x^y)/∂y² = x^y·(ln x)², and 0 where x = 0 and y > 0 (the limit).
    PowfGradYY,
    /// ∂²(x^y)/∂x² = y·(y-1)·x^(y-2), and 0 where y = 0 or y = 1 (x^0 and x^1 have none).
    PowfGradXX,
    /// Sum a contribution back to the shape of its operand (undo a broadcast).
    SumTo,
    /// Broadcast a value to the shape of the second operand.
    BroadcastLike,
    /// Number of elements, as a float (1 for a scalar).
    Numel,
    UnsumAxis(u32),
    UnmeanAxis(u32),
    MatmulGradLhs,
    MatmulGradRhs,
    ReshapeLike,
    ZerosLike,
    /// `max_all`/`min_all`'s adjoint: operands `d`, `x`, the extremum; `d` shared evenly
    /// by the elements equal to it.
    ExtremumGrad,
    /// `max_axis(k)`/`min_axis(k)`'s adjoint, per lane: operands `d`, `x`, the extrema.
    ExtremumAxisGrad(u32),
}
