//! Parsing and error-reporting tests: the tree, the offsets of faults, `caret_line`.

use super::*;

#[test]
fn parse_builds_the_expected_tree() {
    let e = parse_query("a OR b c").unwrap();
    let Expr::Or(items) = e else {
        panic!("expected OR, got {e:?}")
    };
    assert_eq!(items.len(), 2);
    assert!(matches!(&items[1], Expr::And(v) if v.len() == 2));
    assert_eq!(
        parse_query("place:Homs/LY").unwrap(),
        Expr::Place {
            name: "Homs".into(),
            country: Some("LY".into()),
            offset: 0
        }
    );
    assert_eq!(
        parse_query("x within(50km, Palmyra)").unwrap(),
        Expr::And(vec![
            Expr::Word {
                text: "x".into(),
                offset: 0
            },
            Expr::Within {
                km: 50.0,
                name: "Palmyra".into(),
                offset: 2
            }
        ])
    );
    assert!(matches!(
        parse_query("NEAR/8(a, b OR \"c d\")").unwrap(),
        Expr::Near { distance: 8, .. }
    ));
    assert!(matches!(
        parse_query("-a").unwrap(),
        Expr::Not { offset: 0, .. }
    ));
    assert!(matches!(
        parse_query("syri*").unwrap(),
        Expr::Prefix { stem, .. } if stem == "syri"
    ));
}

#[test]
fn parse_errors_carry_their_offset() {
    let cases: &[(&str, usize)] = &[
        ("", 0),
        ("   ", 0),
        ("Palmyre AND (Daech OR EI", 12),
        ("Palmyre )", 8),
        ("a OR OR b", 5),
        ("Palmyre \"Etat islamique", 8),
        ("NEAR(a, b)", 0),
        ("x NEAR/(a, b)", 7),
        ("NEAR/x(a, b)", 5),
        ("NEAR/8(a b)", 7),
        ("NEAR/8(a, NOT b)", 10),
        ("NEAR/8(a, b", 6),
        ("NEAR/8 a, b", 7),
        ("a AND", 5),
        ("foo:bar", 0),
        ("title:(content:a)", 7),
        ("@ Daech", 0),
        ("s*", 0),
        ("sy*ri", 2),
        ("\"  \"", 0),
        ("a ()", 3),
        ("a - b", 2),
        ("within(km, X)", 7),
    ];
    for &(q, offset) in cases {
        match parse_query(q) {
            Ok(e) => panic!("{q:?} parsed as {e:?}"),
            Err(e) => assert_eq!(e.offset, offset, "{q:?}: {e}"),
        }
    }
}

#[test]
fn build_reports_every_error() {
    let ws = watches(&[
        "Palmyre",
        "(Daech",
        "@nobody OR @daech OR @nothing",
        "place:Zzyzxopolis",
        "Homs OR within(30km, Zzyzxopolis)",
    ]);
    let errors = match Matcher::build(&daech(), &ws) {
        Ok(_) => panic!("bad watches compiled"),
        Err(e) => e,
    };
    let got: Vec<(usize, usize)> = errors.iter().map(|e| (e.watch, e.offset)).collect();
    assert_eq!(got, [(1, 0), (2, 0), (2, 21), (3, 0), (4, 8)]);
    assert!(errors[1].message.contains("@nobody"));
    assert!(errors[3].message.contains("«Zzyzxopolis»"));
    assert!(errors[4].message.contains("«Zzyzxopolis»"));
}

#[test]
fn caret_line_points_at_the_fault() {
    assert_eq!(caret_line("(Daech OR EI", 0), "(Daech OR EI\n^");
    assert_eq!(caret_line("Genève )", 8), "Genève )\n       ^");
    assert_eq!(caret_line("a\nb", 9), "a b\n   ^");
}
