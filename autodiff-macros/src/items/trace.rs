//! `f_trace`: every top-level node with its value and gradient.

use std::fmt::Write;

use proc_macro2::TokenStream;
use quote::quote;

use crate::emit::rust::{Code, Emitter};
use crate::ir::graph::ROOT;
use crate::ir::{Graph, Id, Kind, Op};
use crate::names;

use super::ctx::{adj_of, Items};

impl Items<'_> {
    /// `f_trace(..)`: every node of the body's top level (parameters, `let` bindings,
    /// operations; a branch counts as one node) with its value and gradient.
    pub(crate) fn emit_trace(&self, g: &Graph, adj: &[Option<Id>], output: Id) -> TokenStream {
        let mut on_path = vec![false; g.len()];
        on_path[output.index()] = true;
        for id in g.ids().take(output.index() + 1).rev() {
            if on_path[id.index()] {
                for &a in &g[id].args {
                    on_path[a.index()] = true;
                }
            }
        }
        // With struct leaves (`self.l1.w`) or calls (whose results have a type the macro does
        // not know, and so has everything computed from them), values of unknown type are
        // traced too: tensors and floats as usual, other values (a struct) as empty nodes
        // (`TraceAny`).
        let any = self.sig.params.iter().any(|p| p.leaf) || !g.calls.is_empty();
        let traced: Vec<Id> = g
            .ids()
            .take(output.index() + 1)
            .filter(|&id| {
                on_path[id.index()]
                    && g.block_of(id) == ROOT
                    && (matches!(g.kind(id), Kind::Scalar | Kind::Tensor)
                        || matches!(g[id].op, Op::Call(_))
                        || (any
                            && g.kind(id) == Kind::Unknown
                            && !matches!(
                                g[id].op,
                                Op::Loop(_)
                                    | Op::LoopPullback(_)
                                    | Op::Pullback(_)
                                    | Op::Pullback2(_)
                                    | Op::Project(_)
                                    | Op::NoGrad
                                    | Op::FusedGrad(_)
                            )))
                    && !matches!(g[id].op, Op::Const(_) | Op::Cotangent | Op::Opaque(_))
            })
            .collect();
        let mut roots = traced.clone();
        roots.extend(traced.iter().filter_map(|&id| adj_of(adj, id)));
        let mut e = Emitter::new(g, self.sig, &roots);
        let mut code = Code::default();
        e.write_statements(&mut code);
        let float = self.sig.float.to_string();
        let text = &mut code.text;
        text.push_str("let mut __trace = ::autodiff::Trace::new();");
        for &id in &traced {
            let name = match g[id].op {
                Op::Param(i) => self.sig.params[i as usize].ident.to_string(),
                Op::Index(k) => {
                    let arr = &g[id].args[0];
                    let base = match g[*arr].op {
                        Op::Param(i) => self.sig.params[i as usize].ident.to_string(),
                        _ => String::new(),
                    };
                    format!("{base}[{k}]")
                }
                _ => g.names.get(&id).cloned().unwrap_or_default(),
            };
            // A call is shown by the callee's name.
            let op = match g[id].op {
                Op::Call(k) => g.calls[k as usize]
                    .path
                    .segments
                    .last()
                    .map(|s| s.ident.to_string())
                    .unwrap_or_default(),
                other => crate::ir::ops::name(other).to_string(),
            };
            let inputs: Vec<String> = g[id]
                .args
                .iter()
                .filter(|a| traced.contains(a))
                .map(|a| format!("__n{}", a.index()))
                .collect();
            let kind = if id == output {
                "Output"
            } else if matches!(g[id].op, Op::Param(_)) {
                "Param"
            } else {
                "Op"
            };
            if any && g.kind(id) == Kind::Unknown {
                let _ = write!(
                    text,
                    "let __n{} = {{ #[allow(unused_imports)] use ::autodiff::__private::{{TraceOther as _, TraceTensor as _}}; (&&::autodiff::__private::TraceAny(",
                    id.index()
                );
                e.ref_text(id, text);
                match adj_of(adj, id) {
                    Some(a) => {
                        text.push_str(", ::core::option::Option::Some(");
                        e.ref_text(a, text);
                        text.push(')');
                    }
                    None => {
                        let _ = write!(text, ", ::core::option::Option::None::<&{float}>");
                    }
                }
                let _ = write!(
                    text,
                    ")).node(&mut __trace, {name:?}, {op:?}, &[{}], ::autodiff::NodeKind::{kind}) }};",
                    inputs.join(", ")
                );
                continue;
            }
            let _ = write!(
                text,
                "let __n{} = ::autodiff::__private::trace_node(&mut __trace, {name:?}, {op:?}, &[{}], ::autodiff::NodeKind::{kind}, ",
                id.index(),
                inputs.join(", ")
            );
            e.ref_text(id, text);
            match adj_of(adj, id) {
                Some(a) => {
                    text.push_str(", ::core::option::Option::Some(");
                    e.ref_text(a, text);
                    text.push_str("));");
                }
                None => {
                    let _ = write!(text, ", ::core::option::Option::None::<&{float}>);");
                }
            }
        }
        text.push_str(names::TRACE);
        self.trace_item(code.finish())
    }

    /// `f_trace` with the given body.
    pub(crate) fn trace_item(&self, body: TokenStream) -> TokenStream {
        let float = &self.sig.float;
        let doc = format!(
            "One evaluation of [`{}`] as data: every node with its value and its gradient.",
            self.func.sig.ident
        );
        self.extra_item("trace", &doc, quote!(::autodiff::Trace<#float>), body)
    }
}
