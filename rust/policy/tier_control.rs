// SPDX-License-Identifier: GPL-2.0

//! Tiering's controller: how many bytes each scheme of a chain may move in
//! the coming aggregation interval, computed from the state of the nodes.
//!
//! For every adjacent pair of the chain (upper node `U`, lower node `L`):
//! - promotion from `L` may fill `U`'s free memory above what `U` keeps
//!   free (its reserve, or the promotion goal's free share if larger), and
//!   is wanted for as many of `L`'s hot bytes as the hot-share goal asks;
//! - demotion from `U` is driven by that demand: when hot memory waits
//!   below and `U` has no room for it, `U` demotes cold memory to make the
//!   room, plus what it needs to restore its own reserve, plus the room the
//!   node above it asks of it (the demand cascades down the chain, one hop
//!   per node, each node's kdamond seeing its neighbours' published state).
//!
//! Promotion only takes hot regions and demotion only cold ones, so the two
//! never move the same pages back and forth; the budgets are exact byte
//! counts, page multiples, so there is no integrator to wind up or to start
//! from one byte.

use super::damos::MIN_REGION;
use super::math::mul_div;

/// One node as the controller sees it, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TierNode {
    /// Memory the node manages.
    pub total: u64,
    /// Free memory.
    pub free: u64,
    /// The high watermarks of the node's zones, summed: below the low ones
    /// kswapd wakes, and migrations into the node (`GFP_NOWAIT`) fail.
    pub wmark_high: u64,
    /// Bytes of the node's regions that promotion's access pattern takes.
    pub hot: u64,
    /// Bytes of the node's regions that demotion's access pattern takes.
    pub cold: u64,
}

/// The goals of the tiering parameters, in bp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Goals {
    /// Used memory the upper node is filled to while hot memory waits
    /// below it (`tier_promote_goal_used_bp`).
    pub promote_used_bp: u64,
    /// Free memory a node keeps, at least (`tier_demote_goal_free_bp`).
    pub demote_free_bp: u64,
    /// Share of a pair's hot memory wanted on the upper node
    /// (`tier_hot_on_fast_goal_bp`).
    pub hot_on_fast_bp: u64,
}

/// `bp` basis points of `total` (bp above 10,000 count as 10,000).
fn bp_of(total: u64, bp: u64) -> u64 {
    mul_div(total, bp.min(10_000), 10_000)
}

/// `bytes` rounded down to whole pages (DAMON charges and migrates pages).
pub fn pages(bytes: u64) -> u64 {
    bytes - bytes % MIN_REGION
}

impl TierNode {
    /// Free bytes the node keeps: its high watermark, or the demotion
    /// goal's share if that is larger; never more than the node.
    pub fn reserve(&self, g: &Goals) -> u64 {
        self.wmark_high
            .max(bp_of(self.total, g.demote_free_bp))
            .min(self.total)
    }

    /// Free bytes promotion into this node may still use: free memory above
    /// the reserve and above the promotion goal's free share.
    pub fn promote_room(&self, g: &Goals) -> u64 {
        let goal_free = self.total - bp_of(self.total, g.promote_used_bp);
        self.free.saturating_sub(self.reserve(g).max(goal_free))
    }

    /// Free bytes demotion into this node may use: free memory above the
    /// reserve.
    pub fn demote_room(&self, g: &Goals) -> u64 {
        self.free.saturating_sub(self.reserve(g))
    }

    /// Free bytes the node is short of its reserve.
    pub fn short(&self, g: &Goals) -> u64 {
        self.reserve(g).saturating_sub(self.free)
    }
}

/// The lower node's hot bytes that should move up: as many as bring the
/// upper node's share of the pair's hot memory to the hot-share goal (0
/// counts as 10,000: all of it).
pub fn promote_demand(upper: &TierNode, lower: &TierNode, g: &Goals) -> u64 {
    let all = upper.hot.saturating_add(lower.hot);
    let share = if g.hot_on_fast_bp == 0 {
        10_000
    } else {
        g.hot_on_fast_bp
    };
    bp_of(all, share).saturating_sub(upper.hot).min(lower.hot)
}

/// What a neighbour wants to move into a node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Incoming {
    /// Bytes it wants to move, as it last published them.
    pub want: u64,
    /// Bytes it may move in the walk it is in now: on their way, already
    /// taken out of the room as they land, while `want`, published before
    /// the walk, still counts them.
    pub in_flight: u64,
}

impl Incoming {
    /// Bytes still to find room for.
    fn pending(&self) -> u64 {
        self.want.saturating_sub(self.in_flight)
    }
}

/// Bytes a node wants to demote to the node below it, before the lower
/// node's room limits it: enough cold bytes to restore its reserve, to make
/// room for the hot bytes waiting below (`below`, the pair's
/// [`promote_demand`]) and for what the node above wants to demote into it
/// (`above`, that node's own [`demote_want`]), less what is on its way.
pub fn demote_want(node: &TierNode, below: Incoming, above: Incoming, g: &Goals) -> u64 {
    let for_hot = below.pending().saturating_sub(node.promote_room(g));
    let for_cold = above.pending().saturating_sub(node.demote_room(g));
    node.short(g)
        .saturating_add(for_hot)
        .saturating_add(for_cold)
        .min(node.cold)
}

/// Bytes a scheme may move in the coming interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Budget {
    /// What the state asks for, before the room and the user's cap.
    pub want: u64,
    /// What the scheme may charge (try), whole pages: `want`, at most the
    /// room on the target node, the bytes of regions it could try
    /// (`supply`) and the cap. Pages the young-page filter skips are tried
    /// and not moved; the next interval asks for them again, from the
    /// state it then finds, rather than trying more at once and
    /// overshooting when the pages a walk checked move on the next.
    pub bytes: u64,
}

impl Budget {
    fn new(want: u64, room: u64, supply: u64, cap: u64) -> Self {
        Self {
            want,
            bytes: pages(want.min(room).min(supply).min(cap)),
        }
    }
}

/// The promotion budget of the lower node of a pair: its demand, at most
/// `cap` and the upper node's room less what the node above the upper one
/// wants to demote into it (`from_above`: cold pages leave first, so that
/// two kdamonds never fill one node's room twice).
pub fn promote_budget(
    upper: &TierNode,
    lower: &TierNode,
    from_above: u64,
    g: &Goals,
    cap: u64,
) -> Budget {
    let room = upper.promote_room(g).saturating_sub(from_above);
    Budget::new(promote_demand(upper, lower, g), room, lower.hot, cap)
}

/// The demotion budget of the upper node of a pair: its
/// [`demote_want`], at most the lower node's room and `cap`.
pub fn demote_budget(upper: &TierNode, want: u64, lower: &TierNode, g: &Goals, cap: u64) -> Budget {
    Budget::new(want, lower.demote_room(g), upper.cold, cap)
}

/// A scheme's rate cap: `quota_sz` bytes per charge window of
/// `reset_interval_ms`, the windows kept by [`Window::cap`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    /// When the current window opened (ns; 0: none yet).
    pub start_ns: u64,
    /// Bytes charged in it.
    pub used: u64,
}

impl Window {
    /// Counts `charged` bytes (since the last call) to the window open at
    /// `now_ns`, opening a new one when `reset_interval_ms` passed, and
    /// returns what the window still allows (`u64::MAX`: no cap, for a
    /// `quota_sz` of 0).
    pub fn cap(&mut self, now_ns: u64, charged: u64, quota_sz: u64, reset_interval_ms: u64) -> u64 {
        self.used = self.used.saturating_add(charged);
        let len = reset_interval_ms.saturating_mul(1_000_000);
        if self.start_ns == 0 || now_ns.saturating_sub(self.start_ns) >= len {
            self.start_ns = now_ns.max(1);
            self.used = 0;
        }
        if quota_sz == 0 {
            return u64::MAX;
        }
        quota_sz.saturating_sub(self.used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;
    const G: Goals = Goals {
        promote_used_bp: 9970,
        demote_free_bp: 50,
        hot_on_fast_bp: 10_000,
    };

    fn inc(want: u64) -> Incoming {
        Incoming { want, in_flight: 0 }
    }

    fn node(total_mib: u64, free_mib: u64, hot_mib: u64, cold_mib: u64) -> TierNode {
        TierNode {
            total: total_mib * MIB,
            free: free_mib * MIB,
            wmark_high: 3 * MIB,
            hot: hot_mib * MIB,
            cold: cold_mib * MIB,
        }
    }

    /// Runs the two-node exchange for `steps` intervals: both budgets from
    /// the same state, then everything they allow moves (the demoted bytes
    /// are cold, the promoted ones hot). Returns the nodes and the bytes
    /// moved in each step.
    fn simulate(
        mut up: TierNode,
        mut low: TierNode,
        steps: usize,
        cap: u64,
    ) -> (TierNode, TierNode, std::vec::Vec<u64>) {
        let mut moved = std::vec::Vec::new();
        for _ in 0..steps {
            let p = promote_budget(&up, &low, 0, &G, cap).bytes;
            let want = demote_want(&up, inc(promote_demand(&up, &low, &G)), inc(0), &G);
            let d = demote_budget(&up, want, &low, &G, cap).bytes;
            up.free = up.free + d - p.min(up.free + d);
            up.cold -= d;
            up.hot += p;
            low.free = low.free + p - d;
            low.cold += d;
            low.hot -= p;
            moved.push(p + d);
        }
        (up, low, moved)
    }

    #[test]
    fn reserve_and_room() {
        let n = node(512, 100, 0, 0);
        // 50 bp of 512 MiB is 2.56 MiB, below the 3 MiB watermark.
        assert_eq!(n.reserve(&G), 3 * MIB);
        assert_eq!(n.demote_room(&G), 97 * MIB);
        // 9970 bp used leaves 0.3% free (1.5 MiB): the watermark decides.
        assert_eq!(n.promote_room(&G), 97 * MIB);
        let g = Goals {
            promote_used_bp: 9000,
            ..G
        };
        assert_eq!(
            n.promote_room(&g),
            100 * MIB - (512 * MIB - bp_of(512 * MIB, 9000))
        );
        assert_eq!(node(512, 1, 0, 0).short(&G), 2 * MIB);
        assert_eq!(TierNode::default().reserve(&G), 0);
        assert_eq!(TierNode::default().promote_room(&G), 0);
    }

    #[test]
    fn full_fast_node_exchanges() {
        // Node 0 full of cold memory (1 MiB free), 150 MiB hot on node 1.
        let (up, low, moved) = simulate(node(512, 1, 0, 360), node(512, 350, 150, 0), 20, 64 * MIB);
        assert_eq!(low.hot, 0, "the whole hot set is promoted");
        assert_eq!(up.hot, 150 * MIB);
        // Demoted only what the hot set and the reserve needed.
        assert_eq!(360 * MIB - up.cold, 152 * MIB);
        assert_eq!(up.free, up.reserve(&G));
        // Then nothing moves.
        assert_eq!(moved[moved.len() - 1], 0);
        assert!(moved[..3].iter().all(|&m| m > 0), "{:?}", moved);
    }

    #[test]
    fn empty_fast_node_promotes_without_demoting() {
        let up = node(512, 500, 0, 0);
        let low = node(512, 300, 100, 50);
        let p = promote_budget(&up, &low, 0, &G, u64::MAX);
        assert_eq!(p.bytes, 100 * MIB);
        assert_eq!(
            demote_want(&up, inc(promote_demand(&up, &low, &G)), inc(0), &G),
            0
        );
    }

    #[test]
    fn hot_set_larger_than_fast_node() {
        // 600 MiB hot, 512 MiB fast node with 200 MiB cold.
        let (up, low, moved) = simulate(
            node(512, 5, 300, 200),
            node(1024, 100, 600, 0),
            40,
            64 * MIB,
        );
        assert_eq!(up.cold, 0, "every cold byte made room");
        assert_eq!(up.free, up.reserve(&G), "filled to the reserve");
        assert_eq!(low.hot + up.hot, 900 * MIB);
        // No churn once full: the last third moves nothing.
        assert!(moved[27..].iter().all(|&m| m == 0));
        // Used memory within 60 bp of the goal: the watermark is 59 bp.
        let used_bp = 10_000 - mul_div(up.free, 10_000, up.total);
        assert!(9970 - used_bp <= 60, "{}", used_bp);
    }

    #[test]
    fn no_cold_memory_no_demotion() {
        let up = node(512, 1, 500, 0);
        let low = node(512, 400, 100, 0);
        assert_eq!(
            demote_want(&up, inc(promote_demand(&up, &low, &G)), inc(0), &G),
            0
        );
        assert_eq!(promote_budget(&up, &low, 0, &G, u64::MAX).bytes, 0);
    }

    #[test]
    fn hot_share_goal() {
        let up = node(512, 300, 60, 0);
        let low = node(512, 300, 40, 0);
        let half = Goals {
            hot_on_fast_bp: 5000,
            ..G
        };
        assert_eq!(promote_demand(&up, &low, &half), 0);
        let most = Goals {
            hot_on_fast_bp: 8000,
            ..G
        };
        assert_eq!(promote_demand(&up, &low, &most), 20 * MIB);
        assert_eq!(promote_demand(&up, &low, &G), 40 * MIB);
        let zero = Goals {
            hot_on_fast_bp: 0,
            ..G
        };
        assert_eq!(promote_demand(&up, &low, &zero), 40 * MIB);
    }

    #[test]
    fn three_nodes_cascade() {
        // Nodes 0 and 1 full of cold memory, the hot set on node 2.
        let mut n = [
            node(512, 1, 0, 400),
            node(512, 1, 0, 400),
            node(512, 300, 100, 0),
        ];
        let cap = 32 * MIB;
        let mut hot0_at = None;
        for step in 0..60 {
            let d01 = promote_demand(&n[0], &n[1], &G);
            let d12 = promote_demand(&n[1], &n[2], &G);
            let w0 = demote_want(&n[0], inc(d01), inc(0), &G);
            let w1 = demote_want(&n[1], inc(d12), inc(w0), &G);
            let p1 = promote_budget(&n[0], &n[1], 0, &G, cap).bytes;
            let p2 = promote_budget(&n[1], &n[2], w0, &G, cap).bytes;
            let dm0 = demote_budget(&n[0], w0, &n[1], &G, cap).bytes;
            let dm1 = demote_budget(&n[1], w1, &n[2], &G, cap).bytes;
            // Cold moves down one hop, hot up one hop, per step.
            n[0].free = n[0].free + dm0 - p1;
            n[0].cold -= dm0;
            n[0].hot += p1;
            n[1].free = n[1].free + p1 + dm1 - dm0 - p2;
            n[1].cold = n[1].cold + dm0 - dm1;
            n[1].hot = n[1].hot + p2 - p1;
            n[2].free = n[2].free + p2 - dm1;
            n[2].cold += dm1;
            n[2].hot -= p2;
            if n[0].hot == 100 * MIB && hot0_at.is_none() {
                hot0_at = Some(step);
            }
        }
        assert!(hot0_at.is_some(), "the hot set reaches node 0: {:?}", n);
        assert_eq!(n[1].hot + n[2].hot, 0);
        // Every node keeps its reserve.
        assert!(n.iter().all(|x| x.free >= x.reserve(&G)), "{:?}", n);
    }

    #[test]
    fn budgets_are_pages_and_capped() {
        let up = node(512, 100, 0, 0);
        let mut low = node(512, 100, 0, 0);
        low.hot = 10 * MIB + 123;
        let b = promote_budget(&up, &low, 0, &G, u64::MAX);
        assert_eq!((b.want, b.bytes), (10 * MIB + 123, 10 * MIB));
        assert_eq!(promote_budget(&up, &low, 0, &G, 4 * MIB + 5).bytes, 4 * MIB);
        assert_eq!(promote_budget(&up, &low, 0, &G, 4095).bytes, 0);
        // Only what there is to try.
        low.hot = 2 * MIB;
        assert_eq!(promote_budget(&up, &low, 0, &G, u64::MAX).bytes, 2 * MIB);
    }

    #[test]
    fn in_flight_is_not_asked_for_twice() {
        // The lower node promotes 30 of its 50 hot MiB in the walk it is
        // in; 10 MiB of room are left: 10 more to make, not 40.
        let up = node(512, 13, 0, 300);
        let below = Incoming {
            want: 50 * MIB,
            in_flight: 30 * MIB,
        };
        assert_eq!(demote_want(&up, below, inc(0), &G), 10 * MIB);
        assert_eq!(demote_want(&up, inc(50 * MIB), inc(0), &G), 40 * MIB);
        let done = Incoming {
            want: 10 * MIB,
            in_flight: 30 * MIB,
        };
        assert_eq!(demote_want(&up, done, inc(0), &G), 0);
    }

    #[test]
    fn windows_cap_the_rate() {
        let mut w = Window::default();
        let s = 1_000_000_000;
        assert_eq!(w.cap(s, 0, 200 * MIB, 1000), 200 * MIB);
        assert_eq!(w.cap(s + s / 10, 150 * MIB, 200 * MIB, 1000), 50 * MIB);
        assert_eq!(w.cap(s + s / 5, 60 * MIB, 200 * MIB, 1000), 0);
        // A new window.
        assert_eq!(w.cap(2 * s, 10 * MIB, 200 * MIB, 1000), 200 * MIB);
        assert_eq!(w.cap(2 * s, 0, 0, 1000), u64::MAX);
        assert_eq!(w.cap(u64::MAX, u64::MAX, u64::MAX, u64::MAX), 0);
    }
}
