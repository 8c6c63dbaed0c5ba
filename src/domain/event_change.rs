//! A change of some of an event's settings, as the store applies it: in one atomic step, on
//! the settings in force at that moment.
//!
//! An operator's change and the events file each name only the settings they change, so two
//! changes made at once through different instances (a pause and a new outflow rate) both
//! stick: neither writes back a stale copy of the settings the other changed.

use serde_json::{Map, Value};

use super::EventConfig;

/// Settings by their field name in the stored [`EventConfig`], with their new values.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventChange {
    fields: Map<String, Value>,
}

/// The settings could not be written as JSON, or a change does not fit them.
#[derive(Debug, thiserror::Error)]
#[error("event settings: {0}")]
pub struct ChangeError(#[from] serde_json::Error);

fn fields_of(config: &EventConfig) -> Result<Map<String, Value>, ChangeError> {
    match serde_json::to_value(config)? {
        Value::Object(fields) => Ok(fields),
        _ => Err(ChangeError(serde::ser::Error::custom(
            "settings are not a JSON object",
        ))),
    }
}

impl EventChange {
    /// The settings that differ between `before` and `after` (never the id).
    pub fn between(before: &EventConfig, after: &EventConfig) -> Result<Self, ChangeError> {
        let old = fields_of(before)?;
        let mut fields = fields_of(after)?;
        fields.retain(|name, value| name != "id" && old.get(name) != Some(value));
        Ok(Self { fields })
    }

    /// Every setting of `config` but its id: a change that replaces them all.
    pub fn all_of(config: &EventConfig) -> Result<Self, ChangeError> {
        let mut fields = fields_of(config)?;
        fields.remove("id");
        Ok(Self { fields })
    }

    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The changed settings: field name and new value.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.fields
            .iter()
            .map(|(name, value)| (name.as_str(), value))
    }

    /// `config` with this change made.
    pub fn apply(&self, config: &EventConfig) -> Result<EventConfig, ChangeError> {
        let mut fields = fields_of(config)?;
        for (name, value) in &self.fields {
            fields.insert(name.clone(), value.clone());
        }
        Ok(serde_json::from_value(Value::Object(fields))?)
    }
}
