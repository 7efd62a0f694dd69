//! Which addresses a webhook may reach. Requests to loopback, private,
//! link-local and cloud metadata addresses are refused unless the operator
//! allows their network: a channel must not become a way into the server's
//! own network (SSRF). The server applies this to every address a name
//! resolves to, at save time and again on each send.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// Why an address is refused.
pub fn refusal(ip: IpAddr, allowed: &[IpNet]) -> Option<&'static str> {
    if allowed.iter().any(|net| net.contains(&ip)) {
        return None;
    }
    match ip {
        IpAddr::V4(v4) => v4_refusal(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) if allowed.iter().any(|net| net.contains(&IpAddr::V4(v4))) => None,
            Some(v4) => v4_refusal(v4),
            None => v6_refusal(v6),
        },
    }
}

fn v4_refusal(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, d] = ip.octets();
    if [a, b, c, d] == [169, 254, 169, 254] || [a, b, c, d] == [100, 100, 100, 200] {
        Some("a cloud metadata address")
    } else if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address")
    } else if ip.is_unspecified() || a == 0 {
        Some("an unspecified address")
    } else if ip.is_broadcast() || ip.is_multicast() || a >= 240 {
        Some("a broadcast, multicast or reserved address")
    } else {
        None
    }
}

fn v6_refusal(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        Some("a cloud metadata address")
    } else if ip.is_loopback() {
        Some("a loopback address")
    } else if (first & 0xfe00) == 0xfc00 {
        Some("a private address")
    } else if (first & 0xffc0) == 0xfe80 {
        Some("a link-local address")
    } else if ip.is_unspecified() {
        Some("an unspecified address")
    } else if ip.is_multicast() {
        Some("a broadcast, multicast or reserved address")
    } else {
        None
    }
}

/// Parses the operator's allowed networks (`127.0.0.1/32`, `10.0.0.0/8`,
/// or a bare address).
pub fn parse_allowed(list: &[String]) -> Result<Vec<IpNet>, String> {
    list.iter()
        .map(|text| {
            text.parse::<IpNet>()
                .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{text:?} is not a network (write 10.0.0.0/8 or 127.0.0.1)"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> Option<&'static str> {
        refusal(text.parse().expect("ip"), &[])
    }

    #[test]
    fn inner_addresses_are_refused() {
        assert_eq!(refused("127.0.0.1"), Some("a loopback address"));
        assert_eq!(refused("10.0.0.1"), Some("a private address"));
        assert_eq!(refused("172.16.5.4"), Some("a private address"));
        assert_eq!(refused("192.168.1.1"), Some("a private address"));
        assert_eq!(refused("100.64.0.1"), Some("a private address"));
        assert_eq!(refused("169.254.169.254"), Some("a cloud metadata address"));
        assert_eq!(refused("169.254.1.1"), Some("a link-local address"));
        assert_eq!(refused("0.0.0.0"), Some("an unspecified address"));
        assert_eq!(refused("::1"), Some("a loopback address"));
        assert_eq!(refused("::ffff:127.0.0.1"), Some("a loopback address"));
        assert_eq!(refused("fd00:ec2::254"), Some("a cloud metadata address"));
        assert_eq!(refused("fc00::1"), Some("a private address"));
        assert_eq!(refused("fe80::1"), Some("a link-local address"));
        assert_eq!(refused("93.184.215.14"), None);
        assert_eq!(refused("2606:4700::1111"), None);
    }

    #[test]
    fn the_operator_can_allow_a_network() {
        let allowed = parse_allowed(&["127.0.0.1".into(), "10.0.0.0/8".into()]).expect("nets");
        let ip = |t: &str| t.parse::<IpAddr>().expect("ip");
        assert_eq!(refusal(ip("127.0.0.1"), &allowed), None);
        assert_eq!(refusal(ip("::ffff:127.0.0.1"), &allowed), None);
        assert_eq!(refusal(ip("10.9.8.7"), &allowed), None);
        assert_eq!(
            refusal(ip("127.0.0.2"), &allowed),
            Some("a loopback address")
        );
        assert!(parse_allowed(&["ten".into()]).is_err());
    }
}
