use autodiff::{differentiable, Differentiable};

#[derive(Clone, Debug, Differentiable)]
struct Ws {
    ws: Vec<f64>,
}

impl Ws {
    // A reversed iterator over a differentiated field: not one of the supported forms.
    #[differentiable]
    fn rev(&self, x: f64) -> f64 {
        let mut s = x;
        for w in self.ws.iter().rev() {
            s = s * w;
        }
        s
    }

    // A field read inside another iterator's adaptor.
    #[differentiable]
    fn zipped(&self, xs: &[f64]) -> f64 {
        let mut s = 0.0;
        for (x, w) in xs.iter().zip(&self.ws) {
            s += x * w;
        }
        s
    }

}

#[derive(Clone, Debug, Differentiable)]
struct Layer {
    w: f64,
}

impl Layer {
    #[differentiable]
    fn forward(&self, x: f64) -> f64 {
        (self.w * x).tanh()
    }
}

#[derive(Clone, Debug, Differentiable)]
struct Stack {
    layers: Vec<Layer>,
}

impl Stack {
    // An element read with the loop index inside an `if` in the loop body: bind it
    // before the `if` (`let l = &self.layers[i];`).
    #[differentiable]
    fn guarded(&self, x: f64) -> f64 {
        let mut h = x;
        for i in 0..self.layers.len() {
            if h > 0.0 {
                h = h * self.layers[i].w;
            }
        }
        h
    }
}

fn main() {}
