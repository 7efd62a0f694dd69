//! Who may do what, asked of the application layer itself (no HTTP): every
//! host, window, channel and route operation, by every role, through a session and
//! through tokens, on its own workspace and on another's, against a real
//! SQLite store.

use readout_alerting::route::{Notice, NoticeKind};
use readout_alerting::window::Window;
use readout_app::channels::{self, ChannelCheck, ChannelSpec, RouteSpec, Saving};
use readout_app::{Actor, AppError, Member, Via, alerting, hosts, members};
use readout_notify::ChannelConfig;
use readout_storage::{Accounts as _, Alerts as _, Database as _, Joining, NewHost, Role, User};
use readout_storage_sqlite::SqliteStore;
use serde_json::json;

/// Channels are checked by the server's delivery (relay, reachable URL);
/// which checks pass is not what these tests are about.
struct AnyChannel;

impl ChannelCheck for AnyChannel {
    async fn check(&self, _: &ChannelConfig) -> Result<(), String> {
        Ok(())
    }
}

const NOW: i64 = 1_800_000_000_000;

/// Workspace A with host `h_a`, a maintenance window `mw_a` on it, channel
/// `ch_a` and route `rt_a` to it; workspace B with host `h_b` and `ch_b`;
/// the operator's own `ch_op`.
async fn store(dir: &tempfile::TempDir) -> SqliteStore {
    let url = format!("sqlite://{}", dir.path().join("readout.db").display());
    let db = SqliteStore::open(&url).await.expect("open the store");
    for (id, joining) in [
        (
            "u_a",
            Joining::FirstOwner {
                workspace_id: "ws_a".into(),
                workspace_name: "A".into(),
            },
        ),
        (
            "u_b",
            Joining::NewWorkspace {
                workspace_id: "ws_b".into(),
                workspace_name: "B".into(),
            },
        ),
    ] {
        db.add_user(&user(id), &joining).await.expect("a workspace");
    }
    for (id, role) in [("u_admin", Role::Admin), ("u_view", Role::Viewer)] {
        let joining = Joining::FirstWorkspace { role };
        db.add_user(&user(id), &joining)
            .await
            .expect("a member of A");
    }
    let mail = readout_storage::json_text(&email());
    for (id, workspace) in [
        ("ch_a", Some("ws_a")),
        ("ch_b", Some("ws_b")),
        ("ch_op", None),
    ] {
        db.put_channel(id, workspace, id, &mail, NOW)
            .await
            .expect("a channel");
    }
    for (id, workspace) in [("h_a", "ws_a"), ("h_b", "ws_b")] {
        let host = NewHost {
            id: id.into(),
            name: id.into(),
            key_hash: vec![0; 32],
            created_at_ms: NOW,
            workspace_id: Some(workspace.into()),
            sources: Vec::new(),
        };
        db.create_host(&host).await.expect("a host");
    }
    db.put_window("mw_a", &window_on("h_a"), NOW)
        .await
        .expect("a window");
    let route = route_to("ch_a").route;
    db.put_route("rt_a", Some("ws_a"), "rt_a", &route, NOW)
        .await
        .expect("a route");
    db
}

fn user(id: &str) -> User {
    User {
        id: id.into(),
        email: format!("{id}@example.org"),
        name: id.into(),
        password_hash: String::new(),
        created_at_ms: NOW,
    }
}

fn email() -> ChannelConfig {
    serde_json::from_value(json!({"kind": "email", "to": ["ops@example.org"]})).expect("email")
}

fn route_to(cid: &str) -> RouteSpec {
    serde_json::from_value(json!({"name": "to it", "channels": [cid]})).expect("route")
}

fn window_on(host: &str) -> Window {
    let schedule =
        json!({"kind": "once", "from": "2027-01-01T00:00:00Z", "to": "2027-01-01T01:00:00Z"});
    serde_json::from_value(json!({"host": host, "schedule": schedule})).expect("window")
}

fn member(workspace: &str, role: Role, via: Via) -> Actor {
    Actor::Member(Member {
        user_id: "u".into(),
        name: "U".into(),
        workspace_id: workspace.into(),
        role,
        via,
    })
}

/// How an operation ended, as a person would be told.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Answer {
    Done,
    /// The operation ran, and refused for what was asked (a route still
    /// sends to the channel): not a matter of access.
    Refused,
    Forbidden,
    NotFound,
}

fn answer<T>(result: Result<T, AppError>) -> Answer {
    match result {
        Ok(_) => Answer::Done,
        Err(AppError::Invalid(_) | AppError::Conflict(_)) => Answer::Refused,
        Err(AppError::Forbidden(_)) => Answer::Forbidden,
        Err(AppError::NotFound(_)) => Answer::NotFound,
        Err(AppError::Internal(e)) => panic!("internal error: {e}"),
    }
}

/// What an operation needs: any member, an editor, or an administrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needs {
    Member,
    Editor,
    Admin,
}

const OPERATIONS: [(&str, Needs); 15] = [
    ("add host", Needs::Editor),
    ("change a member's role", Needs::Admin),
    ("take a member out", Needs::Admin),
    ("read host", Needs::Member),
    ("add window", Needs::Editor),
    ("delete window", Needs::Editor),
    ("read channel", Needs::Admin),
    ("add channel", Needs::Admin),
    ("change channel", Needs::Admin),
    ("test channel", Needs::Admin),
    ("delete channel", Needs::Admin),
    ("read route", Needs::Admin),
    ("add route", Needs::Admin),
    ("change route", Needs::Admin),
    ("delete route", Needs::Admin),
];

async fn run(op: &str, actor: &Actor, db: &SqliteStore) -> Answer {
    let spec = ChannelSpec {
        name: "renamed".into(),
        config: email(),
    };
    let notice = Notice {
        kind: NoticeKind::Test,
        host_id: String::new(),
        host_name: "readout".into(),
        at_ms: NOW,
        events: Vec::new(),
        values: Default::default(),
    };
    match op {
        "change a member's role" => {
            answer(members::change_member(actor, db, "u_view", Some(Role::Editor)).await)
        }
        "take a member out" => answer(members::change_member(actor, db, "u_view", None).await),
        "add host" => {
            let keys = hosts::HostKeys {
                id: "h_new".into(),
                api_key: "rk_new".into(),
                key_hash: vec![1; 32],
            };
            let added = hosts::add(actor, db, "web-new", keys, "http://x", NOW).await;
            if let Ok(added) = &added {
                assert_eq!(
                    added.host.workspace_id.as_deref(),
                    actor.workspace().or(Some("ws_a"))
                );
            }
            answer(added)
        }
        "read host" => answer(hosts::host(actor, db, "h_a").await),
        "add window" => {
            answer(alerting::add_window(actor, db, "mw_new", window_on("h_a"), NOW).await)
        }
        "delete window" => answer(alerting::remove_window(actor, db, "mw_a").await),
        "read channel" => answer(channels::channel(actor, db, "ch_a").await),
        "add channel" => answer(
            channels::save_channel(actor, db, &AnyChannel, Saving::New("ch_new"), &spec, NOW).await,
        ),
        "change channel" => answer(
            channels::save_channel(actor, db, &AnyChannel, Saving::Existing("ch_a"), &spec, NOW)
                .await,
        ),
        "test channel" => answer(channels::test_channel(actor, db, "ch_a", &notice, NOW).await),
        "delete channel" => answer(channels::remove_channel(actor, db, "ch_a").await),
        "read route" => answer(channels::route(actor, db, "rt_a").await),
        "add route" => answer(
            channels::save_route(actor, db, Saving::New("rt_new"), &route_to("ch_a"), NOW).await,
        ),
        "change route" => answer(
            channels::save_route(actor, db, Saving::Existing("rt_a"), &route_to("ch_a"), NOW).await,
        ),
        "delete route" => answer(channels::remove_route(actor, db, "rt_a").await),
        other => panic!("no operation {other:?}"),
    }
}

/// What an actor who may keep workspace A's alerting gets from each
/// operation: done, but a channel a route sends to stays; a member of
/// another workspace adding a route to A's channel is not found.
fn allowed(op: &str, actor: &Actor) -> Answer {
    match (op, actor) {
        // Members are changed from within their workspace.
        ("change a member's role" | "take a member out", Actor::Operator) => Answer::Forbidden,
        // B's own new channel or host is theirs (the operator's host goes
        // to the first workspace).
        ("add channel" | "add host", _) => Answer::Done,
        // A's channel and route are not B's to read, change or route to.
        (_, Actor::Member(m)) if m.workspace_id != "ws_a" => Answer::NotFound,
        ("delete channel", _) => Answer::Refused,
        _ => Answer::Done,
    }
}

#[tokio::test]
async fn every_operation_asks_role_token_and_workspace() {
    let write = Via::Token { write: true };
    let read = Via::Token { write: false };
    use Needs::{Admin, Editor, Member};
    // (who, as whom, the most they may do)
    let actors = [
        ("operator", Actor::Operator, Admin),
        ("owner", member("ws_a", Role::Owner, Via::Session), Admin),
        ("admin", member("ws_a", Role::Admin, Via::Session), Admin),
        (
            "admin's write token",
            member("ws_a", Role::Admin, write),
            Admin,
        ),
        ("editor", member("ws_a", Role::Editor, Via::Session), Editor),
        (
            "editor's write token",
            member("ws_a", Role::Editor, write),
            Editor,
        ),
        ("viewer", member("ws_a", Role::Viewer, Via::Session), Member),
        (
            "viewer's write token",
            member("ws_a", Role::Viewer, write),
            Member,
        ),
        (
            "owner's read token",
            member("ws_a", Role::Owner, read),
            Member,
        ),
        (
            "owner of B",
            member("ws_b", Role::Owner, Via::Session),
            Admin,
        ),
        (
            "owner of B's write token",
            member("ws_b", Role::Owner, write),
            Admin,
        ),
        (
            "viewer of B",
            member("ws_b", Role::Viewer, Via::Session),
            Member,
        ),
    ];
    let rank = |n: Needs| match n {
        Member => 0,
        Editor => 1,
        Admin => 2,
    };
    let mut wrong = Vec::new();
    for (op, needs) in OPERATIONS {
        for (who, actor, most) in &actors {
            let dir = tempfile::tempdir().expect("a directory");
            let db = store(&dir).await;
            let expected = if rank(needs) <= rank(*most) {
                allowed(op, actor)
            } else {
                Answer::Forbidden
            };
            let got = run(op, actor, &db).await;
            if got != expected {
                wrong.push(format!("{op} as {who}: {got:?}, expected {expected:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// What an operation refused changed nothing, and lists show only what
/// the actor keeps.
#[tokio::test]
async fn another_workspace_neither_sees_nor_borrows_nor_changes() {
    let dir = tempfile::tempdir().expect("a directory");
    let db = store(&dir).await;
    let b = member("ws_b", Role::Owner, Via::Session);
    let names = |rows: Vec<String>| rows.join(",");
    let seen = channels::channels(&b, &db).await.expect("B's channels");
    assert_eq!(names(seen.into_iter().map(|c| c.id).collect()), "ch_b");
    assert!(
        channels::routes(&b, &db)
            .await
            .expect("B's routes")
            .is_empty()
    );
    // Borrowing A's channel for B's own route, or the operator's.
    for cid in ["ch_a", "ch_op"] {
        let spec = route_to(cid);
        let borrowed = channels::save_route(&b, &db, Saving::New("rt_b"), &spec, NOW).await;
        assert_eq!(answer(borrowed), Answer::NotFound, "{cid}");
    }
    let deleted = channels::remove_route(&b, &db, "rt_a").await;
    assert_eq!(answer(deleted), Answer::NotFound);
    let all = channels::routes(&Actor::Operator, &db)
        .await
        .expect("all routes");
    assert_eq!(
        all.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["rt_a"],
        "nothing added, nothing deleted"
    );
    let ch_a = db.channel("ch_a").await.expect("A's channel");
    assert_eq!(ch_a.name, "ch_a", "unchanged");
    // A new channel of B's is B's, not the operator's.
    let spec = ChannelSpec {
        name: "b pager".into(),
        config: email(),
    };
    let made = channels::save_channel(&b, &db, &AnyChannel, Saving::New("ch_b2"), &spec, NOW);
    assert_eq!(
        made.await.expect("made").workspace_id.as_deref(),
        Some("ws_b")
    );
    // The operator routes to any channel; an unknown one is named.
    let spec = route_to("ch_zz");
    let unknown = channels::save_route(&Actor::Operator, &db, Saving::New("rt_x"), &spec, NOW);
    match unknown.await {
        Err(AppError::Invalid(why)) => assert_eq!(why, "no channel has the id \"ch_zz\""),
        other => panic!("{other:?}"),
    }
}

/// Only an owner touches an owner or makes one; anyone may leave.
#[tokio::test]
async fn owners_are_an_owners_to_change_and_anyone_may_leave() {
    let dir = tempfile::tempdir().expect("a directory");
    let db = store(&dir).await;
    let as_user = |id: &str, role| {
        let Actor::Member(mut m) = member("ws_a", role, Via::Session) else {
            unreachable!()
        };
        m.user_id = id.into();
        Actor::Member(m)
    };
    let admin = as_user("u_admin", Role::Admin);
    let change = members::change_member(&admin, &db, "u_a", Some(Role::Viewer)).await;
    assert_eq!(
        answer(change),
        Answer::Forbidden,
        "an admin demotes the owner"
    );
    let change = members::change_member(&admin, &db, "u_view", Some(Role::Owner)).await;
    assert_eq!(answer(change), Answer::Forbidden, "an admin makes an owner");
    let viewer = as_user("u_view", Role::Viewer);
    let change = members::change_member(&viewer, &db, "u_admin", None).await;
    assert_eq!(
        answer(change),
        Answer::Forbidden,
        "a viewer takes an admin out"
    );
    let left = members::change_member(&viewer, &db, "u_view", None).await;
    assert_eq!(answer(left), Answer::Done, "a viewer leaves");
    let owner = as_user("u_a", Role::Owner);
    let change = members::change_member(&owner, &db, "u_admin", Some(Role::Owner)).await;
    assert_eq!(
        answer(change),
        Answer::Done,
        "the owner makes another owner"
    );
}
