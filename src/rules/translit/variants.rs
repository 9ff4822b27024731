//! Names in every spelling, compiling a name: the `~` name as written into the token
//! sequences it is matched under — the name itself (articles dropped: they are optional and
//! transparent), its compounds split (Nasrallah = Nasr Allah, Zahreddine = Zahr al-Din,
//! Abdelaziz = Abd al-Aziz, Boukamal = Abou Kamal), neighbours fused (Abdelmalek, Ansarullah,
//! Talafar), an article fused onto its word (Ezzor, Albukamal) and the forms of Abu (Boukamal,
//! Albu Kamal). Rules and why: docs/research/translit.md §3.4.
//!
//! Invariants: pure; the first variant is the name as written; the number of variants is
//! bounded whatever the name ([`MAX_VARIANTS`]); tokens are folded ASCII with the marks of
//! `key` (`*`, `@`, `#`) and a trailing `!` for an accented final e.

use crate::rules::translit::key::{Analysis, is_sun};
use crate::rules::translit::letters::abd_form;
use crate::rules::translit::text::words;

/// Most variants one name compiles to.
const MAX_VARIANTS: usize = 256;
/// Names of more words than this are not fused (2^(n-1) ways of fusing neighbours).
const MAX_FUSED_WORDS: usize = 6;

const ABU: [&str; 5] = ["abu", "abou", "abo", "bou", "bu"];

fn analyze(s: &str) -> Analysis {
    let mut a = Analysis::default();
    a.analyze(s.as_bytes());
    a
}

fn starts_sun(tok: &str) -> bool {
    let a = analyze(tok);
    a.v0().is_empty() && a.cons().first().is_some_and(|&c| is_sun(c))
}

/// The folded words of a name as written, articles dropped: (word, an article stood before
/// it). «Abdel», «Abdul»… become «abd» and lend their article to the next word.
pub(crate) fn name_tokens(name: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut art = false;
    for w in words(name, false) {
        if w.tok.article {
            art = true;
            continue;
        }
        out.push((abd_form(&w.fold).to_owned(), art));
        art = matches!(
            w.fold.as_str(),
            "abdel" | "abdul" | "abdoul" | "abdal" | "abdol"
        );
    }
    out
}

fn vowel(b: u8) -> bool {
    b"aeiou".contains(&b)
}

/// «…allah», «…ullah», «…ollah»: the part before (2 letters or more), as in Nasr-allah.
fn split_allah(tok: &str) -> Option<&str> {
    let b = tok.as_bytes();
    let t = b.strip_suffix(b"h").unwrap_or(b);
    let t = t.strip_suffix(b"a").or_else(|| t.strip_suffix(b"e"))?;
    let t = t.strip_suffix(b"ll")?;
    let run = t.iter().rev().take_while(|&&c| vowel(c)).count();
    let g = (t.len() - run).max(2);
    if run == 0 || g >= t.len() {
        return None;
    }
    let head = tok.get(..g)?;
    (head != "ab").then_some(head)
}

/// «…eddine», «…uddin», «…addin»: the part before, as in Zahr-eddine.
fn split_din(tok: &str) -> Option<&str> {
    let b = tok.as_bytes();
    (2..b.len())
        .find(|&g| din_tail(&b[g..]))
        .and_then(|g| tok.get(..g))
}

/// `[aeiou]d?d[ie]+ne?` and nothing after.
fn din_tail(x: &[u8]) -> bool {
    let Some((&v, rest)) = x.split_first() else {
        return false;
    };
    if !vowel(v) {
        return false;
    }
    let after_d = |r: &[u8]| -> bool {
        let n = r.iter().take_while(|&&c| c == b'i' || c == b'e').count();
        // The run of i/e may end early: an e may be the optional final one.
        (1..=n).any(|k| matches!(&r[k..], b"n" | b"ne"))
    };
    match rest {
        [b'd', b'd', r @ ..] => after_d(r) || after_d(&rest[1..]),
        [b'd', r @ ..] => after_d(r),
        _ => false,
    }
}

/// «Abdelaziz», «Abdulaziz»: the part after «abd» + vowels + «l» (3 letters or more).
fn split_abd(tok: &str) -> Option<&str> {
    let rest = tok.strip_prefix("abd")?;
    let run = rest.bytes().take_while(|&c| vowel(c)).count();
    let rest = rest.get(run..)?.strip_prefix('l')?;
    (run > 0 && rest.chars().count() >= 3).then_some(rest)
}

/// «Boukamal», «Abukamal»: the part after Abu (4 letters or more).
fn split_bu(tok: &str) -> Option<&str> {
    if ABU.contains(&tok) {
        return None;
    }
    ["abou", "abo", "bou", "bo", "abu"]
        .iter()
        .filter_map(|p| tok.strip_prefix(p))
        .find(|rest| rest.chars().count() >= 4)
}

/// The ways of reading each word of a name: itself, or its compound split.
fn split_compounds(toks: &[(String, bool)]) -> Vec<Vec<(String, bool)>> {
    let mut seqs: Vec<Vec<(String, bool)>> = vec![Vec::new()];
    for (tok, art) in toks {
        let mut opts: Vec<Vec<(String, bool)>> = vec![vec![(tok.clone(), *art)]];
        if let Some(h) = split_allah(tok) {
            opts.push(vec![(h.to_owned(), *art), ("allah".to_owned(), false)]);
        }
        if let Some(h) = split_din(tok) {
            opts.push(vec![(h.to_owned(), *art), ("din".to_owned(), true)]);
        }
        if let Some(r) = split_abd(tok) {
            opts.push(vec![("abd".to_owned(), *art), (r.to_owned(), true)]);
        }
        if let Some(r) = split_bu(tok) {
            opts.push(vec![("abu".to_owned(), *art), (r.to_owned(), false)]);
        }
        let mut next = Vec::new();
        'grow: for s in &seqs {
            for o in &opts {
                if next.len() >= 32 {
                    break 'grow;
                }
                let mut v = s.clone();
                v.extend(o.iter().cloned());
                next.push(v);
            }
        }
        seqs = next;
    }
    seqs
}

/// How two words of a name are written fused: Abdelaziz, Ansarullah, Ezzor, Boukamal.
fn links(prev: &str, tok: &str, art: bool) -> Vec<String> {
    if tok == "allah" {
        return vec![format!("{prev}*llah")];
    }
    if art {
        let mut out = vec![format!("{prev}*l{tok}")];
        if starts_sun(tok) {
            out.push(format!("{prev}*{tok}"));
        }
        return out;
    }
    vec![format!("{prev}{tok}")]
}

/// Every token sequence under which `name` is matched; the first is the name as written.
pub(crate) fn variants(name: &str) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let push = |seq: Vec<String>, out: &mut Vec<Vec<String>>| {
        if !seq.is_empty() && out.len() < MAX_VARIANTS && !out.contains(&seq) {
            out.push(seq);
        }
    };
    for seq in split_compounds(&name_tokens(name)) {
        let n = seq.len();
        if n == 0 {
            continue;
        }
        let toks = |r: std::ops::Range<usize>| -> Vec<String> {
            seq[r].iter().map(|(t, _)| t.clone()).collect()
        };
        let masks: u32 = if n <= MAX_FUSED_WORDS {
            1 << (n - 1)
        } else {
            1
        };
        for mask in 0..masks {
            let mut partial: Vec<Vec<String>> = vec![vec![seq[0].0.clone()]];
            for (k, (tok, art)) in seq.iter().enumerate().skip(1) {
                let mut grown = Vec::new();
                for p in &partial {
                    if mask.checked_shr(k as u32 - 1).unwrap_or(0) & 1 == 1 {
                        let (last, head) = p.split_last().unwrap_or((&seq[0].0, &[]));
                        for f in links(last, tok, *art) {
                            let mut q = head.to_vec();
                            q.push(f);
                            grown.push(q);
                        }
                    } else {
                        let mut q = p.clone();
                        q.push(tok.clone());
                        grown.push(q);
                    }
                }
                grown.truncate(16);
                partial = grown;
            }
            for p in partial {
                push(p, &mut out);
            }
        }
        // An article fused onto its word (Ezzor, Albukamal, Elbab), before a consonant only.
        for (k, (tok, art)) in seq.iter().enumerate() {
            if *art && tok.len() >= 3 && analyze(tok).v0().is_empty() {
                let mut forms = vec![format!("@l{tok}")];
                if starts_sun(tok) {
                    forms.push(format!("#{tok}"));
                }
                for f in forms {
                    let mut v = toks(0..k);
                    v.push(f);
                    v.extend(toks(k + 1..n));
                    push(v, &mut out);
                }
            }
        }
        // Abu fused or shortened: Abukamal, Boukamal, Albu Kamal.
        for k in 0..n.saturating_sub(1) {
            if ABU.contains(&seq[k].0.as_str()) {
                let next = &seq[k + 1].0;
                for mid in [
                    vec![format!("abu{next}")],
                    vec![format!("bu{next}")],
                    vec!["@lbu".to_owned(), next.clone()],
                    vec![format!("@lbu{next}")],
                ] {
                    let mut v = toks(0..k);
                    v.extend(mid);
                    v.extend(toks(k + 2..n));
                    push(v, &mut out);
                }
            }
        }
    }
    out
}

/// Consonants of a name as written, w and y counted: at 2 or fewer, a name takes other
/// names' spellings more easily (docs/research/translit.md §4).
pub(crate) fn consonants(name: &str) -> usize {
    name_tokens(name)
        .iter()
        .map(|(t, _)| {
            let a = analyze(t);
            let wy = t.bytes().filter(|&b| b == b'w' || b == b'y').count();
            a.cons().len() + wy
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compounds_split_as_the_press_writes_them() {
        assert_eq!(split_allah("nasrallah"), Some("nasr"));
        assert_eq!(split_allah("hezbollah"), Some("hezb"));
        assert_eq!(split_allah("allah"), None);
        assert_eq!(split_din("zahreddine"), Some("zahr"));
        assert_eq!(split_din("nureddin"), Some("nur"));
        assert_eq!(split_abd("abdelaziz"), Some("aziz"));
        assert_eq!(split_bu("boukamal"), Some("kamal"));
        assert_eq!(split_bu("abou"), None);
    }

    #[test]
    fn a_name_compiles_to_itself_first_and_to_its_fused_forms() {
        let v = variants("Abdel-Malik al-Houthi");
        assert_eq!(v[0], ["abd", "malik", "houthi"]);
        assert!(v.iter().any(|s| s == &["abd*lmalik", "houthi"]));
        let v = variants("Deir ez-Zor");
        assert!(v.iter().any(|s| s == &["deir", "#zor"]));
        assert!(v.iter().any(|s| s == &["deir*zor"]));
        assert!(variants(&"a ".repeat(200)).len() <= MAX_VARIANTS);
    }
}
