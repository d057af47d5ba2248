//! The forward sweep: the tangent of every node, through the `jvp` column of the rule table
//! in `ir::ops`.
//!
//! One walk in id order. Tangent nodes go into the same graph, so the emitter writes them as
//! straight-line code beside the values they read. Inside an `if` arm, tangents live in a
//! mirror of the arm (a branch on the same condition, as for the reverse sweep) and leave it
//! through a `Phi`. A `for` loop gets a tangent loop: a copy of its body that also carries
//! the tangent of every carried variable, run alongside the values (no tape).

use proc_macro2::Span;

use super::reverse::SweepError;
use crate::ir::graph::{LoopInfo, ParamInfo, ROOT};
use crate::ir::ops::{self, NoRule};
use crate::ir::{Graph, Id, Kind, Op};

/// Runs the forward sweep from `seeds` (a node and its tangent; usually a parameter and a
/// tangent parameter) over the first `n` nodes (the body as lowered, when the graph also
/// holds derivatives built since). Returns the tangent of each of them (`None`: zero, it does
/// not depend on a seeded node).
pub(crate) fn forward_upto(
    g: &mut Graph,
    seeds: &[(Id, Id)],
    n: usize,
) -> Result<Vec<Option<Id>>, Vec<SweepError>> {
    g.clear_mirrors();
    let mut tan: Vec<Option<Id>> = vec![None; n];
    for &(node, t) in seeds {
        // A seed past the nodes swept (a body that reads nothing) has no reader.
        if let Some(slot) = tan.get_mut(node.index()) {
            *slot = Some(t);
        }
    }
    let mut errors = Vec::new();
    // Tangents of each loop's carried variables, by `Loop` node.
    let mut loop_tangents: rustc_hash::FxHashMap<Id, Vec<Option<Id>>> = Default::default();
    for i in 0..n {
        let id = g.id(i);
        if tan[i].is_some() || !g.is_active(id) {
            continue;
        }
        let node = g[id].clone();
        let args_t: Vec<Option<Id>> = node.args.iter().map(|a| tan[a.index()]).collect();
        let loop_out =
            matches!(node.op, Op::LoopOut(_)) && loop_tangents.contains_key(&node.args[0]);
        if args_t.iter().all(Option::is_none) && !matches!(node.op, Op::Opaque(_)) && !loop_out {
            continue;
        }
        let block = g.block_of(id);
        g.current = g.mirror_block(block);
        let result = match node.op {
            Op::Phi(b) => {
                let br = g.branches[b as usize].clone();
                let then_m = g.mirror_block(br.then_block);
                let else_m = g.mirror_block(br.else_block);
                let mirror_branch = g.arm_of(then_m).expect("mirror is an arm").0;
                g.current = then_m;
                let t = arm_value(g, args_t[0], node.args[0]);
                g.current = else_m;
                let e = arm_value(g, args_t[1], node.args[1]);
                g.current = g.mirror_block(block);
                Ok(Some(g.add_raw(Op::Phi(mirror_branch), vec![t, e])))
            }
            Op::Loop(k) => {
                match tangent_loop(g, id, k, &args_t) {
                    Ok(outs) => {
                        loop_tangents.insert(id, outs);
                    }
                    Err(list) => errors.extend(list),
                }
                Ok(None)
            }
            Op::LoopOut(j) => Ok(loop_tangents
                .get(&node.args[0])
                .and_then(|outs| outs.get(j as usize).copied().flatten())),
            _ => ops::jvp(g, id, &args_t),
        };
        match result {
            Ok(Some(t)) => {
                // A tangent has the shape of its value: a scalar tangent of a tensor (from a
                // scalar operand) is broadcast.
                let t = if g.kind(id) == Kind::Tensor && g.kind(t) == Kind::Scalar {
                    g.binary(Op::BroadcastLike, t, id)
                } else {
                    t
                };
                tan[i] = Some(t);
            }
            Ok(None) => {}
            Err(why) => errors.push(describe(g, id, why)),
        }
    }
    g.current = ROOT;
    if errors.is_empty() {
        Ok(tan)
    } else {
        Err(errors)
    }
}

/// After the forward sweep: each loop's values read from its tangent loop, which computes
/// them again beside the tangents, so that the primal loop is not run as well. Every node that
/// reads a primal loop's carried output (directly or through others) is built again reading
/// the tangent loop's; returns `roots` so rebuilt. Branch conditions are left as they are (a
/// condition that reads a loop's output keeps that loop: the same value, computed twice).
pub(crate) fn share_loops(g: &mut Graph, tan: &[Option<Id>], roots: &[Id]) -> Vec<Id> {
    // Each primal loop with a tangent loop, found from a carried output's tangent.
    let mut tangent_loop_of: rustc_hash::FxHashMap<Id, Id> = Default::default();
    for (i, t) in tan.iter().enumerate() {
        let (id, Some(t)) = (g.id(i), *t) else {
            continue;
        };
        let (Op::LoopOut(j), Op::LoopOut(tj)) = (g[id].op, g[t].op) else {
            continue;
        };
        let (lp, tlp) = (g[id].args[0], g[t].args[0]);
        let (Op::Loop(k), Op::Loop(_)) = (g[lp].op, g[tlp].op) else {
            continue;
        };
        let n_carried = g.loops[k as usize].carried.len();
        if (j as usize) < n_carried && tj as usize == n_carried + j as usize {
            tangent_loop_of.insert(lp, tlp);
        }
    }
    if tangent_loop_of.is_empty() {
        return roots.to_vec();
    }
    // Depth first from the roots (a stack, not recursion: bodies can be deep), each node once:
    // a primal loop's carried output becomes the same output of its tangent loop (itself
    // rebuilt), and a node reading a rebuilt node is rebuilt.
    let carried_out = |g: &Graph, id: Id| -> Option<(u32, Id)> {
        let Op::LoopOut(j) = g[id].op else {
            return None;
        };
        let lp = g[id].args[0];
        let Op::Loop(k) = g[lp].op else { return None };
        let tlp = *tangent_loop_of.get(&lp)?;
        ((j as usize) < g.loops[k as usize].carried.len()).then_some((j, tlp))
    };
    let mut done: rustc_hash::FxHashMap<Id, Id> = Default::default();
    let here = g.current;
    let mut stack: Vec<(Id, bool)> = roots.iter().map(|&r| (r, false)).collect();
    while let Some((id, ready)) = stack.pop() {
        if done.contains_key(&id) {
            continue;
        }
        let shared = carried_out(g, id);
        let deps: Vec<Id> = match shared {
            Some((_, tlp)) => vec![tlp],
            None => g[id].args.clone(),
        };
        if !ready {
            stack.push((id, true));
            stack.extend(
                deps.into_iter()
                    .filter(|d| !done.contains_key(d))
                    .map(|d| (d, false)),
            );
            continue;
        }
        g.current = g.block_of(id);
        let out = match shared {
            Some((j, tlp)) => g.add_raw(Op::LoopOut(j), vec![done[&tlp]]),
            None if deps.iter().any(|d| done[d] != *d) => {
                let args = deps.iter().map(|d| done[d]).collect();
                g.add_raw(g[id].op, args)
            }
            None => id,
        };
        done.insert(id, out);
    }
    g.current = here;
    roots.iter().map(|r| done[r]).collect()
}

/// An arm's tangent for a `Phi`, in the current (mirror) arm: the tangent, or a zero shaped
/// like the arm's value.
fn arm_value(g: &mut Graph, t: Option<Id>, value: Id) -> Id {
    match t {
        Some(t) => g.visible(t),
        None => zero_like(g, value),
    }
}

pub(crate) fn zero_like(g: &mut Graph, like: Id) -> Id {
    if matches!(g.kind(like), Kind::Scalar | Kind::Int | Kind::Bool) {
        g.constant(0.0)
    } else {
        let like = g.visible(like);
        g.add_raw(Op::ZerosLike, vec![like])
    }
}

/// The tangent loop of loop `k`: its body, copied, with one more input per tangent (of each
/// input that has one, and of every carried variable) and the carried variables' tangents
/// carried too. Returns the tangent of each carried variable after the loop.
fn tangent_loop(
    g: &mut Graph,
    id: Id,
    k: u32,
    args_t: &[Option<Id>],
) -> Result<Vec<Option<Id>>, Vec<SweepError>> {
    let info = g.loops[k as usize].clone();
    let args = g[id].args.clone();
    let n_in = info.n_inputs;
    let is_carried = |p: usize| info.carried.iter().any(|&(c, _)| c == p);
    // The inputs that get a tangent input, in order.
    let with_tangent: Vec<usize> = (0..n_in)
        .filter(|&p| is_carried(p) || args_t[2 + p].is_some())
        .collect();
    let m = with_tangent.len();
    let mut body = info.body.clone();
    // Make room: the loop variable and the seeds move up by m.
    let new_params: Vec<ParamInfo> = with_tangent
        .iter()
        .map(|&p| ParamInfo {
            kind: body.params[p].kind,
            // A carried tangent depends on the differentiated inputs after one iteration.
            active: (is_carried(p) && g.is_active(id))
                || args_t[2 + p].is_some_and(|t| g.is_active(t)),
        })
        .collect();
    body.params.splice(n_in..n_in, new_params);
    for b in body.ids().collect::<Vec<_>>() {
        if let Op::Param(p) = body[b].op {
            if p as usize >= n_in {
                body.replace(b, Op::Param(p + m as u16), vec![]);
            }
        }
    }
    let mut seeds = Vec::new();
    for (j, &p) in with_tangent.iter().enumerate() {
        let tp = body.param(n_in + j);
        if let Some(b) = body.ids().find(|&b| body[b].op == Op::Param(p as u16)) {
            seeds.push((b, tp));
        }
    }
    let body_n = body.len();
    // The body's own nodes: its reverse sweep (for the loop's pullback) comes after them.
    let primal = info
        .carried
        .iter()
        .map(|&(_, out)| out.index() + 1)
        .max()
        .unwrap_or(0);
    let tan = forward_upto(&mut body, &seeds, primal)?;
    // The carried variables' tangents after an iteration.
    let mut carried = info.carried.clone();
    for &(p, out) in &info.carried {
        let j = with_tangent
            .iter()
            .position(|&q| q == p)
            .expect("every carried variable has a tangent input");
        let t = match tan.get(out.index()).copied().flatten() {
            Some(t) => t,
            None if out.index() < body_n => zero_like(&mut body, out),
            None => zero_like(&mut body, out),
        };
        carried.push((n_in + j, t));
    }
    // Its pullback, for reverse-over-forward (Hessian-vector products).
    // The old carried variables keep their seeds (moved up by m); the tangents get new ones.
    let mut seeds_all: Vec<usize> = info.seeds.iter().map(|s| s + m).collect();
    let mut seed_pairs = Vec::new();
    for (j, &(_, out)) in carried.iter().enumerate() {
        let kind = body.kind(out);
        let idx = match seeds_all.get(j) {
            Some(&idx) => idx,
            None => {
                body.params.push(ParamInfo {
                    kind,
                    active: false,
                });
                seeds_all.push(body.params.len() - 1);
                body.params.len() - 1
            }
        };
        let s = body.param(idx);
        if matches!(kind, Kind::Scalar | Kind::Tensor | Kind::Unknown) {
            seed_pairs.push((out, s));
        }
    }
    let adj = if info.adj.is_some() && !seed_pairs.is_empty() {
        super::reverse::reverse_from(&mut body, &seed_pairs).ok()
    } else {
        None
    };
    let n_carried = info.carried.len();
    let new_info = LoopInfo {
        body,
        var: info.var.clone(),
        inclusive: info.inclusive,
        n_inputs: n_in + m,
        carried,
        seeds: seeds_all,
        adj,
        // The body keeps its node ids (tangents are appended), so the condition is the same.
        while_cond: info.while_cond,
    };
    let k2 = g.loops.len() as u32;
    g.loops.push(new_info);
    let mut new_args = args.clone();
    for &p in &with_tangent {
        let t = match args_t[2 + p] {
            Some(t) => t,
            None => zero_like(g, args[2 + p]),
        };
        new_args.push(t);
    }
    let lp = g.add_raw(Op::Loop(k2), new_args);
    Ok((0..n_carried)
        .map(|j| Some(g.add_raw(Op::LoopOut((n_carried + j) as u32), vec![lp])))
        .collect())
}

fn describe(g: &Graph, id: Id, why: NoRule) -> SweepError {
    let span: Option<Span> = g
        .opaque(id)
        .map(|o| o.span)
        .or_else(|| g.spans.get(&id).copied())
        .or_else(|| match g[id].op {
            Op::Call(k) | Op::Pullback(k) => Some(g.calls[k as usize].span),
            _ => None,
        });
    let message = match why {
        NoRule::Opaque => "this expression depends on a differentiated value but has no \
             derivative rule; write it with operators and the supported float methods"
            .to_string(),
        _ => format!(
            "forward mode (`_jvp`, `_hvp`) through `{}` is not supported",
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

    /// The simplified tangent of `body` (a function of `x` and `y`) along (`tx`, `ty`), given
    /// as the tangent parameters' names `u` and `v` (a missing one is zero).
    fn tangent(body: &str, tx: bool, ty: bool) -> String {
        let src = format!("fn f(x: f64, y: f64, u: f64, v: f64) -> f64 {{ {body} }}");
        let tokens: proc_macro2::TokenStream = src.parse().unwrap();
        let tokens = power::rewrite(tokens);
        let func: syn::ItemFn = syn::parse2(tokens).unwrap();
        let errors = Errors::default();
        let args: Args = syn::parse2(quote::quote!(wrt(x, y))).unwrap();
        let sig = Sig::from_syn(&func, &args, &errors).unwrap();
        let mut lowered = body::lower(&sig, &func.block, &errors).unwrap();
        let p = lowered.params.clone();
        let mut seeds = Vec::new();
        if tx {
            seeds.push((p[0], p[2]));
        }
        if ty {
            seeds.push((p[1], p[3]));
        }
        let n = lowered.graph.len();
        let tan = super::forward_upto(&mut lowered.graph, &seeds, n)
            .ok()
            .unwrap();
        Formula::new(&lowered.graph, &sig).text(tan[lowered.output.index()])
    }

    #[test]
    fn tangent_rules() {
        let cases = [
            ("2*x**4 + x**3 + 3*x**2 + 5*x + 1", true, false),
            ("x * y + y**2", true, true),
            ("x.sin() * x", true, false),
            ("x.exp()", true, false),
            ("x.ln()", true, false),
            ("x / y", false, true),
            ("x / y", true, true),
            ("x.atan2(y)", true, true),
            ("x.max(y)", true, true),
            ("x.hypot(y)", true, false),
            ("x.floor() * y", true, false),
            ("x**0", true, false),
            ("let mut a = x; a *= 3; a", true, false),
            ("if x > y { x * x } else { y }", true, true),
        ];
        let got: Vec<String> = cases
            .iter()
            .map(|&(b, tx, ty)| tangent(b, tx, ty))
            .collect();
        let want = [
            "8*u*x**3 + 3*u*x**2 + 6*u*x + 5*u",
            "u*y + v*x + 2*v*y",
            "u*x*x.cos() + u*x.sin()",
            "u*x.exp()",
            "u/x",
            "-v*x/y**2",
            "u/y - v*x/y**2",
            "u*y/(x**2 + y**2) - v*x/(x**2 + y**2)",
            "(if x > y { 1 } else if x == y { 0.5 } else { 0 })*u + (if y > x { 1 } else if y == x { 0.5 } else { 0 })*v",
            "u*x/x.hypot(y)",
            "0",
            "0",
            "3*u",
            "(if (x > y) { 2*u*x } else { v })",
        ];
        for ((case, got), want) in cases.iter().zip(&got).zip(want) {
            assert_eq!(got, want, "tangent of `{}`", case.0);
        }
    }
}
