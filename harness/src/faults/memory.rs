//! `memory-pressure`: allocate and hold `size` bytes for the window, every page
//! written, so the RSS really grows (an untouched allocation would only reserve
//! address space).

/// Memory held for a window; freed on drop.
#[derive(Debug)]
pub struct Ballast(Vec<u8>);

/// Page size assumed when touching the allocation (smaller pages are touched too).
const PAGE: usize = 4096;

impl Ballast {
    /// Allocates `bytes` and writes one byte per page; `None` if the allocation fails.
    pub fn hold(bytes: u64) -> Option<Self> {
        let n = usize::try_from(bytes).ok()?;
        let mut v = Vec::new();
        v.try_reserve_exact(n).ok()?;
        v.resize(n, 0u8);
        for i in (0..n).step_by(PAGE) {
            v[i] = 1;
        }
        Some(Self(std::hint::black_box(v)))
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ballast_is_allocated_and_touched() {
        let b = Ballast::hold(10 * PAGE as u64 + 1).unwrap();
        assert_eq!(b.len(), 10 * PAGE + 1);
        assert_eq!(b.0.iter().filter(|x| **x == 1).count(), 11);
        assert!(Ballast::hold(u64::MAX).is_none());
    }
}
