//! People: argon2id passwords, browser sessions, CSRF tokens and the login
//! rate limit. Shared by the pages and `readout user add`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::work::{Gate, WorkError};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use readout_app::Name;
use readout_storage::{Database, Joining, NewSession, Role, User};

use crate::keys;

/// Shortest password accepted (NIST 800-63B asks for 8 at least).
pub const MIN_PASSWORD: usize = 10;
const MAX_PASSWORD: usize = 1024;
/// A session lasts this long after login.
pub const SESSION_DAYS: i64 = 30;

/// A new account's details, as typed.
#[derive(Debug)]
pub struct Signup<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password: &'a str,
}

/// What is wrong with a signup, said to the person typing it.
pub fn check_signup(signup: &Signup<'_>) -> Result<(String, String), String> {
    let email = signup.email.trim().to_lowercase();
    let at = email.find('@');
    if email.len() > 254 || at.is_none_or(|i| i == 0 || i + 1 == email.len()) {
        return Err(format!("{:?} is not an email address", signup.email.trim()));
    }
    let name = Name::parse(signup.name).map_err(|e| e.to_string())?;
    check_password(signup.password)?;
    Ok((email, name.into_string()))
}

/// What is wrong with a new password, if anything.
pub fn check_password(password: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_PASSWORD {
        return Err(format!(
            "the password needs at least {MIN_PASSWORD} characters"
        ));
    }
    if length > MAX_PASSWORD {
        return Err(format!(
            "the password may have at most {MAX_PASSWORD} characters"
        ));
    }
    Ok(())
}

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?
        .to_string())
}

pub fn password_matches(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// Argon2 takes about 19 MiB and tens of milliseconds of CPU per hash:
/// left unbounded, a flood of logins exhausts the memory of the machine.
/// Every hash and check a request starts goes through this gate: one per
/// core at once, a few dozen waiting, the rest told the server is busy
/// before they cost anything.
#[derive(Debug)]
pub struct PasswordGate(Gate);

/// Requests that may wait for a hash beyond those running.
const PASSWORD_QUEUE: usize = 32;

impl PasswordGate {
    /// One thread per core.
    pub fn new() -> std::io::Result<Self> {
        Ok(Self(Gate::new(
            "argon2",
            crate::work::cores(),
            PASSWORD_QUEUE,
        )?))
    }
}

/// Why password work did not happen.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Said to the client as 503, with a hint to retry.
    #[error("the server is busy checking other passwords: try again in a few seconds")]
    Busy,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl From<WorkError> for PasswordError {
    fn from(e: WorkError) -> Self {
        match e {
            WorkError::Busy => Self::Busy,
            e @ WorkError::Panicked => Self::Failed(e.into()),
        }
    }
}

impl PasswordGate {
    /// Runs `work` (hashing or verifying) on the blocking pool, once a
    /// turn is free.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        Ok(self.0.run(work).await?)
    }

    /// A new password's hash.
    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let password = password.to_owned();
        self.run(move || hash_password(&password))
            .await?
            .map_err(PasswordError::Failed)
    }

    /// Whether `password` matches the stored hash.
    pub async fn matches(&self, password: &str, stored: &str) -> Result<bool, PasswordError> {
        let (password, stored) = (password.to_owned(), stored.to_owned());
        self.run(move || password_matches(&password, &stored)).await
    }
}

/// Creates a user: the owner of a new workspace if `first_owner` names
/// one, else a member of the first workspace with `role`.
pub async fn add_user<D: Database>(
    db: &D,
    passwords: &PasswordGate,
    signup: &Signup<'_>,
    joining: Joining,
) -> Result<User, AddUserError> {
    let (email, name) = check_signup(signup).map_err(AddUserError::Invalid)?;
    let password_hash = passwords.hash(signup.password).await?;
    let user = User {
        id: keys::new_id("u_").map_err(AddUserError::Other)?,
        email,
        name,
        password_hash,
        created_at_ms: crate::now_ms(),
    };
    db.add_user(&user, &joining).await.map_err(|e| match e {
        readout_storage::DbError::Conflict(why) => AddUserError::Invalid(why),
        other => AddUserError::Other(other.into()),
    })?;
    Ok(user)
}

/// The first workspace's joining for an owner.
pub fn first_owner(workspace_name: &Name) -> anyhow::Result<Joining> {
    Ok(Joining::FirstOwner {
        workspace_id: keys::new_id("w_")?,
        workspace_name: workspace_name.to_string(),
    })
}

/// The owner of a new workspace of their own.
pub fn new_workspace(workspace_name: &Name) -> anyhow::Result<Joining> {
    Ok(Joining::NewWorkspace {
        workspace_id: keys::new_id("w_")?,
        workspace_name: workspace_name.to_string(),
    })
}

/// A member of the first workspace.
pub fn member(role: Role) -> Joining {
    Joining::FirstWorkspace { role }
}

#[derive(Debug, thiserror::Error)]
pub enum AddUserError {
    /// Said to the user as is.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// A new session for `user_id`: the cookie's token (only its hash is
/// stored) and the session's CSRF token.
pub async fn start_session<D: Database>(db: &D, user_id: &str) -> anyhow::Result<String> {
    let token = keys::new_secret("rs_")?;
    let now = crate::now_ms();
    db.create_session(&NewSession {
        token_hash: keys::hash_secret(&token),
        user_id: user_id.to_owned(),
        csrf_token: keys::new_secret("")?,
        created_at_ms: now,
        expires_at_ms: now + SESSION_DAYS * 86_400_000,
    })
    .await?;
    Ok(token)
}

/// Failed logins allowed per key (an address, an account) per window.
const MAX_FAILURES: u32 = 10;
const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Counts login attempts per client address and per account, in memory
/// (each node counts its own). Written by hand: a map and a window are
/// all it takes; a rate-limit crate would add a dependency for 30 lines.
///
/// An attempt counts as a failure *before* its password is checked, in
/// the same lock as the check: parallel guesses cannot slip past the
/// limit while the first ones are still being verified. A success gives
/// its count back.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, (Instant, u32)>>,
}

impl LoginLimiter {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, u32)>> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts an attempt against every key, unless one of them has used up
    /// its failures: then nothing is counted and the answer is `false`.
    pub fn attempt(&self, keys: &[&str]) -> bool {
        let now = Instant::now();
        let mut map = self.map();
        map.retain(|_, (since, _)| now.duration_since(*since) < WINDOW);
        if keys
            .iter()
            .any(|k| map.get(*k).is_some_and(|(_, n)| *n >= MAX_FAILURES))
        {
            return false;
        }
        for key in keys {
            map.entry((*key).to_owned()).or_insert((now, 0)).1 += 1;
        }
        true
    }

    /// The attempt on `keys` was right: its count is given back, and
    /// `forget` (the account) starts afresh.
    pub fn succeeded(&self, keys: &[&str], forget: &str) {
        let mut map = self.map();
        for key in keys {
            if let Some((_, n)) = map.get_mut(*key) {
                *n = n.saturating_sub(1);
            }
        }
        map.remove(forget);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let hash = hash_password("correct horse battery").expect("hash");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(password_matches("correct horse battery", &hash));
        assert!(!password_matches("correct horse batterY", &hash));
        assert!(!password_matches("correct horse battery", "not a hash"));
    }

    #[test]
    fn signups_are_checked_with_a_reason() {
        let signup = |email, name, password| {
            check_signup(&Signup {
                email,
                name,
                password,
            })
        };
        assert_eq!(
            signup(" Ada@Example.org ", " Ada ", "long enough password"),
            Ok(("ada@example.org".to_owned(), "Ada".to_owned()))
        );
        assert!(signup("ada", "Ada", "long enough password").is_err_and(|e| e.contains("email")));
        assert!(signup("ada@x.org", "", "long enough password").is_err_and(|e| e.contains("name")));
        assert!(signup("ada@x.org", "Ada", "short").is_err_and(|e| e.contains("at least 10")));
    }

    #[test]
    fn the_limiter_blocks_after_ten_attempts_of_one_key() {
        let limiter = LoginLimiter::default();
        for _ in 0..MAX_FAILURES {
            assert!(limiter.attempt(&["ip:1", "acct:a"]));
        }
        assert!(
            !limiter.attempt(&["ip:2", "acct:a"]),
            "the account is locked"
        );
        assert!(
            !limiter.attempt(&["ip:1", "acct:b"]),
            "the address is locked"
        );
        assert!(limiter.attempt(&["ip:2", "acct:b"]));
        limiter.succeeded(&["ip:2", "acct:b"], "acct:a");
        assert!(limiter.attempt(&["ip:2", "acct:a"]));
    }

    #[test]
    fn a_right_password_gives_its_attempt_back() {
        let limiter = LoginLimiter::default();
        for _ in 0..MAX_FAILURES * 3 {
            assert!(limiter.attempt(&["ip:office", "acct:a"]));
            limiter.succeeded(&["ip:office", "acct:a"], "acct:a");
        }
    }
}
