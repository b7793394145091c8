//! The binary as cargo builds it for this package's tests. Having a test
//! here also makes `cargo test --workspace` build `target/debug/authctl`
//! with the workspace's features, where `tests/tests/authctl.rs` runs it
//! against DynamoDB Local (without a second build of the AWS SDK).

use std::process::Command;

#[test]
fn help_exits_0_and_no_command_is_a_usage_error() {
    let bin = env!("CARGO_BIN_EXE_authctl");
    let help = Command::new(bin).arg("--help").output().unwrap();
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("users") && text.contains("sessions"),
        "{text}"
    );
    let none = Command::new(bin).output().unwrap();
    assert_eq!(none.status.code(), Some(2));
}
