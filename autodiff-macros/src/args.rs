//! The attribute's arguments: `wrt(w, b)` and `vjp = rule`.

use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Ident, Path, Token};

mod kw {
    syn::custom_keyword!(wrt);
    syn::custom_keyword!(vjp);
    syn::custom_keyword!(vjp_differentiable);
    syn::custom_keyword!(jvp);
}

/// Parsed `#[differentiable(...)]` arguments.
#[derive(Default)]
pub(crate) struct Args {
    /// `wrt(a, b)`: the parameters to differentiate; `None` means every differentiable one.
    pub wrt: Option<Vec<Ident>>,
    /// `vjp = rule`: a user-supplied vector-Jacobian product replacing differentiation.
    pub vjp: Option<Path>,
    /// `vjp_differentiable`: the rule is itself `#[differentiable]`, so second derivatives go
    /// through its pullback.
    pub vjp_differentiable: bool,
    /// Set by `method`, never parsed: the parameters that stand for the leaves of a
    /// differentiated struct (`self.l1.w`); each is differentiated, of unknown value type.
    pub leaves: Vec<Ident>,
    /// `jvp = rule`: with `vjp`, the forward rule `rule(params.., tangents..) -> (R, R)`.
    pub jvp: Option<Path>,
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut args = Args::default();
        while !input.is_empty() {
            let lookahead = input.lookahead1();
            if lookahead.peek(kw::vjp_differentiable) {
                input.parse::<kw::vjp_differentiable>()?;
                args.vjp_differentiable = true;
            } else if lookahead.peek(kw::wrt) {
                let key: kw::wrt = input.parse()?;
                if args.wrt.is_some() {
                    return Err(syn::Error::new(
                        key.span,
                        "`wrt` is given twice; list every parameter in one `wrt(..)`",
                    ));
                }
                let content;
                syn::parenthesized!(content in input);
                // `Ident::parse_any`: `wrt(self)` names a method's receiver.
                let names = Punctuated::<Ident, Token![,]>::parse_terminated_with(
                    &content,
                    Ident::parse_any,
                )?;
                if names.is_empty() {
                    return Err(syn::Error::new(
                        key.span,
                        "`wrt()` names no parameter; list at least one, as in `wrt(x)`",
                    ));
                }
                args.wrt = Some(names.into_iter().collect());
            } else if lookahead.peek(kw::vjp) {
                let key: kw::vjp = input.parse()?;
                if args.vjp.is_some() {
                    return Err(syn::Error::new(key.span, "`vjp` is given twice"));
                }
                input.parse::<Token![=]>()?;
                args.vjp = Some(input.parse()?);
            } else if lookahead.peek(kw::jvp) {
                let key: kw::jvp = input.parse()?;
                if args.jvp.is_some() {
                    return Err(syn::Error::new(key.span, "`jvp` is given twice"));
                }
                input.parse::<Token![=]>()?;
                args.jvp = Some(input.parse()?);
            } else {
                let _ = lookahead;
                return Err(syn::Error::new(
                    input.span(),
                    "unknown argument; expected `wrt(param, ..)`, `vjp = rule_fn`, `jvp = rule_fn` or `vjp_differentiable`",
                ));
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wrt_and_vjp() {
        let a: Args = syn::parse_str("wrt(w, b), vjp = my_rule").unwrap();
        let names: Vec<String> = a.wrt.unwrap().iter().map(|i| i.to_string()).collect();
        assert_eq!(names, ["w", "b"]);
        assert!(a.vjp.is_some());
    }

    #[test]
    fn rejects_unknown_argument() {
        let err = syn::parse_str::<Args>("foo").err().unwrap();
        assert!(err.to_string().contains("unknown argument"), "{err}");
    }

    #[test]
    fn empty_is_default() {
        let a: Args = syn::parse_str("").unwrap();
        assert!(a.wrt.is_none() && a.vjp.is_none());
    }
}
