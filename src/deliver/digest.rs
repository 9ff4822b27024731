//! Deliver stage, digest rendering (pure): the email that carries several stories — a
//! scheduled digest, or the summary of a watch's flood hour. Invariants: stories are
//! grouped by watch (in the order the rules define them), newest first within a watch,
//! and each story appears once, under the first of its watches (the others are named
//! beside it); everything from feeds goes through the same escaping as alerts.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use minijinja::context;
use serde::Serialize;

use super::flood;
use super::render::{self, RenderError, Rendered, Story, StoryView, header_safe, local_time};

/// Characters of excerpt per story: shorter than an alert's, so a digest stays scannable.
const EXCERPT: usize = 220;

/// What the email is.
#[derive(Debug, Clone)]
pub enum Heading<'a> {
    /// The digest `name` scheduled at `at`, covering what came since `since`.
    Digest {
        name: &'a str,
        since: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    },
    /// The rest of `watch`'s flood hour `[start, end)`.
    Flood {
        watch: &'a str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
}

/// One matched story of the batch.
#[derive(Debug, Clone)]
pub struct Item<'a> {
    /// The story's identity: a story is shown once.
    pub story_key: &'a str,
    pub story: Story<'a>,
    /// Publication time, else when it was first seen: what "newest" means.
    pub time: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub watch: String,
    pub stories: Vec<StoryView>,
}

/// Group `items` by watch (watches in `watch_order` first, in that order, then the
/// others by name), newest first within a watch, each story once.
pub fn group(items: &[Item<'_>], watch_order: &[String], zone: Tz) -> Vec<Group> {
    let rank = |w: &str| {
        watch_order
            .iter()
            .position(|x| x == w)
            .unwrap_or(watch_order.len())
    };
    let mut sorted: Vec<&Item<'_>> = items.iter().collect();
    sorted.sort_by(|a, b| {
        (rank(a.story.watch), a.story.watch)
            .cmp(&(rank(b.story.watch), b.story.watch))
            .then(b.time.cmp(&a.time))
            .then(a.story_key.cmp(b.story_key))
    });
    let mut groups: Vec<Group> = Vec::new();
    let mut placed: HashMap<&str, (usize, usize)> = HashMap::new();
    for it in sorted {
        if let Some(&(g, s)) = placed.get(it.story_key) {
            let view = &mut groups[g].stories[s];
            let w = header_safe(it.story.watch);
            if view.watch != w && !view.also.contains(&w) {
                view.also.push(w);
            }
            continue;
        }
        let watch = header_safe(it.story.watch);
        if groups.last().is_none_or(|g| g.watch != watch) {
            groups.push(Group {
                watch,
                stories: Vec::new(),
            });
        }
        let g = groups.len() - 1;
        groups[g]
            .stories
            .push(render::story_view(&it.story, zone, EXCERPT));
        placed.insert(it.story_key, (g, groups[g].stories.len() - 1));
    }
    groups
}

/// Render a digest or a flood summary. The caller does not send an empty one.
pub fn render_batch(
    heading: &Heading<'_>,
    items: &[Item<'_>],
    watch_order: &[String],
    zone: Tz,
) -> Result<Rendered, RenderError> {
    let groups = group(items, watch_order, zone);
    let n: usize = groups.iter().map(|g| g.stories.len()).sum();
    let stories = |n: usize| if n == 1 { "story" } else { "stories" };
    let watches: Vec<&str> = groups.iter().map(|g| g.watch.as_str()).collect();
    let (label, title, subject, intro, footer) = match heading {
        Heading::Digest { name, since, at } => {
            let name = header_safe(name);
            let mut listed = watches
                .iter()
                .take(3)
                .copied()
                .collect::<Vec<_>>()
                .join(", ");
            if watches.len() > 3 {
                listed.push_str(&format!(" +{}", watches.len() - 3));
            }
            let intro = match since {
                Some(s) => format!(
                    "Matches since {}, up to {}. Newest first within each watch.",
                    local_time(*s, zone),
                    local_time(*at, zone)
                ),
                None => format!(
                    "Matches up to {}. Newest first within each watch.",
                    local_time(*at, zone)
                ),
            };
            (
                format!("vigie digest · {name}"),
                format!(
                    "{n} {} · {} watch{}",
                    stories(n),
                    watches.len(),
                    if watches.len() == 1 { "" } else { "es" }
                ),
                format!("[vigie] {name} digest: {n} {} ({listed})", stories(n)),
                intro,
                format!("Sent by vigie: the digest “{name}”, for the watches that report to it."),
            )
        }
        Heading::Flood { watch, start, end } => {
            let watch = header_safe(watch);
            let span = format!(
                "{}–{}",
                start.with_timezone(&zone).format("%-d %b %Y, %H:%M"),
                end.with_timezone(&zone).format("%H:%M %Z")
            );
            (
                format!("vigie flood summary · {watch}"),
                format!("{n} more {} for {watch}", if n == 1 { "alert" } else { "alerts" }),
                format!("[vigie] {watch}: {n} more {} ({span})", if n == 1 { "alert" } else { "alerts" }),
                format!(
                    "“{watch}” matched more than {} articles in the hour {span}. The first {} were sent one by one; the rest of that hour is here, newest first.",
                    flood::LIMIT,
                    flood::LIMIT
                ),
                "Sent by vigie: a busy watch sends at most 20 single alerts an hour and folds the rest into one summary.".to_string(),
            )
        }
    };
    let preheader = groups
        .first()
        .and_then(|g| g.stories.first())
        .map(|s| s.title.clone())
        .unwrap_or_default();
    let ctx = context! {
        label => label,
        heading => title,
        intro => intro,
        groups => groups,
        footer => footer,
        preheader => preheader,
    };
    Ok(Rendered {
        subject: header_safe(&subject),
        text: render::render("digest.txt", &ctx)?,
        html: render::render("digest.html", &ctx)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Field, Hit};

    fn t(h: u32) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2017-02-27T{h:02}:00:00Z"))
            .unwrap()
            .to_utc()
    }

    fn item<'a>(key: &'a str, watch: &'a str, title: &'a str, hits: &'a [Hit], h: u32) -> Item<'a> {
        Item {
            story_key: key,
            story: Story {
                watch,
                title,
                link: Some("https://ex.org/a"),
                outlets: &[],
                published: Some(t(h)),
                summary: "",
                content: "",
                hits,
            },
            time: t(h),
        }
    }

    #[test]
    fn stories_are_grouped_by_watch_newest_first_each_once() {
        let hits = [Hit {
            field: Field::Title,
            start: 0,
            end: 7,
            text: "Palmyre".into(),
        }];
        let items = [
            item("a", "talks", "Genève: reprise", &[], 6),
            item("b", "palmyra", "Palmyre: la veille", &hits, 5),
            item("c", "palmyra", "Palmyre: ce matin", &hits, 9),
            item("c", "talks", "Palmyre: ce matin", &[], 9),
        ];
        let order = ["palmyra".to_string(), "talks".to_string()];
        let groups = group(&items, &order, Tz::UTC);
        let shape: Vec<(String, Vec<String>)> = groups
            .iter()
            .map(|g| {
                (
                    g.watch.clone(),
                    g.stories.iter().map(|s| s.title.clone()).collect(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                (
                    "palmyra".into(),
                    vec!["Palmyre: ce matin".into(), "Palmyre: la veille".into()]
                ),
                ("talks".into(), vec!["Genève: reprise".into()]),
            ]
        );
        assert_eq!(groups[0].stories[0].also, vec!["talks".to_string()]);
        let r = render_batch(
            &Heading::Digest {
                name: "morning",
                since: Some(t(5)),
                at: t(10),
            },
            &items,
            &order,
            Tz::UTC,
        )
        .unwrap();
        assert_eq!(
            r.subject,
            "[vigie] morning digest: 3 stories (palmyra, talks)"
        );
        assert!(r.html.contains("<mark"), "{}", r.html);
        assert!(r.text.find("== palmyra").unwrap() < r.text.find("== talks").unwrap());
    }

    #[test]
    fn a_flood_summary_says_which_hour_it_covers() {
        let items = [item("a", "w", "T <b>1</b>", &[], 14)];
        let r = render_batch(
            &Heading::Flood {
                watch: "w",
                start: t(14),
                end: t(15),
            },
            &items,
            &[],
            "Europe/Paris".parse().unwrap(),
        )
        .unwrap();
        assert_eq!(
            r.subject,
            "[vigie] w: 1 more alert (27 Feb 2017, 15:00–16:00 CET)"
        );
        assert!(r.html.contains("T &lt;b&gt;1&lt;"), "{}", r.html);
        assert!(!r.html.contains("<b>"));
    }
}
