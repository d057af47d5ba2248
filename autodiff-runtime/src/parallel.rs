//! Element-wise kernels and sums over large tensors on rayon's threads.
//!
//! Below [`PAR_MIN`] elements everything stays on the calling thread: splitting costs more
//! than it saves (BENCHMARKS.md, "All cores"). The kernels here run only for `f32` and `f64`
//! (checked by [`worth`]) and only for the closures of this crate, which are pure functions
//! of their arguments; that is what makes sharing them between threads sound.

use num_traits::Float;
use rayon::prelude::*;

/// Element count from which element-wise kernels and sums split their work across threads.
pub(crate) const PAR_MIN: usize = 1 << 17;

/// The same for the four arithmetic operators, which are memory-bound: on the measured
/// machine they gain nothing from a second thread below about 10⁶ elements.
pub(crate) const PAR_MIN_ARITH: usize = 1 << 20;

/// The threshold for the element-wise operation named `op`.
pub(crate) fn threshold(op: &str) -> usize {
    match op {
        "add" | "sub" | "mul" | "div" => PAR_MIN_ARITH,
        _ => PAR_MIN,
    }
}

/// Elements per task.
const CHUNK: usize = 1 << 14;

/// Whether `T` is the primitive `f32` or `f64` (`type_name` carries a path for any other
/// type), which are `Send + Sync`.
pub(crate) fn primitive<T>() -> bool {
    use std::mem::size_of;
    match std::any::type_name::<T>() {
        "f32" => size_of::<T>() == 4,
        "f64" => size_of::<T>() == 8,
        _ => false,
    }
}

/// Whether a kernel over `len` elements of `T` runs on several threads, from `min` elements.
pub(crate) fn worth<T>(len: usize, min: usize) -> bool {
    len >= min && primitive::<T>() && rayon::current_num_threads() > 1
}

/// Pointers and a closure handed to rayon's workers, each of which reads and writes its own
/// chunk only.
struct Shared<P>(P);

// SAFETY: built only by the functions below, after `worth::<T>` held (T is f32 or f64, which
// are Send + Sync), around pure closures (see the functions' contracts); every worker writes
// a disjoint chunk of the output.
unsafe impl<P> Send for Shared<P> {}
unsafe impl<P> Sync for Shared<P> {}

impl<P: Copy> Shared<P> {
    fn get(&self) -> P {
        self.0
    }
}

/// The chunk `c` of a buffer of `n` elements: `(start, len)`.
fn chunk(c: usize, n: usize) -> (usize, usize) {
    let start = c * CHUNK;
    (start, CHUNK.min(n - start))
}

/// `f` applied to every element, chunks on rayon's threads.
///
/// # Safety
///
/// `worth::<T>(a.len(), _)` must hold, and `f` must be a pure function of its argument (no
/// interior mutability in what it captures).
pub(crate) unsafe fn map<T: Float, F: Fn(T) -> T>(a: &[T], f: &F) -> Vec<T> {
    let n = a.len();
    let mut out: Vec<T> = Vec::with_capacity(n);
    let shared = Shared((a.as_ptr() as usize, out.as_mut_ptr() as usize, f));
    (0..n.div_ceil(CHUNK)).into_par_iter().for_each(|c| {
        let (pa, po, f) = shared.get();
        let (start, len) = chunk(c, n);
        // SAFETY: [start, start + len) lies inside both buffers; chunks are disjoint.
        let (src, dst) = unsafe {
            (
                std::slice::from_raw_parts((pa as *const T).add(start), len),
                std::slice::from_raw_parts_mut((po as *mut T).add(start), len),
            )
        };
        dst.iter_mut().zip(src).for_each(|(o, &x)| *o = f(x));
    });
    // SAFETY: every element was written above.
    unsafe { out.set_len(n) };
    out
}

/// `f(a[i], b[i])` for two buffers of equal length, chunks on rayon's threads.
///
/// # Safety
///
/// As for [`map`], and `a.len() == b.len()`.
pub(crate) unsafe fn zip<T: Float, F: Fn(T, T) -> T>(a: &[T], b: &[T], f: &F) -> Vec<T> {
    let n = a.len();
    assert_eq!(n, b.len());
    let mut out: Vec<T> = Vec::with_capacity(n);
    let shared = Shared((
        a.as_ptr() as usize,
        b.as_ptr() as usize,
        out.as_mut_ptr() as usize,
        f,
    ));
    (0..n.div_ceil(CHUNK)).into_par_iter().for_each(|c| {
        let (pa, pb, po, f) = shared.get();
        let (start, len) = chunk(c, n);
        // SAFETY: [start, start + len) lies inside all three buffers; chunks are disjoint.
        let (x, y, dst) = unsafe {
            (
                std::slice::from_raw_parts((pa as *const T).add(start), len),
                std::slice::from_raw_parts((pb as *const T).add(start), len),
                std::slice::from_raw_parts_mut((po as *mut T).add(start), len),
            )
        };
        dst.iter_mut()
            .zip(x.iter().zip(y))
            .for_each(|(o, (&p, &q))| *o = f(p, q));
    });
    // SAFETY: every element was written above.
    unsafe { out.set_len(n) };
    out
}

/// The pairwise sum of every chunk on rayon's threads, then the chunk sums pairwise in
/// order: the same result for any number of threads.
///
/// # Safety
///
/// `worth::<T>(a.len(), _)` must hold.
pub(crate) unsafe fn sum<T: Float>(a: &[T]) -> T {
    let n = a.len();
    let mut parts: Vec<T> = Vec::with_capacity(n.div_ceil(CHUNK));
    let shared = Shared((a.as_ptr() as usize, parts.as_mut_ptr() as usize));
    (0..n.div_ceil(CHUNK)).into_par_iter().for_each(|c| {
        let (pa, pp) = shared.get();
        let (start, len) = chunk(c, n);
        // SAFETY: [start, start + len) lies inside `a`; each task writes its own slot.
        unsafe {
            let src = std::slice::from_raw_parts((pa as *const T).add(start), len);
            (pp as *mut T).add(c).write(crate::kernels::sum(src));
        }
    });
    // SAFETY: every slot was written above.
    unsafe { parts.set_len(n.div_ceil(CHUNK)) };
    crate::kernels::sum(&parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_kernels_match_the_loops() {
        let n = PAR_MIN + 12_345;
        assert!(worth::<f64>(n, PAR_MIN) || rayon::current_num_threads() == 1);
        assert!(!worth::<f64>(n, threshold("add")) && threshold("tanh") == PAR_MIN);
        let a: Vec<f64> = (0..n).map(|i| (i % 1000) as f64 * 0.001).collect();
        let b: Vec<f64> = (0..n).map(|i| (i % 7) as f64).collect();
        assert!(primitive::<f64>() && primitive::<f32>() && !primitive::<u64>());
        // SAFETY: f64 and pure closures.
        unsafe {
            let m = map(&a, &|x: f64| x.tanh());
            assert!(m.iter().zip(&a).all(|(&m, &x)| m == x.tanh()));
            let z = zip(&a, &b, &|x: f64, y: f64| x * y + 1.0);
            assert!(z
                .iter()
                .zip(a.iter().zip(&b))
                .all(|(&z, (&x, &y))| z == x * y + 1.0));
            let s = sum(&b);
            assert_eq!(s, b.iter().sum::<f64>());
        }
    }
}
