//! `ip("...")` matching: an address, a CIDR or an `a-b` range, checked
//! against a label value or against every address-looking token of a line.

use std::net::IpAddr;

/// An inclusive address range within one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IpRange {
    /// IPv4 bounds.
    V4(u32, u32),
    /// IPv6 bounds.
    V6(u128, u128),
}

fn parse_addr(text: &str) -> Option<IpAddr> {
    text.trim().parse().ok()
}

impl IpRange {
    /// Parses an address, `addr/bits` or `from-to`.
    pub(crate) fn parse(pattern: &str) -> Result<Self, String> {
        let bad = || format!("invalid ip pattern {pattern:?}: expected an address, CIDR or range");
        let text = pattern.trim();
        if let Some((addr, bits)) = text.split_once('/') {
            let bits: u32 = bits.trim().parse().map_err(|_| bad())?;
            return match parse_addr(addr).ok_or_else(bad)? {
                IpAddr::V4(a) if bits <= 32 => {
                    let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
                    let lo = u32::from(a) & mask;
                    Ok(Self::V4(lo, lo | !mask))
                }
                IpAddr::V6(a) if bits <= 128 => {
                    let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                    let lo = u128::from(a) & mask;
                    Ok(Self::V6(lo, lo | !mask))
                }
                _ => Err(bad()),
            };
        }
        if let Some((from, to)) = text.split_once('-') {
            return match (
                parse_addr(from).ok_or_else(bad)?,
                parse_addr(to).ok_or_else(bad)?,
            ) {
                (IpAddr::V4(a), IpAddr::V4(b)) => Ok(Self::V4(u32::from(a), u32::from(b))),
                (IpAddr::V6(a), IpAddr::V6(b)) => Ok(Self::V6(u128::from(a), u128::from(b))),
                _ => Err(bad()),
            };
        }
        Ok(match parse_addr(text).ok_or_else(bad)? {
            IpAddr::V4(a) => Self::V4(u32::from(a), u32::from(a)),
            IpAddr::V6(a) => Self::V6(u128::from(a), u128::from(a)),
        })
    }

    /// Whether `addr` is inside; an IPv4-mapped IPv6 address counts as
    /// its IPv4 form.
    pub(crate) fn contains(self, addr: IpAddr) -> bool {
        let addr = match addr {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
            v4 => v4,
        };
        match (self, addr) {
            (Self::V4(lo, hi), IpAddr::V4(a)) => (lo..=hi).contains(&u32::from(a)),
            (Self::V6(lo, hi), IpAddr::V6(a)) => (lo..=hi).contains(&u128::from(a)),
            _ => false,
        }
    }

    /// Whether a label value is an address inside.
    pub(crate) fn contains_text(self, value: &str) -> bool {
        parse_addr(value).is_some_and(|a| self.contains(a))
    }

    /// Whether the line holds an address inside: each maximal run of
    /// address characters is tried whole, then (for `1.2.3.4:80` and
    /// similar) its dotted-decimal pieces.
    pub(crate) fn in_line(self, line: &[u8]) -> bool {
        let is_addr_byte = |b: &u8| b.is_ascii_hexdigit() || *b == b'.' || *b == b':';
        line.split(|b| !is_addr_byte(b))
            .filter(|run| run.len() >= 2)
            .any(|run| self.in_run(run))
    }

    fn in_run(self, run: &[u8]) -> bool {
        let as_str = |b: &[u8]| {
            std::str::from_utf8(b)
                .ok()
                .and_then(|s| s.parse::<IpAddr>().ok())
        };
        // `::1` and `fe80::` are whole addresses, but a sentence may end
        // in `10.0.0.1.` or a list in `::1:`.
        let trimmed = trim_bytes(run, b".");
        let candidates = [run, trimmed, trim_end(trimmed, b":")];
        if candidates
            .iter()
            .any(|c| as_str(c).is_some_and(|a| self.contains(a)))
        {
            return true;
        }
        if matches!(self, Self::V6(..)) {
            return false;
        }
        trimmed
            .split(|b| !(b.is_ascii_digit() || *b == b'.'))
            .map(|piece| trim_bytes(piece, b"."))
            .filter(|piece| piece.len() >= 7)
            .any(|piece| as_str(piece).is_some_and(|a| self.contains(a)))
    }
}

fn trim_bytes<'a>(mut b: &'a [u8], junk: &[u8]) -> &'a [u8] {
    while let [first, rest @ ..] = b
        && junk.contains(first)
    {
        b = rest;
    }
    trim_end(b, junk)
}

fn trim_end<'a>(mut b: &'a [u8], junk: &[u8]) -> &'a [u8] {
    while let [rest @ .., last] = b
        && junk.contains(last)
    {
        b = rest;
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let net = IpRange::parse("10.0.0.0/8").unwrap();
        assert!(net.contains_text("10.1.2.3"));
        assert!(!net.contains_text("11.0.0.1"));
        assert!(net.contains_text("::ffff:10.0.0.1"));
        let span = IpRange::parse("192.168.0.1-192.168.0.9").unwrap();
        assert!(span.contains_text("192.168.0.5"));
        assert!(!span.contains_text("192.168.0.10"));
        let one = IpRange::parse("::1").unwrap();
        assert!(one.contains_text("::1"));
        assert!(
            IpRange::parse("0.0.0.0/0")
                .unwrap()
                .contains_text("8.8.8.8")
        );
        for bad in ["10.0.0.0/33", "x", "1.2.3.4-::1", ""] {
            assert!(IpRange::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lines() {
        let net = IpRange::parse("10.0.0.0/8").unwrap();
        assert!(net.in_line(b"conn from 10.2.3.4 ok"));
        assert!(net.in_line(b"peer=10.2.3.4:8080"));
        assert!(net.in_line(b"at [10.2.3.4]."));
        assert!(!net.in_line(b"conn from 192.168.1.1"));
        assert!(!net.in_line(b"version 10.2.3"));
        let v6 = IpRange::parse("2001:db8::/32").unwrap();
        assert!(v6.in_line(b"addr=2001:db8::1 x"));
        assert!(!v6.in_line(b"addr=2001:db9::1 x"));
        let one = IpRange::parse("::1").unwrap();
        assert!(one.in_line(b"from ::1 x"));
        assert!(one.in_line(b"from ::1."));
        assert!(IpRange::parse("fe80::/16").unwrap().in_line(b"via fe80::"));
    }
}
