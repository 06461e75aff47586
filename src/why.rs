//! `spotcheck why`: diagnose once and print (text, JSON, Markdown).
//!
//! Reads every `-f` dump (kubectl JSON/YAML, or a JSON object of AWS CLI
//! outputs), folds it into a fresh [`Fleet`], runs the same diagnosis as the
//! TUI and prints the units that need attention (all of them with `--all`).

use std::io::{Read, Write};

use jiff::Timestamp;
use serde::Serialize;

use crate::cli::{OutputFormat, WhyArgs};
use crate::diagnose::k8s::countdown;
use crate::diagnose::{Evidence, SuggestedAction, Unit, diagnose_fleet};
use crate::dump::{DumpError, Loaded};
use crate::model::Fleet;
use crate::model::time::{format_age, format_duration_secs};

/// Exit code: nothing needs attention.
pub const EXIT_OK: i32 = 0;
/// Exit code: at least one unit needs attention.
pub const EXIT_ATTENTION: i32 = 1;
/// Exit code: a dump could not be read (what could be read is still diagnosed).
pub const EXIT_BAD_INPUT: i32 = 2;

/// Output width of the text format.
const WIDTH: usize = 80;

/// Runs `spotcheck why`: prints the diagnosis to stdout, problems to stderr.
/// Exit code: 0 nothing needs attention, 1 something does, 2 bad input.
pub fn run(args: &WhyArgs) -> i32 {
    let now = args.now.unwrap_or_else(Timestamp::now);
    let mut fleet = Fleet::new();
    let mut bad = false;
    let stderr = std::io::stderr();
    for path in &args.files {
        let shown = path.display().to_string();
        let text = if shown == "-" {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).map(|_| s)
        } else {
            std::fs::read_to_string(path)
        };
        let text = match text {
            Ok(t) => t,
            Err(e) => {
                let _ = writeln!(stderr.lock(), "spotcheck: {shown}: cannot read: {e}");
                bad = true;
                continue;
            }
        };
        match load(&shown, &text) {
            Ok(loaded) => {
                for w in &loaded.warnings {
                    let _ = writeln!(stderr.lock(), "spotcheck: warning: {w}");
                }
                for ev in loaded.events {
                    fleet.apply(ev, now);
                }
            }
            Err(e) => {
                let _ = writeln!(stderr.lock(), "spotcheck: {e}");
                bad = true;
            }
        }
    }
    let code = report(&fleet, now, args);
    // As for the units in `report`: the process exits next.
    std::mem::forget(fleet);
    if bad { EXIT_BAD_INPUT } else { code }
}

/// Diagnoses `fleet` as of `now` and prints the units `args` asks for (the
/// targets, or every unit needing attention; all with `--all`) in its format.
/// Returns [`EXIT_ATTENTION`] when a printed unit needs attention, else [`EXIT_OK`].
pub fn report(fleet: &Fleet, now: Timestamp, args: &WhyArgs) -> i32 {
    let units: Vec<Unit> = diagnose_fleet(fleet, now)
        .into_iter()
        .filter(|u| args.targets.is_empty() || args.targets.iter().any(|t| matches_target(u, t)))
        .collect();
    let total = units.len();
    let attention = units
        .iter()
        .filter(|u| u.diagnosis.verdict.needs_attention())
        .count();
    // Named units are printed whatever their verdict.
    let shown: Vec<&Unit> = units
        .iter()
        .filter(|u| args.all || !args.targets.is_empty() || u.diagnosis.verdict.needs_attention())
        .collect();
    let out = match args.output {
        OutputFormat::Text => render_text(&shown, total, attention, now),
        OutputFormat::Json => render_json(&shown, now),
        OutputFormat::Markdown => render_markdown(&shown, total, attention, now),
    };
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth a message.
    let _ = stdout
        .write_all(out.as_bytes())
        .and_then(|_| stdout.flush());
    drop(shown);
    // The process exits next: freeing 100,000 diagnosed units one by one
    // would cost more than diagnosing them.
    std::mem::forget(units);
    if attention > 0 {
        EXIT_ATTENTION
    } else {
        EXIT_OK
    }
}

/// Whether a unit is the one a `KIND/NAME` (or bare `NAME`) target names:
/// `pod/web-1`, `node/ip-10-0-1-2`, `task/ID`, `service/NAME`,
/// `deployment/web` (any workload kind), or `web-1`.
pub fn matches_target(u: &Unit, target: &str) -> bool {
    use crate::diagnose::UnitKind;
    let Some((kind, name)) = target.split_once('/') else {
        return u.name == target
            || u.name.rsplit_once('/').is_some_and(|(_, n)| n == target)
            || u.id.ends_with(&format!("/{target}"));
    };
    let kind = kind.to_ascii_lowercase();
    match u.kind {
        UnitKind::Pod => matches!(kind.as_str(), "pod" | "pods" | "po") && u.name == name,
        UnitKind::Node => matches!(kind.as_str(), "node" | "nodes" | "no") && u.name == name,
        UnitKind::EcsTask => {
            kind == "task" && (u.name == name || u.id.ends_with(&format!("/{name}")))
        }
        UnitKind::EcsService => {
            kind == "service" && (u.name == name || u.id.ends_with(&format!("/{name}")))
        }
        UnitKind::Instance => {
            matches!(kind.as_str(), "ec2" | "instance")
                && (u.name == name || u.instance_id.as_deref() == Some(name))
        }
        UnitKind::Workload => {
            let full = match kind.as_str() {
                "deploy" | "deployments" => "deployment".to_string(),
                "rs" | "replicasets" => "replicaset".to_string(),
                "sts" | "statefulsets" => "statefulset".to_string(),
                "ds" | "daemonsets" => "daemonset".to_string(),
                "jobs" => "job".to_string(),
                other => other.to_string(),
            };
            u.name == format!("{full}/{name}")
        }
    }
}

/// Reads one dump: AWS CLI outputs or a kubectl dump.
pub fn load(path: &str, text: &str) -> Result<Loaded, DumpError> {
    let t = text.trim_start();
    if t.starts_with('{') {
        // Only a single JSON object can be an AWS dump; a kubectl stream fails here.
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(t) {
            if crate::dump::is_aws_dump(&v) {
                return crate::dump::aws::read(path, text);
            }
        }
    }
    crate::dump::kube::read(path, text)
}

fn kind_label(u: &Unit) -> &'static str {
    u.kind.label()
}

/// `shop/cart-7d9`, or the bare name for cluster-scoped units.
fn qualified(u: &Unit) -> String {
    if u.scope.is_empty() {
        u.name.clone()
    } else {
        format!("{}/{}", u.scope, u.name)
    }
}

fn when(now: Timestamp, at: Timestamp) -> String {
    if at.as_second() > now.as_second() {
        format!(
            "in {}",
            format_duration_secs(at.as_second() - now.as_second())
        )
    } else {
        format!("{} ago", format_age(now, at))
    }
}

fn evidence_line(now: Timestamp, e: &Evidence) -> String {
    let mut s = format!("{} {}", e.source, e.object);
    if !e.reason.is_empty() {
        s.push_str(&format!(" {}", e.reason));
    }
    let mut tags = Vec::new();
    if e.count > 1 {
        match e.first_at {
            Some(f) => tags.push(format!("x{} over {}", e.count, format_age(now, f))),
            None => tags.push(format!("x{}", e.count)),
        }
    }
    if let Some(at) = e.at {
        tags.push(when(now, at));
    }
    if !tags.is_empty() {
        s.push_str(&format!(" ({})", tags.join(", ")));
    }
    if !e.message.is_empty() {
        s.push_str(&format!(": {}", e.message));
    }
    s
}

/// Word-wraps `text` to [`WIDTH`], the first line after `first`, the rest after `rest`.
fn wrap(out: &mut String, first: &str, rest: &str, text: &str) {
    let mut line = first.to_string();
    let mut empty = true;
    let width = |s: &str| unicode_width::UnicodeWidthStr::width(s);
    for word in text.split_whitespace() {
        let sep = if empty { "" } else { " " };
        if !empty && width(&line) + 1 + width(word) > WIDTH {
            out.push_str(line.trim_end());
            out.push('\n');
            line = rest.to_string();
            empty = true;
        }
        let sep = if empty { "" } else { sep };
        // A word longer than a line is cut.
        if empty && width(rest) + width(word) > WIDTH {
            let mut chunk = String::new();
            for ch in word.chars() {
                if width(&line) + width(&chunk) + 1 > WIDTH {
                    out.push_str(&line);
                    out.push_str(&chunk);
                    out.push('\n');
                    line = rest.to_string();
                    chunk.clear();
                }
                chunk.push(ch);
            }
            line.push_str(&chunk);
        } else {
            line.push_str(sep);
            line.push_str(word);
        }
        empty = false;
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

fn summary(total: usize, attention: usize, now: Timestamp) -> String {
    if attention == 0 {
        format!("Nothing needs attention ({total} units checked, as of {now}).")
    } else {
        format!("{attention} of {total} units need attention (as of {now}).")
    }
}

/// The text format: fits 80 columns.
pub fn render_text(units: &[&Unit], total: usize, attention: usize, now: Timestamp) -> String {
    let mut out = String::new();
    wrap(&mut out, "", "", &summary(total, attention, now));
    for u in units {
        out.push('\n');
        let d = &u.diagnosis;
        let mut title = format!(
            "{} {} {}",
            d.verdict.label().to_uppercase(),
            kind_label(u),
            qualified(u)
        );
        if let Some(h) = &u.host {
            if h != &u.name {
                title.push_str(&format!(" on {h}"));
            }
        }
        if u.source != "dump" && !u.source.is_empty() {
            title.push_str(&format!(" [{}]", u.source));
        }
        wrap(&mut out, "", "         ", &title);
        wrap(&mut out, "  ", "  ", &d.headline);
        if let Some(dl) = d.deadline {
            wrap(
                &mut out,
                "  ",
                "  ",
                &format!("Deadline {dl} ({})", countdown(now, dl)),
            );
        }
        // The same event often backs several causes: print it once.
        let mut shown: Vec<(usize, &Evidence)> = Vec::new();
        for (i, c) in d.causes.iter().enumerate() {
            let head = format!("  {}. ", i + 1);
            let pad = " ".repeat(head.len());
            wrap(
                &mut out,
                &head,
                &pad,
                &format!("{}: {}", c.code.as_str(), c.detail),
            );
            for e in &c.evidence {
                let line = match shown.iter().find(|(_, s)| *s == e) {
                    Some((n, _)) => format!("{} {} {} (as in {n})", e.source, e.object, e.reason),
                    None => {
                        shown.push((i + 1, e));
                        evidence_line(now, e)
                    }
                };
                wrap(&mut out, &format!("{pad}- "), &format!("{pad}  "), &line);
            }
        }
        // Commands are never wrapped, so they can be copied whole.
        for a in &d.actions {
            let (mark, note) = if a.mutating {
                ("  ! ", " (changes state)")
            } else {
                ("  $ ", "")
            };
            wrap(&mut out, "  # ", "    ", &format!("{}{note}", a.title));
            out.push_str(mark);
            out.push_str(&a.command);
            out.push('\n');
        }
    }
    out
}

/// One unit in the documented JSON schema (fields in documented order).
#[derive(Serialize)]
pub struct JsonUnit<'a> {
    pub kind: &'static str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub verdict: &'static str,
    pub headline: &'a str,
    pub causes: Vec<JsonCause<'a>>,
    pub actions: &'a [SuggestedAction],
    pub id: &'a str,
    pub context: &'a str,
    pub state: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<Timestamp>,
}

/// One link of the cause chain in the JSON schema.
#[derive(Serialize)]
pub struct JsonCause<'a> {
    pub code: String,
    pub detail: &'a str,
    pub evidence: &'a [Evidence],
}

impl<'a> JsonUnit<'a> {
    pub fn new(u: &'a Unit) -> Self {
        let d = &u.diagnosis;
        JsonUnit {
            kind: kind_label(u),
            namespace: &u.scope,
            name: &u.name,
            verdict: d.verdict.label(),
            headline: &d.headline,
            causes: d
                .causes
                .iter()
                .map(|c| JsonCause {
                    code: c.code.as_str(),
                    detail: &c.detail,
                    evidence: &c.evidence,
                })
                .collect(),
            actions: &d.actions,
            id: &u.id,
            context: &u.source,
            state: &u.state,
            host: u.host.as_deref(),
            instance_id: u.instance_id.as_deref(),
            deadline: d.deadline,
            since: u.since,
        }
    }
}

/// The JSON format: an array of units (see docs/why.md).
pub fn render_json(units: &[&Unit], _now: Timestamp) -> String {
    let arr: Vec<JsonUnit<'_>> = units.iter().map(|u| JsonUnit::new(u)).collect();
    let mut s = serde_json::to_string_pretty(&arr).unwrap_or_else(|_| "[]".into());
    s.push('\n');
    s
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn md_code(s: &str) -> String {
    if s.contains('`') {
        format!("`` {s} ``")
    } else {
        format!("`{s}`")
    }
}

/// The Markdown format: a summary table, then one section per unit.
pub fn render_markdown(units: &[&Unit], total: usize, attention: usize, now: Timestamp) -> String {
    let mut out = String::new();
    out.push_str("## spotcheck why\n\n");
    out.push_str(&summary(total, attention, now));
    out.push_str("\n\n");
    if units.is_empty() {
        return out;
    }
    out.push_str("| Verdict | Kind | Name | Headline |\n|---|---|---|---|\n");
    for u in units {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            u.diagnosis.verdict.label(),
            kind_label(u),
            md_escape(&qualified(u)),
            md_escape(&u.diagnosis.headline)
        ));
    }
    for u in units {
        let d = &u.diagnosis;
        out.push_str(&format!(
            "\n### {} {} — {}\n\n",
            kind_label(u),
            md_escape(&qualified(u)),
            d.verdict.label()
        ));
        out.push_str(&format!("**{}**\n\n", md_escape(&d.headline)));
        let mut facts = vec![format!("state `{}`", md_escape(&u.state))];
        if let Some(h) = &u.host {
            facts.push(format!("host `{h}`"));
        }
        if let Some(i) = &u.instance_id {
            facts.push(format!("instance `{i}`"));
        }
        if let Some(dl) = d.deadline {
            facts.push(format!("deadline {dl} ({})", countdown(now, dl)));
        }
        out.push_str(&facts.join(" · "));
        out.push_str("\n\n");
        for (i, c) in d.causes.iter().enumerate() {
            out.push_str(&format!(
                "{}. `{}` {}\n",
                i + 1,
                c.code.as_str(),
                md_escape(&c.detail)
            ));
            for e in &c.evidence {
                out.push_str(&format!("   - {}\n", md_escape(&evidence_line(now, e))));
            }
        }
        if !d.actions.is_empty() {
            out.push_str("\nActions:\n\n");
            for a in &d.actions {
                let warn = if a.mutating { " (changes state)" } else { "" };
                out.push_str(&format!(
                    "- {}{warn}: {}\n",
                    md_escape(&a.title),
                    md_code(&a.command)
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_to_80_columns() {
        let mut out = String::new();
        let text = "word ".repeat(60) + &"x".repeat(200);
        wrap(&mut out, "  1. ", "     ", &text);
        for line in out.lines() {
            assert!(
                unicode_width::UnicodeWidthStr::width(line) <= WIDTH,
                "{line:?}"
            );
        }
        assert!(out.starts_with("  1. word word"));
        assert!(out.lines().nth(1).unwrap().starts_with("     word"));
    }
}
