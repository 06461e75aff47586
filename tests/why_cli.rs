//! End-to-end: the real `spotcheck why -f` binary on kubectl dumps, every
//! output format, and the exit codes (0 fine, 1 attention, 2 bad input).

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const NOW: &str = "2026-11-30T03:00:00Z";

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/k8s/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn why(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spotcheck"))
        .arg("why")
        .args(["--now", NOW])
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

#[test]
fn text_output_fits_80_columns_and_exits_1() {
    let f = fixture("spot-storm.json");
    let o = why(&["-f", &f]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("10 of 11 units need attention (as of 2026-11-30T03:00:00Z)."),
        "{out}"
    );
    assert!(out.contains("STUCK Pod data/reports-6f7a8-new on ip-10-0-3-7.ec2.internal"));
    assert!(
        out.contains("  1. volume-multi-attach: volume pvc-0f3a9c2e-5b1d-4e8f-9a7c-2d4b6e8f0a1c")
    );
    assert!(
        out.contains("  ! kubectl -n data delete pod reports-6f7a8-old --force --grace-period=0\n")
    );
    assert!(out.contains("  Deadline 2026-11-30T03:01:00Z (1m00s left)"));
    for line in out.lines() {
        // Commands are printed whole so they can be copied; everything else fits.
        if line.starts_with("  $ ") || line.starts_with("  ! ") {
            continue;
        }
        assert!(line.chars().count() <= 80, "too wide: {line:?}");
    }
    // Healthy units only with --all.
    assert!(!out.contains("ip-10-0-3-7.ec2.internal\n  Ready"));
    let all = stdout(&why(&["-f", &f, "--all"]));
    assert!(
        all.contains("RUNNING Node ip-10-0-3-7.ec2.internal"),
        "{all}"
    );
}

#[test]
fn json_output_has_the_documented_schema() {
    let o = why(&["-f", &fixture("starting.json"), "-o", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let units = v.as_array().unwrap();
    assert_eq!(units.len(), 9);
    for u in units {
        for key in [
            "kind",
            "namespace",
            "name",
            "verdict",
            "headline",
            "causes",
            "actions",
        ] {
            assert!(u.get(key).is_some(), "{key} missing in {u}");
        }
        for c in u["causes"].as_array().unwrap() {
            let code = c["code"].as_str().unwrap();
            assert!(
                code.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-'),
                "{code}"
            );
            assert!(c["detail"].is_string());
            for e in c["evidence"].as_array().unwrap() {
                for key in ["source", "object", "reason", "message", "count"] {
                    assert!(e.get(key).is_some(), "{key} missing in {e}");
                }
            }
        }
        for a in u["actions"].as_array().unwrap() {
            assert!(
                a["command"].is_string() && a["title"].is_string() && a["mutating"].is_boolean()
            );
        }
    }
    let oom = units
        .iter()
        .find(|u| u["name"] == "cart-7d9f8c6b5-oom4x")
        .unwrap();
    assert_eq!(oom["kind"], "Pod");
    assert_eq!(oom["namespace"], "shop");
    assert_eq!(oom["verdict"], "Crashing");
    assert_eq!(oom["context"], "dump");
    assert_eq!(oom["host"], "ip-10-0-6-62.ec2.internal");
    let codes: Vec<&str> = oom["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["crash-loop", "oom-killed", "probe-failing"]);
    // Most urgent first.
    assert_eq!(units[0]["verdict"], "Crashing");
}

#[test]
fn markdown_output_for_a_ticket() {
    let o = why(&["-f", &fixture("workloads.json"), "-o", "markdown"]);
    assert_eq!(o.status.code(), Some(1));
    let md = stdout(&o);
    assert!(md.starts_with("## spotcheck why\n"));
    assert!(md.contains("| Verdict | Kind | Name | Headline |"));
    assert!(md.contains("| Stuck | Workload | shop/deployment/api | Rollout stuck: past its progress deadline, quota compute-quota exceeded |"), "{md}");
    assert!(md.contains("### Workload etl/job/nightly-29012345 — Stopped"));
    assert!(md.contains("1. `backoff-limit-exceeded` job failed after 7 failed pods"));
    assert!(md.contains("- Roll back to the previous version (changes state): `kubectl -n shop rollout undo deployment/api`"));
}

#[test]
fn healthy_dump_exits_0() {
    let f = fixture("healthy.json");
    let o = why(&["-f", &f]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("Nothing needs attention (5 units checked"));
    let o = why(&["-f", &f, "-o", "json"]);
    assert_eq!(stdout(&o).trim(), "[]");
    let o = why(&["-f", &f, "-o", "json", "--all"]);
    assert_eq!(o.status.code(), Some(0));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 5);
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .all(|u| u["verdict"] == "Running")
    );
}

#[test]
fn yaml_stream_and_several_files_join() {
    let o = why(&[
        "-f",
        &fixture("scheduling-reasons.yaml"),
        "-f",
        &fixture("healthy.json"),
        "-o",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"db-0") && names.contains(&"gated-7c8d9-m2n3p"),
        "{names:?}"
    );
}

#[test]
fn bad_input_exits_2_but_the_rest_is_diagnosed() {
    let bad = fixture("not-a-dump.txt");
    let o = why(&["-f", &bad, "-f", &fixture("starting.json")]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("not-a-dump.txt:"), "{err}");
    assert!(stdout(&o).contains("cart-7d9f8c6b5-oom4x"));

    let o = why(&["-f", &fixture("wrong-kind.json")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("wrong-kind.json: no Kubernetes object could be read"),
        "{}",
        stderr(&o)
    );

    let o = why(&["-f", &fixture("does-not-exist.json")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("does-not-exist.json: cannot read"));
}

#[test]
fn broken_objects_and_truncation_are_warnings() {
    let o = why(&["-f", &fixture("broken-objects.json")]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("warning: ") && err.contains("broken-objects.json: Pod shop/broken-1:"),
        "{err}"
    );
    assert!(stdout(&o).contains("img-7f8c9-pull"));

    let o = why(&["-f", &fixture("truncated.json"), "--all"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("truncated.json: the file is truncated"));
    assert!(stdout(&o).contains("cart-7d9f8c6b5-h2"));
}

#[test]
fn reads_standard_input() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_spotcheck"))
        .args(["why", "--now", NOW, "-f", "-", "-o", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let text = std::fs::read_to_string(fixture("workloads.json")).unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    // ReplicaSet, Deployment, Job, DaemonSet.
    assert_eq!(v.as_array().unwrap().len(), 4);
}

/// A JSON object of AWS CLI outputs goes to the AWS reader; with a kubectl
/// dump beside it, the spot request under a node reaches the pods on it.
#[test]
fn aws_and_kubectl_dumps_join_by_instance_id() {
    let dir = format!("{}/tests/fixtures/aws", env!("CARGO_MANIFEST_DIR"));
    let o = why(&[
        "-f",
        &format!("{dir}/mixed-aws.json"),
        "-f",
        &format!("{dir}/mixed-kube.json"),
        "-o",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let units = v.as_array().unwrap();
    let p = units
        .iter()
        .find(|u| u["kind"] == "Pod" && u["name"] == "cart-7d9f8b6c5-x2k4q")
        .unwrap();
    assert_eq!(p["verdict"], "AtRisk");
    assert_eq!(p["instance_id"], "i-0c0ffee0c0ffee001");
    assert!(p["deadline"].is_string());
    assert_eq!(p["causes"][0]["code"], "spot-interruption");
    assert!(
        !units
            .iter()
            .any(|u| u["kind"] == "EC2" && u["instance_id"] == "i-0c0ffee0c0ffee001"),
        "the node row stands for the instance"
    );
}

/// Live `why` against a cluster that never answers (a VPN that is down, a
/// stale kubeconfig): a clear error naming the context after 10 s, not a
/// silent wait for the whole 60 s timeout.
#[test]
fn unreachable_cluster_is_named_after_10s() {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("config");
    // Port 1: nothing listens there; the connection is refused at once.
    std::fs::write(
        &kc,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: prod-down\n  context: {cluster: c, user: u}\ncurrent-context: prod-down\n",
    )
    .unwrap();
    let started = std::time::Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_spotcheck"))
        .arg("--log-file")
        .arg(dir.path().join("log"))
        .args(["why", "-A", "--kubeconfig"])
        .arg(&kc)
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    let took = started.elapsed();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("no answer in 10s from kube:prod-down"), "{e}");
    assert!(e.contains("Connection refused"), "{e}");
    assert!(took < std::time::Duration::from_secs(30), "took {took:?}");
}
