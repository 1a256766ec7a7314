//! The range check and the name predicates that several sections' validators share. Pure.

use super::error::StageError;

/// `Ok` when `value` is finite and within `min..=max`; else `invalid(key, ...)` naming the range.
pub(super) fn check_range(
    invalid: &impl Fn(&str, String) -> StageError,
    key: &str,
    value: f64,
    min: f64,
    max: f64,
) -> Result<(), StageError> {
    if value.is_finite() && (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(invalid(
            key,
            format!("is {value}: allowed range is {min}..={max}"),
        ))
    }
}

/// Letters, digits and hyphens, digits and hyphens, starting with a letter (the length is checked apart).
pub(super) fn is_valid_stack_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// A region name such as `us-east-1`: lowercase words and digits, ending in a number.
pub(super) fn is_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}
