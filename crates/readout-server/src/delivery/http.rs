//! Webhook calls, refused when they would reach an inner address.
//!
//! Names are resolved by [`GuardedResolver`], the only resolver the client
//! uses: every address a name resolves to is checked at connect time, so a
//! name that resolved to a public address when the channel was saved and
//! to 127.0.0.1 now (DNS rebinding) is refused. Literal addresses are
//! checked before the request; redirects and proxies are off, so nothing
//! can lead the request elsewhere.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use readout_notify::HttpCall;
use readout_notify::target::refusal;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::{Failure, Sent};

#[derive(Debug)]
struct GuardedResolver {
    allowed: Arc<Vec<IpNet>>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allowed = Arc::clone(&self.allowed);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = resolve_checked(&host, &allowed).await?;
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The addresses of `host`, or why one of them may not be reached.
async fn resolve_checked(
    host: &str,
    allowed: &[IpNet],
) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("{host} resolves to no address").into());
    }
    for addr in &addrs {
        if let Some(why) = refusal(addr.ip(), allowed) {
            return Err(refused(host, addr.ip(), why).into());
        }
    }
    Ok(addrs)
}

fn refused(host: &str, ip: IpAddr, why: &str) -> String {
    let via = if host == ip.to_string() {
        String::new()
    } else {
        format!(" ({host} resolves to {ip})")
    };
    format!(
        "refused: {ip} is {why}{via}; the operator can allow its network in alerts.allow_networks"
    )
}

/// Whether `url` may be called: scheme, and every address its host has.
pub async fn check_url(url: &str, allowed: &[IpNet]) -> Result<(), String> {
    let parsed = parse(url)?;
    match parsed.host() {
        Some(url::Host::Domain(name)) => resolve_checked(name, allowed)
            .await
            .map(drop)
            .map_err(|e| e.to_string()),
        _ => check_literal(&parsed, allowed),
    }
}

fn parse(url: &str) -> Result<reqwest::Url, String> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| format!("the url {url:?} is invalid: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("the url {url:?} must use http or https"));
    }
    if parsed.host().is_none() {
        return Err(format!("the url {url:?} has no host"));
    }
    Ok(parsed)
}

fn literal(ip: IpAddr, allowed: &[IpNet]) -> Result<(), String> {
    match refusal(ip, allowed) {
        Some(why) => Err(refused(&ip.to_string(), ip, why)),
        None => Ok(()),
    }
}

/// Sends webhook calls.
#[derive(Debug, Clone)]
pub struct Caller {
    client: reqwest::Client,
    allowed: Arc<Vec<IpNet>>,
}

impl Caller {
    pub fn new(allowed: Vec<IpNet>, timeout: Duration) -> anyhow::Result<Self> {
        let allowed = Arc::new(allowed);
        let client = reqwest::Client::builder()
            .dns_resolver(GuardedResolver {
                allowed: Arc::clone(&allowed),
            })
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .user_agent(concat!("readout/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client, allowed })
    }

    pub fn allowed(&self) -> &[IpNet] {
        &self.allowed
    }

    /// One attempt; `key` goes out as `Idempotency-Key` so a receiver can
    /// drop a repeat of a call it already acknowledged.
    pub async fn call(&self, call: &HttpCall, key: &str) -> Result<Sent, Failure> {
        // Refused now is refused for good; the resolver checks again when
        // it connects, in case the name has changed its answer meanwhile.
        check_url(&call.url, &self.allowed)
            .await
            .map_err(Failure::permanent)?;
        let method = reqwest::Method::from_bytes(call.method.as_bytes())
            .map_err(|_| Failure::permanent(format!("bad method {}", call.method)))?;
        let mut request = self
            .client
            .request(method, &call.url)
            .header("Idempotency-Key", key);
        for (name, value) in &call.headers {
            let value =
                reqwest::header::HeaderValue::from_bytes(value.as_bytes()).map_err(|_| {
                    Failure::permanent(format!("header {name} has a value HTTP cannot carry"))
                })?;
            request = request.header(name.as_str(), value);
        }
        if !call.body.is_empty() {
            request = request.body(call.body.clone());
        }
        let response = request
            .send()
            .await
            .map_err(|e| Failure::transient(chain(&e)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(Sent {
                status_code: Some(status.as_u16()),
            });
        }
        let text = response.text().await.unwrap_or_default();
        let excerpt: String = text.chars().take(200).collect();
        let message = format!("HTTP {status}: {excerpt}");
        // A 4xx other than timeout or rate limit will fail the same way again.
        let failure = if status.is_client_error()
            && status != reqwest::StatusCode::REQUEST_TIMEOUT
            && status != reqwest::StatusCode::TOO_MANY_REQUESTS
        {
            Failure::permanent(message)
        } else {
            Failure::transient(message)
        };
        Err(failure.with_status(status.as_u16()))
    }
}

/// A literal address never reaches the resolver: check it here.
fn check_literal(url: &reqwest::Url, allowed: &[IpNet]) -> Result<(), String> {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => literal(IpAddr::V4(ip), allowed),
        Some(url::Host::Ipv6(ip)) => literal(IpAddr::V6(ip), allowed),
        _ => Ok(()),
    }
}

/// An error with its causes: reqwest's own message omits the refusal.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
