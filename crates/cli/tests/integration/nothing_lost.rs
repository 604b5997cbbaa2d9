//! Nothing lost, nothing torn: an output never replaces an input, a failed run leaves the
//! previous outputs as they were, an interrupted run leaves no temporary behind, and a folder of
//! outputs is replaced whole or not at all.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{fails, ok, repo, s, sample_features};

/// Every file and folder under `dir` (recursively) with a hash of its bytes, names relative to
/// `dir`.
fn snapshot(dir: &Path) -> BTreeMap<String, u64> {
    use std::hash::{Hash, Hasher};
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            let name = path.strip_prefix(dir).unwrap().display().to_string();
            if path.is_dir() {
                files.insert(name + "/", 0);
                stack.push(path);
            } else {
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                std::fs::read(&path).unwrap_or_default().hash(&mut hasher);
                files.insert(name, hasher.finish());
            }
        }
    }
    files
}

/// Names under `dir` that are temporaries of a run (`….partial`) or commit journals.
fn leftovers(dir: &Path) -> Vec<String> {
    snapshot(dir)
        .into_keys()
        .chain(
            std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned()),
        )
        .filter(|n| n.contains(".partial") || n.contains(".lookalike-commit."))
        .collect()
}

fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// A folder with the sample's features (CSV and Parquet), seeds and a transaction log.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        sample_features(dir.path(), "features.csv", true);
        std::fs::copy(
            repo("data/sample/transactions.csv"),
            dir.path().join("tx.csv"),
        )
        .unwrap();
        std::fs::copy(repo("data/sample/events.csv"), dir.path().join("ev.csv")).unwrap();
        let features = std::fs::read_to_string(dir.path().join("features.csv")).unwrap();
        let seeds: String = std::iter::once("customer_id")
            .chain(
                features
                    .lines()
                    .skip(1)
                    .take(300)
                    .map(|l| l.split(',').next().unwrap()),
            )
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(dir.path().join("seeds.csv"), seeds).unwrap();
        Setup { dir }
    }

    fn path(&self, name: &str) -> String {
        s(&self.dir.path().join(name)).to_string()
    }
}

#[test]
fn an_output_that_is_an_input_is_refused_under_any_spelling_and_the_input_stays_whole() {
    let setup = Setup::new();
    let p = |name: &str| setup.path(name);
    std::os::unix::fs::symlink(p("tx.csv"), p("tx_link.csv")).unwrap();
    let dot = format!("{}/./features.csv", setup.dir.path().display());
    let before = snapshot(setup.dir.path());
    let cases: Vec<Vec<String>> = vec![
        owned(&[
            "features",
            "--transactions",
            &p("tx.csv"),
            "--out",
            &p("tx.csv"),
        ]),
        owned(&[
            "features",
            "--transactions",
            &p("tx.csv"),
            "--out",
            &p("tx_link.csv"),
        ]),
        owned(&[
            "features",
            "--transactions",
            &p("tx.csv"),
            "--events",
            &p("ev.csv"),
            "--out",
            &p("ev.csv"),
        ]),
        owned(&[
            "score",
            "--model",
            s(&repo("models/sample")),
            "--features",
            &p("features.csv"),
            "--out",
            &dot,
        ]),
        owned(&[
            "score",
            "--model",
            s(&repo("models/sample")),
            "--transactions",
            &p("tx.csv"),
            "--out",
            &p("tx.csv"),
        ]),
        owned(&["segment", "--features", &p("features.csv"), "--out", &dot]),
        owned(&[
            "segment",
            "--features",
            &p("features.csv"),
            "--out",
            &p("seg.csv"),
            "--report",
            &p("features.csv"),
        ]),
        owned(&[
            "cluster",
            "--features",
            &p("features.csv"),
            "--out",
            setup.dir.path().to_str().unwrap(),
        ]),
        owned(&[
            "value",
            "fit",
            "--transactions",
            &p("tx.csv"),
            "--out",
            &p("vm"),
            "--predictions",
            &p("tx.csv"),
        ]),
        owned(&[
            "value",
            "predict",
            "--model",
            s(&repo("models/sample/value")),
            "--features",
            &p("features.csv"),
            "--out",
            &p("features.csv"),
        ]),
        owned(&[
            "expand",
            "--features",
            &p("features.csv"),
            "--seeds",
            &p("seeds.csv"),
            "--out",
            &p("seeds.csv"),
        ]),
        owned(&[
            "expand",
            "--features",
            &p("features.csv"),
            "--seeds",
            &p("seeds.csv"),
            "--out",
            &p("features.csv"),
        ]),
        owned(&[
            "evaluate-audience",
            "--features",
            &p("features.csv"),
            "--seeds",
            &p("seeds.csv"),
            "--out",
            &p("seeds.csv"),
        ]),
        owned(&[
            "overlap",
            &p("seeds.csv"),
            &p("features.csv"),
            "--out",
            &p("seeds.csv"),
        ]),
        // A feature table's schema is an output too.
        owned(&[
            "features",
            "--transactions",
            &p("features.csv.schema.json"),
            "--out",
            &p("features.csv"),
        ]),
    ];
    for case in &cases {
        let args: Vec<&str> = case.iter().map(String::as_str).collect();
        let error = fails(&args);
        assert!(
            error.contains("would destroy the input"),
            "{args:?}: {error}"
        );
        assert_eq!(
            snapshot(setup.dir.path()),
            before,
            "{args:?} changed a file"
        );
    }
}

#[test]
fn a_folder_output_holding_the_users_own_files_is_refused() {
    let setup = Setup::new();
    let mine = setup.dir.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("thesis.tex"), "years of work").unwrap();
    let config = setup.dir.path().join("pipeline.toml");
    std::fs::write(
        &config,
        format!(
            "[input]\ntransactions = {:?}\n\n[segments]\n",
            setup.path("tx.csv")
        ),
    )
    .unwrap();
    let before = snapshot(setup.dir.path());
    for args in [
        vec![
            "train",
            "--config",
            s(&config),
            "--out",
            &setup.path("model"),
            "--outputs",
            s(&mine),
        ],
        vec!["train", "--config", s(&config), "--out", s(&mine)],
        vec![
            "cluster",
            "--features",
            &setup.path("features.csv"),
            "--out",
            s(&mine),
        ],
        vec!["generate", "--customers", "50", "--out", s(&mine)],
        vec![
            "value",
            "fit",
            "--features",
            &setup.path("features.csv"),
            "--out",
            s(&mine),
        ],
    ] {
        let error = fails(&args);
        assert!(
            error.contains("thesis.tex") || error.contains("not a model directory"),
            "{args:?}: {error}"
        );
        assert_eq!(snapshot(setup.dir.path()), before, "{args:?}");
    }
    // A folder this command wrote before is replaced whole: the stale file goes.
    let out = setup.dir.path().join("clusters");
    ok(&[
        "cluster",
        "--features",
        &setup.path("features.csv"),
        "--k",
        "3",
        "--out",
        s(&out),
        "--quiet",
    ]);
    std::fs::write(out.join("sweep.csv"), "stale").unwrap();
    ok(&[
        "cluster",
        "--features",
        &setup.path("features.csv"),
        "--k",
        "4",
        "--out",
        s(&out),
        "--quiet",
    ]);
    assert!(!out.join("sweep.csv").exists());
    let model = std::fs::read_to_string(out.join("model.json")).unwrap();
    assert!(model.contains("\"k\": 4"), "{model}");
}

#[test]
fn a_run_that_fails_after_writing_leaves_every_previous_output_and_no_temporary() {
    let setup = Setup::new();
    let p = |name: &str| setup.path(name);
    ok(&[
        "segment",
        "--features",
        &p("features.csv"),
        "--out",
        &p("seg.csv"),
        "--report",
        &p("report.json"),
        "--quiet",
    ]);
    ok(&[
        "value",
        "fit",
        "--features",
        &p("features.csv"),
        "--out",
        &p("vm"),
        "--predictions",
        &p("pred.csv"),
        "--quiet",
    ]);
    ok(&[
        "expand",
        "--features",
        &p("features.csv"),
        "--seeds",
        &p("seeds.csv"),
        "--out",
        &p("aud.csv"),
        "--quiet",
    ]);
    let before = snapshot(setup.dir.path());
    let nodir = |name: &str| format!("{}/nodir/{name}", setup.dir.path().display());
    for args in [
        // A second output whose folder is missing: refused before the first is written.
        vec![
            "segment",
            "--features",
            &p("features.csv"),
            "--out",
            &p("seg.csv"),
            "--report",
            &nodir("r.json"),
        ],
        vec![
            "value",
            "fit",
            "--features",
            &p("features.csv"),
            "--out",
            &p("vm"),
            "--predictions",
            &nodir("p.csv"),
        ],
        vec![
            "expand",
            "--features",
            &p("features.csv"),
            "--seeds",
            &p("seeds.csv"),
            "--out",
            &p("aud.csv"),
            "--plot",
            &nodir("a.svg"),
        ],
        // Fails only when its second output is written: the first is not committed either.
        vec![
            "segment",
            "--features",
            &p("features.csv"),
            "--out",
            &p("seg.csv"),
            "--report",
            &p("report.xml"),
        ],
        vec![
            "value",
            "fit",
            "--features",
            &p("features.csv"),
            "--out",
            &p("vm"),
            "--predictions",
            &p("pred.txt"),
        ],
    ] {
        fails(&args);
        assert_eq!(snapshot(setup.dir.path()), before, "{args:?}");
        assert!(leftovers(setup.dir.path()).is_empty());
    }
    // Validation failures leave no empty folder behind.
    for args in [
        vec![
            "cluster",
            "--features",
            &p("features.csv"),
            "--k",
            "0",
            "--out",
            &p("new_clusters"),
        ],
        vec!["generate", "--customers", "0", "--out", &p("new_data")],
        vec![
            "value",
            "evaluate",
            "--transactions",
            &p("tx.csv"),
            "--as-of",
            "2025-06-01",
            "--holdout-end",
            "2025-01-01",
            "--out",
            &p("new_report"),
        ],
    ] {
        fails(&args);
        assert_eq!(
            snapshot(setup.dir.path()),
            before,
            "{args:?} left something"
        );
    }
}

#[test]
fn streams_and_devices_are_written_in_place() {
    let setup = Setup::new();
    let out = ok(&[
        "features",
        "--transactions",
        &setup.path("tx.csv"),
        "--out",
        "-",
        "--quiet",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("customer_id,frequency,"),
        "{}",
        &text[..80]
    );
    assert_eq!(text.lines().count(), 4_079);
    let out = ok(&[
        "segment",
        "--features",
        &setup.path("features.csv"),
        "--out",
        "/dev/stdout",
        "--quiet",
    ]);
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .starts_with("customer_id,")
    );
    ok(&[
        "segment",
        "--features",
        &setup.path("features.csv"),
        "--out",
        "/dev/null",
        "--quiet",
    ]);
    // `-` reads standard input where a command reads one table.
    let mut child = Command::new(env!("CARGO_BIN_EXE_lookalike"))
        .args(["segment", "--features", "-", "--out", "-", "--quiet"])
        .stdin(std::fs::File::open(setup.dir.path().join("features.csv")).unwrap())
        .output()
        .unwrap();
    assert!(
        child.status.success(),
        "{}",
        String::from_utf8_lossy(&child.stderr)
    );
    let segments = String::from_utf8(std::mem::take(&mut child.stdout)).unwrap();
    assert_eq!(segments.lines().count(), 5_001);
    assert!(segments.starts_with("customer_id,r_score,"));
    let null = std::fs::metadata("/dev/null").unwrap();
    assert!(!null.is_file(), "/dev/null must stay a device");
    // No schema is written beside a stream, and nothing is left in the folder.
    assert!(leftovers(setup.dir.path()).is_empty());
    // A FIFO or a folder given as an input is named as such.
    let fifo = setup.dir.path().join("pipe.csv");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let error = fails(&[
        "segment",
        "--features",
        s(&fifo),
        "--out",
        &setup.path("seg.csv"),
    ]);
    assert!(error.contains("is a FIFO"), "{error}");
    // A folder is a table in part files: one without any is refused, naming the option.
    let empty = setup.dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let error = fails(&[
        "segment",
        "--features",
        s(&empty),
        "--out",
        &setup.path("seg.csv"),
    ]);
    assert!(
        error.contains("--features") && error.contains("no .parquet or .csv file in the folder"),
        "{error}"
    );
    // Where a table cannot be a folder (a rules file), a folder is refused as before.
    let error = fails(&[
        "segment",
        "--features",
        &setup.path("features.csv"),
        "--rules",
        s(&empty),
        "--out",
        &setup.path("seg.csv"),
    ]);
    assert!(error.contains("is a folder; a file is expected"), "{error}");
}

/// Starts `lookalike` with `args`, waits `delay`, sends `signal`; returns the exit code.
fn interrupt(args: &[&str], delay: Duration, signal: &str) -> Option<i32> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lookalike"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    status.code().or(status.signal().map(|s| 128 + s))
}

#[test]
fn ctrl_c_and_sigterm_remove_every_temporary_and_leave_the_previous_data() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    ok(&[
        "generate",
        "--customers",
        "300",
        "--seed",
        "3",
        "--out",
        s(&out),
        "--quiet",
    ]);
    let before = snapshot(dir.path());
    let big = [
        "generate",
        "--customers",
        "400000",
        "--seed",
        "1",
        "--out",
        s(&out),
    ];
    for (signal, code) in [("-INT", 130), ("-TERM", 143)] {
        let exit = interrupt(&big, Duration::from_millis(1500), signal);
        assert_eq!(exit, Some(code), "{signal}");
        assert_eq!(snapshot(dir.path()), before, "{signal} changed the data");
        assert!(
            leftovers(dir.path()).is_empty(),
            "{signal}: {:?}",
            leftovers(dir.path())
        );
    }
}

#[test]
fn a_killed_run_leaves_the_old_or_the_new_output_whole_and_the_next_run_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    for (folder, seed) in [(&old, "1"), (&new, "2")] {
        ok(&[
            "generate",
            "--customers",
            "20000",
            "--seed",
            seed,
            "--out",
            s(folder),
            "--quiet",
        ]);
    }
    let (old, new) = (snapshot(&old), snapshot(&new));
    let without_marker = |mut files: BTreeMap<String, u64>| {
        files.remove(".lookalike-run");
        files
    };
    let (old, new) = (without_marker(old), without_marker(new));
    // Time a whole run, then kill runs at points spread over it, including the very end.
    let began = std::time::Instant::now();
    ok(&[
        "generate",
        "--customers",
        "20000",
        "--seed",
        "2",
        "--out",
        s(&dir.path().join("timing")),
        "--quiet",
    ]);
    let whole = began.elapsed();
    let mut outcomes = BTreeMap::new();
    for step in 0..12 {
        std::fs::remove_dir_all(&out).ok();
        ok(&[
            "generate",
            "--customers",
            "20000",
            "--seed",
            "1",
            "--out",
            s(&out),
            "--quiet",
        ]);
        let delay = whole.mul_f64(0.1 + 0.9 * step as f64 / 11.0);
        interrupt(
            &[
                "generate",
                "--customers",
                "20000",
                "--seed",
                "2",
                "--out",
                s(&out),
                "--quiet",
            ],
            delay,
            "-KILL",
        );
        let now = without_marker(snapshot(&out));
        let which = if now == old {
            "old"
        } else if now == new {
            "new"
        } else {
            panic!("after a kill at {delay:?} the folder is neither the old nor the new data set");
        };
        *outcomes.entry(which).or_insert(0) += 1;
        // The next run that writes there removes the killed run's temporaries.
        ok(&["generate", "--customers", "50", "--out", s(&out), "--quiet"]);
        assert!(
            leftovers(dir.path()).is_empty(),
            "{:?}",
            leftovers(dir.path())
        );
    }
    assert!(outcomes.contains_key("old"), "{outcomes:?}");
}

#[test]
fn a_run_killed_between_two_renames_is_finished_by_the_next_run_that_reads_there() {
    let setup = Setup::new();
    let p = |name: &str| setup.path(name);
    let outputs = ["seg.csv", "report.json"];
    let segment = |bins: &str| {
        owned(&[
            "segment",
            "--features",
            &p("features.csv"),
            "--bins",
            bins,
            "--out",
            &p("seg.csv"),
            "--report",
            &p("report.json"),
            "--quiet",
        ])
    };
    let set = |dir: &Path| -> Vec<u64> {
        let all = snapshot(dir);
        outputs.iter().map(|n| all[*n]).collect()
    };
    let args = segment("4");
    ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let new = set(setup.dir.path());
    let args = segment("5");
    ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let old = set(setup.dir.path());
    // The 4-bin run again, paused between its two renames and killed there.
    let mut child = Command::new(env!("CARGO_BIN_EXE_lookalike"))
        .args(segment("4"))
        .env("LOOKALIKE_FAULT_PAUSE_BETWEEN_RENAMES_MS", "3000")
        .spawn()
        .unwrap();
    let journal_written = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        std::fs::read_dir(setup.dir.path()).unwrap().any(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".lookalike-commit.")
        })
    });
    assert!(journal_written, "the commit never started");
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    let torn = set(setup.dir.path());
    assert!(
        torn != old && torn != new,
        "the kill did not land between the renames"
    );
    // Any run that reads from the folder finishes the commit first.
    ok(&["overlap", &p("seg.csv"), &p("seeds.csv"), "--quiet"]);
    assert_eq!(set(setup.dir.path()), new);
    assert!(
        leftovers(setup.dir.path()).is_empty(),
        "{:?}",
        leftovers(setup.dir.path())
    );
}

#[test]
fn a_full_disk_fails_with_the_file_named_and_leaves_the_previous_outputs() {
    if !is_root() {
        eprintln!("skipped: mounting a small tmpfs needs root");
        return;
    }
    let setup = Setup::new();
    let disk = setup.dir.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs", s(&disk)])
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: tmpfs cannot be mounted here");
        return;
    }
    let _unmount = Unmount(disk.clone());
    let p = |name: &str| s(&disk.join(name)).to_string();
    // Small previous outputs that fit.
    std::fs::write(disk.join("seg.csv"), "previous segments\n").unwrap();
    std::fs::write(disk.join("scores.csv"), "previous scores\n").unwrap();
    std::fs::write(disk.join("report.json"), "{}\n").unwrap();
    let before = snapshot(&disk);
    let features = setup.path("features.csv");
    for (args, file) in [
        (
            vec![
                "segment",
                "--features",
                &features,
                "--out",
                &p("seg.csv"),
                "--report",
                &p("report.json"),
            ],
            "seg.csv",
        ),
        (
            vec![
                "score",
                "--model",
                s(&repo("models/sample")),
                "--features",
                &features,
                "--out",
                &p("scores.csv"),
            ],
            "scores.csv",
        ),
    ] {
        let error = fails(&args);
        assert!(
            error.contains(&p(file)) && error.contains("No space left on device"),
            "{args:?}: {error}"
        );
        assert_eq!(snapshot(&disk), before, "{args:?}");
        assert!(leftovers(&disk).is_empty());
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}
