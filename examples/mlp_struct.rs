//! A multi-layer perceptron kept as a struct with a stack of layers in a `Vec<Layer>`: the
//! gradient of its loss is an `Mlp` of the same shape (one `Layer` of gradients per layer),
//! applied with `scaled_add`. The loss loops over the layers (`self.layers[i].forward(&h)`),
//! so the same code serves any depth. Trained on y = sin(x) with a three-layer tanh network.

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
    /// Mean squared error of the network `tanh → .. → tanh → linear`, for any number of
    /// layers: the loop reads `self.layers[i]`, and the gradient of each layer read is
    /// accumulated into its place in the gradient's `layers`.
    #[rustfmt::skip]
    #[differentiable(wrt(self))]
    fn loss(&self, x: &Tensor<f64>, y: &Tensor<f64>) -> f64 {
        let n = self.layers.len();
        let mut h = x.clone();
        for i in 0..n {
            h = self.layers[i].forward(&h);
            if i + 1 < n {
                h = h.tanh();
            }
        }
        ((h - y)**2).mean()
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
    // Central differences on the flat parameters (`to_flat` / `from_flat`), every 20th one.
    let flat = model.to_flat();
    let grad = g.to_flat();
    let mut worst: f64 = 0.0;
    for k in (0..flat.len()).step_by(20) {
        let (mut up, mut down) = (flat.clone(), flat.clone());
        up[k] += 1e-6;
        down[k] -= 1e-6;
        let fd = (model.from_flat(&up).loss(&x, &y) - model.from_flat(&down).loss(&x, &y)) / 2e-6;
        worst = worst.max((fd - grad[k]).abs());
    }
    println!("largest difference from central differences: {worst:.1e}");
    assert!(worst < 1e-7);

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
