// SPDX-License-Identifier: GPL-2.0

//! Node-utilisation metrics: a NUMA node's used and free memory in basis
//! points of its memory, the input of reclaim's and tiering's goals.

/// A node's memory, in pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeMem {
    /// Pages the node manages.
    pub total: u64,
    /// Free pages.
    pub free: u64,
}

impl NodeMem {
    /// Free memory in bp of the node's memory; `None` for a node without
    /// memory. Free pages above the total (a racy read) count as all free.
    pub fn free_bp(&self) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let free = self.free.min(self.total);
        Some(super::math::mul_div(free, 10_000, self.total))
    }

    /// Used memory in bp of the node's memory; `None` for a node without
    /// memory.
    pub fn used_bp(&self) -> Option<u64> {
        self.free_bp().map(|f| 10_000 - f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges() {
        assert_eq!(NodeMem { total: 0, free: 0 }.free_bp(), None);
        assert_eq!(NodeMem { total: 0, free: 0 }.used_bp(), None);
        assert_eq!(
            NodeMem {
                total: 100,
                free: 100
            }
            .free_bp(),
            Some(10_000)
        );
        assert_eq!(
            NodeMem {
                total: 100,
                free: 0
            }
            .used_bp(),
            Some(10_000)
        );
        assert_eq!(
            NodeMem {
                total: 100,
                free: 150
            }
            .free_bp(),
            Some(10_000)
        );
        assert_eq!(NodeMem { total: 3, free: 1 }.free_bp(), Some(3333));
        assert_eq!(NodeMem { total: 3, free: 1 }.used_bp(), Some(6667));
        assert_eq!(
            NodeMem {
                total: u64::MAX,
                free: u64::MAX / 2
            }
            .free_bp(),
            Some(4999)
        );
    }
}
