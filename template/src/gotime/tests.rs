//! Layout formatting and parsing against outputs Go produces.

use super::*;

/// Go's reference time, Mon Jan 2 15:04:05 MST 2006, in UTC.
fn reference() -> GoTime {
    GoTime::from_unix(1_136_239_445, 0)
}

#[test]
fn string_is_go_default_format() {
    assert_eq!(reference().to_string(), "2006-01-02 22:04:05 +0000 UTC");
    assert_eq!(GoTime::zero().to_string(), "0001-01-01 00:00:00 +0000 UTC");
    assert_eq!(
        GoTime::from_unix_nanos(1_500_000_000_120_000_000).to_string(),
        "2017-07-14 02:40:00.12 +0000 UTC"
    );
    assert_eq!(
        GoTime::from_unix(-1, 0).to_string(),
        "1969-12-31 23:59:59 +0000 UTC"
    );
}

#[test]
fn layout_elements_format_like_go() {
    let t = GoTime::from_unix(1_136_239_445, 123_456_789);
    let cases = [
        ("2006-01-02T15:04:05Z07:00", "2006-01-02T22:04:05Z"),
        ("Mon Jan _2 3:04PM", "Mon Jan  2 10:04PM"),
        ("Monday, January 2, 06 3pm", "Monday, January 2, 06 10pm"),
        ("15:04:05.000", "22:04:05.123"),
        ("15:04:05,999999", "22:04:05,123456"),
        ("05.9999999999", "05.9999999999"),
        (
            "002 __2 -07:00:00 -0700 -07 MST",
            "002   2 +00:00:00 +0000 +00 UTC",
        ),
        ("Jant Mond 1/2", "Jant Mond 1/2"),
        ("_2006", "_2006"),
    ];
    for (layout, want) in cases {
        assert_eq!(t.format(layout), want, "layout {layout:?}");
    }
}

#[test]
fn zones_come_from_the_iana_database() {
    let paris = Location::load("Europe/Paris").unwrap();
    let summer = GoTime::from_unix(1_625_140_800, 0).in_location(paris.clone());
    assert_eq!(summer.to_string(), "2021-07-01 14:00:00 +0200 CEST");
    assert_eq!(
        summer.format("2006-01-02T15:04:05Z07:00"),
        "2021-07-01T14:00:00+02:00"
    );
    let winter = GoTime::from_unix(1_609_502_400, 0).in_location(paris);
    assert_eq!(winter.to_string(), "2021-01-01 13:00:00 +0100 CET");
    assert_eq!(Location::load("Local"), Some(Location::Utc));
    assert_eq!(Location::load("Mars/Olympus"), None);
    let fixed = reference().in_location(Location::Fixed {
        name: String::new(),
        offset: -(5 * 3600 + 30 * 60),
    });
    assert_eq!(fixed.to_string(), "2006-01-02 16:34:05 -0530 -0530");
}

#[test]
fn parsing_follows_go() {
    let utc = Location::Utc;
    let ok = |layout: &str, value: &str| GoTime::parse_in(layout, value, &utc).unwrap().to_string();
    assert_eq!(
        ok("2006-01-02", "2021-11-02"),
        "2021-11-02 00:00:00 +0000 UTC"
    );
    assert_eq!(
        ok(
            "2006-01-02T15:04:05.999999999Z07:00",
            "2021-11-02T10:30:00.5+02:00"
        ),
        "2021-11-02 10:30:00.5 +0200 +0200"
    );
    assert_eq!(
        ok("2006-01-02T15:04:05Z07:00", "2021-11-02T10:30:00Z"),
        "2021-11-02 10:30:00 +0000 UTC"
    );
    assert_eq!(
        ok("15:04:05", "10:30:05.25"),
        "0000-01-01 10:30:05.25 +0000 UTC"
    );
    assert_eq!(
        ok("Jan _2 3:04PM", "feb  9 12:15AM"),
        "0000-02-09 00:15:00 +0000 UTC"
    );
    assert_eq!(ok("02/01/06", "31/12/68"), "2068-12-31 00:00:00 +0000 UTC");
    assert_eq!(ok("2006 002", "2020 060"), "2020-02-29 00:00:00 +0000 UTC");
    assert_eq!(ok("2006  1", "2006 7"), "2006-07-01 00:00:00 +0000 UTC");
    for (layout, value) in [
        ("2006-01-02", "2021-13-02"),
        ("2006-01-02", "2021-02-30"),
        ("2006-01-02", "2021-02-03x"),
        ("2006-01-02", "21-02-03"),
        ("15:04", "24:00"),
        ("15:04:05.000", "10:00:00.5"),
        ("MST", "utc"),
    ] {
        assert!(
            GoTime::parse_in(layout, value, &utc).is_err(),
            "{value:?} as {layout:?}"
        );
    }
    let err = GoTime::parse_in("2006", "x", &utc).unwrap_err().to_string();
    assert!(err.starts_with("parsing time \"x\" as \"2006\""), "{err}");
    let paris = Location::load("Europe/Paris").unwrap();
    let t = GoTime::parse_in("2006-01-02 15:04", "2021-07-01 14:00", &paris).unwrap();
    assert_eq!(t.unix(), 1_625_140_800);
    assert_eq!(t.to_string(), "2021-07-01 14:00:00 +0200 CEST");
}

#[test]
fn unix_accessors() {
    let t = GoTime::from_unix_nanos(1_700_000_000_123_456_789);
    assert_eq!(t.unix(), 1_700_000_000);
    assert_eq!(t.unix_milli(), 1_700_000_000_123);
    assert_eq!(t.unix_nano(), 1_700_000_000_123_456_789);
    assert_eq!(t.subsec_nanos(), 123_456_789);
    assert_eq!(
        GoTime::from_unix_nanos(-1).to_string(),
        "1969-12-31 23:59:59.999999999 +0000 UTC"
    );
    assert!(GoTime::now().unix() > 1_600_000_000);
}
