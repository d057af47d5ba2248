//! `for` loops and slices through the facade (the crate documentation, "Loops and slices"): accumulators,
//! carried state, nested loops, branches in loops, empty ranges, inclusive ranges, reversed
//! reads, `&[T]`, `Vec<T>` and `[T; N]` parameters, data slices with `wrt(..)`, calls to other
//! differentiable functions in a loop body, `_vjp` and `_value_and_grad`. Every gradient is
//! checked against the closed form stated above it and against central finite differences.
//!
//! Functions that use `**` carry `#[rustfmt::skip]`: rustfmt would respace `x**2` as `x * *2`.

use autodiff::differentiable;

/// Central difference of `f` in component `k` of `x`.
fn fd_at(f: impl Fn(&[f64]) -> f64, x: &[f64], k: usize) -> f64 {
    let h = 1e-6 * x[k].abs().max(1.0);
    let mut plus = x.to_vec();
    let mut minus = x.to_vec();
    plus[k] += h;
    minus[k] -= h;
    (f(&plus) - f(&minus)) / (2.0 * h)
}

/// Central differences in every component of `x`.
fn fd_all(f: impl Fn(&[f64]) -> f64, x: &[f64]) -> Vec<f64> {
    (0..x.len()).map(|k| fd_at(&f, x, k)).collect()
}

/// Central difference of a one-variable function.
fn fd(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    let h = 1e-6 * x.abs().max(1.0);
    (f(x + h) - f(x - h)) / (2.0 * h)
}

/// `got` agrees with the closed form to rounding.
#[track_caller]
fn close(got: f64, closed: f64) {
    assert!(
        (got - closed).abs() <= 1e-12 * (1.0 + closed.abs()),
        "gradient {got}, closed form {closed}"
    );
}

/// `got` agrees with the finite difference to ~1e-6 (relative).
#[track_caller]
fn near_fd(got: f64, numeric: f64) {
    assert!(
        (got - numeric).abs() <= 1e-6 * (1.0 + numeric.abs()),
        "gradient {got}, finite difference {numeric}"
    );
}

/// Component-wise: closed form to rounding, finite differences to ~1e-6.
#[track_caller]
fn check_vec(got: &[f64], closed: &[f64], numeric: &[f64]) {
    assert_eq!(got.len(), closed.len(), "gradient length");
    assert_eq!(got.len(), numeric.len(), "gradient length");
    for k in 0..got.len() {
        close(got[k], closed[k]);
        near_fd(got[k], numeric[k]);
    }
}

/// A deterministic point in [-1.5, 1.5]ⁿ (no random crate needed).
fn point(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 3.0 - 1.5
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Rosenbrock in N dimensions.

// f(x) = Σ_{i<n-1} 100 (x_{i+1} - x_i²)² + (1 - x_i)², so
// ∂f/∂x_j = -400 x_j (x_{j+1} - x_j²) - 2 (1 - x_j)   [j < n-1]
//         + 200 (x_j - x_{j-1}²)                       [j > 0].
#[rustfmt::skip]
#[differentiable]
fn rosenbrock(x: &[f64]) -> f64 {
    let n = x.len();
    let mut s = 0.0;
    for i in 0..n - 1 {
        s += 100*(x[i+1] - x[i]**2)**2 + (1 - x[i])**2;
    }
    s
}

fn rosenbrock_plain(x: &[f64]) -> f64 {
    (0..x.len() - 1)
        .map(|i| 100.0 * (x[i + 1] - x[i] * x[i]).powi(2) + (1.0 - x[i]).powi(2))
        .sum()
}

fn rosenbrock_closed(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    (0..n)
        .map(|j| {
            let mut g = 0.0;
            if j + 1 < n {
                g += -400.0 * x[j] * (x[j + 1] - x[j] * x[j]) - 2.0 * (1.0 - x[j]);
            }
            if j > 0 {
                g += 200.0 * (x[j] - x[j - 1] * x[j - 1]);
            }
            g
        })
        .collect()
}

#[test]
fn rosenbrock_2d_at_known_points() {
    // At the minimum (1, 1): value 0, gradient 0.
    assert_eq!(rosenbrock(&[1.0, 1.0]), 0.0);
    assert_eq!(rosenbrock_grad(&[1.0, 1.0]), vec![0.0, 0.0]);
    // At (0, 0): value 1, gradient (-2, 0).
    assert_eq!(rosenbrock(&[0.0, 0.0]), 1.0);
    assert_eq!(rosenbrock_grad(&[0.0, 0.0]), vec![-2.0, 0.0]);
    // At (-1.2, 1): value 24.2, gradient (-215.6, -88).
    let x = [-1.2, 1.0];
    close(rosenbrock(&x), 24.2);
    check_vec(
        &rosenbrock_grad(&x),
        &[-215.6, -88.0],
        &fd_all(rosenbrock_plain, &x),
    );
}

#[test]
fn rosenbrock_2_3_10_dimensions() {
    for n in [2, 3, 10] {
        for seed in 0..3 {
            let x = point(n, seed);
            close(rosenbrock(&x), rosenbrock_plain(&x));
            let g = rosenbrock_grad(&x);
            check_vec(&g, &rosenbrock_closed(&x), &fd_all(rosenbrock, &x));
        }
    }
}

#[test]
fn rosenbrock_1000_dimensions() {
    let x = point(1000, 42);
    let (value, g) = rosenbrock_value_and_grad(&x);
    close(value, rosenbrock_plain(&x));
    assert_eq!(value, rosenbrock(&x));
    // Every component against the closed form.
    let closed = rosenbrock_closed(&x);
    assert_eq!(g.len(), 1000);
    for k in 0..1000 {
        close(g[k], closed[k]);
    }
    // A few components (ends and interior) against finite differences.
    for k in [0, 1, 499, 500, 998, 999] {
        near_fd(g[k], fd_at(rosenbrock, &x, k));
    }
}

#[test]
fn rosenbrock_vjp_scales_the_gradient() {
    // vjp(x, c) = c · ∇f(x).
    let x = point(5, 7);
    let g = rosenbrock_grad(&x);
    let v = rosenbrock_vjp(&x, 2.5);
    assert_eq!(v.len(), g.len());
    for k in 0..g.len() {
        close(v[k], 2.5 * g[k]);
    }
    assert!(rosenbrock_vjp(&x, 0.0).iter().all(|&c| c == 0.0));
}

// ---------------------------------------------------------------------------------------------
// Horner's rule: p(x) = c_0 xⁿ⁻¹ + ... + c_{n-1}, so p'(x) = Σ_k (n-1-k) c_k x^(n-2-k).

#[differentiable(wrt(x))]
fn horner(x: f64, c: &[f64]) -> f64 {
    let mut acc = 0.0;
    for i in 0..c.len() {
        acc = acc * x + c[i];
    }
    acc
}

#[test]
fn horner_against_derivative_polynomial() {
    // 2x⁴ + x³ + 3x² + 5x + 1 at 2: 63 and 8x³ + 3x² + 6x + 5 = 93.
    let c = [2.0, 1.0, 3.0, 5.0, 1.0];
    assert_eq!(horner(2.0, &c), 63.0);
    assert_eq!(horner_grad(2.0, &c), 93.0);
    assert_eq!(horner_value_and_grad(2.0, &c), (63.0, 93.0));
    assert_eq!(horner_vjp(2.0, &c, -0.5), -46.5);
    let c = [0.5, -1.0, 0.0, 2.5, -3.0, 1.0, 0.25];
    let n = c.len();
    for x in [-1.3f64, -0.2, 0.0, 0.7, 1.9] {
        let closed: f64 = (0..n - 1)
            .map(|k| (n - 1 - k) as f64 * c[k] * x.powi((n - 2 - k) as i32))
            .sum();
        let got = horner_grad(x, &c);
        close(got, closed);
        near_fd(got, fd(|t| horner(t, &c), x));
    }
    // No coefficients: the loop does not run; p = 0, p' = 0.
    assert_eq!(horner_value_and_grad(1.5, &[]), (0.0, 0.0));
}

// ---------------------------------------------------------------------------------------------
// A branch inside a loop: f = Σ (x_i > 0 ? x_i² : -3 x_i), so ∂f/∂x_i = 2x_i or -3.

// The `if` is a statement that updates the accumulator in both arms, the last statement of the
// loop body, and its arms read the differentiated slice.
#[rustfmt::skip]
#[differentiable]
fn branchy(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        if x[i] > 0.0 {
            s += x[i]**2;
        } else {
            s -= 3*x[i];
        }
    }
    s
}

// The same sum with the branch as a value: s += (x_i > 0 ? x_i² : -3 x_i).
#[rustfmt::skip]
#[differentiable]
fn branchy_value(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += if x[i] > 0.0 { x[i]**2 } else { -3*x[i] };
    }
    s
}

// The same with the element bound first, the `if` followed by another statement.
#[rustfmt::skip]
#[differentiable]
fn branchy_bound(x: &[f64]) -> f64 {
    let mut s = 0.0;
    let mut count = 0.0;
    for i in 0..x.len() {
        let v = x[i];
        if v > 0.0 {
            s += v**2;
        } else {
            s -= 3*v;
        }
        count += 1.0;
    }
    s + 0.0 * count
}

// An `if` without `else` on the loop index only: f = Σ_{i>0} x_i², so ∂f/∂x_0 = 0 and
// ∂f/∂x_i = 2x_i after (the read in the arm must not count when the arm is not taken).
#[rustfmt::skip]
#[differentiable]
fn skip_first(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        if i > 0 {
            s += x[i]**2;
        }
    }
    s
}

#[test]
fn branch_in_loop() {
    let x = [1.5, -2.0, 0.25, -0.1, 3.0];
    close(branchy(&x), 2.25 + 6.0 + 0.0625 + 0.3 + 9.0);
    let closed: Vec<f64> = x
        .iter()
        .map(|&v| if v > 0.0 { 2.0 * v } else { -3.0 })
        .collect();
    check_vec(&branchy_grad(&x), &closed, &fd_all(branchy, &x));
    close(branchy_bound(&x), branchy(&x));
    check_vec(&branchy_bound_grad(&x), &closed, &fd_all(branchy_bound, &x));
    close(branchy_value(&x), branchy(&x));
    check_vec(&branchy_value_grad(&x), &closed, &fd_all(branchy_value, &x));
    let closed: Vec<f64> = (0..x.len())
        .map(|i| if i > 0 { 2.0 * x[i] } else { 0.0 })
        .collect();
    check_vec(&skip_first_grad(&x), &closed, &fd_all(skip_first, &x));
}

// ---------------------------------------------------------------------------------------------
// Nested loops: f = xᵀ A x with A (row-major n×n) a data slice, so ∇f = (A + Aᵀ) x.

#[differentiable(wrt(x))]
fn quad_form(x: &[f64], a: &[f64]) -> f64 {
    let n = x.len();
    let mut s = 0.0;
    for i in 0..n {
        for j in 0..n {
            s += a[i * n + j] * x[i] * x[j];
        }
    }
    s
}

#[test]
fn nested_loop_quadratic_form() {
    let n = 4;
    let a = point(n * n, 3);
    let x = point(n, 9);
    let closed: Vec<f64> = (0..n)
        .map(|i| (0..n).map(|j| (a[i * n + j] + a[j * n + i]) * x[j]).sum())
        .collect();
    let plain = |v: &[f64]| -> f64 {
        (0..n)
            .map(|i| (0..n).map(|j| a[i * n + j] * v[i] * v[j]).sum::<f64>())
            .sum()
    };
    close(quad_form(&x, &a), plain(&x));
    check_vec(
        &quad_form_grad(&x, &a),
        &closed,
        &fd_all(|v| quad_form(v, &a), &x),
    );
    // A = I: f = |x|², ∇f = 2x.
    let id: Vec<f64> = (0..n * n)
        .map(|k| if k % (n + 1) == 0 { 1.0 } else { 0.0 })
        .collect();
    let two_x: Vec<f64> = x.iter().map(|v| 2.0 * v).collect();
    check_vec(
        &quad_form_grad(&x, &id),
        &two_x,
        &fd_all(|v| quad_form(v, &id), &x),
    );
}

// An inner accumulator reset on every outer iteration: f = |Ax|² with A (row-major n×n)
// a data slice, so ∇f = 2 Aᵀ A x.
#[rustfmt::skip]
#[differentiable(wrt(x))]
fn ax_norm2(x: &[f64], a: &[f64]) -> f64 {
    let n = x.len();
    let mut s = 0.0;
    for i in 0..n {
        let mut row = 0.0;
        for j in 0..n {
            row += a[i * n + j] * x[j];
        }
        s += row**2;
    }
    s
}

#[test]
fn nested_loop_inner_accumulator() {
    // A = [[1, 2], [3, 4]], x = (1, 2): Ax = (5, 11), ∇f = 2 (1·5 + 3·11, 2·5 + 4·11) = (76, 108).
    let a = [1.0, 2.0, 3.0, 4.0];
    let x = [1.0, 2.0];
    assert_eq!(ax_norm2(&x, &a), 146.0);
    check_vec(
        &ax_norm2_grad(&x, &a),
        &[76.0, 108.0],
        &fd_all(|v| ax_norm2(v, &a), &x),
    );
    let n = 5;
    let a = point(n * n, 8);
    let x = point(n, 4);
    let ax: Vec<f64> = (0..n)
        .map(|i| (0..n).map(|j| a[i * n + j] * x[j]).sum())
        .collect();
    let closed: Vec<f64> = (0..n)
        .map(|j| 2.0 * (0..n).map(|i| a[i * n + j] * ax[i]).sum::<f64>())
        .collect();
    check_vec(
        &ax_norm2_grad(&x, &a),
        &closed,
        &fd_all(|v| ax_norm2(v, &a), &x),
    );
}

// A triangular nest (inner bound from the outer index): f = Σ_{j<=i} x_i x_j
// = ((Σx)² + Σx²) / 2, so ∂f/∂x_k = Σx + x_k.
#[differentiable]
fn triangle(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        for j in 0..=i {
            s += x[i] * x[j];
        }
    }
    s
}

#[test]
fn nested_loop_inner_bound_from_outer_index() {
    let x = point(6, 11);
    let total: f64 = x.iter().sum();
    let closed: Vec<f64> = x.iter().map(|v| total + v).collect();
    check_vec(&triangle_grad(&x), &closed, &fd_all(triangle, &x));
}

// ---------------------------------------------------------------------------------------------
// A loop whose trip count is 0: f = Σ_{i<m} x_i², with m = 0 the sum is empty: f = 0, ∇f = 0.

#[rustfmt::skip]
#[differentiable]
fn first_m_squares(x: &[f64], m: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..m {
        s += x[i]**2;
    }
    s
}

#[test]
fn empty_range_gives_zero() {
    let x = [1.0, -2.0, 3.0];
    assert_eq!(first_m_squares(&x, 0), 0.0);
    assert_eq!(first_m_squares_grad(&x, 0), vec![0.0, 0.0, 0.0]);
    assert_eq!(
        first_m_squares_value_and_grad(&x, 0),
        (0.0, vec![0.0, 0.0, 0.0])
    );
    // An empty slice: an empty gradient.
    assert_eq!(first_m_squares_value_and_grad(&[], 0), (0.0, vec![]));
    // m = 2: ∂f/∂x_i = 2x_i for i < 2, 0 after.
    check_vec(
        &first_m_squares_grad(&x, 2),
        &[2.0, -4.0, 0.0],
        &fd_all(|v| first_m_squares(v, 2), &x),
    );
}

// A decreasing range (5..2) is empty too.
#[differentiable]
fn backwards_range(x: f64) -> f64 {
    let mut s = x;
    for _i in 5..2 {
        s = s * x;
    }
    s
}

#[test]
fn reversed_range_is_empty() {
    // f = x, f' = 1.
    assert_eq!(backwards_range_value_and_grad(3.0), (3.0, 1.0));
}

// ---------------------------------------------------------------------------------------------
// Carried state.

// Differences of neighbours: prev carries x_{i-1}. f = Σ_{i>=1} (x_i - x_{i-1})², so
// ∂f/∂x_j = 2 (x_j - x_{j-1}) [j > 0] - 2 (x_{j+1} - x_j) [j < n-1].
#[rustfmt::skip]
#[differentiable]
fn total_variation2(x: &[f64]) -> f64 {
    let mut prev = x[0];
    let mut s = 0.0;
    for i in 1..x.len() {
        let cur = x[i];
        s += (cur - prev)**2;
        prev = cur;
    }
    s
}

#[test]
fn carried_previous_element() {
    let x = point(7, 5);
    let n = x.len();
    let closed: Vec<f64> = (0..n)
        .map(|j| {
            let mut g = 0.0;
            if j > 0 {
                g += 2.0 * (x[j] - x[j - 1]);
            }
            if j + 1 < n {
                g -= 2.0 * (x[j + 1] - x[j]);
            }
            g
        })
        .collect();
    check_vec(
        &total_variation2_grad(&x),
        &closed,
        &fd_all(total_variation2, &x),
    );
}

// A Fibonacci swap of two carried values: (a, b) <- (b, a·b) from (x, x), so after n steps
// b = x^F(n+2) (F(1) = F(2) = 1) and db/dx = F(n+2) x^(F(n+2) - 1).
#[differentiable]
fn fib_power(x: f64, n: usize) -> f64 {
    let mut prev = x;
    let mut cur = x;
    for _step in 0..n {
        let next = prev * cur;
        prev = cur;
        cur = next;
    }
    cur
}

#[test]
fn carried_swap_state() {
    let fib = [0, 1, 1, 2, 3, 5, 8, 13];
    for n in 0..=5 {
        let e = fib[n + 2];
        for x in [0.9, 1.1, -1.05] {
            let (v, g) = fib_power_value_and_grad(x, n);
            close(v, f64::powi(x, e));
            close(g, e as f64 * f64::powi(x, e - 1));
            near_fd(g, fd(|t| fib_power(t, n), x));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reversed reads: f = Σ_i (i+1) x_i x_{n-1-i}. Term i gives x_i the coefficient (i+1) x_{n-1-i}
// and x_{n-1-i} the coefficient (i+1) x_i, so ∂f/∂x_j = (j+1 + n-j) x_{n-1-j} = (n+1) x_{n-1-j}.
#[differentiable]
fn reversed_dot(x: &[f64]) -> f64 {
    let n = x.len();
    let mut s = 0.0;
    for i in 0..n {
        s += (i + 1) as f64 * x[i] * x[n - 1 - i];
    }
    s
}

#[test]
fn reversed_reads() {
    for n in [1, 4, 5] {
        let x = point(n, 13);
        let closed: Vec<f64> = (0..n).map(|j| (n + 1) as f64 * x[n - 1 - j]).collect();
        check_vec(&reversed_dot_grad(&x), &closed, &fd_all(reversed_dot, &x));
    }
}

// ---------------------------------------------------------------------------------------------
// An inclusive range: f = Σ_{i=0..=n} x_i³, so ∂f/∂x_i = 3 x_i² for i <= n, 0 after.
#[rustfmt::skip]
#[differentiable]
fn cubes_through(x: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..=n {
        s += x[i]**3;
    }
    s
}

#[test]
fn inclusive_range() {
    let x = [1.0, -2.0, 0.5, 3.0];
    // 0..=3 covers every element.
    assert_eq!(cubes_through(&x, 3), 1.0 - 8.0 + 0.125 + 27.0);
    check_vec(
        &cubes_through_grad(&x, 3),
        &[3.0, 12.0, 0.75, 27.0],
        &fd_all(|v| cubes_through(v, 3), &x),
    );
    // 0..=1 covers two; 0..=0 one.
    check_vec(
        &cubes_through_grad(&x, 1),
        &[3.0, 12.0, 0.0, 0.0],
        &fd_all(|v| cubes_through(v, 1), &x),
    );
    assert_eq!(cubes_through_grad(&x, 0), vec![3.0, 0.0, 0.0, 0.0]);
}

// ---------------------------------------------------------------------------------------------
// A fixed array indexed by the loop variable: f = Π x_i, so ∂f/∂x_j = Π_{i≠j} x_i.
#[differentiable]
fn product4(x: [f64; 4]) -> f64 {
    let mut p = 1.0;
    for i in 0..4 {
        p *= x[i];
    }
    p
}

#[test]
fn array_indexed_by_loop_variable() {
    let x = [1.5, -2.0, 0.5, 3.0];
    assert_eq!(product4(x), -4.5);
    let g: [f64; 4] = product4_grad(x);
    let closed = [-3.0, 2.25, -9.0, -1.5];
    let numeric = fd_all(|v| product4([v[0], v[1], v[2], v[3]]), &x);
    check_vec(&g, &closed, &numeric);
}

// A fixed array behind a reference and a generic float slice: f = Σ x_i², so ∇f = 2x.
#[differentiable]
fn sum_sq_ref3(x: &[f64; 3]) -> f64 {
    let mut s = 0.0;
    for i in 0..3 {
        s += x[i] * x[i];
    }
    s
}

#[differentiable]
fn sum_sq_generic<T: autodiff::Float>(x: &[T]) -> T {
    let mut s = T::zero();
    for i in 0..x.len() {
        s += x[i] * x[i];
    }
    s
}

#[test]
fn array_ref_and_generic_slice() {
    let x = [1.0, -2.0, 0.5];
    let g: [f64; 3] = sum_sq_ref3_grad(&x);
    check_vec(
        &g,
        &[2.0, -4.0, 1.0],
        &fd_all(|v| sum_sq_ref3(&[v[0], v[1], v[2]]), &x),
    );
    let g: Vec<f64> = sum_sq_generic_grad(&x[..]);
    check_vec(&g, &[2.0, -4.0, 1.0], &fd_all(sum_sq_generic, &x));
    let g32: Vec<f32> = sum_sq_generic_grad(&[1.0f32, -2.0, 0.5][..]);
    assert_eq!(g32, vec![2.0f32, -4.0, 1.0]);
}

// ---------------------------------------------------------------------------------------------
// A `Vec<f64>` parameter: f = |x| = sqrt(Σ x_i²), so ∇f = x / |x|.
#[rustfmt::skip]
#[differentiable]
fn norm(x: Vec<f64>) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i]**2;
    }
    s.sqrt()
}

#[test]
fn vec_parameter() {
    let x = vec![3.0, -4.0, 12.0];
    assert_eq!(norm(x.clone()), 13.0);
    let g: Vec<f64> = norm_grad(x.clone());
    let closed = [3.0 / 13.0, -4.0 / 13.0, 12.0 / 13.0];
    check_vec(&g, &closed, &fd_all(|v| norm(v.to_vec()), &x));
    assert_eq!(norm_value_and_grad(x.clone()).0, norm(x));
}

// ---------------------------------------------------------------------------------------------
// A loop calling another differentiable function, with a scalar parameter too:
// f(x, y) = Σ y · sin²(x_i), so ∂f/∂x_i = 2 y sin x_i cos x_i = y sin 2x_i, ∂f/∂y = Σ sin² x_i.

#[rustfmt::skip]
#[differentiable]
fn sin_sq(t: f64) -> f64 {
    t.sin()**2
}

#[differentiable]
fn weighted_sin_sq(x: &[f64], y: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += y * sin_sq(x[i]);
    }
    s
}

#[test]
fn loop_calls_differentiable_function() {
    let x = point(5, 21);
    let y = 1.7;
    let (gx, gy): (Vec<f64>, f64) = weighted_sin_sq_grad(&x, y);
    let closed_x: Vec<f64> = x.iter().map(|v| y * (2.0 * v).sin()).collect();
    check_vec(&gx, &closed_x, &fd_all(|v| weighted_sin_sq(v, y), &x));
    let closed_y: f64 = x.iter().map(|v| v.sin().powi(2)).sum();
    close(gy, closed_y);
    near_fd(gy, fd(|t| weighted_sin_sq(&x, t), y));
    // vjp with a cotangent scales both parts; value_and_grad's value is f.
    let (vx, vy) = weighted_sin_sq_vjp(&x, y, -3.0);
    for k in 0..x.len() {
        close(vx[k], -3.0 * gx[k]);
    }
    close(vy, -3.0 * gy);
    let (value, (gx2, gy2)) = weighted_sin_sq_value_and_grad(&x, y);
    assert_eq!(value, weighted_sin_sq(&x, y));
    assert_eq!((gx2, gy2), (gx, gy));
}

// ---------------------------------------------------------------------------------------------
// Data slices with `wrt`: mean squared error of a line, L = Σ (w x_i + b - y_i)² / n, so
// ∂L/∂w = 2/n Σ r_i x_i, ∂L/∂b = 2/n Σ r_i with r_i = w x_i + b - y_i.
#[rustfmt::skip]
#[differentiable(wrt(w, b))]
fn mse(w: f64, b: f64, xs: &[f64], ys: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..xs.len() {
        let r = w * xs[i] + b - ys[i];
        s += r**2;
    }
    s / xs.len() as f64
}

#[test]
fn data_slices_with_wrt() {
    let xs = [0.0, 1.0, 2.0, 3.0];
    let ys = [1.0, 2.5, 5.5, 6.0];
    let (w, b) = (1.5, 0.5);
    let n = xs.len() as f64;
    let r: Vec<f64> = (0..4).map(|i| w * xs[i] + b - ys[i]).collect();
    let gw: f64 = 2.0 / n * (0..4).map(|i| r[i] * xs[i]).sum::<f64>();
    let gb: f64 = 2.0 / n * r.iter().sum::<f64>();
    let (value, (dw, db)) = mse_value_and_grad(w, b, &xs, &ys);
    assert_eq!(value, mse(w, b, &xs, &ys));
    close(value, r.iter().map(|v| v * v).sum::<f64>() / n);
    close(dw, gw);
    close(db, gb);
    near_fd(dw, fd(|t| mse(t, b, &xs, &ys), w));
    near_fd(db, fd(|t| mse(w, t, &xs, &ys), b));
}

// ---------------------------------------------------------------------------------------------
// `_value_and_grad`'s value equals `f` on every loop function above.
#[test]
fn value_and_grad_value_is_f() {
    let x = point(6, 17);
    assert_eq!(rosenbrock_value_and_grad(&x).0, rosenbrock(&x));
    assert_eq!(branchy_value_and_grad(&x).0, branchy(&x));
    assert_eq!(triangle_value_and_grad(&x).0, triangle(&x));
    assert_eq!(total_variation2_value_and_grad(&x).0, total_variation2(&x));
    assert_eq!(reversed_dot_value_and_grad(&x).0, reversed_dot(&x));
    assert_eq!(cubes_through_value_and_grad(&x, 4).0, cubes_through(&x, 4));
    assert_eq!(
        first_m_squares_value_and_grad(&x, 3).0,
        first_m_squares(&x, 3)
    );
    assert_eq!(fib_power_value_and_grad(1.1, 4).0, fib_power(1.1, 4));
    let c = [1.0, -2.0, 0.5];
    assert_eq!(horner_value_and_grad(0.3, &c).0, horner(0.3, &c));
    let a = point(36, 1);
    assert_eq!(quad_form_value_and_grad(&x, &a).0, quad_form(&x, &a));
    let arr = [x[0], x[1], x[2], x[3]];
    assert_eq!(product4_value_and_grad(arr).0, product4(arr));
    // Each gradient from value_and_grad equals f_grad.
    assert_eq!(rosenbrock_value_and_grad(&x).1, rosenbrock_grad(&x));
    assert_eq!(triangle_value_and_grad(&x).1, triangle_grad(&x));
}

// ---------------------------------------------------------------------------------------------
// f32: f = Σ x_i² · i, so ∂f/∂x_i = 2 i x_i.
#[rustfmt::skip]
#[differentiable]
fn weighted_squares32(x: &[f32]) -> f32 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += i as f32 * x[i]**2;
    }
    s
}

#[test]
fn f32_slice() {
    let x: [f32; 4] = [1.0, -2.0, 0.5, 3.0];
    assert_eq!(weighted_squares32(&x), 0.0 + 4.0 + 0.5 + 27.0);
    let g: Vec<f32> = weighted_squares32_grad(&x);
    let closed: Vec<f32> = (0..4).map(|i| 2.0 * i as f32 * x[i]).collect();
    assert_eq!(g, closed);
    // Finite differences in f64 arithmetic on the same formula.
    for k in 0..4 {
        let h = 1e-3f32;
        let mut p = x;
        let mut m = x;
        p[k] += h;
        m[k] -= h;
        let numeric = (weighted_squares32(&p) - weighted_squares32(&m)) / (2.0 * h);
        assert!(
            (g[k] - numeric).abs() <= 1e-2 * (1.0 + numeric.abs()),
            "gradient {}, finite difference {numeric}",
            g[k]
        );
    }
    let (v, g2) = weighted_squares32_value_and_grad(&x);
    assert_eq!(v, weighted_squares32(&x));
    assert_eq!(g2, g);
    assert_eq!(
        weighted_squares32_vjp(&x, 0.5),
        closed.iter().map(|c| 0.5 * c).collect::<Vec<f32>>()
    );
}

// ---------------------------------------------------------------------------------------------
// Hessians of bodies with loops: forward-over-forward on hyper-dual numbers.

// p(x) = Σ c_i x^(n-1-i) by Horner; p''(x) by the derivative polynomial.
#[differentiable(wrt(x))]
fn horner_again(x: f64, c: &[f64]) -> f64 {
    let mut acc = 0.0;
    for i in 0..c.len() {
        acc = acc * x + c[i];
    }
    acc
}

#[test]
fn hessian_of_horner() {
    let c = [2.0, 1.0, 3.0, 5.0, 1.0];
    for x in [-1.3, 0.0, 0.4, 2.0] {
        // p = 2x⁴ + x³ + 3x² + 5x + 1, p'' = 24x² + 6x + 6.
        let closed = 24.0 * x * x + 6.0 * x + 6.0;
        let h = horner_again_hessian(x, &c);
        assert!(
            (h - closed).abs() <= 1e-12 * (1.0 + closed.abs()),
            "{h} vs {closed}"
        );
        let fd = (horner_again_grad(x + 1e-6, &c) - horner_again_grad(x - 1e-6, &c)) / 2e-6;
        assert!((h - fd).abs() <= 1e-6 * (1.0 + h.abs()), "{h} vs {fd}");
    }
}

// s(x, y) = Σ_i x sin²(x i + y), with a branch in the loop.
#[differentiable(wrt(x, y))]
fn loop_with_branch(x: f64, y: f64, n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        let t = (x * i as f64 + y).sin();
        if t > 0.0 {
            s += t * t * x;
        } else {
            s -= t * y;
        }
    }
    s
}

#[test]
fn hessian_of_a_loop_with_a_branch() {
    let (x, y, n) = (0.3, 0.7, 6);
    let h = loop_with_branch_hessian(x, y, n);
    let e = 1e-6;
    let (gxp, gyp) = loop_with_branch_grad(x + e, y, n);
    let (gxm, gym) = loop_with_branch_grad(x - e, y, n);
    let (gxq, gyq) = loop_with_branch_grad(x, y + e, n);
    let (gxr, gyr) = loop_with_branch_grad(x, y - e, n);
    let fd = [
        [(gxp - gxm) / (2.0 * e), (gyp - gym) / (2.0 * e)],
        [(gxq - gxr) / (2.0 * e), (gyq - gyr) / (2.0 * e)],
    ];
    for i in 0..2 {
        for j in 0..2 {
            assert!(
                (h[i][j] - fd[i][j]).abs() <= 1e-5 * (1.0 + fd[i][j].abs()),
                "H[{i}][{j}] {} vs {}",
                h[i][j],
                fd[i][j]
            );
        }
    }
    assert_eq!(h[0][1], h[1][0]);
}

// ---------------------------------------------------------------------------------------------
// Regressions found by the differential corpus (tests/test_random.rs).

#[differentiable]
fn two_loops(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i] * x[i];
    }
    for i in 0..x.len() {
        s += 3 * x[i];
    }
    s
}

#[differentiable]
fn branch_product(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        if x[i] >= 0.0 {
            s -= x[i];
        } else {
            s += x[i + 1] * x[i];
        }
    }
    s
}

#[differentiable]
fn typed_start(x: &[f64]) -> f64 {
    let mut s = 0.5_f64;
    for i in 0..x.len() {
        s += s.cos() * x[i];
    }
    s
}

#[differentiable]
fn floor_after(w: [f64; 3]) -> f64 {
    let u = w[1] * 2.0;
    let mut s = w[1];
    for i in 0..2 {
        s -= w[i + 1] * s;
    }
    s.floor() - u
}

fn fd_slice(f: impl Fn(&[f64]) -> f64, x: &[f64]) -> Vec<f64> {
    (0..x.len())
        .map(|i| {
            let (mut p, mut m) = (x.to_vec(), x.to_vec());
            p[i] += 1e-6;
            m[i] -= 1e-6;
            (f(&p) - f(&m)) / 2e-6
        })
        .collect()
}

#[test]
fn corpus_regressions() {
    let x = [0.4, -1.3, 0.9];
    // Two loops add their contributions: 2x + 3.
    assert_eq!(two_loops_grad(&x), vec![3.8, 0.3999999999999999, 4.8]);
    // x0 ≥ 0: -1; x1 < 0: x2 to x1 and x1 to x2.
    assert_eq!(branch_product_grad(&x), vec![-1.0, 0.9, -1.3]);
    for (g, f) in typed_start_grad(&x).iter().zip(fd_slice(typed_start, &x)) {
        assert!((g - f).abs() < 1e-6, "{g} vs {f}");
    }
    // floor has derivative 0; -u = -2 w1.
    assert_eq!(floor_after_grad([1.0, 2.0, 3.0]), [0.0, -2.0, 0.0]);
}

/// A constant `Vec` parameter read in a loop (data passed by value).
#[differentiable(wrt(w))]
fn fit_owned(w: f64, xs: Vec<f64>) -> f64 {
    let mut s = 0.0;
    for i in 0..xs.len() {
        s += (w * xs[i]).sin();
    }
    s
}

fn table() -> Vec<f64> {
    vec![1.0, 2.0, -0.5]
}

/// A constant `Vec` local from an ordinary function, indexed in a loop.
#[differentiable]
fn weighted(w: f64) -> f64 {
    let v = table();
    let mut s = 0.0;
    for i in 0..v.len() {
        s += (w * v[i]).exp();
    }
    s
}

pub struct Settings {
    pub k: f64,
    pub n: usize,
}

/// A loop bound read from a constant struct.
#[differentiable]
fn repeated(c: &Settings, x: f64) -> f64 {
    let mut s = x * c.k;
    for _ in 0..c.n {
        s += x.sin();
    }
    s
}

#[test]
fn constants_read_in_loops_in_every_item() {
    let xs: Vec<f64> = vec![1.0, 2.0];
    let w: f64 = 1.5;
    let g: f64 = xs.iter().map(|x| x * (w * x).cos()).sum();
    let h: f64 = xs.iter().map(|x| -x * x * (w * x).sin()).sum();
    assert!((fit_owned_grad(w, xs.clone()) - g).abs() < 1e-14);
    assert!((fit_owned_hessian(w, xs.clone()) - h).abs() < 1e-12);
    let v = table();
    let w: f64 = 0.3;
    let g: f64 = v.iter().map(|x| x * (w * x).exp()).sum();
    let h: f64 = v.iter().map(|x| x * x * (w * x).exp()).sum();
    assert!((weighted_grad(w) - g).abs() < 1e-14);
    assert!((weighted_hessian(w) - h).abs() < 1e-12);
    let c = Settings { k: 2.0, n: 3 };
    let x: f64 = 0.5;
    assert!((repeated_grad(&c, x) - (2.0 + 3.0 * x.cos())).abs() < 1e-14);
    assert!((repeated_hessian(&c, x) + 3.0 * x.sin()).abs() < 1e-12);
    let fd = (repeated_grad(&c, x + 1e-6) - repeated_grad(&c, x - 1e-6)) / 2e-6;
    assert!((repeated_hessian(&c, x) - fd).abs() < 1e-6);
}

// ---------------------------------------------------------------------------------------------
// Element reads inside an `if` in a loop body, with the index defined outside the `if`: the
// gradient is scattered once per read (no one-hot sequence per iteration). The guard may be
// what keeps the index in range: the read must not happen when the arm is not taken.

// f = Σ_{i < n} (i < len ? x_i² : 0) for n beyond the slice's length.
#[rustfmt::skip]
#[differentiable(wrt(x))]
fn guarded_range(x: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        if i < x.len() {
            s += x[i]**2;
        }
    }
    s
}

// Both arms read x_i and x_0 (a literal index): f = Σ (i even ? x_i x_0 : -x_i).
#[rustfmt::skip]
#[differentiable]
fn both_arms<T: autodiff::Float>(x: &[T]) -> T {
    let mut s = 0.0;
    for i in 0..x.len() {
        if i % 2 == 0 {
            s += x[i] * x[0];
        } else {
            s -= x[i];
        }
    }
    s
}

// The index computed inside the arm, guarded there: f = Σ_{i+1 < len} x_i x_{i+1}.
#[rustfmt::skip]
#[differentiable]
fn guarded_next(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        if i + 1 < x.len() {
            let j = i + 1;
            s += x[i] * x[j];
        }
    }
    s
}

#[test]
fn element_reads_inside_an_if_in_a_loop() {
    let x = [1.5, -2.0, 0.25, -0.1, 3.0];
    let n = 8;
    close(guarded_range(&x, n), x.iter().map(|v| v * v).sum());
    let closed: Vec<f64> = x.iter().map(|v| 2.0 * v).collect();
    check_vec(
        &guarded_range_grad(&x, n),
        &closed,
        &fd_all(|x| guarded_range(x, n), &x),
    );
    let (v, d) = guarded_range_jvp(&x, n, &[1.0, 0.0, 0.0, 0.0, 1.0]);
    close(v, guarded_range(&x, n));
    close(d, 2.0 * x[0] + 2.0 * x[4]);

    // ∂/∂x_0 = 2x_0 + Σ_{i even, i > 0} x_i; ∂/∂x_i = x_0 (i even, > 0), -1 (i odd).
    let even: f64 = x.iter().step_by(2).skip(1).sum();
    let closed: Vec<f64> = (0..x.len())
        .map(|i| match i {
            0 => 2.0 * x[0] + even,
            _ if i % 2 == 0 => x[0],
            _ => -1.0,
        })
        .collect();
    check_vec(&both_arms_grad(&x), &closed, &fd_all(both_arms, &x));
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let g32 = both_arms_grad(&x32);
    for (a, b) in g32.iter().zip(&closed) {
        assert!((*a as f64 - b).abs() < 1e-5, "f32: {a} vs {b}");
    }
    let hv = both_arms_hvp(&x, &[1.0, 0.0, 1.0, 0.0, 0.0]);
    // H e0 + H e2: row 0 of H is (2, 0, 1, 0, 1), row 2 is (1, 0, 0, 0, 0).
    check_vec(&hv, &[3.0, 0.0, 1.0, 0.0, 1.0], &[3.0, 0.0, 1.0, 0.0, 1.0]);

    let closed: Vec<f64> = (0..x.len())
        .map(|i| {
            let left = if i > 0 { x[i - 1] } else { 0.0 };
            let right = if i + 1 < x.len() { x[i + 1] } else { 0.0 };
            left + right
        })
        .collect();
    check_vec(&guarded_next_grad(&x), &closed, &fd_all(guarded_next, &x));
}

/// `to_vec()` of a differentiated slice is the slice itself (its gradient passes through).
#[differentiable]
fn copied_then_summed(v: &[f64]) -> f64 {
    let w = v.to_vec();
    let mut s = 0.0;
    for i in 0..w.len() {
        s += w[i] * w[i] * v[i];
    }
    s
}

#[test]
fn to_vec_passes_the_gradient() {
    let v = [1.0, -2.0, 0.5];
    // f = Σ v³: 3 v².
    let closed: Vec<f64> = v.iter().map(|x| 3.0 * x * x).collect();
    check_vec(
        &copied_then_summed_grad(&v),
        &closed,
        &fd_all(copied_then_summed, &v),
    );
}
