//! End-to-end: `lookalike report` writes one self-contained page, which headless Chromium
//! renders without a console error (Debian's `chromium`; scripts/test installs it).

use crate::common;

use std::process::Command;

use common::{fails, ok, repo, s};

#[test]
fn the_model_report_is_self_contained_and_renders_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let model = repo("models/sample");
    ok(&["report", "--model", s(&model), "--out", s(&page), "--quiet"]);
    let html = std::fs::read_to_string(&page).unwrap();
    for part in [
        "<h2>Segments</h2>",
        "<h2>Clusters</h2>",
        "<h2>Value</h2>",
        "<h2>Audience top_clv</h2>",
        "What the model holds about customers",
        "Champions",
    ] {
        assert!(html.contains(part), "{part}");
    }
    // Plots inline, nothing fetched: no script, no link, no src.
    assert!(html.matches("<svg").count() >= 2);
    for outside in ["<script", "<link", "src=", "<img", "@import", "url("] {
        assert!(!html.contains(outside), "{outside}");
    }
    // Rendered by a real browser, offline, with no console error.
    let chromium = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok())
        .expect("Chromium is needed for this test (scripts/test installs Debian's chromium)");
    let shot = dir.path().join("report.png");
    let run = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1300,4000",
            &format!("--screenshot={}", shot.display()),
            &format!("file://{}", page.display()),
        ])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let log = String::from_utf8_lossy(&run.stderr);
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:?}");
    // A page with content: far more than a blank screenshot's bytes.
    assert!(std::fs::metadata(&shot).unwrap().len() > 50_000);
    let dom = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--dump-dom",
            &format!("file://{}", page.display()),
        ])
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("Audience top_clv") && dom.contains("<svg"),
        "{dom}"
    );
    // Not a .html file: refused before anything is read.
    let error = fails(&[
        "report",
        "--model",
        s(&model),
        "--out",
        s(&dir.path().join("r.txt")),
    ]);
    assert!(error.contains("give a .html file"), "{error}");
}
