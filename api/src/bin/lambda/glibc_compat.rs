//! Lambda's `provided.al2023` runtime has glibc 2.34. glibc 2.35 gave
//! `hypot` a new symbol version on x86_64, so a binary linked on a newer
//! system refers to `hypot@GLIBC_2.35` and fails to load on Lambda. Defining
//! `hypot` here makes the linker resolve Rust's calls (`f64::hypot`) to this
//! function instead of libm's, and the binary needs nothing past 2.34
//! (`scripts/package-lambda.sh` checks).

/// `sqrt(x² + y²)` without undue overflow or underflow (C99 semantics:
/// an infinite argument gives +∞ even when the other is NaN).
#[allow(unsafe_code)] // `no_mangle` exports a C symbol; the function itself is safe
#[no_mangle]
pub extern "C" fn hypot(x: f64, y: f64) -> f64 {
    let (x, y) = (x.abs(), y.abs());
    if x.is_infinite() || y.is_infinite() {
        return f64::INFINITY;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    let (big, small) = if x >= y { (x, y) } else { (y, x) };
    if big == 0.0 {
        return 0.0;
    }
    let ratio = small / big;
    big * (1.0 + ratio * ratio).sqrt()
}

#[cfg(test)]
mod tests {
    use super::hypot;

    #[test]
    fn hypot_matches_the_c_definition() {
        assert_eq!(hypot(3.0, 4.0), 5.0);
        assert_eq!(hypot(-3.0, 4.0), 5.0);
        assert_eq!(hypot(0.0, 0.0), 0.0);
        assert_eq!(hypot(0.0, -7.5), 7.5);
        let huge = hypot(3e300, 4e300);
        assert!((huge / 5e300 - 1.0).abs() < 1e-15, "{huge}");
        let tiny = hypot(3e-300, 4e-300);
        assert!((tiny / 5e-300 - 1.0).abs() < 1e-15, "{tiny}");
        assert_eq!(hypot(f64::INFINITY, f64::NAN), f64::INFINITY);
        assert_eq!(hypot(f64::NAN, f64::NEG_INFINITY), f64::INFINITY);
        assert!(hypot(f64::NAN, 1.0).is_nan());
        // Rust's own f64::hypot now resolves here.
        assert_eq!(3f64.hypot(4.0), 5.0);
    }
}
