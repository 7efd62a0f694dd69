//! Range queries over a series return at most `max_points` buckets, read
//! from the coarsest resolution that is fine enough: a one-year chart
//! reads days of hourly aggregates, a one-day chart the hours of raw
//! values (bucketed by five minutes when that is fine enough).

use serde::Serialize;

use crate::{AggRow, Database, DbError};

/// Resolutions a chart reads: 5-minute buckets are made from raw values
/// as they are read; hourly aggregates are stored and outlive raw values.
pub const RES_5M: i64 = 5 * 60_000;
pub const RES_1H: i64 = 60 * 60_000;
pub const RESOLUTIONS: [i64; 2] = [RES_5M, RES_1H];

/// A time range and how many points the chart can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub from_ms: i64,
    pub to_ms: i64,
    pub max_points: u32,
}

/// Which stored rows answer a range, and how wide each returned bucket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// 0 for raw points, else the roll-up resolution read.
    pub source_res_ms: i64,
    pub width_ms: i64,
}

/// One bucket of a series, starting at `at_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    pub at_ms: i64,
    pub min: f64,
    pub max: f64,
    pub avg: f64,
    pub last: f64,
    pub count: i64,
}

/// Raw values older than `raw_kept_since_ms` are pruned, so a range that
/// reaches before it reads hourly aggregates even when zoomed in.
pub fn plan(range: Range, raw_kept_since_ms: i64) -> Plan {
    // Saturating: the range comes from a query string.
    let span = range.to_ms.saturating_sub(range.from_ms).max(1);
    let points = i64::from(range.max_points.max(1));
    // Ceiling divisions written so they cannot overflow (both sides ≥ 1).
    let width = (span - 1) / points + 1;
    let round_up = |res: i64| ((width - 1) / res + 1).saturating_mul(res);
    if width >= RES_1H || range.from_ms < raw_kept_since_ms {
        Plan {
            source_res_ms: RES_1H,
            width_ms: round_up(RES_1H),
        }
    } else if width >= RES_5M {
        Plan {
            source_res_ms: RES_5M,
            width_ms: round_up(RES_5M),
        }
    } else {
        Plan {
            source_res_ms: 0,
            width_ms: width.max(1),
        }
    }
}

/// The start of the bucket of `width_ms` holding `at_ms`.
pub fn bucket_start(at_ms: i64, width_ms: i64) -> i64 {
    at_ms.div_euclid(width_ms) * width_ms
}

/// Merges rows (oldest first) into buckets of `width_ms`.
pub fn merge(rows: &[AggRow], width_ms: i64) -> Vec<Point> {
    let mut out: Vec<(Point, f64)> = Vec::new();
    for r in rows {
        let at_ms = bucket_start(r.at_ms, width_ms);
        match out.last_mut() {
            Some((p, sum)) if p.at_ms == at_ms => {
                p.min = p.min.min(r.min);
                p.max = p.max.max(r.max);
                p.last = r.last;
                p.count += r.count;
                *sum += r.sum;
            }
            _ => out.push((
                Point {
                    at_ms,
                    min: r.min,
                    max: r.max,
                    avg: 0.0,
                    last: r.last,
                    count: r.count,
                },
                r.sum,
            )),
        }
    }
    out.into_iter()
        .map(|(mut p, sum)| {
            // Counts come from the store; a zero would be a corrupt row.
            p.avg = sum / p.count.max(1) as f64;
            p
        })
        .collect()
}

/// A series over a range, with the plan that produced it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub name: String,
    #[serde(flatten)]
    pub plan: Plan,
    pub points: Vec<Point>,
}

/// Reads one variable of a host over `range`.
pub async fn query<D: Database>(
    db: &D,
    host_id: &str,
    name: &str,
    range: Range,
    raw_kept_since_ms: i64,
) -> Result<Series, DbError> {
    let plan = plan(range, raw_kept_since_ms);
    let start = bucket_start(range.from_ms, plan.width_ms);
    let rows = db
        .series_rows(host_id, name, plan.source_res_ms, start, range.to_ms)
        .await?;
    let mut points = merge(&rows, plan.width_ms);
    // Aligned buckets can straddle both ends: one more than asked for.
    let max = usize::try_from(range.max_points).unwrap_or(usize::MAX);
    if points.len() > max {
        points.drain(..points.len() - max);
    }
    Ok(Series {
        name: name.to_owned(),
        plan,
        points,
    })
}

/// Aggregates raw points `(at_ms, value)`, oldest first, as one bucket.
pub fn aggregate(at_ms: i64, points: &[(i64, f64)]) -> Option<AggRow> {
    crate::chunk::HourAgg::of(points).map(|agg| agg.row(at_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 24 * RES_1H;

    fn range(span: i64, max_points: u32) -> Range {
        Range {
            from_ms: 1_000 * DAY,
            to_ms: 1_000 * DAY + span,
            max_points,
        }
    }

    #[test]
    fn plans_hold_at_the_ends_of_time() {
        let range = Range {
            from_ms: i64::MIN,
            to_ms: i64::MAX,
            max_points: 1,
        };
        let plan = plan(range, 0);
        assert_eq!(plan.source_res_ms, RES_1H);
        assert!(plan.width_ms > 0);
        let tiny = Range {
            from_ms: 5,
            to_ms: 5,
            max_points: u32::MAX,
        };
        assert_eq!(super::plan(tiny, 0).width_ms, 1);
    }

    #[test]
    fn plans_read_the_coarsest_fine_enough_rows() {
        let recent = 0;
        assert_eq!(
            plan(range(RES_1H, 600), recent),
            Plan {
                source_res_ms: 0,
                width_ms: 6_000
            }
        );
        assert_eq!(
            plan(range(DAY, 100), recent),
            Plan {
                source_res_ms: RES_5M,
                width_ms: 15 * 60_000
            }
        );
        assert_eq!(
            plan(range(365 * DAY, 500), recent),
            Plan {
                source_res_ms: RES_1H,
                width_ms: 18 * RES_1H
            }
        );
        // Zoomed into a day whose raw values are pruned: hours answer.
        assert_eq!(plan(range(RES_1H, 600), 1_001 * DAY).source_res_ms, RES_1H);
    }

    #[test]
    fn merging_keeps_min_max_avg_last() {
        let row = |at_ms, v: f64| AggRow {
            at_ms,
            min: v,
            max: v,
            sum: v,
            count: 1,
            last: v,
        };
        let rows = [row(0, 4.0), row(10, 1.0), row(20, 7.0), row(30, 2.0)];
        let points = merge(&rows, 20);
        assert_eq!(points.len(), 2);
        assert_eq!(
            points[0],
            Point {
                at_ms: 0,
                min: 1.0,
                max: 4.0,
                avg: 2.5,
                last: 1.0,
                count: 2
            }
        );
        assert_eq!(
            (points[1].at_ms, points[1].avg, points[1].last),
            (20, 4.5, 2.0)
        );
        let agg = aggregate(0, &[(1, 3.0), (2, 5.0), (3, 1.0)]).expect("rows");
        assert_eq!(
            (agg.min, agg.max, agg.sum, agg.count, agg.last),
            (1.0, 5.0, 9.0, 3, 1.0)
        );
        assert_eq!(aggregate(0, &[]), None);
    }
}
