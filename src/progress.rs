//! Progress while a run works: an overall bar (calls done of total, cache hits, tokens/s, cost,
//! ETA) and a line per active document, with indicatif. Log lines go through the bars (see
//! [`LogWriter`]) so they leave no ghost lines. When stderr is not a terminal, or with
//! `--no-progress`, plain lines are printed instead.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

static BARS: Mutex<Option<MultiProgress>> = Mutex::new(None);

/// A tracing writer that prints above the bars while they are shown.
#[derive(Clone, Copy, Default)]
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let bars = BARS.lock().map(|b| b.clone()).unwrap_or(None);
        match bars {
            Some(mp) => mp.suspend(|| std::io::stderr().write_all(buf))?,
            None => std::io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;
    fn make_writer(&'a self) -> Self::Writer {
        LogWriter
    }
}

/// The progress display of one run.
pub struct Progress {
    mp: Option<MultiProgress>,
    overall: ProgressBar,
    docs: Mutex<HashMap<String, ProgressBar>>,
    started: Instant,
    hits: AtomicU64,
    live: AtomicU64,
    tokens: AtomicU64,
    /// Cost in micro-dollars.
    cost_micro: AtomicU64,
    plain: bool,
}

impl Progress {
    /// Bars when `enabled` and stderr is a terminal; plain lines otherwise.
    pub fn new(total: u64, enabled: bool) -> Progress {
        let fancy = enabled && std::io::stderr().is_terminal();
        if fancy {
            let mp = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(8));
            let overall = mp.add(ProgressBar::new(total));
            overall.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{bar:30}] {pos}/{len} calls · {msg} · ETA {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            overall.enable_steady_tick(Duration::from_millis(250));
            *BARS.lock().expect("bars lock") = Some(mp.clone());
            Progress::build(Some(mp), overall, false)
        } else {
            Progress::build(
                None,
                ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden()),
                enabled,
            )
        }
    }

    fn build(mp: Option<MultiProgress>, overall: ProgressBar, plain: bool) -> Progress {
        Progress {
            mp,
            overall,
            docs: Mutex::new(HashMap::new()),
            started: Instant::now(),
            hits: AtomicU64::new(0),
            live: AtomicU64::new(0),
            tokens: AtomicU64::new(0),
            cost_micro: AtomicU64::new(0),
            plain,
        }
    }

    /// Print a line above the bars (or plainly).
    pub fn println(&self, line: &str) {
        match &self.mp {
            Some(mp) => {
                let _ = mp.println(line);
            }
            None => eprintln!("{line}"),
        }
    }

    pub fn add_calls(&self, n: u64) {
        self.overall.inc_length(n);
    }

    /// A call finished (from the cache or live).
    pub fn call_done(&self, doc: &str, what: &str, cached: bool, tokens: u64, cost_usd: f64) {
        if cached {
            self.hits.fetch_add(1, Ordering::Relaxed);
        } else {
            self.live.fetch_add(1, Ordering::Relaxed);
        }
        self.tokens.fetch_add(tokens, Ordering::Relaxed);
        self.cost_micro
            .fetch_add((cost_usd * 1e6) as u64, Ordering::Relaxed);
        self.overall.inc(1);
        self.overall.set_message(self.status());
        if let Some(bar) = self.docs.lock().expect("docs lock").get(doc) {
            bar.set_message(format!(
                "{what} {}",
                if cached { "(cached)" } else { "done" }
            ));
        }
    }

    /// A call went out; shown on the document's line, with a clock, so that a slow answer (a
    /// local server can take minutes) looks alive.
    pub fn call_started(&self, doc: &str, what: &str) {
        if let Some(bar) = self.docs.lock().expect("docs lock").get(doc) {
            bar.reset_elapsed();
            bar.set_message(format!("{what} …"));
        }
    }

    /// A call has been waiting `secs` seconds and is still alive: the document's line says so
    /// (with bars), or a line is printed (plain output, every minute or so).
    pub fn call_waiting(&self, doc: &str, what: &str, secs: u64) {
        if let Some(bar) = self.docs.lock().expect("docs lock").get(doc) {
            bar.set_message(format!("{what} … waiting {secs} s"));
        } else if self.plain {
            eprintln!("{doc}: {what}: still waiting for the answer ({secs} s)");
        }
    }

    fn status(&self) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let tokens = self.tokens.load(Ordering::Relaxed);
        let cost = self.cost_micro.load(Ordering::Relaxed) as f64 / 1e6;
        format!(
            "{} cached · {} tokens · {:.0} tok/s · ${cost:.4}",
            self.hits.load(Ordering::Relaxed),
            tokens,
            tokens as f64 / secs
        )
    }

    pub fn doc_started(&self, doc: &str) {
        if let Some(mp) = &self.mp {
            let bar = mp.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("  {spinner} {prefix}: {msg} [{elapsed}]")
                    .expect("valid template"),
            );
            bar.set_prefix(doc.to_string());
            bar.enable_steady_tick(Duration::from_millis(200));
            self.docs
                .lock()
                .expect("docs lock")
                .insert(doc.to_string(), bar);
        }
    }

    /// A task of a document ended.
    pub fn task_done(&self, doc: &str, task: &str, status: &str) {
        if self.plain {
            eprintln!(
                "{doc}: {task} {status} [{}/{} calls; {}]",
                self.overall.position(),
                self.overall.length().unwrap_or(0),
                self.status()
            );
        }
    }

    pub fn doc_done(&self, doc: &str) {
        if let Some(bar) = self.docs.lock().expect("docs lock").remove(doc) {
            bar.finish_and_clear();
        }
    }

    pub fn finish(&self) {
        self.overall.finish_and_clear();
        for (_, bar) in self.docs.lock().expect("docs lock").drain() {
            bar.finish_and_clear();
        }
        *BARS.lock().expect("bars lock") = None;
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Ok(mut b) = BARS.lock() {
            *b = None;
        }
    }
}
