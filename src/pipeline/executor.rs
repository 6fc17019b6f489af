//! The executor: every call of a run goes through it. The cache answers first; a call it cannot
//! answer connects the endpoint (once, on the first miss), goes to the client, and its answer is
//! written to the cache (atomically, fsynced) the moment it arrives.

use crate::endpoint::Endpoint;
use crate::llm::{BoxFuture, Client, Completion, LlmError};
use crate::progress::Progress;
use crate::store::cache::{Cache, CacheKey, Entry};
use crate::tasks::{Answer, CallError, CallSpec, Caller, Task};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often a call that is still waiting says so.
const WAITING_NOTICE: Duration = Duration::from_secs(60);

/// The cache entry for an answer (a live call's, or a batch result's).
pub fn cache_entry(
    key: CacheKey,
    task: Task,
    doc_id: &str,
    completion: &Completion,
    value: serde_json::Value,
) -> Entry {
    let usage = completion.usage.unwrap_or_default();
    Entry {
        key,
        task: task.name().to_string(),
        doc_id: doc_id.to_string(),
        created_at: crate::store::now_rfc3339(),
        model: completion.model.clone(),
        system_fingerprint: completion.system_fingerprint.clone(),
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        value,
    }
}

/// The call executor of a run: the cache first, then the endpoint.
pub struct Executor {
    endpoint: Arc<Endpoint>,
    cache: Cache,
    refresh: bool,
    progress: Arc<Progress>,
    hits: AtomicU64,
    live: AtomicU64,
    /// The model (and system fingerprint) the first answer named.
    resolved: std::sync::Mutex<(Option<String>, Option<String>)>,
    /// Made on the first call the cache cannot answer.
    client: tokio::sync::OnceCell<Result<Arc<Client>, LlmError>>,
}

impl Executor {
    pub fn new(
        endpoint: Arc<Endpoint>,
        cache: Cache,
        refresh: bool,
        progress: Arc<Progress>,
    ) -> Executor {
        Executor {
            endpoint,
            cache,
            refresh,
            progress,
            hits: AtomicU64::new(0),
            live: AtomicU64::new(0),
            resolved: std::sync::Mutex::new((None, None)),
            client: tokio::sync::OnceCell::new(),
        }
    }

    /// Answers from the cache so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Live calls answered so far.
    pub fn live(&self) -> u64 {
        self.live.load(Ordering::Relaxed)
    }

    /// The model and system fingerprint the first answer named.
    pub fn resolved(&self) -> (Option<String>, Option<String>) {
        self.resolved.lock().expect("resolved lock").clone()
    }

    /// The client, if a call needed one and it could be made.
    pub fn client(&self) -> Option<Arc<Client>> {
        self.client.get().and_then(|r| r.as_ref().ok()).cloned()
    }

    /// Why no connection could be made, if that happened.
    pub fn connect_error(&self) -> Option<&LlmError> {
        self.client.get().and_then(|r| r.as_ref().err())
    }

    /// USD for these token counts, when prices are configured.
    pub fn cost(&self, prompt: u64, completion: u64) -> f64 {
        self.endpoint
            .prices
            .map(|(i, o)| (prompt as f64 * i + completion as f64 * o) / 1e6)
            .unwrap_or(0.0)
    }

    fn remember_model(&self, model: &Option<String>, fingerprint: &Option<String>) {
        let mut r = self.resolved.lock().expect("resolved lock");
        if r.0.is_none() {
            *r = (model.clone(), fingerprint.clone());
        }
    }

    fn cached(&self, spec: &CallSpec, digest: &str) -> Option<Answer> {
        if self.refresh {
            return None;
        }
        let entry = self.cache.get(digest)?;
        self.hits.fetch_add(1, Ordering::Relaxed);
        self.remember_model(&entry.model, &entry.system_fingerprint);
        self.progress
            .call_done(&spec.doc_id, &spec.what, true, 0, 0.0);
        Some(Answer {
            value: entry.value,
            model: entry.model,
            cached: true,
        })
    }

    async fn connected(&self) -> Result<Arc<Client>, CallError> {
        let progress = self.progress.clone();
        let say = move |line: &str| progress.println(line);
        self.client
            .get_or_init(|| self.endpoint.connect(&say))
            .await
            .clone()
            .map_err(CallError::NotConnected)
    }

    /// The live call, saying every minute that it is still waiting. Its clock starts when the
    /// provider starts on it, not while it waits behind others (in the client's queue, or in the
    /// embedded model's until a slot takes it).
    async fn call_live(
        &self,
        client: &Client,
        spec: &CallSpec,
    ) -> Result<(Completion, serde_json::Value), LlmError> {
        let label = format!("{} {}", spec.task.name(), spec.what);
        let sent_at: std::sync::Mutex<Option<Instant>> = std::sync::Mutex::new(None);
        let on_sent = || {
            *sent_at.lock().expect("sent_at lock") = Some(Instant::now());
            self.progress.call_started(&spec.doc_id, &label);
        };
        let call = client.chat_json_observed(&spec.request, &on_sent);
        tokio::pin!(call);
        let mut tick =
            tokio::time::interval_at(tokio::time::Instant::now() + WAITING_NOTICE, WAITING_NOTICE);
        // The last whole minute reported for the current attempt.
        let mut reported = 0;
        loop {
            tokio::select! {
                r = &mut call => return r,
                _ = tick.tick() => {
                    let sent = *sent_at.lock().expect("sent_at lock");
                    let waited = sent.map_or(0, |t| t.elapsed().as_secs());
                    if waited >= WAITING_NOTICE.as_secs() && waited / 60 != reported {
                        reported = waited / 60;
                        self.progress.call_waiting(&spec.doc_id, &label, waited);
                    }
                }
            }
        }
    }

    /// Keep what was paid for: the entry goes to disk (fsync blocks, so off the async workers).
    async fn store(&self, digest: String, entry: Entry) {
        let cache = self.cache.clone();
        let written = tokio::task::spawn_blocking(move || cache.put(&digest, &entry)).await;
        let failed = match written {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(crate::error::chain(&e)),
            Err(e) => Some(e.to_string()),
        };
        if let Some(e) = failed {
            tracing::warn!("could not write the cache ({e}); the answer is used but not kept");
        }
    }
}

impl Caller for Executor {
    fn call(&self, spec: CallSpec) -> BoxFuture<'_, Result<Answer, CallError>> {
        Box::pin(async move {
            let key = self.endpoint.scope.key(&spec);
            let digest = key.digest();
            if let Some(answer) = self.cached(&spec, &digest) {
                return Ok(answer);
            }
            let client = self.connected().await?;
            let (completion, value) = self.call_live(&client, &spec).await?;
            self.store(
                digest,
                cache_entry(key, spec.task, &spec.doc_id, &completion, value.clone()),
            )
            .await;
            self.live.fetch_add(1, Ordering::Relaxed);
            self.remember_model(&completion.model, &completion.system_fingerprint);
            let usage = completion.usage.unwrap_or_default();
            self.progress.call_done(
                &spec.doc_id,
                &spec.what,
                false,
                usage.prompt_tokens + usage.completion_tokens,
                self.cost(usage.prompt_tokens, usage.completion_tokens),
            );
            Ok(Answer {
                value,
                model: completion.model,
                cached: false,
            })
        })
    }
}

/// Counts the calls of one task (for the closing table).
pub struct Counted<'a> {
    pub inner: &'a dyn Caller,
    calls: AtomicU64,
}

impl<'a> Counted<'a> {
    pub fn new(inner: &'a dyn Caller) -> Counted<'a> {
        Counted {
            inner,
            calls: AtomicU64::new(0),
        }
    }

    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

impl Caller for Counted<'_> {
    fn call(&self, spec: CallSpec) -> BoxFuture<'_, Result<Answer, CallError>> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.call(spec)
    }
}
