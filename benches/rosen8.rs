// The 8-variable chained Rosenbrock function, its hand-written forward-mode baselines and the
// inputs, shared by `benches/forward.rs` and `benches/compare/benches/forward.rs` through
// `include!` (the comparison package keeps num-dual out of the workspace's dependencies).

/// Inputs per benchmark iteration.
const N: usize = 1024;

const RTOL: f64 = 1e-9;

fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= RTOL * (1.0 + want.abs())
}

/// Maps `f` over `xs` into the preallocated `out` (independent elements, no reduction chain).
#[inline(always)]
fn map_into<I: Copy, O>(xs: &[I], out: &mut [O], f: impl Fn(I) -> O) {
    for (o, &x) in out.iter_mut().zip(xs) {
        *o = f(x);
    }
}

/// Deterministic pseudo-random points in [-1.5, 1.5)^8 and directions in [-1, 1)^8.
fn points() -> Vec<([f64; 8], [f64; 8])> {
    let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    };
    (0..N)
        .map(|_| {
            let x = std::array::from_fn(|_| 1.5 * next());
            let t = std::array::from_fn(|_| next());
            (x, t)
        })
        .collect()
}

#[rustfmt::skip]
#[differentiable]
fn rosen8(x: [f64; 8]) -> f64 {
    (1 - x[0])**2 + 100*(x[1] - x[0]**2)**2
        + (1 - x[1])**2 + 100*(x[2] - x[1]**2)**2
        + (1 - x[2])**2 + 100*(x[3] - x[2]**2)**2
        + (1 - x[3])**2 + 100*(x[4] - x[3]**2)**2
        + (1 - x[4])**2 + 100*(x[5] - x[4]**2)**2
        + (1 - x[5])**2 + 100*(x[6] - x[5]**2)**2
        + (1 - x[6])**2 + 100*(x[7] - x[6]**2)**2
}

/// Hand-written value and directional derivative: one pass over the 7 terms.
#[inline]
fn rosen8_jvp_hand(x: [f64; 8], t: [f64; 8]) -> (f64, f64) {
    let (mut v, mut d) = (0.0, 0.0);
    for i in 0..7 {
        let b = 1.0 - x[i];
        let a = x[i + 1] - x[i] * x[i];
        v += b * b + 100.0 * a * a;
        d += -2.0 * b * t[i] + 200.0 * a * (t[i + 1] - 2.0 * x[i] * t[i]);
    }
    (v, d)
}

/// Hand-written Hessian: tridiagonal.
#[inline]
fn rosen8_hessian_hand(x: [f64; 8]) -> [[f64; 8]; 8] {
    let mut h = [[0.0; 8]; 8];
    for i in 0..7 {
        h[i][i] += 2.0 + 1200.0 * x[i] * x[i] - 400.0 * x[i + 1];
        h[i + 1][i + 1] += 200.0;
        h[i][i + 1] = -400.0 * x[i];
        h[i + 1][i] = -400.0 * x[i];
    }
    h
}

fn check_against_hand(ps: &[([f64; 8], [f64; 8])]) {
    for &(x, t) in ps {
        let (v, d) = rosen8_jvp(x, t);
        let (hv, hd) = rosen8_jvp_hand(x, t);
        assert!(close(v, hv) && close(d, hd), "rosen8_jvp at {x:?}");
        let (h, hh) = (rosen8_hessian(x), rosen8_hessian_hand(x));
        for a in 0..8 {
            for b in 0..8 {
                assert!(
                    close(h[a][b], hh[a][b]),
                    "rosen8_hessian[{a}][{b}] at {x:?}"
                );
            }
        }
        let hvp = rosen8_hvp(x, t);
        for a in 0..8 {
            let want: f64 = (0..8).map(|b| hh[a][b] * t[b]).sum();
            assert!(close(hvp[a], want), "rosen8_hvp[{a}] at {x:?}");
        }
    }
}
