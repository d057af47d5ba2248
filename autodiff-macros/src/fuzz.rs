//! Robustness tests: the macro core on arbitrary token streams. The only acceptable outcomes
//! are generated code or a `compile_error!`: never a panic, never a hang.

use proc_macro2::TokenStream;

use crate::entry as expand;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const ATOMS: &[&str] = &[
    "x", "y", "n", "v", "t", "i", "1", "2", "0", "2.5", "1e-3", "-1", "true", "PI", "f64", "T",
];
const OPS: &[&str] = &[
    "+", "-", "*", "/", "**", "* *", "%", "<", ">", "==", "&&", "||", "..", "..=", "&", "|",
];
const METHODS: &[&str] = &[
    "sin", "exp", "ln", "powi", "powf", "max", "clamp", "sum", "len", "foo", "iter", "map",
    "matmul",
];

/// A random expression that is usually well-formed, sometimes not.
fn expr(rng: &mut Rng, depth: usize) -> String {
    if depth == 0 {
        return rng.pick(ATOMS).to_string();
    }
    match rng.below(9) {
        0 => format!(
            "{} {} {}",
            expr(rng, depth - 1),
            rng.pick(OPS),
            expr(rng, depth - 1)
        ),
        1 => format!("({})", expr(rng, depth - 1)),
        2 => format!(
            "{}.{}({})",
            expr(rng, depth - 1),
            rng.pick(METHODS),
            if rng.below(2) == 0 {
                String::new()
            } else {
                expr(rng, depth - 1)
            }
        ),
        3 => format!(
            "if {} > {} {{ {} }} else {{ {} }}",
            expr(rng, depth - 1),
            expr(rng, 0),
            expr(rng, depth - 1),
            expr(rng, depth - 1)
        ),
        4 => format!("-{}", expr(rng, depth - 1)),
        5 => format!(
            "{{ let t = {}; t {} {} }}",
            expr(rng, depth - 1),
            rng.pick(OPS),
            expr(rng, depth - 1)
        ),
        6 => format!("v[{}]", expr(rng, depth - 1)),
        7 => format!("g({}, {})", expr(rng, depth - 1), expr(rng, 0)),
        _ => rng.pick(ATOMS).to_string(),
    }
}

fn statement(rng: &mut Rng) -> String {
    match rng.below(8) {
        0 => format!("let mut acc = {};", expr(rng, 2)),
        1 => format!("acc += {};", expr(rng, 2)),
        2 => format!(
            "for i in 0..{} {{ acc = acc * x + v[i]; }}",
            rng.pick(&["n", "3", "v.len()", "x", "i"])
        ),
        3 => format!("if {} {{ return {}; }}", expr(rng, 1), expr(rng, 1)),
        4 => format!("let t = {};", expr(rng, 3)),
        5 => "while x > 0.0 { }".to_string(),
        6 => format!("{};", expr(rng, 2)),
        _ => format!("let {} = {};", rng.pick(&["a", "b", "x"]), expr(rng, 2)),
    }
}

const SIGNATURES: &[&str] = &[
    "fn f(x: f64, y: f64, v: &[f64], n: usize) -> f64",
    "fn f<T: Float>(x: T, y: T) -> T",
    "fn f(x: &Tensor<f64>, y: f64) -> f64",
    "fn f(x: [f64; 3], y: f32) -> f32",
    "fn f(x: f64) -> Tensor<f64>",
    "fn f(x: f64)",
    "pub fn f(x: Vec<f64>, y: &mut f64) -> f64",
    "fn f((a, b): (f64, f64)) -> f64",
];
const ARGS: &[&str] = &[
    "",
    "wrt(x)",
    "wrt(y, x)",
    "wrt(z)",
    "vjp = rule",
    "wrt()",
    "foo",
    "wrt(x), wrt(y)",
];

fn function(rng: &mut Rng) -> (String, String) {
    let mut body = String::new();
    for _ in 0..rng.below(4) {
        body.push_str(&statement(rng));
        body.push(' ');
    }
    body.push_str(&expr(rng, 3));
    (
        rng.pick(ARGS).to_string(),
        format!("{} {{ {} }}", rng.pick(SIGNATURES), body),
    )
}

/// Any token soup: unbalanced in meaning, balanced in delimiters (the lexer guarantees that).
fn soup(rng: &mut Rng) -> String {
    let vocab = [
        "fn", "f", "(", ")", "{", "}", "x", ":", "f64", "->", "let", "=", ";", "*", "**", "+",
        "if", "else", "for", "in", "..", "1", "2.0", "return", "struct", "impl", "&", "mut", "[",
        "]", ",", "<", ">", "T", "#", "!", "'a", "\"s\"",
    ];
    let mut out = String::new();
    let mut open = Vec::new();
    for _ in 0..rng.below(40) {
        let t = rng.pick(&vocab);
        match t {
            "(" => open.push(")"),
            "{" => open.push("}"),
            "[" => open.push("]"),
            ")" | "}" | "]" => {
                if open.last() == Some(&t) {
                    open.pop();
                } else {
                    continue;
                }
            }
            _ => {}
        }
        out.push_str(t);
        out.push(' ');
    }
    while let Some(close) = open.pop() {
        out.push_str(close);
        out.push(' ');
    }
    out
}

fn expand_never_panics(args: &str, item: &str) {
    let (Ok(args_ts), Ok(item_ts)) = (args.parse::<TokenStream>(), item.parse::<TokenStream>())
    else {
        return;
    };
    let result = std::panic::catch_unwind(|| expand::differentiable(args_ts, item_ts));
    assert!(
        result.is_ok(),
        "the macro panicked on\n#[differentiable({args})]\n{item}"
    );
}

/// Run with `AUTODIFF_FUZZ_CASES=1000000 cargo test -p autodiff-macros --release fuzz` for a
/// longer campaign.
#[test]
fn fuzz_random_functions_and_token_soup() {
    let cases: usize = std::env::var("AUTODIFF_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Silence the default hook: a panic would be reported by the assertion with its input.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for _ in 0..cases {
        let (args, item) = function(&mut rng);
        expand_never_panics(&args, &item);
        let soup = soup(&mut rng);
        expand_never_panics("", &soup);
        expand_never_panics(&soup, "fn f(x: f64) -> f64 { x }");
    }
    std::panic::set_hook(hook);
}

/// Nesting past the limit is a clear error, not a stack overflow.
#[test]
fn too_deep_is_an_error() {
    let mut e = "x".to_string();
    for _ in 0..1000 {
        e = format!("({e} + 1.0)");
    }
    let src = format!("fn f(x: f64) -> f64 {{ {e} }}");
    let out = expand::differentiable(TokenStream::new(), src.parse().unwrap()).to_string();
    assert!(
        out.contains("nested more than 200 levels deep"),
        "{}",
        &out[..out.len().min(300)]
    );
}

/// Regressions found by the fuzzer, kept as inputs.
#[test]
fn fuzz_regressions() {
    for (args, item) in [
        ("", "fn f(x: f64) -> f64 { x * *2 }"),
        ("", "fn f(x: f64) -> f64 { for i in 0..x { } x }"),
    ] {
        expand_never_panics(args, item);
    }
}

/// Blow-up guards: deep, long and wide functions expand in bounded time and size (sharing
/// survives differentiation). Sizes are checked, not times. rustc runs macros on a thread with
/// a large stack; so does this test (syn parses 1000 nested parentheses recursively).
#[test]
fn deep_long_and_wide_functions_expand() {
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(deep_long_wide)
        .unwrap()
        .join()
        .unwrap();
}

fn deep_long_wide() {
    // 1000 operations in one expression, and 150 levels of parentheses.
    let chain: Vec<String> = (0..1000)
        .map(|i| {
            if i % 2 == 0 {
                "x * y".to_string()
            } else {
                "(x / 2.0).sin()".to_string()
            }
        })
        .collect();
    let chain = format!("fn f(x: f64, y: f64) -> f64 {{ {} }}", chain.join(" + "));
    let mut e = "x".to_string();
    for i in 0..150 {
        e = match i % 4 {
            0 => format!("({e} * y + 1.0)"),
            1 => format!("({e}).sin()"),
            2 => format!("({e} - x)"),
            _ => format!("({e} / 2.0)"),
        };
    }
    let deep = format!("fn f(x: f64, y: f64) -> f64 {{ {e} }}");
    // 1000 statements, each reusing the previous two.
    let mut long = String::from("fn f(x: f64, y: f64) -> f64 { let a0 = x; let a1 = y; ");
    for i in 2..1000 {
        long.push_str(&format!("let a{i} = a{} * a{} + 0.5; ", i - 1, i - 2));
    }
    long.push_str("a999 }");
    // 100 parameters.
    let params: Vec<String> = (0..100).map(|i| format!("p{i}: f64")).collect();
    let sum: Vec<String> = (0..100)
        .map(|i| format!("p{i} * p{}", (i + 1) % 100))
        .collect();
    let wide = format!(
        "fn f({}) -> f64 {{ {} }}",
        params.join(", "),
        sum.join(" + ")
    );
    for (name, src) in [
        ("wide", wide),
        ("long", long),
        ("deep", deep),
        ("chain", chain),
    ] {
        let started = std::time::Instant::now();
        let out = expand::differentiable(TokenStream::new(), src.parse().unwrap());
        eprintln!("{name}: {:?}", started.elapsed());
        let text = out.to_string();
        assert!(
            !text.contains("compile_error"),
            "{}",
            &text[..text.len().min(500)]
        );
        // Linear, not exponential: at most a few hundred tokens per source token.
        let (tokens, source) = (count_tokens(out), count_tokens(src.parse().unwrap()));
        eprintln!("{name}: {tokens} tokens from {source}");
        assert!(
            tokens < 300 * source,
            "{name}: {tokens} tokens for {source} source tokens"
        );
    }
}

fn count_tokens(ts: TokenStream) -> usize {
    ts.into_iter()
        .map(|tt| match tt {
            proc_macro2::TokenTree::Group(g) => 2 + count_tokens(g.stream()),
            _ => 1,
        })
        .sum()
}
