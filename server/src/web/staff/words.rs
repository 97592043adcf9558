//! The sensitive-word list the confidentiality scan flags for reviewers: every staff
//! member sees it; administrators and county-wide reviewers add and remove words
//! (audited).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::{Deserialize, Serialize};

use super::{page, PageError, Staff};
use crate::publishing::{self, PublishError};
use crate::web::{ApiError, AppState};

/// Words per page.
pub const PAGE_ROWS: usize = 100;

/// Search, page and the outcome of what was just done.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct WordsQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<usize>,
    #[serde(default)]
    done: String,
}

/// One word with who added it and when.
fn rows(
    conn: &rusqlite::Connection,
) -> Result<Vec<(String, String, String)>, crate::store::StoreError> {
    let mut stmt =
        conn.prepare("SELECT word, added_by, added_at FROM sensitive_words ORDER BY word")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

async fn words_page(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    q: &WordsQuery,
    typed: &str,
    errors: Vec<String>,
) -> Result<Response, PageError> {
    let all = state.store.call(|conn| rows(conn)).await?;
    let needle = q.q.trim();
    let matching: Vec<_> = all
        .into_iter()
        .filter(|(w, _, _)| needle.is_empty() || w.contains(needle))
        .collect();
    let paged = super::paginate(matching, q.page, PAGE_ROWS);
    let words: Vec<minijinja::Value> = paged
        .rows
        .into_iter()
        .map(|(word, by, at)| minijinja::context! { word, by, at })
        .collect();
    let done = match q.done.as_str() {
        "added" => Some("已添加，之后提交和审核的内容都会检查这些词。"),
        "removed" => Some("已删除。"),
        "none" => Some("这些词已在列表中，没有新增。"),
        _ => None,
    };
    let html = page(
        "words.html",
        Some(staff),
        "words",
        minijinja::context! {
            words, total => paged.total, pages => paged.pages, page => paged.page, query => q, done, typed, errors,
            may_edit => publishing::may_edit_words(&staff.user),
            max_words => publishing::MAX_WORDS,
        },
    )?;
    Ok((status, html).into_response())
}

/// `GET /admin/words?q=&page=`.
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<WordsQuery>,
) -> Result<Response, PageError> {
    words_page(&state, &staff, StatusCode::OK, &q, "", Vec::new()).await
}

fn require_editor(staff: &Staff) -> Result<(), PageError> {
    if publishing::may_edit_words(&staff.user) {
        Ok(())
    } else {
        Err(PageError::Api(ApiError::Forbidden(
            "只有管理员和全县审核员可以修改敏感词".into(),
        )))
    }
}

/// The add form: words, one per line.
#[derive(Debug, Default, Deserialize)]
pub struct AddForm {
    #[serde(default)]
    words: String,
}

/// `POST /admin/words`: adds the words typed, one per line.
pub async fn add(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<AddForm>,
) -> Result<Response, PageError> {
    require_editor(&staff)?;
    let words: Vec<String> = form.words.lines().map(str::to_owned).collect();
    let (actor, now) = (staff.user.name.clone(), chrono::Utc::now());
    let added = state
        .store
        .call(move |conn| Ok(publishing::add_sensitive_words(conn, &words, &actor, now)))
        .await?;
    match added {
        Ok(added) => {
            let done = if added.is_empty() { "none" } else { "added" };
            Ok(Redirect::to(&format!("/admin/words?done={done}")).into_response())
        }
        Err(PublishError::Invalid(fields)) => {
            let errors = fields.into_iter().map(|(_, m)| m).collect();
            words_page(
                &state,
                &staff,
                StatusCode::UNPROCESSABLE_ENTITY,
                &WordsQuery::default(),
                &form.words,
                errors,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// The remove form.
#[derive(Debug, Default, Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    word: String,
}

/// `POST /admin/words/remove`.
pub async fn remove(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<RemoveForm>,
) -> Result<Response, PageError> {
    require_editor(&staff)?;
    let (actor, now) = (staff.user.name.clone(), chrono::Utc::now());
    let word = form.word;
    let found = state
        .store
        .call(move |conn| Ok(publishing::remove_sensitive_word(conn, &word, &actor, now)))
        .await??;
    if !found {
        return Err(PageError::Api(ApiError::NotFound(
            "列表中没有这个词".into(),
        )));
    }
    Ok(Redirect::to("/admin/words?done=removed").into_response())
}
