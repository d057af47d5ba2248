use autodiff::differentiable;

// `k` starts from an untyped literal, so it is a float carried through the loop.
#[differentiable]
fn f(x: f64) -> f64 {
    let mut v = x;
    let mut k = 0;
    for _ in 0..6 {
        k += 1;
        if k % 2 == 0 {
            v = v * 2.0;
        }
    }
    v
}

fn main() {}
