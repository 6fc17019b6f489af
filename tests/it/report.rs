//! `tolk report`: the HTML site of a run against the fake server. Escaping (a letter and a
//! model reply holding `<script>` show as text), self-containment, a redacted snapshot, the
//! diff page, and a real browser (headless Chromium through chromedriver) that clicks a quote
//! and sees its lines highlighted.

use crate::support::fake_llm::{FakeConfig, FakeThread};
use crate::support::{letter, root, stderr, stdout, tolk};
use base64::Engine;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HOSTILE: &str = "Aan de minister <script>alert('letter')</script>\n\nGeachte minister,\n\nWij vinden dat <b>chatcontrole</b> & detectiebevelen \"niet\" passen bij de rechtsstaat. Wij zijn tegen client-side scanning.\n\nMet vriendelijke groet,\n\nStichting Test\n";

/// A run of the Offlimits letter and a hostile one, with its report. Returns (out, run dir,
/// report index).
fn run_and_report(fake: &FakeThread, tmp: &Path) -> (PathBuf, PathBuf, PathBuf) {
    run_and_report_with(fake, tmp, &[])
}

/// [`run_and_report`] with more environment (`TOLK_CONFIG`, say).
fn run_and_report_with(
    fake: &FakeThread,
    tmp: &Path,
    env: &[(&str, &str)],
) -> (PathBuf, PathBuf, PathBuf) {
    let input = tmp.join("input");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::copy(
        letter("2024-09-18-offlimits"),
        input.join("2024-09-18-offlimits-advies-kabinetsstandpunt.txt"),
    )
    .unwrap();
    std::fs::write(input.join("hostile.txt"), HOSTILE).unwrap();
    let out = tmp.join("out");
    let o = tolk(
        &root(),
        &[
            "run",
            input.to_str().unwrap(),
            "--endpoint",
            &fake.base_url,
            "--model",
            "fake-a",
            "--out",
            out.to_str().unwrap(),
            "--no-progress",
        ],
        &[&[crate::support::CHUNK_MODE], env].concat(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let run = PathBuf::from(stdout(&o).trim());
    let o = tolk(&root(), &["report", "--out", out.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let index = PathBuf::from(stdout(&o).trim());
    assert_eq!(index, run.join("report/index.html"));
    (out, run, index)
}

fn redact(html: &str, tmp: &Path) -> String {
    let t = tmp.to_str().unwrap();
    let mut s = html
        .replace(t, "[tmp]")
        .replace(&t.replace('/', "&#x2f;"), "[tmp]");
    for (re, with) in [
        (r"\d{8}T\d{6}Z-fake-a-[0-9a-f]{6}", "[run_id]"),
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", "[created]"),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[port]"),
        (r"· [0-9.]+ s</td>", "· [secs] s</td>"),
        (r#"content="tolk [^"]+""#, r#"content="tolk [version]""#),
    ] {
        s = regex::Regex::new(re)
            .unwrap()
            .replace_all(&s, with)
            .into_owned();
    }
    s
}

#[test]
fn the_report_escapes_everything_needs_nothing_from_outside_and_matches_its_snapshot() {
    let fake = FakeThread::start(FakeConfig::default());
    let tmp = tempfile::tempdir().unwrap();
    let (_, run, index) = run_and_report(&fake, tmp.path());
    let dir = index.parent().unwrap();
    let hostile = std::fs::read_to_string(dir.join("doc-hostile.html")).unwrap();
    let index_html = std::fs::read_to_string(&index).unwrap();

    // The letter's and the model's <script> and <b> are text. The fake model echoes the source
    // in its translation, so both come through.
    let translation = std::fs::read_to_string(run.join("hostile/translation.json")).unwrap();
    assert!(
        translation.contains("<script>alert('letter')</script>"),
        "the reply holds it too"
    );
    assert!(hostile.contains("&lt;script&gt;alert(&#x27;letter&#x27;)&lt;&#x2f;script&gt;"));
    assert!(hostile.contains("&lt;b&gt;chatcontrole&lt;&#x2f;b&gt; &amp; detectiebevelen"));
    for (name, page) in [("index", &index_html), ("hostile", &hostile)] {
        assert_eq!(
            page.matches("<script").count(),
            1,
            "{name}: only the report's own script"
        );
        assert!(!page.contains("<b>"), "{name}");
        // Self-contained: no external stylesheet, script, image or font.
        for needle in ["<link", " src=", "@import", "url("] {
            assert!(!page.contains(needle), "{name} has {needle}");
        }
    }
    // Every page the index links to exists, and the matrix links to evidence.
    for cap in regex::Regex::new(r##"href="([^"#]+)(#[^"]*)?""##)
        .unwrap()
        .captures_iter(&index_html)
    {
        assert!(
            dir.join(&cap[1]).is_file(),
            "{} is linked but missing",
            &cap[1]
        );
    }
    assert!(
        index_html.contains("#topic-"),
        "matrix cells link to the topics' evidence"
    );
    let offlimits =
        std::fs::read_to_string(dir.join("doc-2024-09-18-offlimits-advies-kabinetsstandpunt.html"))
            .unwrap();
    assert!(offlimits.contains(r#"id="topic-overall""#));
    assert!(
        offlimits.contains(r#"class="cite quote""#)
            && offlimits.contains(r#"class="cite keypoint""#)
    );

    insta::assert_snapshot!("report_index", redact(&index_html, tmp.path()));
    insta::assert_snapshot!("report_doc_hostile", redact(&hostile, tmp.path()));

    // The diff page of two runs: a second model.
    let out = tmp.path().join("out");
    let o = tolk(
        &root(),
        &[
            "run",
            tmp.path().join("input/hostile.txt").to_str().unwrap(),
            "--endpoint",
            &fake.base_url,
            "--model",
            "fake-b",
            "--out",
            out.to_str().unwrap(),
            "--no-progress",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = tolk(
        &root(),
        &[
            "report",
            "--out",
            out.to_str().unwrap(),
            "--diff",
            "fake-a",
            "fake-b",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let page = std::fs::read_to_string(stdout(&o).trim()).unwrap();
    assert!(
        page.contains("<del>") && page.contains("<ins>"),
        "word changes are marked"
    );
    assert!(page.contains("fake-a") && page.contains("fake-b"));
    assert!(
        page.contains("Only in one run"),
        "the Offlimits letter is only in run A"
    );
    assert!(!page.contains("<script>alert"));
}

/// chromedriver on a free port; killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn browser_or_skip() -> Option<Driver> {
    let (chromium, driver) = (
        Path::new("/usr/bin/chromium"),
        Path::new("/usr/bin/chromedriver"),
    );
    if !chromium.is_file() || !driver.is_file() {
        if std::env::var_os("CI").is_some() {
            panic!("CI must install chromium and chromium-driver (scripts/setup.sh --test)");
        }
        eprintln!("skipping the browser test: no /usr/bin/chromium or /usr/bin/chromedriver");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(driver)
        .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    Some(Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    })
}

/// A minimal WebDriver client (W3C protocol over HTTP).
struct Session {
    http: reqwest::Client,
    rt: tokio::runtime::Runtime,
    base: String,
}

impl Session {
    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        self.rt.block_on(async {
            let mut req = self.http.request(method, &url);
            if let Some(b) = body {
                req = req.json(&b);
            }
            let resp = req.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
            let v: Value = resp.json().await.unwrap();
            assert!(v["value"]["error"].is_null(), "{path}: {v}");
            v["value"].clone()
        })
    }
    fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body))
    }
    fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None)
    }
    fn script(&self, sid: &str, js: &str) -> Value {
        self.post(
            &format!("/session/{sid}/execute/sync"),
            json!({"script": js, "args": []}),
        )
    }
    fn find(&self, sid: &str, css: &str) -> String {
        let v = self.post(
            &format!("/session/{sid}/element"),
            json!({"using": "css selector", "value": css}),
        );
        v.as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    }
    fn severe_logs(&self, sid: &str) -> Vec<Value> {
        self.post(
            &format!("/session/{sid}/se/log"),
            json!({"type": "browser"}),
        )
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e["level"] == "SEVERE")
        .collect()
    }
}

impl Session {
    /// A headless Chromium session through `driver`.
    fn start(driver: &Driver) -> (Session, String) {
        let s = Session {
            http: reqwest::Client::new(),
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            base: driver.url.clone(),
        };
        let t0 = Instant::now();
        while s
            .rt
            .block_on(async { s.http.get(format!("{}/status", s.base)).send().await })
            .is_err()
        {
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        let session = s.post(
            "/session",
            json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": "/usr/bin/chromium",
                    "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                             "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
                             "--window-size=1400,1000"]
                },
                "goog:loggingPrefs": {"browser": "ALL"}
            }}}),
        );
        let sid = session["sessionId"].as_str().unwrap().to_string();
        (s, sid)
    }
}

#[test]
fn in_a_real_browser_the_matrix_renders_and_a_clicked_quote_highlights_its_lines() {
    let Some(driver) = browser_or_skip() else {
        return;
    };
    let fake = FakeThread::start(FakeConfig::default());
    let tmp = tempfile::tempdir().unwrap();
    let (_, _, index) = run_and_report(&fake, tmp.path());
    let (s, sid) = Session::start(&driver);

    // The index: a matrix row per document and a cell per topic.
    s.post(
        &format!("/session/{sid}/url"),
        json!({"url": format!("file://{}", index.display())}),
    );
    let cells = s.script(&sid, "return document.querySelectorAll('#matrix tbody tr').length + ':' + document.querySelectorAll('#matrix td.cell a').length");
    assert_eq!(cells, "2:24", "two documents, overall and 11 topics each");
    assert!(s.severe_logs(&sid).is_empty(), "{:?}", s.severe_logs(&sid));

    // A matrix cell leads to the document page, at the topic.
    let cell = s.find(
        &sid,
        "#matrix tbody tr:first-child td.cell:nth-of-type(3) a",
    );
    s.post(&format!("/session/{sid}/element/{cell}/click"), json!({}));
    let here = s.script(
        &sid,
        "return location.pathname.split('/').pop() + location.hash",
    );
    assert!(
        here.as_str()
            .unwrap()
            .starts_with("doc-2024-09-18-offlimits"),
        "{here}"
    );
    assert!(here.as_str().unwrap().contains("#topic-"), "{here}");

    // Clicking a quote highlights exactly its lines and scrolls them into view.
    let quote = s.find(&sid, "a.cite.quote");
    let lines = s.get(&format!(
        "/session/{sid}/element/{quote}/attribute/data-lines"
    ));
    let lines = lines.as_str().unwrap().to_string();
    s.post(&format!("/session/{sid}/element/{quote}/click"), json!({}));
    let lit = s.script(
        &sid,
        "return Array.from(document.querySelectorAll('.ln.hl')).map(e => e.id).join(',')",
    );
    let (a, b) = match lines.split_once('-') {
        Some((a, b)) => (a.parse::<u32>().unwrap(), b.parse::<u32>().unwrap()),
        None => (lines.parse().unwrap(), lines.parse().unwrap()),
    };
    let lit: Vec<String> = lit.as_str().unwrap().split(',').map(String::from).collect();
    assert!(
        !lit.is_empty() && lit[0] == format!("L{a}"),
        "{lit:?} for {lines}"
    );
    for id in &lit {
        let n: u32 = id[1..].parse().unwrap();
        assert!((a..=b).contains(&n), "{id} is outside {lines}");
    }
    let visible = s.script(&sid, "var r = document.querySelector('.ln.hl').getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight");
    assert_eq!(visible, true, "the first cited line is scrolled into view");
    // A key point highlights its lines too.
    let kp = s.find(&sid, "a.cite.keypoint");
    s.post(&format!("/session/{sid}/element/{kp}/click"), json!({}));
    let lit = s.script(&sid, "return document.querySelectorAll('.ln.hl').length");
    assert!(lit.as_u64().unwrap() >= 1);
    assert!(s.severe_logs(&sid).is_empty(), "{:?}", s.severe_logs(&sid));

    // A screenshot, for a human to look at.
    s.post(&format!("/session/{sid}/element/{quote}/click"), json!({}));
    let png = s.get(&format!("/session/{sid}/screenshot"));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(png.as_str().unwrap())
        .unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-screenshot.png");
    std::fs::write(&shot, &bytes).unwrap();
    eprintln!("screenshot: {}", shot.display());
    s.call(reqwest::Method::DELETE, &format!("/session/{sid}"), None);
}

#[test]
fn in_a_real_browser_the_questions_filter_and_lead_from_a_cell_or_a_question_page_to_the_quote() {
    let Some(driver) = browser_or_skip() else {
        return;
    };
    let fake = FakeThread::start(FakeConfig::default());
    let tmp = tempfile::tempdir().unwrap();
    // One question that only the Offlimits letter's words reach: the hostile letter is not
    // asked, and not addressed.
    let config = tmp.path().join("tolk.toml");
    std::fs::write(
        &config,
        "[[questions]]\nid = \"hungary\"\ntext = \"What does the letter say about the Hungarian proposal?\"\nterms = [\"hongaars\"]\n",
    )
    .unwrap();
    let (_, _, index) = run_and_report_with(
        &fake,
        tmp.path(),
        &[("TOLK_CONFIG", config.to_str().unwrap())],
    );
    let (s, sid) = Session::start(&driver);
    let go = |url: String| s.post(&format!("/session/{sid}/url"), json!({ "url": url }));
    go(format!("file://{}", index.display()));
    let heads = s.script(&sid, "return Array.from(document.querySelectorAll('#matrix th.question a')).map(a => a.textContent).join(',')");
    assert_eq!(heads, "hungary");
    let cells = s.script(
        &sid,
        "return document.querySelectorAll('#matrix td.cell a').length",
    );
    assert_eq!(
        cells,
        2 * 13,
        "overall, 11 topics and the question per letter"
    );

    // The filter: only not-addressed cells stay bright, and only rows that have one stay.
    s.script(&sid, "var f = document.getElementById('position-filter'); f.value = 'not_addressed'; f.dispatchEvent(new Event('change')); return null");
    let shown = s.script(&sid, "return Array.from(document.querySelectorAll('#matrix td.cell:not(.off)')).map(td => td.dataset.position).join(',')");
    assert!(
        !shown.as_str().unwrap().is_empty()
            && shown
                .as_str()
                .unwrap()
                .split(',')
                .all(|p| p == "not_addressed"),
        "{shown}"
    );
    let hostile = s.script(&sid, "var r = Array.from(document.querySelectorAll('#matrix tbody tr')).find(tr => tr.textContent.includes('hostile')); return r.classList.contains('off') + ':' + r.querySelector('td.answer').dataset.position");
    assert_eq!(hostile, "false:not_addressed");
    s.script(&sid, "var f = document.getElementById('position-filter'); f.value = ''; f.dispatchEvent(new Event('change')); return null");
    let off = s.script(
        &sid,
        "return document.querySelectorAll('#matrix .off').length",
    );
    assert_eq!(off, 0);

    // A question cell leads to the answer on the letter's page, where its quote lights its lines.
    let cell = s.find(&sid, "#matrix tbody tr:first-child td.answer a");
    s.post(&format!("/session/{sid}/element/{cell}/click"), json!({}));
    let here = s.script(
        &sid,
        "return location.pathname.split('/').pop() + location.hash",
    );
    assert_eq!(
        here,
        "doc-2024-09-18-offlimits-advies-kabinetsstandpunt.html#question-hungary"
    );
    let quote = s.find(&sid, "#question-hungary a.cite.quote");
    s.post(&format!("/session/{sid}/element/{quote}/click"), json!({}));
    let lit = s.script(&sid, "return document.querySelectorAll('.ln.hl').length");
    assert!(lit.as_u64().unwrap() >= 1);

    // The question's page: a row per letter; a quote's link opens the letter at its lines.
    go(format!(
        "file://{}",
        index.with_file_name("question-hungary.html").display()
    ));
    let rows = s.script(
        &sid,
        "return document.querySelectorAll('#answers tbody tr').length",
    );
    assert_eq!(rows, 2);
    let link = s.find(&sid, "#answers a.cite.quote");
    let href = s.get(&format!("/session/{sid}/element/{link}/attribute/href"));
    s.post(&format!("/session/{sid}/element/{link}/click"), json!({}));
    let here = s.script(
        &sid,
        "return location.pathname.split('/').pop() + location.hash",
    );
    assert_eq!(here, href, "the quote's link opens its letter at its lines");
    let lit = s.script(
        &sid,
        "return Array.from(document.querySelectorAll('.ln.hl')).map(e => e.id).join(',')",
    );
    let first = href
        .as_str()
        .unwrap()
        .split("#L")
        .nth(1)
        .unwrap()
        .split('-')
        .next()
        .unwrap()
        .to_string();
    assert!(
        lit.as_str().unwrap().starts_with(&format!("L{first}")),
        "{lit} for {href}"
    );
    assert!(s.severe_logs(&sid).is_empty(), "{:?}", s.severe_logs(&sid));
    s.call(reqwest::Method::DELETE, &format!("/session/{sid}"), None);
}
