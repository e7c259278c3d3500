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

use crate::damon::{Callbacks, Context, Ops, Running};
use crate::min_age::{MinAgeConfig, MinAgeControl};
use crate::mm;
use crate::module_params;
use crate::param_enum;
use crate::params::check::{
    age_us, basis_points, interval_ms, interval_us, per_thousand, size, time_ms, time_us,
};
use crate::policy::{
    attrs::MonitoringAttrs,
    damos::{Watermarks, WmarkMetric},
    failcharge,
    quota::{goal_score, Tuner, GOAL_BP},
    reclaim::{ConfigError, ReclaimConfig},
};
use crate::quota_loop::{initial_quota, QuotaLoop};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
    /// Quota goal tuner: consist (proportional, upstream's) or temporal (all, then nothing).
    quota_goal_tuner: Tuner = Tuner::Consist, 0o600;
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
    /// Start of the target memory region in physical address (0 with end 0: biggest System RAM).
    monitor_region_start: u64 = 0, 0o600;
    /// End of the target memory region in physical address (0 with start 0: biggest System RAM).
    monitor_region_end: u64 = 0, 0o600;
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
    /// Size quota in effect for the current reset interval, 0 meaning unlimited (read-only).
    effective_quota_sz: u64 = 0, 0o400;
    /// Score of the most satisfied quota goal, in basis points of its target (read-only).
    goal_score_bp: u64 = 0, 0o400;
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
pub(crate) fn read_inputs() -> Result<(Context, Settings)> {
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
    let mut ctx = Context::new(Ops::PhysicalAddress)?;
    ctx.set_attrs(&cfg.attrs)?;
    ctx.add_physical_target(cfg.region.0, cfg.region.1)?;
    if reclaim.get() {
        // Goals are the module's own loop's (ReclaimCallbacks), not the core's.
        let mut scheme = cfg.scheme(&[]);
        let l = &settings.loop_cfg;
        scheme.quota.sz = initial_quota(l.tuner, l.cap, l.has_goals());
        ctx.add_scheme(&scheme)?;
    }
    Ok((ctx, settings))
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
}

/// What the reclaim kdamond runs after each aggregation: statistics,
/// fail-charge refunds, the goal loop and `min_age` tuning. Only the
/// kdamond touches the loop's state; atomics make it `Sync`.
#[pin_data]
pub(crate) struct ReclaimCallbacks {
    #[pin]
    tuning: MinAgeControl,
    cfg: LoopConfigCell,
    last_tried: AtomicU64,
    last_applied: AtomicU64,
    quota_loop: QuotaLoop,
    last_psi_us: AtomicU64,
}

/// A `LoopConfig` that the parameter hooks replace while the kdamond reads
/// it: a pointer-free copy in atomics, swapped field by field (a reader
/// may see a mix of two consistent configurations for one step).
struct LoopConfigCell {
    tuner_temporal: AtomicBool,
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
            tuner_temporal: AtomicBool::new(false),
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
        self.tuner_temporal.store(c.tuner == Tuner::Temporal, r);
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
            tuner: if self.tuner_temporal.load(r) {
                Tuner::Temporal
            } else {
                Tuner::Consist
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
            last_tried: AtomicU64::new(0),
            last_applied: AtomicU64::new(0),
            quota_loop: QuotaLoop::new(),
            last_psi_us: AtomicU64::new(mm::psi_some_mem_total_us()),
        })
    }

    /// New settings, from `commit_inputs`.
    pub(crate) fn update(&self, settings: Settings) {
        self.cfg.set(&settings.loop_cfg);
        self.tuning.update(settings.min_age);
    }

    /// The highest score of the goals set, or `None` if none is.
    fn score(&self, cfg: &LoopConfig) -> Option<u64> {
        let mut best = None;
        let mut consider = |s: u64| best = Some(best.map_or(s, |b: u64| b.max(s)));
        if cfg.psi_goal_us != 0 {
            let now = mm::psi_some_mem_total_us();
            let last = self.last_psi_us.swap(now, Ordering::Relaxed);
            consider(goal_score(now.saturating_sub(last), cfg.psi_goal_us));
        }
        if cfg.feedback != 0 {
            consider(goal_score(cfg.feedback, GOAL_BP));
        }
        if cfg.free_goal_bp != 0 {
            if let Some(free) = mm::node_mem(cfg.nid).and_then(|m| m.free_bp()) {
                consider(goal_score(free, cfg.free_goal_bp));
            }
        }
        best
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

        // Failed regions were charged in full by the 6.12 core: refund
        // what the charge ratio says they should not cost.
        let tried = st
            .sz_tried
            .wrapping_sub(self.last_tried.swap(st.sz_tried, Ordering::Relaxed));
        let applied = st
            .sz_applied
            .wrapping_sub(self.last_applied.swap(st.sz_applied, Ordering::Relaxed));
        s.refund_charge(failcharge::refund(
            tried,
            applied,
            cfg.fail_num,
            cfg.fail_denom,
        ));

        // Once per reset interval, the goal loop sets the next quota.
        let now = Ktime::ktime_get().to_ns() as u64;
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
        effective_quota_sz.set(s.as_ref().quota_state().esz);
        self.tuning.after_aggregation(&mut s, aggr_interval_us, now)
    }

    fn after_wmarks_check(&self, _ctx: &mut Running<'_>) -> Result {
        super::commit_applied();
        Ok(())
    }

    fn before_terminate(&self, _ctx: &mut Running<'_>) {
        super::kdamond_terminated();
    }
}
