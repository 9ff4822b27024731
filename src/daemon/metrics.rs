//! Daemon, process-wide metrics, exposed by `GET /metrics` in Prometheus text format.
//! Counting never fails and never blocks the pipeline: every instrument is an atomic. One
//! set per process, like a log: the daemon records each feed's poll as it finishes, the
//! health server reads.

use std::sync::LazyLock;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::ingest::{FeedReport, Outcome};

type Labels = Vec<(String, String)>;

pub struct Metrics {
    registry: Registry,
    polls: Family<Labels, Counter>,
    articles: Counter,
    matches: Counter,
    feed_errors: Family<Labels, Counter>,
    poll_seconds: Histogram,
    deliveries: Family<Labels, Gauge>,
    alerts_sent: Counter,
    leader: Gauge,
    leases: Gauge,
    instances: Gauge,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn global() -> &'static Metrics {
    &METRICS
}

/// Count one feed's poll (called as each feed of a cycle finishes).
pub fn record_poll(r: &FeedReport) {
    let m = global();
    let (feed, seconds) = (r.name.as_str(), r.seconds);
    match &r.outcome {
        Outcome::Updated(s) => m.poll(feed, "ok", seconds, s.new, s.matches),
        Outcome::NotModified => m.poll(feed, "not_modified", seconds, 0, 0),
        Outcome::Failed(_) => m.poll(feed, "failed", seconds, 0, 0),
        Outcome::Skipped(_) => m.poll(feed, "skipped", seconds, 0, 0),
    }
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("vigie");
        let polls = Family::<Labels, Counter>::default();
        let articles = Counter::default();
        let matches = Counter::default();
        let feed_errors = Family::<Labels, Counter>::default();
        let poll_seconds = Histogram::new(exponential_buckets(0.05, 2.0, 12));
        let deliveries = Family::<Labels, Gauge>::default();
        let alerts_sent = Counter::default();
        let (leader, leases, instances) = (Gauge::default(), Gauge::default(), Gauge::default());
        registry.register(
            "polls",
            "Feed polls by outcome (ok, not_modified, failed, skipped)",
            polls.clone(),
        );
        registry.register("articles_stored", "New articles stored", articles.clone());
        registry.register("matches", "Watch matches recorded", matches.clone());
        registry.register("feed_errors", "Failed polls by feed", feed_errors.clone());
        registry.register(
            "poll_duration_seconds",
            "Time to fetch and process one feed",
            poll_seconds.clone(),
        );
        registry.register(
            "deliveries",
            "Deliveries in the outbox by state",
            deliveries.clone(),
        );
        registry.register(
            "alerts_sent",
            "Emails handed to the mail transport",
            alerts_sent.clone(),
        );
        registry.register(
            "leader",
            "1 when this instance leads (digests, retention, search index, feed health)",
            leader.clone(),
        );
        registry.register(
            "feed_leases",
            "Feeds this instance holds a lease on (shared PostgreSQL store)",
            leases.clone(),
        );
        registry.register(
            "instances",
            "Instances heard from on the shared store, this one included",
            instances.clone(),
        );
        Metrics {
            leader,
            leases,
            instances,
            registry,
            polls,
            articles,
            matches,
            feed_errors,
            poll_seconds,
            deliveries,
            alerts_sent,
        }
    }

    /// One poll of `feed` ended with `outcome` after `seconds`, storing `new` articles
    /// and `matches` matches.
    pub fn poll(&self, feed: &str, outcome: &str, seconds: f64, new: usize, matches: usize) {
        self.polls
            .get_or_create(&vec![("outcome".into(), outcome.into())])
            .inc();
        self.poll_seconds.observe(seconds);
        self.articles.inc_by(new as u64);
        self.matches.inc_by(matches as u64);
        if outcome == "failed" {
            self.feed_errors
                .get_or_create(&vec![("feed".into(), feed.into())])
                .inc();
        }
    }

    pub fn sent(&self, n: usize) {
        self.alerts_sent.inc_by(n as u64);
    }

    /// Outbox counts, read from the database when scraped.
    pub fn set_deliveries(&self, pending: u64, sent: u64, failed: u64) {
        for (state, n) in [("pending", pending), ("sent", sent), ("failed", failed)] {
            self.deliveries
                .get_or_create(&vec![("state".into(), state.into())])
                .set(n as i64);
        }
    }

    /// This instance's role among the others, as its last heartbeat saw it.
    pub fn set_coordination(&self, c: &crate::store::instance::Coordination) {
        self.leader.set(i64::from(c.leads));
        self.leases.set(i64::try_from(c.leases).unwrap_or(i64::MAX));
        self.instances
            .set(i64::try_from(c.peers.len().max(1)).unwrap_or(i64::MAX));
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_in_prometheus_text_format() {
        let m = Metrics::new();
        m.poll("a", "ok", 0.2, 3, 1);
        m.poll("b", "failed", 1.0, 0, 0);
        m.set_deliveries(2, 5, 0);
        let text = m.render();
        assert!(
            text.contains("vigie_polls_total{outcome=\"ok\"} 1"),
            "{text}"
        );
        assert!(text.contains("vigie_articles_stored_total 3"), "{text}");
        assert!(
            text.contains("vigie_feed_errors_total{feed=\"b\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("vigie_deliveries{state=\"pending\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("vigie_poll_duration_seconds_count 2"),
            "{text}"
        );
        assert!(text.trim_end().ends_with("# EOF"));
    }
}
