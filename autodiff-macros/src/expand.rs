//! parse → check → lower → differentiate → emit, and the items generated for one function.

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use quote::{quote, ToTokens};
use syn::{Ident, ItemFn};

use crate::args::Args;
use crate::errors::Errors;
use crate::ir::Kind;
use crate::items::{fallback, Items};
use crate::parse::body;
use crate::parse::power;
use crate::parse::sig::Sig;

/// The first stage of `#[differentiable(args)] item`: the attribute's arguments and the
/// function, with its parameters rebound; `Err` holds what to emit when either fails.
pub(crate) fn prepare(
    args: TokenStream,
    item: &TokenStream,
) -> Result<(Args, ItemFn), TokenStream> {
    if let Some(span) = too_deep(item) {
        let msg = format!(
            "this expression is nested more than {MAX_NESTING} levels deep; bind intermediate results with `let`"
        );
        let err = syn::Error::new(span, msg).into_compile_error();
        return Err(quote!(#err));
    }
    let args: Args = match syn::parse2(args) {
        Ok(a) => a,
        Err(e) => {
            let func = syn::parse2::<ItemFn>(rewrite_body(item.clone())).ok();
            return Err(fallback::expand(e, func.as_ref(), None));
        }
    };
    let mut func: ItemFn = match syn::parse2(rewrite_body(item.clone())) {
        Ok(f) => f,
        // A function with a syntax error in it (`y **= 2`): rustc's own parse error says
        // what is wrong, at the token.
        Err(_) if is_fn_item(item) => return Err(item.clone()),
        Err(_) => return Err(not_a_function(item.clone())),
    };
    crate::parse::sig::rebind_params(&mut func.sig);
    Ok((args, func))
}

/// A free function: check the signature, lower, differentiate and write the items.
/// `started` is when expansion began, for `AUTODIFF_TIMING`.
pub(crate) fn function(
    args: Args,
    func: ItemFn,
    item: TokenStream,
    started: std::time::Instant,
) -> TokenStream {
    let errors = Errors::default();
    let Some(sig) = Sig::from_syn(&func, &args, &errors) else {
        return fallback::expand(errors.finish().unwrap_err(), Some(&func), None);
    };
    if let Some(rule) = &args.vjp {
        let one_scalar = sig.params.len() == 1 && sig.params[0].kind == Kind::Scalar;
        if args.vjp_differentiable && !(one_scalar && sig.ret_kind == Kind::Scalar) {
            let e = syn::Error::new_spanned(
                &func.sig.inputs,
                "`vjp_differentiable` needs a function of one float parameter returning a float, whose rule `rule(x, cotangent) -> float` is #[differentiable]; remove `vjp_differentiable`",
            );
            return fallback::expand(e, Some(&func), Some(&sig));
        }
        // The body as the macro reads it (`**`, integer literals as floats) where it lowers;
        // else the user's own, exactly as written (it may be any Rust: it is not
        // differentiated).
        let items = Items::new(&func, &sig);
        let primal = body::lower(&sig, &func.block, &Errors::default())
            .map(|l| items.primal(&l.graph, l.output))
            .unwrap_or_else(|| {
                let original: ItemFn = syn::parse2(item).expect("parsed above");
                original.into_token_stream()
            });
        let tokens = items.custom_rule(rule, args.jvp.as_ref(), primal, args.vjp_differentiable);
        debug_print(&func.sig.ident, &tokens);
        return tokens;
    }
    if args.vjp_differentiable {
        let e = syn::Error::new(
            func.sig.ident.span(),
            "`vjp_differentiable` goes with `vjp = rule`; remove it, or name the rule",
        );
        return fallback::expand(e, Some(&func), Some(&sig));
    }
    let Some(lowered) = body::lower(&sig, &func.block, &errors) else {
        return fallback::expand(errors.finish().unwrap_err(), Some(&func), Some(&sig));
    };
    match Items::new(&func, &sig).generate(lowered) {
        Ok(tokens) => {
            debug_print(&func.sig.ident, &tokens);
            if std::env::var_os("AUTODIFF_TIMING").is_some() {
                eprintln!(
                    "#[differentiable] `{}` expanded in {:.3} ms",
                    func.sig.ident,
                    started.elapsed().as_secs_f64() * 1e3
                );
            }
            tokens
        }
        Err(e) => fallback::expand(e, Some(&func), Some(&sig)),
    }
}

/// `AUTODIFF_PRINT=f` (or `*`) prints the code generated for `f` while compiling,
/// formatted by rustfmt when it is installed.
pub(crate) fn debug_print(ident: &Ident, tokens: &TokenStream) {
    let Ok(want) = std::env::var("AUTODIFF_PRINT") else {
        return;
    };
    if want != "*" && want.split(',').all(|w| *ident != w.trim()) {
        return;
    }
    let text = tokens.to_string();
    let formatted = std::process::Command::new("rustfmt")
        .args(["--edition", "2021", "--emit", "stdout"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take()?.write_all(text.as_bytes()).ok()?;
            let out = child.wait_with_output().ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
        });
    eprintln!(
        "// #[differentiable] expansion of `{ident}`\n{}",
        formatted.unwrap_or(text)
    );
}

/// Deeper nesting of parentheses, brackets and braces than this is refused: syn and the macro
/// recurse once per level, and the compiler's stack ends somewhere past 300 levels.
const MAX_NESTING: usize = 200;

/// The first group nested deeper than `MAX_NESTING`, found without recursion.
fn too_deep(tokens: &TokenStream) -> Option<proc_macro2::Span> {
    let mut stack = vec![tokens.clone().into_iter()];
    while let Some(top) = stack.last_mut() {
        match top.next() {
            Some(TokenTree::Group(g)) => {
                if stack.len() > MAX_NESTING {
                    return Some(g.span());
                }
                stack.push(g.stream().into_iter());
            }
            Some(_) => {}
            None => {
                stack.pop();
            }
        }
    }
    None
}

/// Runs the `**` pass over the function body (the last brace group of the item).
fn rewrite_body(item: TokenStream) -> TokenStream {
    let mut trees: Vec<TokenTree> = item.into_iter().collect();
    if let Some(TokenTree::Group(g)) = trees.last() {
        if g.delimiter() == Delimiter::Brace {
            let mut body = Group::new(Delimiter::Brace, power::rewrite(g.stream()));
            body.set_span(g.span());
            *trees.last_mut().unwrap() = TokenTree::Group(body);
        }
    }
    trees.into_iter().collect()
}

/// `[attributes] [pub] fn name ..`: a function, whatever its body holds.
fn is_fn_item(item: &TokenStream) -> bool {
    item.clone()
        .into_iter()
        .take_while(|t| !matches!(t, TokenTree::Group(g) if g.delimiter() == Delimiter::Brace))
        .any(|t| matches!(&t, TokenTree::Ident(id) if id == "fn"))
}

fn not_a_function(item: TokenStream) -> TokenStream {
    let msg = "#[differentiable] applies to a function, such as `fn f(x: f64) -> f64 { .. }`";
    let at: TokenStream = match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Struct(s)) => s.struct_token.into_token_stream(),
        Ok(syn::Item::Enum(e)) => e.enum_token.into_token_stream(),
        Ok(syn::Item::Impl(i)) => i.impl_token.into_token_stream(),
        Ok(syn::Item::Trait(t)) => t.trait_token.into_token_stream(),
        Ok(syn::Item::Mod(m)) => m.mod_token.into_token_stream(),
        Ok(syn::Item::Const(c)) => c.const_token.into_token_stream(),
        Ok(syn::Item::Static(s)) => s.static_token.into_token_stream(),
        Ok(syn::Item::Type(t)) => t.type_token.into_token_stream(),
        _ => item.clone(),
    };
    let err = syn::Error::new_spanned(at, msg).into_compile_error();
    quote!(#err #item)
}

#[cfg(test)]
mod tests {
    /// Expansion time of 100 functions with a branch, calls to float methods and powers.
    /// Run with `cargo test -p autodiff-macros --release -- --ignored --nocapture expansion_time`.
    /// It also writes the same functions as a crate, `target/expansion-crate`, whose
    /// `AUTODIFF_TIMING=1 cargo check` prints each expansion's time inside the compiler.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn expansion_time() {
        let methods = ["sin", "cos", "exp", "tanh", "sqrt", "ln_1p"];
        let sources: Vec<String> = (0..100)
            .map(|i| {
                let (a, b) = (methods[i % 6], methods[(i * 5 + 1) % 6]);
                format!(
                    "pub fn f{i}(x: f64, y: f64) -> f64 {{ let t = x * y + {k}*x**2; \
                     let u = (t * t + 1.0).{a}() + y.{b}() * x; \
                     if u > 0.5 {{ u * t - y**3 }} else {{ (u - t).abs() + x }} }}",
                    k = i % 7 + 1
                )
            })
            .collect();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .canonicalize()
            .unwrap();
        let dir = root.join("target/expansion-crate");
        std::fs::create_dir_all(dir.join("src")).unwrap();
        let manifest = format!(
            "[package]\nname = \"expansion-crate\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
             [dependencies]\nautodiff = {{ path = {:?} }}\n\n[workspace]\n\n\
             [profile.dev.build-override]\nopt-level = 3\n",
            root
        );
        std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
        let lib: String = sources
            .iter()
            .map(|src| format!("#[autodiff::differentiable]\n{src}\n"))
            .collect();
        std::fs::write(
            dir.join("src/lib.rs"),
            format!("#![allow(dead_code)]\n{lib}"),
        )
        .unwrap();
        println!("wrote {}", dir.display());
        let start = std::time::Instant::now();
        let mut tokens = 0;
        for src in &sources {
            let out =
                crate::entry::differentiable(proc_macro2::TokenStream::new(), src.parse().unwrap());
            tokens += out.into_iter().count();
        }
        let elapsed = start.elapsed();
        println!(
            "100 functions expanded in {:.1} ms ({:.3} ms per function, {} top-level tokens)",
            elapsed.as_secs_f64() * 1e3,
            elapsed.as_secs_f64() * 1e3 / 100.0,
            tokens
        );
    }
}
