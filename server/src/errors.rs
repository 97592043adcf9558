//! Errors as the logs show them: one helper, used by every module that logs an error.

/// The error and all its causes on one line, `outer: inner: root`. A cause whose text
/// the line already ends with (errors that repeat their source in their own message)
/// is not repeated.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        let s = c.to_string();
        if !text.ends_with(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("cannot read the feed")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn causes_follow_the_error_on_one_line() {
        let e = Outer(std::io::Error::other("disk on fire"));
        assert_eq!(super::chain(&e), "cannot read the feed: disk on fire");
    }
}
