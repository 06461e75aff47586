//! End to end: the real binary in a real terminal (tmux), driven by keys,
//! asserted on the captured screen. Needs tmux (the test setup installs it);
//! fails, never skips, without it.

#![allow(clippy::unwrap_used)] // test helpers: a failed setup should panic loudly

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
    session: String,
    dir: tempfile::TempDir,
}

impl Tmux {
    fn start(width: u16, height: u16) -> Tmux {
        let dir = tempfile::tempdir().unwrap();
        let socket = format!("spotcheck-e2e-{}-{}", std::process::id(), rand_suffix());
        let t = Tmux {
            socket,
            session: "e2e".into(),
            dir,
        };
        let ok = Command::new("tmux")
            .args([
                "-L",
                &t.socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                &t.session,
            ])
            .args(["-x", &width.to_string(), "-y", &height.to_string()])
            .args(["env", "-i", "PATH=/usr/bin:/bin", "TERM=xterm-256color"])
            .arg(format!("HOME={}", t.dir.path().display()))
            .args(["PS1=$ ", "bash", "--norc", "--noprofile"])
            .status()
            .expect("tmux must be installed (scripts/test installs it)");
        assert!(ok.success(), "tmux new-session failed");
        t
    }

    fn send(&self, keys: &[&str]) {
        let st = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", &self.session])
            .args(keys)
            .status()
            .unwrap();
        assert!(st.success());
        if keys.contains(&"Escape") {
            // A lone ESC followed at once by another key reads as Alt+key, in
            // any terminal: pause as a human would.
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// Waits until no process of this test's binary runs in the pane any more.
    fn wait_exit(&self, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = Command::new("tmux")
                .args([
                    "-L",
                    &self.socket,
                    "display-message",
                    "-p",
                    "-t",
                    &self.session,
                    "#{pane_current_command}",
                ])
                .output()
                .unwrap();
            if String::from_utf8_lossy(&out.stdout).trim() == "bash" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "spotcheck did not exit after {what}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn type_line(&self, line: &str) {
        self.send(&["-l", line]);
        self.send(&["Enter"]);
    }

    fn capture(&self) -> String {
        let out = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "capture-pane",
                "-p",
                "-t",
                &self.session,
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen satisfies `pred`; panics with the screen if not within 15 s.
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let screen = self.capture();
            if pred(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; screen was:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Saves the terminal modes, then starts the demo as a shell job whose
    /// pid is in the file `pid` (`echo rc=$?` prints its exit status), and
    /// waits for the table.
    fn start_demo_in_background(&self) {
        self.type_line(&format!("stty -g > {}", self.path("before").display()));
        self.type_line(&format!(
            "{} demo --log-file {} & echo $! > {}; fg; echo rc=$?",
            bin(),
            self.path("log").display(),
            self.path("pid").display()
        ));
        self.wait_for("the table", |s| {
            s.contains("Attention") && s.contains("NAME")
        });
    }

    /// Sends `SIG<sig>` to the demo started by `start_demo_in_background`
    /// and waits until it has exited.
    fn signal_demo(&self, sig: &str) {
        let pid = std::fs::read_to_string(self.path("pid")).unwrap();
        let st = Command::new("kill")
            .args([format!("-{sig}").as_str(), pid.trim()])
            .status()
            .unwrap();
        assert!(st.success(), "sent SIG{sig} to {pid}");
        self.wait_exit(&format!("SIG{sig}"));
    }

    /// The shell answers again, with the terminal modes saved before.
    fn assert_terminal_restored(&self, after: &str) {
        self.type_line(&format!(
            "stty -g > {}; echo back-$((1+1))",
            self.path("after").display()
        ));
        self.wait_for(&format!("shell after {after}"), |s| s.contains("back-2"));
        let before = std::fs::read_to_string(self.path("before")).unwrap();
        let now = std::fs::read_to_string(self.path("after")).unwrap();
        assert_eq!(before, now, "terminal modes restored after {after}");
    }

    fn resize(&self, width: u16, height: u16) {
        let st = Command::new("tmux")
            .args(["-L", &self.socket, "resize-window", "-t", &self.session])
            .args(["-x", &width.to_string(), "-y", &height.to_string()])
            .status()
            .unwrap();
        assert!(st.success(), "resize to {width}x{height}");
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        % 1_000_000
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_spotcheck")
}

/// The detail pane's title line for the selected unit (`┏ Pod shop/cart… ┓`).
fn detail_title(screen: &str) -> String {
    screen
        .lines()
        .flat_map(|l| l.split('┏').skip(1))
        .map(|s| {
            s.trim_matches(|c| c == '━' || c == '┓' || c == ' ')
                .to_string()
        })
        .find(|s| !s.is_empty())
        .unwrap_or_default()
}

#[test]
fn demo_navigate_filter_open_help_quit_and_terminal_is_restored() {
    let t = Tmux::start(160, 48);
    let log = t.path("spotcheck.log");
    t.type_line(&format!("stty -g > {}", t.path("before").display()));
    t.type_line(&format!("{} demo --log-file {}", bin(), log.display()));
    let screen = t.wait_for("the attention table", |s| {
        s.contains("Attention") && s.contains("WHY")
    });
    assert!(screen.contains("READ-ONLY"), "demo is read-only:\n{screen}");
    assert!(
        screen.contains("demo spot-storm"),
        "header names the demo source:\n{screen}"
    );

    // Move: focus detail pane to read its title, then back to the table.
    let before = {
        t.send(&["Tab"]);
        let s = t.wait_for("detail focus", |s| s.contains('┏'));
        detail_title(&s)
    };
    t.send(&["Escape"]);
    t.send(&["j"]);
    t.send(&["j"]);
    t.send(&["Tab"]);
    let after = detail_title(&t.wait_for("detail focus after moving", |s| {
        let d = detail_title(s);
        !d.is_empty() && d != before
    }));
    assert_ne!(before, after, "j moved the selection");
    t.send(&["Escape"]);

    // Filter to one namespace.
    t.send(&["/"]);
    t.send(&["-l", "ns:payments"]);
    t.send(&["Enter"]);
    let screen = t.wait_for("filtered table", |s| s.contains("/ns:payments"));
    let rows: Vec<&str> = screen
        .lines()
        .filter(|l| l.contains(" Pod ") || l.contains("│Pod "))
        .collect();
    assert!(
        rows.iter().all(|l| l.contains("payments")),
        "only payments rows:\n{screen}"
    );

    // Clear, open the first unit full screen: its cause chain and actions.
    t.send(&["Escape"]);
    t.wait_for("filter cleared", |s| !s.contains("/ns:payments"));
    t.send(&["g"]);
    t.send(&["Enter"]);
    let screen = t.wait_for("zoomed detail", |s| {
        s.contains("Why") && !s.contains("NS/CLUSTER")
    });
    assert!(
        screen.contains("What to do") && screen.contains("$ "),
        "actions with commands:\n{screen}"
    );
    t.send(&["Escape"]);
    t.wait_for("table again", |s| s.contains("NS/CLUSTER"));

    // Help overlay, generated from the keymap.
    t.send(&["?"]);
    let screen = t.wait_for("help", |s| s.contains("Keys") && s.contains("this help"));
    assert!(screen.contains("show / hide healthy"), "{screen}");
    t.send(&["x"]);
    t.wait_for("help closed", |s| !s.contains("this help"));

    // Command line.
    t.send(&[":"]);
    t.send(&["-l", "sort name"]);
    t.send(&["Enter"]);
    t.wait_for("sorted by name", |s| s.contains("sorted by name"));

    // Quit; the shell is usable and the terminal modes are as before.
    t.send(&["q"]);
    t.wait_exit("q");
    t.type_line(&format!(
        "stty -g > {}; echo restored-$((40+2))",
        t.path("after").display()
    ));
    let screen = t.wait_for("shell prompt after quit", |s| s.contains("restored-42"));
    assert!(
        !screen.contains("NS/CLUSTER"),
        "alternate screen left:\n{screen}"
    );
    let before = std::fs::read_to_string(t.path("before")).unwrap();
    let after = std::fs::read_to_string(t.path("after")).unwrap();
    assert_eq!(before, after, "terminal modes restored");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("start"),
        "logs go to the log file:\n{logged}"
    );
}

#[test]
fn resize_to_tiny_and_back_and_sigterm_restores_the_terminal() {
    let t = Tmux::start(80, 24);
    t.start_demo_in_background();
    t.resize(40, 10);
    t.wait_for("too-small note", |s| s.contains("terminal too small"));
    t.resize(80, 24);
    t.wait_for("table again", |s| {
        s.contains("Attention") && !s.contains("too small")
    });
    // SIGTERM from outside: the terminal is restored.
    t.signal_demo("TERM");
    t.assert_terminal_restored("SIGTERM");
}

/// The SSH session to the bastion drops: SIGHUP. spotcheck leaves the
/// alternate screen and raw mode and exits with 128 + 1, like a shell job.
#[test]
fn sighup_restores_the_terminal_and_exits_129() {
    let t = Tmux::start(100, 30);
    t.start_demo_in_background();
    t.signal_demo("HUP");
    let screen = t.wait_for("the exit status", |s| s.contains("rc="));
    assert!(screen.contains("rc=129"), "{screen}");
    assert!(
        !screen.contains("Attention"),
        "alternate screen left: {screen}"
    );
    t.assert_terminal_restored("SIGHUP");
}

#[test]
fn bad_theme_is_a_clear_error_before_the_tui_starts() {
    let dir = tempfile::tempdir().unwrap();
    let theme = dir.path().join("typo.toml");
    std::fs::write(&theme, "[roles]\nwarnin = \"yellow\"\n").unwrap();
    let out = Command::new(bin())
        .args(["demo", "--theme"])
        .arg(&theme)
        .args(["--log-file"])
        .arg(dir.path().join("log"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("typo.toml") && err.contains(":2") && err.contains("warnin"),
        "{err}"
    );
}
