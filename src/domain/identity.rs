//! Whose answers a sign-in reaches (decision 0017). Pure: the store supplies who gave the
//! answers, the service who is asking.

/// True when stored answers must stay out of reach of `caller`: they were given by another
/// sign-in identity, or by none on record (answers whose giver is unknown reach nobody).
pub fn answers_held(owner: Option<&str>, caller: &str) -> bool {
    owner != Some(caller)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_identity_that_answered_reaches_the_answers() {
        assert!(!answers_held(Some("account:a"), "account:a"));
        assert!(answers_held(Some("account:a"), "account:b"));
        assert!(answers_held(Some("external:s1"), "external:s2"));
        // The same string under another kind of login is another identity.
        assert!(answers_held(Some("account:s1"), "external:s1"));
        assert!(answers_held(None, "account:a"));
        assert!(answers_held(Some("none"), "account:a"));
    }
}
