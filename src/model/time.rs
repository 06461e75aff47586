//! Time helpers. `now` is always passed in so views and tests are deterministic.

use std::time::{Duration, Instant};

use crate::model::objects::Event;
use jiff::{SignedDuration, Timestamp};

/// The app's notion of "now": the system clock, a replay's scaled clock, or a
/// fixed instant for tests and snapshots.
#[derive(Clone, Copy, Debug)]
pub enum Clock {
    System,
    /// `origin` at `started`, then `speed` seconds of scenario per wall second.
    Scaled {
        origin: Timestamp,
        started: Instant,
        speed: f64,
    },
    Fixed(Timestamp),
}

impl Clock {
    pub fn scaled(origin: Timestamp, speed: f64) -> Clock {
        Clock::Scaled {
            origin,
            started: Instant::now(),
            speed,
        }
    }

    pub fn now(&self) -> Timestamp {
        match *self {
            Clock::System => Timestamp::now(),
            Clock::Fixed(t) => t,
            Clock::Scaled {
                origin,
                started,
                speed,
            } => {
                let elapsed = started.elapsed().as_secs_f64() * speed;
                origin
                    .checked_add(SignedDuration::from_secs_f64(elapsed))
                    .unwrap_or(origin)
            }
        }
    }

    /// Wall time until the clock shows `t` (zero if already past).
    pub fn until(&self, t: Timestamp) -> Duration {
        let ahead = t.duration_since(self.now()).as_secs_f64();
        if ahead <= 0.0 {
            return Duration::ZERO;
        }
        let speed = match *self {
            Clock::Scaled { speed, .. } if speed > 0.0 => speed,
            _ => 1.0,
        };
        Duration::from_secs_f64(ahead / speed)
    }
}

/// Compact age as kubectl prints it: `42s`, `5m`, `5m12s` (under 10 minutes), `3h`, `3h20m`, `4d`.
pub fn format_age(now: Timestamp, since: Timestamp) -> String {
    let secs = now.as_second() - since.as_second();
    format_duration_secs(secs.max(0))
}

pub fn format_duration_secs(secs: i64) -> String {
    let secs = secs.max(0);
    if secs < 60 {
        format!("{secs}s")
    } else if secs < 600 {
        let (m, s) = (secs / 60, secs % 60);
        if s == 0 {
            format!("{m}m")
        } else {
            format!("{m}m{s}s")
        }
    } else if secs < 3600 {
        format!("{}m", secs / 60)
    } else if secs < 86_400 {
        let (h, m) = (secs / 3600, (secs % 3600) / 60);
        if m == 0 || h >= 10 {
            format!("{h}h")
        } else {
            format!("{h}h{m}m")
        }
    } else {
        format!("{}d", secs / 86_400)
    }
}

/// Countdown to a deadline: `1m42s left`, or `overdue 20s` once passed.
pub fn format_countdown(now: Timestamp, deadline: Timestamp) -> String {
    let left = deadline.as_second() - now.as_second();
    if left >= 0 {
        let (m, s) = (left / 60, left % 60);
        if m > 0 {
            format!("{m}m{s:02}s left")
        } else {
            format!("{s}s left")
        }
    } else {
        format!("overdue {}", format_duration_secs(-left))
    }
}

/// When an event last happened, ordered as kubectl orders them:
/// `series.lastObservedTime`, else `lastTimestamp`, else `eventTime`,
/// else `firstTimestamp`, else the object's creation time.
pub fn event_time(ev: &Event) -> Option<Timestamp> {
    ev.series
        .as_ref()
        .and_then(|s| s.last_observed_time.as_ref().map(|t| t.0))
        .or_else(|| ev.last_timestamp.as_ref().map(|t| t.0))
        .or_else(|| ev.event_time.as_ref().map(|t| t.0))
        .or_else(|| ev.first_timestamp.as_ref().map(|t| t.0))
        .or_else(|| ev.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// When an event first happened.
pub fn event_first_time(ev: &Event) -> Option<Timestamp> {
    ev.first_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| ev.event_time.as_ref().map(|t| t.0))
        .or_else(|| ev.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// How many times an event happened (`count`, or `series.count`), at least 1.
pub fn event_count(ev: &Event) -> i32 {
    ev.series
        .as_ref()
        .and_then(|s| s.count)
        .or(ev.count)
        .unwrap_or(1)
        .max(1)
}

/// `x5 over 3m` as kubectl describe prints repeated events; empty for a single one.
pub fn format_repeat(now: Timestamp, ev: &Event) -> String {
    let n = event_count(ev);
    if n <= 1 {
        return String::new();
    }
    match event_first_time(ev) {
        Some(first) => format!("x{n} over {}", format_age(now, first)),
        None => format!("x{n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn ages() {
        let now = ts("2026-11-30T03:00:00Z");
        assert_eq!(format_age(now, ts("2026-11-30T02:59:18Z")), "42s");
        assert_eq!(format_age(now, ts("2026-11-30T02:55:00Z")), "5m");
        assert_eq!(format_age(now, ts("2026-11-30T02:54:48Z")), "5m12s");
        assert_eq!(format_age(now, ts("2026-11-30T02:30:00Z")), "30m");
        assert_eq!(format_age(now, ts("2026-11-30T00:40:00Z")), "2h20m");
        assert_eq!(format_age(now, ts("2026-11-26T03:00:00Z")), "4d");
        // Clock skew: an object from the future is 0s old, never negative.
        assert_eq!(format_age(now, ts("2026-11-30T03:00:05Z")), "0s");
    }

    #[test]
    fn countdowns() {
        let now = ts("2026-11-30T03:00:00Z");
        assert_eq!(
            format_countdown(now, ts("2026-11-30T03:01:42Z")),
            "1m42s left"
        );
        assert_eq!(format_countdown(now, ts("2026-11-30T03:00:09Z")), "9s left");
        assert_eq!(
            format_countdown(now, ts("2026-11-30T02:59:40Z")),
            "overdue 20s"
        );
    }
}
