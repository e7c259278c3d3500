// SPDX-License-Identifier: GPL-2.0

//! Proactive reclaim: DAMON_RECLAIM's parameters and scheme, plus the
//! module's own quota-goal loop (memory PSI, user feedback and a node's
//! free memory; `consist` or `temporal` tuner) and failed-region charge
//! accounting.
//!
//! Parameters are read when the kdamond starts (`enabled=Y`) and when
//! `commit_inputs=Y` is written; [`read_inputs`] is the one place where
//! they become a DAMON context and the settings of its callbacks (the
//! goal loop's, [`LoopConfig::read`], and `min_age` tuning's, in
//! `module/min_age.rs`).

use crate::damon::{Callbacks, Context, Ops, Region, Running, SchemeMut, SchemeRef};
use crate::min_age::{MinAgeConfig, MinAgeControl};
use crate::mm;
use crate::module_params;
use crate::param_enum;
use crate::params::check::{
    age_us, basis_points, interval_ms, interval_us, per_thousand, size, time_ms, time_us,
};
use crate::params::ParamValue;
use crate::policy::{
    attrs::MonitoringAttrs,
    damos::{Goal, GoalMetric, Watermarks, WmarkMetric},
    failcharge::{CoreQuota, Emulation},
    quota::{goal_score, highest_score, Tuner, WindowTally, GOAL_BP},
    ranges::{self, Range, RangesError, MAX_RANGES},
    reclaim::{ConfigError, ReclaimConfig, MAX_GOALS},
};
use crate::quota_loop::{initial_quota, DeficitTick, QuotaLoop};
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use kernel::{prelude::*, time::Ktime};

/// What the parameters describe: the settings of the kdamond's callbacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Settings {
    loop_cfg: LoopConfig,
    min_age: MinAgeConfig,
}

param_enum!(crate::policy::quota::Tuner {
    Consist = "consist",
    Temporal = "temporal",
    Deficit = "deficit",
});

fn node_with_memory(nid: i32) -> Result {
    match mm::node_mem(nid) {
        Some(m) if m.total > 0 => Ok(()),
        _ => Err(EINVAL),
    }
}

module_params! {
    /// Turn the reclaim scheme on (Y, the default) or off (tiering alone).
    reclaim: bool = true, 0o600;
    /// Time threshold for cold memory regions identification in microseconds.
    min_age: u64 = 120_000_000, 0o600, check = age_us;
    /// Limit of time for trying the reclamation in milliseconds (0: none).
    quota_ms: u64 = 10, 0o600, check = time_ms;
    /// Limit of size of memory for the reclamation in bytes (0: none).
    quota_sz: u64 = 128 << 20, 0o600, check = size;
    /// The time/size quota charge reset interval in milliseconds.
    quota_reset_interval_ms: u64 = 1000, 0o600, check = interval_ms;
    /// Desired level of memory pressure-stall time in microseconds (0: no goal).
    quota_mem_pressure_us: u64 = 0, 0o600, check = time_us;
    /// User-specifiable feedback for the quota auto-tuning, 10000 meaning met (0: no goal).
    quota_autotune_feedback: u64 = 0, 0o600;
    /// Node whose free memory quota_mem_free_goal_bp aims at.
    quota_goal_nid: i32 = 0, 0o600, check = node_with_memory;
    /// Free memory of quota_goal_nid to aim at, in basis points (0: no goal).
    quota_mem_free_goal_bp: u32 = 0, 0o600, check = basis_points;
    /// Quota goal tuner: deficit (bytes to a free-memory goal), consist (upstream's) or temporal (all, then nothing).
    quota_goal_tuner: Tuner = Tuner::Deficit, 0o600;
    /// Failed-region charge ratio numerator.
    fail_charge_num: u64 = 0, 0o600;
    /// Failed-region charge ratio denominator (0: off, failures charged in full).
    fail_charge_denom: u64 = 0, 0o600;
    /// Time interval for checking the watermarks in microseconds.
    wmarks_interval: u64 = 5_000_000, 0o600, check = interval_us;
    /// Free memory rate (per thousand) for the high watermark.
    wmarks_high: u64 = 500, 0o600, check = per_thousand;
    /// Free memory rate (per thousand) for the middle watermark.
    wmarks_mid: u64 = 400, 0o600, check = per_thousand;
    /// Free memory rate (per thousand) for the low watermark.
    wmarks_low: u64 = 200, 0o600, check = per_thousand;
    /// Sampling interval for the monitoring in microseconds.
    sample_interval: u64 = 5_000, 0o600, check = interval_us;
    /// Aggregation interval for the monitoring in microseconds.
    aggr_interval: u64 = 100_000, 0o600, check = interval_us;
    /// Minimum number of monitoring regions.
    min_nr_regions: u64 = 10, 0o600;
    /// Maximum number of monitoring regions.
    max_nr_regions: u64 = 1_000, 0o600;
    /// Start of the target memory region in physical address (0 with end 0: every System RAM block).
    monitor_region_start: u64 = 0, 0o600;
    /// End of the target memory region in physical address (0 with start 0: every System RAM block).
    monitor_region_end: u64 = 0, 0o600;
    /// Physical address ranges [start, end) the reclaim kdamond monitors, empty when off (read-only).
    monitored_ranges: MonitoredRanges = MonitoredRanges, 0o400;
    /// Skip anonymous pages reclamation.
    skip_anon: bool = false, 0o600;
    /// Number of regions reclamation was tried on (read-only).
    nr_reclaim_tried_regions: u64 = 0, 0o400;
    /// Total bytes of regions reclamation was tried on (read-only).
    bytes_reclaim_tried_regions: u64 = 0, 0o400;
    /// Number of regions reclamation was applied to (read-only).
    nr_reclaimed_regions: u64 = 0, 0o400;
    /// Total bytes of regions reclamation was applied to (read-only).
    bytes_reclaimed_regions: u64 = 0, 0o400;
    /// Number of times the time/size quota limits were exceeded (read-only).
    nr_quota_exceeds: u64 = 0, 0o400;
    /// Bytes of regions reclamation was applied to in the last complete quota reset interval (read-only).
    bytes_reclaimed_last_interval: u64 = 0, 0o400;
    /// Size quota in effect for the current reset interval, 0 meaning unlimited (read-only).
    effective_quota_sz: u64 = 0, 0o400;
    /// Score of the most satisfied quota goal, in basis points of its target (read-only).
    goal_score_bp: u64 = 0, 0o400;
    /// Bytes per reset interval the deficit tuner wants, before the size and time quotas (read-only).
    wanted_quota_sz: u64 = 0, 0o400;
    /// Number of reset intervals the deficit tuner wanted more than the quotas allow or reclaim gave (read-only).
    nr_quota_saturated: u64 = 0, 0o400;
}

/// The ranges `monitored_ranges` shows: those of the reclaim context last
/// started or committed. Written and read under the parameter lock (the
/// hooks that start and commit hold it, and so does a sysfs read), so a
/// read never sees half an update; atomics only make the static `Sync`.
struct RangeTable {
    len: AtomicUsize,
    bounds: [[AtomicU64; 2]; MAX_RANGES],
}

static MONITORED: RangeTable = RangeTable {
    len: AtomicUsize::new(0),
    bounds: [const { [AtomicU64::new(0), AtomicU64::new(0)] }; MAX_RANGES],
};

/// Records `r` as what the running reclaim kdamond monitors (at most
/// [`MAX_RANGES`], which is all a context gets). Called with the
/// parameter lock held.
pub(crate) fn show_monitored(r: &[Range]) {
    let n = r.len().min(MAX_RANGES);
    for (slot, range) in MONITORED.bounds.iter().zip(r) {
        slot[0].store(range.start, Ordering::Relaxed);
        slot[1].store(range.end, Ordering::Relaxed);
    }
    MONITORED.len.store(n, Ordering::Relaxed);
}

/// `monitored_ranges`' type: a read shows [`MONITORED`], in hex,
/// `start-end` separated by spaces. Nobody can write it (0400).
#[derive(Clone, Copy)]
pub struct MonitoredRanges;

impl ParamValue for MonitoredRanges {
    const TYPE_NAME: &'static str = "charp";

    fn parse(_s: &[u8]) -> Result<Self> {
        Err(EPERM)
    }

    fn show(&self, f: &mut dyn fmt::Write) -> fmt::Result {
        let n = MONITORED.len.load(Ordering::Relaxed);
        for (i, slot) in MONITORED.bounds.iter().take(n).enumerate() {
            let sep = if i == 0 { "" } else { " " };
            let (start, end) = (
                slot[0].load(Ordering::Relaxed),
                slot[1].load(Ordering::Relaxed),
            );
            write!(f, "{sep}{start:#x}-{end:#x}")?;
        }
        Ok(())
    }

    fn to_bits(self) -> u64 {
        0
    }

    fn from_bits(_bits: u64) -> Self {
        MonitoredRanges
    }
}

/// What reclaim monitors: every System RAM resource, or the region set,
/// and with a free-memory goal only the goal node's part of it (so that
/// reclaiming other nodes cannot meet, or starve, the goal: on 6.12 an
/// address filter would not do, as the quota's score histogram counts
/// the regions filters leave out). `EINVAL`, with a message, if the goal
/// node has no memory in the monitored range.
fn monitored(cfg: &ReclaimConfig, loop_cfg: &LoopConfig) -> Result<KVec<Range>> {
    let ram = mm::system_ram()?;
    let node = if loop_cfg.free_goal_bp != 0 {
        let (start, end) = mm::node_range(loop_cfg.nid).ok_or_else(|| {
            pr_err!("quota_goal_nid {} has no memory\n", loop_cfg.nid);
            EINVAL
        })?;
        Some(Range::new(start, end))
    } else {
        None
    };
    let mut buf = KBox::new([Range::default(); MAX_RANGES], GFP_KERNEL)?;
    let region = Range::new(cfg.region.0, cfg.region.1);
    let n = ranges::monitored(&ram, region, node, &mut buf[..]).map_err(|e| {
        match e {
            RangesError::NoMemory => pr_err!("no System RAM to monitor\n"),
            RangesError::TooMany => pr_err!("more than {} ranges to monitor\n", MAX_RANGES),
            RangesError::NodeOutside => pr_err!(
                "quota_goal_nid {} has no memory in the monitored region {:#x}-{:#x}\n",
                loop_cfg.nid,
                region.start,
                region.end
            ),
        }
        EINVAL
    })?;
    let mut out = KVec::with_capacity(n, GFP_KERNEL)?;
    for r in buf.iter().take(n) {
        out.push(*r, GFP_KERNEL)?;
    }
    Ok(out)
}

/// Whether the parameters ask for the reclaim scheme.
pub(crate) fn wanted() -> bool {
    reclaim.get()
}

/// The reclaim configuration the parameters describe now.
fn config() -> ReclaimConfig {
    ReclaimConfig {
        attrs: MonitoringAttrs {
            sample_interval_us: sample_interval.get(),
            aggr_interval_us: aggr_interval.get(),
            ops_update_interval_us: MonitoringAttrs::DEFAULT.ops_update_interval_us,
            min_nr_regions: min_nr_regions.get(),
            max_nr_regions: max_nr_regions.get(),
        },
        min_age_us: min_age.get(),
        quota_ms: quota_ms.get(),
        quota_sz: quota_sz.get(),
        quota_reset_interval_ms: quota_reset_interval_ms.get(),
        quota_mem_pressure_us: quota_mem_pressure_us.get(),
        quota_autotune_feedback: quota_autotune_feedback.get(),
        wmarks: Watermarks {
            metric: WmarkMetric::FreeMemRate,
            interval_us: wmarks_interval.get(),
            high: wmarks_high.get(),
            mid: wmarks_mid.get(),
            low: wmarks_low.get(),
        },
        region: (monitor_region_start.get(), monitor_region_end.get()),
        skip_anon: skip_anon.get(),
    }
}

/// Builds a fresh context from the parameters, and the settings of its
/// callbacks: what `enabled=Y` starts and `commit_inputs=Y` commits. A
/// combination DAMON would refuse is refused here, with `EINVAL`, before
/// anything runs.
pub(crate) fn read_inputs() -> Result<(Context, Settings, KVec<Range>)> {
    let cfg = config();
    let settings = Settings {
        loop_cfg: LoopConfig::read(),
        min_age: MinAgeConfig::read(cfg.min_age_us)?,
    };
    cfg.validate()
        .and_then(|()| cfg.validate_region_in(mm::ram_span().unwrap_or((0, 0))))
        .map_err(|e| {
            match e {
                ConfigError::Attrs(a) => pr_err!("invalid monitoring attributes: {:?}\n", a),
                ConfigError::Watermarks => {
                    pr_err!("watermarks must be ordered high >= mid >= low <= 1000\n")
                }
                ConfigError::Region => {
                    pr_err!("monitor_region_start must be below monitor_region_end\n")
                }
                ConfigError::RegionOutsideRam => {
                    pr_err!("the monitoring region is outside the physical memory\n")
                }
            }
            EINVAL
        })?;
    let ranges = monitored(&cfg, &settings.loop_cfg)?;
    let mut ctx = Context::new(Ops::PhysicalAddress)?;
    ctx.set_attrs(&cfg.attrs)?;
    ctx.add_physical_ranges(&ranges)?;
    if reclaim.get() {
        // Goals are the module's own loop's (ReclaimCallbacks), not the core's.
        let mut scheme = cfg.scheme(&[]);
        let l = &settings.loop_cfg;
        scheme.quota.sz = initial_quota(l.tuner, l.cap, l.has_goals());
        ctx.add_scheme(&scheme)?;
    }
    Ok((ctx, settings, ranges))
}

/// The settings of the goal loop and of fail-charge, read with the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LoopConfig {
    tuner: Tuner,
    cap: u64,
    psi_goal_us: u64,
    feedback: u64,
    free_goal_bp: u64,
    nid: i32,
    fail_num: u64,
    fail_denom: u64,
    reset_interval_ms: u64,
}

impl LoopConfig {
    pub(crate) fn read() -> Self {
        Self {
            tuner: quota_goal_tuner.get(),
            cap: quota_sz.get(),
            psi_goal_us: quota_mem_pressure_us.get(),
            feedback: quota_autotune_feedback.get(),
            free_goal_bp: quota_mem_free_goal_bp.get().into(),
            nid: quota_goal_nid.get(),
            fail_num: fail_charge_num.get(),
            fail_denom: fail_charge_denom.get(),
            reset_interval_ms: quota_reset_interval_ms.get(),
        }
    }

    fn has_goals(&self) -> bool {
        self.psi_goal_us != 0 || self.feedback != 0 || self.free_goal_bp != 0
    }

    /// Whether the deficit controller runs: its tuner, and a free-memory
    /// goal alone (goals that are not in bytes step as `consist`).
    fn deficit(&self) -> bool {
        self.tuner == Tuner::Deficit
            && self.free_goal_bp != 0
            && self.psi_goal_us == 0
            && self.feedback == 0
    }
}

/// Upstream 7.2's failed-region charge on the 6.12 core, per region, for
/// one scheme: the state of [`Emulation`], which only the scheme's kdamond
/// uses (atomics make it `Sync`). [`FailCharge::before_region`] runs in
/// the kdamond's `before_damos_apply` callback, [`FailCharge::between_walks`]
/// after each aggregation.
pub(crate) struct FailCharge {
    quota: AtomicU64,
    charged: AtomicU64,
    window: AtomicU64,
    last_tried: AtomicU64,
    last_applied: AtomicU64,
    started: AtomicBool,
}

impl FailCharge {
    /// Nothing observed yet.
    pub(crate) const fn new() -> Self {
        Self {
            quota: AtomicU64::new(0),
            charged: AtomicU64::new(0),
            window: AtomicU64::new(0),
            last_tried: AtomicU64::new(0),
            last_applied: AtomicU64::new(0),
            started: AtomicBool::new(false),
        }
    }

    fn load(&self) -> Emulation {
        let r = Ordering::Relaxed;
        Emulation {
            quota: self.quota.load(r),
            charged: self.charged.load(r),
            window: self.window.load(r),
            last_tried: self.last_tried.load(r),
            last_applied: self.last_applied.load(r),
            started: self.started.load(r),
        }
    }

    fn store(&self, e: &Emulation) {
        let r = Ordering::Relaxed;
        self.quota.store(e.quota, r);
        self.charged.store(e.charged, r);
        self.window.store(e.window, r);
        self.last_tried.store(e.last_tried, r);
        self.last_applied.store(e.last_applied, r);
        self.started.store(e.started, r);
    }

    /// The state after observing `s`: the region applied last is charged.
    fn observed(&self, s: SchemeRef<'_>, num: u64, denom: u64) -> Emulation {
        let mut e = self.load();
        let q = s.quota_state();
        let st = s.stats();
        e.observe(
            q.charged_from,
            q.esz,
            st.sz_tried,
            st.sz_applied,
            num,
            denom,
        );
        e
    }

    /// Before `s` is applied to a region of `size` bytes: charges the
    /// previous region upstream's way and sets the core's charge and
    /// effective quota so that it cuts and stops where upstream would.
    /// Returns what was written, if anything.
    pub(crate) fn before_region(
        &self,
        s: &mut SchemeMut<'_>,
        size: u64,
        num: u64,
        denom: u64,
    ) -> Option<CoreQuota> {
        let e = self.observed(s.as_ref(), num, denom);
        let c = e.before_region(size, num, denom);
        if let Some(c) = c {
            s.set_charge(c.charged_sz, c.esz);
        }
        self.store(&e);
        c
    }

    /// Between walks: charges the last region of the walk; `quota`, if
    /// set, is the window's new quota (the goal loop set it); the core's
    /// charge becomes upstream's.
    pub(crate) fn between_walks(
        &self,
        s: &mut SchemeMut<'_>,
        quota: Option<u64>,
        num: u64,
        denom: u64,
    ) -> Option<CoreQuota> {
        let mut e = self.observed(s.as_ref(), num, denom);
        if let Some(q) = quota {
            e.set_quota(q);
        }
        let c = e.between_walks(denom);
        if let Some(c) = c {
            s.set_charge(c.charged_sz, c.esz);
        }
        self.store(&e);
        c
    }
}

/// [`WindowTally`] in atomics: only the scheme's kdamond uses it.
struct WindowTallyCell {
    window: AtomicU64,
    start: AtomicU64,
    has_start: AtomicBool,
    last: AtomicU64,
    started: AtomicBool,
}

impl WindowTallyCell {
    const fn new() -> Self {
        Self {
            window: AtomicU64::new(0),
            start: AtomicU64::new(0),
            has_start: AtomicBool::new(false),
            last: AtomicU64::new(0),
            started: AtomicBool::new(false),
        }
    }

    /// [`WindowTally::observe`] on the stored state.
    fn observe(&self, charged_from: u64, sz_applied: u64) -> Option<u64> {
        let r = Ordering::Relaxed;
        let mut t = WindowTally {
            window: self.window.load(r),
            start: self.has_start.load(r).then(|| self.start.load(r)),
            last: self.last.load(r),
            started: self.started.load(r),
        };
        let closed = t.observe(charged_from, sz_applied);
        self.window.store(t.window, r);
        self.start.store(t.start.unwrap_or(0), r);
        self.has_start.store(t.start.is_some(), r);
        self.last.store(t.last, r);
        self.started.store(t.started, r);
        closed
    }
}

/// What the reclaim kdamond runs: after each aggregation, statistics, the
/// goal loop and `min_age` tuning; before each region, fail-charge. Only
/// the kdamond touches the loop's state; atomics make it `Sync`.
#[pin_data]
pub(crate) struct ReclaimCallbacks {
    #[pin]
    tuning: MinAgeControl,
    cfg: LoopConfigCell,
    fail_charge: FailCharge,
    windows: WindowTallyCell,
    quota_loop: QuotaLoop,
    deficit: DeficitTick,
    last_psi_us: AtomicU64,
}

/// A `LoopConfig` that the parameter hooks replace while the kdamond reads
/// it: a pointer-free copy in atomics, swapped field by field (a reader
/// may see a mix of two consistent configurations for one step).
struct LoopConfigCell {
    tuner: AtomicU64,
    cap: AtomicU64,
    psi_goal_us: AtomicU64,
    feedback: AtomicU64,
    free_goal_bp: AtomicU64,
    nid: AtomicU64,
    fail_num: AtomicU64,
    fail_denom: AtomicU64,
    reset_interval_ms: AtomicU64,
}

impl LoopConfigCell {
    fn new(c: &LoopConfig) -> Self {
        let cell = Self {
            tuner: AtomicU64::new(0),
            cap: AtomicU64::new(0),
            psi_goal_us: AtomicU64::new(0),
            feedback: AtomicU64::new(0),
            free_goal_bp: AtomicU64::new(0),
            nid: AtomicU64::new(0),
            fail_num: AtomicU64::new(0),
            fail_denom: AtomicU64::new(0),
            reset_interval_ms: AtomicU64::new(0),
        };
        cell.set(c);
        cell
    }

    fn set(&self, c: &LoopConfig) {
        let r = Ordering::Relaxed;
        let tuner = match c.tuner {
            Tuner::Consist => 0,
            Tuner::Temporal => 1,
            Tuner::Deficit => 2,
        };
        self.tuner.store(tuner, r);
        self.cap.store(c.cap, r);
        self.psi_goal_us.store(c.psi_goal_us, r);
        self.feedback.store(c.feedback, r);
        self.free_goal_bp.store(c.free_goal_bp, r);
        self.nid.store(c.nid as u64, r);
        self.fail_num.store(c.fail_num, r);
        self.fail_denom.store(c.fail_denom, r);
        self.reset_interval_ms.store(c.reset_interval_ms, r);
    }

    fn get(&self) -> LoopConfig {
        let r = Ordering::Relaxed;
        LoopConfig {
            tuner: match self.tuner.load(r) {
                0 => Tuner::Consist,
                1 => Tuner::Temporal,
                _ => Tuner::Deficit,
            },
            cap: self.cap.load(r),
            psi_goal_us: self.psi_goal_us.load(r),
            feedback: self.feedback.load(r),
            free_goal_bp: self.free_goal_bp.load(r),
            nid: self.nid.load(r) as i32,
            fail_num: self.fail_num.load(r),
            fail_denom: self.fail_denom.load(r),
            reset_interval_ms: self.reset_interval_ms.load(r),
        }
    }
}

impl ReclaimCallbacks {
    pub(crate) fn new(settings: Settings) -> impl PinInit<Self> {
        pin_init!(Self {
            tuning <- MinAgeControl::new(settings.min_age),
            cfg: LoopConfigCell::new(&settings.loop_cfg),
            fail_charge: FailCharge::new(),
            windows: WindowTallyCell::new(),
            quota_loop: QuotaLoop::new(),
            deficit: DeficitTick::new(),
            last_psi_us: AtomicU64::new(mm::psi_some_mem_total_us()),
        })
    }

    /// New settings, from `commit_inputs`.
    pub(crate) fn update(&self, settings: Settings) {
        self.cfg.set(&settings.loop_cfg);
        self.tuning.update(settings.min_age);
    }

    /// The deficit controller's step, if the core opened a new window;
    /// returns the effective quota it set.
    fn deficit_step(&self, s: &mut SchemeMut<'_>, cfg: &LoopConfig) -> Option<u64> {
        let m = mm::node_mem(cfg.nid)?;
        let free_bp = m.free_bp()?;
        let page = kernel::page::PAGE_SIZE as u64;
        let total = m.total.saturating_mul(page);
        let free = m.free.min(m.total).saturating_mul(page);
        let goal = crate::policy::math::mul_div(total, cfg.free_goal_bp, GOAL_BP);
        let d = self.deficit.tick(s, free, goal, total, cfg.cap)?;
        goal_score_bp.set(goal_score(free_bp, cfg.free_goal_bp));
        wanted_quota_sz.set(d.step.wanted);
        if d.step.saturated {
            nr_quota_saturated.set(nr_quota_saturated.get().saturating_add(1));
        }
        Some(d.esz)
    }

    /// The score of the most satisfied goal set (upstream's rule), or
    /// `None` if none is: DAMON_RECLAIM's goals, as
    /// [`ReclaimConfig::goals`] sets them (the PSI goal measured over the
    /// last step, the feedback as written), and the node free-memory goal.
    fn score(&self, cfg: &LoopConfig) -> Option<u64> {
        let reclaim_goals = ReclaimConfig {
            quota_mem_pressure_us: cfg.psi_goal_us,
            quota_autotune_feedback: cfg.feedback,
            ..crate::policy::reclaim::DEFAULT
        };
        let mut goals = [Goal {
            metric: GoalMetric::UserInput,
            target: 0,
            current: 0,
        }; MAX_GOALS];
        let n = reclaim_goals.goals(&mut goals);
        let psi_us = if cfg.psi_goal_us != 0 {
            let now = mm::psi_some_mem_total_us();
            now.saturating_sub(self.last_psi_us.swap(now, Ordering::Relaxed))
        } else {
            0
        };
        let goals = goals.get(..n).unwrap_or(&[]);
        let core = highest_score(goals, |g| match g.metric {
            GoalMetric::SomeMemPsiUs => psi_us,
            GoalMetric::UserInput => g.current,
        });
        let free = if cfg.free_goal_bp != 0 {
            mm::node_mem(cfg.nid)
                .and_then(|m| m.free_bp())
                .map(|free| goal_score(free, cfg.free_goal_bp))
        } else {
            None
        };
        core.max(free)
    }
}

impl Callbacks for ReclaimCallbacks {
    fn after_aggregation(&self, ctx: &mut Running<'_>) -> Result {
        super::commit_applied();
        let cfg = self.cfg.get();
        let aggr_interval_us = ctx.attrs().aggr_interval_us;
        let Some(mut s) = ctx.scheme(0) else {
            return Ok(());
        };
        let st = s.as_ref().stats();
        nr_reclaim_tried_regions.set(st.nr_tried);
        bytes_reclaim_tried_regions.set(st.sz_tried);
        nr_reclaimed_regions.set(st.nr_applied);
        bytes_reclaimed_regions.set(st.sz_applied);
        nr_quota_exceeds.set(st.qt_exceeds);
        let window = s.as_ref().quota_state().charged_from;
        if let Some(bytes) = self.windows.observe(window, st.sz_applied) {
            bytes_reclaimed_last_interval.set(bytes);
        }

        // Once per reset interval, the goal loop sets the next quota; the
        // deficit controller, once per charge window.
        let now = Ktime::ktime_get().to_ns() as u64;
        let new_quota = if cfg.deficit() {
            self.deficit_step(&mut s, &cfg)
        } else {
            let step = self.quota_loop.tick(
                &mut s,
                now,
                cfg.reset_interval_ms,
                cfg.tuner,
                cfg.cap,
                || self.score(&cfg),
            );
            if let Some(step) = step {
                goal_score_bp.set(step.score.unwrap_or(0));
            }
            step.filter(|st| st.esz_set).map(|st| st.quota_sz)
        };
        // The walk's last region is charged, the core's charge becomes
        // upstream's, and its esz the window's quota, before the next walk.
        self.fail_charge
            .between_walks(&mut s, new_quota, cfg.fail_num, cfg.fail_denom);
        effective_quota_sz.set(s.as_ref().quota_state().esz);
        self.tuning.after_aggregation(&mut s, aggr_interval_us, now)
    }

    const BEFORE_DAMOS_APPLY: bool = true;

    fn before_damos_apply(&self, s: &mut SchemeMut<'_>, region: Region) {
        let cfg = self.cfg.get();
        self.fail_charge
            .before_region(s, region.size(), cfg.fail_num, cfg.fail_denom);
    }

    fn after_wmarks_check(&self, _ctx: &mut Running<'_>) -> Result {
        super::commit_applied();
        Ok(())
    }

    fn before_terminate(&self, _ctx: &mut Running<'_>) {
        super::kdamond_terminated();
    }
}
