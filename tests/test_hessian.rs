//! `f_hessian`: the matrix of second derivatives, generated when every differentiated parameter
//! is a scalar float. Each case is checked twice: against the closed form stated above it, and
//! against central finite differences of the generated `f_grad`. Multi-variable Hessians are
//! also checked for symmetry.
//!
//! Not tested here: `f_hessian` is not generated for a function whose body calls another
//! `#[differentiable]` function (a call of the missing item would be a compile-fail test, and
//! that limitation is not part of the contract worth pinning in tests/ui).
//!
//! Functions that use `**` carry `#[rustfmt::skip]`: rustfmt would respace `x**2` as `x * *2`.

use autodiff::differentiable;

/// xorshift64: deterministic points in [lo, hi).
struct Rng(u64);

impl Rng {
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + (hi - lo) * ((self.0 >> 11) as f64 / (1u64 << 53) as f64)
    }
}

/// Central difference of the gradient: column i is (∇f(p + h eᵢ) − ∇f(p − h eᵢ)) / 2h.
fn fd_hessian<const N: usize>(grad: impl Fn([f64; N]) -> [f64; N], p: [f64; N]) -> [[f64; N]; N] {
    let mut h = [[0.0; N]; N];
    for i in 0..N {
        let step = 1e-6 * p[i].abs().max(1.0);
        let (mut up, mut down) = (p, p);
        up[i] += step;
        down[i] -= step;
        let (gu, gd) = (grad(up), grad(down));
        for j in 0..N {
            h[j][i] = (gu[j] - gd[j]) / (2.0 * step);
        }
    }
    h
}

/// `got` equals the closed form to rounding and the finite difference to ~1e-6.
#[track_caller]
fn check<const N: usize>(got: [[f64; N]; N], closed: [[f64; N]; N], numeric: [[f64; N]; N]) {
    for i in 0..N {
        for j in 0..N {
            let (g, c, n) = (got[i][j], closed[i][j], numeric[i][j]);
            assert!(
                (g - c).abs() <= 1e-12 * (1.0 + c.abs()),
                "H[{i}][{j}] = {g}, closed form {c} (Hessian {got:?})"
            );
            assert!(
                (g - n).abs() <= 1e-6 * (1.0 + n.abs()),
                "H[{i}][{j}] = {g}, finite difference {n} (Hessian {got:?})"
            );
        }
    }
}

/// H = Hᵀ, to rounding.
#[track_caller]
fn assert_symmetric<const N: usize>(h: [[f64; N]; N]) {
    for i in 0..N {
        for j in 0..i {
            assert!(
                (h[i][j] - h[j][i]).abs() <= 1e-12 * (1.0 + h[i][j].abs()),
                "H[{i}][{j}] = {} but H[{j}][{i}] = {} in {h:?}",
                h[i][j],
                h[j][i]
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One variable: `f_hessian` returns the scalar f''.

// p = 2x⁴ + x³ + 3x² + 5x + 1, so p'' = 24x² + 6x + 6: 114 at 2.
#[rustfmt::skip]
#[differentiable]
fn poly(x: f64) -> f64 {
    2*x**4 + x**3 + 3*x**2 + 5*x + 1
}

#[test]
fn quartic_at_2() {
    assert_eq!(poly_hessian(2.0), 114.0);
    let mut rng = Rng(7);
    for _ in 0..5 {
        let x = rng.uniform(-3.0, 3.0);
        let closed = 24.0 * x * x + 6.0 * x + 6.0;
        let numeric = fd_hessian(|[x]| [poly_grad(x)], [x]);
        check([[poly_hessian(x)]], [[closed]], numeric);
    }
}

// f = eˣ sin x, so f' = eˣ(sin x + cos x) and f'' = 2eˣ cos x.
#[differentiable]
fn exp_sin(x: f64) -> f64 {
    x.exp() * x.sin()
}

#[test]
fn exp_sin_second_derivative() {
    let mut rng = Rng(11);
    for _ in 0..5 {
        let x = rng.uniform(-2.0, 2.0);
        let closed = 2.0 * x.exp() * x.cos();
        let numeric = fd_hessian(|[x]| [exp_sin_grad(x)], [x]);
        check([[exp_sin_hessian(x)]], [[closed]], numeric);
    }
}

// f = x³ for x > 1, else sin 2x: f'' = 6x on the right, −4 sin 2x on the left. The branch taken
// at run time decides.
#[rustfmt::skip]
#[differentiable]
fn branchy(x: f64) -> f64 {
    if x > 1.0 {
        x**3
    } else {
        (2*x).sin()
    }
}

#[test]
fn if_else_takes_the_branch() {
    for x in [1.5, 2.0, 3.25] {
        let numeric = fd_hessian(|[x]| [branchy_grad(x)], [x]);
        check([[branchy_hessian(x)]], [[6.0 * x]], numeric);
    }
    for x in [-1.0, 0.0, 0.3, 0.9] {
        let numeric = fd_hessian(|[x]| [branchy_grad(x)], [x]);
        check([[branchy_hessian(x)]], [[-4.0 * (2.0 * x).sin()]], numeric);
    }
    assert_eq!(branchy_hessian(2.0), 12.0);
}

// ---------------------------------------------------------------------------------------------
// Several variables: `f_hessian` returns [[T; k]; k].

// Rosenbrock f = (1 − x)² + 100(y − x²)²:
// fxx = 2 − 400(y − x²) + 800x² = 1200x² − 400y + 2, fxy = −400x, fyy = 200.
// At the minimum (1, 1): [[802, −400], [−400, 200]].
#[rustfmt::skip]
#[differentiable]
fn rosenbrock(x: f64, y: f64) -> f64 {
    (1 - x)**2 + 100*(y - x**2)**2
}

fn rosenbrock_closed(x: f64, y: f64) -> [[f64; 2]; 2] {
    [
        [1200.0 * x * x - 400.0 * y + 2.0, -400.0 * x],
        [-400.0 * x, 200.0],
    ]
}

#[test]
fn rosenbrock_at_minimum() {
    assert_eq!(
        rosenbrock_hessian(1.0, 1.0),
        [[802.0, -400.0], [-400.0, 200.0]]
    );
    let numeric = fd_hessian(|[x, y]| rosenbrock_grad(x, y).into(), [1.0, 1.0]);
    check(
        rosenbrock_hessian(1.0, 1.0),
        rosenbrock_closed(1.0, 1.0),
        numeric,
    );
}

#[test]
fn rosenbrock_at_random_points() {
    let mut rng = Rng(0x5eed);
    for _ in 0..5 {
        let (x, y) = (rng.uniform(-2.0, 2.0), rng.uniform(-1.0, 3.0));
        let h = rosenbrock_hessian(x, y);
        let numeric = fd_hessian(|[x, y]| rosenbrock_grad(x, y).into(), [x, y]);
        check(h, rosenbrock_closed(x, y), numeric);
        assert_symmetric(h);
    }
}

// f = xʸ (both differentiated): fxx = y(y − 1)x^(y−2), fxy = x^(y−1)(1 + y ln x),
// fyy = xʸ ln²x.
#[rustfmt::skip]
#[differentiable]
fn x_pow_y(x: f64, y: f64) -> f64 {
    x**y
}

#[test]
fn power_with_both_differentiated() {
    let mut rng = Rng(23);
    for _ in 0..5 {
        let (x, y) = (rng.uniform(0.5, 2.5), rng.uniform(-1.5, 2.5));
        let ln = x.ln();
        let fxy = x.powf(y - 1.0) * (1.0 + y * ln);
        let closed = [
            [y * (y - 1.0) * x.powf(y - 2.0), fxy],
            [fxy, x.powf(y) * ln * ln],
        ];
        let h = x_pow_y_hessian(x, y);
        let numeric = fd_hessian(|[x, y]| x_pow_y_grad(x, y).into(), [x, y]);
        check(h, closed, numeric);
        assert_symmetric(h);
    }
}

// 1/r with r = √(x² + y²): fxx = (2x² − y²)/r⁵, fxy = 3xy/r⁵, fyy = (2y² − x²)/r⁵.
#[rustfmt::skip]
#[differentiable]
fn inverse_radius(x: f64, y: f64) -> f64 {
    let r2 = x**2 + y**2;
    let r = r2.sqrt();
    1 / r
}

#[test]
fn inverse_radius_through_lets() {
    let mut rng = Rng(31);
    for _ in 0..5 {
        let (x, y) = (rng.uniform(0.5, 2.0), rng.uniform(-2.0, -0.5));
        let r5 = (x * x + y * y).sqrt().powi(5);
        let closed = [
            [(2.0 * x * x - y * y) / r5, 3.0 * x * y / r5],
            [3.0 * x * y / r5, (2.0 * y * y - x * x) / r5],
        ];
        let h = inverse_radius_hessian(x, y);
        let numeric = fd_hessian(|[x, y]| inverse_radius_grad(x, y).into(), [x, y]);
        check(h, closed, numeric);
        assert_symmetric(h);
    }
}

// Three variables, f = x²y + yz³ + sin(xz):
// fx = 2xy + z cos xz, fy = x² + z³, fz = 3yz² + x cos xz;
// fxx = 2y − z² sin xz, fxy = 2x, fxz = cos xz − xz sin xz,
// fyy = 0, fyz = 3z², fzz = 6yz − x² sin xz.
#[rustfmt::skip]
#[differentiable]
fn three(x: f64, y: f64, z: f64) -> f64 {
    x**2 * y + y * z**3 + (x * z).sin()
}

fn three_closed(x: f64, y: f64, z: f64) -> [[f64; 3]; 3] {
    let (s, c) = (x * z).sin_cos();
    let fxz = c - x * z * s;
    [
        [2.0 * y - z * z * s, 2.0 * x, fxz],
        [2.0 * x, 0.0, 3.0 * z * z],
        [fxz, 3.0 * z * z, 6.0 * y * z - x * x * s],
    ]
}

#[test]
fn three_variables() {
    let mut rng = Rng(0xabcdef);
    for _ in 0..5 {
        let p = [
            rng.uniform(-2.0, 2.0),
            rng.uniform(-2.0, 2.0),
            rng.uniform(-2.0, 2.0),
        ];
        let [x, y, z] = p;
        let h = three_hessian(x, y, z);
        let numeric = fd_hessian(|[x, y, z]| three_grad(x, y, z).into(), p);
        check(h, three_closed(x, y, z), numeric);
        assert_symmetric(h);
    }
    // At (1, 2, 0): sin 0 = 0, cos 0 = 1.
    assert_eq!(
        three_hessian(1.0, 2.0, 0.0),
        [[4.0, 2.0, 1.0], [2.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    );
}

// ---------------------------------------------------------------------------------------------
// f32: H is [[f32; 2]; 2].

// f = x²y + eʸ: fxx = 2y, fxy = 2x, fyy = eʸ.
#[rustfmt::skip]
#[differentiable]
fn single(x: f32, y: f32) -> f32 {
    x**2 * y + y.exp()
}

#[test]
fn f32_hessian() {
    let h: [[f32; 2]; 2] = single_hessian(1.5, 0.5);
    assert_eq!(h, [[1.0, 3.0], [3.0, 0.5f32.exp()]]);
    let mut rng = Rng(41);
    for _ in 0..5 {
        let (x, y) = (rng.uniform(-2.0, 2.0) as f32, rng.uniform(-1.0, 1.0) as f32);
        let h = single_hessian(x, y);
        let closed = [[2.0 * y, 2.0 * x], [2.0 * x, y.exp()]];
        // Central differences in f32: step 1e-2, agreement to ~1e-3 (the function is a
        // polynomial in x and the exponential's third derivative is small on [-1, 1]).
        let step = 1e-2f32;
        let g = |x: f32, y: f32| -> [f32; 2] { single_grad(x, y).into() };
        let (gxu, gxd) = (g(x + step, y), g(x - step, y));
        let (gyu, gyd) = (g(x, y + step), g(x, y - step));
        let numeric = [
            [
                (gxu[0] - gxd[0]) / (2.0 * step),
                (gyu[0] - gyd[0]) / (2.0 * step),
            ],
            [
                (gxu[1] - gxd[1]) / (2.0 * step),
                (gyu[1] - gyd[1]) / (2.0 * step),
            ],
        ];
        for i in 0..2 {
            for j in 0..2 {
                let (a, c, n) = (h[i][j], closed[i][j], numeric[i][j]);
                assert!(
                    (a - c).abs() <= 1e-6 * (1.0 + c.abs()),
                    "H[{i}][{j}] {a} vs {c}"
                );
                assert!(
                    (a - n).abs() <= 1e-3 * (1.0 + n.abs()),
                    "H[{i}][{j}] {a} vs fd {n}"
                );
            }
        }
        assert_eq!(h[0][1], h[1][0]);
    }
}

// ---------------------------------------------------------------------------------------------
// Through calls: the callee's second-order pullback (`__g_pullback2`) carries its Hessian.

// g(a, b) = a²b + sin b.
#[rustfmt::skip]
#[differentiable]
fn callee(a: f64, b: f64) -> f64 {
    a**2 * b + b.sin()
}

// h(a; k) = k eᵃ, differentiated in `a` only.
#[differentiable(wrt(a))]
fn scaled_exp(a: f64, k: f64) -> f64 {
    a.exp() * k
}

// f(x, y) = g(xy, x + 1) + h(y; 2) = x²y²(x + 1) + sin(x + 1) + 2eʸ.
#[differentiable]
fn through_calls(x: f64, y: f64) -> f64 {
    callee(x * y, x + 1.0) + scaled_exp(y, 2.0)
}

fn through_calls_closed(x: f64, y: f64) -> [[f64; 2]; 2] {
    let fxx = 2.0 * y * y * (x + 1.0) + 4.0 * x * y * y - (x + 1.0).sin();
    let fxy = 4.0 * x * y * (x + 1.0) + 2.0 * x * x * y;
    let fyy = 2.0 * x * x * (x + 1.0) + 2.0 * y.exp();
    [[fxx, fxy], [fxy, fyy]]
}

#[test]
fn hessian_through_calls() {
    let mut rng = Rng(0x5eed);
    for _ in 0..5 {
        let p = [rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5)];
        let [x, y] = p;
        let h = through_calls_hessian(x, y);
        let numeric = fd_hessian(|[x, y]| through_calls_grad(x, y).into(), p);
        check(h, through_calls_closed(x, y), numeric);
        assert_symmetric(h);
    }
}

// A call nested in a call: u(x) = g(x, x)·x, through `callee` twice over.
#[differentiable]
fn nested_calls(x: f64) -> f64 {
    callee(callee(x, 1.0), x) * x
}

#[test]
fn hessian_through_nested_calls() {
    let g = |a: f64, b: f64| a * a * b + b.sin();
    for x in [-0.8, 0.3, 1.1] {
        let f = |x: f64| g(g(x, 1.0), x) * x;
        let step = 1e-4;
        let numeric = (f(x + step) - 2.0 * f(x) + f(x - step)) / (step * step);
        let h = nested_calls_hessian(x);
        assert!(
            (h - numeric).abs() <= 1e-4 * (1.0 + numeric.abs()),
            "{h} vs {numeric}"
        );
        let fd_of_grad = (nested_calls_grad(x + 1e-6) - nested_calls_grad(x - 1e-6)) / 2e-6;
        assert!(
            (h - fd_of_grad).abs() <= 1e-5 * (1.0 + h.abs()),
            "{h} vs {fd_of_grad}"
        );
    }
}

/// A long body (60 chained `let`s): its Hessian goes through hyper-dual numbers rather than
/// thousands of symbolic statements (which made LLVM's debug info overflow its stack).
#[differentiable]
fn long_chain(x: f64, y: f64) -> f64 {
    let a0 = x.sin();
    let a1 = y.cos() * x;
    let a2 = (a1 + 0.3 * a0).sin() + 0.1 * x * y;
    let a3 = (a2 + 0.3 * a1).sin() + 0.1 * x * y;
    let a4 = (a3 + 0.3 * a2).sin() + 0.1 * x * y;
    let a5 = (a4 + 0.3 * a3).sin() + 0.1 * x * y;
    let a6 = (a5 + 0.3 * a4).sin() + 0.1 * x * y;
    let a7 = (a6 + 0.3 * a5).sin() + 0.1 * x * y;
    let a8 = (a7 + 0.3 * a6).sin() + 0.1 * x * y;
    let a9 = (a8 + 0.3 * a7).sin() + 0.1 * x * y;
    let a10 = (a9 + 0.3 * a8).sin() + 0.1 * x * y;
    let a11 = (a10 + 0.3 * a9).sin() + 0.1 * x * y;
    let a12 = (a11 + 0.3 * a10).sin() + 0.1 * x * y;
    let a13 = (a12 + 0.3 * a11).sin() + 0.1 * x * y;
    let a14 = (a13 + 0.3 * a12).sin() + 0.1 * x * y;
    let a15 = (a14 + 0.3 * a13).sin() + 0.1 * x * y;
    let a16 = (a15 + 0.3 * a14).sin() + 0.1 * x * y;
    let a17 = (a16 + 0.3 * a15).sin() + 0.1 * x * y;
    let a18 = (a17 + 0.3 * a16).sin() + 0.1 * x * y;
    let a19 = (a18 + 0.3 * a17).sin() + 0.1 * x * y;
    let a20 = (a19 + 0.3 * a18).sin() + 0.1 * x * y;
    let a21 = (a20 + 0.3 * a19).sin() + 0.1 * x * y;
    let a22 = (a21 + 0.3 * a20).sin() + 0.1 * x * y;
    let a23 = (a22 + 0.3 * a21).sin() + 0.1 * x * y;
    let a24 = (a23 + 0.3 * a22).sin() + 0.1 * x * y;
    let a25 = (a24 + 0.3 * a23).sin() + 0.1 * x * y;
    let a26 = (a25 + 0.3 * a24).sin() + 0.1 * x * y;
    let a27 = (a26 + 0.3 * a25).sin() + 0.1 * x * y;
    let a28 = (a27 + 0.3 * a26).sin() + 0.1 * x * y;
    let a29 = (a28 + 0.3 * a27).sin() + 0.1 * x * y;
    let a30 = (a29 + 0.3 * a28).sin() + 0.1 * x * y;
    let a31 = (a30 + 0.3 * a29).sin() + 0.1 * x * y;
    let a32 = (a31 + 0.3 * a30).sin() + 0.1 * x * y;
    let a33 = (a32 + 0.3 * a31).sin() + 0.1 * x * y;
    let a34 = (a33 + 0.3 * a32).sin() + 0.1 * x * y;
    let a35 = (a34 + 0.3 * a33).sin() + 0.1 * x * y;
    let a36 = (a35 + 0.3 * a34).sin() + 0.1 * x * y;
    let a37 = (a36 + 0.3 * a35).sin() + 0.1 * x * y;
    let a38 = (a37 + 0.3 * a36).sin() + 0.1 * x * y;
    let a39 = (a38 + 0.3 * a37).sin() + 0.1 * x * y;
    let a40 = (a39 + 0.3 * a38).sin() + 0.1 * x * y;
    let a41 = (a40 + 0.3 * a39).sin() + 0.1 * x * y;
    let a42 = (a41 + 0.3 * a40).sin() + 0.1 * x * y;
    let a43 = (a42 + 0.3 * a41).sin() + 0.1 * x * y;
    let a44 = (a43 + 0.3 * a42).sin() + 0.1 * x * y;
    let a45 = (a44 + 0.3 * a43).sin() + 0.1 * x * y;
    let a46 = (a45 + 0.3 * a44).sin() + 0.1 * x * y;
    let a47 = (a46 + 0.3 * a45).sin() + 0.1 * x * y;
    let a48 = (a47 + 0.3 * a46).sin() + 0.1 * x * y;
    let a49 = (a48 + 0.3 * a47).sin() + 0.1 * x * y;
    let a50 = (a49 + 0.3 * a48).sin() + 0.1 * x * y;
    let a51 = (a50 + 0.3 * a49).sin() + 0.1 * x * y;
    let a52 = (a51 + 0.3 * a50).sin() + 0.1 * x * y;
    let a53 = (a52 + 0.3 * a51).sin() + 0.1 * x * y;
    let a54 = (a53 + 0.3 * a52).sin() + 0.1 * x * y;
    let a55 = (a54 + 0.3 * a53).sin() + 0.1 * x * y;
    let a56 = (a55 + 0.3 * a54).sin() + 0.1 * x * y;
    let a57 = (a56 + 0.3 * a55).sin() + 0.1 * x * y;
    let a58 = (a57 + 0.3 * a56).sin() + 0.1 * x * y;
    let a59 = (a58 + 0.3 * a57).sin() + 0.1 * x * y;
    a59
}

#[test]
fn hessian_of_a_long_body() {
    let (x, y, e) = (0.3, 0.4, 1e-6);
    let h = long_chain_hessian(x, y);
    let (gp, gm) = (long_chain_grad(x + e, y), long_chain_grad(x - e, y));
    let (gq, gn) = (long_chain_grad(x, y + e), long_chain_grad(x, y - e));
    let fd = [
        [(gp.0 - gm.0) / (2.0 * e), (gp.1 - gm.1) / (2.0 * e)],
        [(gq.0 - gn.0) / (2.0 * e), (gq.1 - gn.1) / (2.0 * e)],
    ];
    for i in 0..2 {
        for j in 0..2 {
            assert!(
                (h[i][j] - fd[i][j]).abs() < 1e-6 * (1.0 + fd[i][j].abs()),
                "{h:?} vs {fd:?}"
            );
        }
    }
    assert!(h[0][1].abs() > 1e-3, "a test that can fail: {h:?}");
    let hv = long_chain_hvp(x, y, 1.0, 0.0);
    assert!((hv.0 - h[0][0]).abs() < 1e-9 && (hv.1 - h[1][0]).abs() < 1e-9);
}

/// A callee with a `[f64; 2]` parameter: `w₀ x² + w₁ x`.
#[differentiable]
fn weighted_quad(w: [f64; 2], x: f64) -> f64 {
    w[0] * x * x + w[1] * x
}

/// Calls it with a constant array: `(2x² + 3x) x`.
#[differentiable(wrt(x))]
fn through_constant_array(x: f64) -> f64 {
    let w = [2.0, 3.0];
    weighted_quad(w, x) * x
}

/// Passes a constant array parameter on: `(w₀ x² + w₁ x) x`.
#[differentiable(wrt(x))]
fn through_array_parameter(w: [f64; 2], x: f64) -> f64 {
    weighted_quad(w, x) * x
}

#[test]
fn second_derivatives_through_a_call_with_an_array_parameter() {
    let x = 1.5;
    let h = through_constant_array_hessian(x);
    let fd = fd_hessian(|p| [through_constant_array_grad(p[0])], [x]);
    check([[h]], [[12.0 * x + 6.0]], fd);
    let (w, x) = ([0.7, -1.2], -0.4);
    let h = through_array_parameter_hessian(w, x);
    let fd = fd_hessian(|p| [through_array_parameter_grad(w, p[0])], [x]);
    check([[h]], [[6.0 * w[0] * x + 2.0 * w[1]]], fd);
}
