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
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) if allowed.iter().any(|net| net.contains(&IpAddr::V4(v4))) => None,
            Some(v4) => v4_refusal(v4),
            None => v6_refusal(v6),
        },
    }
}

/// The IPv4 address an IPv6 one carries to the same host: mapped
/// (`::ffff:a.b.c.d`), compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96`)
/// and 6to4 (`2002:aabb:ccdd::/48`). Each reaches what the IPv4 address
/// reaches, so it is judged as that address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let v4 = |hi: u16, lo: u16| {
        let ([a, b], [c, d]) = (hi.to_be_bytes(), lo.to_be_bytes());
        Ipv4Addr::new(a, b, c, d)
    };
    match s {
        // `::` and `::1` are the IPv6 unspecified and loopback addresses.
        [0, 0, 0, 0, 0, 0, 0, 0 | 1] => None,
        [0, 0, 0, 0, 0, 0, hi, lo] | [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(v4(hi, lo)),
        [0x2002, hi, lo, ..] => Some(v4(hi, lo)),
        _ => None,
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
    } else if ip.is_broadcast()
        || ip.is_multicast()
        || a >= 240
        // 192.0.0.0/24 (protocol assignments), 198.18.0.0/15 (benchmarks),
        // and the three documentation networks.
        || [a, b, c] == [192, 0, 0]
        || (a == 198 && (b & 0xfe) == 18)
        || [a, b, c] == [192, 0, 2]
        || [a, b, c] == [198, 51, 100]
        || [a, b, c] == [203, 0, 113]
    {
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
    } else if ip.segments()[..2] == [0x2001, 0] {
        // Teredo hides an IPv4 address (obfuscated) that may be anything.
        Some("a tunnel address")
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
        // IPv6 forms of inner IPv4 addresses, and reserved IPv4 networks.
        assert_eq!(refused("::127.0.0.1"), Some("a loopback address"));
        assert_eq!(refused("::a9fe:a9fe"), Some("a cloud metadata address"));
        assert_eq!(refused("64:ff9b::10.0.0.1"), Some("a private address"));
        assert_eq!(refused("64:ff9b::7f00:1"), Some("a loopback address"));
        assert_eq!(refused("2002:7f00:1::"), Some("a loopback address"));
        assert_eq!(refused("2002:a00:1::1"), Some("a private address"));
        assert_eq!(refused("2001:0:4136:e378::1"), Some("a tunnel address"));
        for reserved in [
            "198.18.0.1",
            "198.19.255.1",
            "192.0.0.8",
            "192.0.2.1",
            "203.0.113.9",
        ] {
            assert_eq!(
                refused(reserved),
                Some("a broadcast, multicast or reserved address"),
                "{reserved}"
            );
        }
        assert_eq!(
            refused("64:ff9b::5db8:d70e"),
            None,
            "NAT64 to a public address"
        );
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
