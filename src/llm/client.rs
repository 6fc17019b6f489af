//! The client every task calls: a [`Provider`] plus bounded concurrency (a semaphore held only
//! while a request is in flight, not while it waits to retry), request and token rate limits
//! (governor; tokens counted with tiktoken before sending), retries with exponential backoff and
//! jitter (backon) that honour Retry-After, and for structured requests: client-side validation,
//! one repair attempt, and truncation handling.

use super::structured;
use super::{
    ChatRequest, Completion, LlmError, Message, Provider, ProviderInfo, retry_delay, retryable,
};
use crate::chunk::TokenEncoding;
use backon::{ExponentialBuilder, Retryable};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::Value;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Called when an attempt leaves the queue and the provider starts on it.
pub type Sent<'a> = &'a (dyn Fn() + Send + Sync);

/// Limits and retry policy.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub concurrency: usize,
    pub max_retries: u32,
    pub retry_base: Duration,
    pub retry_max: Duration,
    pub rpm: Option<u32>,
    pub tpm: Option<u32>,
    /// On truncation, retry once with this max_tokens.
    pub max_tokens_retry: Option<u32>,
    /// For counting tokens before sending (the tpm limit).
    pub encoding: TokenEncoding,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            concurrency: 8,
            max_retries: 6,
            retry_base: Duration::from_millis(500),
            retry_max: Duration::from_secs(30),
            rpm: None,
            tpm: None,
            max_tokens_retry: None,
            encoding: TokenEncoding::O200kBase,
        }
    }
}

/// Counters, shared and cheap to read at any time (the progress bar does).
#[derive(Debug, Default)]
pub struct Stats {
    /// HTTP attempts made (retries and repairs included).
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub repairs: AtomicU64,
    pub prompt_tokens: AtomicU64,
    pub completion_tokens: AtomicU64,
    pub in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
}

/// Calls a provider politely and checks what comes back.
pub struct Client {
    provider: Arc<dyn Provider>,
    semaphore: Semaphore,
    rpm: Option<DefaultDirectRateLimiter>,
    tpm: Option<(DefaultDirectRateLimiter, u32)>,
    options: ClientOptions,
    stats: Arc<Stats>,
}

impl Client {
    pub fn new(provider: Arc<dyn Provider>, options: ClientOptions) -> Client {
        let burst = NonZeroU32::new(options.concurrency.max(1) as u32).expect("at least 1");
        let rpm = options
            .rpm
            .and_then(NonZeroU32::new)
            .map(|n| RateLimiter::direct(Quota::per_minute(n).allow_burst(burst.min(n))));
        let tpm = options
            .tpm
            .and_then(NonZeroU32::new)
            .map(|n| (RateLimiter::direct(Quota::per_minute(n)), n.get()));
        Client {
            provider,
            semaphore: Semaphore::new(options.concurrency.max(1)),
            rpm,
            tpm,
            options,
            stats: Arc::new(Stats::default()),
        }
    }

    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }

    pub fn info(&self) -> ProviderInfo {
        self.provider.info()
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Tokens a request will use, as the rate limiter counts them: prompt + max_tokens.
    pub fn estimate_tokens(&self, request: &ChatRequest) -> u32 {
        let prompt: usize = request
            .messages
            .iter()
            .map(|m| self.options.encoding.count(&m.content) + 4)
            .sum();
        (prompt as u32).saturating_add(request.max_tokens.unwrap_or(0))
    }

    async fn attempt(
        &self,
        request: &ChatRequest,
        on_sent: Sent<'_>,
    ) -> Result<Completion, LlmError> {
        if let Some(limiter) = &self.rpm {
            limiter.until_ready().await;
        }
        if let Some((limiter, capacity)) = &self.tpm {
            let n = self.estimate_tokens(request).clamp(1, *capacity);
            let _ = limiter
                .until_n_ready(NonZeroU32::new(n).expect("clamped to at least 1"))
                .await;
        }
        let _permit = self
            .semaphore
            .acquire()
            .await
            .expect("semaphore never closed");
        let started = || {
            on_sent();
            let now = self.stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.stats.max_in_flight.fetch_max(now, Ordering::SeqCst);
        };
        let started_once = std::sync::Once::new();
        let result = self
            .provider
            .chat_started(request, &|| started_once.call_once(started))
            .await;
        if started_once.is_completed() {
            self.stats.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        match &result {
            Ok(c) => {
                if let Some(u) = c.usage {
                    self.stats
                        .prompt_tokens
                        .fetch_add(u.prompt_tokens, Ordering::Relaxed);
                    self.stats
                        .completion_tokens
                        .fetch_add(u.completion_tokens, Ordering::Relaxed);
                }
                tracing::debug!(latency_ms = c.latency.as_millis() as u64, finish = ?c.finish_reason, "attempt ok");
            }
            Err(e) => tracing::debug!(status = ?e.status(), error = %e, "attempt failed"),
        }
        result
    }

    /// One call with retries on transient errors. No validation.
    pub async fn chat(&self, request: &ChatRequest) -> Result<Completion, LlmError> {
        self.chat_observed(request, &|| {}).await
    }

    /// [`Client::chat`], calling `on_sent` whenever an attempt leaves the queue (the concurrency
    /// limit and the rate limits) and goes to the provider.
    pub async fn chat_observed(
        &self,
        request: &ChatRequest,
        on_sent: Sent<'_>,
    ) -> Result<Completion, LlmError> {
        let attempts = AtomicU32::new(0);
        let cap = self.options.retry_max;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.options.retry_base)
            .with_max_delay(cap)
            .with_max_times(self.options.max_retries as usize)
            .with_jitter();
        let result = (|| async {
            attempts.fetch_add(1, Ordering::Relaxed);
            self.attempt(request, on_sent).await
        })
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .when(retryable)
        .adjust(|err, delay| delay.map(|d| retry_delay(err, d, cap)))
        .notify(|err, delay| {
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(delay_ms = delay.as_millis() as u64, error = %err, "retrying");
        })
        .await;
        let attempts = attempts.load(Ordering::Relaxed);
        result.map_err(|e| {
            if retryable(&e) && attempts > 1 {
                LlmError::RetriesExhausted {
                    attempts,
                    last: Box::new(e),
                }
            } else {
                e
            }
        })
    }

    /// A structured call: the reply is parsed and validated against `request.schema`. A reply
    /// that fails gets one repair attempt (the model sees its output and the errors); if the
    /// repair fails too, the request starts afresh, at most twice. A truncated reply is retried
    /// once with `max_tokens_retry` when configured, else reported.
    pub async fn chat_json(&self, request: &ChatRequest) -> Result<(Completion, Value), LlmError> {
        self.chat_json_observed(request, &|| {}).await
    }

    /// [`Client::chat_json`], calling `on_sent` whenever an attempt goes to the provider.
    pub async fn chat_json_observed(
        &self,
        request: &ChatRequest,
        on_sent: Sent<'_>,
    ) -> Result<(Completion, Value), LlmError> {
        if request.schema.is_none() {
            return Err(LlmError::NoSchema("chat_json"));
        }
        let mut base = request.clone();
        let mut current = base.clone();
        let mut repaired = false;
        let mut widened = false;
        let mut fresh_starts = 0;
        loop {
            let completion = self.chat_observed(&current, on_sent).await?;
            // A plain reply that runs to its limit is a small model repeating itself: a larger
            // budget only buys more repetition.
            if structured::cut_off(&completion) && !current.plain {
                let limit = current.max_tokens.unwrap_or(0);
                if let Some(m) = self.options.max_tokens_retry
                    && !widened
                    && m > limit
                {
                    widened = true;
                    base.max_tokens = Some(m);
                    current.max_tokens = Some(m);
                    continue;
                }
                tracing::debug!(raw = %completion.content, "the reply was cut off");
            }
            // A repair attempt carries extra messages; its reply is checked against the
            // request's own schema and budget.
            match structured::accept(&completion, &current) {
                Ok(value) => return Ok((completion, value)),
                Err(err @ LlmError::Truncated { .. }) => return Err(err),
                Err(err) if !repaired => {
                    repaired = true;
                    self.stats.repairs.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(error = %err, "repairing");
                    current = base.clone();
                    current
                        .messages
                        .push(Message::assistant(completion.content.clone()));
                    let repair = if current.plain {
                        structured::plain_repair_message(&err)
                    } else {
                        structured::repair_message(&err)
                    };
                    current.messages.push(Message::user(repair));
                }
                Err(err) if fresh_starts < 2 => {
                    fresh_starts += 1;
                    repaired = false;
                    tracing::debug!(error = %err, "repair failed; starting afresh");
                    current = base.clone();
                }
                Err(err) => return Err(err),
            }
        }
    }
}
