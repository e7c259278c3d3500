// SPDX-License-Identifier: GPL-2.0

//! Memory tiering: its parameters, one DAMON context per node of the chain
//! (each monitoring that node's physical range, with a promote and a demote
//! scheme as `rust/policy/tier.rs` decides), and the callbacks that, after
//! each aggregation, measure the node's hot and cold bytes, give each
//! scheme the budget `rust/policy/tier_control.rs` computes from the state
//! of the chain, and publish the statistics.
//!
//! Parameters are read when the kdamonds start (`enabled=Y` with `tier=Y`)
//! and when `commit_inputs=Y` is written; [`read_inputs`] is where they
//! become contexts.

use crate::damon::{Callbacks, Context, Ops, Running, SchemeMut};
use crate::mm;
use crate::module_params;
use crate::params::check::{age_us, basis_points, interval_ms, interval_us, size};
use crate::params::ParamValue;
use crate::policy::{
    attrs::MonitoringAttrs,
    damos::age_in_aggregations,
    tier::{detect, Direction, NodeChain, TierConfig, MAX_CHAIN},
    tier_control::{
        demote_budget, demote_plan, pages, promote_budget, promote_demand, Budget, DemoteFrom,
        Goals, Incoming, Shown, TierNode, Window,
    },
};
use core::{
    fmt,
    sync::atomic::{AtomicU64, AtomicUsize, Ordering},
};
use kernel::{prelude::*, time::Ktime};

/// Parameter check: every node of a chain has memory.
fn nodes_with_memory(chain: NodeChain) -> Result {
    for nid in chain.iter() {
        if !mm::node_mem(nid).is_some_and(|m| m.total > 0) {
            pr_err!("tier_nodes: node {} does not exist or has no memory\n", nid);
            return Err(EINVAL);
        }
    }
    Ok(())
}

module_params! {
    /// Turn memory tiering on (Y) or off (N, the default).
    tier: bool = false, 0o600;
    /// Nodes from the fastest to the slowest, e.g. "0,1,2" (empty: detected).
    tier_nodes: NodeChain = NodeChain::EMPTY, 0o600, check = nodes_with_memory;
    /// Used memory promotion fills the upper node to, in bp (0: no goal, the quota is fixed).
    tier_promote_goal_used_bp: u32 = 9970, 0o600, check = basis_points;
    /// Free memory a node keeps at least, in bp (0: no goal, demotion's quota is fixed).
    tier_demote_goal_free_bp: u32 = 50, 0o600, check = basis_points;
    /// Share of a pair's hot memory wanted on the upper node, in bp (0: all).
    tier_hot_on_fast_goal_bp: u32 = 10_000, 0o600, check = basis_points;
    /// Limit of bytes promoted per reset interval, per node (0: none).
    tier_promote_quota_sz: u64 = 200 << 20, 0o600, check = size;
    /// Promotion quota charge reset interval in milliseconds.
    tier_promote_quota_reset_interval_ms: u64 = 1000, 0o600, check = interval_ms;
    /// Limit of bytes demoted per reset interval, per node (0: none).
    tier_demote_quota_sz: u64 = 200 << 20, 0o600, check = size;
    /// Demotion quota charge reset interval in milliseconds.
    tier_demote_quota_reset_interval_ms: u64 = 1000, 0o600, check = interval_ms;
    /// Accesses per aggregation interval from which a region is hot.
    tier_hot_min_accesses: u32 = 1, 0o600;
    /// Time a region's access frequency must have been stable before it is hot, in microseconds.
    tier_hot_min_age: u64 = 0, 0o600, check = age_us;
    /// Time without access after which a region is cold, in microseconds.
    tier_cold_min_age: u64 = 1_000_000, 0o600, check = age_us;
    /// Sampling interval of the tiering contexts in microseconds.
    tier_sample_interval: u64 = 5_000, 0o600, check = interval_us;
    /// Aggregation interval of the tiering contexts in microseconds.
    tier_aggr_interval: u64 = 100_000, 0o600, check = interval_us;
    /// Minimum number of monitoring regions per node.
    tier_min_nr_regions: u64 = 10, 0o600;
    /// Maximum number of monitoring regions per node.
    tier_max_nr_regions: u64 = 1_000, 0o600;
    /// The chain tiering runs on, detected or given (read-only).
    tier_active_nodes: NodeChain = NodeChain::EMPTY, 0o400;
    /// Used memory of each node of the chain, in bp, fastest first (read-only).
    tier_used_bp: PerNode = PerNode::UsedBp, 0o400;
    /// Free memory of each node of the chain, in bp, fastest first (read-only).
    tier_free_bp: PerNode = PerNode::FreeBp, 0o400;
    /// Bytes of each node's regions promotion's access pattern takes (read-only).
    tier_hot_sz: PerNode = PerNode::Hot, 0o400;
    /// Bytes of each node's regions not accessed for tier_cold_min_age (read-only).
    tier_cold_sz: PerNode = PerNode::Cold, 0o400;
    /// Bytes of each node's regions not accessed in the last aggregation, of any age (read-only).
    tier_idle_sz: PerNode = PerNode::Idle, 0o400;
    /// Bytes each node's promotion wanted to move in its last interval (read-only).
    tier_promote_wanted_sz: PerNode = PerNode::PromoteWant, 0o400;
    /// Bytes each node's demotion wanted to move in its last interval (read-only).
    tier_demote_wanted_sz: PerNode = PerNode::DemoteWant, 0o400;
    /// Bytes each node's promotion may move in its current interval (read-only).
    tier_promote_effective_quota_sz: PerNode = PerNode::PromoteQuota, 0o400;
    /// Bytes each node's demotion may move in its current interval (read-only).
    tier_demote_effective_quota_sz: PerNode = PerNode::DemoteQuota, 0o400;
    /// Bytes of regions each node's promotion was tried on (read-only).
    tier_node_promote_bytes_tried: PerNode = PerNode::PromoteTried, 0o400;
    /// Bytes each node promoted (read-only).
    tier_node_promote_bytes_migrated: PerNode = PerNode::PromoteMigrated, 0o400;
    /// Bytes each node's promotion tried and did not move (read-only).
    tier_node_promote_bytes_failed: PerNode = PerNode::PromoteFailed, 0o400;
    /// Intervals in which each node's promotion used its whole quota (read-only).
    tier_node_promote_quota_exceeds: PerNode = PerNode::PromoteExceeds, 0o400;
    /// Share of its hot bytes each node's promotion showed it moves, recent walks and latest (the smaller), in bp (read-only).
    tier_node_promote_moved_bp: PerNode = PerNode::PromoteMovedBp, 0o400;
    /// Bytes of regions each node's demotion was tried on (read-only).
    tier_node_demote_bytes_tried: PerNode = PerNode::DemoteTried, 0o400;
    /// Bytes each node demoted (read-only).
    tier_node_demote_bytes_migrated: PerNode = PerNode::DemoteMigrated, 0o400;
    /// Bytes each node's demotion tried and did not move (read-only).
    tier_node_demote_bytes_failed: PerNode = PerNode::DemoteFailed, 0o400;
    /// Intervals in which each node's demotion used its whole quota (read-only).
    tier_node_demote_quota_exceeds: PerNode = PerNode::DemoteExceeds, 0o400;
    /// Total bytes of regions promotion was tried on (read-only).
    tier_promote_bytes_tried: u64 = 0, 0o400;
    /// Total bytes promoted (read-only).
    tier_promote_bytes_migrated: u64 = 0, 0o400;
    /// Intervals in which a node's promotion used its whole quota (read-only).
    tier_promote_quota_exceeds: u64 = 0, 0o400;
    /// Total bytes of regions demotion was tried on (read-only).
    tier_demote_bytes_tried: u64 = 0, 0o400;
    /// Total bytes demoted (read-only).
    tier_demote_bytes_migrated: u64 = 0, 0o400;
    /// Intervals in which a node's demotion used its whole quota (read-only).
    tier_demote_quota_exceeds: u64 = 0, 0o400;
}

/// Whether the parameters ask for tiering.
pub(crate) fn wanted() -> bool {
    tier.get()
}

/// The tiering configuration the parameters describe now.
fn config() -> TierConfig {
    TierConfig {
        attrs: MonitoringAttrs {
            sample_interval_us: tier_sample_interval.get(),
            aggr_interval_us: tier_aggr_interval.get(),
            ops_update_interval_us: MonitoringAttrs::DEFAULT.ops_update_interval_us,
            min_nr_regions: tier_min_nr_regions.get(),
            max_nr_regions: tier_max_nr_regions.get(),
        },
        hot_min_accesses: tier_hot_min_accesses.get(),
        hot_min_age_us: tier_hot_min_age.get(),
        cold_min_age_us: tier_cold_min_age.get(),
        hot_on_fast_bp: tier_hot_on_fast_goal_bp.get().into(),
        promote: Direction {
            quota_sz: tier_promote_quota_sz.get(),
            reset_interval_ms: tier_promote_quota_reset_interval_ms.get(),
            goal_bp: tier_promote_goal_used_bp.get().into(),
        },
        demote: Direction {
            quota_sz: tier_demote_quota_sz.get(),
            reset_interval_ms: tier_demote_quota_reset_interval_ms.get(),
            goal_bp: tier_demote_goal_free_bp.get().into(),
        },
    }
}

/// The chain to run on: `tier_nodes`, or detected when it is empty.
/// `EINVAL` if it has fewer than two nodes with memory.
fn chain() -> Result<NodeChain> {
    let given = tier_nodes.get();
    let chain = if given.is_empty() {
        detect(&mm::nodes_info()?)
    } else {
        // Checked when written; a node may have gone since.
        nodes_with_memory(given)?;
        given
    };
    if chain.is_empty() {
        pr_err!("tiering needs at least two NUMA nodes with memory\n");
        return Err(EINVAL);
    }
    Ok(chain)
}

/// The contexts tiering runs, one per node of the chain, fastest first.
pub(crate) struct Inputs {
    /// The chain.
    pub(crate) chain: NodeChain,
    /// One context per node, in chain order.
    pub(crate) ctxs: KVec<Context>,
    /// The settings of their callbacks.
    pub(crate) cfg: TierConfig,
}

/// Builds the contexts from the parameters. A combination DAMON would
/// refuse is refused here, with `EINVAL`, before anything runs.
pub(crate) fn read_inputs() -> Result<Inputs> {
    let cfg = config();
    cfg.attrs.validate().map_err(|e| {
        pr_err!("invalid tiering monitoring attributes: {:?}\n", e);
        EINVAL
    })?;
    let chain = chain()?;
    let mut ctxs = KVec::with_capacity(chain.len(), GFP_KERNEL)?;
    for (idx, nid) in chain.iter().enumerate() {
        let mut ctx = Context::new(Ops::PhysicalAddress)?;
        ctx.set_attrs(&cfg.attrs)?;
        ctx.add_node_target(nid)?;
        let schemes = cfg.schemes(&chain, idx);
        // Each scheme starts off; its first budget comes with the first
        // aggregation, from the state of the chain.
        for spec in [schemes.prime, schemes.promote, schemes.demote]
            .into_iter()
            .flatten()
        {
            ctx.add_scheme(&spec)?;
        }
        ctxs.push(ctx, GFP_KERNEL)?;
    }
    Ok(Inputs { chain, ctxs, cfg })
}

/// What one direction of one node did, for the statistics.
struct DirStats {
    /// Bytes it wanted to move in its last interval.
    want: AtomicU64,
    /// Bytes it may move in its current interval.
    quota: AtomicU64,
    /// Bytes of regions tried, since the start.
    tried: AtomicU64,
    /// Bytes migrated, since the start.
    migrated: AtomicU64,
    /// Intervals that used the whole quota.
    exceeds: AtomicU64,
    /// What its recent walks showed ([`Shown`]): bytes tried, bytes moved,
    /// and the same of the latest interval.
    shown_tried: AtomicU64,
    shown_moved: AtomicU64,
    shown_last_tried: AtomicU64,
    shown_last_moved: AtomicU64,
}

impl DirStats {
    const fn new() -> Self {
        Self {
            want: AtomicU64::new(0),
            quota: AtomicU64::new(0),
            tried: AtomicU64::new(0),
            migrated: AtomicU64::new(0),
            exceeds: AtomicU64::new(0),
            shown_tried: AtomicU64::new(0),
            shown_moved: AtomicU64::new(0),
            shown_last_tried: AtomicU64::new(0),
            shown_last_moved: AtomicU64::new(0),
        }
    }

    fn shown(&self) -> Shown {
        let r = Ordering::Relaxed;
        Shown {
            tried: self.shown_tried.load(r),
            moved: self.shown_moved.load(r),
            last_tried: self.shown_last_tried.load(r),
            last_moved: self.shown_last_moved.load(r),
        }
    }

    fn clear(&self) {
        let r = Ordering::Relaxed;
        for c in [
            &self.want,
            &self.quota,
            &self.tried,
            &self.migrated,
            &self.exceeds,
            &self.shown_tried,
            &self.shown_moved,
            &self.shown_last_tried,
            &self.shown_last_moved,
        ] {
            c.store(0, r);
        }
    }
}

/// What one node's kdamond measured and did; also what the kdamonds of
/// its neighbours read of it (its hot and cold bytes, the bytes it wants
/// to demote).
struct NodeStats {
    used_bp: AtomicU64,
    free_bp: AtomicU64,
    hot: AtomicU64,
    cold: AtomicU64,
    idle: AtomicU64,
    promote: DirStats,
    demote: DirStats,
}

impl NodeStats {
    const fn new() -> Self {
        Self {
            used_bp: AtomicU64::new(0),
            free_bp: AtomicU64::new(0),
            hot: AtomicU64::new(0),
            cold: AtomicU64::new(0),
            idle: AtomicU64::new(0),
            promote: DirStats::new(),
            demote: DirStats::new(),
        }
    }

    fn dir(&self, d: Dir) -> &DirStats {
        match d {
            Dir::Promote => &self.promote,
            Dir::Demote => &self.demote,
        }
    }
}

/// Per node of the running chain; the first `STATS_LEN` are in use.
static STATS: [NodeStats; MAX_CHAIN] = [const { NodeStats::new() }; MAX_CHAIN];
static STATS_LEN: AtomicUsize = AtomicUsize::new(0);

/// Starts the statistics of a new run on `chain`.
pub(crate) fn reset_stats(chain: &NodeChain) {
    let r = Ordering::Relaxed;
    for s in &STATS {
        for c in [&s.used_bp, &s.free_bp, &s.hot, &s.cold, &s.idle] {
            c.store(0, r);
        }
        s.promote.clear();
        s.demote.clear();
    }
    STATS_LEN.store(chain.len(), r);
    tier_active_nodes.set(*chain);
    publish_totals();
}

/// Clears the statistics that describe a running chain (tiering stopped).
pub(crate) fn stopped() {
    STATS_LEN.store(0, Ordering::Relaxed);
    tier_active_nodes.set(NodeChain::EMPTY);
}

/// Sums the nodes' counts into the read-only parameters.
fn publish_totals() {
    let r = Ordering::Relaxed;
    let n = STATS_LEN.load(r).min(MAX_CHAIN);
    let sum = |f: fn(&NodeStats) -> &AtomicU64| {
        STATS[..n]
            .iter()
            .map(|s| f(s).load(r))
            .fold(0u64, u64::wrapping_add)
    };
    tier_promote_bytes_tried.set(sum(|s| &s.promote.tried));
    tier_promote_bytes_migrated.set(sum(|s| &s.promote.migrated));
    tier_promote_quota_exceeds.set(sum(|s| &s.promote.exceeds));
    tier_demote_bytes_tried.set(sum(|s| &s.demote.tried));
    tier_demote_bytes_migrated.set(sum(|s| &s.demote.migrated));
    tier_demote_quota_exceeds.set(sum(|s| &s.demote.exceeds));
}

/// A direction of migration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// Hot pages to the node above.
    Promote,
    /// Cold pages to the node below.
    Demote,
}

/// The read-only per-node views: shown as "9950,1200", one value per node
/// of the running chain, fastest first; each value as of its node's last
/// aggregation. Promotion's are 0 on the first node, demotion's on the
/// last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PerNode {
    /// Used memory, bp.
    UsedBp,
    /// Free memory, bp.
    FreeBp,
    /// Bytes of hot regions.
    Hot,
    /// Bytes of cold regions.
    Cold,
    /// Bytes of idle regions, of any age.
    Idle,
    /// Promotion: bytes wanted in the last interval.
    PromoteWant,
    /// Promotion: bytes allowed in the current interval.
    PromoteQuota,
    /// Promotion: bytes of regions tried.
    PromoteTried,
    /// Promotion: bytes migrated.
    PromoteMigrated,
    /// Promotion: bytes tried and not migrated.
    PromoteFailed,
    /// Promotion: intervals that used the whole quota.
    PromoteExceeds,
    /// Promotion: share of the bytes tried in recent walks that moved, bp.
    PromoteMovedBp,
    /// Demotion: as for promotion.
    DemoteWant,
    /// Demotion: as for promotion.
    DemoteQuota,
    /// Demotion: as for promotion.
    DemoteTried,
    /// Demotion: as for promotion.
    DemoteMigrated,
    /// Demotion: as for promotion.
    DemoteFailed,
    /// Demotion: as for promotion.
    DemoteExceeds,
}

impl PerNode {
    /// Every view, in the order of their bits.
    pub const ALL: [PerNode; 18] = [
        PerNode::UsedBp,
        PerNode::FreeBp,
        PerNode::Hot,
        PerNode::Cold,
        PerNode::Idle,
        PerNode::PromoteWant,
        PerNode::PromoteQuota,
        PerNode::PromoteTried,
        PerNode::PromoteMigrated,
        PerNode::PromoteFailed,
        PerNode::PromoteExceeds,
        PerNode::PromoteMovedBp,
        PerNode::DemoteWant,
        PerNode::DemoteQuota,
        PerNode::DemoteTried,
        PerNode::DemoteMigrated,
        PerNode::DemoteFailed,
        PerNode::DemoteExceeds,
    ];

    fn value(&self, s: &NodeStats) -> u64 {
        use PerNode::*;
        let r = Ordering::Relaxed;
        let (d, p) = (&s.demote, &s.promote);
        let failed = |d: &DirStats| d.tried.load(r).saturating_sub(d.migrated.load(r));
        match self {
            UsedBp => s.used_bp.load(r),
            FreeBp => s.free_bp.load(r),
            Hot => s.hot.load(r),
            Cold => s.cold.load(r),
            Idle => s.idle.load(r),
            PromoteWant => p.want.load(r),
            PromoteQuota => p.quota.load(r),
            PromoteTried => p.tried.load(r),
            PromoteMigrated => p.migrated.load(r),
            PromoteFailed => failed(p),
            PromoteExceeds => p.exceeds.load(r),
            PromoteMovedBp => p.shown().bp(),
            DemoteWant => d.want.load(r),
            DemoteQuota => d.quota.load(r),
            DemoteTried => d.tried.load(r),
            DemoteMigrated => d.migrated.load(r),
            DemoteFailed => failed(d),
            DemoteExceeds => d.exceeds.load(r),
        }
    }
}

impl ParamValue for PerNode {
    const TYPE_NAME: &'static str = "charp";
    fn parse(_s: &[u8]) -> Result<Self> {
        Err(EINVAL)
    }
    fn to_bits(self) -> u64 {
        PerNode::ALL
            .iter()
            .position(|&v| v == self)
            .map_or(0, |i| i as u64)
    }
    fn from_bits(bits: u64) -> Self {
        // `bits` came from `to_bits` (the store keeps no other values).
        usize::try_from(bits)
            .ok()
            .and_then(|i| PerNode::ALL.get(i).copied())
            .unwrap_or(PerNode::UsedBp)
    }
    fn show(&self, f: &mut dyn fmt::Write) -> fmt::Result {
        let n = STATS_LEN.load(Ordering::Relaxed).min(MAX_CHAIN);
        for (i, s) in STATS[..n].iter().enumerate() {
            if i > 0 {
                f.write_char(',')?;
            }
            write!(f, "{}", self.value(s))?;
        }
        Ok(())
    }
}

/// The settings one node's callbacks read, replaced by `commit_inputs`
/// field by field (a step may see a mix of two consistent settings).
struct SettingsCell {
    hot_min_accesses: AtomicU64,
    hot_min_age: AtomicU64,
    cold_min_age: AtomicU64,
    hot_on_fast_bp: AtomicU64,
    /// Promotion's, then demotion's: cap, reset interval, goal.
    dirs: [[AtomicU64; 3]; 2],
}

impl SettingsCell {
    fn new(cfg: &TierConfig) -> Self {
        let s = Self {
            hot_min_accesses: AtomicU64::new(0),
            hot_min_age: AtomicU64::new(0),
            cold_min_age: AtomicU64::new(0),
            hot_on_fast_bp: AtomicU64::new(0),
            dirs: [
                [const { AtomicU64::new(0) }; 3],
                [const { AtomicU64::new(0) }; 3],
            ],
        };
        s.set(cfg);
        s
    }

    fn set(&self, cfg: &TierConfig) {
        let r = Ordering::Relaxed;
        self.hot_min_accesses.store(cfg.hot_min_accesses.into(), r);
        // The demand counts regions from their first hot aggregation on;
        // promotion takes them from the next (after priming).
        self.hot_min_age.store(
            age_in_aggregations(cfg.hot_min_age_us, cfg.attrs.aggr_interval_us).into(),
            r,
        );
        self.cold_min_age.store(
            age_in_aggregations(cfg.cold_min_age_us, cfg.attrs.aggr_interval_us).into(),
            r,
        );
        self.hot_on_fast_bp.store(cfg.hot_on_fast_bp, r);
        for (cell, d) in self.dirs.iter().zip([&cfg.promote, &cfg.demote]) {
            cell[0].store(d.quota_sz, r);
            cell[1].store(d.reset_interval_ms, r);
            cell[2].store(d.goal_bp, r);
        }
    }

    fn dir(&self, d: Dir) -> Direction {
        let r = Ordering::Relaxed;
        let cell = &self.dirs[d as usize];
        Direction {
            quota_sz: cell[0].load(r),
            reset_interval_ms: cell[1].load(r),
            goal_bp: cell[2].load(r),
        }
    }

    fn goals(&self) -> Goals {
        Goals {
            promote_used_bp: self.dir(Dir::Promote).goal_bp,
            demote_free_bp: self.dir(Dir::Demote).goal_bp,
            hot_on_fast_bp: self.hot_on_fast_bp.load(Ordering::Relaxed),
        }
    }
}

/// One scheme of a node and what its kdamond remembers of it (atomics
/// only to make it `Sync`: only that kdamond uses them).
struct Mover {
    dir: Dir,
    /// Its index in the context.
    idx: usize,
    /// The budget of its last interval (0: none, the scheme was off).
    last_budget: AtomicU64,
    /// Bytes charged to it up to the last step.
    last_charged: AtomicU64,
    /// Its rate cap's [`Window`].
    window_start_ns: AtomicU64,
    window_used: AtomicU64,
}

impl Mover {
    fn new(dir: Dir, idx: usize) -> Self {
        Self {
            dir,
            idx,
            last_budget: AtomicU64::new(0),
            last_charged: AtomicU64::new(0),
            window_start_ns: AtomicU64::new(0),
            window_used: AtomicU64::new(0),
        }
    }
}

/// What the kdamond of one node runs after each aggregation.
pub(crate) struct TierCallbacks {
    /// Position in the chain.
    idx: usize,
    /// The chain's nodes, fastest first.
    chain: NodeChain,
    /// The node's schemes in context order (promote first, if any).
    movers: KVec<Mover>,
    cfg: SettingsCell,
}

/// Node `nid` in bytes, with its published hot and cold bytes.
fn tier_node(nid: i32, stats: Option<&NodeStats>) -> TierNode {
    let page = kernel::page::PAGE_SIZE as u64;
    let mem = mm::node_mem(nid);
    let r = Ordering::Relaxed;
    TierNode {
        total: mem.map_or(0, |m| m.total.saturating_mul(page)),
        free: mem.map_or(0, |m| m.free.saturating_mul(page)),
        wmark_high: mm::node_high_wmark_pages(nid).saturating_mul(page),
        hot: stats.map_or(0, |s| s.hot.load(r)),
        cold: stats.map_or(0, |s| s.cold.load(r)),
        idle: stats.map_or(0, |s| s.idle.load(r)),
    }
}

/// Gives scheme `s` a budget of `bytes` for the coming walk: the core then
/// charges at most `bytes` more in its current charge window, or, if a
/// window opens first, `bytes` in it; 0 turns the scheme off.
fn give_budget(s: &mut SchemeMut<'_>, bytes: u64) -> Result {
    if bytes == 0 {
        return s.set_active(false);
    }
    let charged = s.as_ref().quota_state().charged_sz;
    s.set_quota_sz(bytes);
    s.set_effective_quota(charged.saturating_add(bytes));
    s.set_active(true)
}

/// Points demotion's access pattern (scheme `s`) at the regions `from`
/// names: those not accessed for `cold_age` aggregations, or all idle ones.
fn demote_from(s: &mut SchemeMut<'_>, from: DemoteFrom, cold_age: u64) -> Result {
    let min_age = match from {
        DemoteFrom::Cold => u32::try_from(cold_age).unwrap_or(u32::MAX),
        DemoteFrom::Idle => 0,
    };
    let mut p = s.as_ref().pattern();
    if p.age.0 != min_age {
        p.age.0 = min_age;
        s.set_pattern(&p)?;
    }
    Ok(())
}

impl TierCallbacks {
    /// The callbacks of the node at position `idx` of `chain`.
    pub(crate) fn new(chain: &NodeChain, idx: usize, cfg: &TierConfig) -> Result<Self> {
        let roles = chain.roles(idx);
        let mut movers = KVec::with_capacity(2, GFP_KERNEL)?;
        let dirs = [
            (roles.promote_to.is_some(), Dir::Promote),
            (roles.demote_to.is_some(), Dir::Demote),
        ];
        // The context's schemes: priming (with promotion), promotion,
        // demotion (`TierConfig::schemes()`).
        let first = usize::from(roles.promote_to.is_some());
        for (i, (_, dir)) in dirs.into_iter().filter(|(has, _)| *has).enumerate() {
            movers.push(Mover::new(dir, first + i), GFP_KERNEL)?;
        }
        chain.get(idx).ok_or(EINVAL)?;
        Ok(Self {
            idx,
            chain: *chain,
            movers,
            cfg: SettingsCell::new(cfg),
        })
    }

    /// New settings, from `commit_inputs` (the chain is the same).
    pub(crate) fn update(&self, cfg: &TierConfig) {
        self.cfg.set(cfg);
    }

    /// The node at `idx` of the chain, if any.
    fn node(&self, idx: Option<usize>) -> Option<TierNode> {
        let idx = idx?;
        let nid = self.chain.get(idx)?;
        Some(tier_node(nid, STATS.get(idx)))
    }

    /// The bytes the node above this node's upper neighbour wants to
    /// demote into it, and so on: the `want` of node `idx`'s `demote_plan`.
    fn demote_want_of(&self, idx: Option<usize>) -> u64 {
        idx.and_then(|i| STATS.get(i))
            .map_or(0, |s| s.demote.want.load(Ordering::Relaxed))
    }

    /// What node `idx`'s promotion showed in its recent walks.
    fn shown_of(&self, idx: Option<usize>) -> Shown {
        idx.filter(|&i| i < self.chain.len())
            .and_then(|i| STATS.get(i))
            .map_or(Shown::default(), |s| s.promote.shown())
    }

    /// The budget node `idx` gave its scheme of direction `d` for the walk
    /// it is in.
    fn quota_of(&self, idx: Option<usize>, d: Dir) -> u64 {
        idx.filter(|&i| i < self.chain.len())
            .and_then(|i| STATS.get(i))
            .map_or(0, |s| s.dir(d).quota.load(Ordering::Relaxed))
    }

    /// This step's budget of a direction, from the state of the chain; at
    /// most `cap`. For demotion, also the regions it takes.
    fn budget(&self, dir: Dir, me: &TierNode, cap: u64) -> (Budget, Option<DemoteFrom>) {
        if self.cfg.dir(dir).goal_bp == 0 {
            // No goal: the user's fixed quota, on the cold regions.
            let b = Budget {
                want: cap,
                bytes: pages(cap),
            };
            return (b, (dir == Dir::Demote).then_some(DemoteFrom::Cold));
        }
        let g = self.cfg.goals();
        let (up, down) = (self.idx.checked_sub(1), self.idx.checked_add(1));
        match dir {
            Dir::Promote => {
                let Some(upper) = self.node(up) else {
                    return (Budget::default(), None);
                };
                let from_above = self.demote_want_of(up.and_then(|u| u.checked_sub(1)));
                (promote_budget(&upper, me, from_above, &g, cap), None)
            }
            Dir::Demote => {
                let Some(lower) = self.node(down) else {
                    return (Budget::default(), Some(DemoteFrom::Cold));
                };
                let below = Incoming {
                    want: promote_demand(me, &lower, &g),
                    in_flight: self.quota_of(down, Dir::Promote),
                };
                let above = Incoming {
                    want: self.demote_want_of(up),
                    in_flight: self.quota_of(up, Dir::Demote),
                };
                let plan = demote_plan(me, below, self.shown_of(down), above, &g);
                (demote_budget(me, plan, &lower, &g, cap), Some(plan.from))
            }
        }
    }
}

impl Callbacks for TierCallbacks {
    fn after_aggregation(&self, ctx: &mut Running<'_>) -> Result {
        super::commit_applied();
        let r = Ordering::Relaxed;
        let (Some(stats), Some(nid)) = (STATS.get(self.idx), self.chain.get(self.idx)) else {
            return Ok(());
        };
        // What this node holds, as the schemes' access patterns see it.
        let hot_min = self.cfg.hot_min_accesses.load(r);
        let hot_age = self.cfg.hot_min_age.load(r);
        let cold_age = self.cfg.cold_min_age.load(r);
        let (mut hot, mut cold, mut idle) = (0u64, 0u64, 0u64);
        ctx.for_each_region(|reg| {
            if u64::from(reg.nr_accesses) >= hot_min && u64::from(reg.age) >= hot_age {
                hot = hot.saturating_add(reg.size());
            }
            if reg.nr_accesses == 0 {
                idle = idle.saturating_add(reg.size());
                if u64::from(reg.age) >= cold_age {
                    cold = cold.saturating_add(reg.size());
                }
            }
        });
        stats.hot.store(hot, r);
        stats.cold.store(cold, r);
        stats.idle.store(idle, r);
        let me = tier_node(nid, Some(stats));
        if let Some(m) = mm::node_mem(nid) {
            stats.used_bp.store(m.used_bp().unwrap_or(0), r);
            stats.free_bp.store(m.free_bp().unwrap_or(0), r);
        }
        let now = Ktime::ktime_get().to_ns() as u64;
        for m in self.movers.iter() {
            let Some(mut s) = ctx.scheme(m.idx) else {
                continue;
            };
            let st = s.as_ref().stats();
            let q = s.as_ref().quota_state();
            let charged = q.total_charged_sz.wrapping_add(q.charged_sz);
            let used = charged.wrapping_sub(m.last_charged.swap(charged, r));
            let ds = stats.dir(m.dir);
            if m.dir == Dir::Promote {
                // What the last walk tried and moved: the demand the node
                // above makes room for.
                let tried = st.sz_tried.saturating_sub(ds.tried.load(r));
                let moved = st.sz_applied.saturating_sub(ds.migrated.load(r));
                let shown = ds.shown().observe(tried, moved);
                ds.shown_tried.store(shown.tried, r);
                ds.shown_moved.store(shown.moved, r);
                ds.shown_last_tried.store(shown.last_tried, r);
                ds.shown_last_moved.store(shown.last_moved, r);
            }
            let last_budget = m.last_budget.load(r);
            if last_budget > 0 && used >= last_budget {
                ds.exceeds.fetch_add(1, r);
            }
            let d = self.cfg.dir(m.dir);
            let mut w = Window {
                start_ns: m.window_start_ns.load(r),
                used: m.window_used.load(r),
            };
            let cap = w.cap(now, used, d.quota_sz, d.reset_interval_ms);
            m.window_start_ns.store(w.start_ns, r);
            m.window_used.store(w.used, r);
            let (b, from) = self.budget(m.dir, &me, cap);
            if let Some(from) = from {
                demote_from(&mut s, from, cold_age)?;
            }
            // Published before the scheme is given its budget, so that the
            // neighbours see this node's demand as soon as possible.
            ds.want.store(b.want, r);
            give_budget(&mut s, b.bytes)?;
            m.last_budget.store(b.bytes, r);
            ds.quota.store(b.bytes, r);
            ds.tried.store(st.sz_tried, r);
            ds.migrated.store(st.sz_applied, r);
        }
        publish_totals();
        Ok(())
    }

    fn after_wmarks_check(&self, _ctx: &mut Running<'_>) -> Result {
        super::commit_applied();
        Ok(())
    }

    fn before_terminate(&self, _ctx: &mut Running<'_>) {
        super::kdamond_terminated();
    }
}
