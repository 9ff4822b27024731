//! `vigie check`: every fault reported with file, line and column, exit 2; the example
//! configuration passes with a summary.

use std::path::Path;

use crate::support::*;

#[tokio::test]
async fn three_mistakes_are_all_reported_with_positions() {
    let dir = tempfile::tempdir().unwrap();
    let main = "state_dir = \"state\"\nrules = [\"rules.toml\"]\n\n[poll]\ninterval = \"15 minutes\"\ncolour = \"blue\"\n";
    let rules = "[[watch]]\nname = \"w\"\nquery = '(Palmyre OR Tadmor'\n";
    let cfg = write_config(dir.path(), main, rules);
    let out = vigie(&cfg, &["check"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    let cfg_name = cfg.display().to_string();
    let rules_name = dir.path().join("rules.toml").display().to_string();
    // The bad duration: line 5, at the value's first character.
    assert!(err.contains(&format!("{cfg_name}:5:13:")), "{err}");
    assert!(err.contains("15 minutes"), "{err}");
    // The unknown key: line 6, column 1.
    assert!(
        err.contains(&format!("{cfg_name}:6:1: unknown key `colour`")),
        "{err}"
    );
    // The unclosed parenthesis: line 3 of the rule file, at the '(' (column 10).
    assert!(err.contains(&format!("{rules_name}:3:10:")), "{err}");
    assert!(err.contains("3 errors"), "{err}");
}

#[tokio::test]
async fn the_example_configuration_is_valid() {
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/vigie.toml");
    let out = vigie(&cfg, &["check"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s = stdout(&out);
    assert!(s.contains("feeds:"), "{s}");
    assert!(s.contains("watches:"), "{s}");
    assert!(s.contains("patterns:"), "{s}");
    assert!(s.contains("recipients:"), "{s}");
}

#[tokio::test]
async fn a_missing_configuration_is_a_clear_error() {
    let out = vigie(Path::new("/nonexistent/vigie.toml"), &["check"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("/nonexistent/vigie.toml:1:1: cannot read configuration"),
        "{}",
        stderr(&out)
    );
}
