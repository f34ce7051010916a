//! Single-precision matrix multiply: the kernel behind convolutions and fully connected layers.

/// C (m×n) = A (m×k) · B (k×n), all row-major and contiguous; C is overwritten.
pub fn sgemm(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    assert!(a.len() == m * k && b.len() == k * n && c.len() == m * n, "sgemm operand sizes");
    let a = ndarray::ArrayView2::from_shape((m, k), a).expect("checked");
    let b = ndarray::ArrayView2::from_shape((k, n), b).expect("checked");
    let mut c = ndarray::ArrayViewMut2::from_shape((m, n), c).expect("checked");
    ndarray::linalg::general_mat_mul(1.0, &a, &b, 0.0, &mut c);
}
