//! Pushing the final figures to a Prometheus Pushgateway, for runs too short to be
//! scraped (CI).
//!
//! The metrics are sent once, at the end of the run, with `PUT
//! URL/metrics/job/gauntlet/scenario/<name>`: the Pushgateway's grouping key is the
//! job and the scenario, so a later run of the same scenario replaces the earlier
//! one's figures. The body is the same text exposition `/metrics` serves.

use std::time::Duration;

use super::MetricsError;

/// How long the push may take, connection included.
const PUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// The URL the figures of `scenario` are pushed to under the gateway `base`.
pub fn push_url(base: &str, scenario: &str) -> Result<String, MetricsError> {
    let base = base.trim_end_matches('/');
    // This build has no TLS: a gateway is reached over plain HTTP (normally loopback).
    if !base.starts_with("http://") {
        return Err(MetricsError::Push {
            url: base.to_owned(),
            reason: "expected an http:// URL, e.g. http://127.0.0.1:9091".to_owned(),
        });
    }
    // Scenario names are letters, digits, `-`, `_`, `.`: safe in a path segment.
    Ok(format!("{base}/metrics/job/gauntlet/scenario/{scenario}"))
}

/// PUTs `body` (the text exposition) to `url`.
pub fn push(url: &str, body: &str) -> Result<(), MetricsError> {
    let fail = |reason: String| MetricsError::Push {
        url: url.to_owned(),
        reason,
    };
    let response = ureq::put(url)
        .config()
        .timeout_global(Some(PUSH_TIMEOUT))
        .http_status_as_error(false)
        .build()
        .header("Content-Type", prometheus::TEXT_FORMAT)
        .send(body)
        .map_err(|e| fail(e.to_string()))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(fail(format!("the gateway answered {status}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grouping_key_is_job_and_scenario() {
        assert_eq!(
            push_url("http://127.0.0.1:9091/", "smoke").unwrap(),
            "http://127.0.0.1:9091/metrics/job/gauntlet/scenario/smoke"
        );
        assert!(push_url("127.0.0.1:9091", "smoke").is_err());
    }
}
