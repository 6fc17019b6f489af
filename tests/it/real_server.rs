//! Against a real OpenAI-compatible server: llama-cpp-python 0.3.36 (`python -m
//! llama_cpp.server`) with the embedded default model, started here on 127.0.0.1. It rejects
//! `json_schema` with an HTTP 500, so tolk has to find `json_object` with a schema by itself.
//!
//! The server comes from the virtual environment that `scripts/llama-server-venv.sh` builds (the
//! test command runs it). Without it the test is skipped, except under CI, where it must be there.

use crate::support::{check_exact_quotes, heavy, model_or_skip, root, stderr, stdout, tolk};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The venv's python, if it has the server. `test.sh` passes the one the venv script built as
/// `TOLK_LLAMA_PYTHON`; without it the script is asked where its venv is (`--path`), so the test
/// and the script never disagree about the venv's name (it carries the CPU flags it was built
/// with).
fn venv_python() -> Option<PathBuf> {
    let py = match std::env::var_os("TOLK_LLAMA_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => {
            let o = Command::new("bash")
                .arg(root().join("scripts/llama-server-venv.sh"))
                .arg("--path")
                .output()
                .expect("bash runs");
            PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())
        }
    };
    let ok = Command::new(&py)
        .args(["-c", "import llama_cpp.server"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(py);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "CI must build the llama-cpp-python venv first (scripts/llama-server-venv.sh): {} has no llama_cpp.server",
            py.display()
        );
    }
    eprintln!(
        "skipping the real-server test: no llama-cpp-python server at {} (scripts/llama-server-venv.sh)",
        py.display()
    );
    None
}

/// The server process; killed when dropped.
struct Server {
    child: Child,
    base_url: String,
    log: PathBuf,
}

impl Server {
    /// The last lines of the server's log.
    fn log_tail(&self, n: usize) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// What became of the server, for a failure message: when its process has ended, that is
    /// said first and plainly (exit code or signal), so that a crash of the server does not read
    /// like a failure of tolk.
    fn state(&mut self) -> String {
        use std::os::unix::process::ExitStatusExt;
        match self.child.try_wait() {
            Ok(Some(status)) => {
                let how = match (status.code(), status.signal()) {
                    (Some(c), _) => format!("exited with code {c}"),
                    (None, Some(11)) => "was killed by signal 11 (SIGSEGV: it crashed)".to_string(),
                    (None, Some(s)) => format!("was killed by signal {s}"),
                    (None, None) => format!("ended ({status})"),
                };
                format!(
                    "THE LLAMA-CPP-PYTHON SERVER DIED: it {how}. This is the test server, not tolk; the last lines of its log ({}):\n{}",
                    self.log.display(),
                    self.log_tail(40)
                )
            }
            Ok(None) => format!(
                "the server is still running; the last lines of its log:\n{}",
                self.log_tail(20)
            ),
            Err(e) => format!("cannot tell whether the server runs: {e}"),
        }
    }
}

impl Server {
    /// Panics, plainly, when the server's process has ended: called after each step, before
    /// that step's own assertions, so that a crashed server is the first thing a failure says.
    fn assert_alive(&mut self, after: &str) {
        if let Ok(Some(_)) = self.child.try_wait() {
            panic!("after {after}: {}", self.state());
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Any other failure of the test: say what became of the server too.
        if std::thread::panicking() {
            eprintln!("{}", self.state());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(python: &Path, model: &Path, dir: &Path) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = dir.join("server.log");
    let child = Command::new(python)
        .args(["-m", "llama_cpp.server", "--model"])
        .arg(model)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args([
            "--n_ctx",
            "4096",
            "--n_threads",
            "2",
            "--model_alias",
            "qwen-0.5b",
        ])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("the server starts");
    let mut server = Server {
        child,
        base_url: format!("http://127.0.0.1:{port}/v1"),
        log,
    };
    // Up when /v1/models answers.
    let t0 = Instant::now();
    loop {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = s.write_all(
                b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            );
            let mut buf = String::new();
            let _ = s.read_to_string(&mut buf);
            if buf.starts_with("HTTP/1.1 200") {
                return server;
            }
        }
        if let Ok(Some(_)) = server.child.try_wait() {
            panic!("the server did not come up: {}", server.state());
        }
        assert!(
            t0.elapsed() < Duration::from_secs(180),
            "the server did not come up within 180 s: {}",
            server.state()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn read(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn tolk_adapts_to_llama_cpp_python_and_keeps_the_output_contract() {
    let Some(python) = venv_python() else { return };
    let Some(model) = model_or_skip("the real-server test") else {
        return;
    };
    let _cores = heavy();
    let tmp = tempfile::tempdir().unwrap();
    let mut server = start(&python, &model, tmp.path());
    let out = tmp.path().join("out");
    // Settings for this server and this small model: a reply budget (the server's own is the
    // whole context, which a looping 0.5B model fills in minutes) and llama.cpp's repetition
    // penalty, passed through extra_body as tolk does for any server option.
    let config = tmp.path().join("tolk.toml");
    std::fs::write(
        &config,
        format!(
            "[endpoint]\nmax_tokens = 1800\n[endpoint.extra_body]\nrepeat_penalty = 1.1\n[run]\nout = {:?}\n",
            out.to_str().unwrap()
        ),
    )
    .unwrap();
    let env = [("TOLK_CONFIG", config.to_str().unwrap())];

    // The probe: json_schema is refused (HTTP 500, literal_error) and not retried; json_object
    // with a schema works.
    let t0 = Instant::now();
    let o = tolk(
        &root(),
        &[
            "ping",
            "--endpoint",
            &server.base_url,
            "--model",
            "qwen-0.5b",
        ],
        &env,
    );
    let text = stdout(&o);
    server.assert_alive("tolk ping");
    assert_eq!(
        o.status.code(),
        Some(0),
        "tolk ping failed:\n{text}{}\n{}",
        stderr(&o),
        server.state()
    );
    let probe_line = |mode: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(mode))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        probe_line("json_schema ").contains("rejected")
            && probe_line("json_schema ").contains("literal_error"),
        "{text}"
    );
    assert!(probe_line("json_object_schema").contains("ok"), "{text}");
    assert!(
        text.contains("structured output: json_object_schema"),
        "{text}"
    );
    assert!(
        text.contains("structured output (json_object_schema): ok"),
        "{text}"
    );
    eprintln!("ping with the probe: {:.1}s", t0.elapsed().as_secs_f64());

    // The run: summary and stance of the Offlimits letter, with the remembered mode. One chunk
    // (the letter is about 1,400 tokens), so two calls: the server answers one at a time at
    // about 30 tokens/s.
    let letter = root().join("input/2024-09-18-offlimits-advies-kabinetsstandpunt.txt");
    let t0 = Instant::now();
    let o = tolk(
        &root(),
        &[
            "run",
            letter.to_str().unwrap(),
            "--endpoint",
            &server.base_url,
            "--model",
            "qwen-0.5b",
            "--tasks",
            "summary,stance",
            "--out",
            out.to_str().unwrap(),
            "--no-progress",
        ],
        &[env[0], ("TOLK_CHUNK_MAX_TOKENS", "2000")],
    );
    eprintln!("run: {:.1}s", t0.elapsed().as_secs_f64());
    server.assert_alive("tolk run");
    // The 0.5B model may fail a task on its own (it has been seen to copy the Dutch letter into
    // every key point until the reply budget ran out): then tolk must say so and go on (exit 1,
    // the reason in the manifest). What tolk answers for is the contract of what it writes.
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "tolk run failed:\n{}\n{}",
        stderr(&o),
        server.state()
    );
    assert!(
        !stderr(&o).contains("probing"),
        "the probe is remembered: {}",
        stderr(&o)
    );
    let dir = PathBuf::from(stdout(&o).trim());
    let m = read(&dir.join("manifest.json"));
    assert_eq!(m["params"]["structured_output"], "json_object_schema");
    assert_eq!(
        m["model"]["resolved"], "qwen-0.5b",
        "the server echoes the alias"
    );
    let doc = tolk::ingest::read(&letter).unwrap();
    let doc_dir = dir.join(&doc.id);
    // "ok", or "failed: <reason>".
    let status = |task: &str| {
        let s = &m["inputs"][0]["tasks"][task];
        match s["reason"].as_str() {
            Some(r) => format!("{}: {r}", s["status"].as_str().unwrap()),
            None => s["status"].as_str().unwrap().to_string(),
        }
    };
    let mut ok = 0;
    for task in ["summary", "stance"] {
        let st = status(task);
        eprintln!("{task}: {st}");
        if st == "ok" {
            ok += 1;
            continue;
        }
        // A failure of the model's output, never of the exchange with the server.
        assert!(
            st.contains("cut off at the token limit")
                || st.contains("does not match the schema")
                || st.contains("not valid JSON"),
            "{task}: {st}\n{}",
            server.state()
        );
        assert!(!doc_dir.join(format!("{task}.json")).exists());
    }
    assert!(ok >= 1, "at least one task gets through: {m}");
    assert_eq!(o.status.code(), Some(if ok == 2 { 0 } else { 1 }));

    if status("summary") == "ok" {
        let su = read(&doc_dir.join("summary.json"));
        assert!(
            !su["summary_en"].as_str().unwrap().trim().is_empty(),
            "{su}"
        );
        let kps = su["key_points"].as_array().unwrap();
        assert!((3..=7).contains(&kps.len()), "{su}");
        for kp in kps {
            for range in kp["lines"].as_array().unwrap() {
                let [a, b]: [u32; 2] = serde_json::from_value(range.clone()).unwrap();
                assert!(1 <= a && a <= b && b <= doc.line_count, "{kp}");
            }
        }
    }
    if status("stance") == "ok" {
        let st = read(&doc_dir.join("stance.json"));
        let topics = st["topics"].as_array().unwrap();
        assert_eq!(topics.len(), 11, "{st}");
        let stances = ["support", "oppose", "mixed", "neutral", "not_addressed"];
        for t in topics {
            assert!(stances.contains(&t["stance"].as_str().unwrap()), "{t}");
        }
        let exact = check_exact_quotes(&doc, &st);
        eprintln!("{exact} exact quotes checked at their lines");
    }
}
