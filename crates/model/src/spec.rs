//! The one textual form shared by activations and initialisers: `name` or
//! `name:key=value,key=value` (e.g. `leaky-relu:slope=0.1`, `normal:std=0.05`). The runner
//! parses its schedules and learning-rate policies with it too.

use std::fmt;

/// A parsed `name:key=value,…` string, before the name is looked up.
#[derive(Debug)]
pub struct Spec<'a> {
    what: &'static str,
    text: &'a str,
    /// The name before the colon (`leaky-relu` in `leaky-relu:slope=0.1`).
    pub name: &'a str,
    params: Vec<(&'a str, &'a str)>,
}

/// Why an activation or initialiser string was rejected; the message names the fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError(pub String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

impl<'a> Spec<'a> {
    /// Splits `text`; `what` ("activation", "initialiser") is used in error messages.
    pub fn parse(text: &'a str, what: &'static str) -> Result<Self, SpecError> {
        let trimmed = text.trim();
        let (name, rest) = trimmed.split_once(':').unwrap_or((trimmed, ""));
        let mut params = Vec::new();
        for pair in rest.split(',').filter(|p| !p.trim().is_empty()) {
            let (key, value) = pair.split_once('=').ok_or_else(|| {
                SpecError(format!(
                    "{what} `{text}`: parameter `{pair}` is not of the form key=value \
                     (example: leaky-relu:slope=0.1)"
                ))
            })?;
            params.push((key.trim(), value.trim()));
        }
        Ok(Spec {
            what,
            text,
            name: name.trim(),
            params,
        })
    }

    /// The error for a name that is not in `valid`.
    pub fn unknown_name(&self, valid: &[&str]) -> SpecError {
        SpecError(format!(
            "unknown {} `{}`; valid names: {}",
            self.what,
            self.name,
            valid.join(", ")
        ))
    }

    /// Rejects any key not in `allowed`.
    pub fn check_keys(&self, allowed: &[&str]) -> Result<(), SpecError> {
        for (key, _) in &self.params {
            if !allowed.contains(key) {
                let hint = if allowed.is_empty() {
                    format!("`{}` takes no parameters", self.name)
                } else {
                    format!("`{}` accepts: {}", self.name, allowed.join(", "))
                };
                return Err(SpecError(format!(
                    "{} `{}`: unknown parameter `{key}`; {hint}",
                    self.what, self.text
                )));
            }
        }
        Ok(())
    }

    fn raw(&self, key: &str) -> Option<&'a str> {
        self.params.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// A finite number for `key`, or `default` when absent.
    pub fn number(&self, key: &str, default: f64) -> Result<f64, SpecError> {
        let Some(raw) = self.raw(key) else {
            return Ok(default);
        };
        match raw.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(SpecError(format!(
                "{} `{}`: `{key}` must be a finite number, got `{raw}`",
                self.what, self.text
            ))),
        }
    }

    /// A finite number > 0 for `key`, or `default` when absent.
    pub fn positive(&self, key: &str, default: f64) -> Result<f64, SpecError> {
        let v = self.number(key, default)?;
        if v > 0.0 {
            Ok(v)
        } else {
            Err(SpecError(format!(
                "{} `{}`: `{key}` must be greater than 0, got {v}",
                self.what, self.text
            )))
        }
    }

    /// A finite number ≥ 0 for `key` (a variance), or `default` when absent.
    pub fn non_negative(&self, key: &str, default: f64) -> Result<f64, SpecError> {
        let v = self.number(key, default)?;
        if v >= 0.0 {
            Ok(v)
        } else {
            Err(SpecError(format!(
                "{} `{}`: `{key}` must be at least 0, got {v}",
                self.what, self.text
            )))
        }
    }

    /// An optional finite number > 0 for `key`.
    pub fn optional_positive(&self, key: &str) -> Result<Option<f64>, SpecError> {
        self.raw(key).map(|_| self.positive(key, 0.0)).transpose()
    }

    /// A string value for `key` that must be one of `choices`.
    pub fn choice(
        &self,
        key: &str,
        choices: &[&'static str],
        default: &'static str,
    ) -> Result<&'static str, SpecError> {
        let Some(raw) = self.raw(key) else {
            return Ok(default);
        };
        choices.iter().copied().find(|c| *c == raw).ok_or_else(|| {
            SpecError(format!(
                "{} `{}`: `{key}` must be one of {}, got `{raw}`",
                self.what,
                self.text,
                choices.join(", ")
            ))
        })
    }
}
