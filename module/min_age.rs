// SPDX-License-Identifier: GPL-2.0

//! `min_age` auto-tuning: its parameters, and the part of the reclaim
//! kdamond's callbacks that runs the controller and applies its value to
//! the running scheme.
//!
//! Every `autotune_min_age_interval_ms`, the kdamond reads what DAMON's
//! scheme tried, reclaimed and whether its quota was used up, the
//! kernel's `pgsteal_kswapd`/`pgsteal_direct`/`pgrotated` and the
//! workingset counters, feeds them to the controller
//! `autotune_min_age_algo` selects
//! ([`crate::policy::min_age_algo::Controller`]), and writes the new
//! `min_age` into the scheme's access pattern: no restart.

use crate::damon::SchemeMut;
use crate::mm;
use crate::module_params;
use crate::param_enum;
use crate::params::check::{age_us, interval_ms};
use crate::policy::{
    damos::age_in_aggregations,
    min_age::Bounds,
    min_age_algo::{Algo, Controller},
    min_age_signals::{Refaults, Sample},
};
use kernel::{new_mutex, page::PAGE_SIZE, prelude::*, sync::Mutex};

param_enum!(crate::policy::min_age_algo::Algo {
    Attributed = "attributed",
    Dama = "dama",
});

module_params! {
    /// Tune min_age from refaults and the kernel's own reclaim (min_age is the starting point).
    autotune_min_age: bool = false, 0o600;
    /// min_age controller: attributed (quota-aware, workingset-weighted) or dama (the DAMA RFC's).
    autotune_min_age_algo: Algo = Algo::Attributed, 0o600;
    /// Lowest min_age the tuning may choose, in microseconds.
    min_age_min: u64 = 1_000_000, 0o600, check = age_us;
    /// Highest min_age the tuning may choose, in microseconds.
    min_age_max: u64 = 600_000_000, 0o600, check = age_us;
    /// Period of the min_age tuning in milliseconds.
    autotune_min_age_interval_ms: u64 = 5_000, 0o600, check = interval_ms;
    /// The min_age in effect, in microseconds (read-only).
    current_min_age: u64 = 0, 0o400;
    /// Number of times the tuning raised min_age (read-only).
    min_age_increases: u64 = 0, 0o400;
    /// Number of times the tuning lowered min_age (read-only).
    min_age_decreases: u64 = 0, 0o400;
}

/// The tuning settings, read with the other parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MinAgeConfig {
    on: bool,
    algo: Algo,
    bounds: Bounds,
    start_us: u64,
    interval_ms: u64,
}

impl MinAgeConfig {
    /// The settings the parameters describe now; `EINVAL` (and a message)
    /// if the bounds are inverted.
    pub(crate) fn read(min_age_us: u64) -> Result<Self> {
        let bounds = Bounds {
            min_us: min_age_min.get(),
            max_us: min_age_max.get(),
        };
        if !bounds.is_valid() {
            pr_err!("min_age_min must not be above min_age_max\n");
            return Err(EINVAL);
        }
        Ok(Self {
            on: autotune_min_age.get(),
            algo: autotune_min_age_algo.get(),
            bounds,
            start_us: min_age_us,
            interval_ms: autotune_min_age_interval_ms.get(),
        })
    }
}

/// What the controller needs between periods.
struct Tuning {
    cfg: MinAgeConfig,
    /// The controller, while tuning is on.
    tuner: Option<Controller>,
    next_ns: u64,
}

impl Tuning {
    /// The `min_age` in effect: the controller's, or the parameter's.
    fn current_us(&self) -> u64 {
        self.tuner.map_or(self.cfg.start_us, |t| t.current_us())
    }

    /// Shows the state in the read-only parameters.
    fn publish(&self) {
        current_min_age.set(self.current_us());
        let (up, down) = self.tuner.map_or((0, 0), |t| t.changes());
        min_age_increases.set(up);
        min_age_decreases.set(down);
    }
}

/// The kdamond's side of the tuning.
#[pin_data]
pub(crate) struct MinAgeControl {
    #[pin]
    tuning: Mutex<Tuning>,
}

impl MinAgeControl {
    /// A control with settings `cfg`.
    pub(crate) fn new(cfg: MinAgeConfig) -> impl PinInit<Self> {
        let tuning = Tuning {
            cfg,
            tuner: cfg
                .on
                .then(|| Controller::new(cfg.algo, cfg.bounds, cfg.start_us)),
            next_ns: 0,
        };
        tuning.publish();
        pin_init!(Self {
            tuning <- new_mutex!(tuning),
        })
    }

    /// New settings, from `commit_inputs`: turning tuning on, or changing
    /// the controller, starts from `min_age`; while the same controller
    /// stays on, what was learned is kept and only the bounds change.
    pub(crate) fn update(&self, cfg: MinAgeConfig) {
        let mut t = self.tuning.lock();
        t.tuner = match (cfg.on, t.tuner.take()) {
            (false, _) => None,
            (true, Some(mut tuner)) if tuner.algo() == cfg.algo => {
                tuner.set_bounds(cfg.bounds);
                Some(tuner)
            }
            (true, _) => Some(Controller::new(cfg.algo, cfg.bounds, cfg.start_us)),
        };
        t.cfg = cfg;
        t.publish();
    }

    /// Runs after every aggregation: once a period, a controller step;
    /// every time, makes the scheme's `min_age` the one in effect (a
    /// commit resets it to the parameter's).
    pub(crate) fn after_aggregation(
        &self,
        s: &mut SchemeMut<'_>,
        aggr_interval_us: u64,
        now_ns: u64,
    ) -> Result {
        let mut t = self.tuning.lock();
        let Tuning {
            cfg,
            tuner,
            next_ns,
        } = &mut *t;
        let Some(tuner) = tuner else {
            return Ok(());
        };
        if now_ns >= *next_ns {
            *next_ns = now_ns.saturating_add(cfg.interval_ms.saturating_mul(1_000_000));
            // Without memory to read the counters into, the period is
            // skipped: the next one sees the sum of both.
            if let Ok(ev) = mm::reclaim_events() {
                let (anon, file) = mm::workingset();
                let refaults = |w: mm::Workingset| Refaults {
                    refault: w.refault,
                    activate: w.activate,
                    restore: w.restore,
                };
                let scheme = s.as_ref();
                let stats = scheme.stats();
                let quota = scheme.quota_state();
                let page = PAGE_SIZE as u64;
                tuner.update(Sample {
                    damon_applied: stats.sz_applied / page,
                    damon_tried: stats.sz_tried / page,
                    quota_exceeds: stats.qt_exceeds,
                    quota_full: quota.esz > 0 && quota.charged_sz >= quota.esz,
                    pgsteal_kswapd: ev.pgsteal_kswapd,
                    pgsteal_direct: ev.pgsteal_direct,
                    pgrotated: ev.pgrotated,
                    anon: refaults(anon),
                    file: refaults(file),
                });
            }
        }
        let age = age_in_aggregations(tuner.current_us(), aggr_interval_us);
        let mut pattern = s.as_ref().pattern();
        if pattern.age.0 != age {
            pattern.age.0 = age;
            s.set_pattern(&pattern)?;
        }
        t.publish();
        Ok(())
    }
}
