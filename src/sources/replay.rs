//! Recordings (JSONL) and their replay.
//!
//! Format, version [`FORMAT_VERSION`](super::FORMAT_VERSION):
//! ```text
//! {"format":"spotcheck-recording","version":1,"started":"2026-11-30T02:50:00Z","name":"spot-storm","description":"…"}
//! {"at":"2026-11-30T02:50:00Z","event":{"type":"kubeApply","context":"prod-eks","object":{…}}}
//! ```
//! The first line is the header; each further line is one [`SourceEvent`]
//! with the time it was observed, in time order. Blank lines and lines starting
//! with `#` are ignored. A malformed or unknown line is reported with its line
//! number and skipped.
//!
//! Replay is time-shifted to the present: every timestamp inside the events
//! (any JSON string that is a complete RFC 3339 timestamp) moves by the same
//! offset, so that the recording's `started + start_at` becomes "now".

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedSender;

use super::{FORMAT_VERSION, Health, Observed, SourceEvent, SourceId};
use crate::model::time::Clock;

pub const FORMAT_NAME: &str = "spotcheck-recording";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    /// Recording start: the origin of `--start-at`.
    pub started: Timestamp,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

impl Header {
    pub fn new(started: Timestamp, name: &str, description: &str) -> Self {
        Header {
            format: FORMAT_NAME.into(),
            version: FORMAT_VERSION,
            started,
            name: name.into(),
            description: description.into(),
        }
    }
}

/// One line of a recording, as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub at: Timestamp,
    pub event: SourceEvent,
}

/// A problem with one line: reported, then skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error(
        "recording is empty: expected a header line {{\"format\":\"{FORMAT_NAME}\",\"version\":{FORMAT_VERSION},…}}"
    )]
    Empty,
    #[error("line 1: not a spotcheck recording header: {0}")]
    BadHeader(String),
    #[error(
        "line 1: recording format version {found} is newer than this spotcheck understands ({FORMAT_VERSION}); upgrade spotcheck"
    )]
    NewerVersion { found: u32 },
}

/// A parsed recording. Events keep their raw JSON so each replay can shift
/// timestamps before typing them.
#[derive(Clone, Debug)]
pub struct Recording {
    pub header: Header,
    /// `(line number, observed at, raw event)`, sorted by time (stable).
    pub lines: Vec<(usize, Timestamp, serde_json::Value)>,
    /// Lines that were skipped, with why.
    pub errors: Vec<LineError>,
}

impl Recording {
    pub fn parse(text: &str) -> Result<Recording, RecordingError> {
        let mut iter = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim()))
            .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
        let (_, first) = iter.next().ok_or(RecordingError::Empty)?;
        let header: Header =
            serde_json::from_str(first).map_err(|e| RecordingError::BadHeader(e.to_string()))?;
        if header.format != FORMAT_NAME {
            return Err(RecordingError::BadHeader(format!(
                "format is {:?}, expected {FORMAT_NAME:?}",
                header.format
            )));
        }
        if header.version > FORMAT_VERSION {
            return Err(RecordingError::NewerVersion {
                found: header.version,
            });
        }
        let mut lines = Vec::new();
        let mut errors = Vec::new();
        for (n, text) in iter {
            match check_line(text) {
                Ok((at, value)) => lines.push((n, at, value)),
                Err(message) => errors.push(LineError { line: n, message }),
            }
        }
        lines.sort_by_key(|(_, at, _)| *at);
        Ok(Recording {
            header,
            lines,
            errors,
        })
    }

    /// Scenario time of the last event (the recording's end).
    pub fn end(&self) -> Timestamp {
        self.lines
            .last()
            .map(|(_, at, _)| *at)
            .unwrap_or(self.header.started)
    }

    /// Typed events with timestamps moved by `shift`, with their (shifted) observation time.
    pub fn events_shifted(&self, shift: SignedDuration) -> Vec<Observed> {
        self.lines
            .iter()
            .filter_map(|(_, at, value)| {
                let mut v = value.clone();
                shift_timestamps(&mut v, shift);
                let event: SourceEvent = serde_json::from_value(v).ok()?;
                Some(Observed {
                    at: at.checked_add(shift).unwrap_or(*at),
                    event,
                })
            })
            .collect()
    }

    /// The fleet state at `offset` into the recording, without any shift:
    /// for tests and snapshots at a fixed point.
    pub fn events_until(&self, until: Timestamp) -> Vec<Observed> {
        self.events_shifted(SignedDuration::ZERO)
            .into_iter()
            .filter(|o| o.at <= until)
            .collect()
    }
}

fn check_line(text: &str) -> Result<(Timestamp, serde_json::Value), String> {
    let mut value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let at = value
        .get("at")
        .and_then(|a| a.as_str())
        .ok_or("missing \"at\" timestamp")?
        .parse::<Timestamp>()
        .map_err(|e| format!("bad \"at\" timestamp: {e}"))?;
    let event = value
        .get_mut("event")
        .map(serde_json::Value::take)
        .ok_or("missing \"event\"")?;
    // Type-check now so a bad line is reported at load time, not mid-replay.
    serde_json::from_value::<SourceEvent>(event.clone()).map_err(|e| {
        let ty = event
            .get("type")
            .and_then(|t| t.as_str())
            .unwrap_or("<none>");
        format!("event of type {ty:?} not understood: {e}")
    })?;
    Ok((at, event))
}

/// Moves every string that is a complete RFC 3339 timestamp by `shift`.
pub fn shift_timestamps(value: &mut serde_json::Value, shift: SignedDuration) {
    if shift.is_zero() {
        return;
    }
    match value {
        serde_json::Value::String(s) if looks_like_timestamp(s) => {
            if let Some(moved) = s
                .parse::<Timestamp>()
                .ok()
                .and_then(|t| t.checked_add(shift).ok())
            {
                *s = moved.to_string();
            }
        }
        serde_json::Value::Array(items) => {
            items.iter_mut().for_each(|v| shift_timestamps(v, shift))
        }
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| shift_timestamps(v, shift)),
        _ => {}
    }
}

fn looks_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 20
        && b.len() <= 40
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[..4].iter().all(u8::is_ascii_digit)
}

#[derive(Clone, Debug)]
pub struct ReplayOptions {
    /// Offset into the recording applied at once at start.
    pub start_at: SignedDuration,
    /// Playback speed (1.0 = real time).
    pub speed: f64,
    /// Start again from the beginning after the end.
    pub repeat: bool,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            start_at: SignedDuration::ZERO,
            speed: 1.0,
            repeat: false,
        }
    }
}

/// Parses `--start-at`/durations: `4m`, `90s`, `1m30s`, `0`.
pub fn parse_offset(s: &str) -> Result<SignedDuration, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(SignedDuration::ZERO);
    }
    let d: SignedDuration = s
        .parse()
        .map_err(|_| format!("{s:?} is not a duration; use e.g. 4m, 90s, 1m30s"))?;
    if d.is_negative() {
        return Err(format!("{s:?} is negative"));
    }
    Ok(d)
}

/// The clock a replay runs on: the recording's `started + start_at` is the
/// moment of launch, and scenario time passes `speed` times faster than wall time.
pub fn replay_clock(opts: &ReplayOptions, launched: Timestamp) -> Clock {
    Clock::scaled(launched, opts.speed)
}

/// Plays `rec` into `tx`, time-shifted so `started + start_at` = `clock` origin.
/// Returns when the recording ended (and not repeating) or the receiver is gone.
pub async fn play(
    rec: Recording,
    opts: ReplayOptions,
    clock: Clock,
    tx: UnboundedSender<Observed>,
) {
    let source = SourceId::replay(if rec.header.name.is_empty() {
        "recording"
    } else {
        &rec.header.name
    });
    let mut first = true;
    loop {
        let launched = clock.now();
        let base = rec
            .header
            .started
            .checked_add(opts.start_at)
            .unwrap_or(rec.header.started);
        let shift = launched.duration_since(base);
        if !first
            && tx
                .send(Observed {
                    at: launched,
                    event: SourceEvent::Reset {
                        source: source.clone(),
                    },
                })
                .is_err()
        {
            return;
        }
        first = false;
        let health = |done| Observed {
            at: clock.now(),
            event: SourceEvent::Health {
                source: source.clone(),
                health: Health::Replaying { done },
            },
        };
        if tx.send(health(false)).is_err() {
            return;
        }
        for obs in rec.events_shifted(shift) {
            let wait = clock.until(obs.at);
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            if tx.send(obs).is_err() {
                return;
            }
        }
        if tx.send(health(true)).is_err() {
            return;
        }
        if !opts.repeat {
            return;
        }
        // Hold the final state a moment so the end is visible, then start over.
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = r#"{"format":"spotcheck-recording","version":1,"started":"2026-11-30T03:00:00Z","name":"t"}"#;

    #[test]
    fn corrupt_lines_are_reported_with_line_numbers_and_skipped() {
        let text = format!(
            "{HEADER}\n\
             {{\"at\":\"2026-11-30T03:00:01Z\",\"event\":{{\"type\":\"health\",\"source\":{{\"kind\":\"kube\",\"name\":\"c\"}},\"health\":{{\"state\":\"live\"}}}}}}\n\
             {{not json\n\
             \n\
             {{\"at\":\"2026-11-30T03:00:02Z\",\"event\":{{\"type\":\"teleport\"}}}}\n\
             {{\"event\":{{\"type\":\"reset\",\"source\":{{\"kind\":\"replay\",\"name\":\"t\"}}}}}}\n"
        );
        let rec = Recording::parse(&text).unwrap();
        assert_eq!(rec.lines.len(), 1);
        let lines: Vec<usize> = rec.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 5, 6]);
        assert!(
            rec.errors[0].message.contains("not JSON"),
            "{}",
            rec.errors[0]
        );
        assert!(
            rec.errors[1].message.contains("teleport"),
            "{}",
            rec.errors[1]
        );
        assert!(
            rec.errors[2].message.contains("missing \"at\""),
            "{}",
            rec.errors[2]
        );
    }

    #[test]
    fn header_problems_are_fatal_and_specific() {
        assert!(matches!(Recording::parse(""), Err(RecordingError::Empty)));
        assert!(matches!(
            Recording::parse("{}"),
            Err(RecordingError::BadHeader(_))
        ));
        let newer = HEADER.replace("\"version\":1", "\"version\":99");
        assert!(matches!(
            Recording::parse(&newer),
            Err(RecordingError::NewerVersion { found: 99 })
        ));
    }

    #[test]
    fn shifting_moves_only_whole_timestamps() {
        let mut v = serde_json::json!({
            "a": "2026-11-30T03:00:00Z",
            "b": ["2026-11-30T03:00:00.500+00:00", "pod 2026-11-30T03:00:00Z"],
            "c": "2026-11-30",
            "d": 7
        });
        shift_timestamps(&mut v, SignedDuration::from_secs(90));
        assert_eq!(v["a"], "2026-11-30T03:01:30Z");
        assert_eq!(v["b"][0], "2026-11-30T03:01:30.5Z");
        assert_eq!(v["b"][1], "pod 2026-11-30T03:00:00Z");
        assert_eq!(v["c"], "2026-11-30");
        assert_eq!(v["d"], 7);
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("4m").unwrap(), SignedDuration::from_secs(240));
        assert_eq!(
            parse_offset("1m30s").unwrap(),
            SignedDuration::from_secs(90)
        );
        assert_eq!(parse_offset("0").unwrap(), SignedDuration::ZERO);
        assert!(parse_offset("soon").unwrap_err().contains("not a duration"));
    }
}
