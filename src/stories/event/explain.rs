//! Stories stage, events: why an article was put with an earlier one or not, in words, for
//! `vigie stories` and the logs. Pure.
//!
//! Invariant: every figure printed is the one the decision used (the parts of [`Why`]), and a
//! term whose text is unknown (an article read back from the store keeps only hashes) is
//! shown by its hash rather than guessed.

use std::collections::HashMap;
use std::fmt::Write;

use super::score::{THRESHOLD, Why};

/// `score 0.41 = (whole text 0.45 + 0.5 × headline 0.38) / 1.5 − span 0.00 − same outlet
/// 0.00; shared: «109» (figure), «macro», «milli» …`, against the threshold.
pub fn describe(why: &Why, labels: &HashMap<u64, String>) -> String {
    let verdict = if why.score >= THRESHOLD { "≥" } else { "<" };
    let mut s = format!(
        "score {:.2} {verdict} {THRESHOLD:.2} = (whole text {:.2} + 0.5 × headline {:.2}) / 1.5",
        why.score, why.full, why.title
    );
    if why.time_penalty > 0.0 {
        let _ = write!(
            s,
            " − {:.2} for a story spanning many hours",
            why.time_penalty
        );
    }
    if why.outlet_penalty > 0.0 {
        let _ = write!(
            s,
            " − {:.2}: the story already has this outlet",
            why.outlet_penalty
        );
    }
    let _ = write!(s, "; published {:.0} h apart; shared terms:", why.gap_hours);
    if why.shared.is_empty() {
        s.push_str(" none");
    }
    for (k, (hash, share, local)) in why.shared.iter().enumerate() {
        let sep = if k == 0 { " " } else { ", " };
        let text = labels
            .get(hash)
            .map_or_else(|| format!("#{hash:016x}"), |t| format!("«{t}»"));
        let _ = write!(s, "{sep}{text} {share:.2}");
        if *local > 0 {
            let _ = write!(s, " (in {local} neighbours)");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_gives_the_parts_and_the_shared_terms() {
        let why = Why {
            article_id: 1,
            story_id: 1,
            score: 0.31,
            full: 0.3,
            title: 0.4,
            time_penalty: 0.0,
            outlet_penalty: 0.1,
            gap_hours: 3.2,
            shared: vec![(7, 0.12, 0), (8, 0.05, 3)],
        };
        let labels = HashMap::from([(7, "penny".to_string())]);
        let d = describe(&why, &labels);
        assert!(d.starts_with("score 0.31 ≥ 0.24"), "{d}");
        assert!(d.contains("«penny» 0.12"), "{d}");
        assert!(
            d.contains("#0000000000000008 0.05 (in 3 neighbours)"),
            "{d}"
        );
        assert!(d.contains("the story already has this outlet"), "{d}");
    }
}
