use autodiff::{differentiable, tensor, Tensor};

#[differentiable]
fn z_sum(x: &Tensor<f64>, y: &Tensor<f64>) -> f64 {
    let z = x * y + y * *2;
    z.sum()
}

#[differentiable]
fn cube(x: Tensor<f64>) -> f64 {
    let y = x * *3 + x * *2;
    y.sum()
}

#[differentiable]
fn layers(x: &Tensor<f64>) -> f64 {
    let y = 3 * x + 2;
    let z = 2 * y * *2;
    z.mean()
}

fn main() {
    let x = tensor![1., 2., 3.];
    let y = tensor![[4.], [5.]];
    println!("{}", z_sum(&x, &y));
    let (gx, gy) = z_sum_grad(&x, &y);
    println!("{gx}\n{gy}");
    let t = tensor![[2., 3., 1.], [4., 5., 3.], [7., 6., 4.]];
    println!("{} {}", cube(t.clone()), cube_grad(t));
    println!("{}", layers_grad(&tensor![[1., 2., 3.], [3., 2., 1.]]));
}
