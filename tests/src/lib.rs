//! Integration and end-to-end tests of the workspace. The library part holds
//! shared harness code; the tests live in `tests/tests/`.
