//! Loopback addresses: the only endpoints an emulator stage may name (`endpoint`,
//! `bedrock_endpoint`, `xray_daemon`). Pure.

/// Whether `addr` is `127.x.x.x:port`: an IPv4 loopback socket address with a port.
pub fn is_loopback_socket(addr: &str) -> bool {
    addr.parse::<std::net::SocketAddrV4>()
        .is_ok_and(|a| a.ip().is_loopback() && a.port() != 0)
}

/// An `http://` URL whose host is a loopback address (127.0.0.0/8, `localhost` or `[::1]`), with
/// nothing after the port but an optional `/`. Parsed, not prefix-matched: `http://localhost.evil`
/// and `http://127.0.0.1@evil` are refused.
pub fn is_loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains(['/', '@', '?', '#']) {
        return false;
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') => (h, Some(p)),
        _ => (authority, None),
    };
    if let Some(p) = port
        && p.parse::<u16>().map_or(true, |p| p == 0)
    {
        return false;
    }
    match host {
        "localhost" | "[::1]" => true,
        h => h
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls_are_parsed_not_prefix_matched() {
        for ok in [
            "http://127.0.0.1:4566",
            "http://127.1.2.3:80/",
            "http://localhost:4566",
            "http://[::1]:4566",
        ] {
            assert!(is_loopback_http(ok), "{ok}");
        }
        for bad in [
            "http://localhost.evil.tld:4566",
            "http://127.0.0.1.evil.tld",
            "http://127.0.0.1@evil.tld",
            "http://127.0.0.1:4566/../x",
            "https://127.0.0.1:4566",
            "http://10.0.0.1:4566",
            "http://127.0.0.1:0",
            "http://127.0.0.1:99999",
        ] {
            assert!(!is_loopback_http(bad), "{bad}");
        }
    }
}
