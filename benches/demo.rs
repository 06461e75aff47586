//! Demo performance, measured on the release binary in a real terminal (tmux):
//! - time from process start to the first full frame (logged by the binary);
//! - RSS after 60 s of demo;
//! - CPU while the demo idles (replay ended, nothing shown changes);
//! - bytes written per second while nothing changes (`wchar` of the process:
//!   terminal output plus log lines; nothing is logged while idle).
//!
//! Run: `cargo bench --bench demo` (about 2 minutes). Needs tmux.

use std::process::Command;
use std::time::{Duration, Instant};

fn tmux(socket: &str, args: &[&str]) -> String {
    let out = Command::new("tmux")
        .args(["-L", socket])
        .args(args)
        .output()
        .expect("tmux");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Run {
    socket: String,
    pid: u32,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Run {
    fn start(args: &str) -> Run {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("spotcheck.log");
        let socket = format!("spotcheck-bench-{}", std::process::id());
        let _ = Command::new("tmux")
            .args(["-L", &socket, "kill-server"])
            .status();
        let cmd = format!(
            "exec env TERM=xterm-256color {} {args} --log-file {}",
            env!("CARGO_BIN_EXE_spotcheck"),
            log.display()
        );
        tmux(
            &socket,
            &[
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "160",
                "-y",
                "48",
                &cmd,
            ],
        );
        let pid: u32 = tmux(&socket, &["list-panes", "-F", "#{pane_pid}"])
            .trim()
            .parse()
            .expect("pane pid");
        Run {
            socket,
            pid,
            log,
            _dir: dir,
        }
    }

    fn first_frame_ms(&self) -> f64 {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            if let Some(line) = text.lines().find(|l| l.contains("first frame")) {
                let v = line.split("first_frame_ms=").nth(1).expect("field");
                return v
                    .split_whitespace()
                    .next()
                    .expect("value")
                    .parse()
                    .expect("number");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no first frame logged");
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).expect("status");
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .expect("VmRSS")
    }

    /// (CPU ticks user+system, bytes written).
    fn counters(&self) -> (u64, u64) {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).expect("stat");
        let after_comm = &stat[stat.rfind(')').expect(")") + 2..];
        let f: Vec<&str> = after_comm.split_whitespace().collect();
        let ticks = f[11].parse::<u64>().expect("utime") + f[12].parse::<u64>().expect("stime");
        let io = std::fs::read_to_string(format!("/proc/{}/io", self.pid)).expect("io");
        let wchar = io
            .lines()
            .find(|l| l.starts_with("wchar:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .expect("wchar");
        (ticks, wchar)
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// Sleeps until the wall clock reaches second `s` of a minute.
fn wait_for_second_of_minute(s: u64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock");
    let into = now.as_secs() % 60;
    let wait = (s + 60 - into) % 60;
    std::thread::sleep(Duration::from_secs(wait) + Duration::from_millis(200));
}

fn main() {
    // `cargo test --benches` runs benches once in test mode: keep that cheap.
    if std::env::args().any(|a| a == "--test")
        || std::env::var_os("SPOTCHECK_BENCH_QUICK").is_some()
    {
        println!("demo bench: skipped in test mode (run `cargo bench --bench demo`)");
        return;
    }
    let ticks_per_sec = 100.0; // USER_HZ on Linux

    let mut firsts = Vec::new();
    for _ in 0..5 {
        let run = Run::start("demo");
        firsts.push(run.first_frame_ms());
    }
    firsts.sort_by(f64::total_cmp);
    println!(
        "first full frame: median {:.1} ms (min {:.1}, max {:.1}, 5 runs)",
        firsts[2], firsts[0], firsts[4]
    );

    let run = Run::start("demo");
    run.first_frame_ms();
    std::thread::sleep(Duration::from_secs(60));
    println!(
        "RSS after 60 s of demo: {:.1} MiB",
        run.rss_kib() as f64 / 1024.0
    );
    drop(run);

    // Idle: start long past the end of the recording, so every age is in
    // days and nothing on screen changes but the HH:MM clock; measure inside
    // one wall-clock minute so the clock does not change either.
    let run = Run::start("demo --start-at 50h");
    run.first_frame_ms();
    let window = 30.0;
    wait_for_second_of_minute(5);
    let (t0, w0) = run.counters();
    std::thread::sleep(Duration::from_secs_f64(window));
    let (t1, w1) = run.counters();
    let cpu = (t1 - t0) as f64 / ticks_per_sec / window * 100.0;
    println!("CPU while idle: {cpu:.2} % of a core over {window} s");
    println!(
        "bytes written while nothing shown changes: {:.1} B/s over {window} s ({} bytes)",
        (w1 - w0) as f64 / window,
        w1 - w0
    );
    drop(run);

    // For comparison: 40 minutes in, ages tick over minute boundaries.
    let run = Run::start("demo --start-at 40m");
    run.first_frame_ms();
    std::thread::sleep(Duration::from_secs(3));
    let (_, w0) = run.counters();
    std::thread::sleep(Duration::from_secs_f64(window));
    let (_, w1) = run.counters();
    println!(
        "bytes written with ages ticking (40 min in): {:.1} B/s over {window} s",
        (w1 - w0) as f64 / window
    );
}
