//! A multi-layer perceptron kept as a struct with a stack of layers in a `Vec<Layer>`: the
//! gradient of its loss is an `Mlp` of the same shape (one `Layer` of gradients per layer),
//! applied with `scaled_add`. Trained on y = sin(x) with a three-layer tanh network.

use autodiff::{differentiable, Differentiable, Tensor};

/// One dense layer: `x.matmul(w) + b`, `w` of shape [inputs, outputs], `b` [outputs].
#[derive(Clone, Debug, Differentiable)]
struct Layer {
    w: Tensor<f64>,
    b: Tensor<f64>,
}

impl Layer {
    fn new(inputs: usize, outputs: usize, seed: &mut u64) -> Layer {
        let scale = (1.0 / inputs as f64).sqrt();
        let data = (0..inputs * outputs)
            .map(|_| scale * (2.0 * uniform(seed) - 1.0))
            .collect();
        Layer {
            w: Tensor::from_vec(data, &[inputs, outputs]),
            b: Tensor::zeros(&[outputs]),
        }
    }

    #[differentiable]
    fn forward(&self, x: &Tensor<f64>) -> Tensor<f64> {
        x.matmul(&self.w) + &self.b
    }
}

/// The model: its layers, and a constant that is not trained.
#[derive(Clone, Debug, Differentiable)]
struct Mlp {
    layers: Vec<Layer>,
    #[autodiff(skip)]
    name: &'static str,
}

impl Mlp {
    /// Mean squared error of the three-layer network `tanh → tanh → linear`.
    #[rustfmt::skip]
    #[differentiable(wrt(self))]
    fn loss(&self, x: &Tensor<f64>, y: &Tensor<f64>) -> f64 {
        let h1 = self.layers[0].forward(x).tanh();
        let h2 = self.layers[1].forward(&h1).tanh();
        let y_hat = self.layers[2].forward(&h2);
        ((y_hat - y)**2).mean()
    }

    /// The same loss for any depth, backpropagated by hand through each layer's generated
    /// `forward_vjp`: the loop a framework runs, written with the model's own types.
    fn loss_grad_by_layers(&self, x: &Tensor<f64>, y: &Tensor<f64>) -> Mlp {
        let n = self.layers.len();
        let mut inputs = vec![x.clone()];
        for (i, layer) in self.layers.iter().enumerate() {
            let z = layer.forward(&inputs[i]);
            inputs.push(if i + 1 < n { z.tanh() } else { z });
        }
        let y_hat = &inputs[n];
        let mut d = (y_hat - y) * (2.0 / y_hat.len() as f64);
        let mut g = self.zeros_like();
        for i in (0..n).rev() {
            if i + 1 < n {
                // through tanh: d * (1 - tanh²)
                let t = &inputs[i + 1];
                d *= 1.0 - t * t;
            }
            let (g_layer, d_input) = self.layers[i].forward_vjp(&inputs[i], &d);
            g.layers[i] = g_layer;
            d = d_input;
        }
        g
    }
}

/// A small deterministic generator (xorshift), so that the run prints the same numbers.
fn uniform(state: &mut u64) -> f64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state >> 11) as f64 / (1u64 << 53) as f64
}

fn main() {
    let mut seed = 0x2545_f491_4f6c_dd1d;
    let mut model = Mlp {
        layers: vec![
            Layer::new(1, 16, &mut seed),
            Layer::new(16, 16, &mut seed),
            Layer::new(16, 1, &mut seed),
        ],
        name: "sin-mlp",
    };
    let n = 32;
    let x = Tensor::linspace(-3.0, 3.0, n).reshape(&[n, 1]);
    let y = x.map(f64::sin);

    println!(
        "model `{}`: {} layers, {} parameters",
        model.name,
        model.layers.len(),
        model.num_params()
    );
    let g = model.loss_grad(&x, &y);
    let by_layers = model.loss_grad_by_layers(&x, &y);
    let diff = g
        .to_flat()
        .iter()
        .zip(by_layers.to_flat())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    println!("gradient: one Layer per layer, shapes {:?}", shapes(&g));
    println!("largest difference from the layer-by-layer backward pass: {diff:.1e}");
    assert!(diff < 1e-12);

    let lr = 0.03;
    for step in 0..=3000 {
        let (loss, g) = model.loss_value_and_grad(&x, &y);
        if step % 500 == 0 {
            println!("step {step:>5}  loss {loss:.6}");
        }
        model.scaled_add(-lr, &g);
    }
}

fn shapes(m: &Mlp) -> Vec<(Vec<usize>, Vec<usize>)> {
    m.layers
        .iter()
        .map(|l| (l.w.shape().to_vec(), l.b.shape().to_vec()))
        .collect()
}
