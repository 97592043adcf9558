//! What a region's set-top boxes may show, read from the store: every screen of the graph
//! as a page model with its id. Links between screens are the models' own selectable
//! targets (`notice:42`, `section:power`, `vote:2` …), which [`super::graph`] resolves. A
//! poll's options lead to confirmation screens, `vote:<poll>:<option>`.

use chrono::{DateTime, FixedOffset};
use rusqlite::{Connection, OptionalExtension};

use crate::content::CatalogueKind;
use crate::pages;
use crate::render::screen::{
    month_day, CaseLookupScreen, HelpScreen, ListItem, ListScreen, Screen as Model,
};
use crate::store::StoreError;

/// One screen of a region's graph.
#[derive(Debug, Clone, PartialEq)]
pub struct ContentScreen {
    /// Its id in the graph (`home`, `section:notices`, `notice:42`, `guide:7` …).
    pub id: String,
    /// What it shows.
    pub model: Model,
}

/// Everything a region's graph shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Content {
    /// Region code.
    pub region: String,
    /// The county day the content is for.
    pub day: DateTime<FixedOffset>,
    /// Screens, home first.
    pub screens: Vec<ContentScreen>,
}

/// Why a region's content cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    /// No such region.
    #[error("there is no region {0:?}")]
    UnknownRegion(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for ContentError {
    fn from(e: rusqlite::Error) -> Self {
        ContentError::Store(StoreError::from(e))
    }
}

/// The title of a region's home screen: the title of the channel serving the region or
/// the nearest region above it.
fn home_title(conn: &Connection, region: &str) -> Result<String, ContentError> {
    let title: Option<String> = conn
        .query_row(
            "WITH RECURSIVE up(code, parent, depth) AS (
                 SELECT code, parent, 0 FROM regions WHERE code = ?1
                 UNION SELECT r.code, r.parent, up.depth + 1 FROM regions r JOIN up ON r.code = up.parent)
             SELECT c.title FROM channels c JOIN up ON up.code = c.region ORDER BY up.depth LIMIT 1",
            [region],
            |r| r.get(0),
        )
        .optional()?;
    Ok(title.unwrap_or_else(|| "政务服务".to_owned()))
}

fn list(id: &str, title: &str, items: Vec<ListItem>) -> ContentScreen {
    ContentScreen {
        id: id.to_owned(),
        model: Model::List(ListScreen {
            title: title.to_owned(),
            items,
        }),
    }
}

/// Items a list offers by digit (1–9).
pub const FAN_OUT: usize = 9;

/// A section's screens: its list when it holds at most nine items; otherwise an index of
/// at most nine numbered ranges (`第10—18项`, each with its first item's title), every
/// range a list of its own (`<id>:<n>`, ranges of ranges for long sections). Every item
/// is then as many digits from the section as the index has levels: two for up to 81
/// items, three for up to 729. The section's own screen comes first.
fn section(id: &str, title: &str, items: Vec<ListItem>) -> Vec<ContentScreen> {
    let mut out = Vec::new();
    ranges(id, title, title, &items, 0, &mut out);
    out
}

/// Appends the list `id` of `items` (numbered from `before + 1`) and, when it is an
/// index, its ranges after it.
fn ranges(
    id: &str,
    title: &str,
    section_title: &str,
    items: &[ListItem],
    before: usize,
    out: &mut Vec<ContentScreen>,
) {
    if items.len() <= FAN_OUT {
        out.push(list(id, title, items.to_vec()));
        return;
    }
    let mut size = FAN_OUT;
    while items.len().div_ceil(size) > FAN_OUT {
        size *= FAN_OUT;
    }
    // (id, label, first item's number, items) of each range.
    let parts: Vec<(String, String, usize, &[ListItem])> = items
        .chunks(size)
        .enumerate()
        .map(|(k, chunk)| {
            let first = before + k * size + 1;
            let label = format!("第{first}—{}项", first + chunk.len() - 1);
            (format!("{id}:{}", k + 1), label, first, chunk)
        })
        .collect();
    let entries = parts
        .iter()
        .map(|(range_id, label, _, chunk)| ListItem {
            label: label.clone(),
            detail: chunk.first().map(|i| format!("{}等", i.label)),
            target: range_id.clone(),
        })
        .collect();
    out.push(list(id, title, entries));
    for (range_id, label, first, chunk) in parts {
        let range_title = format!("{section_title}（{label}）");
        ranges(
            &range_id,
            &range_title,
            section_title,
            chunk,
            first - 1,
            out,
        );
    }
}

/// Reads every screen of `region`'s graph as of `now` (county time).
pub fn read(
    conn: &Connection,
    region: &str,
    now: DateTime<FixedOffset>,
) -> Result<Content, ContentError> {
    let known: Option<String> = conn
        .query_row("SELECT code FROM regions WHERE code = ?1", [region], |r| {
            r.get(0)
        })
        .optional()?;
    if known.is_none() {
        return Err(ContentError::UnknownRegion(region.to_owned()));
    }
    let today = now.date_naive();
    let day = today
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(*now.offset()).single())
        .unwrap_or(now);
    let title = home_title(conn, region)?;
    let mut screens = Vec::new();
    let mut home = pages::home(&title, now);
    home.now = pages::date_line(now);
    screens.push(ContentScreen {
        id: "home".into(),
        model: Model::Home(home),
    });

    // Notices for the region, newest first.
    let notices = pages::notices_on_air(conn, region, today, usize::MAX)?;
    screens.extend(section(
        "section:notices",
        "通知公告",
        notices
            .iter()
            .map(|(id, _, n)| ListItem {
                label: n.title.clone(),
                detail: Some(format!("{}　{}", n.publisher, month_day(&n.date))),
                target: format!("notice:{id}"),
            })
            .collect(),
    ));
    for (id, _, notice) in notices {
        screens.push(ContentScreen {
            id: format!("notice:{id}"),
            model: Model::Notice(notice),
        });
    }

    // The catalogue, county-wide: every entry, with its guide and flow.
    for (kind, section, title) in [
        (CatalogueKind::Disclosure, "section:disclosure", "信息公开"),
        (CatalogueKind::Service, "section:service", "便民服务"),
        (CatalogueKind::Power, "section:power", "行政职权"),
    ] {
        let mut stmt = conn.prepare(
            "SELECT e.id, e.title, d.short_name, e.issued_on,
                    EXISTS (SELECT 1 FROM service_guides g WHERE g.entry_id = e.id),
                    EXISTS (SELECT 1 FROM power_steps s WHERE s.entry_id = e.id)
             FROM catalogue_entries e JOIN departments d ON d.code = e.department
             WHERE e.kind = ?1 ORDER BY e.issued_on DESC, e.id DESC",
        )?;
        let rows: Vec<(i64, String, String, String, bool, bool)> = stmt
            .query_map([kind.as_str()], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        screens.extend(self::section(
            section,
            title,
            rows.iter()
                .map(|(id, t, dept, date, _, _)| ListItem {
                    label: t.clone(),
                    detail: Some(format!("{dept}　{}", month_day(date))),
                    target: format!("entry:{id}"),
                })
                .collect(),
        ));
        for (id, _, _, _, has_guide, has_flow) in rows {
            let Some(mut entry) = pages::entry(conn, id)? else {
                continue;
            };
            if has_guide {
                if let Some(g) = pages::guide(conn, id)? {
                    entry.links.push(ListItem {
                        label: "办事指南".into(),
                        detail: None,
                        target: format!("guide:{id}"),
                    });
                    screens.push(ContentScreen {
                        id: format!("guide:{id}"),
                        model: Model::Guide(g),
                    });
                }
            }
            if has_flow {
                if let Some(f) = pages::flow(conn, id)? {
                    entry.links.push(ListItem {
                        label: "办理流程".into(),
                        detail: None,
                        target: format!("flow:{id}"),
                    });
                    screens.push(ContentScreen {
                        id: format!("flow:{id}"),
                        model: Model::Flow(f),
                    });
                }
            }
            screens.push(ContentScreen {
                id: format!("entry:{id}"),
                model: Model::Entry(entry),
            });
        }
    }

    // Cases completed today, each with its progress screen.
    let done = pages::cases_completed_today(conn, region, today)?;
    let done_items = done.as_ref().map(|l| l.items.clone()).unwrap_or_default();
    screens.extend(section(
        "section:cases_today",
        &format!("今日办结（{}）", month_day(&today.to_string())),
        done_items.clone(),
    ));
    for item in done_items {
        let Some(case_no) = item.target.strip_prefix("case:") else {
            continue;
        };
        if let Some(result) = pages::case_result(conn, case_no, today)? {
            screens.push(ContentScreen {
                id: item.target.clone(),
                model: Model::CaseResult(result),
            });
        }
    }

    // Open polls: the voting screens.
    let polls = pages::open_polls(conn, region, today)?;
    screens.extend(section(
        "section:polls",
        "民意调查",
        polls
            .iter()
            .map(|(id, p)| ListItem {
                label: p.question.clone(),
                detail: Some(format!("{}截止", month_day(&p.closes))),
                target: format!("poll:{id}"),
            })
            .collect(),
    ));
    for (id, _) in polls {
        if let Some(p) = pages::poll(conn, id, false)? {
            // One confirmation screen per option: a digit chooses, OK votes.
            for k in 1..=p.options.len().min(9) as u32 {
                screens.push(ContentScreen {
                    id: format!("vote:{id}:{k}"),
                    model: Model::Poll(crate::render::screen::PollScreen {
                        chosen: Some(k),
                        ..p.clone()
                    }),
                });
            }
            screens.push(ContentScreen {
                id: format!("poll:{id}"),
                model: Model::Poll(p),
            });
        }
    }

    screens.push(ContentScreen {
        id: "case_lookup".into(),
        model: Model::CaseLookup(CaseLookupScreen {
            entered: String::new(),
            message: None,
        }),
    });
    screens.push(ContentScreen {
        id: "help".into(),
        model: Model::Help(HelpScreen { channel: title }),
    });
    Ok(Content {
        region: region.to_owned(),
        day,
        screens,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn items(n: usize) -> Vec<ListItem> {
        (1..=n)
            .map(|i| ListItem {
                label: format!("条目{i}"),
                detail: None,
                target: format!("entry:{i}"),
            })
            .collect()
    }

    fn lists_of(screens: &[ContentScreen]) -> HashMap<&str, &ListScreen> {
        screens
            .iter()
            .filter_map(|s| match &s.model {
                Model::List(l) => Some((s.id.as_str(), l)),
                _ => None,
            })
            .collect()
    }

    /// Digits from the section's screen to each item (the index in its list, 1-based).
    fn depth(screens: &[ContentScreen]) -> HashMap<String, Vec<usize>> {
        let lists = lists_of(screens);
        let mut out = HashMap::new();
        let mut todo = vec![(screens[0].id.as_str(), Vec::new())];
        while let Some((id, path)) = todo.pop() {
            for (i, item) in lists[id].items.iter().enumerate() {
                let mut p: Vec<usize> = path.clone();
                p.push(i + 1);
                if lists.contains_key(item.target.as_str()) {
                    todo.push((item.target.as_str(), p));
                } else {
                    out.insert(item.target.clone(), p);
                }
            }
        }
        out
    }

    #[test]
    fn short_sections_are_one_list_and_long_ones_an_index_of_ranges() {
        let short = section("section:polls", "民意调查", items(9));
        assert_eq!(short.len(), 1);
        assert_eq!(depth(&short).values().map(Vec::len).max(), Some(1));

        let notices = section("section:notices", "通知公告", items(57));
        assert_eq!(notices[0].id, "section:notices");
        let lists = lists_of(&notices);
        let top = lists["section:notices"];
        assert_eq!(top.items.len(), 7);
        assert_eq!(top.items[0].label, "第1—9项");
        assert_eq!(top.items[0].detail.as_deref(), Some("条目1等"));
        assert_eq!(top.items[6].label, "第55—57项");
        assert_eq!(lists["section:notices:7"].title, "通知公告（第55—57项）");
        let paths = depth(&notices);
        assert_eq!(paths.len(), 57, "every item once");
        assert!(paths
            .values()
            .all(|p| p.len() == 2 && p.iter().all(|d| *d <= 9)));
        assert_eq!(paths["entry:12"], vec![2, 3]);

        let power = section("section:power", "行政职权", items(295));
        let paths = depth(&power);
        assert_eq!(paths.len(), 295);
        assert!(paths
            .values()
            .all(|p| p.len() == 3 && p.iter().all(|d| *d <= 9)));
        assert_eq!(paths["entry:1"], vec![1, 1, 1]);
        assert_eq!(paths["entry:295"], vec![4, 6, 7]);
        let lists = lists_of(&power);
        assert_eq!(lists["section:power"].items[3].label, "第244—295项");
        assert_eq!(lists["section:power:4:5"].items[0].label, "条目280");
        assert!(lists.values().all(|l| l.items.len() <= FAN_OUT));
        // Parents come before their ranges.
        let at = |id: &str| power.iter().position(|s| s.id == id).unwrap();
        assert!(
            at("section:power") < at("section:power:2")
                && at("section:power:2") < at("section:power:2:1")
        );
    }
}
