//! `f_trace`: one evaluation as data, every node with its value and its gradient (PyTorch's
//! `retain_grad` on every intermediate). Checked: the seed broadcasting case of the crate documentation, the
//! gradient of every `let` binding of a scalar function against central differences of the
//! function's tail (the part after the binding, written by hand), lookups of unknown names,
//! the `Display` table, and the structure of `to_dot()`.
//!
//! Functions that use `**` carry `#[rustfmt::skip]`: rustfmt would respace `x**2` as `x * *2`.

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};

use autodiff::{differentiable, tensor, NodeKind, Tensor, Trace};

// ---------------------------------------------------------------------------------------------
// The seed case: x of shape [3] times y of shape [2, 1] broadcasts to [2, 3].

// z = x·y + y², out = Σz: ∂out/∂z = 1 everywhere, ∂out/∂x = Σ over rows of y = y₀ + y₁ = 9,
// ∂out/∂y = Σ over columns of (x + 2y) = 6 + 3·2y: 30 and 36.
#[rustfmt::skip]
#[differentiable]
fn seed(x: &Tensor<f64>, y: &Tensor<f64>) -> f64 {
    let z = x * y + y**2;
    z.sum()
}

fn seed_trace_at_spec_point() -> Trace<f64> {
    seed_trace(&tensor![1., 2., 3.], &tensor![[4.], [5.]])
}

#[test]
fn seed_gradients() {
    let trace = seed_trace_at_spec_point();
    let gz = trace.grad("z");
    assert_eq!(gz.shape(), &[2, 3]);
    assert_eq!(gz.as_slice(), &[1.0; 6]);
    assert_eq!(trace.grad("x").shape(), &[3]);
    assert_eq!(trace.grad("x").as_slice(), &[9.0, 9.0, 9.0]);
    assert_eq!(trace.grad("y").shape(), &[2, 1]);
    assert_eq!(trace.grad("y").as_slice(), &[30.0, 36.0]);
    // The trace agrees with the generated gradient.
    let (gx, gy) = seed_grad(&tensor![1., 2., 3.], &tensor![[4.], [5.]]);
    assert_eq!(trace.grad("x").as_slice(), gx.as_slice());
    assert_eq!(trace.grad("y").as_slice(), gy.as_slice());
}

#[test]
fn seed_values() {
    let trace = seed_trace_at_spec_point();
    assert_eq!(trace.value("x").as_slice(), &[1.0, 2.0, 3.0]);
    assert_eq!(trace.value("y").shape(), &[2, 1]);
    assert_eq!(trace.value("y").as_slice(), &[4.0, 5.0]);
    let z = trace.value("z");
    assert_eq!(z.shape(), &[2, 3]);
    // z = [[4 + 16, 8 + 16, 12 + 16], [5 + 25, 10 + 25, 15 + 25]]
    assert_eq!(z.as_slice(), &[20.0, 24.0, 28.0, 30.0, 35.0, 40.0]);
    // The last node is the result, 177, with gradient 1.
    let out = trace.nodes().last().unwrap();
    assert_eq!(out.kind, NodeKind::Output);
    assert_eq!(out.value.item(), 177.0);
    assert_eq!(out.grad.item(), 1.0);
    assert_eq!(
        out.value.item(),
        seed(&tensor![1., 2., 3.], &tensor![[4.], [5.]])
    );
    // Parameters come first, as `param` nodes without inputs.
    for (i, name) in ["x", "y"].into_iter().enumerate() {
        let n = &trace.nodes()[i];
        assert_eq!(
            (n.name.as_str(), n.op, n.kind),
            (name, "param", NodeKind::Param)
        );
        assert!(n.inputs.is_empty());
    }
    // Every node's gradient has the shape of its value.
    for n in trace.nodes() {
        assert_eq!(
            n.grad.shape(),
            n.value.shape(),
            "node `{}` ({})",
            n.name,
            n.op
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Every binding of a scalar function against finite differences.

// Bindings a₁ = xy, b = sin a₁ + x², c = b·a₁, a₂ = c/y + a₁ (shadows a₁), out = tanh a₂ + c.
// The gradient of a binding is ∂out/∂binding with everything upstream of it held fixed: the
// derivative of the function's tail, written by hand below, with respect to its last argument.
#[rustfmt::skip]
#[differentiable]
fn chain(x: f64, y: f64) -> f64 {
    let a = x * y;
    let b = a.sin() + x**2;
    let c = b * a;
    let a = c / y + a;
    a.tanh() + c
}

/// The bindings of `chain` at (x, y), computed by hand: (a₁, b, c, a₂).
fn chain_bindings(x: f64, y: f64) -> (f64, f64, f64, f64) {
    let a1 = x * y;
    let b = a1.sin() + x * x;
    let c = b * a1;
    let a2 = c / y + a1;
    (a1, b, c, a2)
}

/// The tails of `chain`: its result from a binding on (and what the tail still reads).
fn tail_from_a1(x: f64, y: f64, a1: f64) -> f64 {
    let b = a1.sin() + x * x;
    tail_from_b(y, a1, b)
}

fn tail_from_b(y: f64, a1: f64, b: f64) -> f64 {
    tail_from_c(y, a1, b * a1)
}

fn tail_from_c(y: f64, a1: f64, c: f64) -> f64 {
    tail_from_a2(c, c / y + a1)
}

fn tail_from_a2(c: f64, a2: f64) -> f64 {
    a2.tanh() + c
}

fn fd(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    let h = 1e-6 * x.abs().max(1.0);
    (f(x + h) - f(x - h)) / (2.0 * h)
}

#[track_caller]
fn close(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-6 * (1.0 + want.abs()),
        "{what}: trace says {got}, finite difference {want}"
    );
}

/// The index of the node of `op` bound to `name` (shadowed bindings share a name).
fn node_index(trace: &Trace<f64>, name: &str, op: &str) -> usize {
    let hits: Vec<usize> = (0..trace.nodes().len())
        .filter(|&i| trace.nodes()[i].name == name && trace.nodes()[i].op == op)
        .collect();
    assert_eq!(hits.len(), 1, "one `{op}` node named `{name}`");
    hits[0]
}

#[test]
fn every_binding_against_finite_differences() {
    for (x, y) in [(0.7, 1.3), (-1.1, 0.4), (1.9, -0.8)] {
        let trace = chain_trace(x, y);
        let (a1, b, c, a2) = chain_bindings(x, y);
        let out = chain(x, y);
        // The tails reproduce the function.
        for tail in [
            tail_from_a1(x, y, a1),
            tail_from_b(y, a1, b),
            tail_from_c(y, a1, c),
            tail_from_a2(c, a2),
        ] {
            assert!((tail - out).abs() <= 1e-12 * (1.0 + out.abs()));
        }

        // Parameters: the function itself.
        close("x", trace.grad("x").item(), fd(|t| chain(t, y), x));
        close("y", trace.grad("y").item(), fd(|t| chain(x, t), y));
        assert_eq!(
            (trace.grad("x").item(), trace.grad("y").item()),
            chain_grad(x, y)
        );
        assert_eq!(trace.value("x").item(), x);
        assert_eq!(trace.value("y").item(), y);

        // The first `a` is shadowed: `grad("a")` is the last one; the first is found by op.
        let first_a = &trace.nodes()[node_index(&trace, "a", "mul")];
        assert_eq!(first_a.value.item(), a1);
        close("a₁", first_a.grad.item(), fd(|t| tail_from_a1(x, y, t), a1));

        assert_eq!(trace.value("b").item(), b);
        close(
            "b",
            trace.grad("b").item(),
            fd(|t| tail_from_b(y, a1, t), b),
        );
        assert_eq!(trace.value("c").item(), c);
        close(
            "c",
            trace.grad("c").item(),
            fd(|t| tail_from_c(y, a1, t), c),
        );
        assert_eq!(trace.value("a").item(), a2);
        close("a₂", trace.grad("a").item(), fd(|t| tail_from_a2(c, t), a2));
        assert_eq!(node_index(&trace, "a", "add"), {
            let last = trace.nodes().iter().rposition(|n| n.name == "a");
            last.unwrap()
        });

        let last = trace.nodes().last().unwrap();
        assert_eq!(last.kind, NodeKind::Output);
        assert_eq!(last.value.item(), out);
        assert_eq!(last.grad.item(), 1.0);
    }
}

// ---------------------------------------------------------------------------------------------
// Names that are not there.

#[test]
fn unknown_name() {
    let trace = chain_trace(0.7, 1.3);
    assert!(trace.try_grad("nope").is_none());
    assert!(trace.try_value("nope").is_none());
    assert!(trace.try_grad("c").is_some());

    for lookup in [Trace::grad, Trace::value] {
        let err = catch_unwind(AssertUnwindSafe(|| lookup(&trace, "nope"))).unwrap_err();
        let msg = err
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| err.downcast_ref::<&str>().copied())
            .expect("a text panic");
        assert!(
            msg.contains("`nope`"),
            "the message names the lookup: {msg}"
        );
        let listed = msg.split("known names:").nth(1).expect("a list of names");
        let listed: Vec<&str> = listed.split(',').map(str::trim).collect();
        assert_eq!(listed, ["x", "y", "a", "b", "c", "a"], "in {msg}");
    }
}

// ---------------------------------------------------------------------------------------------
// The table and the graph.

/// The label a node is shown by: its name, or `%i` if unnamed.
fn label(trace: &Trace<f64>, i: usize) -> String {
    let name = &trace.nodes()[i].name;
    if name.is_empty() {
        format!("%{i}")
    } else {
        name.clone()
    }
}

#[track_caller]
fn check_table(trace: &Trace<f64>) {
    let text = trace.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        trace.nodes().len() + 1,
        "a header and one row per node:\n{text}"
    );
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["node", "op", "inputs", "shape", "value", "grad"]
    );
    for (i, (row, node)) in lines[1..].iter().zip(trace.nodes()).enumerate() {
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells[0], label(trace, i), "row {i}: {row}");
        assert_eq!(cells[1], node.op, "row {i}: {row}");
        for &j in &node.inputs {
            assert!(
                row.contains(&label(trace, j)),
                "row {i} names input {j}: {row}"
            );
        }
    }
}

#[test]
fn display_table() {
    check_table(&chain_trace(0.7, 1.3));
    check_table(&seed_trace_at_spec_point());
    // The seed case's result row: unnamed sum, 0-d, value 177, gradient 1.
    let text = seed_trace_at_spec_point().to_string();
    let last: Vec<&str> = text.lines().last().unwrap().split_whitespace().collect();
    assert_eq!(last, ["%5", "sum", "z", "[]", "177", "1"]);
}

#[track_caller]
fn check_dot(trace: &Trace<f64>) {
    let dot = trace.to_dot();
    let body: Vec<&str> = dot.lines().map(str::trim).collect();
    assert_eq!(body.first(), Some(&"digraph trace {"));
    assert_eq!(body.last(), Some(&"}"));

    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for line in &body {
        // `nI [...]` and `nJ -> nI;`; not the `node [...]` defaults.
        let Some(rest) = line
            .strip_prefix('n')
            .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        else {
            continue;
        };
        if let Some((from, to)) = rest.split_once(" -> n") {
            let to = to.strip_suffix(';').expect("an edge ends with `;`");
            edges.push((from.parse::<usize>().unwrap(), to.parse::<usize>().unwrap()));
        } else if let Some((id, attrs)) = rest.split_once(" [") {
            nodes.push((id.parse::<usize>().unwrap(), attrs.to_string()));
        }
    }

    // One node line per node, in order, labelled with the node's name (or %i) and op.
    assert_eq!(nodes.len(), trace.nodes().len(), "{dot}");
    for (i, (id, attrs)) in nodes.iter().enumerate() {
        assert_eq!(*id, i);
        let n = &trace.nodes()[i];
        let head = format!("label=\"{{ {} | {} | value ", label(trace, i), n.op);
        assert!(attrs.contains(&head), "node {i}: {attrs}");
        assert_eq!(
            attrs.contains("peripheries=2"),
            n.kind == NodeKind::Output,
            "{attrs}"
        );
    }

    // An edge nJ -> nI for every input J of node I, and no other.
    let mut want: Vec<(usize, usize)> = trace
        .nodes()
        .iter()
        .enumerate()
        .flat_map(|(i, n)| n.inputs.iter().map(move |&j| (j, i)))
        .collect();
    want.sort();
    edges.sort();
    assert_eq!(edges, want, "{dot}");
    // Operands come before their users.
    assert!(edges.iter().all(|&(j, i)| j < i));
}

#[test]
fn dot_graph_structure() {
    let chain = chain_trace(0.7, 1.3);
    check_dot(&chain);
    check_dot(&seed_trace_at_spec_point());
    // Each binding of `chain` feeds the nodes that read it.
    let users = |name_op: (&str, &str)| -> BTreeSet<usize> {
        let j = node_index(&chain, name_op.0, name_op.1);
        (0..chain.nodes().len())
            .filter(|&i| chain.nodes()[i].inputs.contains(&j))
            .collect()
    };
    // a₁ is read by sin a₁, b·a₁ and c/y + a₁.
    assert_eq!(users(("a", "mul")).len(), 3);
    // b only by c = b·a₁; c by c/y and the final sum.
    assert_eq!(users(("b", "add")).len(), 1);
    assert_eq!(users(("c", "mul")).len(), 2);
}

#[differentiable]
fn square(u: f64) -> f64 {
    u * u
}

/// A call in the middle: the nodes computed from its result are traced too.
#[differentiable]
fn after_a_call(x: f64) -> f64 {
    let c = square(x + 1.0);
    let d = c * x;
    d.sin()
}

#[test]
fn nodes_after_a_call_are_traced() {
    let x = 0.5;
    let t = after_a_call_trace(x);
    // d = (x + 1)² x; ∂out/∂d = cos d, ∂out/∂c = x cos d.
    let d = (x + 1.0) * (x + 1.0) * x;
    assert!((t.value("d").item() - d).abs() < 1e-15);
    assert!((t.grad("d").item() - d.cos()).abs() < 1e-15);
    assert!((t.grad("c").item() - x * d.cos()).abs() < 1e-15);
    assert!((t.grad("x").item() - after_a_call_grad(x)).abs() < 1e-15);
    // The output node is there, with gradient 1.
    assert!(t
        .to_string()
        .lines()
        .any(|l| l.contains("sin") && l.trim_end().ends_with('1')));
}
