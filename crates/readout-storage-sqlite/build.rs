// `sqlx::migrate!` embeds migrations/ at compile time: a new file there
// must rebuild this crate (sqlx's documented advice).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
