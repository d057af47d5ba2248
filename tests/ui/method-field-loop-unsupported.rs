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

    // An element read inside an `if` in the loop body.
    #[differentiable]
    fn guarded(&self, x: f64) -> f64 {
        let mut s = 0.0;
        for w in &self.ws {
            if x > 0.0 {
                s += w * x;
            }
        }
        s
    }
}

fn main() {}
