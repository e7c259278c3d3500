// SPDX-License-Identifier: GPL-2.0

//! Memory tiering: its parameters, one DAMON context per node of the chain
//! (each monitoring that node's physical range, with a promote and a demote
//! scheme as `rust/policy/tier.rs` decides), and the callbacks that run the
//! module's goal loop on each scheme and publish the statistics.
//!
//! Parameters are read when the kdamonds start (`enabled=Y` with `tier=Y`)
//! and when `commit_inputs=Y` is written; [`read_inputs`] is where they
//! become contexts.

use crate::damon::{Callbacks, Context, Ops, Running};
use crate::mm;
use crate::module_params;
use crate::params::check::{age_us, basis_points, interval_ms, interval_us, size};
use crate::params::ParamValue;
use crate::policy::{
    attrs::MonitoringAttrs,
    node::NodeMem,
    quota::Tuner,
    tier::{demote_score, detect, promote_score, Direction, NodeChain, TierConfig, MAX_CHAIN},
};
use crate::quota_loop::{initial_quota, QuotaLoop};
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
    /// Used memory of the upper node promotion aims at, in bp (0: no goal).
    tier_promote_goal_used_bp: u32 = 9970, 0o600, check = basis_points;
    /// Free memory of a node demotion from it aims at, in bp (0: no goal).
    tier_demote_goal_free_bp: u32 = 50, 0o600, check = basis_points;
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
    /// Time without access after which a region is cold, in microseconds.
    tier_cold_min_age: u64 = 5_000_000, 0o600, check = age_us;
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
    /// Promotion size quota in effect on each node, fastest first (read-only).
    tier_promote_effective_quota_sz: PerNode = PerNode::PromoteQuota, 0o400;
    /// Demotion size quota in effect on each node, fastest first (read-only).
    tier_demote_effective_quota_sz: PerNode = PerNode::DemoteQuota, 0o400;
    /// Total bytes of regions promotion was tried on (read-only).
    tier_promote_bytes_tried: u64 = 0, 0o400;
    /// Total bytes promoted (read-only).
    tier_promote_bytes_migrated: u64 = 0, 0o400;
    /// Number of times promotion quotas were exceeded (read-only).
    tier_promote_quota_exceeds: u64 = 0, 0o400;
    /// Total bytes of regions demotion was tried on (read-only).
    tier_demote_bytes_tried: u64 = 0, 0o400;
    /// Total bytes demoted (read-only).
    tier_demote_bytes_migrated: u64 = 0, 0o400;
    /// Number of times demotion quotas were exceeded (read-only).
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
        cold_min_age_us: tier_cold_min_age.get(),
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
        for (spec, d) in [
            (schemes.promote, &cfg.promote),
            (schemes.demote, &cfg.demote),
        ] {
            if let Some(mut spec) = spec {
                spec.quota.sz = initial_quota(Tuner::Consist, d.quota_sz, d.goal_bp != 0);
                ctx.add_scheme(&spec)?;
            }
        }
        ctxs.push(ctx, GFP_KERNEL)?;
    }
    Ok(Inputs { chain, ctxs, cfg })
}

/// What one node's kdamond counted, for the module-wide statistics.
struct NodeStats {
    used_bp: AtomicU64,
    free_bp: AtomicU64,
    /// Promotion and demotion: bytes tried, bytes migrated, quota exceeds,
    /// effective size quota.
    counts: [[AtomicU64; 4]; 2],
}

impl NodeStats {
    const fn new() -> Self {
        Self {
            used_bp: AtomicU64::new(0),
            free_bp: AtomicU64::new(0),
            counts: [
                [const { AtomicU64::new(0) }; 4],
                [const { AtomicU64::new(0) }; 4],
            ],
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
        s.used_bp.store(0, r);
        s.free_bp.store(0, r);
        s.counts.iter().flatten().for_each(|c| c.store(0, r));
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
    let sum = |dir: usize, i: usize| {
        STATS[..n]
            .iter()
            .map(|s| s.counts[dir][i].load(r))
            .fold(0u64, u64::wrapping_add)
    };
    tier_promote_bytes_tried.set(sum(0, 0));
    tier_promote_bytes_migrated.set(sum(0, 1));
    tier_promote_quota_exceeds.set(sum(0, 2));
    tier_demote_bytes_tried.set(sum(1, 0));
    tier_demote_bytes_migrated.set(sum(1, 1));
    tier_demote_quota_exceeds.set(sum(1, 2));
}

/// The read-only per-node views (`tier_used_bp`, `tier_free_bp` and the
/// effective quotas): shown as "9950,1200", one value per node of the
/// running chain, fastest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PerNode {
    /// Used memory, bp.
    UsedBp,
    /// Free memory, bp.
    FreeBp,
    /// Promotion's effective size quota (0 on the first node).
    PromoteQuota,
    /// Demotion's effective size quota (0 on the last node).
    DemoteQuota,
}

impl ParamValue for PerNode {
    const TYPE_NAME: &'static str = "charp";
    fn parse(_s: &[u8]) -> Result<Self> {
        Err(EINVAL)
    }
    fn to_bits(self) -> u64 {
        self as u64
    }
    fn from_bits(bits: u64) -> Self {
        match bits {
            0 => PerNode::UsedBp,
            1 => PerNode::FreeBp,
            2 => PerNode::PromoteQuota,
            _ => PerNode::DemoteQuota,
        }
    }
    fn show(&self, f: &mut dyn fmt::Write) -> fmt::Result {
        let r = Ordering::Relaxed;
        let n = STATS_LEN.load(r).min(MAX_CHAIN);
        for (i, s) in STATS[..n].iter().enumerate() {
            if i > 0 {
                f.write_char(',')?;
            }
            let v = match self {
                PerNode::UsedBp => &s.used_bp,
                PerNode::FreeBp => &s.free_bp,
                PerNode::PromoteQuota => &s.counts[0][3],
                PerNode::DemoteQuota => &s.counts[1][3],
            };
            write!(f, "{}", v.load(r))?;
        }
        Ok(())
    }
}

/// The settings one node's callbacks read, replaced by `commit_inputs`
/// field by field (a step may see a mix of two consistent settings).
struct DirectionCell {
    cap: AtomicU64,
    reset_interval_ms: AtomicU64,
    goal_bp: AtomicU64,
}

impl DirectionCell {
    fn new(d: &Direction) -> Self {
        Self {
            cap: AtomicU64::new(d.quota_sz),
            reset_interval_ms: AtomicU64::new(d.reset_interval_ms),
            goal_bp: AtomicU64::new(d.goal_bp),
        }
    }

    fn set(&self, d: &Direction) {
        let r = Ordering::Relaxed;
        self.cap.store(d.quota_sz, r);
        self.reset_interval_ms.store(d.reset_interval_ms, r);
        self.goal_bp.store(d.goal_bp, r);
    }
}

/// One scheme of a node: where it migrates to, its settings and its loop.
struct Mover {
    /// The node promotion fills (its used memory is the goal), or the node
    /// demotion empties (its free memory is).
    goal_nid: i32,
    /// 0: promotion, 1: demotion (index into [`NodeStats::counts`]).
    dir: usize,
    cfg: DirectionCell,
    quota_loop: QuotaLoop,
}

impl Mover {
    fn score(&self, mem: Option<NodeMem>) -> Option<u64> {
        let goal = self.cfg.goal_bp.load(Ordering::Relaxed);
        let mem = mem?;
        if self.dir == 0 {
            promote_score(mem, goal)
        } else {
            demote_score(mem, goal)
        }
    }
}

/// What the kdamond of one node runs after each aggregation.
pub(crate) struct TierCallbacks {
    /// Position in the chain.
    idx: usize,
    nid: i32,
    /// The node's schemes in context order (promote first, if any).
    movers: KVec<Mover>,
}

impl TierCallbacks {
    /// The callbacks of the node at position `idx` of `chain`.
    pub(crate) fn new(chain: &NodeChain, idx: usize, cfg: &TierConfig) -> Result<Self> {
        let roles = chain.roles(idx);
        let nid = chain.get(idx).ok_or(EINVAL)?;
        let mut movers = KVec::with_capacity(2, GFP_KERNEL)?;
        if let Some(upper) = roles.promote_to {
            movers.push(
                Mover {
                    goal_nid: upper,
                    dir: 0,
                    cfg: DirectionCell::new(&cfg.promote),
                    quota_loop: QuotaLoop::new(),
                },
                GFP_KERNEL,
            )?;
        }
        if roles.demote_to.is_some() {
            movers.push(
                Mover {
                    goal_nid: nid,
                    dir: 1,
                    cfg: DirectionCell::new(&cfg.demote),
                    quota_loop: QuotaLoop::new(),
                },
                GFP_KERNEL,
            )?;
        }
        Ok(Self { idx, nid, movers })
    }

    /// New settings, from `commit_inputs` (the chain is the same).
    pub(crate) fn update(&self, cfg: &TierConfig) {
        for m in self.movers.iter() {
            m.cfg.set(if m.dir == 0 {
                &cfg.promote
            } else {
                &cfg.demote
            });
        }
    }
}

impl Callbacks for TierCallbacks {
    fn after_aggregation(&self, ctx: &mut Running<'_>) -> Result {
        super::commit_applied();
        let r = Ordering::Relaxed;
        let Some(stats) = STATS.get(self.idx) else {
            return Ok(());
        };
        if let Some(m) = mm::node_mem(self.nid) {
            stats.used_bp.store(m.used_bp().unwrap_or(0), r);
            stats.free_bp.store(m.free_bp().unwrap_or(0), r);
        }
        let now = Ktime::ktime_get().to_ns() as u64;
        for (i, m) in self.movers.iter().enumerate() {
            let Some(mut s) = ctx.scheme(i) else {
                continue;
            };
            let st = s.as_ref().stats();
            let counts = &stats.counts[m.dir];
            counts[0].store(st.sz_tried, r);
            counts[1].store(st.sz_applied, r);
            counts[2].store(st.qt_exceeds, r);
            m.quota_loop.tick(
                &mut s,
                now,
                m.cfg.reset_interval_ms.load(r),
                Tuner::Consist,
                m.cfg.cap.load(r),
                || m.score(mm::node_mem(m.goal_nid)),
            );
            counts[3].store(s.as_ref().quota_state().esz, r);
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
