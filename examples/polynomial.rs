use autodiff::differentiable;

#[differentiable]
fn poly(x: f64) -> f64 {
    2 * x * *4 + x * *3 + 3 * x * *2 + 5 * x + 1
}

#[differentiable]
fn z(x: f64, y: f64) -> f64 {
    x * y + y * *2
}

fn main() {
    println!("poly(2) = {}", poly(2.0));
    println!("poly'(2) = {}", poly_grad(2.0));
    println!("{:?}", z_grad(2.0, 3.0));
    println!("{:?}", z_value_and_grad(2.0, 3.0));
}
