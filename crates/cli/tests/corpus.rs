//! The malformed-input corpus (issue 8, item 3) through the `zfvis` binary.
//!
//! tests/corpus/make_corpus.py writes the broken files and their manifest.json into a temporary directory;
//! every case then runs as its own `zfvis` process with a time limit and an address-space limit. A case
//! that must be refused passes when zfvis exits with status 1 and a specific "error: …" on stderr: no
//! panic (status 101), no signal (an abort on a failed allocation, a stack overflow), no timeout, no
//! clap usage error. The good models of the corpus ("ok" cases) run last and must load.
//!
//! Skipped, with a message, when python3 or numpy is missing. Knobs (environment):
//!   ZFVIS_CORPUS_TIMEOUT   seconds per case (default 20)
//!   ZFVIS_CORPUS_AS_MB     address-space limit per case through prlimit(1) (default 2048; 0 = none)
//!   ZFVIS_CORPUS_RSS_MB    max resident set allowed per case, measured by GNU time(1) (default 512)
//!   ZFVIS_CORPUS_ONLY      run only the cases whose id contains this string
//!   ZFVIS_CORPUS_KEEP      a directory to generate into and keep, instead of a temporary one

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn env_u64(k: &str, default: u64) -> u64 {
    std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn have(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd).args(args).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

struct Run {
    code: Option<i32>,
    signal: Option<i32>,
    timed_out: bool,
    stderr: String,
    stdout: String,
    secs: f64,
    max_rss_kb: Option<u64>,
}

fn run_case(dir: &Path, args: &[String], timeout: Duration, as_mb: u64, time_file: Option<&Path>) -> Run {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    let bin = env!("CARGO_BIN_EXE_zfvis");
    // [time -f %M -o F] [prlimit --as=N --] zfvis ARGS
    let mut argv: Vec<String> = Vec::new();
    if let Some(f) = time_file {
        argv.extend(["/usr/bin/time".into(), "-f".into(), "%M".into(), "-o".into(), f.display().to_string()]);
    }
    if as_mb > 0 {
        argv.extend(["prlimit".into(), format!("--as={}", as_mb << 20), "--".into()]);
    }
    argv.push(bin.into());
    argv.extend(args.iter().cloned());
    let start = Instant::now();
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("spawn zfvis");
    // Drain the pipes on threads so a chatty child cannot block on a full pipe.
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let mut timed_out = false;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > timeout {
            timed_out = true;
            // The whole process group: time(1), prlimit's exec and zfvis.
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).status();
            break child.wait().expect("wait");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let secs = start.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&t_out.join().unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&t_err.join().unwrap()).into_owned();
    let (mut code, mut signal) = (status.code(), status.signal());
    let mut max_rss_kb = None;
    if let Some(f) = time_file {
        // GNU time: "Command terminated by signal N" and/or "Command exited with non-zero status N", then %M.
        let text = std::fs::read_to_string(f).unwrap_or_default();
        for line in text.lines() {
            if let Some(n) = line.strip_prefix("Command terminated by signal ") {
                signal = n.trim().parse().ok();
                code = None;
            }
        }
        max_rss_kb = text.lines().last().and_then(|l| l.trim().parse().ok());
        let _ = std::fs::remove_file(f);
    }
    Run { code, signal, timed_out, stderr, stdout, secs, max_rss_kb }
}

/// Why a run fails its case, or None when it passes.
fn verdict(expect: &str, r: &Run, files_nonempty: bool, rss_limit_kb: u64) -> Option<String> {
    if r.timed_out {
        return Some(format!("HANG: no exit after {:.0} s", r.secs));
    }
    if let Some(s) = r.signal {
        return Some(format!("SIGNAL {s} (abort/stack overflow/OOM?)"));
    }
    if r.stderr.contains("panicked") || r.code == Some(101) {
        return Some("PANIC".into());
    }
    if r.stderr.contains("memory allocation of") {
        return Some("OOM: allocation failed".into());
    }
    if r.stderr.contains("RUST_BACKTRACE") {
        return Some("backtrace hint on stderr".into());
    }
    if let (Some(kb), true) = (r.max_rss_kb, rss_limit_kb > 0) {
        if kb > rss_limit_kb {
            return Some(format!("MEMORY: max RSS {} MiB", kb / 1024));
        }
    }
    match expect {
        "ok" => (r.code != Some(0)).then(|| format!("good model refused (exit {:?})", r.code)),
        "warn" => {
            let noted = r.stdout.contains("note:") || r.stderr.contains("warning");
            match r.code {
                Some(0) if noted => None,
                Some(0) => Some("loaded without a warning".into()),
                Some(1) => message_problem(&r.stderr, files_nonempty),
                c => Some(format!("exit {c:?}")),
            }
        }
        _ => match r.code {
            Some(0) => Some("ACCEPTED: exit 0, the file was not refused".into()),
            Some(1) => message_problem(&r.stderr, files_nonempty),
            Some(2) => Some("exit 2 (a usage error, not the model's)".into()),
            c => Some(format!("exit {c:?}")),
        },
    }
}

fn message_problem(stderr: &str, files_nonempty: bool) -> Option<String> {
    let first = stderr.lines().next().unwrap_or("");
    let Some(msg) = first.strip_prefix("error: ") else {
        return Some(format!("UNCLEAR: stderr does not start with 'error: ': {first:?}"));
    };
    if msg.trim().len() < 12 {
        return Some(format!("UNCLEAR: message too short: {msg:?}"));
    }
    if files_nonempty && msg.contains("file is empty") {
        return Some("UNCLEAR: says the file is empty, but it is not".into());
    }
    None
}

fn first_line(s: &str, n: usize) -> String {
    let l = s.lines().next().unwrap_or("").trim();
    if l.chars().count() > n {
        format!("{}…", l.chars().take(n).collect::<String>())
    } else {
        l.to_string()
    }
}

#[test]
fn malformed_inputs_are_refused_cleanly_and_good_models_still_load() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let script = root.join("tests/corpus/make_corpus.py");
    if !have("python3", &["-c", "import numpy"]) {
        eprintln!("SKIPPED corpus test: python3 with numpy is needed to run {}", script.display());
        return;
    }
    let tmp;
    let dir: PathBuf = match std::env::var_os("ZFVIS_CORPUS_KEEP") {
        Some(d) => PathBuf::from(d),
        None => {
            tmp = tempfile::tempdir().unwrap();
            tmp.path().to_path_buf()
        }
    };
    let gen = Command::new("python3").arg(&script).arg(&dir).output().expect("run make_corpus.py");
    assert!(gen.status.success(), "make_corpus.py failed: {}", String::from_utf8_lossy(&gen.stderr));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).expect("manifest.json");
    let mut cases: Vec<&serde_json::Value> = manifest["cases"].as_array().unwrap().iter().collect();
    // The broken files first; the good models after them, to show the CLI still works.
    cases.sort_by_key(|c| c["expect"] == "ok");
    if let Ok(only) = std::env::var("ZFVIS_CORPUS_ONLY") {
        cases.retain(|c| c["id"].as_str().unwrap().contains(&only));
    }

    let timeout = Duration::from_secs(env_u64("ZFVIS_CORPUS_TIMEOUT", 20));
    let as_mb = if have("prlimit", &["--version"]) { env_u64("ZFVIS_CORPUS_AS_MB", 2048) } else { 0 };
    let rss_kb = env_u64("ZFVIS_CORPUS_RSS_MB", 512) * 1024;
    let time_file = (Path::new("/usr/bin/time").exists() && have("/usr/bin/time", &["-f", "%M", "true"]))
        .then(|| dir.join(".time.out"));
    if as_mb == 0 {
        eprintln!("note: prlimit not found; memory is not capped");
    }
    if time_file.is_none() {
        eprintln!("note: GNU /usr/bin/time not found; max RSS is not measured");
    }

    // What loading a good tiny model costs: the base for the cases whose growth is bounded by their size.
    let base_args: Vec<String> = ["info", "good_tiny.prototxt", "good_tiny.caffemodel"].map(String::from).into();
    let base_kb = run_case(&dir, &base_args, timeout, as_mb, time_file.as_deref()).max_rss_kb;

    println!("{:<34} {:<6} {:>5} {:>7} {:>8}  first line of stderr / verdict", "case", "expect", "exit", "time", "RSS");
    let mut failures = Vec::new();
    let (mut n_bad, mut n_ok) = (0, 0);
    for c in &cases {
        let id = c["id"].as_str().unwrap();
        let expect = c["expect"].as_str().unwrap();
        let args: Vec<String> = c["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect();
        let sizes: Vec<u64> = c["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| std::fs::metadata(dir.join(f.as_str().unwrap())).map_or(0, |m| m.len()))
            .collect();
        let r = run_case(&dir, &args, timeout, as_mb, time_file.as_deref());
        let mut v = verdict(expect, &r, sizes.iter().all(|&n| n > 0), rss_kb);
        if let (None, Some("2x_file"), Some(kb), Some(base)) = (&v, c["memory"].as_str(), r.max_rss_kb, base_kb) {
            let (grew, files) = (kb.saturating_sub(base) * 1024, sizes.iter().sum::<u64>());
            println!("  {id}: memory grew {:.1} MB over a tiny model's run, for {:.1} MB of files", grew as f64 / 1e6, files as f64 / 1e6);
            if grew > 2 * files {
                v = Some(format!("MEMORY: grew {grew} bytes, more than twice the files' {files}"));
            }
        }
        if expect == "ok" {
            n_ok += 1;
        } else {
            n_bad += 1;
        }
        let code = match (r.code, r.signal, r.timed_out) {
            (_, _, true) => "T/O".to_string(),
            (Some(c), _, _) => c.to_string(),
            (None, Some(s), _) => format!("sig{s}"),
            _ => "?".into(),
        };
        let rss = r.max_rss_kb.map_or("-".into(), |k| format!("{}M", k / 1024));
        let msg = first_line(if r.stderr.trim().is_empty() { &r.stdout } else { &r.stderr }, 110);
        let mark = v.as_ref().map_or(String::new(), |v| format!("  <<< FAIL: {v}"));
        println!("{id:<34} {expect:<6} {code:>5} {:>6.2}s {rss:>8}  {msg}{mark}", r.secs);
        if let Some(v) = v {
            let cmd = format!("cd {} && zfvis {}", dir.display(), args.join(" "));
            failures.push(format!("{id}: {v}\n    {cmd}\n    {}", r.stderr.trim().replace('\n', "\n    ")));
        }
    }
    println!(
        "\n{} broken-file cases and {} good models; {} passed, {} failed",
        n_bad,
        n_ok,
        n_bad + n_ok - failures.len(),
        failures.len()
    );
    assert!(n_bad >= 60 || std::env::var("ZFVIS_CORPUS_ONLY").is_ok(), "the corpus must hold at least 60 broken files");
    assert!(failures.is_empty(), "{} corpus case(s) failed:\n{}", failures.len(), failures.join("\n"));
}
