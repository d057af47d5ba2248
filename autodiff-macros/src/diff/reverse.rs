//! The reverse sweep: adjoints of every node, through the rule table in `ir::ops`.
//!
//! One backward walk in id order, accumulating with `+`, so a value used twice gets two
//! contributions. Inside an `if`, adjoints live in a mirror of the arm (a branch on the same
//! condition in the backward code); a contribution to a value defined outside the arm leaves
//! it through a `Phi` whose other arm contributes zero, once the walk has passed the whole
//! branch.

use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

use proc_macro2::Span;

use crate::ir::graph::ROOT;
use crate::ir::ops::{self, NoRule};
use crate::ir::{BlockId, Graph, Id, Kind, Op};

/// A node the sweep could not go through, with the span of the source expression if known.
pub(crate) struct SweepError {
    pub span: Option<Span>,
    pub message: String,
}

/// Runs the reverse sweep from `output` seeded with `seed`. Returns the adjoint of every
/// node that existed before the sweep (`None`: no path to the output, or not active).
pub(crate) fn reverse(
    g: &mut Graph,
    output: Id,
    seed: Id,
) -> Result<Vec<Option<Id>>, Vec<SweepError>> {
    reverse_from(g, &[(output, seed)])
}

/// The reverse sweep from several outputs at once, each with its seed (a loop body's carried
/// variables).
pub(crate) fn reverse_from(
    g: &mut Graph,
    seeds: &[(Id, Id)],
) -> Result<Vec<Option<Id>>, Vec<SweepError>> {
    reverse_within(g, seeds, usize::MAX)
}

/// `reverse_from`, giving up (an error) once the sweep has added more than `budget` nodes:
/// a second-order sweep through many branches can grow the graph exponentially (each
/// branch's values recomputed in the mirror of each later one), and its caller has a
/// cheaper form to fall back on.
pub(crate) fn reverse_within(
    g: &mut Graph,
    seeds: &[(Id, Id)],
    budget: usize,
) -> Result<Vec<Option<Id>>, Vec<SweepError>> {
    let start = g.len();
    g.clear_mirrors();
    // Nothing after the last output can be on a path to it.
    let n = seeds.iter().map(|(o, _)| o.index() + 1).max().unwrap_or(0);
    let mut sweep = Sweep {
        adj: vec![None; n],
        pending: BTreeMap::new(),
        errors: Vec::new(),
    };
    for &(output, seed) in seeds {
        let block = g.block_of(output);
        g.current = g.mirror_block(block);
        sweep.contribute(g, output, seed, block);
    }
    // The outputs of each loop and of each call's pullback, so that their rules see all the
    // components' adjoints at once.
    let mut loop_outs: FxHashMap<Id, Vec<(u32, Id)>> = Default::default();
    for id in g.ids().take(n) {
        match g[id].op {
            Op::LoopOut(j) => loop_outs.entry(g[id].args[0]).or_default().push((j, id)),
            Op::Project(i) if matches!(g[g[id].args[0]].op, Op::Pullback(_)) => {
                loop_outs.entry(g[id].args[0]).or_default().push((i, id))
            }
            _ => {}
        }
    }
    // Branches in order of decreasing start: inner branches finish before outer ones.
    let mut order: Vec<u32> = (0..g.branches.len() as u32)
        .filter(|&b| (g.branches[b as usize].start as usize) < n)
        .collect();
    order.sort_by_key(|&b| std::cmp::Reverse(g.branches[b as usize].start));
    let mut next = 0;
    for i in (0..n).rev() {
        if g.len() - start > budget {
            g.current = ROOT;
            return Err(vec![SweepError {
                span: None,
                message: format!("the sweep grew past {budget} nodes"),
            }]);
        }
        let id = g.id(i);
        while next < order.len() && g.branches[order[next] as usize].start as usize > id.index() {
            sweep.finish_branch(g, order[next]);
            next += 1;
        }
        if let Op::Loop(k) = g[id].op {
            sweep.loop_pullback(
                g,
                id,
                k,
                loop_outs.get(&id).map(Vec::as_slice).unwrap_or(&[]),
            );
            continue;
        }
        if let Op::Pullback(k) = g[id].op {
            let outs = loop_outs.get(&id).map(Vec::as_slice).unwrap_or(&[]);
            sweep.call_pullback(g, id, k, outs);
            continue;
        }
        let Some(d) = sweep.adj[id.index()] else {
            continue;
        };
        if !g.is_active(id) {
            continue;
        }
        let block = g.block_of(id);
        g.current = g.mirror_block(block);
        if let Op::Phi(b) = g[id].op {
            let br = g.branches[b as usize].clone();
            let (t, e) = (g[id].args[0], g[id].args[1]);
            sweep.contribute(g, t, d, br.then_block);
            sweep.contribute(g, e, d, br.else_block);
            continue;
        }
        match ops::vjp(g, id, d) {
            Ok(contributions) => {
                for (arg, c) in contributions {
                    sweep.contribute(g, arg, c, block);
                }
            }
            Err(why) => sweep.errors.push(describe(g, id, why)),
        }
    }
    while next < order.len() {
        sweep.finish_branch(g, order[next]);
        next += 1;
    }
    g.current = ROOT;
    if sweep.errors.is_empty() {
        Ok(sweep.adj)
    } else {
        Err(sweep.errors)
    }
}

/// The summed contributions from the `then` and the `else` arm.
type ArmSums = (Option<Id>, Option<Id>);

struct Sweep {
    adj: Vec<Option<Id>>,
    /// Per branch: contributions from its arms to values defined outside it, waiting for the
    /// walk to leave the branch. Keyed by target id, so the output is deterministic.
    pending: BTreeMap<u32, BTreeMap<Id, ArmSums>>,
    errors: Vec<SweepError>,
}

impl Sweep {
    /// The second-order rule of a call's pullback `P = pullback(a.., d)`, whose component i is
    /// d·∂g/∂a_i: given the adjoints e_i of the components, the callee's `__g_pullback2`
    /// returns Σ_i e_i d ∂²g/∂a_i∂a_j for each argument j and Σ_i e_i ∂g/∂a_i for d.
    fn call_pullback(&mut self, g: &mut Graph, id: Id, k: u32, outs: &[(u32, Id)]) {
        if !g.is_active(id) || outs.iter().all(|(_, o)| self.adj[o.index()].is_none()) {
            return;
        }
        let block = g.block_of(id);
        g.current = g.mirror_block(block);
        let args: Vec<Id> = g[id].args.clone();
        let n = args.len() - 1;
        let mut pb_args = args.clone();
        let int_literal = g.calls[k as usize].int_literal.clone();
        for (i, &arg) in args.iter().take(n).enumerate() {
            let e = outs
                .iter()
                .find(|(j, _)| *j as usize == i)
                .and_then(|(_, o)| self.adj[o.index()]);
            // The seed has the type of the callee's gradient slot: a zero of the argument's
            // type for a float-like argument (always so for a differentiated one), `NoGrad`
            // for an integer or bool, and, for a constant of unknown type, whichever of the
            // two the slot asks for (`Default::default()`).
            let seed = match (e, g.kind(arg)) {
                (Some(e), _) => e,
                (None, _) if int_literal[i] => g.add_raw(Op::NoGrad, vec![]),
                (None, Kind::Scalar) => g.constant(0.0),
                (None, Kind::Tensor | Kind::Array | Kind::Slice) => zero_like(g, arg),
                (None, _) if g.is_active(arg) => zero_like(g, arg),
                (None, _) => g.add_raw(Op::NoGrad, vec![]),
            };
            pb_args.push(seed);
        }
        let pb2 = g.add_raw(Op::Pullback2(k), pb_args);
        for (i, &arg) in args.iter().enumerate() {
            if g.is_active(arg) {
                let c = g.add_raw(Op::Project(i as u32), vec![pb2]);
                self.contribute(g, arg, c, block);
            }
        }
    }

    /// A loop's backward pass: one `LoopPullback` fed the adjoints of all carried variables
    /// (zero for those without one), then each input's adjoint out of it.
    fn loop_pullback(&mut self, g: &mut Graph, id: Id, k: u32, outs: &[(u32, Id)]) {
        if !g.is_active(id) || outs.iter().all(|(_, o)| self.adj[o.index()].is_none()) {
            return;
        }
        let block = g.block_of(id);
        g.current = g.mirror_block(block);
        let carried = g.loops[k as usize].carried.len();
        let mut args = vec![id];
        for j in 0..carried as u32 {
            let out = outs.iter().find(|(jj, _)| *jj == j).map(|(_, o)| *o);
            let d = out.and_then(|o| self.adj[o.index()]);
            let seed = match (d, out) {
                (Some(d), _) => d,
                // A `bool` or integer carried value (a `break` flag) has no adjoint.
                (None, Some(o)) if !matches!(g.kind(o), Kind::Bool | Kind::Int) => zero_like(g, o),
                (None, Some(_)) => g.constant(0.0),
                // Not read after the loop: a zero of the initial value's type.
                (None, None) => {
                    let p = g.loops[k as usize].carried[j as usize].0;
                    let init = g[id].args[2 + p];
                    if matches!(g.kind(init), Kind::Bool | Kind::Int) {
                        g.constant(0.0)
                    } else {
                        zero_like(g, init)
                    }
                }
            };
            args.push(seed);
        }
        let pb = g.add_raw(Op::LoopPullback(k), args);
        let inputs: Vec<Id> = g[id].args.clone();
        for (i, &arg) in inputs.iter().enumerate().skip(2) {
            if g.is_active(arg) && g.loop_input_has_grad(k, i - 2) {
                let c = g.add_raw(Op::LoopGrad(i as u32), vec![pb]);
                self.contribute(g, arg, c, block);
            }
        }
    }

    /// Adds `c`, computed in (the mirror of) `from`, to the adjoint of `target`.
    fn contribute(&mut self, g: &mut Graph, target: Id, c: Id, from: BlockId) {
        if !g.is_active(target) {
            return;
        }
        let home = g.block_of(target);
        let here = g.mirror_block(from);
        g.current = here;
        let sum = |g: &mut Graph, prev: Id, c: Id| {
            let s = g.plus(prev, c);
            if g.kind(target) == Kind::Unknown && g[s].op == Op::Add {
                g.grad_sums.insert(s);
            }
            s
        };
        if home == from {
            let slot = &mut self.adj[target.index()];
            *slot = Some(match *slot {
                None => c,
                Some(prev) => sum(g, prev, c),
            });
            return;
        }
        let (b, is_then) = g
            .arm_of(from)
            .expect("a target outside the block means the block is an arm");
        let entry = self
            .pending
            .entry(b)
            .or_default()
            .entry(target)
            .or_insert((None, None));
        let side = if is_then { &mut entry.0 } else { &mut entry.1 };
        *side = Some(match *side {
            None => c,
            Some(prev) => sum(g, prev, c),
        });
    }

    /// Moves the pending contributions of branch `b` out of its mirror into the parent.
    fn finish_branch(&mut self, g: &mut Graph, b: u32) {
        let Some(targets) = self.pending.remove(&b) else {
            return;
        };
        let br = g.branches[b as usize].clone();
        let parent = g.parent(br.then_block).expect("arm has a parent");
        let then_m = g.mirror_block(br.then_block);
        let else_m = g.mirror_block(br.else_block);
        let mirror_branch = g.arm_of(then_m).expect("mirror is an arm").0;
        for (target, (t, e)) in targets {
            g.current = then_m;
            let t = match t {
                Some(t) => g.visible(t),
                None => zero_like(g, target),
            };
            g.current = else_m;
            let e = match e {
                Some(e) => g.visible(e),
                None => zero_like(g, target),
            };
            g.current = g.mirror_block(parent);
            let phi = g.add_raw(Op::Phi(mirror_branch), vec![t, e]);
            self.contribute(g, target, phi, parent);
        }
    }
}

fn zero_like(g: &mut Graph, like: Id) -> Id {
    if g.kind(like) == Kind::Scalar {
        g.constant(0.0)
    } else {
        g.add_raw(Op::ZerosLike, vec![like])
    }
}

fn describe(g: &Graph, id: Id, why: NoRule) -> SweepError {
    let span = g
        .opaque(id)
        .map(|o| o.span)
        .or_else(|| g.spans.get(&id).copied())
        .or_else(|| match g[id].op {
            Op::Call(k) | Op::Pullback(k) => Some(g.calls[k as usize].span),
            _ => None,
        });
    let message = match why {
        NoRule::Opaque => {
            "this expression depends on a differentiated value but has no derivative rule; \
             write it with operators and the supported float methods, or move it into a \
             function with `#[differentiable(vjp = rule)]`"
                .to_string()
        }
        NoRule::Loop => unreachable!("loops are handled by the sweep"),
        NoRule::Element => "reading an element of this array is not differentiated; index a \
             parameter, or bind each element to its own `let`"
            .to_string(),
        NoRule::SecondOrder => format!(
            "second derivatives through `{}` are not supported; compute this Hessian another way",
            ops::name(g[id].op)
        ),
    };
    SweepError { span, message }
}

#[cfg(test)]
mod tests {
    use crate::args::Args;
    use crate::emit::formula::Formula;
    use crate::errors::Errors;
    use crate::parse::{body, power, sig::Sig};

    /// The simplified derivative of `body` (a function of `x` and `y`) with respect to `wrt`.
    fn grad(body: &str, wrt: &str) -> String {
        let src = format!("fn f(x: f64, y: f64) -> f64 {{ {body} }}");
        let tokens: proc_macro2::TokenStream = src.parse().unwrap();
        let tokens = power::rewrite(tokens);
        let func: syn::ItemFn = syn::parse2(tokens).unwrap();
        let errors = Errors::default();
        let sig = Sig::from_syn(&func, &Args::default(), &errors).unwrap();
        let mut lowered = body::lower(&sig, &func.block, &errors).unwrap();
        let one = lowered.graph.constant(1.0);
        let adj = super::reverse(&mut lowered.graph, lowered.output, one)
            .ok()
            .unwrap();
        let i = if wrt == "x" { 0 } else { 1 };
        let d = adj[lowered.params[i].index()];
        Formula::new(&lowered.graph, &sig).text(d)
    }

    #[test]
    fn derivative_rules() {
        let cases = [
            (
                "2*x**4 + x**3 + 3*x**2 + 5*x + 1",
                "x",
                "8*x**3 + 3*x**2 + 6*x + 5",
            ),
            ("x * y + y**2", "x", "y"),
            ("x * y + y**2", "y", "x + 2*y"),
            ("x.sin() * x", "x", "x*x.cos() + x.sin()"),
            ("x.exp()", "x", "x.exp()"),
            ("x.ln()", "x", "1/x"),
            ("x / y", "y", "-x/y**2"),
            ("-x**2", "x", "-2*x"),
            ("x**-1", "x", "-1/x**2"),
            ("(1-x)**2 + 100*(y-x**2)**2", "y", "-200*x**2 + 200*y"),
            ("let z = x * x; z + z", "x", "4*x"),
            ("let mut a = x; a *= 3; a", "x", "3"),
            ("x.floor() * y", "x", "0"),
            ("x**0", "x", "0"),
        ];
        for (body, wrt, want) in cases {
            assert_eq!(grad(body, wrt), want, "d/d{wrt} of `{body}`");
        }
    }

    #[test]
    fn shared_subexpressions_are_built_once() {
        let src = "fn f(x: f64) -> f64 { x.sin() * x.sin() + x.sin() }";
        let func: syn::ItemFn = syn::parse2(power::rewrite(src.parse().unwrap())).unwrap();
        let errors = Errors::default();
        let sig = Sig::from_syn(&func, &Args::default(), &errors).unwrap();
        let lowered = body::lower(&sig, &func.block, &errors).unwrap();
        let sines = lowered
            .graph
            .ids()
            .filter(|&id| lowered.graph[id].op == crate::ir::Op::Sin)
            .count();
        assert_eq!(sines, 1);
    }

    #[test]
    fn branches_differentiate_the_taken_arm() {
        assert_eq!(
            grad("if x > y { x * x } else { y }", "x"),
            "(if (x > y) { 2*x } else { 0 })"
        );
    }
}
