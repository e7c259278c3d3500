// SPDX-License-Identifier: GPL-2.0

//! N-tier memory tiering: the chain of NUMA nodes from the fastest to the
//! slowest, which schemes each node of the chain gets, and the goals their
//! quotas aim at.
//!
//! Every node but the first gets a promote scheme (`migrate_hot` to the node
//! above it) whose goal is a high used fraction of the node above; every
//! node but the last gets a demote scheme (`migrate_cold` to the node below
//! it) whose goal is a small free fraction of the node itself. This is the
//! two-node policy of upstream's `samples/damon/mtier.c`, applied to every
//! adjacent pair of a chain of any length up to [`MAX_CHAIN`] nodes.

use super::attrs::MonitoringAttrs;
use super::damos::{
    age_in_aggregations, AccessPattern, Action, Filter, Quota, SchemeSpec, Watermarks, MIN_REGION,
};
use core::fmt;

/// The most nodes a chain holds.
pub const MAX_CHAIN: usize = 8;
/// The highest node id a chain holds (a chain keeps one byte per node).
pub const MAX_NID: i32 = 254;
/// An unused slot of a chain.
const EMPTY_SLOT: u8 = u8::MAX;

/// Nodes from the fastest to the slowest: distinct, at most [`MAX_CHAIN`],
/// and, unless empty, at least two.
///
/// # Invariants
///
/// The first `len()` slots hold distinct node ids up to [`MAX_NID`], the
/// others [`EMPTY_SLOT`]; `len()` is 0 or at least 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeChain {
    slots: [u8; MAX_CHAIN],
}

/// Why a chain is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainError {
    /// Not a comma-separated list of decimal node ids.
    Syntax,
    /// A node id above [`MAX_NID`].
    BadNid,
    /// A node appears twice.
    Repeat,
    /// One node only: nothing to move pages between.
    TooShort,
    /// More than [`MAX_CHAIN`] nodes.
    TooLong,
}

impl NodeChain {
    /// No nodes: the chain is detected when tiering starts.
    pub const EMPTY: Self = Self {
        slots: [EMPTY_SLOT; MAX_CHAIN],
    };

    /// A chain of `nids`, in that order; empty `nids` give [`Self::EMPTY`].
    pub fn from_nids(nids: &[i32]) -> Result<Self, ChainError> {
        if nids.len() > MAX_CHAIN {
            return Err(ChainError::TooLong);
        }
        let mut chain = Self::EMPTY;
        for (i, &nid) in nids.iter().enumerate() {
            let byte = u8::try_from(nid)
                .ok()
                .filter(|&b| i32::from(b) <= MAX_NID)
                .ok_or(ChainError::BadNid)?;
            if chain.slots[..i].contains(&byte) {
                return Err(ChainError::Repeat);
            }
            chain.slots[i] = byte;
        }
        if nids.len() == 1 {
            return Err(ChainError::TooShort);
        }
        // INVARIANT: distinct ids up to MAX_NID, 0 or 2..=MAX_CHAIN of them.
        Ok(chain)
    }

    /// Parses `"0,1,2"` (one trailing newline allowed); an empty string is
    /// [`Self::EMPTY`].
    pub fn parse(s: &[u8]) -> Result<Self, ChainError> {
        let s = match s {
            [rest @ .., b'\n'] => rest,
            _ => s,
        };
        if s.is_empty() {
            return Ok(Self::EMPTY);
        }
        let mut nids = [0i32; MAX_CHAIN];
        let mut n = 0;
        for item in s.split(|&c| c == b',') {
            if item.is_empty() || !item.iter().all(u8::is_ascii_digit) {
                return Err(ChainError::Syntax);
            }
            let slot = nids.get_mut(n).ok_or(ChainError::TooLong)?;
            // More than three digits is above MAX_NID whatever they are.
            if item.len() > 3 {
                return Err(ChainError::BadNid);
            }
            *slot = item.iter().fold(0, |v, &c| v * 10 + i32::from(c - b'0'));
            n += 1;
        }
        Self::from_nids(&nids[..n])
    }

    /// How many nodes the chain has.
    pub fn len(&self) -> usize {
        self.slots
            .iter()
            .position(|&s| s == EMPTY_SLOT)
            .unwrap_or(MAX_CHAIN)
    }

    /// Whether the chain has no nodes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The node at position `idx` (0: the fastest).
    pub fn get(&self, idx: usize) -> Option<i32> {
        self.slots[..self.len()].get(idx).map(|&b| i32::from(b))
    }

    /// The nodes, fastest first.
    pub fn iter(&self) -> impl Iterator<Item = i32> + '_ {
        self.slots[..self.len()].iter().map(|&b| i32::from(b))
    }

    /// What the node at position `idx` does.
    pub fn roles(&self, idx: usize) -> Roles {
        if idx >= self.len() {
            return Roles {
                promote_to: None,
                demote_to: None,
            };
        }
        Roles {
            promote_to: idx.checked_sub(1).and_then(|i| self.get(i)),
            demote_to: self.get(idx + 1),
        }
    }
}

impl fmt::Display for NodeChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, nid) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}", nid)?;
        }
        Ok(())
    }
}

/// What detection needs to know about a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    /// The node's id.
    pub nid: i32,
    /// Whether it has memory.
    pub has_memory: bool,
    /// Whether it has CPUs.
    pub has_cpu: bool,
}

/// The chain when the user gives none: nodes with memory, those with CPUs
/// first (memory next to the CPUs is the fast tier; CPU-less nodes are CXL
/// or persistent memory), each group by node id, at most [`MAX_CHAIN`]
/// (later nodes are left out). Fewer than two such nodes: empty.
pub fn detect(nodes: &[NodeInfo]) -> NodeChain {
    let mut nids = [0i32; MAX_CHAIN];
    let mut n = 0;
    for with_cpu in [true, false] {
        for nid in 0..=MAX_NID {
            let listed = nodes
                .iter()
                .any(|i| i.nid == nid && i.has_memory && i.has_cpu == with_cpu);
            if listed && n < MAX_CHAIN && !nids[..n].contains(&nid) {
                nids[n] = nid;
                n += 1;
            }
        }
    }
    NodeChain::from_nids(&nids[..n]).unwrap_or(NodeChain::EMPTY)
}

/// The schemes of one node of a chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Roles {
    /// Promote hot pages to this node (the one above), if any.
    pub promote_to: Option<i32>,
    /// Demote cold pages to this node (the one below), if any.
    pub demote_to: Option<i32>,
}

/// One direction of migration: its size quota and its goal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Direction {
    /// Size quota, bytes per reset interval (0: none).
    pub quota_sz: u64,
    /// Quota charge reset interval, ms.
    pub reset_interval_ms: u64,
    /// Goal in bp: used memory promotion fills the upper node to, free
    /// memory a node keeps (0: no goal, the quota is fixed); see
    /// `tier_control`.
    pub goal_bp: u64,
}

/// Everything the tiering parameters say, as plain values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TierConfig {
    /// Monitoring attributes of every node's context.
    pub attrs: MonitoringAttrs,
    /// Regions with at least this many accesses per aggregation interval
    /// are hot.
    pub hot_min_accesses: u32,
    /// Regions are hot only once their access frequency has been stable
    /// for this long (µs): a region that holds hot and never-used pages
    /// alike counts a varying number of accesses, and promoting it would
    /// move pages whose accessed bit was set when they were written and
    /// never cleared since.
    pub hot_min_age_us: u64,
    /// Regions not accessed for this long (µs) are cold.
    pub cold_min_age_us: u64,
    /// Share of a pair's hot memory wanted on the upper node, bp (0: all).
    pub hot_on_fast_bp: u64,
    /// Promotion.
    pub promote: Direction,
    /// Demotion.
    pub demote: Direction,
}

/// The defaults: upstream's `mtier` goals (99.7% used, 0.5% free), 200 MiB
/// per second each way.
pub const DEFAULT: TierConfig = TierConfig {
    attrs: MonitoringAttrs::DEFAULT,
    hot_min_accesses: 1,
    hot_min_age_us: 0,
    cold_min_age_us: 1_000_000,
    hot_on_fast_bp: 10_000,
    promote: Direction {
        quota_sz: 200 << 20,
        reset_interval_ms: 1000,
        goal_bp: 9970,
    },
    demote: Direction {
        quota_sz: 200 << 20,
        reset_interval_ms: 1000,
        goal_bp: 50,
    },
};

/// Promotion moves only pages found accessed again when it looks at them
/// (it excludes pages that are not young).
const PROMOTE_FILTERS: [Filter; 1] = [Filter::Young { matching: false }];
/// Priming checks every page of a region that just became hot, which
/// clears the accessed bits (and leaves those pages alone), and moves the
/// others to the inactive LRU list.
const PRIME_FILTERS: [Filter; 1] = [Filter::Young { matching: true }];
/// Demotion leaves pages accessed since the last check alone.
const DEMOTE_FILTERS: [Filter; 1] = [Filter::Young { matching: true }];

/// The schemes of one node, in the order they are added to its context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeSchemes {
    /// With promotion: `lru_deprio` of the pages not accessed in regions
    /// whose access count just changed (age 0), which also clears the
    /// accessed bits of the others. A page written once and never touched
    /// again keeps the accessed bit of that write until something checks
    /// it; promotion, which takes the regions only from the next
    /// aggregation on (age 1 or more), then finds only the pages accessed
    /// since, instead of moving never-used pages with the hot ones.
    pub prime: Option<SchemeSpec<'static>>,
    /// `migrate_hot` to the node above, if any.
    pub promote: Option<SchemeSpec<'static>>,
    /// `migrate_cold` to the node below, if any.
    pub demote: Option<SchemeSpec<'static>>,
}

impl TierConfig {
    /// The age, in aggregations, from which a region is hot: at least 1
    /// (see [`NodeSchemes::prime`]), and `hot_min_age_us`.
    pub fn hot_min_age(&self) -> u32 {
        age_in_aggregations(self.hot_min_age_us, self.attrs.aggr_interval_us).max(1)
    }

    /// The schemes of the node at position `idx` of `chain`.
    pub fn schemes(&self, chain: &NodeChain, idx: usize) -> NodeSchemes {
        let roles = chain.roles(idx);
        let scheme = |action, pattern, to, d: &Direction, filters| SchemeSpec {
            pattern,
            action,
            apply_interval_us: 0,
            target_nid: to,
            quota: Quota {
                ms: 0,
                sz: d.quota_sz,
                reset_interval_ms: d.reset_interval_ms,
                weight_sz: 0,
                weight_nr_accesses: 1,
                weight_age: 1,
            },
            goals: &[],
            wmarks: Watermarks::NONE,
            filters,
        };
        let hot = AccessPattern {
            sz: (MIN_REGION, u64::MAX),
            nr_accesses: (self.hot_min_accesses, u32::MAX),
            age: (self.hot_min_age(), u32::MAX),
        };
        let new_hot = AccessPattern { age: (0, 0), ..hot };
        let cold = AccessPattern {
            sz: (MIN_REGION, u64::MAX),
            nr_accesses: (0, 0),
            age: (
                age_in_aggregations(self.cold_min_age_us, self.attrs.aggr_interval_us),
                u32::MAX,
            ),
        };
        let unlimited = Direction {
            quota_sz: 0,
            ..self.promote
        };
        NodeSchemes {
            prime: roles.promote_to.map(|_| {
                scheme(
                    Action::LruDeprio,
                    new_hot,
                    -1,
                    &unlimited,
                    &PRIME_FILTERS[..],
                )
            }),
            promote: roles.promote_to.map(|to| {
                scheme(
                    Action::MigrateHot,
                    hot,
                    to,
                    &self.promote,
                    &PROMOTE_FILTERS[..],
                )
            }),
            demote: roles.demote_to.map(|to| {
                scheme(
                    Action::MigrateCold,
                    cold,
                    to,
                    &self.demote,
                    &DEMOTE_FILTERS[..],
                )
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    #[test]
    fn parses_and_shows() {
        for s in ["0,1", "0,1,2", "1,0", "3,0,2,1", "0,1,2,3,4,5,6,7", "254,0"] {
            let c = NodeChain::parse(s.as_bytes()).unwrap();
            assert_eq!(format!("{}", c), s);
            let mut with_newline = std::string::String::from(s);
            with_newline.push('\n');
            assert_eq!(NodeChain::parse(with_newline.as_bytes()), Ok(c));
        }
        assert_eq!(NodeChain::parse(b""), Ok(NodeChain::EMPTY));
        assert_eq!(NodeChain::parse(b"\n"), Ok(NodeChain::EMPTY));
        assert_eq!(format!("{}", NodeChain::EMPTY), "");
        assert_eq!(NodeChain::parse(b"0,1,2").unwrap().len(), 3);
    }

    #[test]
    fn refuses() {
        use ChainError::*;
        let cases: [(&[u8], ChainError); 14] = [
            (b"0", TooShort),
            (b"5\n", TooShort),
            (b"0,0", Repeat),
            (b"0,1,0", Repeat),
            (b"0,1,2,3,4,5,6,7,8", TooLong),
            (b"255,0", BadNid),
            (b"0,1000", BadNid),
            (b"0,99999999999999999999", BadNid),
            (b"0,,1", Syntax),
            (b"0,1,", Syntax),
            (b",0,1", Syntax),
            (b"0 ,1", Syntax),
            (b"-1,0", Syntax),
            (b"0,1\n\n", Syntax),
        ];
        for (s, e) in cases {
            assert_eq!(NodeChain::parse(s), Err(e), "{:?}", s);
        }
        assert_eq!(NodeChain::from_nids(&[0, -1]), Err(BadNid));
        assert_eq!(NodeChain::from_nids(&[0, 255]), Err(BadNid));
        assert_eq!(NodeChain::from_nids(&[]), Ok(NodeChain::EMPTY));
    }

    #[test]
    fn roles_per_position() {
        let c = NodeChain::parse(b"2,0,1").unwrap();
        let r = |i| c.roles(i);
        assert_eq!(
            r(0),
            Roles {
                promote_to: None,
                demote_to: Some(0)
            }
        );
        assert_eq!(
            r(1),
            Roles {
                promote_to: Some(2),
                demote_to: Some(1)
            }
        );
        assert_eq!(
            r(2),
            Roles {
                promote_to: Some(0),
                demote_to: None
            }
        );
        assert_eq!(
            r(3),
            Roles {
                promote_to: None,
                demote_to: None
            }
        );
        let two = NodeChain::parse(b"0,1").unwrap();
        assert_eq!(two.roles(0).promote_to, None);
        assert_eq!(two.roles(1).demote_to, None);
    }

    fn info(nid: i32, has_memory: bool, has_cpu: bool) -> NodeInfo {
        NodeInfo {
            nid,
            has_memory,
            has_cpu,
        }
    }

    #[test]
    fn detection() {
        // QEMU's layout: node 0 with the CPUs, CPU-less nodes after it.
        let qemu = [
            info(0, true, true),
            info(1, true, false),
            info(2, true, false),
        ];
        assert_eq!(format!("{}", detect(&qemu)), "0,1,2");
        // CPU nodes first whatever their ids; given in any order.
        let mixed = [
            info(3, true, false),
            info(2, true, true),
            info(1, false, true),
            info(0, true, false),
        ];
        assert_eq!(format!("{}", detect(&mixed)), "2,0,3");
        // Two sockets and a CXL node.
        let sockets = [
            info(1, true, true),
            info(0, true, true),
            info(2, true, false),
        ];
        assert_eq!(format!("{}", detect(&sockets)), "0,1,2");
        // One node with memory: nothing to tier.
        assert!(detect(&[info(0, true, true), info(1, false, false)]).is_empty());
        assert!(detect(&[]).is_empty());
        // Too many: the first MAX_CHAIN in chain order.
        let many: std::vec::Vec<_> = (0..12).rev().map(|n| info(n, true, n == 11)).collect();
        assert_eq!(format!("{}", detect(&many)), "11,0,1,2,3,4,5,6");
        // Repeated reports of one node count once; ids out of range are skipped.
        let odd = [
            info(0, true, true),
            info(0, true, true),
            info(300, true, false),
            info(1, true, false),
        ];
        assert_eq!(format!("{}", detect(&odd)), "0,1");
    }

    #[test]
    fn schemes_per_node() {
        let chain = NodeChain::parse(b"0,1,2").unwrap();
        let cfg = DEFAULT;
        let top = cfg.schemes(&chain, 0);
        let mid = cfg.schemes(&chain, 1);
        let bottom = cfg.schemes(&chain, 2);
        assert!(top.promote.is_none() && top.prime.is_none());
        assert!(bottom.demote.is_none());
        let prime = mid.prime.unwrap();
        assert_eq!(prime.action, Action::LruDeprio);
        assert_eq!(prime.pattern.age, (0, 0));
        assert_eq!(prime.pattern.nr_accesses, (1, u32::MAX));
        assert_eq!(prime.filters, &[Filter::Young { matching: true }]);
        assert_eq!(prime.quota.sz, 0);
        assert!(prime.is_valid());
        let (p, d) = (mid.promote.unwrap(), mid.demote.unwrap());
        assert_eq!((p.action, p.target_nid), (Action::MigrateHot, 0));
        assert_eq!((d.action, d.target_nid), (Action::MigrateCold, 2));
        assert_eq!(top.demote.unwrap().target_nid, 1);
        assert_eq!(bottom.promote.unwrap().target_nid, 1);
        // Promotion takes young pages only, demotion never.
        assert_eq!(p.filters, &[Filter::Young { matching: false }]);
        assert_eq!(d.filters, &[Filter::Young { matching: true }]);
        // Hot: accessed; cold: not accessed for cold_min_age.
        assert_eq!(p.pattern.nr_accesses, (1, u32::MAX));
        assert_eq!(p.pattern.age, (1, u32::MAX));
        assert_eq!(d.pattern.nr_accesses, (0, 0));
        assert_eq!(d.pattern.age.0, 10);
        assert_eq!(p.quota.sz, 200 << 20);
        assert!(p.is_valid() && d.is_valid());
        let none = cfg.schemes(&chain, 3);
        assert!(none.promote.is_none() && none.demote.is_none());
    }
}
