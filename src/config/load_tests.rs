//! Tests of `config::load`.
use super::*;

fn load_pair(main: &str, rules: &str) -> Result<Config, Diagnostics> {
    let rules = rules.to_string();
    load_str(
        Path::new("/etc/v/vigie.toml"),
        main.to_string(),
        &mut |_| Ok(rules.clone()),
    )
}

fn messages(r: Result<Config, Diagnostics>) -> Vec<String> {
    r.err()
        .map(|d| d.0.iter().map(|x| x.to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn a_full_configuration_loads_with_defaults_and_relative_paths() {
    let main = "state_dir = \"state\"\nrules = [\"r.toml\"]\n[poll]\ninterval = \"5m\"\nmax_body = \"2MB\"\n\
        [[feed]]\nname = \"a\"\nurl = \"https://ex.org/rss\"\ntags = [\"fr\"]\ninterval = \"auto\"\n\
        [mail]\nfrom = \"v <v@ex.org>\"\n[[digest]]\nname = \"morning\"\nat = \"07:00\"\nto = [\"d@ex.org\"]\n";
    let rules =
        "[entity.daech]\nnames = [\"Daech\", \"EI\"]\n[[watch]]\nname = \"w\"\nquery = '@daech'\n";
    let cfg = load_pair(main, rules).unwrap();
    assert_eq!(cfg.state_dir, Path::new("/etc/v/state"));
    assert_eq!(
        cfg.poll.interval,
        Interval::Fixed(std::time::Duration::from_secs(300))
    );
    assert_eq!(cfg.poll.max_body, 2_000_000);
    assert_eq!(cfg.feeds[0].interval, Some(Interval::Auto));
    assert_eq!(cfg.rules.entities[0].names, vec!["Daech", "EI"]);
    assert_eq!(cfg.rules.watches[0].alert, AlertMode::Digest);
    assert_eq!(cfg.digests[0].schedule, Schedule::At { hour: 7, minute: 0 });
    match &cfg.mail.transport {
        Transport::Maildir { dir } => assert_eq!(dir, Path::new("/etc/v/state/mail")),
        other => panic!("{other:?}"),
    }
    assert_eq!(cfg.files.len(), 2);
}

#[test]
fn every_error_is_collected_across_both_files() {
    let main = "rules = [\"r.toml\"]\nbackfill = 3\n[[feed]]\nname = \"a\"\nurl = \"ftp://x\"\n[[feed]]\nurl = \"http://x\"\n\
        [mail]\ntransport = \"smtp\"\ntimezone = \"Mars/Olympus\"\n";
    let rules = "[[watch]]\nname = \"w\"\nquery = 'a AND'\nalert = \"immediate\"\n\
        [[watch]]\nname = \"v\"\nquery = '@nobody'\ndigest = \"evening\"\nsurprise = 1\n";
    let m = messages(load_pair(main, rules));
    let all = m.join("\n");
    for needle in [
        "vigie.toml:2:12: expected",
        "feed url must be http or https",
        "missing key `name` in [[feed]]",
        "needs a [mail.smtp] section",
        "unknown time zone \"Mars/Olympus\"",
        "an immediate watch needs recipients",
        "watch \"w\":",
        "unknown entity",
        "digest \"evening\"",
        "unknown key `surprise`",
    ] {
        assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
    }
}

#[test]
fn a_toml_syntax_error_is_located() {
    let m = messages(load_pair("state_dir = \"x\nrules = []\n", ""));
    assert_eq!(m.len(), 1);
    assert!(m[0].starts_with("/etc/v/vigie.toml:1:"), "{m:?}");
}

#[test]
fn passwords_are_referenced_not_stored() {
    let main = "[mail]\nfrom = \"v@ex.org\"\ntransport = \"smtp\"\n[mail.smtp]\nhost = \"h\"\nusername = \"u\"\npassword_env = \"VIGIE_TEST_PW\"\n";
    let cfg = load_pair(main, "").unwrap();
    let Transport::Smtp(s) = &cfg.mail.transport else {
        panic!()
    };
    assert_eq!(s.port, 587);
    assert!(matches!(&s.password, Some(PasswordSource::Env(v)) if v == "VIGIE_TEST_PW"));
}

#[test]
fn every_duration_and_size_out_of_its_range_is_an_error_with_its_position() {
    let main = "retention = \"100000000d\"\nbackfill = \"99999d\"\nstory_window = \"0s\"\n\
        [poll]\ninterval = \"400d\"\ntimeout = \"0s\"\nmax_body = \"5GB\"\n\
        [[feed]]\nname = \"a\"\nurl = \"https://ex.org/rss\"\ninterval = \"100000d\"\n";
    let errs = messages(load_pair(main, ""));
    let expect = [
        (
            "vigie.toml:1:14",
            "`retention` must be between 1h and 36500d, not \"100000000d\"",
        ),
        ("vigie.toml:2:13", "`backfill` must be between 0s and 3650d"),
        (
            "vigie.toml:3:17",
            "`story_window` must be between 1m and 365d",
        ),
        (
            "vigie.toml:5:13",
            "`interval` must be between 1s and 30d (or \"auto\"), not \"400d\"",
        ),
        ("vigie.toml:6:12", "`timeout` must be between 1s and 1h"),
        (
            "vigie.toml:7:13",
            "`max_body` must be between 1000 and 1000000000 bytes",
        ),
        ("vigie.toml:11:13", "`interval` must be between 1s and 30d"),
    ];
    for (at, what) in expect {
        assert!(
            errs.iter().any(|e| e.contains(at) && e.contains(what)),
            "{at} {what}: {errs:#?}"
        );
    }
    assert_eq!(errs.len(), expect.len(), "{errs:#?}");
    // The bounds themselves are accepted.
    let edge =
        "retention = \"36500d\"\nbackfill = \"0s\"\n[poll]\ninterval = \"30d\"\ntimeout = \"1h\"\n";
    assert!(load_pair(edge, "").is_ok());
}

#[test]
fn a_digest_watch_with_no_digest_to_receive_it_is_an_error_where_feeds_are_polled() {
    let rules = "[[watch]]\nname = \"quiet\"\nquery = 'Palmyre'\n";
    let feeds = "rules = [\"r.toml\"]\n[[feed]]\nname = \"a\"\nurl = \"https://ex.org/rss\"\n";
    let errs = messages(load_pair(feeds, rules));
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(errs[0].contains("r.toml:1:1"), "{errs:#?}");
    assert!(
        errs[0].contains("watch \"quiet\" alerts by digest (the default), but the configuration defines no [[digest]]"),
        "{errs:#?}"
    );
    // Without feeds (a configuration for `vigie rules test`) nothing can be lost.
    assert!(load_pair("rules = [\"r.toml\"]\n", rules).is_ok());
    // An immediate watch, or a digest to receive it, is fine.
    let immediate = "[[watch]]\nname = \"now\"\nquery = 'Palmyre'\nalert = \"immediate\"\nto = [\"d@ex.org\"]\n";
    assert!(load_pair(feeds, immediate).is_ok());
    let digest = format!("{feeds}[[digest]]\nname = \"m\"\nat = \"07:00\"\nto = [\"d@ex.org\"]\n");
    assert!(load_pair(&digest, rules).is_ok());
}

#[test]
fn a_published_feed_needs_a_token_and_a_server_and_may_be_its_watch_only_reader() {
    let digest = "[[digest]]\nname = \"matin\"\nat = \"07:00\"\nfeed = true\n";
    let rules = "[[watch]]\nname = \"w\"\nquery = 'Palmyre'\nalert = \"immediate\"\nfeed = true\n";
    // No [feeds] token, no [server]: both said, where each feed is declared.
    let all = messages(load_pair(&format!("rules = [\"r.toml\"]\n{digest}"), rules)).join("\n");
    assert!(
        all.contains("vigie.toml:2:1: digest \"matin\" sets feed = true, but [feeds] has no `token_file` nor `token_env`"),
        "{all}"
    );
    assert!(
        all.contains("r.toml:1:1: watch \"w\" sets feed = true, but [feeds] has no"),
        "{all}"
    );
    let token = "[feeds]\ntoken_file = \"feeds.token\"\n";
    let all = messages(load_pair(
        &format!("rules = [\"r.toml\"]\n{token}{digest}"),
        rules,
    ))
    .join("\n");
    assert!(all.contains("there is no [server] `listen`"), "{all}");
    // With both, an immediate watch without recipients is published as a feed only.
    let main = format!(
        "rules = [\"r.toml\"]\n[server]\nlisten = \"127.0.0.1:9477\"\n{token}base_url = \"https://ex.org/vigie/\"\n{digest}"
    );
    let cfg = load_pair(&main, rules).unwrap();
    assert!(cfg.rules.watches[0].feed && cfg.digests[0].feed && cfg.publishes_feeds());
    assert!(cfg.rules.watches[0].to.is_empty());
    assert!(
        matches!(&cfg.atom.token, Some(PasswordSource::File(p)) if p == Path::new("/etc/v/feeds.token"))
    );
    assert_eq!(cfg.atom.base_url.as_deref(), Some("https://ex.org/vigie"));
    // Without feed = true, an immediate watch still needs recipients.
    let all = messages(load_pair(
        &main,
        &rules.replace("feed = true", "feed = false"),
    ))
    .join("\n");
    assert!(all.contains("an immediate watch needs recipients"), "{all}");
}

#[test]
fn feeds_settings_are_checked() {
    let main = "[server]\nlisten = \"127.0.0.1:9477\"\n[feeds]\ntoken_file = \"a\"\ntoken_env = \"B\"\nbase_url = \"ftp://x/y\"\nsurprise = 1\n";
    let all = messages(load_pair(main, "")).join("\n");
    for needle in [
        "set one of `token_file` and `token_env`",
        "`base_url` \"ftp://x/y\" must be http or https",
        "unknown key `surprise` in [feeds]",
    ] {
        assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
    }
    let query = "[feeds]\ntoken_env = \"T\"\nbase_url = \"https://ex.org/?a=1\"\n";
    assert!(
        messages(load_pair(query, ""))
            .join("\n")
            .contains("must have no query")
    );
    let rules = "[[watch]]\nname = \"w\"\nquery = 'a'\nfeed = \"yes\"\n";
    let all = messages(load_pair("rules = [\"r.toml\"]\n", rules)).join("\n");
    assert!(
        all.contains("`feed` must be true or false, found a string"),
        "{all}"
    );
}
