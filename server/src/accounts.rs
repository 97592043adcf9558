//! Staff accounts: users with roles (信息员 editor, 审核员 reviewer, 播出员 operator, 管理员
//! admin; editors and reviewers act for a department), argon2id password hashes, lockout
//! after repeated failures, one-time passwords that must be changed at first login, and
//! sessions whose cookie value is never stored (only its SHA-256) with a CSRF token each.
//! Every login, failed login, lockout, logout, password change and new account is written
//! to the audit log.
//!
//! Password hashing is slow by design (tens of milliseconds): callers hash and verify
//! outside the store's thread ([`hash_password`], [`verify_password`]) and give this
//! module's store functions the results.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use crate::digest::{random_bytes, random_hex, sha256_hex};
use crate::names::vocabulary;
use crate::store::{stamp, StoreError};

/// Consecutive wrong passwords that lock an account.
pub const MAX_FAILURES: i64 = 5;
/// How long a locked account stays locked.
pub const LOCKOUT: Duration = Duration::minutes(15);
/// How long a session lasts without logging in again.
pub const SESSION_LIFETIME: Duration = Duration::hours(12);
/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

vocabulary! {
    /// A staff role. Its Chinese label is read as its name too (`--role 审核员`).
    pub Role as "role" {
        /// 信息员: drafts notices and keeps the catalogue of a department.
        Editor = "editor" | "信息员" / "信息员",
        /// 审核员: reviews what editors submit (for a department, or the county).
        Reviewer = "reviewer" | "审核员" / "审核员",
        /// 播出员: channels, schedules, urgent overrides.
        Operator = "operator" | "播出员" / "播出员",
        /// 管理员: users, departments, regions, ingest sources.
        Admin = "admin" | "管理员" / "管理员",
    }
}

/// A role held, for a department or (`None`) the whole county.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Grant {
    /// The role.
    pub role: Role,
    /// Department code, if the role is limited to one.
    pub department: Option<String>,
}

/// A staff member as the web layer sees them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Login name.
    pub name: String,
    /// Name shown (the login name when none was given).
    pub display_name: String,
    /// Must change the one-time password before doing anything else.
    pub must_change: bool,
    /// Roles held.
    pub grants: Vec<Grant>,
}

impl User {
    /// Whether the user holds `role` (for any department).
    pub fn has(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role == role)
    }

    /// Whether the user holds `role` for `department`: a grant for that department or a
    /// county-wide one.
    pub fn has_for(&self, role: Role, department: &str) -> bool {
        self.grants
            .iter()
            .any(|g| g.role == role && g.department.as_deref().is_none_or(|d| d == department))
    }
}

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The login name is taken.
    #[error("user {0:?} exists already")]
    Exists(String),
    /// The login name is empty, too long or has characters other than letters, digits,
    /// `.`, `_` and `-`.
    #[error("bad user name {0:?} (1–64 letters, digits, '.', '_' or '-')")]
    BadName(String),
    /// No such department.
    #[error("there is no department {0:?}")]
    UnknownDepartment(String),
    /// An editor needs a department.
    #[error("an editor acts for a department: give --department")]
    EditorWithoutDepartment,
    /// No such user.
    #[error("there is no user {0:?}")]
    UnknownUser(String),
    /// Too many password checks are waiting; try again shortly.
    #[error("too many password checks at once")]
    Busy,
    /// Hashing failed (out of memory, or no randomness for the salt).
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// A user must hold at least one role (disable the account to take every right away).
    #[error("a user must hold at least one role")]
    NoRoles,
    /// The change would leave no enabled administrator.
    #[error("the change would leave no enabled administrator")]
    LastAdmin,
    /// Administrators cannot disable their own account.
    #[error("administrators cannot disable their own account")]
    OwnAccount,
}

impl AccountError {
    /// What staff are told when they can fix the request (Chinese); `None` for faults of
    /// the headend.
    pub fn staff_message(&self) -> Option<&'static str> {
        Some(match self {
            AccountError::Exists(_) => "该用户名已被使用",
            AccountError::BadName(_) => "用户名只能包含字母、数字、.、_ 和 -，最长64个字符",
            AccountError::UnknownDepartment(_) => "所选单位不存在",
            AccountError::EditorWithoutDepartment => "信息员必须选择所属单位",
            AccountError::UnknownUser(_) => "没有这个用户",
            AccountError::NoRoles => "每个账号至少要有一个角色；如需收回全部权限，请停用账号",
            AccountError::LastAdmin => "此操作会使系统没有可用的管理员，未执行",
            AccountError::OwnAccount => "不能停用自己的账号",
            AccountError::Busy => "系统繁忙，请稍后再试",
            AccountError::Store(_) | AccountError::Hash(_) => return None,
        })
    }
}

impl From<rusqlite::Error> for AccountError {
    fn from(e: rusqlite::Error) -> Self {
        AccountError::Store(StoreError::from(e))
    }
}

/// An audit record about account `user`.
fn audit(
    conn: &Connection,
    now: DateTime<Utc>,
    actor: &str,
    action: &str,
    user: &str,
    detail: serde_json::Value,
) -> Result<(), rusqlite::Error> {
    crate::store::audit(conn, now, actor, action, "user", user, &detail)
}

/// The argon2id hash (PHC string) of `password`, with a fresh random salt. Slow on
/// purpose: call it off the store's thread.
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    let salt_bytes = random_bytes(16).map_err(|e| AccountError::Hash(e.to_string()))?;
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| AccountError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

/// Whether `password` matches the stored `hash`. Slow on purpose.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash to verify against when the user does not exist, so that a wrong name takes as
/// long as a wrong password: the same argon2id parameters as every stored hash, an output
/// no password produces in practice (all zero bytes).
pub fn decoy_hash() -> &'static str {
    "$argon2id$v=19$m=19456,t=2,p=1$ZGVjb3lkZWNveWRlY295$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
}

/// Password hashing and verification on one thread of its own: each argon2id run takes
/// 19 MiB and tens of milliseconds, so running them one at a time bounds both the memory
/// (one block, reused) and the CPU a burst of logins can take. Cloneable handle; the
/// thread ends when the last handle is dropped.
#[derive(Debug, Clone)]
pub struct Passwords {
    jobs: std::sync::mpsc::SyncSender<PasswordJob>,
}

enum PasswordJob {
    Hash(
        String,
        tokio::sync::oneshot::Sender<Result<String, AccountError>>,
    ),
    Verify(String, String, tokio::sync::oneshot::Sender<bool>),
}

/// Password jobs that may wait; more are refused ([`AccountError::Busy`]).
pub const PASSWORD_QUEUE: usize = 32;

impl Passwords {
    /// Starts the thread.
    pub fn start() -> Result<Passwords, AccountError> {
        let (jobs, inbox) = std::sync::mpsc::sync_channel::<PasswordJob>(PASSWORD_QUEUE);
        std::thread::Builder::new()
            .name("passwords".into())
            .spawn(move || {
                while let Ok(job) = inbox.recv() {
                    match job {
                        PasswordJob::Hash(password, reply) => {
                            let _ = reply.send(hash_password(&password));
                        }
                        PasswordJob::Verify(hash, password, reply) => {
                            let _ = reply.send(verify_password(&hash, &password));
                        }
                    }
                }
            })
            .map_err(|e| AccountError::Hash(format!("cannot start the password thread: {e}")))?;
        Ok(Passwords { jobs })
    }

    /// A handle whose thread is gone: every call fails (used only when no thread starts).
    pub fn stopped() -> Passwords {
        let (jobs, _) = std::sync::mpsc::sync_channel(0);
        Passwords { jobs }
    }

    fn send(&self, job: PasswordJob) -> Result<(), AccountError> {
        self.jobs.try_send(job).map_err(|e| match e {
            std::sync::mpsc::TrySendError::Full(_) => AccountError::Busy,
            std::sync::mpsc::TrySendError::Disconnected(_) => {
                AccountError::Hash("the password thread has stopped".into())
            }
        })
    }

    /// [`hash_password`] on the password thread.
    pub async fn hash(&self, password: &str) -> Result<String, AccountError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(PasswordJob::Hash(password.to_owned(), tx))?;
        rx.await
            .map_err(|_| AccountError::Hash("the password thread has stopped".into()))?
    }

    /// [`verify_password`] on the password thread.
    pub async fn verify(&self, hash: &str, password: &str) -> Result<bool, AccountError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(PasswordJob::Verify(
            hash.to_owned(),
            password.to_owned(),
            tx,
        ))?;
        rx.await
            .map_err(|_| AccountError::Hash("the password thread has stopped".into()))
    }
}

/// A one-time password: 12 characters from an alphabet without look-alikes.
pub fn one_time_password() -> Result<String, AccountError> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789";
    let bytes = random_bytes(12).map_err(|e| AccountError::Hash(e.to_string()))?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect())
}

/// Whether `password` may be a user's new password; the reason (Chinese) if not.
pub fn check_new_password(name: &str, password: &str) -> Result<(), &'static str> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err("新密码至少需要10个字符");
    }
    if chars > 256 {
        return Err("新密码不能超过256个字符");
    }
    if password.eq_ignore_ascii_case(name) {
        return Err("新密码不能与用户名相同");
    }
    let kinds = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if kinds.iter().filter(|k| **k).count() < 2 {
        return Err("新密码需包含字母、数字或符号中的至少两类");
    }
    Ok(())
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A new account: who, with which roles, and whether the password is one-time.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// Login name.
    pub name: &'a str,
    /// Name shown to staff (empty: the login name).
    pub display_name: &'a str,
    /// From [`hash_password`].
    pub password_hash: &'a str,
    /// Roles held.
    pub grants: &'a [Grant],
    /// The password is one-time: change it at first login (every account but the demo's).
    pub must_change: bool,
}

/// Adds a user. `actor` is who adds them (a user name, or `cli`).
pub fn add_user(
    conn: &mut Connection,
    user: &NewUser<'_>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<i64, AccountError> {
    let NewUser {
        name,
        display_name,
        password_hash,
        grants,
        must_change,
    } = *user;
    if !valid_name(name) {
        return Err(AccountError::BadName(name.to_owned()));
    }
    let tx = conn.transaction()?;
    let exists: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM users WHERE name = ?1)",
        [name],
        |r| r.get(0),
    )?;
    if exists {
        return Err(AccountError::Exists(name.to_owned()));
    }
    check_grants(&tx, grants)?;
    tx.execute(
        "INSERT INTO users (name, display_name, password_hash, must_change, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![name, display_name, password_hash, must_change, stamp(now)],
    )?;
    let id = tx.last_insert_rowid();
    for g in grants {
        tx.execute(
            "INSERT OR IGNORE INTO user_roles (user_id, role, department) VALUES (?1, ?2, ?3)",
            params![id, g.role.as_str(), g.department],
        )?;
    }
    audit(
        &tx,
        now,
        actor,
        "user_add",
        name,
        serde_json::json!({ "grants": grants }),
    )?;
    tx.commit()?;
    Ok(id)
}

/// Checks that `grants` may be given: at least one, editors with a department, and
/// departments that exist.
fn check_grants(conn: &Connection, grants: &[Grant]) -> Result<(), AccountError> {
    if grants.is_empty() {
        return Err(AccountError::NoRoles);
    }
    for g in grants {
        if g.role == Role::Editor && g.department.is_none() {
            return Err(AccountError::EditorWithoutDepartment);
        }
        if let Some(d) = &g.department {
            let known: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM departments WHERE code = ?1)",
                [d],
                |r| r.get(0),
            )?;
            if !known {
                return Err(AccountError::UnknownDepartment(d.clone()));
            }
        }
    }
    Ok(())
}

fn user_id(conn: &Connection, name: &str) -> Result<i64, AccountError> {
    conn.query_row("SELECT id FROM users WHERE name = ?1", [name], |r| r.get(0))
        .optional()?
        .ok_or_else(|| AccountError::UnknownUser(name.to_owned()))
}

/// Enabled accounts holding the administrator role.
fn enabled_admins(conn: &Connection) -> Result<i64, rusqlite::Error> {
    conn.query_row(
        "SELECT count(DISTINCT u.id) FROM users u JOIN user_roles r ON r.user_id = u.id
         WHERE r.role = 'admin' AND u.disabled = 0",
        [],
        |r| r.get(0),
    )
}

/// Replaces the roles of `name` with `grants` (an administrator's permission change):
/// audited with the roles before and after; refused if it would leave no enabled
/// administrator. The user's sessions stay; every request reads the roles afresh.
pub fn set_grants(
    conn: &mut Connection,
    name: &str,
    grants: &[Grant],
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    let tx = conn.transaction()?;
    let id = user_id(&tx, name)?;
    check_grants(&tx, grants)?;
    let before = self::grants(&tx, id)?;
    tx.execute("DELETE FROM user_roles WHERE user_id = ?1", [id])?;
    for g in grants {
        tx.execute(
            "INSERT OR IGNORE INTO user_roles (user_id, role, department) VALUES (?1, ?2, ?3)",
            params![id, g.role.as_str(), g.department],
        )?;
    }
    if enabled_admins(&tx)? == 0 {
        return Err(AccountError::LastAdmin);
    }
    let after = self::grants(&tx, id)?;
    if before != after {
        audit(
            &tx,
            now,
            actor,
            "permission_change",
            name,
            serde_json::json!({ "before": before, "after": after }),
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Disables (or enables again) the account `name`. A disabled account cannot log in, its
/// sessions end at once and its API tokens stop working. Audited; administrators cannot
/// disable themselves, nor the last enabled administrator.
pub fn set_disabled(
    conn: &mut Connection,
    name: &str,
    disabled: bool,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    if disabled && name == actor {
        return Err(AccountError::OwnAccount);
    }
    let tx = conn.transaction()?;
    let id = user_id(&tx, name)?;
    let before: bool = tx.query_row("SELECT disabled FROM users WHERE id = ?1", [id], |r| {
        r.get(0)
    })?;
    tx.execute(
        "UPDATE users SET disabled = ?2 WHERE id = ?1",
        params![id, disabled],
    )?;
    if disabled {
        tx.execute("DELETE FROM sessions WHERE user_id = ?1", [id])?;
        if enabled_admins(&tx)? == 0 {
            return Err(AccountError::LastAdmin);
        }
    }
    if before != disabled {
        audit(
            &tx,
            now,
            actor,
            if disabled {
                "user_disable"
            } else {
                "user_enable"
            },
            name,
            serde_json::json!({ "before": { "disabled": before }, "after": { "disabled": disabled } }),
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Lifts the lockout of `name` after failed logins (an administrator's unlock). Audited.
pub fn unlock(
    conn: &mut Connection,
    name: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    let tx = conn.transaction()?;
    let id = user_id(&tx, name)?;
    let (failures, until): (i64, Option<String>) = tx.query_row(
        "SELECT failed_logins, locked_until FROM users WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    tx.execute(
        "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?1",
        [id],
    )?;
    audit(
        &tx,
        now,
        actor,
        "user_unlock",
        name,
        serde_json::json!({ "before": { "failed_logins": failures, "locked_until": until } }),
    )?;
    tx.commit()?;
    Ok(())
}

/// What a login attempt needs to know about an account.
#[derive(Debug, Clone)]
pub struct LoginRecord {
    /// Row id.
    pub id: i64,
    /// The stored hash.
    pub password_hash: String,
    /// Locked until this time, if locked now.
    pub locked: bool,
    /// Disabled by an administrator.
    pub disabled: bool,
    /// Still on a one-time password.
    pub must_change: bool,
}

/// The login record of `name`, if the user exists.
pub fn login_record(
    conn: &Connection,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Option<LoginRecord>, AccountError> {
    Ok(conn
        .query_row(
            "SELECT id, password_hash, locked_until, disabled, must_change FROM users WHERE name = ?1",
            [name],
            |r| {
                let until: Option<String> = r.get(2)?;
                Ok(LoginRecord {
                    id: r.get(0)?,
                    password_hash: r.get(1)?,
                    locked: until.is_some_and(|u| u > stamp(now)),
                    disabled: r.get::<_, i64>(3)? != 0,
                    must_change: r.get::<_, i64>(4)? != 0,
                })
            },
        )
        .optional()?)
}

/// Records a wrong password for `name` (an unknown name is audited too); returns whether
/// the account is locked now.
pub fn login_failed(
    conn: &mut Connection,
    name: &str,
    address: &str,
    now: DateTime<Utc>,
) -> Result<bool, AccountError> {
    let tx = conn.transaction()?;
    let row: Option<(i64, i64)> = tx
        .query_row(
            "SELECT id, failed_logins FROM users WHERE name = ?1",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let mut locked = false;
    if let Some((id, failed)) = row {
        let failed = failed + 1;
        locked = failed >= MAX_FAILURES;
        tx.execute(
            "UPDATE users SET failed_logins = ?2,
                    locked_until = CASE WHEN ?3 THEN ?4 ELSE locked_until END
             WHERE id = ?1",
            params![id, failed, locked, stamp(now + LOCKOUT)],
        )?;
        if locked {
            // A fresh count after the lock ends.
            tx.execute("UPDATE users SET failed_logins = 0 WHERE id = ?1", [id])?;
        }
    }
    let name_shown: String = name.chars().take(64).collect();
    audit(
        &tx,
        now,
        &name_shown,
        "login_failed",
        &name_shown,
        serde_json::json!({ "address": address, "known_user": row.is_some(), "locked": locked }),
    )?;
    if locked {
        audit(
            &tx,
            now,
            "system",
            "user_locked",
            name,
            serde_json::json!({ "minutes": LOCKOUT.num_minutes() }),
        )?;
    }
    tx.commit()?;
    Ok(locked)
}

/// A new session: the cookie value (shown to the browser once) and its CSRF token.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Cookie value.
    pub token: String,
    /// CSRF token for the session's forms.
    pub csrf: String,
}

/// Records a successful login of user `id` and opens a session.
pub fn login_succeeded(
    conn: &mut Connection,
    id: i64,
    address: &str,
    now: DateTime<Utc>,
) -> Result<NewSession, AccountError> {
    let token = random_hex(32).map_err(|e| AccountError::Hash(e.to_string()))?;
    let csrf = random_hex(32).map_err(|e| AccountError::Hash(e.to_string()))?;
    let tx = conn.transaction()?;
    let name: String = tx.query_row("SELECT name FROM users WHERE id = ?1", [id], |r| r.get(0))?;
    tx.execute(
        "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?1",
        [id],
    )?;
    // Expired sessions of anyone go now.
    tx.execute("DELETE FROM sessions WHERE expires_at <= ?1", [stamp(now)])?;
    tx.execute(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            sha256_hex(&token),
            id,
            csrf,
            stamp(now),
            stamp(now + SESSION_LIFETIME)
        ],
    )?;
    audit(
        &tx,
        now,
        &name,
        "login",
        &name,
        serde_json::json!({ "address": address }),
    )?;
    tx.commit()?;
    Ok(NewSession { token, csrf })
}

fn grants(conn: &Connection, id: i64) -> Result<Vec<Grant>, rusqlite::Error> {
    let mut stmt = conn.prepare_cached(
        "SELECT role, department FROM user_roles WHERE user_id = ?1 ORDER BY role, department",
    )?;
    let rows = stmt.query_map([id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (role, department) = row?;
        if let Some(role) = Role::parse(&role) {
            out.push(Grant { role, department });
        }
    }
    Ok(out)
}

/// A signed-in user and the session's CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who.
    pub user: User,
    /// The CSRF token every form of the session carries.
    pub csrf: String,
}

/// The live session of cookie value `token`, if any (not expired, user not disabled).
pub fn session(
    conn: &Connection,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<Session>, AccountError> {
    let row = conn
        .query_row(
            "SELECT u.id, u.name, u.display_name, u.must_change, s.csrf_token
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.disabled = 0",
            params![sha256_hex(token), stamp(now)],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)? != 0,
                    r.get::<_, String>(4)?,
                ))
            },
        )
        .optional()?;
    let Some((id, name, display_name, must_change, csrf)) = row else {
        return Ok(None);
    };
    Ok(Some(Session {
        user: User {
            id,
            display_name: if display_name.is_empty() {
                name.clone()
            } else {
                display_name
            },
            name,
            must_change,
            grants: grants(conn, id)?,
        },
        csrf,
    }))
}

/// Ends the session of cookie value `token`.
pub fn logout(conn: &Connection, token: &str, now: DateTime<Utc>) -> Result<(), AccountError> {
    let name: Option<String> = conn
        .query_row(
            "SELECT u.name FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1",
            [sha256_hex(token)],
            |r| r.get(0),
        )
        .optional()?;
    conn.execute(
        "DELETE FROM sessions WHERE token_hash = ?1",
        [sha256_hex(token)],
    )?;
    if let Some(name) = name {
        audit(conn, now, &name, "logout", &name, serde_json::json!({}))?;
    }
    Ok(())
}

/// The stored hash of user `id` (to check the current password before a change).
pub fn password_hash(conn: &Connection, id: i64) -> Result<String, AccountError> {
    Ok(
        conn.query_row("SELECT password_hash FROM users WHERE id = ?1", [id], |r| {
            r.get(0)
        })?,
    )
}

/// Sets user `id`'s password hash (from [`hash_password`]); ends their other sessions
/// (every one but `keep`, a cookie value).
pub fn change_password(
    conn: &mut Connection,
    id: i64,
    new_hash: &str,
    keep: &str,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    let tx = conn.transaction()?;
    let name: String = tx.query_row("SELECT name FROM users WHERE id = ?1", [id], |r| r.get(0))?;
    tx.execute(
        "UPDATE users SET password_hash = ?2, must_change = 0 WHERE id = ?1",
        params![id, new_hash],
    )?;
    tx.execute(
        "DELETE FROM sessions WHERE user_id = ?1 AND token_hash <> ?2",
        params![id, sha256_hex(keep)],
    )?;
    audit(
        &tx,
        now,
        &name,
        "password_change",
        &name,
        serde_json::json!({}),
    )?;
    tx.commit()?;
    Ok(())
}

/// Sets a new one-time password hash for `name` (an administrator's reset, or the CLI):
/// unlocks the account, ends its sessions, and makes the user change it at next login.
pub fn reset_password(
    conn: &mut Connection,
    name: &str,
    new_hash: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    let tx = conn.transaction()?;
    let id: i64 = tx
        .query_row("SELECT id FROM users WHERE name = ?1", [name], |r| r.get(0))
        .optional()?
        .ok_or_else(|| AccountError::UnknownUser(name.to_owned()))?;
    tx.execute(
        "UPDATE users SET password_hash = ?2, must_change = 1, failed_logins = 0,
                locked_until = NULL WHERE id = ?1",
        params![id, new_hash],
    )?;
    tx.execute("DELETE FROM sessions WHERE user_id = ?1", [id])?;
    audit(
        &tx,
        now,
        actor,
        "password_reset",
        name,
        serde_json::json!({}),
    )?;
    tx.commit()?;
    Ok(())
}

/// An API token as its owner sees it (never the token itself after creation).
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenRow {
    /// Row id.
    pub id: i64,
    /// What it is for.
    pub name: String,
    /// When created.
    pub created_at: String,
    /// When last used.
    pub last_used_at: Option<String>,
}

/// Creates an API token named `name` for user `id`; returns its row id and the token
/// (shown once: only its SHA-256 is stored).
pub fn create_token(
    conn: &Connection,
    id: i64,
    name: &str,
    now: DateTime<Utc>,
) -> Result<(i64, String), AccountError> {
    let token = format!(
        "gct_{}",
        random_hex(32).map_err(|e| AccountError::Hash(e.to_string()))?
    );
    let user: String =
        conn.query_row("SELECT name FROM users WHERE id = ?1", [id], |r| r.get(0))?;
    conn.execute(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![id, name, sha256_hex(&token), stamp(now)],
    )?;
    let row = conn.last_insert_rowid();
    audit(
        conn,
        now,
        &user,
        "token_create",
        &user,
        serde_json::json!({ "token": row, "name": name }),
    )?;
    Ok((row, token))
}

/// User `id`'s API tokens.
pub fn list_tokens(conn: &Connection, id: i64) -> Result<Vec<TokenRow>, AccountError> {
    Ok(conn
        .prepare("SELECT id, name, created_at, last_used_at FROM api_tokens WHERE user_id = ?1 ORDER BY id")?
        .query_map([id], |r| {
            Ok(TokenRow {
                id: r.get(0)?,
                name: r.get(1)?,
                created_at: r.get(2)?,
                last_used_at: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}

/// Revokes token `token` of user `id`; whether there was one.
pub fn revoke_token(
    conn: &Connection,
    id: i64,
    token: i64,
    now: DateTime<Utc>,
) -> Result<bool, AccountError> {
    let gone = conn.execute(
        "DELETE FROM api_tokens WHERE id = ?1 AND user_id = ?2",
        params![token, id],
    )? > 0;
    if gone {
        let user: String =
            conn.query_row("SELECT name FROM users WHERE id = ?1", [id], |r| r.get(0))?;
        audit(
            conn,
            now,
            &user,
            "token_revoke",
            &user,
            serde_json::json!({ "token": token }),
        )?;
    }
    Ok(gone)
}

/// The user an API token belongs to (not disabled, password already changed); records
/// its use (at most once a minute).
pub fn token_user(
    conn: &Connection,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<User>, AccountError> {
    let row = conn
        .query_row(
            "SELECT u.id, u.name, u.display_name, t.id, t.last_used_at FROM api_tokens t
             JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = ?1 AND u.disabled = 0 AND u.must_change = 0",
            [sha256_hex(token)],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            },
        )
        .optional()?;
    let Some((id, name, display_name, token_id, last)) = row else {
        return Ok(None);
    };
    let minute_ago = stamp(now - Duration::minutes(1));
    if last.is_none_or(|l| l < minute_ago) {
        conn.execute(
            "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1",
            params![token_id, stamp(now)],
        )?;
    }
    Ok(Some(User {
        id,
        display_name: if display_name.is_empty() {
            name.clone()
        } else {
            display_name
        },
        name,
        must_change: false,
        grants: grants(conn, id)?,
    }))
}

/// An account as the users page lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UserRow {
    /// Login name.
    pub name: String,
    /// Name shown.
    pub display_name: String,
    /// Roles held.
    pub grants: Vec<Grant>,
    /// Disabled by an administrator.
    pub disabled: bool,
    /// Locked after failed logins, now.
    pub locked: bool,
    /// Still on a one-time password.
    pub must_change: bool,
    /// When added (RFC 3339).
    pub created_at: String,
}

/// Every account, by name.
pub fn list_users(conn: &Connection, now: DateTime<Utc>) -> Result<Vec<UserRow>, AccountError> {
    user_rows(conn, None, now)
}

/// The account `name`, if it exists.
pub fn find_user(
    conn: &Connection,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Option<UserRow>, AccountError> {
    Ok(user_rows(conn, Some(name), now)?.pop())
}

/// Accounts by name: all of them, or only `name`.
fn user_rows(
    conn: &Connection,
    name: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<UserRow>, AccountError> {
    let mut stmt = conn.prepare(
        "SELECT id, name, display_name, disabled, locked_until, must_change, created_at
         FROM users WHERE ?1 IS NULL OR name = ?1 ORDER BY name",
    )?;
    let rows = stmt
        .query_map([name], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                UserRow {
                    name: r.get(1)?,
                    display_name: r.get(2)?,
                    grants: Vec::new(),
                    disabled: r.get::<_, i64>(3)? != 0,
                    locked: r
                        .get::<_, Option<String>>(4)?
                        .is_some_and(|u| u > stamp(now)),
                    must_change: r.get::<_, i64>(5)? != 0,
                    created_at: r.get(6)?,
                },
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, mut row) in rows {
        row.grants = grants(conn, id)?;
        out.push(row);
    }
    Ok(out)
}

/// Whether the store has no accounts at all.
pub fn no_users(conn: &Connection) -> Result<bool, AccountError> {
    Ok(
        !conn.query_row("SELECT EXISTS (SELECT 1 FROM users)", [], |r| {
            r.get::<_, bool>(0)
        })?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::migrate(&mut conn).unwrap();
        conn.execute_batch(
            "INSERT INTO regions (code, name, level, parent) VALUES ('339901', '示范县', 'county', NULL);
             INSERT INTO departments (code, name, short_name, region) VALUES ('jtj', '县交通运输局', '交通局', '339901');",
        )
        .unwrap();
        conn
    }

    fn t(min: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + min * 60, 0).unwrap()
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("正确的马电池订书钉").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password(&h, "正确的马电池订书钉"));
        assert!(!verify_password(&h, "正确的马电池订书针"));
        assert!(!verify_password("not a hash", "x"));
        assert_ne!(h, hash_password("正确的马电池订书钉").unwrap(), "salted");
        assert!(PasswordHash::new(decoy_hash()).is_ok(), "the decoy parses");
        assert!(!verify_password(decoy_hash(), ""));
        let otp = one_time_password().unwrap();
        assert_eq!(otp.len(), 12);
        assert!(!otp.contains(['0', 'O', 'l', '1', 'I']));
    }

    #[test]
    fn new_passwords_are_checked() {
        assert!(check_new_password("wang", "short1").is_err());
        assert!(check_new_password("wangwei1234", "WANGWEI1234").is_err());
        assert!(
            check_new_password("wang", "abcdefghijk").is_err(),
            "one kind"
        );
        assert!(check_new_password("wang", "abcdefghij7").is_ok());
    }

    #[test]
    fn accounts_lock_after_repeated_failures_and_sessions_work() {
        let mut c = store();
        let grants = [
            Grant {
                role: Role::Editor,
                department: Some("jtj".into()),
            },
            Grant {
                role: Role::Reviewer,
                department: None,
            },
        ];
        let new = |name, grants| NewUser {
            name,
            display_name: "",
            password_hash: "$h",
            grants,
            must_change: true,
        };
        let id = add_user(
            &mut c,
            &NewUser {
                display_name: "王伟",
                ..new("wang", &grants)
            },
            "cli",
            t(0),
        )
        .unwrap();
        assert!(matches!(
            add_user(&mut c, &new("wang", &[]), "cli", t(0)),
            Err(AccountError::Exists(_))
        ));
        let editor_anywhere = [Grant {
            role: Role::Editor,
            department: None,
        }];
        assert!(matches!(
            add_user(&mut c, &new("li", &editor_anywhere), "cli", t(0)),
            Err(AccountError::EditorWithoutDepartment)
        ));
        let unknown = [Grant {
            role: Role::Reviewer,
            department: Some("nope".into()),
        }];
        assert!(matches!(
            add_user(&mut c, &new("li", &unknown), "cli", t(0)),
            Err(AccountError::UnknownDepartment(_))
        ));
        assert!(matches!(
            add_user(&mut c, &new("li li", &[]), "cli", t(0)),
            Err(AccountError::BadName(_))
        ));
        for i in 1..MAX_FAILURES {
            assert!(!login_failed(&mut c, "wang", "127.0.0.1", t(i)).unwrap());
        }
        assert!(!login_record(&c, "wang", t(5)).unwrap().unwrap().locked);
        assert!(login_failed(&mut c, "wang", "127.0.0.1", t(5)).unwrap());
        assert!(login_record(&c, "wang", t(6)).unwrap().unwrap().locked);
        assert!(
            !login_record(&c, "wang", t(5 + 16)).unwrap().unwrap().locked,
            "unlocked after 15 minutes"
        );
        let s = login_succeeded(&mut c, id, "127.0.0.1", t(30)).unwrap();
        let got = session(&c, &s.token, t(31)).unwrap().unwrap();
        assert_eq!(got.user.display_name, "王伟");
        assert!(got.user.must_change);
        assert!(got.user.has_for(Role::Editor, "jtj"));
        assert!(!got.user.has_for(Role::Editor, "gaj"));
        assert!(
            got.user.has_for(Role::Reviewer, "gaj"),
            "county-wide reviewer"
        );
        assert!(!got.user.has(Role::Admin));
        assert_eq!(got.csrf, s.csrf);
        assert!(
            session(&c, &s.token, t(30 + 13 * 60)).unwrap().is_none(),
            "expired"
        );
        assert!(session(&c, "forged", t(31)).unwrap().is_none());
        // The cookie value itself is not in the store.
        let stored: String = c
            .query_row("SELECT token_hash FROM sessions", [], |r| r.get(0))
            .unwrap();
        assert_ne!(stored, s.token);
        // A password change ends the other sessions and the obligation to change.
        let other = login_succeeded(&mut c, id, "127.0.0.1", t(32)).unwrap();
        change_password(&mut c, id, "$new", &s.token, t(33)).unwrap();
        assert!(session(&c, &other.token, t(34)).unwrap().is_none());
        assert!(
            !session(&c, &s.token, t(34))
                .unwrap()
                .unwrap()
                .user
                .must_change
        );
        logout(&c, &s.token, t(35)).unwrap();
        assert!(session(&c, &s.token, t(36)).unwrap().is_none());
        let actions: Vec<String> = c
            .prepare("SELECT action FROM audit_log WHERE object_kind = 'user' ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            actions,
            [
                "user_add",
                "login_failed",
                "login_failed",
                "login_failed",
                "login_failed",
                "login_failed",
                "user_locked",
                "login",
                "login",
                "password_change",
                "logout"
            ]
        );
    }
}
