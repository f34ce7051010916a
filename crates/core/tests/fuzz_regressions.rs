//! Every input the fuzzers found a crash with (fuzz/regressions/<target>/*) goes through its target's
//! harness (fuzz/harness.rs) natively: it must be accepted or refused with a message, never panic.
//! A panic fails the test; a hang or a runaway allocation fails it too, by CI's time and memory limits.

#[path = "../../../fuzz/harness.rs"]
mod harness;

use std::path::Path;

/// Replays every file under fuzz/<folder>/<target>/; the names of those that panicked.
fn replay(folder: &str) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz").join(folder);
    let mut panicked = Vec::new();
    let mut seen = 0;
    for target in harness::TARGETS {
        let Ok(dir) = std::fs::read_dir(root.join(target)) else { continue };
        let mut files: Vec<_> = dir.map(|e| e.unwrap().path()).collect();
        files.sort();
        for f in files {
            let data = std::fs::read(&f).unwrap();
            let name = format!("{target}/{}", f.file_name().unwrap().to_string_lossy());
            let result = std::panic::catch_unwind(|| harness::run(target, &data));
            match result {
                Ok(Ok(())) => eprintln!("{name}: accepted"),
                Ok(Err(e)) => {
                    assert!(!e.message.trim().is_empty(), "{name}: refused with an empty message");
                    eprintln!("{name}: refused: {e}");
                }
                Err(_) => panicked.push(name),
            }
            seen += 1;
        }
    }
    eprintln!("{seen} inputs replayed from fuzz/{folder}");
    panicked
}

#[test]
fn fuzz_regressions() {
    let panicked = replay("regressions");
    assert!(panicked.is_empty(), "these inputs panicked: {panicked:?}");
}

/// Crashes found by the fuzzers whose fix belongs to work in progress elsewhere (fuzz/open/README.md
/// says where); `cargo test --test fuzz_regressions -- --ignored` shows which still panic. Once one is
/// fixed, its input moves to fuzz/regressions.
#[test]
#[ignore = "known open crashes, fixed elsewhere"]
fn fuzz_open() {
    let panicked = replay("open");
    assert!(panicked.is_empty(), "these inputs still panic: {panicked:?}");
}
