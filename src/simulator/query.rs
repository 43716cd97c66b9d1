//! A received query string as the service reads it: decoded pairs, repeated keys kept, numbers
//! checked against the operation's range.

use crate::workspace::sign::parse_query;

use super::reply::Failure;

pub(super) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub(super) fn parse(raw: &str) -> Query {
        Query {
            pairs: parse_query(raw),
        }
    }

    /// Every value of a repeated key, in the order received.
    pub(super) fn all<'a, 'k>(
        &'a self,
        key: &'k str,
    ) -> impl Iterator<Item = &'a str> + use<'a, 'k> {
        self.pairs
            .iter()
            .filter(move |(candidate, _)| candidate == key)
            .map(|(_, value)| value.as_str())
    }

    pub(super) fn first(&self, key: &str) -> Option<&str> {
        self.all(key).next()
    }

    /// A whole number in `0..=max`, `default` when the key is absent. Anything else (negative,
    /// too large, not a number) is refused as the service refuses a schema violation.
    pub(super) fn number(&self, key: &str, default: usize, max: usize) -> Result<usize, Failure> {
        let Some(raw) = self.first(key) else {
            return Ok(default);
        };
        raw.parse::<usize>()
            .ok()
            .filter(|value| *value <= max)
            .ok_or_else(|| {
                Failure::invalid(format!(
                    "The parameter {key} must be an integer between 0 and {max}."
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_default_and_stay_in_range() {
        let query = Query::parse("limit=10&offset=-1&big=1001&word=ten&empty=");
        assert_eq!(query.number("limit", 1000, 1000), Ok(10));
        assert_eq!(query.number("absent", 7, 1000), Ok(7));
        for key in ["offset", "big", "word", "empty"] {
            assert!(query.number(key, 0, 1000).is_err(), "{key}");
        }
    }

    #[test]
    fn repeated_keys_keep_every_value() {
        let query = Query::parse("user_name=a&x=1&user_name=b%20c");
        assert_eq!(query.all("user_name").collect::<Vec<_>>(), ["a", "b c"]);
        assert_eq!(query.first("x"), Some("1"));
    }
}
