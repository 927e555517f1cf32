//! Which URLs the service fetches from or sends a browser to on a provider's say-so: https,
//! or plain http only to a loopback address. Used where those URLs are configured
//! (`config`), where keys and discovery documents are fetched (`auth::idp_keys`) and where the
//! pages redirect to the identity provider (`web`).

use reqwest::Url;

/// Accepts `raw` as a URL keys may be fetched from: https, or plain http only to a loopback
/// address (`127.0.0.0/8`, `::1`, `localhost`), which is for tests and a local sidecar. A key
/// set fetched over plain http across a network could be replaced by anyone on the path.
pub fn check_fetch_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|e| format!("`{raw}` is not a URL: {e}"))?;
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(format!(
            "`{raw}`: keys must be fetched over https (plain http only to a loopback address)"
        )),
        _ => Err(format!("`{raw}` is not an https URL")),
    }
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    // An IPv6 host comes bracketed; a name that merely starts with 127. is not an address.
    match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
    {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}
