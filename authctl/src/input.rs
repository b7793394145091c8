//! The one way a password gets in: one line of standard input. Never an
//! argument or a variable, which end up in shell history, in `ps` and in
//! the environment of child processes; never typed at a terminal, where it
//! would show on the screen (authctl does not turn the echo off).

use std::io::{BufRead, Read};

use crate::Io;
use crate::failure::Failure;

/// Longest line read: the policy refuses anything over
/// [`password::MAX_INPUT_BYTES`] as too long, so reading one byte more (and
/// a `\r\n`) is enough to tell, and a stream without a newline cannot make
/// authctl read without end.
const MAX_LINE: u64 = password::MAX_INPUT_BYTES as u64 + 3;

/// How to pipe a password in, for messages.
const HOW: &str = "pipe it in, e.g. printf '%s' \"$PW\" | authctl users set-password alice \
     (read -rs PW reads one without showing it)";

/// The password on the first line of standard input, without its line
/// ending. Refuses a terminal, an empty line and an empty input (usage
/// errors). The rest of the input is left unread.
pub(crate) fn password(io: &mut Io<'_>) -> Result<String, Failure> {
    if io.stdin_is_terminal {
        return Err(Failure::usage(format!(
            "the password is read from standard input, not typed at a terminal, \
             where it would show: {HOW}"
        )));
    }
    let mut line = Vec::new();
    (&mut *io.stdin)
        .take(MAX_LINE)
        .read_until(b'\n', &mut line)
        .map_err(|e| Failure::failed(format!("cannot read standard input: {e}")))?;
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
    if line.is_empty() {
        return Err(Failure::usage(format!(
            "no password on standard input: {HOW}"
        )));
    }
    // Never the bytes themselves in the message.
    String::from_utf8(line)
        .map_err(|_| Failure::usage("the password on standard input is not valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::Exit;

    fn read(input: &[u8], terminal: bool) -> Result<String, Failure> {
        let mut stdin = Cursor::new(input.to_vec());
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut io = Io {
            stdin: &mut stdin,
            stdin_is_terminal: terminal,
            stdout: &mut out,
            stderr: &mut err,
        };
        password(&mut io)
    }

    #[test]
    fn one_line_is_read_without_its_line_ending() {
        assert_eq!(
            read(b"a long pass phrase\n", false).unwrap(),
            "a long pass phrase"
        );
        assert_eq!(
            read(b"crlf ending here\r\n", false).unwrap(),
            "crlf ending here"
        );
        assert_eq!(
            read(b"no newline at all", false).unwrap(),
            "no newline at all"
        );
        assert_eq!(read(b"first line\nsecond\n", false).unwrap(), "first line");
        assert_eq!(read(b" spaces kept \n", false).unwrap(), " spaces kept ");
    }

    #[test]
    fn nothing_an_empty_line_or_a_terminal_is_a_usage_error() {
        for input in [&b""[..], b"\n", b"\r\n"] {
            let e = read(input, false).unwrap_err();
            assert_eq!(e.exit(), Exit::Usage, "{input:?}");
            assert!(e.to_string().contains("no password on standard input"));
        }
        let e = read(b"would echo\n", true).unwrap_err();
        assert_eq!(e.exit(), Exit::Usage);
        assert!(e.to_string().contains("not typed at a terminal"));
    }

    #[test]
    fn a_line_without_end_is_cut_where_the_policy_calls_it_too_long() {
        let endless = vec![b'a'; 1 << 20];
        let got = read(&endless, false).unwrap();
        assert_eq!(got.len() as u64, MAX_LINE);
        assert!(got.len() > password::MAX_INPUT_BYTES);
        assert!(matches!(
            password::Policy::default().check(&got, "alice"),
            Err(password::Weak::TooLong { .. })
        ));
    }

    #[test]
    fn invalid_utf8_is_refused_without_echoing_it() {
        let e = read(b"\xff\xfe secret bytes\n", false).unwrap_err();
        assert_eq!(e.exit(), Exit::Usage);
        assert!(!e.to_string().contains("secret"));
    }
}
