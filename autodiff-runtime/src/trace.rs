//! `Trace`: the forward and backward pass of one call, as data (PyTorch's `retain_grad` for
//! every node), with a table `Display` and a Graphviz picture.

use std::fmt;

use num_traits::Float;

use crate::Tensor;

/// What a node of a trace is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// A parameter of the function.
    Param,
    /// An operation (named if a `let` bound it).
    Op,
    /// The function's result.
    Output,
}

/// One node of a [`Trace`]: its name, operation, operands, value and gradient.
#[derive(Clone, Debug)]
pub struct TraceNode<T: Float> {
    /// The parameter or `let` name, or empty for an unnamed operation.
    pub name: String,
    /// The operation (`mul`, `sin`, `sum`, ...), `param` for parameters.
    pub op: &'static str,
    /// Indices of the operands in [`Trace::nodes`].
    pub inputs: Vec<usize>,
    /// Parameter, operation or output.
    pub kind: NodeKind,
    /// The value (0-d for a scalar).
    pub value: Tensor<T>,
    /// The gradient of the function's result with respect to this node.
    pub grad: Tensor<T>,
}

/// Every node of one evaluation of a `#[differentiable]` function, with its value and its
/// gradient. Made by the generated `f_trace`.
///
/// ```
/// use autodiff_runtime::{NodeKind, Tensor, Trace, TraceNode};
///
/// // What `f_trace` records for `fn f(x: f64) -> f64 { x * x }` at 3.
/// let mut trace = Trace::new();
/// let x = trace.push(TraceNode {
///     name: "x".into(), op: "param", inputs: vec![], kind: NodeKind::Param,
///     value: Tensor::scalar(3.0), grad: Tensor::scalar(6.0),
/// });
/// trace.push(TraceNode {
///     name: "y".into(), op: "mul", inputs: vec![x, x], kind: NodeKind::Output,
///     value: Tensor::scalar(9.0), grad: Tensor::scalar(1.0),
/// });
/// assert_eq!(trace.grad("x").item(), 6.0);
/// assert!(trace.try_grad("w").is_none());
/// assert!(trace.to_dot().contains("n0 -> n1"));
/// ```
#[derive(Clone, Debug)]
pub struct Trace<T: Float> {
    nodes: Vec<TraceNode<T>>,
}

impl<T: Float> Default for Trace<T> {
    fn default() -> Self {
        Trace { nodes: Vec::new() }
    }
}

impl<T: Float> Trace<T> {
    /// An empty trace.
    pub fn new() -> Trace<T> {
        Trace::default()
    }

    /// Appends a node; returns its index.
    pub fn push(&mut self, node: TraceNode<T>) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// All nodes, operands before their users.
    pub fn nodes(&self) -> &[TraceNode<T>] {
        &self.nodes
    }

    fn find(&self, name: &str) -> Option<&TraceNode<T>> {
        self.nodes.iter().rev().find(|n| n.name == name)
    }

    /// The names a trace knows, in order.
    pub fn names(&self) -> Vec<&str> {
        self.nodes
            .iter()
            .filter(|n| !n.name.is_empty())
            .map(|n| n.name.as_str())
            .collect()
    }

    /// The gradient of the node bound to `name` (the last binding, if shadowed).
    pub fn try_grad(&self, name: &str) -> Option<&Tensor<T>> {
        self.find(name).map(|n| &n.grad)
    }

    /// The value of the node bound to `name`.
    pub fn try_value(&self, name: &str) -> Option<&Tensor<T>> {
        self.find(name).map(|n| &n.value)
    }

    /// The gradient of the node bound to `name`. A name bound more than once (`let y = ..;`
    /// then `let y = ..;` again) reads its last binding, as the name reads at the end of the
    /// body; [`Trace::nodes`] lists every binding.
    ///
    /// # Panics
    ///
    /// If no node has that name; the message lists the known names.
    #[track_caller]
    pub fn grad(&self, name: &str) -> Tensor<T> {
        match self.try_grad(name) {
            Some(g) => g.clone(),
            None => panic!(
                "no node named `{name}` in this trace; known names: {}",
                self.names().join(", ")
            ),
        }
    }

    /// The value of the node bound to `name`.
    ///
    /// # Panics
    ///
    /// If no node has that name; the message lists the known names.
    #[track_caller]
    pub fn value(&self, name: &str) -> Tensor<T> {
        match self.try_value(name) {
            Some(v) => v.clone(),
            None => panic!(
                "no node named `{name}` in this trace; known names: {}",
                self.names().join(", ")
            ),
        }
    }

    fn label(&self, i: usize) -> String {
        let n = &self.nodes[i];
        if n.name.is_empty() {
            format!("%{i}")
        } else {
            n.name.clone()
        }
    }

    /// The graph in Graphviz's DOT language: parameters as boxes, operations as records
    /// `{ name | op | value | grad }`, the output double-bordered; edges from operands.
    /// Render it with `dot -Tpng graph.dot -o graph.png`.
    pub fn to_dot(&self) -> String {
        let mut out =
            String::from("digraph trace {\n  rankdir=LR;\n  node [fontname=\"monospace\"];\n");
        for (i, n) in self.nodes.iter().enumerate() {
            let style = match n.kind {
                NodeKind::Param => "shape=record, style=filled, fillcolor=\"#dbeafe\"",
                NodeKind::Op => "shape=record",
                NodeKind::Output => {
                    "shape=record, style=\"filled,bold\", fillcolor=\"#dcfce7\", peripheries=2"
                }
            };
            let label = format!(
                "{{ {} | {} | value {} | grad {} }}",
                escape(&self.label(i)),
                n.op,
                escape(&brief(&n.value)),
                escape(&brief(&n.grad))
            );
            out.push_str(&format!("  n{i} [{style}, label=\"{label}\"];\n"));
        }
        for (i, n) in self.nodes.iter().enumerate() {
            for &j in &n.inputs {
                out.push_str(&format!("  n{j} -> n{i};\n"));
            }
        }
        out.push_str("}\n");
        out
    }
}

/// A value in a few characters: the number for one element, else shape and leading elements.
fn brief<T: Float>(t: &Tensor<T>) -> String {
    let show = |v: T| {
        let v = v.to_f64().unwrap_or(f64::NAN);
        if v.fract() == 0.0 && v.abs() < 1e9 {
            format!("{v:.0}")
        } else {
            format!("{v:.4}")
        }
    };
    if t.ndim() == 0 || t.len() == 1 {
        return t.as_slice().first().map(|&v| show(v)).unwrap_or_default();
    }
    let head: Vec<String> = t.as_slice().iter().take(4).map(|&v| show(v)).collect();
    let more = if t.len() > 4 { ", …" } else { "" };
    format!("{:?} [{}{}]", t.shape(), head.join(", "), more)
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('{', "\\{")
        .replace('}', "\\}")
        .replace('|', "\\|")
        .replace('<', "\\<")
        .replace('>', "\\>")
}

impl<T: Float> fmt::Display for Trace<T> {
    /// A table: node, operation, operands, shape, value, gradient.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<[String; 6]> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let inputs: Vec<String> = n.inputs.iter().map(|&j| self.label(j)).collect();
                [
                    self.label(i),
                    n.op.to_string(),
                    inputs.join(", "),
                    format!("{:?}", n.value.shape()),
                    brief(&n.value),
                    brief(&n.grad),
                ]
            })
            .collect();
        let header = ["node", "op", "inputs", "shape", "value", "grad"].map(String::from);
        let mut widths = header.clone().map(|h| h.chars().count());
        for r in &rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        for r in std::iter::once(&header).chain(&rows) {
            let cells: Vec<String> = r
                .iter()
                .zip(widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            writeln!(f, "{}", cells.join("  ").trim_end())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Trace<f64> {
        let mut t = Trace::new();
        let x = t.push(TraceNode {
            name: "x".into(),
            op: "param",
            inputs: vec![],
            kind: NodeKind::Param,
            value: Tensor::scalar(2.0),
            grad: Tensor::scalar(4.0),
        });
        t.push(TraceNode {
            name: String::new(),
            op: "mul",
            inputs: vec![x, x],
            kind: NodeKind::Output,
            value: Tensor::scalar(4.0),
            grad: Tensor::scalar(1.0),
        });
        t
    }

    #[test]
    fn lookup_and_names() {
        let t = sample();
        assert_eq!(t.grad("x").item(), 4.0);
        assert_eq!(t.value("x").item(), 2.0);
        assert!(t.try_grad("y").is_none());
        assert_eq!(t.names(), ["x"]);
        let err = std::panic::catch_unwind(|| sample().grad("y")).unwrap_err();
        let msg = err.downcast_ref::<String>().unwrap();
        assert_eq!(msg, "no node named `y` in this trace; known names: x");
    }

    #[test]
    fn dot_has_one_node_per_entry_and_edges_from_operands() {
        let dot = sample().to_dot();
        assert!(dot.starts_with("digraph trace {"));
        assert_eq!(dot.matches("label=").count(), 2);
        assert_eq!(dot.matches("n0 -> n1;").count(), 2);
        assert!(dot.contains("{ x | param | value 2 | grad 4 }"));
    }

    #[test]
    fn table() {
        let text = sample().to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["node", "op", "inputs", "shape", "value", "grad"]
        );
        assert_eq!(
            lines[2].split_whitespace().collect::<Vec<_>>(),
            ["%1", "mul", "x,", "x", "[]", "4", "1"]
        );
    }
}
