//! What a region's set-top boxes may show, read from the store: every screen of the graph
//! as a page model with its id. Links between screens are the models' own selectable
//! targets (`notice:42`, `section:power`, `vote:2` …), which [`super::graph`] resolves. A
//! poll's options lead to confirmation screens, `vote:<poll>:<option>`.

use chrono::{DateTime, FixedOffset};
use rusqlite::{Connection, OptionalExtension};

use crate::content::CatalogueKind;
use crate::pages;
use crate::render::screens::{
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
    screens.push(list(
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
        screens.push(list(
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
    screens.push(list(
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
    screens.push(list(
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
                    model: Model::Poll(crate::render::screens::PollScreen {
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
