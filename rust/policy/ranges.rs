// SPDX-License-Identifier: GPL-2.0

//! Physical address ranges a monitoring target covers: the System RAM
//! resources (upstream 7.2's default for DAMON_RECLAIM), a region the user
//! set, and either clipped to a NUMA node's span.
//!
//! Ranges are half-open, `[start, end)`, in bytes. DAMON aligns a range
//! outwards to [`MIN_REGION`] and refuses ranges that overlap once
//! aligned, so [`normalize`] does both before DAMON sees them.

use super::damos::MIN_REGION;

/// A physical address range `[start, end)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Range {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

impl Range {
    /// The range `[start, end)`.
    pub const fn new(start: u64, end: u64) -> Self {
        Self { start, end }
    }

    /// Whether the range has no byte.
    pub fn is_empty(&self) -> bool {
        self.start >= self.end
    }

    /// Bytes in the range (0 if empty).
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// The bytes both ranges have, if any.
    pub fn intersect(&self, other: &Range) -> Option<Range> {
        let r = Range::new(self.start.max(other.start), self.end.min(other.end));
        (!r.is_empty()).then_some(r)
    }
}

/// The most ranges a target is given: more System RAM resources than this
/// are refused (with an error), not silently dropped. A two-socket x86
/// server has four or five; 64 leaves room for many nodes and holes.
pub const MAX_RANGES: usize = 64;

/// Aligns each range of `ranges` outwards to [`MIN_REGION`] (as DAMON
/// does), drops empty ones, sorts them and merges those that overlap or
/// touch. The result is the first `n` entries, `n` returned. An end that
/// would align past `u64::MAX` is cut down to the last whole page (the
/// partial page at the top of the address space is dropped).
pub fn normalize(ranges: &mut [Range]) -> usize {
    let last_page = u64::MAX - (MIN_REGION - 1);
    // Aligned and non-empty ranges move to the front, in place (`n` ≤ `i`).
    let mut n = 0;
    for i in 0..ranges.len() {
        let Some(&r) = ranges.get(i) else { break };
        if r.is_empty() {
            continue;
        }
        let start = r.start - r.start % MIN_REGION;
        let end = match r.end % MIN_REGION {
            0 => r.end,
            rem => r.end.checked_add(MIN_REGION - rem).unwrap_or(last_page),
        };
        if let (true, Some(slot)) = (start < end, ranges.get_mut(n)) {
            *slot = Range::new(start, end);
            n += 1;
        }
    }
    let Some(live) = ranges.get_mut(..n) else {
        return 0;
    };
    live.sort_unstable_by_key(|r| r.start);
    // Merged ranges move to the front: `out` ≤ `i`.
    let mut out: usize = 0;
    for i in 0..live.len() {
        let Some(&r) = live.get(i) else { break };
        match out.checked_sub(1).and_then(|last| live.get_mut(last)) {
            Some(prev) if r.start <= prev.end => prev.end = prev.end.max(r.end),
            _ => {
                if let Some(slot) = live.get_mut(out) {
                    *slot = r;
                    out += 1;
                }
            }
        }
    }
    out
}

/// Why no set of ranges can be monitored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangesError {
    /// No System RAM (and no region set).
    NoMemory,
    /// More ranges than [`MAX_RANGES`].
    TooMany,
    /// The goal's node has no memory in the monitored ranges.
    NodeOutside,
}

/// What a reclaim target monitors: `region` if it is set (not `(0, 0)`),
/// else every range of `system_ram` (normalized); with `node`, only their
/// intersection with the node's span. Writes the ranges to `out` and
/// returns how many, in address order.
pub fn monitored(
    system_ram: &[Range],
    region: Range,
    node: Option<Range>,
    out: &mut [Range],
) -> Result<usize, RangesError> {
    let single = [region];
    let base: &[Range] = if region == Range::default() {
        system_ram
    } else {
        &single
    };
    if base.iter().all(Range::is_empty) {
        return Err(RangesError::NoMemory);
    }
    let mut n = 0;
    for r in base {
        let clipped = match node {
            Some(node) => r.intersect(&node),
            None => (!r.is_empty()).then_some(*r),
        };
        if let Some(c) = clipped {
            *out.get_mut(n).ok_or(RangesError::TooMany)? = c;
            n += 1;
        }
    }
    match out.get_mut(..n) {
        Some(live) if n > 0 => Ok(normalize(live)),
        _ => Err(RangesError::NodeOutside),
    }
}

/// Total bytes of `ranges`, saturated.
pub fn total_len(ranges: &[Range]) -> u64 {
    ranges.iter().map(Range::len).fold(0, u64::saturating_add)
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: u64 = 1 << 30;

    /// q35 with 5 GiB and two nodes, as /proc/iomem shows it (ends made
    /// exclusive): a low block below 1 MiB, 1 MiB-2 GiB, 4-7 GiB.
    const Q35: [Range; 3] = [
        Range::new(0x1000, 0x9fc00),
        Range::new(0x10_0000, 2 * G),
        Range::new(4 * G, 7 * G),
    ];

    #[test]
    fn normalize_aligns_sorts_and_merges() {
        let mut r = [
            Range::new(4 * G, 7 * G),
            Range::new(0x1000, 0x9fc00),
            Range::new(5, 5),
            Range::new(0x9f800, 0xa0000),
            Range::new(0x10_0000, 2 * G),
        ];
        let n = normalize(&mut r);
        assert_eq!(
            &r[..n],
            &[
                Range::new(0x1000, 0xa0000),
                Range::new(0x10_0000, 2 * G),
                Range::new(4 * G, 7 * G)
            ]
        );
        // The last, partial page cannot be aligned up: it is dropped.
        let mut top = [Range::new(u64::MAX - 10, u64::MAX)];
        assert_eq!(normalize(&mut top), 0);
        let mut empty: [Range; 0] = [];
        assert_eq!(normalize(&mut empty), 0);
    }

    #[test]
    fn default_is_every_system_ram_block() {
        let mut out = [Range::default(); MAX_RANGES];
        let n = monitored(&Q35, Range::default(), None, &mut out).unwrap();
        assert_eq!(n, 3);
        assert_eq!(out[0], Range::new(0x1000, 0xa0000));
        assert_eq!(out[2], Range::new(4 * G, 7 * G));
        assert_eq!(total_len(&out[..n]), 0x9f000 + 2 * G - 0x10_0000 + 3 * G);
    }

    #[test]
    fn a_set_region_keeps_its_meaning() {
        let mut out = [Range::default(); MAX_RANGES];
        let region = Range::new(G, 5 * G);
        assert_eq!(monitored(&Q35, region, None, &mut out), Ok(1));
        assert_eq!(out[0], region);
    }

    #[test]
    fn a_node_clips_to_its_memory() {
        let mut out = [Range::default(); MAX_RANGES];
        // Node 0 spans 0-4.5 GiB, the 2-4 GiB hole included.
        let node0 = Range::new(0, 4 * G + G / 2);
        let n = monitored(&Q35, Range::default(), Some(node0), &mut out).unwrap();
        assert_eq!(
            &out[..n],
            &[
                Range::new(0x1000, 0xa0000),
                Range::new(0x10_0000, 2 * G),
                Range::new(4 * G, 4 * G + G / 2)
            ]
        );
        let node1 = Range::new(4 * G + G / 2, 7 * G);
        let n = monitored(&Q35, Range::default(), Some(node1), &mut out).unwrap();
        assert_eq!(&out[..n], &[node1]);
        // A region on node 0 only: node 1 is outside it.
        let region = Range::new(0x10_0000, 2 * G);
        assert_eq!(
            monitored(&Q35, region, Some(node1), &mut out),
            Err(RangesError::NodeOutside)
        );
        assert_eq!(monitored(&Q35, region, Some(node0), &mut out), Ok(1));
    }

    #[test]
    fn nothing_or_too_much_is_refused() {
        let mut out = [Range::default(); 2];
        assert_eq!(
            monitored(&[], Range::default(), None, &mut out),
            Err(RangesError::NoMemory)
        );
        assert_eq!(
            monitored(&Q35, Range::default(), None, &mut out),
            Err(RangesError::TooMany)
        );
    }
}
