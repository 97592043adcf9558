//! Setting up a real county's store (what `headend init` does): the county region, its
//! towns and villages and its publishing bodies from CSV files, and the county channel, so
//! that `headend import` and `headend serve --no-demo` work on real data without the demo.
//!
//! `regions.csv`: a header line `code,name,level,parent`, then one town (`level` = `town`,
//! parent = the county code or empty) or village (`village`, parent = its town) a line.
//! `departments.csv`: a header line `code,name,short_name,region` with optional `phone` and
//! `address` columns; `region` empty means the county.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};

use crate::demo::{insert_department, Department};
use crate::store::{self, StoreError};

/// What is wrong with a county's set-up data.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The store already holds a county.
    #[error("the store already holds the county {code} ({name}); `headend init` sets up an empty store only")]
    AlreadySetUp {
        /// Its code.
        code: String,
        /// Its name.
        name: String,
    },
    /// A CSV file is malformed.
    #[error("{file} line {line}: {why}")]
    Csv {
        /// Which file.
        file: &'static str,
        /// 1-based line.
        line: u64,
        /// What is wrong.
        why: String,
    },
    /// The county itself is malformed.
    #[error("county: {0}")]
    County(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A region below the county.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionRow {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// `town` or `village`.
    pub level: String,
    /// Parent code (empty: the county).
    pub parent: String,
}

fn rows(
    file: &'static str,
    text: &str,
    required: &[&str],
) -> Result<Vec<Vec<(String, String)>>, SetupError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let bad = |line: u64, why: String| SetupError::Csv { file, line, why };
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| bad(1, e.to_string()))?
        .iter()
        .map(str::to_owned)
        .collect();
    for r in required {
        if !headers.iter().any(|h| h == r) {
            return Err(bad(
                1,
                format!(
                    "the header has no `{r}` column (it needs {})",
                    required.join(",")
                ),
            ));
        }
    }
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i as u64 + 2;
        let record = record.map_err(|e| bad(line, e.to_string()))?;
        out.push(
            headers
                .iter()
                .cloned()
                .zip(record.iter().map(str::to_owned))
                .collect(),
        );
    }
    Ok(out)
}

fn get(row: &[(String, String)], key: &str) -> String {
    row.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// Reads `regions.csv`.
pub fn parse_regions(text: &str) -> Result<Vec<RegionRow>, SetupError> {
    rows("regions.csv", text, &["code", "name", "level", "parent"])?
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let row = RegionRow {
                code: get(&r, "code"),
                name: get(&r, "name"),
                level: get(&r, "level"),
                parent: get(&r, "parent"),
            };
            let bad = |why: &str| SetupError::Csv {
                file: "regions.csv",
                line: i as u64 + 2,
                why: why.to_owned(),
            };
            if row.code.is_empty() || row.name.is_empty() {
                return Err(bad("code and name are required"));
            }
            if row.level != "town" && row.level != "village" {
                return Err(bad("level must be `town` or `village`"));
            }
            Ok(row)
        })
        .collect()
}

/// Reads `departments.csv`.
pub fn parse_departments(text: &str) -> Result<Vec<Department>, SetupError> {
    rows(
        "departments.csv",
        text,
        &["code", "name", "short_name", "region"],
    )?
    .into_iter()
    .enumerate()
    .map(|(i, r)| {
        let row = Department {
            code: get(&r, "code"),
            name: get(&r, "name"),
            short_name: get(&r, "short_name"),
            region: get(&r, "region"),
            phone: get(&r, "phone"),
            address: get(&r, "address"),
        };
        let bad = |why: &str| SetupError::Csv {
            file: "departments.csv",
            line: i as u64 + 2,
            why: why.to_owned(),
        };
        if row.code.is_empty()
            || !row
                .code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(bad(
                "code is required and must be ASCII letters, digits, - or _",
            ));
        }
        if row.name.is_empty() || row.short_name.is_empty() {
            return Err(bad("name and short_name are required"));
        }
        Ok(row)
    })
    .collect()
}

/// What `init` wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InitReport {
    /// Regions in all (the county included).
    pub regions: usize,
    /// Publishing bodies.
    pub departments: usize,
    /// The county channel's name.
    pub channel: String,
}

/// Sets up an empty store for the county `code` `name`: all or nothing.
pub fn init(
    conn: &mut Connection,
    (code, name): (&str, &str),
    regions: &[RegionRow],
    departments: &[Department],
    now: DateTime<Utc>,
) -> Result<InitReport, SetupError> {
    if code.trim().is_empty() || name.trim().is_empty() {
        return Err(SetupError::County("a code and a name are required".into()));
    }
    let existing: Option<(String, String)> = rusqlite::OptionalExtension::optional(conn.query_row(
        "SELECT code, name FROM regions WHERE level = 'county' LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    ))
    .map_err(StoreError::from)?;
    if let Some((code, name)) = existing {
        return Err(SetupError::AlreadySetUp { code, name });
    }
    let tx = conn.transaction().map_err(StoreError::from)?;
    let sql = |e: rusqlite::Error, file: &'static str, line: usize| SetupError::Csv {
        file,
        line: line as u64 + 2,
        why: match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::ConstraintViolation) => {
                "duplicate code, or a parent or region that is not defined above it".to_owned()
            }
            _ => e.to_string(),
        },
    };
    tx.execute(
        "INSERT INTO regions (code, name, level, parent) VALUES (?1, ?2, 'county', NULL)",
        params![code.trim(), name.trim()],
    )
    .map_err(StoreError::from)?;
    for (i, r) in regions.iter().enumerate() {
        let parent = if r.parent.is_empty() {
            code.trim()
        } else {
            r.parent.as_str()
        };
        tx.execute(
            "INSERT INTO regions (code, name, level, parent) VALUES (?1, ?2, ?3, ?4)",
            params![r.code, r.name, r.level, parent],
        )
        .map_err(|e| sql(e, "regions.csv", i))?;
    }
    for (i, d) in departments.iter().enumerate() {
        let region = if d.region.is_empty() {
            code.trim()
        } else {
            d.region.as_str()
        };
        insert_department(&tx, d, region).map_err(|e| sql(e, "departments.csv", i))?;
    }
    let channel = "county".to_owned();
    tx.execute(
        "INSERT INTO channels (name, title, region) VALUES (?1, ?2, ?3)",
        params![channel, format!("{}政务频道", name.trim()), code.trim()],
    )
    .map_err(StoreError::from)?;
    tx.execute(
        "INSERT OR REPLACE INTO store_facts (key, value) VALUES ('county_code', ?1), ('county_name', ?2)",
        params![code.trim(), name.trim()],
    )
    .map_err(StoreError::from)?;
    store::audit(
        &tx,
        now,
        "system",
        "init_county",
        "county",
        code.trim(),
        &serde_json::json!({ "name": name.trim(), "regions": regions.len(), "departments": departments.len() }),
    )
    .map_err(StoreError::from)?;
    tx.commit().map_err(StoreError::from)?;
    Ok(InitReport {
        regions: regions.len() + 1,
        departments: departments.len(),
        channel,
    })
}
