//! `sqlx::migrate!` embeds the migration files at compile time but cannot tell cargo that a new
//! file in the directory should trigger a rebuild; this does.

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
